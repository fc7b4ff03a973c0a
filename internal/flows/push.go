package flows

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/syncer"
)

// Pusher sends Rankr's fulfillments to GHL through a durable outbox.
//
// GHL gives fulfillments no idempotency key and no update, so a blind retry
// would create a second fulfillment (and, with notifyCustomer, a second
// email). The pusher never sends a push again once GHL may have applied it:
// an attempt whose outcome is unknown marks the push unknown, and every
// later attempt first lists the order's fulfillments and looks for this one
// (same tracking numbers, same items, not claimed by another push).
//
// That look is worth something only if no earlier attempt is still under
// way: an attempt holds its push for a lease, and everything it does (the
// GHL client's retries and rate waits included) ends well inside it, so
// that when another process may take the push over, the attempt is over.
// Its result is recorded only while it still holds the push (the claim
// token), so a late one never overwrites a newer one's.
type Pusher struct {
	store  store.Store
	syncer *syncer.Syncer
	log    *slog.Logger
	now    func() time.Time
	// backoff is how long a push waits after its attempts-th attempt
	// failed without reaching GHL.
	backoff func(attempts int) time.Duration
	// Lease is how long an attempt holds its push (default 2 min); the
	// attempt itself ends after three quarters of it.
	Lease time.Duration
	// RankrNotices is set when Rankr can mail customers itself (a mailer
	// is configured): a push that asks to notify the customer is then
	// notified by Rankr, and GHL is told not to, so that the customer is
	// told once.
	RankrNotices bool
}

// NewPusher returns a pusher.
func NewPusher(st store.Store, s *syncer.Syncer, log *slog.Logger) *Pusher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pusher{store: st, syncer: s, log: log, now: time.Now, backoff: func(attempts int) time.Duration {
		return min(time.Duration(1<<min(attempts, 9))*time.Second, 5*time.Minute)
	}}
}

func (p *Pusher) lease() time.Duration { return cmp.Or(p.Lease, 2*time.Minute) }

// finishTimeout bounds recording an attempt's end, which must happen even
// when the attempt's own context is over.
const finishTimeout = 30 * time.Second

// Request describes a fulfillment to push.
type Request struct {
	LocationID string // optional when the order id is unique
	OrderID    string
	Trackings  []rankr.Tracking
	// Items to ship; empty means every physical item still unshipped.
	Items []rankr.PushItem
	// NotifyCustomer tells the customer: through Rankr's own mail when
	// the pusher has RankrNotices, else through GHL's.
	NotifyCustomer bool
	// By is who asks, for the audit log (nil: not audited, as for rankr's
	// own pushes).
	By *rankr.AuditActor
}

// Request checks a fulfillment against the order as Rankr holds it and
// records it in the outbox; Push sends it. A request that repeats a push
// not known to have failed (same order, same tracking numbers, same items
// or none named) is answered with that push, and created false.
func (p *Pusher) Request(ctx context.Context, r Request) (push rankr.FulfillmentPush, created bool, err error) {
	if len(r.Trackings) == 0 || slices.ContainsFunc(r.Trackings, func(t rankr.Tracking) bool { return t.Number == "" }) {
		return push, false, fmt.Errorf("%w: a fulfillment needs a tracking number", rankr.ErrInvalid)
	}
	o, err := p.store.OrderGet(ctx, r.LocationID, r.OrderID)
	if err != nil {
		return push, false, fmt.Errorf("order %s: %w (sync it first)", r.OrderID, err)
	}
	push = rankr.FulfillmentPush{ID: newPushID(), LocationID: o.LocationID, OrderID: o.ID, Trackings: r.Trackings,
		Items: r.Items, State: rankr.PushPending, CreatedAt: p.now(), RequestedBy: r.By}
	switch {
	case r.NotifyCustomer && p.RankrNotices:
		// Decided now and kept with the push, so that the customer gets
		// one notice whatever the configuration is when the push lands.
		if o.ContactEmail == "" {
			return rankr.FulfillmentPush{}, false, fmt.Errorf("%w: order %s has no customer email for Rankr's notice", rankr.ErrInvalid, o.ID)
		}
		push.NotifyVia = rankr.NotifyRankr
	case r.NotifyCustomer:
		push.NotifyVia, push.NotifyCustomer = rankr.NotifyGHL, true
	}
	// The store checks what is left to ship and records the push in one
	// step, so that concurrent requests cannot both take the same items.
	return p.store.PushCreate(ctx, push)
}

