package storetest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

func marketplaceTests() map[string]func(*testing.T, store.Store) {
	return map[string]func(*testing.T, store.Store){
		"MarketplaceSubscriptions": testMarketplaceSubscriptions,
		"MarketplaceDeliveries":    testMarketplaceDeliveries,
		"MarketplaceActionCalls":   testMarketplaceActionCalls,
	}
}

func mpSub(id, loc string, from int64) store.MarketplaceTriggerSaveParams {
	return store.MarketplaceTriggerSaveParams{TriggerID: id, LocationID: loc, WorkflowID: "wf1", CompanyID: "co1",
		Key: "derived_order_paid", CatalogKey: rankr.TriggerOrderPaid, Version: "1.0",
		Filters: json.RawMessage(`[{"field":"country","value":"USA"}]`), TargetURL: "https://services.leadconnectorhq.com/workflows-marketplace/triggers/execute/app/" + id,
		FromSeq: from}
}

func mpAudit(action, id string) *rankr.AuditEntry {
	return &rankr.AuditEntry{At: time.Now(), Actor: rankr.AuditActor{Type: "ghl", ID: "wf1"}, Action: action,
		Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "marketplace_trigger", ID: id, LocationID: "L1"}}
}

// A CREATED repeated is one subscription and one audit record; UPDATED
// changes it; DELETED deactivates it, and a CREATED after starts it
// afresh from the feed's end then. Another location may not take a
// trigger id over.
func testMarketplaceSubscriptions(t *testing.T, s store.Store) {
	p := mpSub("T1", "L1", 7)
	p.Audit = mpAudit("marketplace.trigger_subscribed", "T1")
	// Two at once: one row, one audit record.
	var wg sync.WaitGroup
	changes := make(chan bool, 2)
	for range 2 {
		wg.Go(func() {
			_, changed, err := s.MarketplaceTriggerSave(ctx, p)
			if err != nil {
				t.Error(err)
			}
			changes <- changed
		})
	}
	wg.Wait()
	close(changes)
	n := 0
	for c := range changes {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("two identical CREATED changed the subscription %d times, want 1", n)
	}
	got, err := s.MarketplaceTriggerGet(ctx, "T1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Active || got.FromSeq != 7 || got.CatalogKey != rankr.TriggerOrderPaid || got.LocationID != "L1" ||
		string(got.Filters) != `[{"field":"country","value":"USA"}]` {
		t.Fatalf("saved %+v", got)
	}
	recs, err := s.AuditList(ctx, store.AuditListParams{Action: "marketplace.trigger_subscribed"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit records %d (%v), want 1", len(recs), err)
	}

	p.Version, p.FromSeq = "2.0", 9
	if got, changed, err := s.MarketplaceTriggerSave(ctx, p); err != nil || !changed || got.Version != "2.0" || got.FromSeq != 7 {
		t.Fatalf("UPDATED: %+v changed %v err %v (FromSeq kept while active)", got, changed, err)
	}
	other := mpSub("T1", "L2", 0)
	if _, _, err := s.MarketplaceTriggerSave(ctx, other); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("another location's CREATED of T1: %v, want ErrConflict", err)
	}

	if got, changed, err := s.MarketplaceTriggerDeactivate(ctx, "T1", "deleted", mpAudit("marketplace.trigger_unsubscribed", "T1")); err != nil || !changed || got.Active {
		t.Fatalf("deactivate: %+v %v %v", got, changed, err)
	}
	if _, changed, err := s.MarketplaceTriggerDeactivate(ctx, "T1", "deleted", nil); err != nil || changed {
		t.Fatalf("deactivate twice: changed %v err %v", changed, err)
	}
	if _, _, err := s.MarketplaceTriggerDeactivate(ctx, "nope", "", nil); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("deactivating none: %v", err)
	}
	if act, err := s.MarketplaceTriggersActive(ctx); err != nil || len(act) != 0 {
		t.Fatalf("active after DELETED: %v %v", act, err)
	}
	p.FromSeq = 12
	if got, changed, err := s.MarketplaceTriggerSave(ctx, p); err != nil || !changed || !got.Active || got.FromSeq != 12 || got.Reason != "" {
		t.Fatalf("CREATED again: %+v %v %v", got, changed, err)
	}
	if _, _, err := s.MarketplaceTriggerSave(ctx, store.MarketplaceTriggerSaveParams{TriggerID: "T9"}); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("saving nothing: %v", err)
	}
}

