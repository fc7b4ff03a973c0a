package daemon

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/web"
)

// counter keeps every location's counts: counted once, then moved by the
// change feed's events (store.CountsSince), so that bringing them up to
// date costs what changed since, not what is stored.
//
// The counts are saved now and then (store.CountsSave), and a process
// starts from the saved ones: counting every record again takes seconds at
// a million orders, with SQLite's one connection held all along.
type counter struct {
	mu     sync.Mutex
	now    store.AllCounts
	loaded bool  // the saved counts were looked for
	saved  int64 // the event the counts saved last are as of
}

// Counts are saved when they have moved this many events since the last
// save (or were counted anew), and counts saved longer ago than
// snapshotMaxAge are counted anew, so that a drift cannot outlive a day.
const (
	snapshotEvery  = 1000
	snapshotMaxAge = 24 * time.Hour
)

// update brings the counts up to date and returns them by location. The
// map is never changed afterwards.
func (c *counter) update(ctx context.Context, st store.Store) (map[string]rankr.Counts, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		snap, at, err := st.CountsSnapshot(ctx)
		switch {
		case err == nil && time.Since(at) < snapshotMaxAge:
			c.now, c.saved = snap, snap.Seq
		case err != nil && !errors.Is(err, rankr.ErrNotFound):
			return nil, err
		}
		c.loaded = true
	}
	next, err := st.CountsSince(ctx, c.now)
	if err != nil {
		return nil, err
	}
	c.now = next
	if next.Recounted || next.Seq-c.saved >= snapshotEvery {
		// A failed save costs only a slower next start: the counts stand.
		if err := st.CountsSave(ctx, next, time.Now()); err == nil {
			c.saved = next.Seq
		}
	}
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
