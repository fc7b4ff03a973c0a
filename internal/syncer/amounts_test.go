package syncer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
)

// A conversion path: GHL's JSON with one amount (or quantity) written as
// value, decoded by the ghl type that path reads, converted as that path
// converts it. It returns the value stored in minor units (or items).
type path struct {
	name string
	run  func(t *testing.T, value, currency string) (int64, *amounts)
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return v
}

func webhook(t *testing.T, typ, payload string) *ghl.WebhookEvent {
	t.Helper()
	ev, err := ghl.ParseWebhookEvent([]byte(`{"type":"` + typ + `","locationId":"L",` + payload[1:]))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

const at = `"createdAt":"2026-01-02T03:04:05.000Z","updatedAt":"2026-01-02T03:04:05.000Z"`

// orderJSON is an order with one item; amount, price and qty are JSON text.
func orderJSON(amount, price, qty, currency string) string {
	return fmt.Sprintf(`{"_id":"o1","status":"pending","currency":%q,"amount":%s,%s,"items":[{"_id":"i1","name":"Mug","qty":%s,`+
		`"price":{"_id":"p1","amount":%s,"currency":%q},"product":{"_id":"pr1"}}]}`, currency, amount, at, qty, price, currency)
}

func invoiceJSON(field, value, currency string) string {
	fields := map[string]string{"total": "10", "amountPaid": "0", "amountDue": "10"}
	fields[field] = value
	return fmt.Sprintf(`{"_id":"v1","status":"sent","currency":%q,"total":%s,"amountPaid":%s,"amountDue":%s,%s}`,
		currency, fields["total"], fields["amountPaid"], fields["amountDue"], at)
}

var amountPaths = []path{
	{"order webhook: amount", func(t *testing.T, v, cur string) (int64, *amounts) {
		d, err := webhook(t, ghl.EventOrderCreate, orderJSON(v, "1", "1", cur)).Order()
		if err != nil {
			t.Fatal(err)
		}
		o, a := orderDetail("L", *d, webhookKeys)
		return o.Amount, a
	}},
	{"order webhook: item price", func(t *testing.T, v, cur string) (int64, *amounts) {
		d, err := webhook(t, ghl.EventOrderStatusUpdate, orderJSON("1", v, "1", cur)).Order()
		if err != nil {
			t.Fatal(err)
		}
		o, a := orderDetail("L", *d, webhookKeys)
		return o.Items[0].UnitAmount, a
	}},
	{"invoice webhook: total", func(t *testing.T, v, cur string) (int64, *amounts) {
		d, err := webhook(t, ghl.EventInvoicePaid, invoiceJSON("total", v, cur)).Invoice()
		if err != nil {
			t.Fatal(err)
		}
		x, a := invoice("L", *d)
		return x.Total, a
	}},
	{"invoice webhook: amountPaid", func(t *testing.T, v, cur string) (int64, *amounts) {
		d, err := webhook(t, ghl.EventInvoicePartiallyPaid, invoiceJSON("amountPaid", v, cur)).Invoice()
		if err != nil {
			t.Fatal(err)
		}
		x, a := invoice("L", *d)
		return x.AmountPaid, a
	}},
	{"order list item: amount", func(t *testing.T, v, cur string) (int64, *amounts) {
		o, a := orderSummary("L", decode[ghl.Order](t, fmt.Sprintf(`{"_id":"o1","currency":%q,"amount":%s,%s}`, cur, v, at)))
		return o.Amount, a
	}},
	{"order detail: amount", func(t *testing.T, v, cur string) (int64, *amounts) {
		o, a := orderDetail("L", decode[ghl.OrderDetail](t, orderJSON(v, "1", "1", cur)), responseKeys)
		return o.Amount, a
	}},
	{"order detail: item price", func(t *testing.T, v, cur string) (int64, *amounts) {
		o, a := orderDetail("L", decode[ghl.OrderDetail](t, orderJSON("1", v, "1", cur)), responseKeys)
		return o.Items[0].UnitAmount, a
	}},
	{"transaction list: amount", func(t *testing.T, v, cur string) (int64, *amounts) {
		x, a := transaction("L", decode[ghl.Transaction](t, fmt.Sprintf(`{"_id":"t1","currency":%q,"amount":%s,%s}`, cur, v, at)))
		return x.Amount, a
	}},
	{"transaction list: amountRefunded", func(t *testing.T, v, cur string) (int64, *amounts) {
		x, a := transaction("L", decode[ghl.Transaction](t, fmt.Sprintf(`{"_id":"t1","currency":%q,"amount":1,"amountRefunded":%s,%s}`, cur, v, at)))
		return x.AmountRefunded, a
	}},
	{"transaction detail: amount", func(t *testing.T, v, cur string) (int64, *amounts) {
		x, a := transactionDetail("L", decode[ghl.TransactionDetail](t, fmt.Sprintf(`{"_id":"t1","currency":%q,"amount":%s,%s}`, cur, v, at)))
		return x.Amount, a
	}},
	{"transaction detail: amountRefunded", func(t *testing.T, v, cur string) (int64, *amounts) {
		x, a := transactionDetail("L", decode[ghl.TransactionDetail](t, fmt.Sprintf(`{"_id":"t1","currency":%q,"amountRefunded":%s,%s}`, cur, v, at)))
		return x.AmountRefunded, a
	}},
	{"subscription list: amount", func(t *testing.T, v, cur string) (int64, *amounts) {
		x, a := subscriptionSummary("L", decode[ghl.Subscription](t, fmt.Sprintf(`{"_id":"s1","currency":%q,"amount":%s,%s}`, cur, v, at)))
		return x.Amount, a
	}},
	{"subscription detail: amount", func(t *testing.T, v, cur string) (int64, *amounts) {
		x, a := subscriptionDetail("L", decode[ghl.SubscriptionDetail](t, fmt.Sprintf(`{"_id":"s1","currency":%q,"amount":%s,%s}`, cur, v, at)))
		return x.Amount, a
	}},
	{"invoice list/detail: total", func(t *testing.T, v, cur string) (int64, *amounts) {
		x, a := invoice("L", decode[ghl.Invoice](t, invoiceJSON("total", v, cur)))
		return x.Total, a
	}},
	{"invoice list/detail: amountDue", func(t *testing.T, v, cur string) (int64, *amounts) {
		x, a := invoice("L", decode[ghl.Invoice](t, invoiceJSON("amountDue", v, cur)))
		return x.AmountDue, a
	}},
}

// TestAmountConversions runs every amount through every path that turns
// GHL amounts into minor units: exact values, half away from zero (noted),
// and refusals (the record is not to be stored).
func TestAmountConversions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, currency string
		want            int64
		rounded         string // the rounding noted, "" for none
		refused         error
	}{
		// Exact.
		{`150.1`, "USD", 15010, "", nil},
		{`150.10`, "USD", 15010, "", nil},
		{`"99.99"`, "USD", 9999, "", nil}, // GHL's examples quote some amounts
		{`0`, "USD", 0, "", nil},
		{`-12.5`, "USD", -1250, "", nil},
		{`1500`, "JPY", 1500, "", nil},
		{`1500.0`, "jpy", 1500, "", nil},
		{`1.234`, "KWD", 1234, "", nil},
		{`1.5`, "KWD", 1500, "", nil},
		{`1e2`, "USD", 10000, "", nil},
		{`1.5E-1`, "USD", 15, "", nil},
		{`12345e-3`, "KWD", 12345, "", nil},
		{`null`, "USD", 0, "", nil}, // absent
		{`92233720368547758.07`, "USD", math.MaxInt64, "", nil},
		{`9223372036854775807`, "JPY", math.MaxInt64, "", nil},
		{`-9223372036854775808`, "JPY", math.MinInt64, "", nil},
		// More decimals than the currency has: half away from zero, noted.
		{`1.005`, "USD", 101, "1.005 of * rounded to 1.01 USD", nil},
		{`0.285`, "USD", 29, "0.285 of * rounded to 0.29 USD", nil},
		{`-1.005`, "USD", -101, "-1.005 of * rounded to -1.01 USD", nil},
		{`1.00499`, "USD", 100, "1.00499 of * rounded to 1.00 USD", nil},
		{`"2.675"`, "USD", 268, "2.675 of * rounded to 2.68 USD", nil},
		{`1.005e0`, "USD", 101, "1.005e0 of * rounded to 1.01 USD", nil},
		{`0.5`, "JPY", 1, "0.5 of * rounded to 1 JPY", nil},
		{`-0.5`, "JPY", -1, "-0.5 of * rounded to -1 JPY", nil},
		{`2.5`, "JPY", 3, "2.5 of * rounded to 3 JPY", nil},
		{`15E-1`, "JPY", 2, "15E-1 of * rounded to 2 JPY", nil},
		{`1.0005`, "KWD", 1001, "1.0005 of * rounded to 1.001 KWD", nil},
		{`-1.0005`, "KWD", -1001, "-1.0005 of * rounded to -1.001 KWD", nil},
		{`0.0004`, "KWD", 0, "0.0004 of * rounded to 0.000 KWD", nil},
		// Refused: not a number, or too large (never wrapped).
		{`""`, "USD", 0, "", ghl.ErrNotANumber},
		{`"abc"`, "USD", 0, "", ghl.ErrNotANumber},
		{`"1.2.3"`, "USD", 0, "", ghl.ErrNotANumber},
		{`"1,50"`, "USD", 0, "", ghl.ErrNotANumber},
		{`"+5"`, "USD", 0, "", ghl.ErrNotANumber},
		{`"0x10"`, "USD", 0, "", ghl.ErrNotANumber},
		{`"NaN"`, "USD", 0, "", ghl.ErrNotANumber},
		{`true`, "JPY", 0, "", ghl.ErrNotANumber},
		{`{"value":1}`, "KWD", 0, "", ghl.ErrNotANumber},
		{`92233720368547758.08`, "USD", 0, "", ghl.ErrOutOfRange},
		{`9223372036854775808`, "JPY", 0, "", ghl.ErrOutOfRange},
		{`9223372036854775.8075`, "KWD", 0, "", ghl.ErrOutOfRange}, // rounds past the top
		{`1e30`, "USD", 0, "", ghl.ErrOutOfRange},
		{`-1e30`, "JPY", 0, "", ghl.ErrOutOfRange},
		{`1e999999999999`, "USD", 0, "", ghl.ErrOutOfRange},
	}
	for _, p := range amountPaths {
		for _, tt := range tests {
			got, a := p.run(t, tt.value, tt.currency)
			what := fmt.Sprintf("%s = %s %s", p.name, tt.value, tt.currency)
			if tt.refused != nil {
				if a.err == nil || !errors.Is(a.refusal(), tt.refused) || !errors.Is(a.refusal(), rankr.ErrInvalid) {
					t.Errorf("%s: converted to %d (%v), want refused with %v", what, got, a.err, tt.refused)
					continue
				}
				if msg := a.err.Error(); !strings.Contains(msg, " "+tt.value+" of ") {
					t.Errorf("%s: refusal %q does not quote what GHL sent", what, msg)
				}
				continue
			}
			if a.err != nil || got != tt.want {
				t.Errorf("%s: got %d, %v; want %d", what, got, a.err, tt.want)
				continue
			}
			switch {
			case tt.rounded == "" && len(a.rounded) > 0:
				t.Errorf("%s: noted roundings %q where the amount is exact", what, a.rounded)
			case tt.rounded != "" && (len(a.rounded) != 1 || !matches(a.rounded[0], tt.rounded)):
				t.Errorf("%s: noted %q, want one rounding like %q", what, a.rounded, tt.rounded)
			}
		}
	}
}

