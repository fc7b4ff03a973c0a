package storetest

import (
	"cmp"
	"maps"
	"slices"
	"testing"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// testGauges: the metrics' counts follow the outboxes and the open
// exceptions as they change, and an empty store counts nothing.
func testGauges(t *testing.T, s store.Store) {
	g, err := s.Gauges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Pushes)+len(g.Notices)+len(g.Deliveries)+len(g.OpenExceptions) != 0 {
		t.Fatalf("an empty store counts %+v", g)
	}

	shippable(t, s, "L", "o1")
	shippable(t, s, "L", "o2")
	newPush(t, s, rankr.FulfillmentPush{ID: "fp1", LocationID: "L", OrderID: "o1", Trackings: tracked("1Z1")})
	newPush(t, s, rankr.FulfillmentPush{ID: "fp2", LocationID: "L", OrderID: "o2", Trackings: tracked("1Z2")})
	for _, k := range []string{"f1", "f2", "f3"} {
		if _, err := s.NoticeCreate(ctx, notice(k)); err != nil {
			t.Fatal(err)
		}
	}
	addEndpoint(t, s, "all", "", "*")
	upsertOrders(t, s, "L", false, order("L", "o3", at(2), "pending"))
	_, deliveries := fanOutAll(t, s, 100)
	if deliveries == 0 {
		t.Fatal("the fan-out made no delivery")
	}
	under := finding(rankr.ExceptionUnderpaid, rankr.RecordOrder, "o1", 600)
	late := finding(rankr.ExceptionPaidUnfulfilled, rankr.RecordOrder, "o1", 1000)
	other := finding(rankr.ExceptionUnderpaid, rankr.RecordOrder, "o9", 100)
	apply(t, s, store.ReconcileApplyParams{Now: at(3), Results: []rankr.ReconcileResult{
		{Ref: rankr.RecordRef{LocationID: "L", Type: rankr.RecordOrder, ID: "o1"}, Findings: []rankr.Finding{under, late}},
		{Ref: rankr.RecordRef{LocationID: "M", Type: rankr.RecordOrder, ID: "o9"}, Findings: []rankr.Finding{other}},
	}})

	g, err = s.Gauges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{string(rankr.PushPending): 2}; !maps.Equal(g.Pushes, want) {
		t.Errorf("pushes %v, want %v", g.Pushes, want)
	}
	if want := map[string]int{string(rankr.NoticePending): 3}; !maps.Equal(g.Notices, want) {
		t.Errorf("notices %v, want %v", g.Notices, want)
	}
	if want := map[string]int{string(rankr.DeliveryPending): deliveries}; !maps.Equal(g.Deliveries, want) {
		t.Errorf("deliveries %v, want %v", g.Deliveries, want)
	}
	want := []store.ExceptionCount{{LocationID: "L", Kind: rankr.ExceptionPaidUnfulfilled, Open: 1},
		{LocationID: "L", Kind: rankr.ExceptionUnderpaid, Open: 1}, {LocationID: "M", Kind: rankr.ExceptionUnderpaid, Open: 1}}
	slices.SortFunc(want, func(a, b store.ExceptionCount) int {
		return cmp.Or(cmp.Compare(a.LocationID, b.LocationID), cmp.Compare(a.Kind, b.Kind))
	})
	if !slices.Equal(g.OpenExceptions, want) {
		t.Errorf("open exceptions %v, want %v", g.OpenExceptions, want)
	}
	if alone, err := s.OpenExceptionCounts(ctx); err != nil || !slices.Equal(alone, want) {
		t.Errorf("open exceptions counted alone: %v, %v; want %v", alone, err, want)
	}

	// Resolved, an exception is no longer counted.
	apply(t, s, store.ReconcileApplyParams{Now: at(4), Results: []rankr.ReconcileResult{
		{Ref: rankr.RecordRef{LocationID: "M", Type: rankr.RecordOrder, ID: "o9"}},
	}})
	if g, err = s.Gauges(ctx); err != nil {
		t.Fatal(err)
	}
	if len(g.OpenExceptions) != 2 || slices.ContainsFunc(g.OpenExceptions, func(c store.ExceptionCount) bool { return c.LocationID == "M" }) {
		t.Errorf("after M's was resolved: %v", g.OpenExceptions)
	}
}
