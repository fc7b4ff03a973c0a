package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Response bodies as GHL answers them (shortened), and shapes around them.
var responseSeeds = []string{
	`{"data":[{"_id":"o1","altId":"loc","altType":"location","contactId":"c1","contactName":"A B","currency":"USD",` +
		`"amount":150.1,"subtotal":138,"status":"completed","liveMode":true,"fulfillmentStatus":"unfulfilled",` +
		`"sourceType":"website","sourceId":"s1","createdAt":"2024-04-04T16:24:27.036Z","updatedAt":"2024-04-04T16:24:31.297Z"}],"totalCount":1}`,
	`{"_id":"o1","altId":"loc","currency":"KWD","amount":"0.285","status":"pending","traceId":"t",` +
		`"items":[{"_id":"i1","name":"tee","qty":2,"product":{"_id":"p1","name":"tee","productType":"PHYSICAL"},` +
		`"price":{"_id":"pr1","name":"XL","type":"recurring","currency":"KWD","amount":1.005,"recurring":{"interval":"month","intervalCount":1}}}],` +
		`"source":{"type":"invoice","id":"inv-1"},"createdAt":"2024-04-04T16:24:27Z"}`,
	`{"data":[{"_id":"t1","altId":"loc","currency":"JPY","amount":1500,"amountRefunded":0,"status":"succeeded",` +
		`"entityType":"order","entityId":"o1","entitySourceType":"invoice","entitySourceId":"inv-1","chargeId":"ch_1",` +
		`"paymentProviderType":"stripe","createdAt":"2024-04-04T16:24:27.036Z"}],"totalCount":1}`,
	`{"_id":"t1","entityType":"invoice","entityId":"inv-1","invoiceId":"inv-1","amount":1e1,"paymentProvider":{"type":"stripe"}}`,
	`{"data":[{"_id":"s1","currency":"USD","amount":9.99,"status":"active","entityType":"order","entityId":"o1","subscriptionId":"sub_1"}],"totalCount":1}`,
	`{"_id":"s1","amount":9.99,"status":"canceled","canceledAt":"2024-05-01T00:00:00.000Z",` +
		`"schedule":{"executeAt":"2024-06-01T00:00:00.000Z","rrule":{"intervalType":"monthly","interval":1,"startDate":"2024-01-01"}}}`,
	`{"invoices":[{"_id":"inv-1","status":"paid","invoiceNumber":"INV-1","currency":"USD","total":110,"amountPaid":110,"amountDue":0,` +
		`"invoiceItems":[{"currency":"USD","name":"x","qty":1,"amount":110}]}],"total":1}`,
	`{"_id":"inv-1","invoiceNumber":12,"total":"-0","amountDue":null,"issueDate":"2024-04-04"}`,
	`{"status":true,"data":[{"_id":"f1","altId":"loc","trackings":[{"trackingNumber":"1Z","shippingCarrier":"UPS"}],` +
		`"items":[{"_id":"i1","name":"tee","qty":1,"price":{"_id":"pr1"},"product":{"_id":"p1"}}],"createdAt":"2024-04-04T16:24:27.036Z"}]}`,
	`{"success":true}`, `{"success":false}`,
	`{"statusCode":400,"message":["amount must be a number","qty too large"],"error":"Bad Request"}`,
	`{"status":401,"message":"The token does not have access to this location.","name":"HttpException","traceId":"x"}`,
	`{"data":[1,"x",null,{}],"totalCount":-1}`,
	`{"data":[{"amount":"1.2.3"}]}`, `{"data":[{"createdAt":"0000-01-01T00:00:00+01:00"}]}`,
	`{"invoices":[{"invoiceNumber":"007"}]}`, `<html>502 Bad Gateway</html>`, ``, `null`, `[]`, `{"data":{}}`,
}

// Response headers: GHL's rate headers, and values no server should send.
var headerSeeds = []string{
	"X-RateLimit-Max: 100\nX-RateLimit-Interval-Milliseconds: 10000\nX-RateLimit-Remaining: 99\n" +
		"X-RateLimit-Limit-Daily: 200000\nX-RateLimit-Daily-Remaining: 199999\nX-RateLimit-Daily-Reset: 3600000",
	"Retry-After: 5", "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT",
	"X-RateLimit-Max: 1e30\nX-RateLimit-Interval-Milliseconds: 9.3e15\nX-RateLimit-Remaining: -1e300",
	"X-RateLimit-Daily-Reset: 99999999999999999\nRetry-After: 99999999999999999",
	"",
}

