package syncer

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
)

// The functions below turn GHL's records into Rankr's. Amounts and
// quantities go through amounts, which converts them exactly: an amount with
// more decimals than its currency has is rounded half away from zero and
// the rounding is noted (the raw JSON keeps GHL's text); an amount that is
// not a number or does not fit, or a quantity that is not a whole number,
// refuses the whole record, which is then not stored at all rather than
// stored with a made-up value.

// AmountError is an amount or quantity of a GHL record that Rankr cannot
// store: not a number, too large, or a fractional quantity. It is
// rankr.ErrInvalid.
type AmountError struct {
	RecordType string // rankr.RecordOrder...
	ID         string
	Field      string // "amount", "items[1].qty"
	Text       string // as GHL sent it: 1e30, "abc", true
	Err        error  // ghl.ErrNotANumber, ghl.ErrOutOfRange or errFractional
}

// errFractional is a quantity that is not a whole number.
var errFractional = errors.New("not a whole number")

func (e *AmountError) Error() string {
	why := "cannot be stored: " + e.Err.Error()
	switch {
	case errors.Is(e.Err, ghl.ErrNotANumber):
		why = "is not a number"
	case errors.Is(e.Err, ghl.ErrOutOfRange):
		why = "is too large to store"
	case errors.Is(e.Err, errFractional):
		why = "is not a whole number"
	}
	return fmt.Sprintf("%s %s of %s %s %s", e.Field, e.Text, e.RecordType, e.ID, why)
}

func (e *AmountError) Unwrap() []error { return []error{rankr.ErrInvalid, e.Err} }

// amounts converts the amounts and quantities of one record, noting what it
// had to round and the first value it refused.
type amounts struct {
	recordType, id string
	rounded        []string
	err            *AmountError
}

func newAmounts(recordType, id string) *amounts { return &amounts{recordType: recordType, id: id} }

// minor converts an amount to the currency's minor units. An absent amount
// is 0: GHL leaves out amounts it has none of (amountRefunded, a discount).
func (a *amounts) minor(field string, n ghl.Number, currency string) int64 {
	if n == "" {
		return 0
	}
	v, rounded, err := n.Round(rankr.CurrencyExponent(currency))
	if err != nil {
		a.refuse(field, n, err)
		return 0
	}
	if rounded {
		a.rounded = append(a.rounded, fmt.Sprintf("%s %s of %s %s rounded to %s %s",
			field, n, a.recordType, a.id, rankr.FormatMinor(v, currency), currency))
	}
	return v
}

// count converts a quantity, which must be a whole number: rounding 1.5
// items would ship, or bill, what nobody ordered.
func (a *amounts) count(field string, n ghl.Number) int64 {
	if n == "" {
		return 0
	}
	v, rounded, err := n.Round(0)
	if err == nil && rounded {
		err = errFractional
	}
	if err != nil {
		a.refuse(field, n, err)
		return 0
	}
	return v
}

// refusal returns the first value refused, as an error, or nil.
func (a *amounts) refusal() error {
	if a.err == nil {
		return nil // not a typed nil
	}
	return a.err
}

