package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// testPages walks lists page by page with After, as the API's cursors do:
// every record exactly once, in the list's order, even when records arrive
// between pages and when several share a creation time (ids repeat across
// locations too); and the filters keep what they say.
func testPages(t *testing.T, s store.Store) {
	var want []string
	for i := range 30 {
		loc := []string{"L", "M", "N"}[i%3]
		// Three orders per creation time, two with the same id in two
		// locations: only the full key orders them.
		o := order(loc, fmt.Sprintf("o%02d", i/2), at(i/3), []string{"pending", "completed"}[i%2])
		o.CreatedAt = at(i / 3)
		o.Amount = int64(100 * i)
		o.ContactName = fmt.Sprintf("Customer %d", i)
		o.ContactEmail = fmt.Sprintf("c%d@example.com", i)
		upsertOrders(t, s, loc, false, o)
		want = append(want, loc+"/"+o.ID)
	}
	key := func(o rankr.Order) string { return o.LocationID + "/" + o.ID }
	walk := func(p store.ListParams, between func()) []string {
		t.Helper()
		var got []string
		for range 100 {
			page, err := s.OrderList(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page {
				got = append(got, key(o))
			}
			if len(page) < p.Limit {
				return got
			}
			last := page[len(page)-1]
			p.After = store.ListKey{CreatedAt: last.CreatedAt, LocationID: last.LocationID, ID: last.ID}
			if between != nil {
				between()
			}
		}
		t.Fatal("the walk does not end")
		return nil
	}
	newestFirst := func(keys []string) []string {
		all, err := s.OrderList(ctx, store.ListParams{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range all {
			if slices.Contains(keys, key(o)) {
				out = append(out, key(o))
			}
		}
		return out
	}
	// Newer orders arriving mid-walk go before the walk's place: not seen,
	// and nothing seen twice.
	n := 0
	got := walk(store.ListParams{Limit: 4}, func() {
		n++
		o := order("L", fmt.Sprintf("new%d", n), at(100+n), "pending")
		o.CreatedAt, o.Amount = at(100+n), 1
		upsertOrders(t, s, "L", false, o)
	})
	if !slices.Equal(got, newestFirst(want)) {
		t.Fatalf("walk across locations:\n got %v\nwant %v", got, newestFirst(want))
	}
	for i := 1; i < len(got); i++ {
		if slices.Index(got, got[i]) != i {
			t.Fatalf("%s twice", got[i])
		}
	}
	// Within one location, oldest first.
	got = walk(store.ListParams{LocationID: "M", Limit: 3, Oldest: true}, nil)
	var m []string
	for _, k := range newestFirst(want) {
		if k[0] == 'M' {
			m = append(m, k)
		}
	}
	slices.Reverse(m)
	if !slices.Equal(got, m) {
		t.Fatalf("location M oldest first:\n got %v\nwant %v", got, m)
	}
	// A key bound to locations sees only those; an empty set sees nothing.
	for _, c := range []struct {
		locs []string
		n    int
	}{{[]string{"L", "N"}, 20 + n}, {[]string{}, 0}, {[]string{"Z"}, 0}} {
		if got := walk(store.ListParams{Locations: c.locs, Limit: 7}, nil); len(got) != c.n {
			t.Errorf("locations %v: %d orders, want %d", c.locs, len(got), c.n)
		}
	}
	// Filters.
	amount := func(v int64) *int64 { return &v }
	for name, c := range map[string]struct {
		p    store.ListParams
		want int
	}{
		"status":       {store.ListParams{LocationID: "L", Status: "completed"}, 5},
		"created from": {store.ListParams{CreatedFrom: at(5), CreatedBefore: at(7)}, 6},
		"amount":       {store.ListParams{AmountMin: amount(500), AmountMax: amount(1000)}, 6},
		"email":        {store.ListParams{Search: "C7@example.com"}, 1},
		"name":         {store.ListParams{Search: "customer 1"}, 11}, // 1, 10-19
		"id":           {store.ListParams{Search: "o03"}, 2},
		"wildcard":     {store.ListParams{Search: "%"}, 0},
		"payment":      {store.ListParams{PaymentStatus: rankr.PaymentPaid}, 0},
	} {
		c.p.Limit = 1000
		got, err := s.OrderList(ctx, c.p)
		if err != nil || len(got) != c.want {
			t.Errorf("%s: %d orders (%v), want %d", name, len(got), err, c.want)
		}
	}
	// The fulfillment queue: paid, not fulfilled in full, oldest first.
	paid := order("L", "q1", at(200), "completed")
	paid.CreatedAt = at(150)
	upsertOrders(t, s, "L", false, paid)
	upsertTxns(t, s, "L", txn("L", "tq1", "q1", paid.Amount, 0, "succeeded", at(201)))
	shipped := order("L", "q2", at(200), "completed")
	shipped.CreatedAt, shipped.FulfillmentStatus = at(140), "fulfilled"
	upsertOrders(t, s, "L", false, shipped)
	upsertTxns(t, s, "L", txn("L", "tq2", "q2", shipped.Amount, 0, "succeeded", at(201)))
	// Of two paid orders synced with their items, only the one with a
	// physical item waits to be shipped: GHL never fulfills the other.
	item := func(typ string) []rankr.OrderItem {
		return []rankr.OrderItem{{ID: "i" + typ, Name: typ, Qty: 1, PriceID: "p" + typ, ProductID: "pr" + typ, ProductType: typ,
			UnitAmount: 1000, Currency: "USD"}}
	}
	boxed, ebook := order("L", "q3", at(200), "completed"), order("L", "q4", at(200), "completed")
	boxed.CreatedAt, boxed.Items = at(160), item("PHYSICAL")
	ebook.CreatedAt, ebook.Items = at(170), item("DIGITAL")
	upsertOrders(t, s, "L", true, boxed, ebook)
	upsertTxns(t, s, "L", txn("L", "tq3", "q3", boxed.Amount, 0, "succeeded", at(201)), txn("L", "tq4", "q4", ebook.Amount, 0, "succeeded", at(201)))
	queue, err := s.OrderList(ctx, store.ListParams{ToFulfill: true, Oldest: true})
	if err != nil || fmt.Sprint(ids(queue)) != "[q1 q3]" {
		t.Fatalf("queue %v, %v; want q1 (items not synced) and q3 (a physical item)", ids(queue), err)
	}
	// Transactions page the same way.
	for i := range 7 {
		upsertTxns(t, s, "N", txn("N", fmt.Sprintf("t%d", i), "o00", 10, 0, "succeeded", at(i/2).Add(time.Duration(0))))
	}
	var seen []string
	p := store.ListParams{LocationID: "N", Limit: 2}
	for {
		page, err := s.TransactionList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page {
			seen = append(seen, x.ID)
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		p.After = store.ListKey{CreatedAt: last.CreatedAt, LocationID: last.LocationID, ID: last.ID}
	}
	if len(seen) != 7 || !slices.Equal(seen, []string{"t6", "t5", "t4", "t3", "t2", "t1", "t0"}) {
		t.Fatalf("transactions %v", seen)
	}
	// The feed of some records, and of some locations.
	evs, err := s.EventList(ctx, store.EventListParams{LocationID: "L", RecordIDs: []string{"q1", "tq1"}})
	if err != nil || len(evs) < 2 {
		t.Fatalf("events of q1 and its payment: %v, %v", evs, err)
	}
	for _, e := range evs {
		if e.RecordID != "q1" && e.RecordID != "tq1" || e.LocationID != "L" {
			t.Fatalf("event of %s/%s", e.LocationID, e.RecordID)
		}
	}
	if evs, _ := s.EventList(ctx, store.EventListParams{Locations: []string{}}); len(evs) != 0 {
		t.Fatalf("no locations: %d events", len(evs))
	}
	evs, _ = s.EventList(ctx, store.EventListParams{Locations: []string{"M"}, Limit: 1000})
	if len(evs) != 10 {
		t.Fatalf("location M: %d events, want 10", len(evs))
	}
}
