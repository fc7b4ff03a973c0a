package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Cursor names.
const (
	cursorBackfill = "backfill"
	cursorWalk     = "walk"
	cursorPoll     = "poll"
)

// The phases of a walk, in order.
const (
	phaseOrders        = "orders"
	phaseTransactions  = "transactions"
	phaseSubscriptions = "subscriptions"
	phaseSubDetails    = "subscription details"
	phaseInvoices      = "invoices"
	phaseProducts      = "products"
	phaseDeletions     = "deletions"
	phaseDone          = "done"
)

// walkCursor is the checkpoint of a backfill or a full walk.
type walkCursor struct {
	Phase     string    `json:"phase"`
	Offset    int       `json:"offset"`
	StartedAt time.Time `json:"startedAt"`
	DoneAt    time.Time `json:"doneAt,omitzero"`
}

func (s *Syncer) loadCursor(ctx context.Context, loc, name string, v any) (bool, error) {
	c, err := s.store.CursorGet(ctx, loc, name)
	if errors.Is(err, rankr.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(c.Value, v); err != nil {
		return false, fmt.Errorf("cursor %s of %s is unreadable: %w", name, loc, err)
	}
	return true, nil
}

func cursorOf(loc, name string, v any) *rankr.Cursor {
	b, _ := json.Marshal(v)
	return &rankr.Cursor{LocationID: loc, Name: name, Value: b}
}

// Backfill syncs everything GHL holds for a location, resuming from its
// checkpoint. It returns done=false when Options.Slice ran out first; call
// it again to go on. A finished backfill returns done=true at once.
func (s *Syncer) Backfill(ctx context.Context, loc string) (done bool, err error) {
	done, err = s.walk(ctx, loc, cursorBackfill, false)
	return done, s.finish(ctx, loc, err)
}

// FullWalk walks everything again to heal gaps the incremental passes left,
// and marks the records GHL no longer has as deleted. Like Backfill, it
// resumes, and returns done=false when its slice ran out.
func (s *Syncer) FullWalk(ctx context.Context, loc string) (done bool, err error) {
	done, err = s.walk(ctx, loc, cursorWalk, true)
	return done, s.finish(ctx, loc, err)
}

// BackfillDone reports whether a location's backfill has finished.
func (s *Syncer) BackfillDone(ctx context.Context, loc string) (bool, error) {
	var cur walkCursor
	ok, err := s.loadCursor(ctx, loc, cursorBackfill, &cur)
	return ok && !cur.DoneAt.IsZero(), err
}

func (s *Syncer) walk(ctx context.Context, loc, name string, deletions bool) (bool, error) {
	_, client, err := s.connection(ctx, loc)
	if err != nil {
		return false, err
	}
	var cur walkCursor
	found, err := s.loadCursor(ctx, loc, name, &cur)
	if err != nil {
		return false, err
	}
	switch {
	case found && !cur.DoneAt.IsZero() && name == cursorBackfill:
		return true, nil
	case !found || !cur.DoneAt.IsZero():
		cur = walkCursor{Phase: phaseOrders, StartedAt: s.opts.Now().UTC()}
		if err := s.store.CursorPut(ctx, *cursorOf(loc, name, cur)); err != nil {
			return false, err
		}
	}
	ctx = ghl.WithPriority(ctx, ghl.PriorityLow)
	var deadline time.Time
	if s.opts.Slice > 0 {
		deadline = s.opts.Now().Add(s.opts.Slice)
	}
	p := s.Progress(loc)
	w := &walker{s: s, client: client, loc: loc, name: name, cur: &cur, p: p, deletions: deletions}
	for cur.Phase != phaseDone {
		if p.PhaseName() != name+": "+cur.Phase {
			p.Phase.Store(name + ": " + cur.Phase)
			p.PhaseDone.Store(int64(cur.Offset))
			p.PhaseTotal.Store(0)
		}
		if !deadline.IsZero() && s.opts.Now().After(deadline) {
			return false, nil // the checkpoint is saved after every page
		}
		var err error
		switch cur.Phase {
		case phaseOrders:
			err = w.ordersPage(ctx)
		case phaseTransactions:
			err = w.transactionsPage(ctx)
		case phaseSubscriptions:
			err = w.subscriptionsPage(ctx)
		case phaseSubDetails:
			err = w.next(ctx, s.subscriptionDetails(ctx, client, loc, time.Time{}))
		case phaseInvoices:
			err = w.invoicesPage(ctx)
		case phaseProducts:
			err = w.productsPage(ctx)
		case phaseDeletions:
			err = w.next(ctx, s.sweepDeletions(ctx, client, loc, cur.StartedAt))
		default:
			err = fmt.Errorf("cursor %s of %s is in an unknown phase %q", name, loc, cur.Phase)
		}
		if err != nil {
			return false, err
		}
	}
	p.Phase.Store(name + ": done")
	cur.DoneAt = s.opts.Now().UTC()
	if err := s.store.CursorPut(ctx, *cursorOf(loc, name, cur)); err != nil {
		return false, err
	}
	if name == cursorBackfill {
		// Incremental passes take over from when the backfill began: what
		// changed while it ran is in their window.
		return true, s.store.CursorPut(ctx, *cursorOf(loc, cursorPoll, pollCursor{LastStartedAt: cur.StartedAt}))
	}
	return true, nil
}

// walker pages through one walk.
type walker struct {
	s      *Syncer
	client *ghl.Client
	loc    string
	name   string
	cur    *walkCursor
	p      *Progress
	// deletions: this walk ends by looking for records deleted in GHL.
	deletions bool
}

var phaseOrder = []string{phaseOrders, phaseTransactions, phaseSubscriptions, phaseSubDetails, phaseInvoices, phaseProducts, phaseDeletions, phaseDone}

// advance moves to the next phase.
func (w *walker) advance() {
	i := slices.Index(phaseOrder, w.cur.Phase)
	w.cur.Phase, w.cur.Offset = phaseOrder[i+1], 0
	if w.cur.Phase == phaseDeletions && !w.deletions {
		w.cur.Phase = phaseDone
	}
}

// moved returns the checkpoint after a page of n records of total.
func (w *walker) moved(n, total int) *rankr.Cursor {
	w.cur.Offset += n
	w.p.PhaseDone.Store(int64(w.cur.Offset))
	w.p.PhaseTotal.Store(int64(total))
	if n == 0 || (total > 0 && w.cur.Offset >= total) {
		w.advance()
	}
	return cursorOf(w.loc, w.name, *w.cur)
}

// next finishes a phase that is not paged, when its work succeeded.
func (w *walker) next(ctx context.Context, err error) error {
	if err != nil {
		return err
	}
	w.advance()
	return w.s.store.CursorPut(ctx, *cursorOf(w.loc, w.name, *w.cur))
}

func (w *walker) ordersPage(ctx context.Context) error {
	page, err := w.client.ListOrders(ctx, ghl.ListOrdersParams{LocationID: w.loc, Limit: w.s.opts.PageSize, Offset: w.cur.Offset})
	if err != nil {
		return fmt.Errorf("listing orders at offset %d: %w", w.cur.Offset, err)
	}
	w.p.OrdersTotal.Store(int64(page.TotalCount))
	if err := w.s.storeOrderPage(ctx, w.client, w.loc, page.Items, true); err != nil {
		return err
	}
	// The page's orders, details and fulfillments are all in: only now
	// does the checkpoint move past them.
	return w.s.store.CursorPut(ctx, *w.moved(len(page.Items), page.TotalCount))
}

// storeOrderPage stores listed orders and fetches what they still need.
func (s *Syncer) storeOrderPage(ctx context.Context, client *ghl.Client, loc string, items []ghl.Order, seen bool) error {
	if len(items) == 0 {
		return nil
	}
	p := store.OrderUpsertParams{LocationID: loc, Now: s.opts.Now()}
	if seen {
		p.SeenAt = s.opts.Now()
	}
	ids := make([]string, 0, len(items))
	for _, o := range items {
		x, a := orderSummary(loc, o)
		if !s.admit(loc, a) {
			continue
		}
		p.Orders = append(p.Orders, store.OrderVersion{Order: x})
		ids = append(ids, o.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.store.OrderUpsert(ctx, p); err != nil {
		return fmt.Errorf("storing orders: %w", err)
	}
	s.Progress(loc).Orders.Add(int64(len(ids)))
	return s.completeOrders(ctx, client, loc, ids)
}

// completeOrders fetches the details and fulfillments the orders need.
func (s *Syncer) completeOrders(ctx context.Context, client *ghl.Client, loc string, ids []string) error {
	work, err := s.store.OrderWork(ctx, loc, ids)
	if err != nil {
		return err
	}
	var details []string
	for _, w := range work {
		if w.NeedsDetail {
			details = append(details, w.ID)
		}
	}
	// Details are stored a chunk at a time, so that an interrupted page
	// keeps most of what it fetched.
	chunk := s.opts.Workers * 4
	for start := 0; start < len(details); start += chunk {
		if err := s.fetchDetails(ctx, client, loc, details[start:min(start+chunk, len(details))]); err != nil {
			return err
		}
	}
	// The details may have shown newer fulfillment statuses: ask again.
	if len(details) > 0 {
		if work, err = s.store.OrderWork(ctx, loc, ids); err != nil {
			return err
		}
	}
	var fulfil []store.OrderWork
	for _, w := range work {
		if w.NeedsFulfillments {
			fulfil = append(fulfil, w)
		}
	}
	return parallel(ctx, s.opts.Workers, fulfil, func(ctx context.Context, w store.OrderWork) error {
		return s.syncFulfillments(ctx, client, loc, w.ID, w.UpdatedAt)
	})
}

// fetchDetails fetches orders by id, in parallel, and stores them together.
func (s *Syncer) fetchDetails(ctx context.Context, client *ghl.Client, loc string, ids []string) error {
	var mu sync.Mutex
	var versions []store.OrderVersion
	err := parallel(ctx, s.opts.Workers, ids, func(ctx context.Context, id string) error {
		d, err := client.GetOrder(ctx, loc, id)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, ghl.ErrNotFound):
			// Deleted since it was listed: the next full walk confirms it.
			s.log.Info("order vanished between list and fetch", "location", loc, "order", id)
			return nil
		case err != nil:
			return fmt.Errorf("fetching order %s: %w", id, err)
		}
		// A detail refused leaves the order needing it: the next pass
		// that lists the order asks again.
		if o, a := orderDetail(loc, *d, responseKeys); s.admit(loc, a) {
			versions = append(versions, store.OrderVersion{Order: o, Detail: true})
		}
		return nil
	})
	if len(versions) > 0 {
		// Keep what arrived even when another fetch failed.
		if _, serr := s.store.OrderUpsert(context.WithoutCancel(ctx), store.OrderUpsertParams{LocationID: loc, Orders: versions, Now: s.opts.Now()}); serr != nil {
			return errors.Join(err, fmt.Errorf("storing order details: %w", serr))
		}
	}
	return err
}

func (s *Syncer) syncFulfillments(ctx context.Context, client *ghl.Client, loc, orderID string, version time.Time) error {
	fs, err := client.ListFulfillments(ctx, loc, orderID)
	if errors.Is(err, ghl.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing the fulfillments of order %s: %w", orderID, err)
	}
	p := store.FulfillmentSyncParams{LocationID: loc, OrderID: orderID, OrderUpdatedAt: version, Now: s.opts.Now()}
	for _, f := range fs {
		x, a := fulfillment(loc, orderID, f)
		if !s.admit(loc, a) {
			// The list is stored whole or not at all; unstored, the order
			// still needs its fulfillments, and the next pass asks again.
			return nil
		}
		p.Fulfillments = append(p.Fulfillments, x)
	}
	res, err := s.store.FulfillmentSync(ctx, p)
	if err != nil {
		return fmt.Errorf("storing the fulfillments of order %s: %w", orderID, err)
	}
	s.Progress(loc).Fulfillments.Add(int64(len(res.Created)))
	return nil
}

func (w *walker) transactionsPage(ctx context.Context) error {
	page, err := w.client.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: w.loc, Limit: w.s.opts.PageSize, Offset: w.cur.Offset})
	if err != nil {
		return fmt.Errorf("listing transactions at offset %d: %w", w.cur.Offset, err)
	}
	return w.s.storeTransactions(ctx, w.loc, page.Items, w.s.opts.Now(), w.moved(len(page.Items), page.TotalCount))
}

