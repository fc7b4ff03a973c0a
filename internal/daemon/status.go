package daemon

import (
	"cmp"
	"context"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/web"
)

// counter keeps every location's counts: counted once, then moved by the
// change feed's events (store.CountsSince), so that bringing them up to
// date costs what changed since, not what is stored.
type counter struct {
	mu  sync.Mutex
	now store.AllCounts
}

// update brings the counts up to date and returns them by location. The
// map is never changed afterwards.
func (c *counter) update(ctx context.Context, st store.Store) (map[string]rankr.Counts, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, err := st.CountsSince(ctx, c.now)
	if err != nil {
		return nil, err
	}
	c.now = next
	return next.Locations, nil
}

// sharedStatus is the status last computed for the status page, shared by
// every open page: each refreshes every second, and ten open pages must not
// cost ten times one.
type sharedStatus struct {
	mu   sync.Mutex
	at   time.Time
	last []web.LocationStatus
}

// sharedStatus returns the status, computing it when the shared one is
// older than StatusInterval. Pages asking meanwhile wait for it.
func (d *Daemon) sharedStatus(ctx context.Context) ([]web.LocationStatus, error) {
	s := &d.shown
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil && time.Since(s.at) < cmp.Or(d.cfg.StatusInterval, time.Second) {
		return s.last, nil
	}
	st, err := d.Status(ctx)
	if err != nil {
		return nil, err
	}
	s.last, s.at = st, time.Now()
	return st, nil
}