// statuses the fuzzer picks from for the answer.
var fuzzStatuses = []int{200, 201, 204, 400, 401, 403, 404, 422, 429, 500, 502}

// oneAnswer answers every request with the same response.
type oneAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a oneAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: a.status, Header: a.header.Clone(), Body: io.NopCloser(bytes.NewReader(a.body)), Request: r}, nil
}

func parseHeaders(s string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return h
}

const fuzzToken = "pit-fuzz-secret-0123456789"

// FuzzResponses sends one GHL answer (body, status, headers) to every
// reading operation the sync uses, through the real client. Nothing may
// panic; a failure is an *Error that holds no token; a record decoded keeps
// valid amounts and its own raw JSON, and survives being written out and
// read back with its ids, amounts and times; the rate governor stays sane
// whatever the headers say.
func FuzzResponses(f *testing.F) {
	for i, s := range responseSeeds {
		f.Add([]byte(s), uint8(i%3), headerSeeds[i%len(headerSeeds)])
	}
	for i, h := range headerSeeds {
		f.Add([]byte(responseSeeds[0]), uint8(i), h)
	}
	f.Fuzz(func(t *testing.T, body []byte, statusPick uint8, headers string) {
		ans := oneAnswer{status: fuzzStatuses[int(statusPick)%len(fuzzStatuses)], header: parseHeaders(headers), body: body}
		const loc = "loc-fuzz"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// A client per call: each answer is the first its governor sees, so
		// nothing waits on what earlier headers said.
		client := func() *Client {
			return NewClient(StaticToken(fuzzToken), WithBaseURL("http://ghl.invalid"),
				WithHTTPClient(&http.Client{Transport: ans}), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		}
		check := func(op string, c *Client, err error) bool {
			t.Helper()
			b := c.Governor().Budget(loc)
			if b.Burst <= 0 || b.Interval <= 0 || b.InWindow < 0 {
				t.Fatalf("%s: the governor's budget is %+v after headers %q", op, b, headers)
			}
			if err == nil {
				if ans.status/100 != 2 {
					t.Fatalf("%s: no error for a %d", op, ans.status)
				}
				return true
			}
			var gerr *Error
			if !errors.As(err, &gerr) {
				t.Fatalf("%s: error %T is not an *ghl.Error: %v", op, err, err)
			}
			if ans.status/100 != 2 && gerr.StatusCode != ans.status {
				t.Fatalf("%s: StatusCode %d for a %d", op, gerr.StatusCode, ans.status)
			}
			if strings.Contains(err.Error(), fuzzToken) || strings.Contains(gerr.Message, fuzzToken) {
				t.Fatalf("%s: the error shows the token: %v", op, err)
			}
			return false
		}

		c := client()
		if page, err := c.ListOrders(ctx, ListOrdersParams{LocationID: loc}); check("ListOrders", c, err) {
			listed(t, body, "data", page.Items, func(o *Order) json.RawMessage { return o.Raw }, orderKeys)
		}
		c = client()
		if o, err := c.GetOrder(ctx, loc, "o1"); check("GetOrder", c, err) {
			detail(t, body, o, o.Raw, orderDetailKeys)
		}
		c = client()
		if fs, err := c.ListFulfillments(ctx, loc, "o1"); check("ListFulfillments", c, err) {
			listed(t, body, "data", fs, func(f *Fulfillment) json.RawMessage { return f.Raw }, fulfillmentKeys)
		}
		c = client()
		if page, err := c.ListTransactions(ctx, ListTransactionsParams{LocationID: loc}); check("ListTransactions", c, err) {
			listed(t, body, "data", page.Items, func(x *Transaction) json.RawMessage { return x.Raw }, transactionKeys)
		}
		c = client()
		if x, err := c.GetTransaction(ctx, loc, "t1"); check("GetTransaction", c, err) {
			detail(t, body, x, x.Raw, transactionDetailKeys)
		}
		c = client()
		if page, err := c.ListSubscriptions(ctx, ListSubscriptionsParams{LocationID: loc}); check("ListSubscriptions", c, err) {
			listed(t, body, "data", page.Items, func(s *Subscription) json.RawMessage { return s.Raw }, subscriptionKeys)
		}
		c = client()
		if s, err := c.GetSubscription(ctx, loc, "s1"); check("GetSubscription", c, err) {
			detail(t, body, s, s.Raw, subscriptionDetailKeys)
		}
		c = client()
		if page, err := c.ListInvoices(ctx, ListInvoicesParams{LocationID: loc}); check("ListInvoices", c, err) {
			listed(t, body, "invoices", page.Items, func(v *Invoice) json.RawMessage { return v.Raw }, invoiceKeys)
		}
		c = client()
		if v, err := c.GetInvoice(ctx, loc, "inv-1"); check("GetInvoice", c, err) {
			detail(t, body, v, v.Raw, invoiceKeys)
		}
	})
}

// jsonSpace is what JSON counts as white space.
const jsonSpace = " \t\r\n"

// detail checks a record decoded from a whole body.
func detail[T any](t *testing.T, body []byte, v *T, raw json.RawMessage, keys func(*T) []string) {
	t.Helper()
	if len(bytes.TrimSpace(body)) == 0 {
		return // the client decodes an empty answer to nothing
	}
	if !bytes.Equal(raw, bytes.Trim(body, jsonSpace)) {
		t.Fatalf("Raw = %q, want the body %q", raw, body)
	}
	roundTrip(t, v, keys)
}

// listed checks the records decoded from a list answer: each keeps its own
// JSON from the list, in order.
func listed[T any](t *testing.T, body []byte, field string, items []T, raw func(*T) json.RawMessage, keys func(*T) []string) {
	t.Helper()
	var ref map[string]json.RawMessage
	var elems []json.RawMessage
	if json.Unmarshal(body, &ref) == nil {
		json.Unmarshal(ref[field], &elems)
	}
	for i := range items {
		r := raw(&items[i])
		if r == nil {
			continue // a null element
		}
		if !json.Valid(r) || !bytes.Contains(body, r) {
			t.Fatalf("item %d: Raw %q is not JSON from the body", i, r)
		}
		// The reference sees one member per key; with duplicate keys the
		// decoder's view and its differ, and only the shape checks hold.
		if len(elems) == len(items) && !bytes.Equal(r, elems[i]) && exactKeys(body) {
			t.Fatalf("item %d: Raw %q, want %q", i, r, elems[i])
		}
		roundTrip(t, &items[i], keys)
	}
}

// exactKeys reports whether the body's top-level object names each member
// once, in one spelling, so that a map decodes it as a struct does.
func exactKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	var seen []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
		k := strings.ToLower(tok.(string))
		if slices.Contains(seen, k) {
			return false
		}
		seen = append(seen, k)
	}
	return true
}