func (s *Syncer) storeTransactions(ctx context.Context, loc string, items []ghl.Transaction, seen time.Time, cp *rankr.Cursor) error {
	p := store.TransactionUpsertParams{LocationID: loc, SeenAt: seen, Checkpoint: cp, Now: s.opts.Now()}
	for _, t := range items {
		if x, a := transaction(loc, t); s.admit(loc, a) {
			p.Transactions = append(p.Transactions, x)
		}
	}
	if len(p.Transactions) == 0 && cp == nil {
		return nil
	}
	if len(p.Transactions) == 0 {
		return s.store.CursorPut(ctx, *cp)
	}
	if _, err := s.store.TransactionUpsert(ctx, p); err != nil {
		return fmt.Errorf("storing transactions: %w", err)
	}
	s.Progress(loc).Transactions.Add(int64(len(p.Transactions)))
	return nil
}

func (w *walker) subscriptionsPage(ctx context.Context) error {
	page, err := w.client.ListSubscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: w.loc, Limit: w.s.opts.PageSize, Offset: w.cur.Offset})
	if err != nil {
		return fmt.Errorf("listing subscriptions at offset %d: %w", w.cur.Offset, err)
	}
	return w.s.storeSubscriptions(ctx, w.loc, page.Items, w.s.opts.Now(), w.moved(len(page.Items), page.TotalCount))
}

