package syncer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// What a targeted refresh can fetch.
const (
	RefreshOrder             = "order"              // the order, then its fulfillments if they changed
	RefreshOrderTransactions = "order_transactions" // the payments of an order
	RefreshOrderFulfillments = "order_fulfillments" // an order's fulfillments, when its status says they changed
	RefreshTransaction       = "transaction"
	RefreshSubscription      = "subscription"
	RefreshInvoice           = "invoice"
	// RefreshPayments reads a location's payments again from a time, in
	// one pass over GHL's transactions list, whatever orders they are for.
	RefreshPayments = "payments"
)

// How webhooks' orders have their payments followed up. GHL sends no
// webhooks for payments, and an order names none of its transactions, so
// each order's payments would cost a call (GET /payments/transactions?
// entityId=…), and a burst of orders would spend the location's whole
// budget. Instead, the orders created within paymentsReach are covered by one
// pass over the transactions list, newest first, from the oldest of them
// less paymentsMargin: a burst costs the pages its payments fill. Older
// orders are within the poll window, whose next pass reads their payments
// anyway; only those so old that polling may not reach them (older than
// half the window) get a call each, as before.
const (
	// paymentsReach bounds how far back a payments pass reaches, so that a
	// late webhook for an older order cannot make it page through hours.
	paymentsReach = 15 * time.Minute
	// paymentsMargin is how much earlier than its order a payment may be
	// stamped: GHL stamps both, on servers whose clocks may differ a little.
	// Polling heals what a larger difference hides.
	paymentsMargin = 10 * time.Second
)

// FollowUpWindow is how finely follow-ups are told apart by when the
// changes they follow happened: the payments of orders changed within one
// window are read in one pass (see jobs, which runs one job per window).
const FollowUpWindow = 5 * time.Second

// orderFollowUps says what must follow webhooks that stored orders (orders
// came from the webhooks evs[at[k]]): a payments pass for the location's
// recent orders (see paymentsReach), one per FollowUpWindow they changed
// in (a burst makes one, or two when it straddles windows), a payments
// refresh for each order beyond polling's reach, and a fulfillments refresh for each order whose
// fulfillment status says there are new ones (GHL has no fulfillments list
// across orders). Each follow-up is named once, however many of the
// webhooks were for the same order.
func (s *Syncer) orderFollowUps(loc string, orders []store.OrderVersion, at []int, evs []rankr.InboxEvent, work []store.OrderWork) []FollowUp {
	now := s.opts.Now()
	announced := map[string]time.Time{} // per order
	// One payments pass per FollowUpWindow the recent orders changed in,
	// so that the batches a burst is applied in agree on their passes. The
	// orders created in the window or the one before (a new order, paid as
	// it is made) share a pass from a fixed time, the window's start less
	// FollowUpWindow and paymentsMargin, however close to a window's edge
	// each was made; the older ones have a pass reaching back to the
	// oldest of them.
	type pass struct {
		window time.Time
		fresh  bool
	}
	passes := map[pass]*FollowUp{}
	var order []pass
	var old []string
	isOld := map[string]bool{}
	for k, v := range orders {
		id, created := v.Order.ID, v.Order.CreatedAt
		// When the change happened: GHL's timestamp says when the webhook
		// was sent (a clock ahead of ours, or no timestamp, is bounded by
		// its receipt), and the order it carries was last updated no later:
		// a burst GHL takes a while to deliver (2,000 orders made at once,
		// sent over 12 s) still falls in the window it happened in, and
		// costs one pass, not one per window its delivery spans.
		ev := evs[at[k]]
		changed := cmp.Or(ev.ReceivedAt, now)
		if !ev.EventAt.IsZero() && ev.EventAt.Before(changed) {
			changed = ev.EventAt
		}
		if u := v.Order.UpdatedAt; !u.IsZero() && u.Before(changed) {
			changed = u
		}
		if changed.After(announced[id]) {
			announced[id] = changed
		}
		switch {
		case !created.IsZero() && !created.Before(now.Add(-paymentsReach)):
			w := changed.UTC().Truncate(FollowUpWindow)
			from := w.Add(-FollowUpWindow)
			key := pass{w, !created.Before(from)}
			if !key.fresh {
				from = created
			}
			p := passes[key]
			if p == nil {
				p = &FollowUp{LocationID: loc, Kind: RefreshPayments, Since: from, Announced: changed}
				passes[key] = p
				order = append(order, key)
			}
			if from.Before(p.Since) {
				p.Since = from
			}
			if changed.After(p.Announced) {
				p.Announced = changed
			}
		case !created.IsZero() && !created.Before(now.Add(-s.opts.PollWindow/2)):
			// The next poll reads the payments of this order: it re-reads
			// the whole window every interval.
		case !isOld[id]:
			isOld[id] = true
			old = append(old, id)
		}
	}
	var out []FollowUp
	for _, key := range order {
		p := passes[key]
		p.Since = p.Since.Add(-paymentsMargin)
		out = append(out, *p)
	}
	for _, id := range old {
		out = append(out, FollowUp{LocationID: loc, Kind: RefreshOrderTransactions, ID: id, Announced: announced[id]})
	}
	seen := map[string]bool{}
	for _, w := range work {
		if w.NeedsFulfillments && !seen[w.ID] {
			seen[w.ID] = true
			out = append(out, FollowUp{LocationID: loc, Kind: RefreshOrderFulfillments, ID: w.ID, Announced: announced[w.ID]})
		}
	}
	return out
}

