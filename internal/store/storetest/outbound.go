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

func addEndpoint(t *testing.T, s store.Store, id, loc string, patterns ...string) rankr.WebhookEndpoint {
	t.Helper()
	e, err := s.WebhookEndpointCreate(ctx, store.WebhookEndpointCreateParams{ID: id, URL: "https://hooks.example/" + id,
		Secret: []byte("sealed-" + id), Events: patterns, LocationID: loc})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// fanOutAll runs the fan-out in steps of n until it has caught up.
func fanOutAll(t *testing.T, s store.Store, n int) (events, deliveries int) {
	t.Helper()
	for {
		res, err := s.WebhookFanOut(ctx, store.WebhookFanOutParams{Limit: n})
		if err != nil {
			t.Fatal(err)
		}
		events, deliveries = events+res.Events, deliveries+res.Deliveries
		if !res.More {
			return events, deliveries
		}
	}
}

func deliveries(t *testing.T, s store.Store, p store.WebhookDeliveryListParams) []rankr.WebhookDelivery {
	t.Helper()
	p.Limit = 1000
	list, err := s.WebhookDeliveryList(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// deliveredKinds lists "endpoint kind record" for every delivery, sorted.
func deliveredKinds(t *testing.T, s store.Store) []string {
	t.Helper()
	var out []string
	for _, d := range deliveries(t, s, store.WebhookDeliveryListParams{}) {
		out = append(out, d.EndpointID+" "+d.Kind+" "+d.LocationID)
	}
	slices.Sort(out)
	return out
}

func testWebhookEndpoints(t *testing.T, s store.Store) {
	for _, p := range []store.WebhookEndpointCreateParams{
		{URL: "https://x", Secret: []byte("s"), Events: []string{"*"}},
		{ID: "e", Secret: []byte("s"), Events: []string{"*"}},
		{ID: "e", URL: "https://x", Events: []string{"*"}},
		{ID: "e", URL: "https://x", Secret: []byte("s")},
		{ID: "e", URL: "https://x", Secret: []byte("s"), Events: []string{"order.["}},
		{ID: "e", URL: "https://x", Secret: []byte("s"), Events: []string{""}},
	} {
		if _, err := s.WebhookEndpointCreate(ctx, p); !errors.Is(err, rankr.ErrInvalid) {
			t.Errorf("endpoint %+v: %v, want invalid", p, err)
		}
	}
	upsertOrders(t, s, "L", false, order("L", "o1", at(1), "pending"))
	e := addEndpoint(t, s, "e1", "L", "order.*", "fulfillment.created")
	if e.AfterSeq != 1 || !e.Enabled || string(e.Secret) != "sealed-e1" || !slices.Equal(e.Events, []string{"order.*", "fulfillment.created"}) {
		t.Fatalf("created %+v", e)
	}
	if _, err := s.WebhookEndpointCreate(ctx, store.WebhookEndpointCreateParams{ID: "e1", URL: "https://x", Secret: []byte("s"),
		Events: []string{"*"}}); err == nil {
		t.Fatal("the same endpoint id was added twice")
	}
	addEndpoint(t, s, "e2", "", "*")
	off := false
	if e, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e1", Enabled: &off}); err != nil || e.Enabled {
		t.Fatalf("disable: %+v, %v", e, err)
	}
	if e, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e2", Remove: true}); err != nil || e.RemovedAt.IsZero() || e.Enabled {
		t.Fatalf("remove: %+v, %v", e, err)
	}
	on := true
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e2", Enabled: &on}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a removed endpoint was enabled: %v", err)
	}
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "nope", Enabled: &on}); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing endpoint: %v", err)
	}
	list, err := s.WebhookEndpointList(ctx, store.WebhookEndpointListParams{})
	if err != nil || len(list) != 1 || list[0].ID != "e1" {
		t.Fatalf("list %+v, %v", list, err)
	}
	if all, _ := s.WebhookEndpointList(ctx, store.WebhookEndpointListParams{Removed: true}); len(all) != 2 {
		t.Fatalf("list with removed: %+v", all)
	}
	if _, err := s.WebhookEndpointGet(ctx, "nope"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
}

