// Package syncer keeps Rankr's copy of each GHL location equal to GHL:
// a resumable backfill of everything, incremental polling over a trailing
// window (GHL's lists have no "updated since" filter), targeted refreshes of
// single records, and periodic full walks that heal gaps and find records
// deleted in GHL.
//
// It spends GHL's rate budget only where it buys information: list pages of
// the largest size; an order's detail only when the order is new or changed;
// its fulfillments only when its fulfillment status says there are new ones;
// transactions and subscriptions by list pages, never per order. Progress
// lives in the store (checkpoints and per-record work marks), so a process
// killed at any moment resumes where it stopped.
//
// The job queue calls into this package; this package knows nothing of it.
// It imports ghl, internal/rankr, internal/store and internal/vault of ours.
package syncer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Options tune the sync.
type Options struct {
	// PageSize is the list page size asked of GHL (default 100).
	PageSize int
	// PollWindow is how far back each incremental pass re-scans for changes
	// to existing records (default 72 h).
	PollWindow time.Duration
	// Overlap is added before the previous pass's start, so that nothing
	// created while it ran slips between passes (default 10 min).
	Overlap time.Duration
	// Workers is how many detail fetches run at once per location
	// (default 4); the rate governor paces them.
	Workers int
	// Slice bounds how long one Backfill or FullWalk call runs before it
	// returns to let other locations have the workers (0: until done).
	Slice time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger receives progress and errors (default: discarded).
	Logger *slog.Logger
}

// Syncer syncs locations.
type Syncer struct {
	store   store.Store
	clients *Clients
	opts    Options
	log     *slog.Logger

	appEvents AppEvents // see SetAppEvents

	mu       sync.Mutex
	progress map[string]*Progress
	refused  map[string]*refusals  // by location, until a pass finishes
	catalog  map[string]catalogGap // by location: the products scopes its token lacks
}

// New returns a syncer writing to st through clients.
func New(st store.Store, clients *Clients, opts Options) *Syncer {
	opts.PageSize = cmp.Or(opts.PageSize, ghl.DefaultPageSize)
	opts.PollWindow = cmp.Or(opts.PollWindow, 72*time.Hour)
	opts.Overlap = cmp.Or(opts.Overlap, 10*time.Minute)
	opts.Workers = cmp.Or(opts.Workers, 4)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Syncer{store: st, clients: clients, opts: opts, log: opts.Logger, progress: map[string]*Progress{}, refused: map[string]*refusals{},
		catalog: map[string]catalogGap{}}
}

// Clients returns the syncer's GHL clients.
func (s *Syncer) Clients() *Clients { return s.clients }

// Progress is a live view of a location's sync, for progress bars and the
// status page. Counters only grow.
type Progress struct {
	Phase         atomic.Value // string
	OrdersTotal   atomic.Int64 // as GHL reported it on the last page
	Orders        atomic.Int64 // order records written (listed or fetched)
	Fulfillments  atomic.Int64
	Transactions  atomic.Int64
	Subscriptions atomic.Int64
	Invoices      atomic.Int64
	Products      atomic.Int64
	Prices        atomic.Int64
	Deleted       atomic.Int64
	// Rounded counts amounts GHL sent with more decimals than their
	// currency has, rounded half away from zero; Refused counts records not
	// stored because a value could not be (see the log and the connection's
	// last sync error).
	Rounded atomic.Int64
	Refused atomic.Int64
	// PhaseDone and PhaseTotal measure the current paged phase: records
	// walked so far and the total GHL reported.
	PhaseDone  atomic.Int64
	PhaseTotal atomic.Int64
}

// PhaseName returns the current phase.
func (p *Progress) PhaseName() string {
	v, _ := p.Phase.Load().(string)
	return v
}

// Progress returns the live progress of a location.
func (s *Syncer) Progress(locationID string) *Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.progress[locationID]
	if !ok {
		p = &Progress{}
		p.Phase.Store("")
		s.progress[locationID] = p
	}
	return p
}

// ConnectionError means GHL refused the connection itself: syncing it again
// cannot succeed until someone fixes the token or its scopes.
type ConnectionError struct {
	State   rankr.ConnectionState
	Message string
	Err     error
}

func (e *ConnectionError) Error() string { return e.Message }
func (e *ConnectionError) Unwrap() error { return e.Err }

