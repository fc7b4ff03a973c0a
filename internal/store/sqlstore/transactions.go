package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

type txnState struct {
	version
	status           string
	amount, refunded int64
	deleted          bool
}

func (t *tx) txnStates(ctx context.Context, loc string, ids []string) (map[string]*txnState, error) {
	return lockStates(ctx, t, `SELECT id, updated_at, content_hash, status, amount, amount_refunded,
		deleted_at IS NOT NULL FROM transactions WHERE location_id = ? AND id IN (%s)`, loc, ids,
		func(r scanner) (string, *txnState, error) {
			var id string
			st := &txnState{}
			err := r.Scan(&id, &st.at, &st.hash, &st.status, &st.amount, &st.refunded, &st.deleted)
			return id, st, err
		})
}

func txnHash(t rankr.Transaction) string {
	return contentHash(t.EntityType, t.EntityID, t.OrderID, t.InvoiceID, t.SubscriptionID, t.ContactID, t.Amount,
		t.AmountRefunded, t.Currency, t.Status, t.LiveMode, t.Provider, t.ChargeID, t.CreatedAt.UnixMilli())
}

// TransactionUpsert stores a batch of transactions; see store.Store.
func (s *Store) TransactionUpsert(ctx context.Context, p store.TransactionUpsertParams) (store.UpsertResult, error) {
	ids := make([]string, len(p.Transactions))
	for i, t := range p.Transactions {
		ids[i] = t.ID
		if t.UpdatedAt.IsZero() {
			return store.UpsertResult{}, invalid("transaction %s has no updatedAt", t.ID)
		}
	}
	if err := validateBatch(p.LocationID, ids); err != nil {
		return store.UpsertResult{}, err
	}
	now := cmp.Or(p.Now, time.Now())
	var res store.UpsertResult
	err := s.inTx(ctx, func(t *tx) error {
		res = store.UpsertResult{}
		states, err := t.txnStates(ctx, p.LocationID, ids)
		if err != nil {
			return err
		}
		settle := map[string]bool{}
		for _, x := range p.Transactions {
			if err := t.upsertTxn(ctx, p.LocationID, x, states, settle, now, &res); err != nil {
				return fmt.Errorf("transaction %s: %w", x.ID, err)
			}
		}
		// Payment statuses follow the money, after all of the batch is in.
		orders := make([]string, 0, len(settle))
		for id := range settle {
			orders = append(orders, id)
		}
		slices.Sort(orders)
		for _, id := range orders {
			n, err := t.settleOrder(ctx, p.LocationID, id, now)
			if err != nil {
				return err
			}
			res.Events += n
		}
		if err := t.markSeen(ctx, "transactions", p.LocationID, ids, p.SeenAt); err != nil {
			return err
		}
		return t.putCursor(ctx, p.Checkpoint, now)
	})
	return res, err
}