func newPushID() string {
	var b [10]byte
	rand.Read(b[:])
	return "fp_" + hex.EncodeToString(b[:])
}

// Push makes one attempt at a push that is due, and returns the push as it
// stands after it. It fails with rankr.ErrConflict when the push is not due,
// when another pusher holds it, or when the attempt outlived its lease
// (another may have taken the push: the attempt's result is dropped).
//
// The attempt ends after three quarters of the lease, or earlier when ctx
// does; its end is recorded all the same.
func (p *Pusher) Push(ctx context.Context, id string) (rankr.FulfillmentPush, error) {
	lease := p.lease()
	// Measured from before the claim, so that the attempt's end comes
	// before the lease's by the database's clock too.
	start := time.Now()
	push, err := p.store.PushClaim(ctx, store.PushClaimParams{ID: id, Now: p.now(), Lease: lease})
	if err != nil {
		return push, err
	}
	actx, cancel := context.WithDeadline(ctx, start.Add(lease-lease/4))
	fin := p.attempt(actx, push)
	cancel()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	fin.ID, fin.Claim, fin.Now = id, push.Claim, p.now()
	if fin.State == rankr.PushDone && push.NotifyVia == rankr.NotifyRankr {
		// The notice is queued with the push's success (same
		// transaction). Without it the push stays as it is, and the next
		// attempt finds the fulfillment in GHL.
		fin.Notice, err = p.notice(fctx, push, fin.FulfillmentID)
		switch {
		case errors.Is(err, rankr.ErrInvalid) || errors.Is(err, rankr.ErrNotFound):
			// GHL has the fulfillment: the push is done whatever the
			// notice. Retrying would only list the order's fulfillments
			// again and again, and find the same.
			p.log.Warn("fulfillment pushed, but the customer cannot be notified", "push", push.ID, "order", push.OrderID, "reason", err)
			fin.NoNotice = err.Error()
		case err != nil:
			return push, err
		}
	}
	if err := p.store.PushFinish(fctx, fin); err != nil {
		if errors.Is(err, rankr.ErrConflict) {
			p.log.Warn("a fulfillment push attempt ended after its lease; its result is dropped, a newer attempt's stands",
				"push", id, "order", push.OrderID, "attempt", push.Attempts, "result", fin.State, "fulfillment", fin.FulfillmentID,
				"lease", lease, "took", time.Since(start).Round(time.Millisecond))
		}
		return push, err
	}
	if fin.State == rankr.PushDone {
		// Bring the order and its new fulfillment into the store now.
		if err := p.syncer.Refresh(ctx, push.LocationID, syncer.RefreshOrder, push.OrderID); err != nil {
			p.log.Warn("refreshing an order after its fulfillment was pushed; polling will catch up", "order", push.OrderID, "error", err)
		}
	}
	return p.store.PushGet(fctx, id)
}

