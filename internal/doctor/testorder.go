package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/rankr"
)

// TestCarrier is the carrier of the doctor's test fulfillments, and
// TestTrackingPrefix starts their tracking numbers: both say, in GHL and in
// Rankr, what the parcel is.
const (
	TestCarrier        = "rankr doctor (test)"
	TestTrackingPrefix = "RANKR-DOCTOR-"
)

// testOrder runs the two flows rankr exists for on a test-mode order: the
// order synced from GHL into Rankr, and a fulfillment pushed from Rankr to
// GHL through the fulfillment push flow (its outbox, its never-twice
// rules). On a sandbox the order is made for the test, in test mode and
// paid; on GHL it is one of the location's test-mode orders. A live order
// is never used: a location with no test-mode order is refused.
func (r *run) testOrder(ctx context.Context, l locResult) Check {
	loc := l.conn.LocationID
	c := Check{ID: IDTestOrder, Title: "Test order", Location: loc,
		Meaning: "An order placed in GHL reaches Rankr with its items, and a fulfillment pushed from Rankr lands in GHL: the order and fulfillment flows, end to end."}
	switch {
	case r.deps.Pusher == nil || r.deps.SyncOrder == nil:
		c.Status, c.Detail = Skip, "the sync and push flows are not available in this process"
		return c
	case !l.tokenOK:
		c.Status, c.Detail = Skip, "not tried: GHL does not take the token (see the token check)"
		return c
	case l.conn.State != rankr.StateActive:
		c.Status, c.Detail = Skip, fmt.Sprintf("not tried: the connection is %s, and the sync refuses it", l.conn.State)
		return c
	}

	var candidates []string
	var made string
	if l.sandbox != nil {
		id, err := r.sandboxOrder(ctx, l.sandbox.base, loc)
		if err != nil {
			c.Status, c.Detail = Fail, "creating a test order in the sandbox: "+err.Error()
			c.Fix = "Check that the sandbox's admin API (" + l.sandbox.base + sandboxAdmin + ") answers."
			return c
		}
		candidates, made = []string{id}, "created and paid in test mode in the sandbox"
	} else {
		cctx, cancel := r.step(ctx)
		page, err := l.client.ListOrders(cctx, ghl.ListOrdersParams{LocationID: loc, PaymentMode: ghl.ModeTest, Limit: 100})
		cancel()
		if err != nil {
			c.Status, c.Detail = Fail, "listing the location's test-mode orders: "+err.Error()
			c.Fix = "See the GHL checks above."
			return c
		}
		for _, o := range page.Items {
			if !o.LiveMode && o.Status != ghl.OrderCancelled && o.FulfillmentStatus != ghl.Fulfilled {
				candidates = append(candidates, o.ID)
			}
		}
		if len(candidates) == 0 {
			c.Status = Fail
			c.Detail = "refused: location " + loc + " has no test-mode order left to ship, and --test-order never touches a live order"
			c.Meaning = "The end-to-end test needs test-mode data; on a live-mode location it would ship real orders."
			c.Fix = "Place an order with a physical product in GHL's test mode (payments in test mode) and run rankr doctor --test-order again, or run it against the sandbox (rankr sandbox)."
			return c
		}
		made = "a test-mode order of the location"
	}

	var notes []string
	for _, id := range candidates[:min(len(candidates), 5)] {
		done, next := r.roundTrip(ctx, loc, id, l.client)
		if done != nil {
			done.Detail = fmt.Sprintf("order %s (%s): %s", id, made, done.Detail)
			done.ID, done.Title, done.Location = c.ID, c.Title, loc
			if done.Meaning == "" {
				done.Meaning = c.Meaning
			}
			return *done
		}
		notes = append(notes, fmt.Sprintf("order %s: %s", id, next))
	}
	c.Status = Fail
	c.Detail = "no test-mode order could take a test fulfillment: " + strings.Join(notes, "; ")
	c.Fix = "Place a new test-mode order with a physical product in GHL and run rankr doctor --test-order again."
	return c
}

// sandboxOrder creates an order with a physical product, in test mode, and
// pays it, through the sandbox's admin API.
func (r *run) sandboxOrder(ctx context.Context, base, loc string) (string, error) {
	var made struct {
		ID     string `json:"id"`
		Amount int64  `json:"amount"`
	}
	path := "/locations/" + loc + "/scenario"
	if err := r.admin(ctx, base, "POST", path, map[string]any{"op": "order", "physical": true, "test": true}, &made); err != nil {
		return "", err
	}
	if err := r.admin(ctx, base, "POST", path, map[string]any{"op": "pay", "id": made.ID, "amount": made.Amount}, nil); err != nil {
		return "", err
	}
	return made.ID, nil
}

