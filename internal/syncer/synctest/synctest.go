// Package synctest compares what Rankr stored with what the GHL sandbox
// holds: every typed field and the raw JSON of every record. The sync's own
// tests and the end-to-end tests use it; it derives the expected values from
// the sandbox's truth on its own, not through the sync's conversions.
package synctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Options relax the comparison where a scenario cannot know better.
type Options struct {
	// IgnoreDeleted skips records deleted in the sandbox (nothing but a full
	// walk can notice them).
	IgnoreDeleted bool
	// Catalog compares the products and their prices too. Only a backfill
	// or full walk since the last change GHL sent no webhook for (a stock
	// taken by an order) brings them level.
	Catalog bool
}

// diff collects mismatches, to report many at once.
type diff struct{ lines []string }

func (d *diff) add(format string, args ...any) {
	if len(d.lines) < 40 {
		d.lines = append(d.lines, fmt.Sprintf(format, args...))
	}
}

func (d *diff) eq(what string, got, want any) {
	if !reflect.DeepEqual(got, want) {
		d.add("%s: got %v, want %v", what, got, want)
	}
}

// jsonEq compares two JSON documents by meaning, ignoring response-only
// keys.
func (d *diff) jsonEq(what string, got []byte, want any) {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		d.add("%s: stored raw JSON does not parse: %v", what, err)
		return
	}
	wb, _ := json.Marshal(want)
	_ = json.Unmarshal(wb, &w)
	if m, ok := g.(map[string]any); ok {
		delete(m, "traceId")
	}
	if m, ok := w.(map[string]any); ok {
		delete(m, "traceId")
	}
	if !reflect.DeepEqual(g, w) {
		d.add("%s: raw JSON differs:\n   got %s\n  want %s", what, truncate(string(got)), truncate(string(wb)))
	}
}

