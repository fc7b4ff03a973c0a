package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
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
	now := cmp.Or(p.Now, time.Now())
	b := batch[rankr.Transaction]{loc: p.LocationID, what: "transaction", table: "transactions", items: p.Transactions,
		seen: p.SeenAt, checkpoint: p.Checkpoint, now: now,
		key: func(x rankr.Transaction) (string, time.Time) { return x.ID, x.UpdatedAt }}
	var states map[string]*txnState
	var settle map[string]bool
	return b.upsert(ctx, s,
		func(t *tx, ids []string) (err error) {
			settle = map[string]bool{}
			states, err = t.txnStates(ctx, p.LocationID, ids)
			return err
		},
		func(t *tx, x rankr.Transaction, res *store.UpsertResult) error {
			return t.upsertTxn(ctx, p.LocationID, x, states, settle, now, res)
		},
		// Payment statuses follow the money, once all of the batch is in.
		func(t *tx, res *store.UpsertResult) error {
			for _, id := range slices.Sorted(maps.Keys(settle)) {
				n, err := t.settleOrder(ctx, p.LocationID, id, now)
				if err != nil {
					return err
				}
				res.Events += n
			}
			return nil
		})
}

func (t *tx) upsertTxn(ctx context.Context, loc string, x rankr.Transaction, states map[string]*txnState, settle map[string]bool, now time.Time, res *store.UpsertResult) error {
	in := version{x.UpdatedAt.UnixMilli(), txnHash(x)}
	st, created, err := stored(states, x.ID,
		func() (bool, error) { return t.insertTxn(ctx, loc, x, in, now) },
		func(ids []string) (map[string]*txnState, error) { return t.txnStates(ctx, loc, ids) })
	if err != nil || created {
		// An error after the insert (its event) must not be lost: the
		// transaction is aborted, and retryable errors must reach inTx.
		if created && err == nil {
			states[x.ID] = &txnState{version: in, status: x.Status, amount: x.Amount, refunded: x.AmountRefunded}
			res.Created = append(res.Created, x.ID)
			res.Events++
			if x.OrderID != "" {
				settle[x.OrderID] = true
			}
			err = t.noteSubscriptionCharge(ctx, loc, x, now, res)
		}
		return err
	}
	if newer, err := t.olderOrSame(ctx, in, st.version, &st.deleted, "transactions", rankr.RecordTransaction, rankr.TransactionUpdated, loc, x.ID, now, res); !newer || err != nil {
		return err
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
	return t.changed(ctx, loc, rankr.RecordTransaction, x.ID, c, [][2]string{{"status", rankr.TransactionStatusChanged}},
		rankr.TransactionUpdated, x.UpdatedAt, now, res)
}

// insertTxn inserts a new transaction, with its event; false means another
// writer got there first.
func (t *tx) insertTxn(ctx context.Context, loc string, x rankr.Transaction, in version, now time.Time) (bool, error) {
	var got string
	err := t.queryRow(ctx, `INSERT INTO transactions (location_id, id, entity_type, entity_id, order_id, invoice_id,
		subscription_id, contact_id, amount, amount_refunded, currency, status, live_mode, provider, charge_id, created_at,
		updated_at, content_hash, raw, inserted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (location_id, id) DO NOTHING RETURNING id`,
		loc, x.ID, x.EntityType, x.EntityID, x.OrderID, x.InvoiceID, x.SubscriptionID, x.ContactID, x.Amount,
		x.AmountRefunded, x.Currency, x.Status, x.LiveMode, x.Provider, x.ChargeID, x.CreatedAt.UnixMilli(), in.at, in.hash,
		string(x.Raw), now.UnixMilli()).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, t.appendEvent(ctx, loc, rankr.TransactionCreated, rankr.RecordTransaction, x.ID, now, map[string]any{
		"status": x.Status, "amount": x.Amount, "currency": x.Currency, "entityType": x.EntityType, "entityId": x.EntityID,
		"subscriptionId": x.SubscriptionID, "updatedAt": x.UpdatedAt,
	})
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
	query, args := listQuery(txnColumns, transactionsTable, p)
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
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
	v, err := scan(s.read().QueryRowContext(ctx, s.q(query), args...))
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