func testWebhookFanOut(t *testing.T, s store.Store) {
	// With no endpoint, the fan-out has nothing to do.
	upsertOrders(t, s, "L", false, order("L", "o0", at(0), "pending"))
	if res, err := s.WebhookFanOut(ctx, store.WebhookFanOutParams{}); err != nil || res.Deliveries != 0 || res.Events != 0 {
		t.Fatalf("fan-out with no endpoint: %+v, %v", res, err)
	}
	// Events before an endpoint was added are not its business.
	upsertOrders(t, s, "L", false, order("L", "o1", at(1), "pending"))
	addEndpoint(t, s, "orders", "", "order.*")
	addEndpoint(t, s, "local", "L", "*")
	addEndpoint(t, s, "ships", "", "fulfillment.*")
	addEndpoint(t, s, "off", "", "*")
	off := false
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "off", Enabled: &off}); err != nil {
		t.Fatal(err)
	}

	o2 := order("L", "o2", at(2), "pending")
	upsertOrders(t, s, "L", false, o2)
	upsertOrders(t, s, "L2", false, order("L2", "o3", at(2), "pending"))
	o2.Status, o2.UpdatedAt = "completed", at(3)
	upsertOrders(t, s, "L", false, o2)
	upsertTxns(t, s, "L2", txn("L2", "t1", "", 500, 0, "succeeded", at(3)))
	if _, err := s.FulfillmentSync(ctx, store.FulfillmentSyncParams{LocationID: "L", OrderID: "o2", OrderUpdatedAt: at(3),
		Fulfillments: []rankr.Fulfillment{fulfillment("L", "f1", "o2", at(3))}}); err != nil {
		t.Fatal(err)
	}
	if _, d := fanOutAll(t, s, 2); d != 7 {
		t.Fatalf("%d deliveries queued, want 7", d)
	}
	want := []string{
		"local fulfillment.created L", "local order.created L", "local order.status_changed L",
		"orders order.created L", "orders order.created L2", "orders order.status_changed L",
		"ships fulfillment.created L",
	}
	if got := deliveredKinds(t, s); !slices.Equal(got, want) {
		t.Fatalf("deliveries\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, d := range deliveries(t, s, store.WebhookDeliveryListParams{}) {
		if !strings.HasPrefix(d.ID, "msg_") || len(d.ID) != 30 || d.State != rankr.DeliveryPending || d.Attempts != 0 || d.Payload != nil {
			t.Fatalf("queued %+v", d)
		}
	}
	// Caught up: nothing more, nothing twice.
	if res, err := s.WebhookFanOut(ctx, store.WebhookFanOutParams{}); err != nil || res.Events != 0 || res.Deliveries != 0 {
		t.Fatalf("fan-out again: %+v, %v", res, err)
	}

	// Concurrent fan-outs (several processes) queue each delivery once, and
	// between them read each event once.
	for i := range 60 {
		upsertOrders(t, s, "L", false, order("L", fmt.Sprintf("c%02d", i), at(10), "pending"))
	}
	var mu sync.Mutex
	events, queued := 0, 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				res, err := s.WebhookFanOut(ctx, store.WebhookFanOutParams{Limit: 3})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				events, queued = events+res.Events, queued+res.Deliveries
				mu.Unlock()
				if !res.More {
					return
				}
			}
		})
	}
	wg.Wait()
	if events != 60 || queued != 120 {
		t.Fatalf("concurrent fan-outs read %d events and queued %d deliveries, want 60 and 120", events, queued)
	}
	if n := len(deliveries(t, s, store.WebhookDeliveryListParams{})); n != 127 {
		t.Fatalf("%d deliveries, want 127", n)
	}

	// An endpoint enabled again gets what happens from then on, not what
	// happened while it was disabled.
	on := true
	if e, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "off", Enabled: &on}); err != nil || !e.Enabled {
		t.Fatalf("enable: %+v, %v", e, err)
	}
	upsertOrders(t, s, "L2", false, order("L2", "late", at(20), "pending"))
	fanOutAll(t, s, 100)
	if got := deliveries(t, s, store.WebhookDeliveryListParams{EndpointID: "off"}); len(got) != 1 || got[0].Kind != rankr.OrderCreated || got[0].LocationID != "L2" {
		t.Fatalf("the endpoint enabled again got %+v", got)
	}
}

