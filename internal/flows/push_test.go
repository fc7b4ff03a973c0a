package flows_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/vault"
)

type rig struct {
	sb     *sandbox.Server
	st     store.Store
	sync   *syncer.Syncer
	pusher *flows.Pusher
	loc    string
}

func newRig(t *testing.T, open storetest.Opener) *rig {
	t.Helper()
	sb, st, s, loc := backfilled(t, open, sandbox.Config{Seed: 71, Orders: 150},
		ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}),
		ghl.WithAttemptTimeout(300*time.Millisecond))
	pusher := flows.NewPusher(st, s, nil)
	flows.NoBackoff(pusher)
	return &rig{sb: sb, st: st, sync: s, pusher: pusher, loc: loc}
}

// backfilled starts a sandbox (its rate limit lifted), connects its first
// location to a store from open, and backfills it with a syncer whose GHL
// clients take opts.
func backfilled(t *testing.T, open storetest.Opener, cfg sandbox.Config, opts ...ghl.Option) (*sandbox.Server, store.Store, *syncer.Syncer, string) {
	t.Helper()
	cfg.RateLimit = sandbox.RateLimit{Burst: 1_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { ts.Close(); sb.Close() })
	st := open(t)
	t.Cleanup(func() { st.Close() })
	key, _ := vault.ParseKey(vault.NewKey())
	v, _ := vault.New(key)
	loc := sb.Locations()[0]
	sealed, _ := v.Seal([]byte(loc.Token), syncer.CredentialContext(loc.ID))
	ctx := context.Background()
	if _, err := st.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: loc.ID, BaseURL: ts.URL, Credential: sealed}); err != nil {
		t.Fatal(err)
	}
	s := syncer.New(st, syncer.NewClients(st, v, nil, opts...), syncer.Options{})
	for done := false; !done; {
		if done, err = s.Backfill(ctx, loc.ID); err != nil {
			t.Fatal(err)
		}
	}
	return sb, st, s, loc.ID
}

// faultFulfillments makes the sandbox's CreateFulfillment fail in every way
// it can, before and after committing.
func (r *rig) faultFulfillments(t *testing.T) {
	t.Helper()
	if err := r.sb.SetFaults(sandbox.Faults{Only: []string{"CreateFulfillment"}, ErrorRate: 0.15, ErrorAfterRate: 0.2,
		DropRate: 0.1, DropAfterRate: 0.15, StallAfterRate: 0.1, Stall: sandbox.Duration(time.Second), Rate429: 0.1}); err != nil {
		t.Fatal(err)
	}
}

// request asks for one fulfillment of each order, tracked as TRK-000,
// TRK-001...
func (r *rig) request(t *testing.T, orders []rankr.Order) []rankr.FulfillmentPush {
	t.Helper()
	var pushes []rankr.FulfillmentPush
	for i, o := range orders {
		p, _, err := r.pusher.Request(context.Background(), flows.Request{LocationID: r.loc, OrderID: o.ID, NotifyCustomer: true,
			Trackings: []rankr.Tracking{{Number: fmt.Sprintf("TRK-%03d", i), Carrier: "UPS"}}})
		if err != nil {
			t.Fatal(err)
		}
		pushes = append(pushes, p)
	}
	return pushes
}

// pushAll attempts every push until all are done, as serve's loop would,
// calling between after each round.
func (r *rig) pushAll(t *testing.T, pushes []rankr.FulfillmentPush, between func()) {
	t.Helper()
	ctx := context.Background()
	for round := 0; ; round++ {
		if round > 300 {
			t.Fatal("pushes never finished")
		}
		pending := 0
		for _, p := range pushes {
			if _, err := r.pusher.Push(ctx, p.ID); err != nil && !errors.Is(err, rankr.ErrConflict) {
				t.Fatal(err)
			}
			got, _ := r.st.PushGet(ctx, p.ID)
			if got.State == rankr.PushFailed {
				t.Fatalf("push %s failed: %s", p.ID, got.LastError)
			}
			if got.State != rankr.PushDone {
				pending++
			}
		}
		if between != nil {
			between()
		}
		if pending == 0 {
			return
		}
	}
}

// inGHL counts, per tracking number, the fulfillments and the customer
// notices GHL holds, after checking that the faults that make outcomes
// unknown were injected.
func (r *rig) inGHL(t *testing.T) (fulfillments, notices map[string]int) {
	t.Helper()
	if f := r.sb.Stats().Faults; f["5xx-after"] == 0 || f["drop-after"] == 0 {
		t.Fatalf("the faults that make outcomes unknown were not injected: %v", f)
	}
	truth, _ := r.sb.Truth(r.loc)
	fulfillments, notices = map[string]int{}, map[string]int{}
	for _, o := range truth.Locations[0].Orders {
		for _, fl := range o.Fulfillments {
			for _, tr := range fl.Trackings {
				fulfillments[tr.TrackingNumber]++
			}
		}
	}
	for _, n := range truth.Locations[0].Notices {
		for _, tr := range n.Trackings {
			notices[tr]++
		}
	}
	return fulfillments, notices
}