// roundTrip writes a decoded record out and reads it back: it must encode
// (whatever was accepted can be sent again), keep its ids, amounts and
// times, and encode the same the second time.
func roundTrip[T any](t *testing.T, v *T, keys func(*T) []string) {
	t.Helper()
	checkNumbers(t, reflect.ValueOf(v).Elem(), reflect.TypeOf(v).Elem().Name())
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%T: an accepted record does not encode: %v", v, err)
	}
	var back T
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("%T: reading back %s: %v", v, out, err)
	}
	if a, b := keys(v), keys(&back); !slices.Equal(a, b) {
		t.Fatalf("%T: round trip changed\n%q\nto\n%q", v, a, b)
	}
	again, err := json.Marshal(&back)
	if err != nil || !bytes.Equal(out, again) {
		t.Fatalf("%T: encodes as %s, then as %s (%v)", v, out, again, err)
	}
}

var numberType = reflect.TypeFor[Number]()

// checkNumbers fails when a Number anywhere in v holds text that is not a
// JSON number and yet converts: a value GHL sent that is not a number is
// kept as it came, and Round and Scaled must refuse it, so that the ledger
// only ever sees numbers.
func checkNumbers(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch {
	case v.Type() == numberType:
		n := Number(v.String())
		if n == "" || validNumber(string(n)) {
			return
		}
		if _, _, err := n.Round(2); !errors.Is(err, ErrNotANumber) {
			t.Fatalf("%s = %q: not a number, yet Round gives %v", path, n, err)
		}
		if _, err := n.Scaled(2); !errors.Is(err, ErrNotANumber) {
			t.Fatalf("%s = %q: not a number, yet Scaled gives %v", path, n, err)
		}
		if _, err := n.MarshalJSON(); err != nil {
			t.Fatalf("%s = %q: kept as GHL sent it, yet it does not marshal back: %v", path, n, err)
		}
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			checkNumbers(t, v.Elem(), path)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				checkNumbers(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8:
		for i := range v.Len() {
			checkNumbers(t, v.Index(i), path+"[]")
		}
	}
}

// ms is an instant as a round trip keeps it: UTC, to the millisecond.
func ms(t Time) string { return t.Truncate(time.Millisecond).UTC().Format(time.RFC3339Nano) }

func orderKeys(o *Order) []string {
	return []string{o.ID, o.AltID, o.ContactID, o.Currency, string(o.Amount), string(o.Subtotal), string(o.Discount),
		string(o.Status), string(o.FulfillmentStatus), o.SourceID, ms(o.CreatedAt), ms(o.UpdatedAt)}
}

func orderDetailKeys(o *OrderDetail) []string {
	k := []string{o.ID, o.AltID, o.ContactID, o.Currency, string(o.Amount), string(o.Status), string(o.FulfillmentStatus),
		ms(o.CreatedAt), ms(o.UpdatedAt)}
	if o.Source != nil {
		k = append(k, string(o.Source.Type), o.Source.ID)
	}
	for _, it := range o.Items {
		k = append(k, it.ID, string(it.Qty), it.Product.ID, it.Price.ID, it.Price.Currency, string(it.Price.Amount), string(it.Price.Type))
	}
	return k
}

func fulfillmentKeys(f *Fulfillment) []string {
	k := []string{f.ID, f.AltID, ms(f.CreatedAt), ms(f.UpdatedAt)}
	for _, tr := range f.Trackings {
		k = append(k, tr.TrackingNumber, tr.ShippingCarrier, tr.TrackingURL)
	}
	for _, it := range f.Items {
		k = append(k, it.ID, string(it.Qty), it.Price.ID)
	}
	return k
}

func transactionKeys(x *Transaction) []string {
	return []string{x.ID, x.AltID, x.Currency, string(x.Amount), string(x.AmountRefunded), string(x.Status), x.EntityType,
		x.EntityID, x.EntitySourceType, x.EntitySourceID, x.SubscriptionID, x.ChargeID, ms(x.CreatedAt), ms(x.UpdatedAt)}
}

func transactionDetailKeys(x *TransactionDetail) []string {
	return []string{x.ID, x.AltID, x.Currency, string(x.Amount), string(x.AmountRefunded), string(x.Status), x.EntityType,
		x.EntityID, x.InvoiceID, x.SubscriptionID, x.ChargeID, ms(x.CreatedAt), ms(x.UpdatedAt)}
}

func subscriptionKeys(s *Subscription) []string {
	return []string{s.ID, s.AltID, s.Currency, string(s.Amount), string(s.Status), s.EntityType, s.EntityID,
		s.SubscriptionID, ms(s.CreatedAt), ms(s.UpdatedAt)}
}

func subscriptionDetailKeys(s *SubscriptionDetail) []string {
	k := []string{s.ID, s.AltID, s.Currency, string(s.Amount), string(s.Status), s.EntityType, s.EntityID,
		s.SubscriptionID, ms(s.CanceledAt), ms(s.CreatedAt), ms(s.UpdatedAt)}
	if s.Schedule != nil {
		k = append(k, ms(s.Schedule.ExecuteAt))
	}
	return k
}

func invoiceKeys(v *Invoice) []string {
	k := []string{v.ID, v.AltID, string(v.InvoiceNumber), string(v.Status), v.Currency, string(v.Total), string(v.AmountPaid),
		string(v.AmountDue), v.IssueDate, v.DueDate, ms(v.CreatedAt), ms(v.UpdatedAt)}
	for _, it := range v.InvoiceItems {
		k = append(k, it.ID, it.Currency, string(it.Qty), string(it.Amount))
	}
	return k
}