// FollowUp runs a refresh that webhooks called for, in the lane it
// deserves in the location's budget. A payments pass is a few pages that
// stand for a whole burst of orders: it goes before polling. Per-order
// refreshes (fulfillments, and the payments of old orders) can come by the
// thousand after a bulk change in GHL: they share polling's lane, first
// come first served, so that they never starve it.
func (s *Syncer) FollowUp(ctx context.Context, f FollowUp) error {
	if f.Kind == RefreshPayments {
		return s.RefreshPayments(ctx, f.LocationID, f.Since)
	}
	return s.refresh(ctx, f.LocationID, f.Kind, f.ID, ghl.PriorityNormal)
}

// RefreshPayments reads, in one pass over the transactions list, every
// payment of a location created since a time, and stores what changed (and
// through it the payment status of the orders they pay).
func (s *Syncer) RefreshPayments(ctx context.Context, loc string, since time.Time) error {
	_, client, err := s.connection(ctx, loc)
	if err != nil {
		return err
	}
	if since.IsZero() {
		return fmt.Errorf("%w: a payments refresh needs the time to read from", rankr.ErrInvalid)
	}
	ctx = ghl.WithPriority(ctx, ghl.PriorityHigh)
	if err := s.transactionsSince(ctx, client, loc, since); err != nil {
		return s.finish(ctx, loc, fmt.Errorf("refreshing the payments since %s: %w", since.UTC().Format(time.RFC3339), err))
	}
	return nil
}

// Refresh fetches one record now, ahead of polling: someone is looking at
// it, or waiting for it. A record GHL no longer has is marked deleted.
func (s *Syncer) Refresh(ctx context.Context, loc, kind, id string) error {
	return s.refresh(ctx, loc, kind, id, ghl.PriorityHigh)
}

