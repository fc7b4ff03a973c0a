package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/testwait"
)

// TestPushStormLandsOnce pushes one fulfillment while GHL answers
// CreateFulfillment with a storm of 429s, then stalls some of the requests
// it applies for longer than a push's lease. `rankr fulfill` and `rankr
// serve` (two of them on PostgreSQL, sharing the database; one on SQLite)
// race for the push: each attempt retries and waits inside the GHL client,
// and a lease that runs out hands the push to another process. In the end
// GHL holds exactly one fulfillment for it and has told the customer once.
func TestPushStormLandsOnce(t *testing.T) {
	t.Parallel()
	for _, name := range databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testPushStormLandsOnce(t, name)
		})
	}
}

func testPushStormLandsOnce(t *testing.T, dbName string) {
	const lease = 2 * time.Second
	sb, url := newSandbox(t, sandbox.Config{Seed: 23, Locations: 1, Orders: 60}, sandbox.Faults{})
	dir := t.TempDir()
	db := openDatabase(t, dbName, dir)
	env := newRankrEnv(t, dir, db, "RANKR_PUSH_LEASE="+lease.String())
	loc := sb.Locations()[0]
	connectAll(t, env, url, sb.Locations())
	run(t, env, 60*time.Second, "sync")
	order, priceID := shippableOrder(t, sb, loc.ID)

	servers := 1
	if dbName == "postgres" {
		servers = 2
	}
	var serves []*proc
	for i := range servers {
		p := start(t, env, "serve", "--addr", "", "--id", fmt.Sprintf("rankr-e2e-push-%d", i), "--poll-interval", "2s")
		serves = append(serves, p)
	}
	for _, p := range serves {
		testwait.UntilWhy(t, 30*time.Second, "rankr "+p.name+" started", func() (bool, string) {
			if !p.running() {
				t.Fatalf("rankr %s ended: %s", p.name, p.state())
			}
			return strings.Contains(p.stderr.String(), `"msg":"rankr serving"`), "no \"rankr serving\" line yet"
		})
	}

	// A storm: every CreateFulfillment is refused with 429 until a second
	// attempt has begun (the first one's lease ran out, or it gave up),
	// so that attempts overlap if they can. After it, some requests are
	// refused still, and those GHL applies are answered only after three
	// leases, if ever: the attempt cannot know its outcome. (The sandbox's
	// stormFor refuses every operation of the location, the listing of
	// fulfillments too; this storm is CreateFulfillment's alone, so that
	// a second attempt can look, find nothing yet, and send.)
	storm := sandbox.Faults{Only: []string{"CreateFulfillment"}, Rate429: 1}
	if err := sb.SetFaults(storm); err != nil {
		t.Fatal(err)
	}
	const tracking = "1ZSTORM001"
	fulfill := start(t, env, "fulfill", order, "--tracking", tracking, "--carrier", "UPS", "--notify", "--wait", "3s",
		"--item", priceID+":1")

	s := db.open(t)
	var push rankr.FulfillmentPush
	watch := func(what string, until func(rankr.FulfillmentPush) bool) {
		t.Helper()
		testwait.UntilWhy(t, 90*time.Second, what, func() (bool, string) {
			for _, p := range serves {
				if !p.running() {
					t.Fatalf("rankr %s ended: %s", p.name, p.state())
				}
			}
			pushes, err := s.PushList(context.Background(), store.ListParams{LocationID: loc.ID, OrderID: order})
			if err != nil || len(pushes) != 1 {
				return false, fmt.Sprintf("pushes %+v, %v", pushes, err)
			}
			push = pushes[0]
			return until(push), fmt.Sprintf("push %s %s after %d attempts: %s", push.ID, push.State, push.Attempts, push.LastError)
		})
	}
	watch("a second attempt at the push", func(p rankr.FulfillmentPush) bool { return p.Attempts >= 2 })
	t.Logf("storm over after %d attempts", push.Attempts)
	if err := sb.SetFaults(sandbox.Faults{Only: []string{"CreateFulfillment"}, Rate429: 0.3, StallAfterRate: 1,
		Stall: sandbox.Duration(3 * lease)}); err != nil {
		t.Fatal(err)
	}
	watch("the push done", func(p rankr.FulfillmentPush) bool { return p.State == rankr.PushDone })
	fulfill.wait(t, 90*time.Second)
	t.Logf("push %s done after %d attempts; fulfill said:\n%s", push.ID, push.Attempts, fulfill.stdout.String())

	// An attempt that outlived its lease would land now, or soon: watch
	// GHL for a while after the storm.
	if err := sb.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	var fulfillments, notices int
	deadline := time.Now().Add(5*lease + 3*lease)
	for time.Now().Before(deadline) && fulfillments <= 1 && notices <= 1 {
		fulfillments, notices = inGHL(t, sb, loc.ID, tracking)
		time.Sleep(50 * time.Millisecond)
	}
	faults := sb.Stats().Faults
	t.Logf("faults injected: %v", faults)
	if fulfillments != 1 || notices != 1 {
		t.Errorf("GHL holds %d fulfillments and sent %d customer notices for tracking %s, want exactly 1 each", fulfillments, notices, tracking)
	}
	if faults["429"] == 0 || faults["stall-after"] == 0 {
		t.Errorf("the storm and the stalls were not injected: the test tested nothing")
	}
	if got, _ := s.PushGet(context.Background(), push.ID); got.State != rankr.PushDone || got.FulfillmentID == "" {
		t.Errorf("push after the storm: %+v", got)
	}
	// A stale attempt cannot rewrite the result of a newer one: the push
	// was done once.
	pushed := 0
	for _, e := range storetest.Events(t, s, loc.ID) {
		if e.RecordID == push.ID && e.Kind == rankr.FulfillmentPushed {
			pushed++
		}
	}
	if pushed != 1 {
		t.Errorf("%d %s events for push %s, want 1", pushed, rankr.FulfillmentPushed, push.ID)
	}
	if fulfill.exitCode() != 0 {
		t.Errorf("rankr fulfill: %s, want exit 0:\n%s", fulfill.state(), tail(fulfill.stderr.String(), 2000))
	}
	for _, p := range serves {
		if err := p.signal(syscall.SIGTERM); err != nil {
			t.Fatalf("stopping %s: %v", p.name, err)
		}
	}
	for _, p := range serves {
		p.succeed(t, 30*time.Second)
	}
}