// notice builds the customer's notice of a push that landed in GHL as
// fulfillment fid, from the order as Rankr holds it.
func (p *Pusher) notice(ctx context.Context, push rankr.FulfillmentPush, fid string) (*rankr.Notice, error) {
	o, err := p.store.OrderGet(ctx, push.LocationID, push.OrderID)
	if err != nil {
		return nil, fmt.Errorf("reading order %s for its customer notice: %w", push.OrderID, err)
	}
	if o.ContactEmail == "" {
		return nil, fmt.Errorf("%w: order %s has no customer email for Rankr's notice", rankr.ErrInvalid, o.ID)
	}
	payload := rankr.FulfillmentNotice{OrderID: o.ID, FulfillmentID: fid, PushID: push.ID, CustomerName: o.ContactName,
		Trackings: push.Trackings}
	if c, err := p.store.ConnectionGet(ctx, push.LocationID); err == nil {
		payload.Shop = c.Name
	}
	names := map[string]string{}
	for _, it := range o.Items {
		names[it.PriceID] = cmp.Or(names[it.PriceID], it.Name)
	}
	for _, it := range push.Items {
		payload.Items = append(payload.Items, rankr.NoticeItem{Name: cmp.Or(names[it.PriceID], it.PriceID), Qty: it.Qty})
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return &rankr.Notice{Recipient: o.ContactEmail, Payload: b, CreatedAt: p.now()}, nil
}

// attempt tries once and says how the push stands. Its context ends
// before the push's lease.
func (p *Pusher) attempt(ctx context.Context, push rankr.FulfillmentPush) store.PushFinishParams {
	client, err := p.syncer.Client(ctx, push.LocationID)
	if err != nil {
		return p.retryLater(push, err)
	}
	ctx = ghl.WithPriority(ctx, ghl.PriorityUrgent)
	if push.Attempts > 1 {
		// GHL may have applied an earlier attempt: look before sending.
		found, err := p.find(ctx, client, push)
		if err != nil {
			return p.retryLater(push, err)
		}
		if found != "" {
			p.log.Info("fulfillment found in GHL after an unknown outcome; not sent again", "push", push.ID, "fulfillment", found)
			return store.PushFinishParams{State: rankr.PushDone, FulfillmentID: found}
		}
	}
	params := ghl.CreateFulfillmentParams{NotifyCustomer: push.NotifyCustomer}
	for _, t := range push.Trackings {
		params.Trackings = append(params.Trackings, ghl.Tracking{TrackingNumber: t.Number, ShippingCarrier: t.Carrier, TrackingURL: t.URL})
	}
	for _, it := range push.Items {
		params.Items = append(params.Items, ghl.FulfillmentItem{PriceID: it.PriceID, Qty: ghl.NumberFromInt(it.Qty)})
	}
	f, err := client.CreateFulfillment(ctx, push.LocationID, push.OrderID, params)
	switch {
	case err == nil:
		return store.PushFinishParams{State: rankr.PushDone, FulfillmentID: f.ID}
	case errors.Is(err, ghl.ErrOutcomeUnknown):
		p.log.Warn("fulfillment push outcome unknown; will look in GHL before any retry", "push", push.ID, "error", err)
		return store.PushFinishParams{State: rankr.PushUnknown, Error: err.Error()}
	case errors.Is(err, ghl.ErrInvalidRequest), errors.Is(err, ghl.ErrNotFound):
		return store.PushFinishParams{State: rankr.PushFailed, Error: "GHL refused the fulfillment: " + err.Error()}
	}
	return p.retryLater(push, err)
}

// retryLater keeps a push pending, backing off with its attempts. Every
// attempt after the first looks in GHL before sending, so an earlier attempt
// that GHL did apply is never sent again.
func (p *Pusher) retryLater(push rankr.FulfillmentPush, err error) store.PushFinishParams {
	err = syncer.Classify(push.LocationID, err)
	return store.PushFinishParams{State: rankr.PushPending, Error: err.Error(), RetryIn: p.backoff(push.Attempts)}
}

// find looks in GHL for the fulfillment a push created: the same tracking
// numbers and items, and not the fulfillment of another push.
func (p *Pusher) find(ctx context.Context, client *ghl.Client, push rankr.FulfillmentPush) (string, error) {
	fs, err := client.ListFulfillments(ctx, push.LocationID, push.OrderID)
	if err != nil {
		return "", err
	}
	want := push.Shipment()
	for _, f := range fs {
		var got rankr.FulfillmentPush
		for _, t := range f.Trackings {
			got.Trackings = append(got.Trackings, rankr.Tracking{Number: t.TrackingNumber})
		}
		for _, it := range f.Items {
			n, _ := it.Qty.Int()
			got.Items = append(got.Items, rankr.PushItem{PriceID: it.Price.ID, Qty: int64(n)})
		}
		if got.Shipment() != want {
			continue
		}
		owner, err := p.store.PushOwning(ctx, push.LocationID, f.ID)
		if err != nil {
			return "", err
		}
		if owner == "" || owner == push.ID {
			return f.ID, nil
		}
	}
	return "", nil
}

// PushDue makes one attempt at every push that is due, and returns how many
// it tried.
func (p *Pusher) PushDue(ctx context.Context) (int, error) {
	ids, err := p.store.PushesDue(ctx, 100)
	if err != nil {
		return 0, err
	}
	tried := 0
	var errs []error
	for _, id := range ids {
		// One push that cannot go on holds up none of the others.
		if _, err := p.Push(ctx, id); err != nil && !errors.Is(err, rankr.ErrConflict) {
			p.log.Error("fulfillment push", "push", id, "error", err)
			errs = append(errs, fmt.Errorf("push %s: %w", id, err))
		}
		tried++
	}
	return tried, errors.Join(errs...)
}