func (s *Syncer) refresh(ctx context.Context, loc, kind, id string, prio ghl.Priority) error {
	_, client, err := s.connection(ctx, loc)
	if err != nil {
		return err
	}
	ctx = ghl.WithPriority(ctx, prio)
	if kind == RefreshOrderTransactions {
		err := pages(client.Transactions(ctx, ghl.ListTransactionsParams{LocationID: loc, EntityID: id, Limit: s.opts.PageSize}),
			s.opts.PageSize, func(batch []ghl.Transaction) error { return s.storeTransactions(ctx, loc, batch, time.Time{}, nil) })
		if err != nil {
			return s.finish(ctx, loc, fmt.Errorf("refreshing the transactions of order %s: %w", id, err))
		}
		return s.finishRefused(ctx, loc)
	}
	if kind == RefreshOrderFulfillments {
		if err := s.completeOrders(ctx, client, loc, []string{id}); err != nil {
			return s.finish(ctx, loc, err)
		}
		return s.finishRefused(ctx, loc)
	}
	recordType := map[string]string{RefreshOrder: rankr.RecordOrder, RefreshTransaction: rankr.RecordTransaction,
		RefreshSubscription: rankr.RecordSubscription, RefreshInvoice: rankr.RecordInvoice}[kind]
	if recordType == "" {
		return fmt.Errorf("%w: unknown refresh kind %q", rankr.ErrInvalid, kind)
	}
	exists, err := s.refetch(ctx, client, loc, recordType, id, time.Time{})
	if err != nil {
		return s.finish(ctx, loc, err)
	}
	if !exists {
		return s.store.RecordMarkDeleted(ctx, store.MarkDeletedParams{LocationID: loc, RecordType: recordType, ID: id, At: s.opts.Now()})
	}
	return s.finishRefused(ctx, loc)
}

// refetch fetches one record by id and stores it (marked seen at seen, when
// set). It reports false when GHL does not have it.
func (s *Syncer) refetch(ctx context.Context, client *ghl.Client, loc, recordType, id string, seen time.Time) (bool, error) {
	var err error
	switch recordType {
	case rankr.RecordOrder:
		var d *ghl.OrderDetail
		if d, err = client.GetOrder(ctx, loc, id); err == nil {
			// A record refused exists in GHL all the same: it is neither
			// stored nor marked deleted (see admit).
			if o, a := orderDetail(loc, *d, responseKeys); s.admit(loc, a) {
				_, err = s.store.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, SeenAt: seen, Now: s.opts.Now(),
					Orders: []store.OrderVersion{{Order: o, Detail: true}}})
				if err == nil {
					err = s.completeOrders(ctx, client, loc, []string{id})
				}
			}
		}
	case rankr.RecordTransaction:
		var d *ghl.TransactionDetail
		if d, err = client.GetTransaction(ctx, loc, id); err == nil {
			if x, a := transactionDetail(loc, *d); s.admit(loc, a) {
				_, err = s.store.TransactionUpsert(ctx, store.TransactionUpsertParams{LocationID: loc, SeenAt: seen, Now: s.opts.Now(),
					Transactions: []rankr.Transaction{x}})
			}
		}
	case rankr.RecordSubscription:
		var d *ghl.SubscriptionDetail
		if d, err = client.GetSubscription(ctx, loc, id); err == nil {
			if x, a := subscriptionDetail(loc, *d); s.admit(loc, a) {
				_, err = s.store.SubscriptionUpsert(ctx, store.SubscriptionUpsertParams{LocationID: loc, SeenAt: seen, Now: s.opts.Now(),
					Subscriptions: []store.SubscriptionVersion{{Subscription: x, Detail: true}}})
			}
		}
	case rankr.RecordInvoice:
		var d *ghl.Invoice
		if d, err = client.GetInvoice(ctx, loc, id); err == nil {
			if x, a := invoice(loc, *d); s.admit(loc, a) {
				_, err = s.store.InvoiceUpsert(ctx, store.InvoiceUpsertParams{LocationID: loc, SeenAt: seen, Now: s.opts.Now(),
					Invoices: []rankr.Invoice{x}})
			}
		}
	case rankr.RecordProduct:
		err = s.refetchProduct(ctx, client, loc, id, seen)
	case rankr.RecordPrice:
		err = s.refetchPrice(ctx, client, loc, id, seen)
	default:
		return false, fmt.Errorf("%w: records of type %q cannot be fetched", rankr.ErrInvalid, recordType)
	}
	if errors.Is(err, ghl.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("refreshing %s %s: %w", recordType, id, err)
	}
	return true, nil
}
