package syncer

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
)

// The functions below turn GHL's records into Rankr's. They never fail: a
// value Rankr cannot type (an amount with too many decimals, a fractional
// quantity) is rounded in the typed column, and the raw JSON keeps it
// exactly.

// minor converts an amount to the currency's minor units, rounding half away
// from zero when GHL sent more precision than the currency has.
func minor(n ghl.Number, currency string) int64 {
	if n == "" {
		return 0
	}
	exp := rankr.CurrencyExponent(currency)
	if v, err := n.Scaled(exp); err == nil {
		return v
	}
	f, ok := n.Float64()
	if !ok {
		return 0
	}
	return int64(math.Round(f * math.Pow10(exp)))
}

func qty(n ghl.Number) int64 {
	if v, ok := n.Int(); ok {
		return int64(v)
	}
	f, _ := n.Float64()
	return int64(math.Round(f))
}

// responseKeys are fields of an answer, not of the record: a record fetched
// twice must not look different because of them.
var responseKeys = []string{"traceId"}

// webhookKeys are the delivery envelope's fields added to a payload.
var webhookKeys = []string{"type", "locationId", "webhookId", "timestamp", "traceId"}

// dropKeys removes top-level keys from a JSON object, leaving every other
// byte as GHL sent it. It scans the bytes rather than decoding them: it runs
// on every record synced and every webhook applied. Input that is not a
// JSON object comes back as it was.
func dropKeys(raw json.RawMessage, keys ...string) json.RawMessage {
	// A member runs from after the '{' or ',' before it to the ',' after it
	// (the last one: to the end of its value); kept members are joined
	// again with commas.
	type span struct{ start, end int }
	var kept []span
	dropped := false
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return raw
	}
	open := i + 1
	i = skipSpace(raw, open)
	if i < len(raw) && raw[i] == '}' {
		return raw
	}
	memberStart := open
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] != '"' {
			return raw
		}
		keyEnd := skipString(raw, i)
		if keyEnd < 0 {
			return raw
		}
		drop, ok := dropsKey(raw[i:keyEnd], keys)
		if !ok {
			return raw
		}
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return raw
		}
		valueEnd := skipValue(raw, skipSpace(raw, i+1))
		if valueEnd < 0 {
			return raw
		}
		i = skipSpace(raw, valueEnd)
		if i >= len(raw) || (raw[i] != ',' && raw[i] != '}') {
			return raw
		}
		last := raw[i] == '}'
		end := i
		if last {
			end = valueEnd
		}
		if drop {
			dropped = true
		} else {
			kept = append(kept, span{memberStart, end})
		}
		if last {
			// The scan only finds where values end; before anything is
			// cut, the whole must be JSON, or it is left as it came.
			if !dropped || !json.Valid(raw) {
				return raw
			}
			out := append(make([]byte, 0, len(raw)), raw[:open]...)
			for k, m := range kept {
				if k > 0 {
					out = append(out, ',')
				}
				out = append(out, raw[m.start:m.end]...)
			}
			return append(out, raw[valueEnd:]...)
		}
		i++
		memberStart = i
	}
}

// dropsKey reports whether the member with the quoted key is one of keys,
// comparing the key as a decoder reads it ("traceI\u0064" is traceId), and
// false for ok when the key is not a JSON string.
func dropsKey(quoted []byte, keys []string) (drop, ok bool) {
	plain := quoted[1 : len(quoted)-1]
	if !slices.ContainsFunc(plain, func(c byte) bool { return c == '\\' || c >= utf8.RuneSelf }) {
		return slices.Contains(keys, string(plain)), true
	}
	var key string
	if json.Unmarshal(quoted, &key) != nil {
		return false, false
	}
	return slices.Contains(keys, key), true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string starting at b[i], or
// -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
// It trusts that the value is valid JSON (the body was decoded already) and
// only finds where it ends.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = skipString(b, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && !strings.ContainsRune(" \t\r\n,}]", rune(b[j])) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func orderSummary(loc string, o ghl.Order) rankr.Order {
	return rankr.Order{
		ID: o.ID, LocationID: loc, ContactID: o.ContactID, ContactName: o.ContactName, ContactEmail: o.ContactEmail,
		Amount: minor(o.Amount, o.Currency), Currency: o.Currency, Status: string(o.Status),
		FulfillmentStatus: string(o.FulfillmentStatus), LiveMode: o.LiveMode,
		Source:    rankr.Source{Type: string(o.SourceType), SubType: o.SourceSubType, ID: o.SourceID, Name: o.SourceName},
		CreatedAt: o.CreatedAt.Time, UpdatedAt: o.UpdatedAt.Time, RawSummary: dropKeys(o.Raw, responseKeys...),
	}
}