// A delivery is recorded once per subscription and event; claims share
// them out and lease them; a retry is due later; a subscription made
// inactive takes its pending deliveries with it.
func testMarketplaceDeliveries(t *testing.T, s store.Store) {
	for _, id := range []string{"T1", "T2"} {
		if _, _, err := s.MarketplaceTriggerSave(ctx, mpSub(id, "L1", 0)); err != nil {
			t.Fatal(err)
		}
	}
	d := func(trigger string, seq int64) rankr.MarketplaceDelivery {
		return rankr.MarketplaceDelivery{TriggerID: trigger, EventSeq: seq, LocationID: "L1", TriggerKey: rankr.TriggerOrderPaid,
			Payload: json.RawMessage(`{"order":{"id":"o1"}}`)}
	}
	n, err := s.MarketplaceDeliveriesRecord(ctx, []rankr.MarketplaceDelivery{d("T1", 1), d("T1", 2), d("T2", 1)})
	if err != nil || n != 3 {
		t.Fatalf("recorded %d (%v), want 3", n, err)
	}
	if n, err = s.MarketplaceDeliveriesRecord(ctx, []rankr.MarketplaceDelivery{d("T1", 1), d("T1", 2), d("T2", 1), d("T2", 2)}); err != nil || n != 1 {
		t.Fatalf("recorded again %d (%v), want only the new one", n, err)
	}
	// Two claimers take different deliveries.
	a, err := s.MarketplaceDeliveryClaim(ctx, 2, time.Minute)
	if err != nil || len(a) != 2 {
		t.Fatalf("claim: %d %v", len(a), err)
	}
	b, err := s.MarketplaceDeliveryClaim(ctx, 10, time.Minute)
	if err != nil || len(b) != 2 {
		t.Fatalf("second claim: %d %v", len(b), err)
	}
	seen := map[int64]bool{}
	for _, x := range append(a, b...) {
		if seen[x.ID] {
			t.Fatalf("delivery %d claimed twice", x.ID)
		}
		seen[x.ID] = true
		if x.Attempts != 1 || x.TargetURL == "" || x.Lease == "" || string(x.Payload) != `{"order":{"id":"o1"}}` {
			t.Fatalf("claimed %+v", x)
		}
	}
	if more, _ := s.MarketplaceDeliveryClaim(ctx, 10, time.Minute); len(more) != 0 {
		t.Fatalf("leased deliveries claimed again: %d", len(more))
	}
	first := a[0]
	if err := s.MarketplaceDeliveryFinish(ctx, store.MarketplaceDeliveryFinishParams{ID: first.ID, Lease: "stale", State: rankr.MarketplaceDelivered}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("finishing with another lease: %v", err)
	}
	if err := s.MarketplaceDeliveryFinish(ctx, store.MarketplaceDeliveryFinishParams{ID: first.ID, Lease: first.Lease, State: rankr.MarketplaceDelivered, Status: 200}); err != nil {
		t.Fatal(err)
	}
	second := a[1]
	if err := s.MarketplaceDeliveryFinish(ctx, store.MarketplaceDeliveryFinishParams{ID: second.ID, Lease: second.Lease,
		State: rankr.MarketplacePending, Status: 429, Error: "rate limited", Retry: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if more, _ := s.MarketplaceDeliveryClaim(ctx, 10, time.Minute); len(more) != 0 {
		t.Fatalf("a retry due in an hour claimed now: %d", len(more))
	}
	// b's leases finish as retries due at once; then T2 goes inactive.
	for _, x := range b {
		if err := s.MarketplaceDeliveryFinish(ctx, store.MarketplaceDeliveryFinishParams{ID: x.ID, Lease: x.Lease, State: rankr.MarketplacePending}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.MarketplaceTriggerDeactivate(ctx, "T2", "inactive", nil); err != nil {
		t.Fatal(err)
	}
	c, err := s.MarketplaceDeliveryClaim(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range c {
		if x.TriggerID != "T1" {
			t.Fatalf("claimed a delivery of the inactive T2: %+v", x)
		}
	}
	t2, err := s.MarketplaceDeliveries(ctx, "T2")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range t2 {
		if x.State != rankr.MarketplaceDeactivated {
			t.Fatalf("T2's delivery %d is %s, want deactivated", x.ID, x.State)
		}
	}
	t1, _ := s.MarketplaceDeliveries(ctx, "T1")
	if len(t1) != 2 || t1[0].State != rankr.MarketplaceDelivered || t1[0].Status != 200 || t1[1].LastError != "rate limited" {
		t.Fatalf("T1's deliveries: %+v", t1)
	}
	if _, err := s.MarketplaceDeliveriesRecord(ctx, []rankr.MarketplaceDelivery{{TriggerID: "T1"}}); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("recording an empty delivery: %v", err)
	}
}

// A call claimed once: a repeat gets the running claim, then the answer;
// a released call is claimed afresh; an answer older than its TTL is not
// repeated.
func testMarketplaceActionCalls(t *testing.T, s store.Store) {
	p := store.MarketplaceActionClaimParams{Hash: "h1", LocationID: "L1", WorkflowID: "wf1", ActionKey: "rankr.order.get",
		TTL: time.Hour, Lease: time.Minute}
	if _, claimed, err := s.MarketplaceActionClaim(ctx, p); err != nil || !claimed {
		t.Fatalf("first claim: %v %v", claimed, err)
	}
	if c, claimed, err := s.MarketplaceActionClaim(ctx, p); err != nil || claimed || c.Done {
		t.Fatalf("repeat while running: %+v %v %v", c, claimed, err)
	}
	if err := s.MarketplaceActionFinish(ctx, "h1", 200, []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	c, claimed, err := s.MarketplaceActionClaim(ctx, p)
	if err != nil || claimed || !c.Done || c.Status != 200 || string(c.Body) != `{"ok":true}` {
		t.Fatalf("repeat after: %+v %v %v", c, claimed, err)
	}
	p2 := p
	p2.Hash = "h2"
	if _, claimed, _ := s.MarketplaceActionClaim(ctx, p2); !claimed {
		t.Fatal("h2 not claimed")
	}
	if err := s.MarketplaceActionRelease(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	if _, claimed, _ := s.MarketplaceActionClaim(ctx, p2); !claimed {
		t.Fatal("a released call is not claimed again")
	}
	// A TTL shorter than the answer's age: the call runs afresh.
	time.Sleep(5 * time.Millisecond)
	p.TTL = time.Millisecond
	if _, claimed, err := s.MarketplaceActionClaim(ctx, p); err != nil || !claimed {
		t.Fatalf("claim past the TTL: %v %v", claimed, err)
	}
	n, err := s.MarketplaceActionPrune(ctx, time.Now().Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
}