// matches reports whether s ends with pattern, where * stands for the
// record (its type and id).
func matches(s, pattern string) bool {
	before, after, _ := strings.Cut(pattern, "*")
	i := strings.Index(s, " "+before)
	return i >= 0 && strings.HasSuffix(s, after) && strings.Contains(s[i:], after)
}

// TestQuantityConversions: a quantity is an item count; one that is not a
// whole number is refused, like an amount that is not a number, rather than
// rounded into items nobody ordered.
func TestQuantityConversions(t *testing.T) {
	t.Parallel()
	paths := []struct {
		name string
		run  func(t *testing.T, qty string) (int64, *amounts)
	}{
		{"order webhook: item qty", func(t *testing.T, q string) (int64, *amounts) {
			d, err := webhook(t, ghl.EventOrderCreate, orderJSON("1", "1", q, "USD")).Order()
			if err != nil {
				t.Fatal(err)
			}
			o, a := orderDetail("L", *d, webhookKeys)
			return o.Items[0].Qty, a
		}},
		{"order detail: item qty", func(t *testing.T, q string) (int64, *amounts) {
			o, a := orderDetail("L", decode[ghl.OrderDetail](t, orderJSON("1", "1", q, "JPY")), responseKeys)
			return o.Items[0].Qty, a
		}},
		{"fulfillment: item qty", func(t *testing.T, q string) (int64, *amounts) {
			f, a := fulfillment("L", "o1", decode[ghl.Fulfillment](t, fmt.Sprintf(
				`{"_id":"f1","trackings":[],"items":[{"_id":"i1","name":"Mug","qty":%s,"price":{"_id":"p1","amount":1}}],%s}`, q, at)))
			return f.Items[0].Qty, a
		}},
	}
	tests := []struct {
		qty     string
		want    int64
		refused error
	}{
		{`2`, 2, nil}, {`"3"`, 3, nil}, {`2.0`, 2, nil}, {`1e1`, 10, nil}, {`0`, 0, nil},
		{`1.5`, 0, errFractional}, {`0.5`, 0, errFractional}, {`2.0001`, 0, errFractional},
		{`"abc"`, 0, ghl.ErrNotANumber}, {`""`, 0, ghl.ErrNotANumber}, {`"1.2.3"`, 0, ghl.ErrNotANumber},
		{`1e30`, 0, ghl.ErrOutOfRange},
	}
	for _, p := range paths {
		for _, tt := range tests {
			got, a := p.run(t, tt.qty)
			switch {
			case tt.refused != nil && !errors.Is(a.refusal(), tt.refused):
				t.Errorf("%s = %s: got %d, %v; want refused with %v", p.name, tt.qty, got, a.err, tt.refused)
			case tt.refused == nil && (a.err != nil || got != tt.want || len(a.rounded) > 0):
				t.Errorf("%s = %s: got %d, %v, %q; want %d", p.name, tt.qty, got, a.err, a.rounded, tt.want)
			}
		}
	}
}

