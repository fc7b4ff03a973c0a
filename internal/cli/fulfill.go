package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
)

// FulfillCmd pushes a fulfillment to GHL.
type FulfillCmd struct {
	Order    string        `arg:"" help:"The GHL order id."`
	Tracking string        `help:"The parcel's tracking number." required:""`
	Carrier  string        `help:"The carrier (UPS, FedEx, USPS, DHL...)." required:""`
	URL      string        `help:"The tracking page." name:"url"`
	Item     []string      `help:"PRICE_ID:QTY to ship (repeatable); default: every physical item still unshipped." name:"item"`
	Notify   bool          `help:"Tell the customer: Rankr emails them when --smtp-url is set (and GHL is told not to), else GHL does."`
	Location string        `help:"The order's location, when ids could clash." env:"RANKR_LOCATION"`
	Wait     time.Duration `help:"How long to keep trying before leaving the push to rankr serve." default:"1m"`
	MailFlags
	PushFlags
}

// PushFlags configure fulfillment pushes, on serve and fulfill alike.
type PushFlags struct {
	Lease time.Duration `help:"How long one attempt at a fulfillment push holds it; the attempt itself ends well before, so that no other process can take the push while it runs. Give every process the same value." name:"push-lease" default:"2m" env:"RANKR_PUSH_LEASE"`
}

// lease checks the setting.
func (f PushFlags) lease() (time.Duration, error) {
	if f.Lease < time.Second {
		return 0, fmt.Errorf("--push-lease %s is too short: an attempt needs a second at least", f.Lease)
	}
	return f.Lease, nil
}

// Run records the push in the outbox and tries it until it is done, failed,
// or the wait is over (then serve carries on).
func (c *FulfillCmd) Run(ctx context.Context, g *Globals) error {
	var items []rankr.PushItem
	for _, it := range c.Item {
		price, qty, ok := strings.Cut(it, ":")
		n, err := strconv.ParseInt(qty, 10, 64)
		if !ok || price == "" || err != nil || n <= 0 {
			return fmt.Errorf("--item %q: want PRICE_ID:QTY, e.g. 64f84dec1e2c5ae21f0714e1:1", it)
		}
		items = append(items, rankr.PushItem{PriceID: price, Qty: n})
	}
	lease, err := c.lease()
	if err != nil {
		return err
	}
	d, err := g.open(ctx, false, daemon.Config{Mail: c.MailFlags.config(), PushLease: lease})
	if err != nil {
		return err
	}
	defer d.Close()
	push, created, err := d.App.RequestPush(ctx, host(), app.PushRequest{Location: c.Location, Order: c.Order, Items: items, Notify: c.Notify,
		Trackings: []rankr.Tracking{{Number: c.Tracking, Carrier: c.Carrier, URL: c.URL}}})
	if errors.Is(err, rankr.ErrNotFound) {
		return fmt.Errorf("%w (sync it first)", err)
	}
	if err != nil {
		return flagError(err, map[string]string{"trackings[0].number": "--tracking"})
	}
	switch {
	case !created && push.State == rankr.PushDone:
		// Operators retry commands: the same parcel again is the push it
		// made, not an error (and never a second fulfillment).
		fmt.Fprintf(g.stdout, "already pushed as %s (%s%s)\n", push.ID, push.State, fulfillmentOf(push))
		return nil
	case !created:
		fmt.Fprintf(g.stdout, "already requested as %s (%s%s); trying it\n", push.ID, push.State, fulfillmentOf(push))
	default:
		fmt.Fprintf(g.stdout, "push %s recorded for order %s\n", push.ID, push.OrderID)
	}
	deadline := time.Now().Add(c.Wait)
	// No attempt outlives --wait: what is left is rankr serve's.
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	id := push.ID
	for {
		push, err = d.Pusher.Push(wctx, id)
		switch {
		case errors.Is(err, rankr.ErrConflict), err != nil && wctx.Err() != nil && ctx.Err() == nil:
			// Not due, held by another process, this attempt's lease ran
			// out, or --wait is over: see how the push stands.
			if push, err = d.Store.PushGet(ctx, id); err != nil {
				return err
			}
			if wctx.Err() != nil && push.State != rankr.PushDone && push.State != rankr.PushFailed {
				return notYet(g, push)
			}
		case err != nil:
			return err
		}
		switch push.State {
		case rankr.PushDone:
			fmt.Fprintf(g.stdout, "fulfilled in GHL as %s after %d attempt(s)\n", push.FulfillmentID, push.Attempts)
			if push.NotifyVia == rankr.NotifyRankr {
				return sendNotice(ctx, g, d, push, deadline)
			}
			return nil
		case rankr.PushFailed:
			return fmt.Errorf("GHL refused push %s: %s", push.ID, push.LastError)
		}
		// The next attempt is due by the database's clock; a push another
		// process holds is looked at again shortly.
		now, err := d.Store.Now(ctx)
		if err != nil {
			return err
		}
		wait := max(push.NextAttemptAt.Sub(now), 200*time.Millisecond)
		if time.Now().Add(wait).After(deadline) {
			return notYet(g, push)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// notYet says that a push is left to rankr serve.
func notYet(g *Globals, push rankr.FulfillmentPush) error {
	fmt.Fprintf(g.stdout, "not done yet (%s%s); it stays in the outbox and `rankr serve` keeps trying, never twice\n",
		push.State, lastError(push.LastError))
	return nil
}

func fulfillmentOf(push rankr.FulfillmentPush) string {
	if push.FulfillmentID == "" {
		return ""
	}
	return ", GHL fulfillment " + push.FulfillmentID
}
