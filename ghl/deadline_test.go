package ghl_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// TestRetriesStopAtTheDeadline: a client whose next retry, or whose next
// slot in the rate budget, would come after the caller's deadline gives up
// at once, with GHL's answer, instead of waiting for the deadline: callers
// bound their attempts (a push holds a lease) and must learn in time.
func TestRetriesStopAtTheDeadline(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 18, Orders: 80, RateLimit: lifted})
	loc := sb.Locations()[0]
	order, price := shippable(t, truthOf(t, sb, loc.ID))
	if err := sb.SetFaults(sandbox.Faults{Only: []string{"CreateFulfillment"}, Rate429: 1}); err != nil {
		t.Fatal(err)
	}
	c := newClient(url, loc.Token, ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Minute, MaxDelay: time.Minute}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.CreateFulfillment(ctx, loc.ID, order.Item.ID, ghl.CreateFulfillmentParams{
		Trackings: []ghl.Tracking{}, Items: []ghl.FulfillmentItem{{PriceID: price, Qty: "1"}}})
	var gerr *ghl.Error
	if !errors.As(err, &gerr) || gerr.StatusCode != http.StatusTooManyRequests || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want GHL's 429 and the deadline, got %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the client waited for the deadline to retry: %v", err)
	}
	// The governor alone, with a slot a whole interval away.
	var ticket ghl.Ticket
	g := ghl.NewGovernor(ghl.Limits{Burst: 1, Interval: time.Hour, Daily: 1000})
	ticket, err = g.Wait(context.Background(), "L")
	if err != nil {
		t.Fatal(err)
	}
	ticket.Done(http.StatusOK, nil)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := g.Wait(ctx, "L"); !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("the governor waited for a slot after the deadline: %v (context: %v)", err, ctx.Err())
	}
}
