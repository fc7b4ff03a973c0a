package syncer

import (
	"context"
	"fmt"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
)

// pollCursor is the checkpoint of incremental polling.
type pollCursor struct {
	LastStartedAt time.Time `json:"lastStartedAt"`
}

// ErrBackfillPending means a location cannot be polled before its backfill
// has finished.
var ErrBackfillPending = fmt.Errorf("%w: the backfill has not finished", rankr.ErrConflict)

// Poll is one incremental pass: GHL has no "updated since" filter, so it
// re-reads every list from a window before the previous pass began (the
// overlap) or PollWindow ago, whichever is earlier, and stores what changed.
// Its checkpoint moves only when the pass completes.
func (s *Syncer) Poll(ctx context.Context, loc string) error {
	return s.finish(ctx, loc, s.poll(ctx, loc))
}

func (s *Syncer) poll(ctx context.Context, loc string) error {
	_, client, err := s.connection(ctx, loc)
	if err != nil {
		return err
	}
	var cur pollCursor
	ok, err := s.loadCursor(ctx, loc, cursorPoll, &cur)
	if err != nil {
		return err
	}
	if !ok {
		return ErrBackfillPending
	}
	start := s.opts.Now().UTC()
	since := start.Add(-s.opts.PollWindow)
	if last := cur.LastStartedAt.Add(-s.opts.Overlap); last.Before(since) {
		since = last
	}
	ctx = ghl.WithPriority(ctx, ghl.PriorityNormal)
	p := s.Progress(loc)
	size := s.opts.PageSize

	p.Phase.Store("poll: orders")
	if err := pages(client.Orders(ctx, ghl.ListOrdersParams{LocationID: loc, StartAt: since, Limit: size}), size,
		func(batch []ghl.Order) error { return s.storeOrderPage(ctx, client, loc, batch, false) }); err != nil {
		return fmt.Errorf("polling orders: %w", err)
	}

	p.Phase.Store("poll: transactions")
	if err := s.transactionsSince(ctx, client, loc, since); err != nil {
		return fmt.Errorf("polling transactions: %w", err)
	}
	p.Phase.Store("poll: subscriptions")
	if err := pages(client.Subscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: loc, StartAt: since, Limit: size}), size,
		func(batch []ghl.Subscription) error { return s.storeSubscriptions(ctx, loc, batch, time.Time{}, nil) }); err != nil {
		return fmt.Errorf("polling subscriptions: %w", err)
	}
	// Renewals of older subscriptions arrive as new transactions; they
	// marked their subscriptions, whose details come now.
	if err := s.subscriptionDetails(ctx, client, loc, time.Time{}); err != nil {
		return err
	}
	p.Phase.Store("poll: invoices")
	if err := pages(client.Invoices(ctx, ghl.ListInvoicesParams{LocationID: loc, StartAt: since, Limit: size}), size,
		func(batch []ghl.Invoice) error { return s.storeInvoices(ctx, loc, batch, time.Time{}, nil) }); err != nil {
		return fmt.Errorf("polling invoices: %w", err)
	}
	p.Phase.Store("poll: done")
	return s.store.CursorPut(ctx, *cursorOf(loc, cursorPoll, pollCursor{LastStartedAt: start}))
}

// transactionsSince re-reads every transaction created since a time and
// stores what changed. GHL's date filter has only the day, but its list is
// newest first: the pass stops at the first transaction older than since,
// so that a window of minutes costs the pages of those minutes, not of the
// whole day. Polling and the payments pass after webhooks both read
// transactions this way.
func (s *Syncer) transactionsSince(ctx context.Context, client *ghl.Client, loc string, since time.Time) error {
	size := s.opts.PageSize
	return pagesWhile(client.Transactions(ctx, ghl.ListTransactionsParams{LocationID: loc, StartAt: since, Limit: size}), size,
		func(t ghl.Transaction) bool { return t.CreatedAt.IsZero() || !t.CreatedAt.Before(since) },
		func(batch []ghl.Transaction) error { return s.storeTransactions(ctx, loc, batch, time.Time{}, nil) })
}

// pages groups an iterator's records into batches of size for store.
func pages[T any](seq func(func(T, error) bool), size int, store func([]T) error) error {
	return pagesWhile(seq, size, nil, store)
}

// pagesWhile is pages that stops at the first record keep refuses (nil
// keeps every record): no further page is asked for.
func pagesWhile[T any](seq func(func(T, error) bool), size int, keep func(T) bool, store func([]T) error) error {
	batch := make([]T, 0, size)
	for v, err := range seq {
		if err != nil {
			return err
		}
		if keep != nil && !keep(v) {
			break
		}
		if batch = append(batch, v); len(batch) == size {
			if err := store(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return store(batch)
}
