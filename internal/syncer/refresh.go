package syncer

import (
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
)

// Refresh fetches one record now, ahead of polling: a webhook said it
// changed, or someone is looking at it. A record GHL no longer has is marked
// deleted.
func (s *Syncer) Refresh(ctx context.Context, loc, kind, id string) error {
	_, client, err := s.connection(ctx, loc)
	if err != nil {
		return err
	}
	ctx = ghl.WithPriority(ctx, ghl.PriorityHigh)
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