// roundTrip syncs an order and pushes a test fulfillment to it. It returns
// the check when the order could be tested (passed or failed), or why it
// could not (nothing left to ship) so that the next one is tried.
func (r *run) roundTrip(ctx context.Context, loc, orderID string, client *ghl.Client) (*Check, string) {
	fail := func(detail, fix string) (*Check, string) {
		return &Check{Status: Fail, Detail: detail, Fix: fix}, ""
	}
	cctx, cancel := context.WithTimeout(ctx, 3*r.deps.Timeout)
	defer cancel()
	if err := r.deps.SyncOrder(cctx, loc, orderID); err != nil {
		return fail("the order did not sync: "+err.Error(), "See the GHL checks above; rankr sync --location "+loc+" says more.")
	}
	o, err := r.deps.Store.OrderGet(cctx, loc, orderID)
	if err != nil {
		return fail("the order synced but Rankr does not hold it: "+err.Error(), "Look at serve's log.")
	}
	if o.LiveMode {
		// GHL's list filter said test mode; the order says live. Trust the
		// order: a live one is never shipped by a test.
		return nil, "it is a live order"
	}
	if o.Items == nil {
		return fail("the order synced without its items", "Look at serve's log for the order's detail fetch.")
	}
	synced := fmt.Sprintf("synced with %d item(s), %s %d.%02d", len(o.Items), o.Currency, o.Amount/100, o.Amount%100)

	var b [4]byte
	_, _ = rand.Read(b[:])
	tracking := TestTrackingPrefix + strings.ToUpper(hex.EncodeToString(b[:]))
	push, _, err := r.deps.Pusher.Request(cctx, flows.Request{LocationID: loc, OrderID: orderID,
		Trackings: []rankr.Tracking{{Number: tracking, Carrier: TestCarrier}}, By: r.opts.By})
	if errors.Is(err, rankr.ErrConflict) {
		return nil, err.Error()
	}
	if err != nil {
		return fail(synced+"; the push was refused: "+err.Error(), "Look at the message.")
	}
	push, err = r.deps.Pusher.Push(cctx, push.ID)
	if err != nil {
		return fail(fmt.Sprintf("%s; push %s of %s: %v", synced, push.ID, tracking, err),
			"The push stays in the outbox: rankr serve tries it again, never twice.")
	}
	if push.State != rankr.PushDone {
		return fail(fmt.Sprintf("%s; push %s of %s is %s: %s", synced, push.ID, tracking, push.State, push.LastError),
			"The push stays in the outbox: rankr serve tries it again, never twice; see the GHL checks above.")
	}
	fs, err := client.ListFulfillments(cctx, loc, orderID)
	if err != nil {
		return fail(fmt.Sprintf("%s; pushed as GHL fulfillment %s, but GHL's fulfillments could not be read: %v", synced, push.FulfillmentID, err),
			"Run rankr doctor again.")
	}
	landed := slices.ContainsFunc(fs, func(f ghl.Fulfillment) bool {
		return f.ID == push.FulfillmentID && slices.ContainsFunc(f.Trackings, func(t ghl.Tracking) bool { return t.TrackingNumber == tracking })
	})
	if !landed {
		return fail(fmt.Sprintf("%s; push %s says GHL fulfillment %s, which GHL does not list with tracking %s", synced, push.ID, push.FulfillmentID, tracking),
			"Look at the order in GHL; report this.")
	}
	detail := fmt.Sprintf("%s; test fulfillment %s (tracking %s, push %s) pushed and found in GHL", synced, push.FulfillmentID, tracking, push.ID)
	ch := &Check{Status: Pass, Detail: detail}
	if _, err := r.deps.Store.FulfillmentGet(cctx, loc, push.FulfillmentID); err == nil {
		ch.Detail += ", and synced back into Rankr"
	} else {
		ch.Status = Warn
		ch.Detail += ", but not synced back into Rankr yet: " + err.Error()
		ch.Fix = "Polling brings it; if it never does, look at serve's log."
	}
	return ch, ""
}