// shippable returns orders with physical items left to ship, as the store
// holds them.
func (r *rig) shippable(t *testing.T, n int) []rankr.Order {
	t.Helper()
	ctx := context.Background()
	orders, err := r.st.OrderList(ctx, store.ListParams{LocationID: r.loc, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []rankr.Order
	for _, o := range orders {
		if o.PaymentStatus != rankr.PaymentPaid || o.FulfillmentStatus != "unfulfilled" {
			continue
		}
		full, _ := r.st.OrderGet(ctx, r.loc, o.ID)
		for _, it := range full.Items {
			if it.ProductType == "PHYSICAL" {
				out = append(out, full)
				break
			}
		}
		if len(out) == n {
			return out
		}
	}
	t.Fatalf("only %d shippable orders", len(out))
	return nil
}

// TestPushesLandExactlyOnce pushes fulfillments while GHL fails in every
// way a push can: before doing anything, after committing, by dropping the
// connection, by timing out, by throttling. Each push ends done with exactly
// one fulfillment in GHL and exactly one customer notice.
func TestPushesLandExactlyOnce(t *testing.T) {
	t.Parallel()
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, open)
			ctx := context.Background()
			orders := r.shippable(t, 12)
			r.faultFulfillments(t)
			pushes := r.request(t, orders)
			r.pushAll(t, pushes, nil)
			perTracking, notices := r.inGHL(t)
			for i := range pushes {
				tr := fmt.Sprintf("TRK-%03d", i)
				if perTracking[tr] != 1 || notices[tr] != 1 {
					t.Errorf("push %d: %d fulfillments and %d customer notices in GHL, want exactly 1 each", i, perTracking[tr], notices[tr])
				}
				got, _ := r.st.PushGet(ctx, pushes[i].ID)
				if got.FulfillmentID == "" {
					t.Errorf("push %d done without GHL's fulfillment id", i)
				}
			}
		})
	}
}

func TestRequestChecksTheOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t, storetest.OpenSQLite)
	ctx := context.Background()
	o := r.shippable(t, 1)[0]
	tr := []rankr.Tracking{{Number: "TRK-1", Carrier: "DHL"}}
	var physical rankr.OrderItem
	for _, it := range o.Items {
		if it.ProductType == "PHYSICAL" {
			physical = it
		}
	}
	cases := map[string]flows.Request{
		"no tracking":   {OrderID: o.ID},
		"unknown order": {OrderID: "nope", Trackings: tr},
		"unknown price": {OrderID: o.ID, Trackings: tr, Items: []rankr.PushItem{{PriceID: "nope", Qty: 1}}},
		"too many":      {OrderID: o.ID, Trackings: tr, Items: []rankr.PushItem{{PriceID: physical.PriceID, Qty: physical.Qty + 1}}},
	}
	for name, req := range cases {
		if _, _, err := r.pusher.Request(ctx, req); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Everything left, then nothing more: the pending push counts.
	first, created, err := r.pusher.Request(ctx, flows.Request{OrderID: o.ID, Trackings: tr})
	if err != nil || !created {
		t.Fatalf("created %v, %v", created, err)
	}
	if _, _, err := r.pusher.Request(ctx, flows.Request{OrderID: o.ID, Trackings: []rankr.Tracking{{Number: "TRK-2", Carrier: "DHL"}}}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a second push of the same items: %v", err)
	}
	// The same request again is answered with the push it made.
	again, created, err := r.pusher.Request(ctx, flows.Request{OrderID: o.ID, Trackings: tr})
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("a repeated request: %+v, created %v, %v", again, created, err)
	}
}

// TestAttemptEndsInsideItsLease: however long the GHL client would retry a
// refused push (here: for ever longer than the lease), an attempt ends
// inside its lease, so that no other pusher takes the push while it runs,
// and its end is recorded.
func TestAttemptEndsInsideItsLease(t *testing.T) {
	t.Parallel()
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb, st, s, loc := backfilled(t, open, sandbox.Config{Seed: 71, Orders: 150},
				ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 12, BaseDelay: 200 * time.Millisecond, MaxDelay: 200 * time.Millisecond}))
			r := &rig{sb: sb, st: st, sync: s, loc: loc}
			a, b := flows.NewPusher(st, s, nil), flows.NewPusher(st, s, nil)
			a.Lease, b.Lease = 2*time.Second, 2*time.Second
			r.pusher = a
			push := r.request(t, r.shippable(t, 1))[0]
			if err := r.sb.SetFaults(sandbox.Faults{Only: []string{"CreateFulfillment"}, Rate429: 1}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				// Another pusher tries all along, once the first holds the
				// push.
				defer close(done)
				for ctx.Err() == nil {
					if got, _ := st.PushGet(ctx, push.ID); got.State == rankr.PushPushing {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				for ctx.Err() == nil {
					_, _ = b.Push(ctx, push.ID)
					time.Sleep(20 * time.Millisecond)
				}
			}()
			_, err := a.Push(context.Background(), push.ID)
			cancel()
			<-done
			if err != nil {
				t.Fatalf("the attempt could not record its end: %v", err)
			}
			got, _ := st.PushGet(context.Background(), push.ID)
			if got.Attempts != 1 || got.State != rankr.PushPending || !strings.Contains(got.LastError, "deadline") {
				t.Fatalf("after the attempt: %d attempts, %s: %s", got.Attempts, got.State, got.LastError)
			}
		})
	}
}
