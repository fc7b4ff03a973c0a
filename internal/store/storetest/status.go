package storetest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// testRankrStatus follows an order through its life, changed by order
// versions and by payments in turn: every change of its Rankr status shows
// in exactly one event's changes, and reads agree with the events.
func testRankrStatus(t *testing.T, s store.Store) {
	const loc = "L"
	o := order(loc, "o1", at(1), "pending") // amount 1000, unfulfilled
	upsertOrders(t, s, loc, false, o)
	steps := []struct {
		apply func()
		want  string
	}{
		{func() { upsertTxns(t, s, loc, txn(loc, "t1", "o1", 400, 0, "succeeded", at(2))) }, rankr.StatusPartiallyPaid},
		{func() { upsertTxns(t, s, loc, txn(loc, "t2", "o1", 600, 0, "succeeded", at(3))) }, rankr.StatusPaid},
		{func() {
			o.Status, o.UpdatedAt = "completed", at(4)
			upsertOrders(t, s, loc, false, o)
		}, rankr.StatusPaid}, // no change: no rankrStatus in the event
		{func() {
			o.FulfillmentStatus, o.UpdatedAt = "partially_fulfilled", at(5)
			upsertOrders(t, s, loc, false, o)
		}, rankr.StatusPartiallyFulfilled},
		{func() {
			o.FulfillmentStatus, o.UpdatedAt = "fulfilled", at(6)
			upsertOrders(t, s, loc, false, o)
		}, rankr.StatusFulfilled},
		{func() { upsertTxns(t, s, loc, txn(loc, "t2", "o1", 600, 600, "refunded", at(7))) }, rankr.StatusPartiallyRefunded},
		{func() { upsertTxns(t, s, loc, txn(loc, "t1", "o1", 400, 400, "refunded", at(8))) }, rankr.StatusRefunded},
	}
	trail := []string{rankr.StatusAwaitingPayment}
	for i, st := range steps {
		st.apply()
		if got := getOrder(t, s, loc, "o1").RankrStatus; got != st.want {
			t.Fatalf("step %d: Rankr status %s, want %s", i, got, st.want)
		}
		if trail[len(trail)-1] != st.want {
			trail = append(trail, st.want)
		}
	}

	// Replay the feed: the creation event gives the first status, and each
	// change after it moves from the previous one.
	var got []string
	for _, e := range Events(t, s, loc) {
		if e.RecordType != rankr.RecordOrder {
			continue
		}
		var d struct {
			RankrStatus string                        `json:"rankrStatus"`
			Changes     map[string][2]json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if e.Kind == rankr.OrderCreated {
			got = append(got, d.RankrStatus)
			continue
		}
		c, ok := d.Changes["rankrStatus"]
		if !ok {
			continue
		}
		var from, to string
		if json.Unmarshal(c[0], &from) != nil || json.Unmarshal(c[1], &to) != nil {
			t.Fatalf("event %s: rankrStatus change %s", e.Kind, c)
		}
		if from != got[len(got)-1] {
			t.Fatalf("event %s moves from %s, but the order was %s", e.Kind, from, got[len(got)-1])
		}
		got = append(got, to)
	}
	if !slices.Equal(got, trail) {
		t.Fatalf("Rankr statuses in the feed %v, want %v", got, trail)
	}
	list, err := s.OrderList(ctx, store.ListParams{LocationID: loc})
	if err != nil || len(list) != 1 || list[0].RankrStatus != rankr.StatusRefunded {
		t.Fatalf("listed: %+v, %v", list, err)
	}
}