// TestAmountErrorText: the refusal names the field, the text GHL sent and
// the record, in words an operator can act on.
func TestAmountErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		record func(t *testing.T) *amounts
		want   string
	}{
		{func(t *testing.T) *amounts {
			_, a := orderSummary("L", decode[ghl.Order](t, `{"_id":"X","currency":"USD","amount":"abc"}`))
			return a
		}, `amount "abc" of order X is not a number`},
		{func(t *testing.T) *amounts {
			_, a := orderDetail("L", decode[ghl.OrderDetail](t, orderJSON("1", "1", "1.5", "USD")), responseKeys)
			return a
		}, `items[0].qty 1.5 of order o1 is not a whole number`},
		{func(t *testing.T) *amounts {
			_, a := invoice("L", decode[ghl.Invoice](t, invoiceJSON("amountDue", "1e30", "KWD")))
			return a
		}, `amountDue 1e30 of invoice v1 is too large to store`},
		{func(t *testing.T) *amounts {
			// Several bad values: the first is named.
			_, a := transaction("L", decode[ghl.Transaction](t, `{"_id":"t1","currency":"USD","amount":true,"amountRefunded":"x"}`))
			return a
		}, `amount true of transaction t1 is not a number`},
	}
	for _, tt := range tests {
		a := tt.record(t)
		if a.err == nil || a.err.Error() != tt.want {
			t.Errorf("refusal = %v, want %q", a.err, tt.want)
		}
	}
}