// shippableOrder is a paid, unfulfilled order with a physical item of
// which it has several: a push of one leaves GHL room for a second, so
// that a push sent twice shows as two fulfillments.
func shippableOrder(t *testing.T, sb *sandbox.Server, loc string) (order, priceID string) {
	t.Helper()
	tr, err := sb.Truth(loc)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range tr.Locations[0].Orders {
		if o.PaymentStatus != "paid" || o.Item.FulfillmentStatus != "unfulfilled" {
			continue
		}
		for _, it := range o.Detail.Items {
			if n, _ := it.Qty.Int(); n >= 2 && it.Product.ProductType == "PHYSICAL" {
				return o.Item.ID, it.Price.ID
			}
		}
	}
	t.Fatal("no shippable order with several of an item in the sandbox")
	return "", ""
}

// inGHL counts the fulfillments GHL holds with a tracking number, and the
// customer notices it sent for them.
func inGHL(t *testing.T, sb *sandbox.Server, loc, tracking string) (fulfillments, notices int) {
	t.Helper()
	tr, err := sb.Truth(loc)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range tr.Locations[0].Orders {
		for _, f := range o.Fulfillments {
			for _, x := range f.Trackings {
				if x.TrackingNumber == tracking {
					fulfillments++
				}
			}
		}
	}
	for _, n := range tr.Locations[0].Notices {
		for _, x := range n.Trackings {
			if x == tracking {
				notices++
			}
		}
	}
	return fulfillments, notices
}