func testWebhookDeliveries(t *testing.T, s store.Store) {
	addEndpoint(t, s, "e1", "", "*")
	for i := range 3 {
		upsertOrders(t, s, "L", false, order("L", fmt.Sprintf("o%d", i), at(i), "pending"))
	}
	fanOutAll(t, s, 100)
	now := time.Now().UTC().Truncate(time.Millisecond)
	// Now is the record time of the attempts (LastAttemptAt).
	claim := func(lease time.Duration, n int) []store.ClaimedDelivery {
		t.Helper()
		got, err := s.WebhookDeliveryClaim(ctx, store.WebhookDeliveryClaimParams{Limit: n, Lease: lease, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := claim(time.Minute, 2)
	if len(first) != 2 {
		t.Fatalf("claimed %d, want 2", len(first))
	}
	for _, c := range first {
		d, ev := c.Delivery, c.Event
		if d.State != rankr.DeliverySending || d.Attempts != 1 || d.Claim == "" || ev.Seq != d.EventSeq || ev.Kind != rankr.OrderCreated ||
			ev.RecordID == "" || len(ev.Data) == 0 || !d.LastAttemptAt.Equal(now) {
			t.Fatalf("claimed %+v", c)
		}
	}
	third := claim(100*time.Millisecond, 10) // a lease short enough to run out
	if len(third) != 1 || slices.ContainsFunc(first, func(c store.ClaimedDelivery) bool { return c.Delivery.ID == third[0].Delivery.ID }) {
		t.Fatalf("second claim %+v", third)
	}
	d1, d2, d3 := first[0].Delivery, first[1].Delivery, third[0].Delivery
	claimWhen := func(what string) []store.ClaimedDelivery {
		t.Helper()
		var got []store.ClaimedDelivery
		eventually(t, what, func() bool {
			got = claim(time.Minute, 10)
			return len(got) > 0
		})
		return got
	}

	// The body is fixed once, by the claim that holds the delivery.
	set := func(claim string, payloads map[string]string) map[string]string {
		t.Helper()
		in := map[string][]byte{}
		for id, p := range payloads {
			in[id] = []byte(p)
		}
		got, err := s.WebhookDeliverySetPayloads(ctx, claim, in)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for id, p := range got {
			out[id] = string(p)
		}
		return out
	}
	if got := set(d1.Claim, map[string]string{d1.ID: `{"a":1}`, d2.ID: `{"b":1}`}); len(got) != 2 || got[d1.ID] != `{"a":1}` || got[d2.ID] != `{"b":1}` {
		t.Fatalf("set payloads: %v", got)
	}
	if got := set(d1.Claim, map[string]string{d1.ID: `{"a":2}`}); got[d1.ID] != `{"a":1}` {
		t.Fatalf("payload replaced: %v", got)
	}
	if got := set("not-the-claim", map[string]string{d3.ID: `{}`}); len(got) != 0 {
		t.Fatalf("payload set by another claim: %v", got)
	}
	if got, _ := s.WebhookDeliveryGet(ctx, d3.ID); got.Payload != nil {
		t.Fatalf("payload set by another claim: %s", got.Payload)
	}

	finish := func(d rankr.WebhookDelivery, claim string, p store.WebhookDeliveryFinishParams) error {
		p.ID, p.Claim = d.ID, claim
		return s.WebhookDeliveryFinish(ctx, p)
	}
	if err := finish(d1, d1.Claim, store.WebhookDeliveryFinishParams{State: rankr.DeliveryDelivered, Status: 204, Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := finish(d1, d1.Claim, store.WebhookDeliveryFinishParams{State: rankr.DeliveryDelivered, Status: 204, Now: now}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("an attempt finished twice: %v", err)
	}
	if got, _ := s.WebhookDeliveryGet(ctx, d1.ID); got.State != rankr.DeliveryDelivered || !got.DeliveredAt.Equal(now) ||
		got.LastStatus != 204 || got.Claim != "" || string(got.Payload) != `{"a":1}` {
		t.Fatalf("delivered %+v", got)
	}

	// A dispatcher that dies leaves its delivery sending; after the lease it
	// is due again (while the others' leases still run), and the old claim
	// can no longer finish it.
	stolen := claimWhen("d3's lease ran out")
	if len(stolen) != 1 || stolen[0].Delivery.ID != d3.ID || stolen[0].Delivery.Attempts != 2 {
		t.Fatalf("after the lease: %+v", stolen)
	}
	if err := finish(d3, d3.Claim, store.WebhookDeliveryFinishParams{State: rankr.DeliveryDelivered, Now: now}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a stale claim finished the delivery: %v", err)
	}
	if err := finish(d3, stolen[0].Delivery.Claim, store.WebhookDeliveryFinishParams{State: rankr.DeliveryDelivered, Status: 200, Now: now}); err != nil {
		t.Fatal(err)
	}

	// A failed attempt is retried once its wait is over, by the database's
	// clock.
	const wait = 100 * time.Millisecond
	before := dbNow(t, s)
	if err := finish(d2, d2.Claim, store.WebhookDeliveryFinishParams{State: rankr.DeliveryPending, Status: 503, Response: "busy",
		Error: "answered 503", RetryIn: wait, Now: now}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.WebhookDeliveryGet(ctx, d2.ID); got.NextAttemptAt.Before(before.Add(wait)) || got.NextAttemptAt.After(dbNow(t, s).Add(wait)) {
		t.Fatalf("due again at %v, want %v after the database's clock at the finish (%v)", got.NextAttemptAt, wait, before)
	}
	retry := claimWhen("d2's wait is over")
	if len(retry) != 1 || retry[0].Delivery.ID != d2.ID || retry[0].Delivery.Attempts != 2 || retry[0].Delivery.LastStatus != 503 ||
		retry[0].Delivery.LastResponse != "busy" || retry[0].Delivery.Claim == d2.Claim {
		t.Fatalf("retry %+v", retry)
	}
	d2 = retry[0].Delivery

	// Dead letters go to the feed, and never to endpoints.
	if err := finish(d2, d2.Claim, store.WebhookDeliveryFinishParams{State: rankr.DeliveryDead, Status: 500, Error: "answered 500", Now: now}); err != nil {
		t.Fatal(err)
	}
	evs := Events(t, s, "L")
	last := evs[len(evs)-1]
	if last.Kind != rankr.WebhookDeadLettered || last.RecordType != rankr.RecordWebhookDelivery || last.RecordID != d2.ID ||
		!strings.Contains(string(last.Data), `"endpointId":"e1"`) {
		t.Fatalf("dead-letter event %+v", last)
	}
	if _, n := fanOutAll(t, s, 100); n != 0 {
		t.Fatalf("a dead letter was queued for delivery (%d)", n)
	}
	if dead := deliveries(t, s, store.WebhookDeliveryListParams{State: rankr.DeliveryDead}); len(dead) != 1 || dead[0].ID != d2.ID {
		t.Fatalf("dead %+v", dead)
	}

	// Replay: dead (or delivered) deliveries are queued again, same id.
	if _, err := s.WebhookDeliveryReplay(ctx, store.WebhookDeliveryReplayParams{}); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("replay of everything unasked: %v", err)
	}
	if n, err := s.WebhookDeliveryReplay(ctx, store.WebhookDeliveryReplayParams{State: rankr.DeliveryDead, Now: now}); err != nil || n != 1 {
		t.Fatalf("replay dead: %d, %v", n, err)
	}
	if n, _ := s.WebhookDeliveryReplay(ctx, store.WebhookDeliveryReplayParams{State: rankr.DeliveryDead, Now: now}); n != 0 {
		t.Fatalf("a pending delivery was replayed: %d", n)
	}
	replayed := claim(time.Minute, 10)
	if len(replayed) != 1 || replayed[0].Delivery.ID != d2.ID || replayed[0].Delivery.Attempts != 1 || replayed[0].Delivery.Replays != 1 {
		t.Fatalf("replayed %+v", replayed)
	}
	if n, _ := s.WebhookDeliveryReplay(ctx, store.WebhookDeliveryReplayParams{IDs: []string{d2.ID}, Now: now}); n != 0 {
		t.Fatalf("a sending delivery was replayed: %d", n)
	}
	if n, err := s.WebhookDeliveryReplay(ctx, store.WebhookDeliveryReplayParams{IDs: []string{d1.ID, "msg_nope"}, Now: now}); err != nil || n != 1 {
		t.Fatalf("replay by id: %d, %v", n, err)
	}
	if n, _ := s.WebhookDeliveryReplay(ctx, store.WebhookDeliveryReplayParams{EndpointID: "e1", Since: now.Add(time.Hour), Now: now}); n != 0 {
		t.Fatalf("replayed deliveries older than --since: %d", n)
	}
	if got, _ := s.WebhookDeliveryGet(ctx, d1.ID); got.State != rankr.DeliveryPending || got.Attempts != 0 || string(got.Payload) != `{"a":1}` {
		t.Fatalf("replayed by id %+v", got)
	}

	// A disabled endpoint's deliveries wait.
	off := false
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e1", Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if got := claim(time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed for a disabled endpoint: %+v", got)
	}
	if list := deliveries(t, s, store.WebhookDeliveryListParams{EndpointID: "e1", State: rankr.DeliveryPending}); len(list) != 1 || list[0].ID != d1.ID {
		t.Fatalf("pending %+v", list)
	}
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e1", Remove: true}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.WebhookDeliveryReplay(ctx, store.WebhookDeliveryReplayParams{EndpointID: "e1", Now: now}); n != 0 {
		t.Fatalf("replayed %d deliveries of a removed endpoint", n)
	}
	if _, err := s.WebhookDeliveryGet(ctx, "msg_nope"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing delivery: %v", err)
	}
}

func testWebhookClaimersShare(t *testing.T, s store.Store) {
	addEndpoint(t, s, "e1", "", "order.*")
	addEndpoint(t, s, "e2", "", "order.*")
	var orders []rankr.Order
	for i := range 100 {
		orders = append(orders, order("L", fmt.Sprintf("o%03d", i), at(1), "pending"))
	}
	upsertOrders(t, s, "L", false, orders...)
	if _, n := fanOutAll(t, s, 1000); n != 200 {
		t.Fatalf("%d deliveries queued, want 200", n)
	}
	claimedOnce(t, "delivery", 200, func() ([]string, error) {
		got, err := s.WebhookDeliveryClaim(ctx, store.WebhookDeliveryClaimParams{Limit: 7, Lease: time.Hour})
		ids := make([]string, len(got))
		for i, c := range got {
			ids[i] = c.Delivery.ID
		}
		return ids, err
	})
}

// testWebhookDeliveryPrune: only deliveries that ended (delivered or dead)
// before the cutoff go, oldest first, a slice at a time; pending and
// sending ones stay whatever their age.
func testWebhookDeliveryPrune(t *testing.T, s store.Store) {
	addEndpoint(t, s, "e1", "", "*")
	for i := range 4 {
		upsertOrders(t, s, "L", false, order("L", fmt.Sprintf("o%d", i), at(i), "pending"))
	}
	fanOutAll(t, s, 100)
	old := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Millisecond)
	claimed, err := s.WebhookDeliveryClaim(ctx, store.WebhookDeliveryClaimParams{Limit: 3, Lease: time.Minute, Now: old})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	// Two end long ago (one delivered, one dead); the third is still
	// being sent; the fourth was never claimed.
	for i, state := range []rankr.DeliveryState{rankr.DeliveryDelivered, rankr.DeliveryDead} {
		d := claimed[i].Delivery
		if err := s.WebhookDeliveryFinish(ctx, store.WebhookDeliveryFinishParams{ID: d.ID, Claim: d.Claim, State: state, Status: 200,
			Now: old.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.WebhookDeliveryPrune(ctx, store.WebhookDeliveryPruneParams{}); err == nil {
		t.Error("a pruning without a cutoff was done")
	}
	if n, err := s.WebhookDeliveryPrune(ctx, store.WebhookDeliveryPruneParams{Before: old.Add(-time.Hour)}); err != nil || n != 0 {
		t.Fatalf("pruned %d before they ended, %v", n, err)
	}
	n, err := s.WebhookDeliveryPrune(ctx, store.WebhookDeliveryPruneParams{Before: time.Now(), Limit: 1})
	if err != nil || n != 1 {
		t.Fatalf("pruned %d of one slice, %v", n, err)
	}
	if _, err := s.WebhookDeliveryGet(ctx, claimed[0].Delivery.ID); !errors.Is(err, rankr.ErrNotFound) {
		t.Errorf("the oldest ended delivery is still there: %v", err)
	}
	if n, err := s.WebhookDeliveryPrune(ctx, store.WebhookDeliveryPruneParams{Before: time.Now()}); err != nil || n != 1 {
		t.Fatalf("pruned %d of the rest, %v", n, err)
	}
	left := deliveries(t, s, store.WebhookDeliveryListParams{})
	if len(left) != 2 || slices.ContainsFunc(left, func(d rankr.WebhookDelivery) bool {
		return d.State == rankr.DeliveryDelivered || d.State == rankr.DeliveryDead
	}) {
		t.Fatalf("left after pruning: %+v", left)
	}
}