func truncate(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

func cents(t testing.TB, n ghl.Number) int64 {
	if n == "" {
		return 0
	}
	v, err := n.Scaled(2) // the sandbox's currencies all have cents
	if err != nil {
		t.Fatalf("amount %q: %v", n, err)
	}
	return v
}

func ms(t ghl.Time) time.Time { return t.Time.Truncate(time.Millisecond).UTC() }

// MatchesTruth reports every difference between the store and the truth of
// each of its locations. It fails the test when there is any.
func MatchesTruth(t testing.TB, st store.Store, truth sandbox.Truth, opts Options) {
	t.Helper()
	ctx := context.Background()
	var d diff
	for _, lt := range truth.Locations {
		compareLocation(ctx, t, st, lt, opts, &d)
	}
	if len(d.lines) > 0 {
		t.Fatalf("the store differs from the sandbox truth (%d+ differences):\n%s", len(d.lines), strings.Join(d.lines, "\n"))
	}
}

func compareLocation(ctx context.Context, t testing.TB, st store.Store, lt sandbox.LocationTruth, opts Options, d *diff) {
	loc := lt.ID
	counts, err := st.Counts(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]int{}
	for _, o := range lt.Orders {
		if !o.Deleted {
			live["orders"]++
			live["fulfillments"] += len(o.Fulfillments)
		}
	}
	for _, x := range lt.Transactions {
		if !x.Deleted {
			live["transactions"]++
		}
	}
	for _, x := range lt.Subscriptions {
		if !x.Deleted {
			live["subscriptions"]++
		}
	}
	for _, x := range lt.Invoices {
		if !x.Deleted {
			live["invoices"]++
		}
	}
	if !opts.IgnoreDeleted {
		d.eq(loc+" order count", counts.Orders, live["orders"])
		d.eq(loc+" transaction count", counts.Transactions, live["transactions"])
		d.eq(loc+" subscription count", counts.Subscriptions, live["subscriptions"])
		d.eq(loc+" invoice count", counts.Invoices, live["invoices"])
	}
	d.eq(loc+" fulfillment count", counts.Fulfillments, live["fulfillments"])

	for _, o := range lt.Orders {
		compareOrder(ctx, t, st, loc, o, opts, d)
	}
	for _, x := range lt.Transactions {
		compareTxn(ctx, t, st, loc, x, opts, d)
	}
	for _, x := range lt.Subscriptions {
		compareSub(ctx, t, st, loc, x, opts, d)
	}
	for _, x := range lt.Invoices {
		compareInvoice(ctx, t, st, loc, x, opts, d)
	}
	if opts.Catalog {
		compareCatalog(ctx, t, st, lt, d)
	}
}

// get reads a record, reporting a missing one; ok is false when there is
// nothing more to compare.
func get[T any](t testing.TB, d *diff, what string, deleted bool, opts Options, read func() (T, error), deletedAt func(T) time.Time) (T, bool) {
	v, err := read()
	switch {
	case deleted && opts.IgnoreDeleted:
		return v, false
	case errors.Is(err, rankr.ErrNotFound):
		d.add("%s is missing", what)
		return v, false
	case err != nil:
		t.Fatal(err)
	}
	if deleted != !deletedAt(v).IsZero() {
		d.add("%s: deleted in the sandbox %v, marked deleted in the store %v", what, deleted, !deletedAt(v).IsZero())
	}
	return v, !deleted
}

func compareOrder(ctx context.Context, t testing.TB, st store.Store, loc string, ot sandbox.OrderTruth, opts Options, d *diff) {
	it := ot.Item
	what := "order " + it.ID
	o, ok := get(t, d, what, ot.Deleted, opts, func() (rankr.Order, error) { return st.OrderGet(ctx, loc, it.ID) },
		func(o rankr.Order) time.Time { return o.DeletedAt })
	if !ok {
		return
	}
	d.eq(what+" contactId", o.ContactID, it.ContactID)
	d.eq(what+" contactName", o.ContactName, it.ContactName)
	d.eq(what+" contactEmail", o.ContactEmail, it.ContactEmail)
	d.eq(what+" amount", o.Amount, cents(t, it.Amount))
	d.eq(what+" currency", o.Currency, it.Currency)
	d.eq(what+" status", o.Status, string(it.Status))
	d.eq(what+" fulfillmentStatus", o.FulfillmentStatus, string(it.FulfillmentStatus))
	d.eq(what+" paymentStatus", o.PaymentStatus, ot.PaymentStatus)
	d.eq(what+" liveMode", o.LiveMode, it.LiveMode)
	d.eq(what+" source", o.Source, rankr.Source{Type: string(it.SourceType), SubType: it.SourceSubType, ID: it.SourceID, Name: it.SourceName})
	d.eq(what+" createdAt", o.CreatedAt, ms(it.CreatedAt))
	d.eq(what+" updatedAt", o.UpdatedAt, ms(it.UpdatedAt))
	d.jsonEq(what+" raw summary", o.RawSummary, it)
	d.jsonEq(what+" raw detail", o.RawDetail, ot.Detail)
	if len(o.Items) != len(ot.Detail.Items) {
		d.add("%s: %d items, want %d", what, len(o.Items), len(ot.Detail.Items))
	} else {
		for i, want := range ot.Detail.Items {
			q, _ := want.Qty.Int()
			d.eq(fmt.Sprintf("%s item %d", what, i), o.Items[i], rankr.OrderItem{
				ID: want.ID, Name: want.Name, Qty: int64(q), PriceID: want.Price.ID, ProductID: want.Product.ID,
				ProductType: want.Product.ProductType, UnitAmount: cents(t, want.Price.Amount), Currency: want.Price.Currency,
				Recurring: want.Price.Type == ghl.PriceRecurring,
			})
		}
	}
	fs, err := st.FulfillmentList(ctx, store.ListParams{LocationID: loc, OrderID: it.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != len(ot.Fulfillments) {
		d.add("%s: %d fulfillments, want %d", what, len(fs), len(ot.Fulfillments))
		return
	}
	byID := map[string]rankr.Fulfillment{}
	for _, f := range fs {
		byID[f.ID] = f
	}
	for _, want := range ot.Fulfillments {
		f, ok := byID[want.ID]
		if !ok {
			d.add("%s: fulfillment %s is missing", what, want.ID)
			continue
		}
		fw := "fulfillment " + want.ID
		d.eq(fw+" createdAt", f.CreatedAt, ms(want.CreatedAt))
		var trackings []rankr.Tracking
		for _, tr := range want.Trackings {
			trackings = append(trackings, rankr.Tracking{Number: tr.TrackingNumber, Carrier: tr.ShippingCarrier, URL: tr.TrackingURL})
		}
		if trackings == nil {
			trackings = []rankr.Tracking{}
		}
		d.eq(fw+" trackings", f.Trackings, trackings)
		var items []rankr.FulfillmentItem
		for _, it := range want.Items {
			q, _ := it.Qty.Int()
			items = append(items, rankr.FulfillmentItem{ItemID: it.ID, PriceID: it.Price.ID, Name: it.Name, Qty: int64(q)})
		}
		d.eq(fw+" items", f.Items, items)
		d.jsonEq(fw+" raw", f.Raw, want)
	}
}

func compareTxn(ctx context.Context, t testing.TB, st store.Store, loc string, xt sandbox.TransactionTruth, opts Options, d *diff) {
	it, det := xt.Item, xt.Detail
	what := "transaction " + it.ID
	x, ok := get(t, d, what, xt.Deleted, opts, func() (rankr.Transaction, error) { return st.TransactionGet(ctx, loc, it.ID) },
		func(x rankr.Transaction) time.Time { return x.DeletedAt })
	if !ok {
		return
	}
	orderID := ""
	if it.EntityType == "order" {
		orderID = it.EntityID
	}
	d.eq(what+" entity", [2]string{x.EntityType, x.EntityID}, [2]string{it.EntityType, it.EntityID})
	d.eq(what+" orderId", x.OrderID, orderID)
	d.eq(what+" invoiceId", x.InvoiceID, det.InvoiceID)
	d.eq(what+" subscriptionId", x.SubscriptionID, it.SubscriptionID)
	d.eq(what+" contactId", x.ContactID, it.ContactID)
	d.eq(what+" amount", x.Amount, cents(t, it.Amount))
	d.eq(what+" amountRefunded", x.AmountRefunded, cents(t, it.AmountRefunded))
	d.eq(what+" currency", x.Currency, it.Currency)
	d.eq(what+" status", x.Status, string(it.Status))
	d.eq(what+" liveMode", x.LiveMode, it.LiveMode)
	d.eq(what+" provider", x.Provider, it.PaymentProviderType)
	d.eq(what+" chargeId", x.ChargeID, it.ChargeID)
	d.eq(what+" createdAt", x.CreatedAt, ms(it.CreatedAt))
	d.eq(what+" updatedAt", x.UpdatedAt, ms(it.UpdatedAt))
	// Listed, or fetched by id when a targeted refresh or a deletion check
	// looked at it: either shape is GHL's record.
	var g map[string]any
	_ = json.Unmarshal(x.Raw, &g)
	if _, detail := g["entitySource"]; detail {
		d.jsonEq(what+" raw", x.Raw, det)
	} else {
		d.jsonEq(what+" raw", x.Raw, it)
	}
}

func compareSub(ctx context.Context, t testing.TB, st store.Store, loc string, xt sandbox.SubscriptionTruth, opts Options, d *diff) {
	it, det := xt.Item, xt.Detail
	what := "subscription " + it.ID
	x, ok := get(t, d, what, xt.Deleted, opts, func() (rankr.Subscription, error) { return st.SubscriptionGet(ctx, loc, it.ID) },
		func(x rankr.Subscription) time.Time { return x.DeletedAt })
	if !ok {
		return
	}
	d.eq(what+" contact", [3]string{x.ContactID, x.ContactName, x.ContactEmail}, [3]string{it.ContactID, it.ContactName, it.ContactEmail})
	d.eq(what+" amount", x.Amount, cents(t, it.Amount))
	d.eq(what+" currency", x.Currency, it.Currency)
	d.eq(what+" status", x.Status, string(it.Status))
	d.eq(what+" liveMode", x.LiveMode, it.LiveMode)
	d.eq(what+" orderId", x.OrderID, it.EntityID)
	d.eq(what+" providerSubscriptionId", x.ProviderSubscriptionID, it.SubscriptionID)
	d.eq(what+" interval", [2]any{x.Interval, x.IntervalCount}, [2]any{det.Schedule.RRule.IntervalType, det.Schedule.RRule.Interval})
	d.eq(what+" nextRunAt", x.NextRunAt, ms(det.Schedule.ExecuteAt))
	d.eq(what+" canceledAt", x.CanceledAt, ms(det.CanceledAt))
	d.eq(what+" createdAt", x.CreatedAt, ms(it.CreatedAt))
	d.eq(what+" updatedAt", x.UpdatedAt, ms(it.UpdatedAt))
	d.jsonEq(what+" raw summary", x.RawSummary, it)
	d.jsonEq(what+" raw detail", x.RawDetail, det)
}

func compareInvoice(ctx context.Context, t testing.TB, st store.Store, loc string, xt sandbox.InvoiceTruth, opts Options, d *diff) {
	v := xt.Invoice
	what := "invoice " + v.ID
	x, ok := get(t, d, what, xt.Deleted, opts, func() (rankr.Invoice, error) { return st.InvoiceGet(ctx, loc, v.ID) },
		func(x rankr.Invoice) time.Time { return x.DeletedAt })
	if !ok {
		return
	}
	d.eq(what+" number", x.Number, string(v.InvoiceNumber))
	d.eq(what+" status", x.Status, string(v.Status))
	d.eq(what+" contact", [3]string{x.ContactID, x.ContactName, x.ContactEmail},
		[3]string{v.ContactDetails.ID, v.ContactDetails.Name, v.ContactDetails.Email})
	d.eq(what+" amounts", [3]int64{x.Total, x.AmountPaid, x.AmountDue}, [3]int64{cents(t, v.Total), cents(t, v.AmountPaid), cents(t, v.AmountDue)})
	d.eq(what+" currency", x.Currency, v.Currency)
	d.eq(what+" dates", [2]string{x.IssueDate, x.DueDate}, [2]string{v.IssueDate, v.DueDate})
	d.eq(what+" updatedAt", x.UpdatedAt, ms(v.UpdatedAt))
	d.jsonEq(what+" raw", x.Raw, v)
}