// classify turns GHL's refusals of the credential into a ConnectionError
// with what to do; other errors pass through.
func classify(locationID string, err error) error {
	var gerr *ghl.Error
	if !errors.As(err, &gerr) {
		return err
	}
	switch {
	case errors.Is(err, ghl.ErrMissingScope):
		scope := cmp.Or(gerr.Scope, "(unknown)")
		return &ConnectionError{State: rankr.StateMissingScope, Err: err, Message: fmt.Sprintf(
			"missing scope %s: GHL refused %s for location %s; add the scope to the Private Integration in GHL, then run `rankr connect` again",
			scope, gerr.Op, locationID)}
	case errors.Is(err, ghl.ErrUnauthorized):
		return &ConnectionError{State: rankr.StateTokenRejected, Err: err, Message: fmt.Sprintf(
			"token rejected: GHL answered 401 (%s) for location %s; create a new Private Integration Token and run `rankr connect` again",
			gerr.Message, locationID)}
	case errors.Is(err, ghl.ErrForbidden):
		return &ConnectionError{State: rankr.StateForbidden, Err: err, Message: fmt.Sprintf(
			"forbidden: the token may not act on location %s (%s); check that it belongs to this sub-account", locationID, gerr.Message)}
	}
	return err
}

// Client returns the GHL client of an active connection, or a
// ConnectionError saying why the location cannot be reached.
func (s *Syncer) Client(ctx context.Context, locationID string) (*ghl.Client, error) {
	_, c, err := s.connection(ctx, locationID)
	return c, err
}

// Classify turns GHL's refusals of a location's credential into a
// ConnectionError saying what to do; other errors pass through.
func Classify(locationID string, err error) error { return classify(locationID, err) }

// connection loads an active connection and its client.
func (s *Syncer) connection(ctx context.Context, locationID string) (rankr.Connection, *ghl.Client, error) {
	conn, err := s.store.ConnectionGet(ctx, locationID)
	if err != nil {
		return conn, nil, err
	}
	if conn.State != rankr.StateActive {
		return conn, nil, &ConnectionError{State: conn.State, Message: fmt.Sprintf("location %s is not synced: %s", locationID, conn.StateMessage)}
	}
	return conn, s.clients.For(conn), nil
}

// finish records the end of a pass on the connection: its error and the
// records refused since the last pass finished (which are not an error of
// the pass: it did what it could, and retrying it at once would refuse them
// again), and the connection's state when GHL refused the credential.
func (s *Syncer) finish(ctx context.Context, locationID string, err error) error {
	err = classify(locationID, err)
	if errors.Is(err, context.Canceled) {
		return err
	}
	// Record with a fresh context: the pass's own may be done.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var msgs []string
	if err != nil {
		msgs = append(msgs, err.Error())
	}
	if r := s.takeRefused(locationID); r != "" {
		msgs = append(msgs, r)
	}
	if n := s.catalogNote(locationID); n != "" {
		msgs = append(msgs, n)
	}
	msg := strings.Join(msgs, "; ")
	var cerr *ConnectionError
	if errors.As(err, &cerr) && cerr.Err != nil && cerr.State == rankr.StateTokenRejected {
		if conn, gerr := s.store.ConnectionGet(rctx, locationID); gerr == nil && conn.CredentialKind == "oauth" {
			// Refreshed and still refused: the install itself is gone.
			cerr.Message = fmt.Sprintf("token rejected: GHL answered 401 for location %s even after a refresh; install the app on the location again", locationID)
		}
	}
	if errors.As(err, &cerr) && cerr.Err != nil {
		if serr := s.store.ConnectionSetState(rctx, store.ConnectionSetStateParams{LocationID: locationID, State: cerr.State,
			Message: cerr.Message, Now: s.opts.Now()}); serr != nil {
			s.log.Error("recording the connection state", "location", locationID, "error", serr)
		}
		s.log.Error("connection stopped", "location", locationID, "state", cerr.State, "reason", cerr.Message)
	}
	if serr := s.store.ConnectionRecordSync(rctx, store.ConnectionRecordSyncParams{LocationID: locationID, At: s.opts.Now(), Error: msg}); serr != nil && !errors.Is(serr, rankr.ErrNotFound) {
		s.log.Error("recording the sync", "location", locationID, "error", serr)
	}
	return err
}

// parallel runs fn over items with at most n at once, stopping at the first
// error.
func parallel[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, it); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