// snapshotContact reads the customer's name and email from a contact
// snapshot, whose spelling varies (firstName or first_name...).
func snapshotContact(raw json.RawMessage) (name, email string) {
	var s struct {
		Name       string `json:"name"`
		FullName   string `json:"fullName"`
		FullName2  string `json:"full_name"`
		FirstName  string `json:"firstName"`
		FirstName2 string `json:"first_name"`
		LastName   string `json:"lastName"`
		LastName2  string `json:"last_name"`
		Email      string `json:"email"`
	}
	// A field of another type (a number, an object) is skipped, and the
	// others are still read: only a body that is not JSON gives nothing.
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(raw, &s); err != nil && !errors.As(err, &typeErr) {
		return "", ""
	}
	name = cmp.Or(s.Name, s.FullName, s.FullName2)
	if name == "" {
		name = strings.TrimSpace(cmp.Or(s.FirstName, s.FirstName2) + " " + cmp.Or(s.LastName, s.LastName2))
	}
	return name, s.Email
}

// orderDetail converts a fetched order, or a webhook's; strip names the
// envelope keys to drop from its raw JSON.
func orderDetail(loc string, d ghl.OrderDetail, strip []string) rankr.Order {
	name, email := snapshotContact(d.ContactSnapshot)
	o := rankr.Order{
		ID: d.ID, LocationID: loc, ContactID: d.ContactID, ContactName: name, ContactEmail: email,
		Amount: minor(d.Amount, d.Currency), Currency: d.Currency, Status: string(d.Status),
		FulfillmentStatus: string(d.FulfillmentStatus), LiveMode: d.LiveMode,
		CreatedAt: d.CreatedAt.Time, UpdatedAt: d.UpdatedAt.Time, RawDetail: dropKeys(d.Raw, strip...),
		Items: make([]rankr.OrderItem, 0, len(d.Items)),
	}
	if d.Source != nil {
		o.Source = rankr.Source{Type: string(d.Source.Type), SubType: d.Source.SubType, ID: d.Source.ID, Name: d.Source.Name}
	}
	for _, it := range d.Items {
		cur := it.Price.Currency
		if cur == "" {
			cur = d.Currency
		}
		o.Items = append(o.Items, rankr.OrderItem{
			ID: it.ID, Name: it.Name, Qty: qty(it.Qty), PriceID: it.Price.ID, ProductID: it.Product.ID,
			ProductType: it.Product.ProductType, UnitAmount: minor(it.Price.Amount, cur), Currency: cur,
			Recurring: it.Price.Type == ghl.PriceRecurring,
		})
	}
	return o
}

func fulfillment(loc, orderID string, f ghl.Fulfillment) rankr.Fulfillment {
	out := rankr.Fulfillment{ID: f.ID, LocationID: loc, OrderID: orderID, CreatedAt: f.CreatedAt.Time,
		UpdatedAt: f.UpdatedAt.Time, Raw: dropKeys(f.Raw, responseKeys...),
		Trackings: make([]rankr.Tracking, 0, len(f.Trackings)), Items: make([]rankr.FulfillmentItem, 0, len(f.Items))}
	if out.UpdatedAt.IsZero() {
		out.UpdatedAt = out.CreatedAt
	}
	for _, tr := range f.Trackings {
		out.Trackings = append(out.Trackings, rankr.Tracking{Number: tr.TrackingNumber, Carrier: tr.ShippingCarrier, URL: tr.TrackingURL})
	}
	for _, it := range f.Items {
		out.Items = append(out.Items, rankr.FulfillmentItem{ItemID: it.ID, PriceID: it.Price.ID, Name: it.Name, Qty: qty(it.Qty)})
	}
	return out
}

// transaction converts a listed payment. The list has no invoiceId, so it is
// derived: the entity itself when it is an invoice, or the entity's source
// when an invoice created the order.
func transaction(loc string, t ghl.Transaction) rankr.Transaction {
	x := rankr.Transaction{
		ID: t.ID, LocationID: loc, EntityType: t.EntityType, EntityID: t.EntityID, SubscriptionID: t.SubscriptionID,
		ContactID: t.ContactID, Amount: minor(t.Amount, t.Currency), AmountRefunded: minor(t.AmountRefunded, t.Currency),
		Currency: t.Currency, Status: string(t.Status), LiveMode: t.LiveMode, Provider: t.PaymentProviderType,
		ChargeID: t.ChargeID, CreatedAt: t.CreatedAt.Time, UpdatedAt: t.UpdatedAt.Time, Raw: dropKeys(t.Raw, responseKeys...),
	}
	switch {
	case t.EntityType == "order":
		x.OrderID = t.EntityID
		if t.EntitySourceType == string(ghl.SourceInvoice) {
			x.InvoiceID = t.EntitySourceID
		}
	case t.EntityType == "invoice":
		x.InvoiceID = t.EntityID
	}
	return x
}

