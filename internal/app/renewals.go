package app

import (
	"context"
	"time"

	"github.com/rankr/rankr/internal/store"
)

// RenewalQuery selects the subscriptions due to renew.
type RenewalQuery struct {
	Location string
	// Within is how far ahead to look; overdue renewals are always in.
	Within time.Duration
	Limit  int // default 100, at most MaxLimit
}

// UpcomingRenewals lists the subscriptions due to renew within q.Within of
// now (and the overdue ones), soonest first.
func (a *App) UpcomingRenewals(ctx context.Context, c Caller, q RenewalQuery) ([]Subscription, error) {
	if err := c.location(q.Location); err != nil {
		return nil, err
	}
	switch {
	case q.Within < 0:
		return nil, fieldErr("within", "want how far ahead to look, not %s", q.Within)
	case q.Limit < 0 || q.Limit > MaxLimit:
		return nil, fieldErr("limit", "want 1 to %d, not %d", MaxLimit, q.Limit)
	}
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	out := []Subscription{}
	// A caller bound to locations sees its own among the first limit.
	subs, err := a.d.Store.SubscriptionsUpcoming(ctx, store.UpcomingParams{LocationID: q.Location, Before: time.Now().Add(q.Within), Limit: limit})
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		if c.Sees(s.LocationID) {
			out = append(out, NewSubscription(s))
		}
	}
	return out, nil
}
