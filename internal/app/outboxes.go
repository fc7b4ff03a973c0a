package app

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// offsetPage lists an outbox by offset: the cursor is the offset of the
// next page. Outboxes are small next to the records, and are read newest
// first by people watching them move.
func offsetPage[T any](ctx context.Context, q RecordQuery, c Caller, list func(context.Context, store.ListParams) ([]T, error)) (Page[T], error) {
	// The cursor is an offset here: params reads a record's place from
	// it, and so refused every cursor this list gave (no page after the
	// first could be read).
	cursor := q.Cursor
	q.Cursor = ""
	p, err := q.params(c)
	if err != nil {
		return Page[T]{}, err
	}
	if cursor != "" {
		off, err := decodeOffset(cursor)
		if err != nil {
			return Page[T]{}, fieldErr("cursor", "not a cursor this list gave: start again without it")
		}
		p.Offset = off
	}
	rs, err := list(ctx, p)
	if err != nil {
		return Page[T]{}, err
	}
	out := Page[T]{Items: rs}
	if out.Items == nil {
		out.Items = []T{}
	}
	if len(rs) == p.Limit {
		out.NextCursor = encodeOffset(p.Offset + len(rs))
	}
	return out, nil
}

// Offset cursors say "o1." and the offset, so that a record cursor given to
// an outbox list (or the reverse) is refused, not misread.
const offsetPrefix = "o1."

func encodeOffset(n int) string { return offsetPrefix + strconv.Itoa(n) }

func decodeOffset(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, offsetPrefix))
	if err != nil || !strings.HasPrefix(s, offsetPrefix) || n < 0 {
		return 0, errBadCursor
	}
	return n, nil
}

// PushRequest asks for a fulfillment push.
type PushRequest struct {
	Location  string           `json:"locationId,omitempty"`
	Order     string           `json:"orderId"`
	Trackings []rankr.Tracking `json:"trackings"`
	// Items to ship; none: every physical item still unshipped.
	Items  []rankr.PushItem `json:"items,omitempty"`
	Notify bool             `json:"notifyCustomer,omitempty"`
}

// RequestPush records a fulfillment push in the outbox, exactly once: a
// request that repeats one (same order, tracking and items) answers with
// that push and created false. The push is sent by the pushers of every
// rankr serve.
func (a *App) RequestPush(ctx context.Context, c Caller, r PushRequest) (push rankr.FulfillmentPush, created bool, err error) {
	if a.d.Pusher == nil {
		return push, false, unavailable("pushing fulfillments", "the master key opens GHL tokens: run with it")
	}
	switch {
	case strings.TrimSpace(r.Order) == "":
		return push, false, fieldErr("orderId", "name the order to fulfill")
	case len(r.Trackings) == 0:
		return push, false, fieldErr("trackings", "give at least one tracking number")
	}
	for i, t := range r.Trackings {
		if strings.TrimSpace(t.Number) == "" {
			// Named as the JSON field is (trackingNumber), which a client
			// can find in its request.
			return push, false, fieldErr("trackings["+strconv.Itoa(i)+"].trackingNumber", "a tracking number is required")
		}
	}
	for i, it := range r.Items {
		if it.PriceID == "" || it.Qty <= 0 {
			return push, false, fieldErr("items["+strconv.Itoa(i)+"]", "want a priceId and a qty of 1 or more")
		}
	}
	if err := c.location(r.Location); err != nil {
		return push, false, err
	}
	o, err := a.d.Store.OrderGet(ctx, r.Location, r.Order)
	if err != nil {
		return push, false, err
	}
	if err := c.visible(o.LocationID, "order "+r.Order); err != nil {
		return push, false, err
	}
	by := c.Actor
	return a.d.Pusher.Request(ctx, flows.Request{LocationID: o.LocationID, OrderID: o.ID, Trackings: r.Trackings, Items: r.Items,
		NotifyCustomer: r.Notify, By: &by})
}

// Pushes lists fulfillment pushes (Status filters by state).
func (a *App) Pushes(ctx context.Context, c Caller, q RecordQuery) (Page[rankr.FulfillmentPush], error) {
	return offsetPage(ctx, q, c, a.d.Store.PushList)
}

// Push shows a push.
func (a *App) Push(ctx context.Context, c Caller, id string) (rankr.FulfillmentPush, error) {
	p, err := a.d.Store.PushGet(ctx, id)
	if err != nil {
		return p, err
	}
	return p, c.visible(p.LocationID, "push "+id)
}

// Notices lists Rankr's own notices to customers (Status filters by
// state).
func (a *App) Notices(ctx context.Context, c Caller, q RecordQuery) (Page[rankr.Notice], error) {
	return offsetPage(ctx, q, c, a.d.Store.NoticeList)
}

// RetryNotice makes an unknown or failed notice pending again, for an
// operator who checked that it did not arrive; serve sends it, with the
// same Message-ID.
func (a *App) RetryNotice(ctx context.Context, c Caller, id string) (rankr.Notice, error) {
	n, err := a.d.Store.NoticeGet(ctx, id)
	if err != nil {
		return n, err
	}
	if err := c.visible(n.LocationID, "notice "+id); err != nil {
		return n, err
	}
	if err := a.d.Store.NoticeRetry(ctx, id, time.Now()); err != nil {
		return n, err
	}
	return a.d.Store.NoticeGet(ctx, id)
}
