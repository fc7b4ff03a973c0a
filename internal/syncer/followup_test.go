package syncer_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/syncer/synctest"
)

// TestWebhookOrdersFollowUpPerLocation applies a burst of order webhooks
// (new orders, some paid, paid later, refunded, shipped and refunded) and
// the payment of an order far older than polling reaches. Their payments
// follow up as one pass over the transactions list for the location,
// paging back to a little before the oldest new order, plus one call for
// the old order;
// fulfillments follow up once per order whose status says so. After the
// follow-ups, every payment is as in GHL.
func TestWebhookOrdersFollowUpPerLocation(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		const pageSize = 50 // the burst fills several pages
		e := newEnv(t, open, sandbox.Config{Seed: 36, Orders: 80}, syncer.Options{PageSize: pageSize, PollWindow: 48 * time.Hour})
		e.backfillAll(t)
		ctx := context.Background()

		// An order older than half the poll window, still to be paid.
		var old string
		for _, ot := range e.truth(t).Locations[0].Orders {
			if ot.Item.Status == ghl.OrderPending && ot.Item.CreatedAt.Before(time.Now().Add(-48*time.Hour)) {
				old = ot.Item.ID
			}
		}
		if old == "" {
			t.Fatal("the sandbox has no old pending order")
		}

		changes, err := e.sb.Step(150, e.loc, "order.created")
		if err != nil || len(changes) != 150 {
			t.Fatalf("%d orders: %v", len(changes), err)
		}
		burst := make([]string, len(changes))
		for i, c := range changes {
			burst[i] = c.RecordID
		}
		lt := e.truth(t).Locations[0]
		var unpaid, paid []string
		txnOf := map[string]string{}
		for _, xt := range lt.Transactions {
			txnOf[xt.Item.EntityID] = xt.Item.ID
		}
		for _, ot := range lt.Orders {
			if !slices.Contains(burst, ot.Item.ID) {
				continue
			}
			if txnOf[ot.Item.ID] == "" {
				unpaid = append(unpaid, ot.Item.ID)
			} else {
				paid = append(paid, ot.Item.ID)
			}
		}
		for _, id := range unpaid[:15] {
			e.pay(t, id)
		}
		// Shipped, then refunded in part: the refund's webhook carries the
		// new fulfillment status.
		var shipped []string
		for _, id := range paid {
			if len(shipped) < 5 && e.sb.FulfillOrder(e.loc, id) == nil {
				shipped = append(shipped, id)
			}
		}
		for _, id := range append(slices.Clone(shipped), paid[len(paid)-10:]...) {
			if err := e.sb.Refund(e.loc, txnOf[id], 1); err != nil {
				t.Fatal(err)
			}
		}
		if len(shipped) == 0 {
			t.Fatal("no order of the burst could be shipped")
		}
		e.pay(t, old)

		// The webhooks the sandbox would have sent, as the intake stores
		// them.
		var evs []rankr.InboxEvent
		for _, del := range e.sb.Deliveries() {
			evs = append(evs, rankr.InboxEvent{WebhookID: del.WebhookID, Type: del.Type, LocationID: del.LocationID, Body: del.Body})
		}
		applied, follow, err := e.s.ApplyWebhooks(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range applied {
			if a.Err != nil || strings.HasPrefix(a.Outcome, "ignored") {
				t.Fatalf("webhook %d (%s): %q, %v", i, evs[i].Type, a.Outcome, a.Err)
			}
		}

		lt = e.truth(t).Locations[0]
		var oldest time.Time
		for _, ot := range lt.Orders {
			if slices.Contains(burst, ot.Item.ID) && (oldest.IsZero() || ot.Item.CreatedAt.Before(oldest)) {
				oldest = ot.Item.CreatedAt.Time
			}
		}
		var passes []syncer.FollowUp
		var fulfil, single []string
		for _, f := range follow {
			switch {
			case f.LocationID != e.loc:
				t.Fatalf("follow-up for another location: %+v", f)
			case f.Kind == syncer.RefreshPayments:
				passes = append(passes, f)
			case f.Kind == syncer.RefreshOrderFulfillments:
				fulfil = append(fulfil, f.ID)
			case f.Kind == syncer.RefreshOrderTransactions:
				single = append(single, f.ID)
			default:
				t.Fatalf("unexpected follow-up %+v", f)
			}
		}
		// One pass per FollowUpWindow the burst changed in: one, or two
		// when it straddles windows; the first reaches back to a little
		// before the oldest new order.
		if len(passes) == 0 || len(passes) > 2 || !passes[0].Since.Before(oldest) || passes[0].Since.Before(oldest.Add(-time.Minute)) {
			t.Fatalf("payments passes %+v, want one or two, from a little before the oldest new order (%s)", passes, oldest)
		}
		if !slices.Equal(single, []string{old}) {
			t.Fatalf("per-order payment refreshes %v, want only the old order %s", single, old)
		}
		slices.Sort(fulfil)
		slices.Sort(shipped)
		if !slices.Equal(fulfil, shipped) {
			t.Fatalf("fulfillment refreshes %v, want once for each shipped order %v", fulfil, shipped)
		}

		// Each pass pages back to its start and no further.
		pages := 0
		for _, p := range passes {
			window := 0
			for _, xt := range lt.Transactions {
				if !xt.Item.CreatedAt.Before(p.Since) {
					window++
				}
			}
			pages += (window + pageSize - 1) / pageSize
		}
		before := e.sb.Stats().Requests[e.loc]
		for _, f := range follow {
			if err := e.s.FollowUp(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		after := e.sb.Stats().Requests[e.loc]
		lists := after["ListTransactions 200"] - before["ListTransactions 200"]
		if lists < pages || lists > pages+2 {
			t.Fatalf("%d transaction lists for %d pages of the passes' windows and one old order", lists, pages)
		}
		if n := after["ListFulfillments 200"] - before["ListFulfillments 200"]; n != len(shipped) {
			t.Fatalf("%d fulfillment lists for %d shipped orders", n, len(shipped))
		}
		if diff := synctest.PaymentsDiff(t, e.st, lt, append(burst, old)); len(diff) > 0 {
			t.Fatalf("payments after the follow-ups:\n%s", strings.Join(diff, "\n"))
		}
	})
}

// TestSlowDeliveryStillOnePaymentsPass applies the webhooks of 200 orders
// made at once as GHL delivers a burst: slowly, in batches, each stamped
// when it was sent, over 30 s. The follow-ups are keyed by when the orders
// changed, not when their webhooks were sent, so the whole burst makes one
// payments job (two when the changes straddle a window), not one per
// FollowUpWindow its delivery spans.
func TestSlowDeliveryStillOnePaymentsPass(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 37, Orders: 20}, syncer.Options{PollWindow: 48 * time.Hour})
		e.backfillAll(t)
		ctx := context.Background()
		if _, err := e.sb.Step(200, e.loc, "order.created"); err != nil {
			t.Fatal(err)
		}
		dels := e.sb.Deliveries()
		sent := time.Now().Add(time.Second)
		passes := map[jobs.PaymentsArgs]bool{}
		for start := 0; start < len(dels); start += 25 {
			var evs []rankr.InboxEvent
			for _, del := range dels[start:min(start+25, len(dels))] {
				at := sent.Add(time.Duration(len(evs)+start) * 30 * time.Second / time.Duration(len(dels)))
				evs = append(evs, rankr.InboxEvent{WebhookID: del.WebhookID, Type: del.Type, LocationID: del.LocationID,
					Body: del.Body, EventAt: at, ReceivedAt: at.Add(50 * time.Millisecond)})
			}
			_, follow, err := e.s.ApplyWebhooks(ctx, evs)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range jobs.FollowUps(follow, time.Now()) {
				if a, ok := p.Args.(jobs.PaymentsArgs); ok {
					passes[a] = true
				}
			}
		}
		if len(passes) == 0 || len(passes) > 2 {
			t.Fatalf("%d payments jobs for one burst delivered over 30 s, want 1 or 2: %v", len(passes), passes)
		}
	})
}

// pay pays an order's balance in full.
func (e *env) pay(t *testing.T, orderID string) {
	t.Helper()
	lt := e.truth(t).Locations[0]
	var due int64
	for _, ot := range lt.Orders {
		if ot.Item.ID == orderID {
			v, err := ot.Detail.Amount.Scaled(2)
			if err != nil {
				t.Fatal(err)
			}
			due = v
		}
	}
	for _, xt := range lt.Transactions {
		if xt.Item.EntityID == orderID && xt.Item.Status == ghl.TxnSucceeded {
			v, _ := xt.Item.Amount.Scaled(2)
			due -= v
		}
	}
	if due <= 0 {
		t.Fatalf("order %s has nothing due", orderID)
	}
	if _, err := e.sb.PayOrder(e.loc, orderID, due); err != nil {
		t.Fatal(err)
	}
}