func (a *amounts) refuse(field string, n ghl.Number, err error) {
	if a.err == nil {
		a.err = &AmountError{RecordType: a.recordType, ID: a.id, Field: field, Text: string(n), Err: err}
	}
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

func orderSummary(loc string, o ghl.Order) (rankr.Order, *amounts) {
	a := newAmounts(rankr.RecordOrder, o.ID)
	return rankr.Order{
		ID: o.ID, LocationID: loc, ContactID: o.ContactID, ContactName: o.ContactName, ContactEmail: o.ContactEmail,
		Amount: a.minor("amount", o.Amount, o.Currency), Currency: o.Currency, Status: string(o.Status),
		FulfillmentStatus: string(o.FulfillmentStatus), LiveMode: o.LiveMode,
		Source:    rankr.Source{Type: string(o.SourceType), SubType: o.SourceSubType, ID: o.SourceID, Name: o.SourceName},
		CreatedAt: o.CreatedAt.Time, UpdatedAt: o.UpdatedAt.Time, RawSummary: dropKeys(o.Raw, responseKeys...),
	}, a
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
func orderDetail(loc string, d ghl.OrderDetail, strip []string) (rankr.Order, *amounts) {
	name, email := snapshotContact(d.ContactSnapshot)
	a := newAmounts(rankr.RecordOrder, d.ID)
	o := rankr.Order{
		ID: d.ID, LocationID: loc, ContactID: d.ContactID, ContactName: name, ContactEmail: email,
		Amount: a.minor("amount", d.Amount, d.Currency), Currency: d.Currency, Status: string(d.Status),
		FulfillmentStatus: string(d.FulfillmentStatus), LiveMode: d.LiveMode,
		CreatedAt: d.CreatedAt.Time, UpdatedAt: d.UpdatedAt.Time, RawDetail: dropKeys(d.Raw, strip...),
		Items: make([]rankr.OrderItem, 0, len(d.Items)),
	}
	if d.Source != nil {
		o.Source = rankr.Source{Type: string(d.Source.Type), SubType: d.Source.SubType, ID: d.Source.ID, Name: d.Source.Name}
	}
	for i, it := range d.Items {
		cur := cmp.Or(it.Price.Currency, d.Currency)
		o.Items = append(o.Items, rankr.OrderItem{
			ID: it.ID, Name: it.Name, Qty: a.count(fmt.Sprintf("items[%d].qty", i), it.Qty), PriceID: it.Price.ID,
			ProductID: it.Product.ID, ProductType: it.Product.ProductType,
			UnitAmount: a.minor(fmt.Sprintf("items[%d].price.amount", i), it.Price.Amount, cur), Currency: cur,
			Recurring: it.Price.Type == ghl.PriceRecurring,
		})
	}
	return o, a
}

func fulfillment(loc, orderID string, f ghl.Fulfillment) (rankr.Fulfillment, *amounts) {
	a := newAmounts(rankr.RecordFulfillment, f.ID)
	out := rankr.Fulfillment{ID: f.ID, LocationID: loc, OrderID: orderID, CreatedAt: f.CreatedAt.Time,
		UpdatedAt: f.UpdatedAt.Time, Raw: dropKeys(f.Raw, responseKeys...),
		Trackings: make([]rankr.Tracking, 0, len(f.Trackings)), Items: make([]rankr.FulfillmentItem, 0, len(f.Items))}
	if out.UpdatedAt.IsZero() {
		out.UpdatedAt = out.CreatedAt
	}
	for _, tr := range f.Trackings {
		out.Trackings = append(out.Trackings, rankr.Tracking{Number: tr.TrackingNumber, Carrier: tr.ShippingCarrier, URL: tr.TrackingURL})
	}
	for i, it := range f.Items {
		out.Items = append(out.Items, rankr.FulfillmentItem{ItemID: it.ID, PriceID: it.Price.ID, Name: it.Name,
			Qty: a.count(fmt.Sprintf("items[%d].qty", i), it.Qty)})
	}
	return out, a
}

// transaction converts a listed payment. The list has no invoiceId, so it is
// derived: the entity itself when it is an invoice, or the entity's source
// when an invoice created the order.
func transaction(loc string, t ghl.Transaction) (rankr.Transaction, *amounts) {
	a := newAmounts(rankr.RecordTransaction, t.ID)
	x := rankr.Transaction{
		ID: t.ID, LocationID: loc, EntityType: t.EntityType, EntityID: t.EntityID, SubscriptionID: t.SubscriptionID,
		ContactID: t.ContactID, Amount: a.minor("amount", t.Amount, t.Currency),
		AmountRefunded: a.minor("amountRefunded", t.AmountRefunded, t.Currency),
		Currency:       t.Currency, Status: string(t.Status), LiveMode: t.LiveMode, Provider: t.PaymentProviderType,
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
	return x, a
}

func subscriptionSummary(loc string, s ghl.Subscription) (rankr.Subscription, *amounts) {
	a := newAmounts(rankr.RecordSubscription, s.ID)
	x := rankr.Subscription{
		ID: s.ID, LocationID: loc, ContactID: s.ContactID, ContactName: s.ContactName, ContactEmail: s.ContactEmail,
		Amount: a.minor("amount", s.Amount, s.Currency), Currency: s.Currency, Status: string(s.Status), LiveMode: s.LiveMode,
		ProviderSubscriptionID: s.SubscriptionID, CreatedAt: s.CreatedAt.Time, UpdatedAt: s.UpdatedAt.Time,
		RawSummary: dropKeys(s.Raw, responseKeys...),
	}
	if s.EntityType == "order" {
		x.OrderID = s.EntityID
	}
	return x, a
}

func subscriptionDetail(loc string, s ghl.SubscriptionDetail) (rankr.Subscription, *amounts) {
	name, email := snapshotContact(s.ContactSnapshot)
	a := newAmounts(rankr.RecordSubscription, s.ID)
	x := rankr.Subscription{
		ID: s.ID, LocationID: loc, ContactID: s.ContactID, ContactName: name, ContactEmail: email,
		Amount: a.minor("amount", s.Amount, s.Currency), Currency: s.Currency, Status: string(s.Status), LiveMode: s.LiveMode,
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
	return x, a
}

func invoice(loc string, v ghl.Invoice) (rankr.Invoice, *amounts) {
	a := newAmounts(rankr.RecordInvoice, v.ID)
	x := rankr.Invoice{
		ID: v.ID, LocationID: loc, Number: string(v.InvoiceNumber), Name: v.Name, Status: string(v.Status),
		Currency: v.Currency, Total: a.minor("total", v.Total, v.Currency), AmountPaid: a.minor("amountPaid", v.AmountPaid, v.Currency),
		AmountDue: a.minor("amountDue", v.AmountDue, v.Currency), LiveMode: v.LiveMode, IssueDate: dateOnly(v.IssueDate),
		DueDate: dateOnly(v.DueDate), CreatedAt: v.CreatedAt.Time, UpdatedAt: v.UpdatedAt.Time,
		Raw: dropKeys(v.Raw, webhookKeys...),
	}
	if c := v.ContactDetails; c != nil {
		x.ContactID, x.ContactName, x.ContactEmail = c.ID, c.Name, c.Email
	}
	return x, a
}

// dateOnly keeps the day of a date or timestamp.
func dateOnly(s string) string {
	if t, err := ghl.ParseTime(s); err == nil && !t.IsZero() {
		return t.UTC().Format(time.DateOnly)
	}
	return s
}

// transactionDetail converts a transaction fetched by id.
func transactionDetail(loc string, t ghl.TransactionDetail) (rankr.Transaction, *amounts) {
	a := newAmounts(rankr.RecordTransaction, t.ID)
	x := rankr.Transaction{
		ID: t.ID, LocationID: loc, EntityType: t.EntityType, EntityID: t.EntityID, SubscriptionID: t.SubscriptionID,
		InvoiceID: t.InvoiceID, ContactID: t.ContactID, Amount: a.minor("amount", t.Amount, t.Currency),
		AmountRefunded: a.minor("amountRefunded", t.AmountRefunded, t.Currency), Currency: t.Currency, Status: string(t.Status),
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
	return x, a
}