func (t *tx) upsertTxn(ctx context.Context, loc string, x rankr.Transaction, states map[string]*txnState, settle map[string]bool, now time.Time, res *store.UpsertResult) error {
	in := version{x.UpdatedAt.UnixMilli(), txnHash(x)}
	st, ok := states[x.ID]
	if !ok {
		var got string
		err := t.queryRow(ctx, `INSERT INTO transactions (location_id, id, entity_type, entity_id, order_id, invoice_id,
			subscription_id, contact_id, amount, amount_refunded, currency, status, live_mode, provider, charge_id, created_at,
			updated_at, content_hash, raw, inserted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (location_id, id) DO NOTHING RETURNING id`,
			loc, x.ID, x.EntityType, x.EntityID, x.OrderID, x.InvoiceID, x.SubscriptionID, x.ContactID, x.Amount,
			x.AmountRefunded, x.Currency, x.Status, x.LiveMode, x.Provider, x.ChargeID, x.CreatedAt.UnixMilli(), in.at, in.hash,
			string(x.Raw), now.UnixMilli()).Scan(&got)
		switch {
		case err == nil:
			states[x.ID] = &txnState{version: in, status: x.Status, amount: x.Amount, refunded: x.AmountRefunded}
			res.Created = append(res.Created, x.ID)
			res.Events++
			if x.OrderID != "" {
				settle[x.OrderID] = true
			}
			if err := t.appendEvent(ctx, loc, rankr.TransactionCreated, rankr.RecordTransaction, x.ID, now, map[string]any{
				"status": x.Status, "amount": x.Amount, "currency": x.Currency, "entityType": x.EntityType, "entityId": x.EntityID,
				"subscriptionId": x.SubscriptionID, "updatedAt": x.UpdatedAt,
			}); err != nil {
				return err
			}
			return t.noteSubscriptionCharge(ctx, loc, x, now, res)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		// Another writer inserted it since we looked: fall through to
		// compare with theirs (lockStates rereads it, now locked).
		again, err := t.txnStates(ctx, loc, []string{x.ID})
		if err != nil {
			return err
		}
		st = again[x.ID]
		states[x.ID] = st
	}
	switch in.compare(st.version) {
	case -1:
		res.Stale++
		return nil
	case 0:
		if st.deleted {
			res.Changed = append(res.Changed, x.ID)
			res.Events++
			return t.restore(ctx, "transactions", rankr.RecordTransaction, rankr.TransactionUpdated, loc, x.ID, now, &st.deleted)
		}
		res.Unchanged++
		return nil
	}
	c := changes{}
	c.note("status", st.status, x.Status)
	c.note("amount", st.amount, x.Amount)
	c.note("amountRefunded", st.refunded, x.AmountRefunded)
	if st.deleted {
		c.note("deleted", true, false)
	}
	if _, err := t.exec(ctx, `UPDATE transactions SET entity_type = ?, entity_id = ?, order_id = ?, invoice_id = ?,
		subscription_id = ?, contact_id = ?, amount = ?, amount_refunded = ?, currency = ?, status = ?, live_mode = ?, provider = ?,
		charge_id = ?, created_at = ?, updated_at = ?, content_hash = ?, raw = ?, deleted_at = NULL WHERE location_id = ? AND id = ?`,
		x.EntityType, x.EntityID, x.OrderID, x.InvoiceID, x.SubscriptionID, x.ContactID, x.Amount, x.AmountRefunded, x.Currency,
		x.Status, x.LiveMode, x.Provider, x.ChargeID, x.CreatedAt.UnixMilli(), in.at, in.hash, string(x.Raw), loc, x.ID); err != nil {
		return err
	}
	*st = txnState{version: in, status: x.Status, amount: x.Amount, refunded: x.AmountRefunded}
	if x.OrderID != "" && len(c) > 0 {
		settle[x.OrderID] = true
	}
	kind := c.kind([2]string{"status", rankr.TransactionStatusChanged})
	if kind == "" {
		kind = rankr.TransactionUpdated
	}
	res.Changed = append(res.Changed, x.ID)
	res.Events++
	return t.appendEvent(ctx, loc, kind, rankr.RecordTransaction, x.ID, now, map[string]any{"changes": c, "updatedAt": x.UpdatedAt})
}

// noteSubscriptionCharge marks the subscription a new charge belongs to as
// needing its detail (its next run moved), and records a renewal.
func (t *tx) noteSubscriptionCharge(ctx context.Context, loc string, x rankr.Transaction, now time.Time, res *store.UpsertResult) error {
	if x.SubscriptionID == "" {
		return nil
	}
	if _, err := t.exec(ctx, `UPDATE subscriptions SET needs_detail = ? WHERE location_id = ? AND id = ?`, true, loc, x.SubscriptionID); err != nil {
		return err
	}
	if x.EntityType != "subscription" || !x.Collected() {
		return nil // the first charge is the order's; failures are not renewals
	}
	res.Events++
	return t.appendEvent(ctx, loc, rankr.SubscriptionRenewed, rankr.RecordSubscription, x.SubscriptionID, now, map[string]any{
		"transactionId": x.ID, "amount": x.Amount, "currency": x.Currency, "paidAt": x.CreatedAt,
	})
}

const txnColumns = `location_id, id, entity_type, entity_id, order_id, invoice_id, subscription_id, contact_id, amount,
	amount_refunded, currency, status, live_mode, provider, charge_id, created_at, updated_at, deleted_at, raw`

func scanTxn(r scanner) (rankr.Transaction, error) {
	var x rankr.Transaction
	var created, updated int64
	var deleted sql.NullInt64
	var raw string
	err := r.Scan(&x.LocationID, &x.ID, &x.EntityType, &x.EntityID, &x.OrderID, &x.InvoiceID, &x.SubscriptionID, &x.ContactID,
		&x.Amount, &x.AmountRefunded, &x.Currency, &x.Status, &x.LiveMode, &x.Provider, &x.ChargeID, &created, &updated, &deleted, &raw)
	x.CreatedAt, x.UpdatedAt, x.DeletedAt, x.Raw = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC(), fromMS(deleted), []byte(raw)
	return x, err
}

// TransactionGet returns one transaction.
func (s *Store) TransactionGet(ctx context.Context, locationID, id string) (rankr.Transaction, error) {
	return getOne(ctx, s, "transaction", txnColumns, "transactions", locationID, id, scanTxn)
}

// TransactionList lists transactions newest first.
func (s *Store) TransactionList(ctx context.Context, p store.ListParams) ([]rankr.Transaction, error) {
	query, args := listQuery(txnColumns, "transactions", p, true)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing transactions: %w", unavailable(err))
	}
	return rowsOf(rows, scanTxn)
}

// getOne reads one record by id (and location, when given).
func getOne[T any](ctx context.Context, s *Store, what, columns, table, locationID, id string, scan func(scanner) (T, error)) (T, error) {
	query := `SELECT ` + columns + ` FROM ` + table + ` WHERE id = ?`
	args := []any{id}
	if locationID != "" {
		query += ` AND location_id = ?`
		args = append(args, locationID)
	}
	v, err := scan(s.db.QueryRowContext(ctx, s.q(query), args...))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, notFound(what + " " + id)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("reading %s %s: %w", what, id, unavailable(err))
	}
	return v, nil
}