func (s *Syncer) storeSubscriptions(ctx context.Context, loc string, items []ghl.Subscription, seen time.Time, cp *rankr.Cursor) error {
	p := store.SubscriptionUpsertParams{LocationID: loc, SeenAt: seen, Checkpoint: cp, Now: s.opts.Now()}
	for _, x := range items {
		if sub, a := subscriptionSummary(loc, x); s.admit(loc, a) {
			p.Subscriptions = append(p.Subscriptions, store.SubscriptionVersion{Subscription: sub})
		}
	}
	if len(p.Subscriptions) == 0 {
		if cp != nil {
			return s.store.CursorPut(ctx, *cp)
		}
		return nil
	}
	if _, err := s.store.SubscriptionUpsert(ctx, p); err != nil {
		return fmt.Errorf("storing subscriptions: %w", err)
	}
	s.Progress(loc).Subscriptions.Add(int64(len(p.Subscriptions)))
	return nil
}

// subscriptionDetails fetches every subscription detail the store asks for
// (new, changed, or charged since), marking the records seen at seen when
// it is set.
func (s *Syncer) subscriptionDetails(ctx context.Context, client *ghl.Client, loc string, seen time.Time) error {
	tried := map[string]bool{}
	for {
		ids, err := s.store.SubscriptionsNeedingDetail(ctx, loc, 200)
		if err != nil {
			return err
		}
		// A detail GHL serves older than its list keeps being asked for:
		// fetch each once per pass, not in a loop.
		ids = slices.DeleteFunc(ids, func(id string) bool { return tried[id] })
		if len(ids) == 0 {
			return nil
		}
		var mu sync.Mutex
		var versions []store.SubscriptionVersion
		err = parallel(ctx, s.opts.Workers, ids, func(ctx context.Context, id string) error {
			d, err := client.GetSubscription(ctx, loc, id)
			mu.Lock()
			defer mu.Unlock()
			tried[id] = true
			switch {
			case errors.Is(err, ghl.ErrNotFound):
				return nil
			case err != nil:
				return fmt.Errorf("fetching subscription %s: %w", id, err)
			}
			// Refused, it still needs its detail: the next pass asks again.
			if sub, a := subscriptionDetail(loc, *d); s.admit(loc, a) {
				versions = append(versions, store.SubscriptionVersion{Subscription: sub, Detail: true})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(versions) > 0 {
			if _, err := s.store.SubscriptionUpsert(ctx, store.SubscriptionUpsertParams{LocationID: loc, Subscriptions: versions,
				SeenAt: seen, Now: s.opts.Now()}); err != nil {
				return fmt.Errorf("storing subscription details: %w", err)
			}
		}
	}
}

func (w *walker) invoicesPage(ctx context.Context) error {
	page, err := w.client.ListInvoices(ctx, ghl.ListInvoicesParams{LocationID: w.loc, Limit: w.s.opts.PageSize, Offset: w.cur.Offset})
	if err != nil {
		return fmt.Errorf("listing invoices at offset %d: %w", w.cur.Offset, err)
	}
	return w.s.storeInvoices(ctx, w.loc, page.Items, w.s.opts.Now(), w.moved(len(page.Items), page.TotalCount))
}

func (s *Syncer) storeInvoices(ctx context.Context, loc string, items []ghl.Invoice, seen time.Time, cp *rankr.Cursor) error {
	p := store.InvoiceUpsertParams{LocationID: loc, SeenAt: seen, Checkpoint: cp, Now: s.opts.Now()}
	for _, x := range items {
		if v, a := invoice(loc, x); s.admit(loc, a) {
			p.Invoices = append(p.Invoices, v)
		}
	}
	if len(p.Invoices) == 0 {
		if cp != nil {
			return s.store.CursorPut(ctx, *cp)
		}
		return nil
	}
	if _, err := s.store.InvoiceUpsert(ctx, p); err != nil {
		return fmt.Errorf("storing invoices: %w", err)
	}
	s.Progress(loc).Invoices.Add(int64(len(p.Invoices)))
	return nil
}

// sweepDeletions checks every record no list showed since the walk began: a
// record GHL no longer serves is marked deleted; one it does serve (a list
// skipped it while data shifted) is stored again and kept.
func (s *Syncer) sweepDeletions(ctx context.Context, client *ghl.Client, loc string, since time.Time) error {
	kinds := []string{rankr.RecordOrder, rankr.RecordTransaction, rankr.RecordSubscription, rankr.RecordInvoice}
	// The catalog is swept only when the walk could list it: a product
	// (then its prices, which its refetch lists again) before prices.
	switch gap := s.catalogGapOf(loc); {
	case !gap.products && !gap.prices:
		kinds = append(kinds, rankr.RecordProduct, rankr.RecordPrice)
	case !gap.products:
		kinds = append(kinds, rankr.RecordProduct)
	}
	for _, kind := range kinds {
		checked := map[string]bool{}
		for {
			ids, err := s.store.RecordsUnseenSince(ctx, store.UnseenParams{LocationID: loc, RecordType: kind, Since: since, Limit: 500})
			if err != nil {
				return err
			}
			ids = slices.DeleteFunc(ids, func(id string) bool { return checked[id] })
			if len(ids) == 0 {
				break
			}
			err = parallel(ctx, s.opts.Workers, ids, func(ctx context.Context, id string) error {
				exists, err := s.refetch(ctx, client, loc, kind, id, s.opts.Now())
				if err != nil {
					return err
				}
				if !exists {
					s.Progress(loc).Deleted.Add(1)
					s.log.Info("record deleted in GHL", "location", loc, "type", kind, "id", id)
					return s.store.RecordMarkDeleted(ctx, store.MarkDeletedParams{LocationID: loc, RecordType: kind, ID: id, At: s.opts.Now()})
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, id := range ids {
				checked[id] = true
			}
		}
	}
	return nil
}