func subscriptionSummary(loc string, s ghl.Subscription) rankr.Subscription {
	x := rankr.Subscription{
		ID: s.ID, LocationID: loc, ContactID: s.ContactID, ContactName: s.ContactName, ContactEmail: s.ContactEmail,
		Amount: minor(s.Amount, s.Currency), Currency: s.Currency, Status: string(s.Status), LiveMode: s.LiveMode,
		ProviderSubscriptionID: s.SubscriptionID, CreatedAt: s.CreatedAt.Time, UpdatedAt: s.UpdatedAt.Time,
		RawSummary: dropKeys(s.Raw, responseKeys...),
	}
	if s.EntityType == "order" {
		x.OrderID = s.EntityID
	}
	return x
}

func subscriptionDetail(loc string, s ghl.SubscriptionDetail) rankr.Subscription {
	name, email := snapshotContact(s.ContactSnapshot)
	x := rankr.Subscription{
		ID: s.ID, LocationID: loc, ContactID: s.ContactID, ContactName: name, ContactEmail: email,
		Amount: minor(s.Amount, s.Currency), Currency: s.Currency, Status: string(s.Status), LiveMode: s.LiveMode,
		ProviderSubscriptionID: s.SubscriptionID, CanceledAt: s.CanceledAt.Time,
		CreatedAt: s.CreatedAt.Time, UpdatedAt: s.UpdatedAt.Time, RawDetail: dropKeys(s.Raw, responseKeys...),
	}
	if s.EntityType == "order" {
		x.OrderID = s.EntityID
	}
	if s.Schedule != nil {
		x.NextRunAt = s.Schedule.ExecuteAt.Time
		if r := s.Schedule.RRule; r != nil {
			x.Interval, x.IntervalCount = r.IntervalType, r.Interval
		}
	}
	return x
}

func invoice(loc string, v ghl.Invoice) rankr.Invoice {
	x := rankr.Invoice{
		ID: v.ID, LocationID: loc, Number: string(v.InvoiceNumber), Name: v.Name, Status: string(v.Status),
		Currency: v.Currency, Total: minor(v.Total, v.Currency), AmountPaid: minor(v.AmountPaid, v.Currency),
		AmountDue: minor(v.AmountDue, v.Currency), LiveMode: v.LiveMode, IssueDate: dateOnly(v.IssueDate),
		DueDate: dateOnly(v.DueDate), CreatedAt: v.CreatedAt.Time, UpdatedAt: v.UpdatedAt.Time,
		Raw: dropKeys(v.Raw, webhookKeys...),
	}
	if c := v.ContactDetails; c != nil {
		x.ContactID, x.ContactName, x.ContactEmail = c.ID, c.Name, c.Email
	}
	return x
}

// dateOnly keeps the day of a date or timestamp.
func dateOnly(s string) string {
	if t, err := ghl.ParseTime(s); err == nil && !t.IsZero() {
		return t.UTC().Format(time.DateOnly)
	}
	return s
}

// transactionDetail converts a transaction fetched by id.
func transactionDetail(loc string, t ghl.TransactionDetail) rankr.Transaction {
	x := rankr.Transaction{
		ID: t.ID, LocationID: loc, EntityType: t.EntityType, EntityID: t.EntityID, SubscriptionID: t.SubscriptionID,
		InvoiceID: t.InvoiceID, ContactID: t.ContactID, Amount: minor(t.Amount, t.Currency),
		AmountRefunded: minor(t.AmountRefunded, t.Currency), Currency: t.Currency, Status: string(t.Status),
		LiveMode: t.LiveMode, ChargeID: t.ChargeID, CreatedAt: t.CreatedAt.Time, UpdatedAt: t.UpdatedAt.Time,
		Raw: dropKeys(t.Raw, responseKeys...),
	}
	if t.PaymentProvider != nil {
		x.Provider = t.PaymentProvider.Type
	}
	switch t.EntityType {
	case "order":
		x.OrderID = t.EntityID
	case "invoice":
		x.InvoiceID = t.EntityID
	}
	return x
}
