package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
)

// Pruning takes every old processed webhook, slice after slice, and keeps
// the recent and the unprocessed ones.
func TestPruneInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	var evs []rankr.InboxEvent
	for i := range 5100 {
		evs = append(evs, rankr.InboxEvent{WebhookID: fmt.Sprintf("w%05d", i), Type: "OrderCreate", LocationID: "L", Body: []byte(`{}`)})
	}
	seqs, err := st.InboxAppend(ctx, store.InboxAppendParams{Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mark := func(seqs []int64, at time.Time) {
		done := make([]store.InboxOutcome, len(seqs))
		for i, seq := range seqs {
			done[i] = store.InboxOutcome{Seq: seq, Outcome: "ok"}
		}
		if err := st.InboxDone(ctx, done, at); err != nil {
			t.Fatal(err)
		}
	}
	mark(seqs[:5000], now.Add(-8*24*time.Hour)) // more than two slices
	mark(seqs[5000:5050], now.Add(-time.Hour))
	n, err := pruneInbox(ctx, st, now.Add(-7*24*time.Hour))
	if err != nil || n != 5000 {
		t.Fatalf("pruned %d, %v; want the 5,000 processed 8 days ago", n, err)
	}
	if again, _ := pruneInbox(ctx, st, now.Add(-7*24*time.Hour)); again != 0 {
		t.Fatalf("a second pruning took %d more", again)
	}
	if pending, _ := st.InboxPending(ctx); pending != 50 {
		t.Fatalf("%d unprocessed webhooks left, want 50", pending)
	}
}

// The prune job also takes the outbound deliveries that ended longer ago
// than their retention, and leaves those still under way.
func TestPruneJobTakesEndedDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	if _, err := st.WebhookEndpointCreate(ctx, store.WebhookEndpointCreateParams{ID: "e1", URL: "https://hooks.example/e1",
		Secret: []byte("sealed"), Events: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-40 * 24 * time.Hour).UTC().Truncate(time.Millisecond)
	for i := range 3 {
		o := rankr.Order{ID: fmt.Sprintf("o%d", i), LocationID: "L", Amount: 100, Currency: "USD", Status: "pending",
			FulfillmentStatus: "unfulfilled", CreatedAt: at, UpdatedAt: at}
		if _, err := st.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: "L", Orders: []store.OrderVersion{{Order: o}}, Now: at}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.WebhookFanOut(ctx, store.WebhookFanOutParams{Limit: 100}); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.WebhookDeliveryClaim(ctx, store.WebhookDeliveryClaimParams{Limit: 2, Lease: time.Minute, Now: at})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	d := claimed[0].Delivery
	if err := st.WebhookDeliveryFinish(ctx, store.WebhookDeliveryFinishParams{ID: d.ID, Claim: d.Claim, State: rankr.DeliveryDelivered,
		Status: 200, Now: at}); err != nil {
		t.Fatal(err)
	}
	w := &pruneWorker{st: st, deliveries: 30 * 24 * time.Hour, log: slog.New(slog.DiscardHandler)}
	if err := w.Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	left, err := st.WebhookDeliveryList(ctx, store.WebhookDeliveryListParams{Limit: 10})
	if err != nil || len(left) != 2 {
		t.Fatalf("%d deliveries left (%v), want the one sending and the one pending", len(left), err)
	}
	for _, l := range left {
		if l.ID == d.ID {
			t.Fatalf("the delivery that ended 40 days ago is still there")
		}
	}
}

// The prune job takes the automation runs that ended longer ago than their
// retention, with their steps, and leaves the queued ones.
func TestPruneJobTakesEndedRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	if _, _, err := st.AutomationSave(ctx, store.AutomationSaveParams{ID: "a", Enabled: true, TriggerKey: rankr.TriggerOrderPaid,
		Source: "a", Definition: []byte(`{}`), Checksum: "a"}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"manual:1", "manual:2"} {
		if _, _, err := st.AutomationRunCreate(ctx, store.RunCreateParams{AutomationID: "a", EventID: ev, LocationID: "L"}); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := st.AutomationRunClaim(ctx, store.RunClaimParams{Limit: 1, Lease: time.Minute})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	if err := st.AutomationRunFinish(ctx, store.RunFinishParams{ID: claimed[0].ID, Lease: claimed[0].Lease, Status: rankr.RunSkipped}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	w := &pruneWorker{st: st, runs: 10 * time.Millisecond, log: slog.New(slog.DiscardHandler)}
	if err := w.Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	left, err := st.AutomationRunList(ctx, store.RunListParams{AutomationID: "a"})
	if err != nil || len(left) != 1 || left[0].Status != rankr.RunQueued {
		t.Fatalf("left %+v (%v), want the queued run only", left, err)
	}
}
