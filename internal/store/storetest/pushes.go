package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// shippable stores an order with its items (by default withDetail's: two
// of the physical p1 and one digital p2) for pushes to ship.
func shippable(t *testing.T, s store.Store, loc, id string, items ...rankr.OrderItem) {
	t.Helper()
	o := withDetail(order(loc, id, at(1), "completed"))
	if len(items) > 0 {
		o.Items = items
	}
	upsertOrders(t, s, loc, true, o)
}

// newPush records a push of an order stored with shippable.
func newPush(t *testing.T, s store.Store, p rankr.FulfillmentPush) rankr.FulfillmentPush {
	t.Helper()
	got, created, err := s.PushCreate(ctx, p)
	if err != nil || !created {
		t.Fatalf("recording push %s: created %v, %v", p.ID, created, err)
	}
	return got
}

func tracked(number string) []rankr.Tracking {
	return []rankr.Tracking{{Number: number, Carrier: "UPS"}}
}

// claimAfterLease claims a push once the lease it is held under has run
// out by the database's clock.
func claimAfterLease(t *testing.T, s store.Store, id string, lease time.Duration) rankr.FulfillmentPush {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.PushClaim(ctx, store.PushClaimParams{ID: id, Lease: lease})
		if err == nil {
			return got
		}
		if !errors.Is(err, rankr.ErrConflict) || time.Now().After(deadline) {
			t.Fatalf("claiming push %s after its lease: %v", id, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testPushFencing: an attempt whose lease ran out, and whose push another
// attempt took, can no longer record how it ended; the newer one can, once.
func testPushFencing(t *testing.T, s store.Store) {
	shippable(t, s, "L", "o1")
	newPush(t, s, rankr.FulfillmentPush{ID: "fp1", LocationID: "L", OrderID: "o1", Trackings: tracked("1Z1")})
	if err := s.PushFinish(ctx, store.PushFinishParams{ID: "fp1", State: rankr.PushDone, FulfillmentID: "f0"}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("an unclaimed push was finished: %v", err)
	}
	const lease = 100 * time.Millisecond
	a, err := s.PushClaim(ctx, store.PushClaimParams{ID: "fp1", Lease: lease})
	if err != nil || a.Claim == "" {
		t.Fatalf("claim %+v, %v", a, err)
	}
	b := claimAfterLease(t, s, "fp1", time.Minute)
	if b.Claim == a.Claim || b.Attempts != 2 {
		t.Fatalf("second claim %+v after %+v", b, a)
	}
	// The first attempt comes back late, with a result.
	for _, state := range []rankr.PushState{rankr.PushDone, rankr.PushUnknown, rankr.PushPending, rankr.PushFailed} {
		err := s.PushFinish(ctx, store.PushFinishParams{ID: "fp1", Claim: a.Claim, State: state, FulfillmentID: "f1", Error: "late"})
		if !errors.Is(err, rankr.ErrConflict) {
			t.Fatalf("a stale attempt recorded %s: %v", state, err)
		}
	}
	if got, _ := s.PushGet(ctx, "fp1"); got.State != rankr.PushPushing || got.FulfillmentID != "" || got.LastError != "" || got.Claim != b.Claim {
		t.Fatalf("a stale attempt changed the push: %+v", got)
	}
	if err := s.PushFinish(ctx, store.PushFinishParams{ID: "fp1", Claim: b.Claim, State: rankr.PushDone, FulfillmentID: "f2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PushFinish(ctx, store.PushFinishParams{ID: "fp1", Claim: b.Claim, State: rankr.PushUnknown}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("an attempt finished twice: %v", err)
	}
	if got, _ := s.PushGet(ctx, "fp1"); got.State != rankr.PushDone || got.FulfillmentID != "f2" || got.Claim != "" {
		t.Fatalf("push %+v", got)
	}
	pushed := 0
	for _, e := range Events(t, s, "L") {
		if e.Kind == rankr.FulfillmentPushed {
			pushed++
		}
	}
	if pushed != 1 {
		t.Fatalf("%d %s events", pushed, rankr.FulfillmentPushed)
	}
}

// testPushClockSkew: leases and due times are the database's, so a
// process whose clock is an hour ahead cannot take a push another holds,
// and one whose clock is an hour behind is not kept from a due one.
func testPushClockSkew(t *testing.T, s store.Store) {
	for _, skew := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			id, o := fmt.Sprintf("fp%d", skew/time.Hour), fmt.Sprintf("o%d", skew/time.Hour)
			skewed := func() time.Time { return time.Now().Add(skew) }
			shippable(t, s, "L", o)
			// Recorded by the skewed process: due now all the same.
			newPush(t, s, rankr.FulfillmentPush{ID: id, LocationID: "L", OrderID: o, Trackings: tracked("1Z" + o), CreatedAt: skewed()})
			first, err := s.PushClaim(ctx, store.PushClaimParams{ID: id, Now: skewed(), Lease: time.Minute})
			if err != nil {
				t.Fatalf("a skewed process could not take a free push: %v", err)
			}
			if err := s.PushFinish(ctx, store.PushFinishParams{ID: id, Claim: first.Claim, State: rankr.PushUnknown, Now: skewed()}); err != nil {
				t.Fatal(err)
			}
			// Held by a process whose clock is right: the skewed one
			// cannot take it.
			held, err := s.PushClaim(ctx, store.PushClaimParams{ID: id, Now: time.Now(), Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.PushClaim(ctx, store.PushClaimParams{ID: id, Now: skewed(), Lease: time.Minute}); !errors.Is(err, rankr.ErrConflict) {
				t.Fatalf("a skewed process took a held push: %v", err)
			}
			due, err := s.PushesDue(ctx, 10)
			if err != nil || len(due) != 0 {
				t.Fatalf("due while held: %v, %v", due, err)
			}
			// Retry at once: due by the database's clock, whoever asks.
			if err := s.PushFinish(ctx, store.PushFinishParams{ID: id, Claim: held.Claim, State: rankr.PushPending, Now: skewed()}); err != nil {
				t.Fatal(err)
			}
			if due, err := s.PushesDue(ctx, 10); err != nil || !slices.Contains(due, id) {
				t.Fatalf("not due after a retry at once: %v, %v", due, err)
			}
			again, err := s.PushClaim(ctx, store.PushClaimParams{ID: id, Now: skewed(), Lease: time.Minute})
			if err != nil {
				t.Fatalf("a skewed process could not take a due push: %v", err)
			}
			// Back off for an hour: not due, even to a clock two hours ahead.
			if err := s.PushFinish(ctx, store.PushFinishParams{ID: id, Claim: again.Claim, State: rankr.PushPending, RetryIn: time.Hour,
				Now: skewed()}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PushClaim(ctx, store.PushClaimParams{ID: id, Now: time.Now().Add(2 * time.Hour), Lease: time.Minute}); !errors.Is(err, rankr.ErrConflict) {
				t.Fatalf("a push was taken before its next attempt: %v", err)
			}
			if due, _ := s.PushesDue(ctx, 10); len(due) != 0 {
				t.Fatalf("due before its next attempt: %v", due)
			}
		})
	}
}

// testPushCreateAtomic: requests racing for the same items of one order
// never commit more than is left to ship, on either database.
func testPushCreateAtomic(t *testing.T, s store.Store) {
	shippable(t, s, "L", "o1",
		rankr.OrderItem{ID: "i1", Name: "Tee", Qty: 5, PriceID: "p1", ProductType: "PHYSICAL", Currency: "USD"},
		rankr.OrderItem{ID: "i2", Name: "Mug", Qty: 3, PriceID: "p2", ProductType: "PHYSICAL", Currency: "USD"})
	// One tee is shipped already.
	f := fulfillment("L", "f1", "o1", at(2))
	if _, err := s.FulfillmentSync(ctx, store.FulfillmentSyncParams{LocationID: "L", OrderID: "o1", OrderUpdatedAt: at(1),
		Fulfillments: []rankr.Fulfillment{f}}); err != nil {
		t.Fatal(err)
	}
	asks := [][]rankr.PushItem{
		{{PriceID: "p1", Qty: 1}}, {{PriceID: "p1", Qty: 2}}, {{PriceID: "p1", Qty: 1}, {PriceID: "p2", Qty: 1}},
		{{PriceID: "p2", Qty: 2}}, nil, // nil: everything left
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, created, err := s.PushCreate(ctx, rankr.FulfillmentPush{ID: fmt.Sprintf("fp%02d", i), LocationID: "L", OrderID: "o1",
				Trackings: tracked(fmt.Sprintf("1Z%02d", i)), Items: asks[i%len(asks)]})
			switch {
			case err == nil && !created:
				err = fmt.Errorf("push %d: answered with an existing push", i)
			case errors.Is(err, rankr.ErrConflict):
				if !strings.Contains(err.Error(), "left to ship") {
					err = fmt.Errorf("push %d refused without saying why: %w", i, err)
				} else {
					err = nil
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	pushes, err := s.PushList(ctx, store.ListParams{LocationID: "L", OrderID: "o1", Limit: 100})
	if err != nil || len(pushes) == 0 {
		t.Fatalf("pushes %v, %v", pushes, err)
	}
	committed := map[string]int64{}
	for _, p := range pushes {
		for _, it := range p.Items {
			committed[it.PriceID] += it.Qty
		}
	}
	if committed["p1"] > 4 || committed["p2"] > 3 {
		t.Fatalf("%d pushes commit %v, while 4 of p1 and 3 of p2 were left to ship", len(pushes), committed)
	}
	t.Logf("%d of %d racing pushes recorded, committing %v", len(pushes), n, committed)
}

// testPushRepeated: a request repeating a push (same tracking numbers,
// same items, or no items named) is answered with it; the same tracking
// numbers for other items are refused, saying why; a failed push does not
// count.
func testPushRepeated(t *testing.T, s store.Store) {
	shippable(t, s, "L", "o1",
		rankr.OrderItem{ID: "i1", Name: "Tee", Qty: 5, PriceID: "p1", ProductType: "PHYSICAL", Currency: "USD"})
	two := []rankr.Tracking{{Number: "1ZA", Carrier: "UPS"}, {Number: "1ZB", Carrier: "UPS"}}
	first := newPush(t, s, rankr.FulfillmentPush{ID: "fp1", LocationID: "L", OrderID: "o1", Trackings: two,
		Items: []rankr.PushItem{{PriceID: "p1", Qty: 2}}})
	for name, again := range map[string]rankr.FulfillmentPush{
		"same":             {Trackings: two, Items: []rankr.PushItem{{PriceID: "p1", Qty: 2}}},
		"reordered, split": {Trackings: []rankr.Tracking{two[1], two[0]}, Items: []rankr.PushItem{{PriceID: "p1", Qty: 1}, {PriceID: "p1", Qty: 1}}},
		"no items named":   {Trackings: two},
	} {
		again.ID, again.LocationID, again.OrderID = "fp-"+name, "L", "o1"
		got, created, err := s.PushCreate(ctx, again)
		if err != nil || created || got.ID != first.ID {
			t.Fatalf("%s: %+v, created %v, %v", name, got, created, err)
		}
	}
	_, _, err := s.PushCreate(ctx, rankr.FulfillmentPush{ID: "fp2", LocationID: "L", OrderID: "o1", Trackings: two,
		Items: []rankr.PushItem{{PriceID: "p1", Qty: 1}}})
	if !errors.Is(err, rankr.ErrConflict) || !strings.Contains(err.Error(), "fp1") {
		t.Fatalf("the same tracking for other items: %v", err)
	}
	if list, _ := s.PushList(ctx, store.ListParams{LocationID: "L"}); len(list) != 1 {
		t.Fatalf("%d pushes", len(list))
	}
	// GHL refused it: asking again makes a new push.
	claimed, err := s.PushClaim(ctx, store.PushClaimParams{ID: "fp1", Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PushFinish(ctx, store.PushFinishParams{ID: "fp1", Claim: claimed.Claim, State: rankr.PushFailed, Error: "refused"}); err != nil {
		t.Fatal(err)
	}
	newPush(t, s, rankr.FulfillmentPush{ID: "fp3", LocationID: "L", OrderID: "o1", Trackings: two, Items: []rankr.PushItem{{PriceID: "p1", Qty: 5}}})
	// Unknown orders and orders whose items are not synced are refused.
	if _, _, err := s.PushCreate(ctx, rankr.FulfillmentPush{ID: "fp4", LocationID: "L", OrderID: "nope", Trackings: tracked("1ZC")}); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("an unknown order: %v", err)
	}
	upsertOrders(t, s, "L", false, order("L", "o2", at(1), "completed"))
	if _, _, err := s.PushCreate(ctx, rankr.FulfillmentPush{ID: "fp5", LocationID: "L", OrderID: "o2", Trackings: tracked("1ZD")}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("an order without its items: %v", err)
	}
}
