package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// chunk is how many ids go in one IN list: well under both databases' limit
// on query parameters.
const chunk = 400

// inChunks runs fn over ids (sorted, without duplicates) in chunks.
func inChunks(ids []string, fn func([]string) error) error {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		if err := fn(ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// ReconcilePosition reads where reconciliation stands.
func (s *Store) ReconcilePosition(ctx context.Context) (store.ReconcilePosition, error) {
	var p store.ReconcilePosition
	err := s.read().QueryRowContext(ctx, `SELECT seq, version FROM reconcile_position WHERE name = 'reconcile'`).Scan(&p.Seq, &p.Version)
	if err != nil {
		return p, fmt.Errorf("reading the reconciliation position: %w", unavailable(err))
	}
	return p, nil
}

// idSet is a set of ids.
type idSet map[string]bool

func (s idSet) add(ids ...string) {
	for _, id := range ids {
		if id != "" {
			s[id] = true
		}
	}
}

func (s idSet) list() []string { return slices.Sorted(maps.Keys(s)) }

// ReconcileLoad reads the named records and everything they touch.
func (s *Store) ReconcileLoad(ctx context.Context, p store.ReconcileLoadParams) (store.ReconcileData, error) {
	d := store.ReconcileData{OrderByID: map[string]rankr.Order{}, InvoiceByID: map[string]rankr.Invoice{},
		SubscriptionByID: map[string]rankr.Subscription{}}
	if p.LocationID == "" {
		return d, invalid("a location id is required")
	}
	loc := p.LocationID
	txns := map[string]rankr.Transaction{}
	load := func(column string, ids []string) ([]rankr.Transaction, error) {
		var out []rankr.Transaction
		err := inChunks(ids, func(ids []string) error {
			rows, err := s.read().QueryContext(ctx, s.q(fmt.Sprintf(`SELECT %s FROM transactions WHERE location_id = ? AND %s IN (%s)`,
				txnColumns, column, placeholders(len(ids)))), idArgs(loc, ids)...)
			if err != nil {
				return fmt.Errorf("reading transactions: %w", unavailable(err))
			}
			xs, err := rowsOf(rows, scanTxn)
			for _, x := range xs {
				txns[x.ID] = x
			}
			out = append(out, xs...)
			return err
		})
		return out, err
	}
	named, err := load("id", p.Transactions)
	if err != nil {
		return d, err
	}
	orders, invoices, subs := idSet{}, idSet{}, idSet{}
	orders.add(p.Orders...)
	invoices.add(p.Invoices...)
	subs.add(p.Subscriptions...)
	for _, x := range named {
		orders.add(x.OrderID)
		invoices.add(x.InvoiceID)
		if x.EntityType == rankr.RecordSubscription {
			subs.add(x.EntityID)
		}
	}
	// Every payment of the records reconciled in full.
	if _, err := load("order_id", orders.list()); err != nil {
		return d, err
	}
	if _, err := load("invoice_id", invoices.list()); err != nil {
		return d, err
	}
	if _, err := load("entity_id", subs.list()); err != nil {
		return d, err
	}
	d.Orders, d.Invoices = orders.list(), invoices.list()
	for _, id := range slices.Sorted(maps.Keys(txns)) {
		d.Transactions = append(d.Transactions, txns[id])
	}
	// The entities of every payment, to look them up.
	for _, x := range d.Transactions {
		switch x.EntityType {
		case rankr.RecordOrder:
			orders.add(x.EntityID)
		case rankr.RecordInvoice:
			invoices.add(x.EntityID)
		case rankr.RecordSubscription:
			subs.add(x.EntityID)
		}
		if x.EntityType == rankr.RecordSubscription {
			subs.add(x.SubscriptionID)
		}
	}
	if err := s.loadOrders(ctx, loc, orders.list(), d.OrderByID); err != nil {
		return d, err
	}
	err = inChunks(invoices.list(), func(ids []string) error {
		rows, err := s.read().QueryContext(ctx, s.q(fmt.Sprintf(`SELECT %s FROM invoices WHERE location_id = ? AND id IN (%s)`,
			invColumns, placeholders(len(ids)))), idArgs(loc, ids)...)
		if err != nil {
			return fmt.Errorf("reading invoices: %w", unavailable(err))
		}
		xs, err := rowsOf(rows, scanInvoice)
		for _, x := range xs {
			d.InvoiceByID[x.ID] = x
		}
		return err
	})
	if err != nil {
		return d, err
	}
	err = inChunks(subs.list(), func(ids []string) error {
		rows, err := s.read().QueryContext(ctx, s.q(fmt.Sprintf(`SELECT %s FROM subscriptions WHERE location_id = ? AND id IN (%s)`,
			subColumns, placeholders(len(ids)))), idArgs(loc, ids)...)
		if err != nil {
			return fmt.Errorf("reading subscriptions: %w", unavailable(err))
		}
		xs, err := rowsOf(rows, scanSub)
		for _, x := range xs {
			d.SubscriptionByID[x.ID] = x
		}
		return err
	})
	return d, err
}

// loadOrders reads orders with their items (nil when the detail has not
// been fetched).
func (s *Store) loadOrders(ctx context.Context, loc string, ids []string, into map[string]rankr.Order) error {
	return inChunks(ids, func(ids []string) error {
		rows, err := s.read().QueryContext(ctx, s.q(fmt.Sprintf(`SELECT %s FROM orders WHERE location_id = ? AND id IN (%s)`,
			orderColumns, placeholders(len(ids)))), idArgs(loc, ids)...)
		if err != nil {
			return fmt.Errorf("reading orders: %w", unavailable(err))
		}
		os, err := rowsOf(rows, scanOrder)
		if err != nil {
			return err
		}
		for _, o := range os {
			if !o.DetailUpdatedAt.IsZero() {
				o.Items = []rankr.OrderItem{}
			}
			into[o.ID] = o
		}
		rows, err = s.read().QueryContext(ctx, s.q(fmt.Sprintf(`SELECT order_id, id, name, qty, price_id, product_id, product_type,
			unit_amount, currency, recurring FROM order_items WHERE location_id = ? AND order_id IN (%s) ORDER BY order_id, position`,
			placeholders(len(ids)))), idArgs(loc, ids)...)
		if err != nil {
			return fmt.Errorf("reading order items: %w", unavailable(err))
		}
		defer rows.Close()
		for rows.Next() {
			var orderID string
			var it rankr.OrderItem
			if err := rows.Scan(&orderID, &it.ID, &it.Name, &it.Qty, &it.PriceID, &it.ProductID, &it.ProductType, &it.UnitAmount,
				&it.Currency, &it.Recurring); err != nil {
				return err
			}
			if o, ok := into[orderID]; ok && o.Items != nil {
				o.Items = append(o.Items, it)
				into[orderID] = o
			}
		}
		return rows.Err()
	})
}

// ReconcileApply writes results; see store.Reconciliation.
func (s *Store) ReconcileApply(ctx context.Context, p store.ReconcileApplyParams) (store.ReconcileApplied, error) {
	now := cmp.Or(p.Now, time.Now()).UTC()
	for _, r := range p.Results {
		if r.Ref.LocationID == "" || r.Ref.Type == "" || r.Ref.ID == "" {
			return store.ReconcileApplied{}, invalid("a reconciliation result names no record: %+v", r.Ref)
		}
	}
	var out store.ReconcileApplied
	err := s.inTx(ctx, func(t *tx) error {
		out = store.ReconcileApplied{}
		var seq, version int64
		if err := t.queryRow(ctx, `SELECT seq, version FROM reconcile_position WHERE name = 'reconcile'`+s.d.LockRows).Scan(&seq, &version); err != nil {
			return err
		}
		if version != p.Version {
			return fmt.Errorf("reconciliation moved on (version %d, not %d): %w", version, p.Version, rankr.ErrConflict)
		}
		groups := map[[2]string][]rankr.ReconcileResult{}
		for _, r := range p.Results {
			k := [2]string{r.Ref.LocationID, r.Ref.Type}
			groups[k] = append(groups[k], r)
		}
		for _, k := range slices.SortedFunc(maps.Keys(groups), func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) }) {
			if err := t.applyResults(ctx, k[0], k[1], groups[k], now, &out); err != nil {
				return err
			}
		}
		for _, r := range p.Renewals {
			if err := t.recordRenewal(ctx, r, now, &out); err != nil {
				return fmt.Errorf("renewal %s: %w", r.TransactionID, err)
			}
		}
		changed := out != (store.ReconcileApplied{})
		if !changed && p.FeedTo <= seq {
			return nil
		}
		_, err := t.exec(ctx, `UPDATE reconcile_position SET seq = ?, version = version + 1 WHERE name = 'reconcile'`, max(seq, p.FeedTo))
		return err
	})
	if err != nil {
		return store.ReconcileApplied{}, fmt.Errorf("applying reconciliation: %w", err)
	}
	return out, nil
}

// openException is an open exception as stored.
type openException struct {
	rankr.Exception
	detailJSON string
}

// applyResults writes the results for records of one type in one location:
// each record's balance, exceptions and recheck become what its result
// says, and only differences are written.
func (t *tx) applyResults(ctx context.Context, loc, recordType string, results []rankr.ReconcileResult, now time.Time, out *store.ReconcileApplied) error {
	ids := make([]string, len(results))
	for i, r := range results {
		ids[i] = r.Ref.ID
	}
	balances := map[string]rankr.Balance{}
	open := map[string]map[string]openException{}
	rechecks := map[string]int64{}
	err := inChunks(ids, func(ids []string) error {
		args := append([]any{loc, recordType}, idArgs("", ids)[1:]...)
		in := placeholders(len(ids))
		rows, err := t.query(ctx, `SELECT `+balanceColumns+` FROM reconcile_balances WHERE location_id = ? AND record_type = ? AND record_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		bs, err := rowsOf(rows, scanBalance)
		if err != nil {
			return err
		}
		for _, b := range bs {
			balances[b.RecordID] = b
		}
		rows, err = t.query(ctx, `SELECT `+exceptionColumns+` FROM reconcile_exceptions WHERE location_id = ? AND record_type = ?
			AND resolved_at IS NULL AND record_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		es, err := rowsOf(rows, scanOpenException)
		if err != nil {
			return err
		}
		for _, e := range es {
			if open[e.RecordID] == nil {
				open[e.RecordID] = map[string]openException{}
			}
			open[e.RecordID][e.Kind] = e
		}
		rows, err = t.query(ctx, `SELECT record_id, due_at FROM reconcile_rechecks WHERE location_id = ? AND record_type = ? AND record_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var at int64
			if err := rows.Scan(&id, &at); err != nil {
				return err
			}
			rechecks[id] = at
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, r := range results {
		id := r.Ref.ID
		if err := t.applyBalance(ctx, loc, recordType, id, r.Balance, balances, now, out); err != nil {
			return err
		}
		if err := t.applyFindings(ctx, loc, recordType, id, r.Findings, open[id], now, out); err != nil {
			return err
		}
		have, had := rechecks[id]
		switch want := r.RecheckAt; {
		case want.IsZero() && had:
			_, err = t.exec(ctx, `DELETE FROM reconcile_rechecks WHERE location_id = ? AND record_type = ? AND record_id = ?`, loc, recordType, id)
		case !want.IsZero() && (!had || have != want.UnixMilli()):
			_, err = t.exec(ctx, `INSERT INTO reconcile_rechecks (location_id, record_type, record_id, due_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (location_id, record_type, record_id) DO UPDATE SET due_at = excluded.due_at`, loc, recordType, id, want.UnixMilli())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) applyBalance(ctx context.Context, loc, recordType, id string, b *rankr.Balance, have map[string]rankr.Balance, now time.Time, out *store.ReconcileApplied) error {
	old, had := have[id]
	if b == nil {
		if !had {
			return nil
		}
		out.Balances++
		_, err := t.exec(ctx, `DELETE FROM reconcile_balances WHERE location_id = ? AND record_type = ? AND record_id = ?`, loc, recordType, id)
		return err
	}
	next := *b
	next.LocationID, next.RecordType, next.RecordID = loc, recordType, id
	next.RecordCreatedAt = next.RecordCreatedAt.UTC().Truncate(time.Millisecond)
	if had && sameBalance(old, next) {
		return nil
	}
	out.Balances++
	_, err := t.exec(ctx, `INSERT INTO reconcile_balances (location_id, record_type, record_id, currency, live_mode, expected, collected,
		refunded, balance, outcome, payment_status, record_created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (location_id, record_type, record_id) DO UPDATE SET currency = excluded.currency, live_mode = excluded.live_mode,
		expected = excluded.expected, collected = excluded.collected, refunded = excluded.refunded, balance = excluded.balance,
		outcome = excluded.outcome, payment_status = excluded.payment_status, record_created_at = excluded.record_created_at,
		updated_at = excluded.updated_at`,
		loc, recordType, id, next.Currency, next.LiveMode, next.Expected, next.Collected, next.Refunded, next.Balance, next.Outcome,
		next.PaymentStatus, next.RecordCreatedAt.UnixMilli(), now.UnixMilli())
	return err
}

// sameBalance compares what a balance says, not when it was written.
func sameBalance(a, b rankr.Balance) bool {
	return a.Currency == b.Currency && a.LiveMode == b.LiveMode && a.Expected == b.Expected && a.Collected == b.Collected &&
		a.Refunded == b.Refunded && a.Balance == b.Balance && a.Outcome == b.Outcome && a.PaymentStatus == b.PaymentStatus &&
		a.RecordCreatedAt.Equal(b.RecordCreatedAt)
}

func detailJSON(d map[string]any) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	return string(b), err
}

// applyFindings opens the findings that have no open exception, resolves
// the open exceptions that have no finding any more, and brings the figures
// of the others up to date.
func (t *tx) applyFindings(ctx context.Context, loc, recordType, id string, findings []rankr.Finding, open map[string]openException,
	now time.Time, out *store.ReconcileApplied) error {
	want := map[string]rankr.Finding{}
	for _, f := range findings {
		f.LocationID, f.RecordType, f.RecordID = loc, recordType, id
		f.RecordCreatedAt = f.RecordCreatedAt.UTC().Truncate(time.Millisecond)
		want[f.Kind] = f
	}
	for _, kind := range slices.Sorted(maps.Keys(open)) {
		if _, ok := want[kind]; ok {
			continue
		}
		e := open[kind]
		if _, err := t.exec(ctx, `UPDATE reconcile_exceptions SET resolved_at = ? WHERE id = ?`, now.UnixMilli(), e.ID); err != nil {
			return err
		}
		out.Resolved++
		out.Events++
		if err := t.appendEvent(ctx, loc, rankr.ExceptionResolved, rankr.RecordException, strconv.FormatInt(e.ID, 10), now,
			rankr.ExceptionEvent{ExceptionID: e.ID, Finding: e.Finding, OpenedAt: e.OpenedAt, ResolvedAt: now}); err != nil {
			return err
		}
	}
	for _, kind := range slices.Sorted(maps.Keys(want)) {
		f := want[kind]
		detail, err := detailJSON(f.Detail)
		if err != nil {
			return err
		}
		if e, ok := open[kind]; ok {
			if e.Amount == f.Amount && e.Currency == f.Currency && e.Message == f.Message && e.detailJSON == detail &&
				e.EntityType == f.EntityType && e.EntityID == f.EntityID && e.RecordCreatedAt.Equal(f.RecordCreatedAt) {
				continue
			}
			// The same exception with new figures: no new alert.
			out.Updated++
			if _, err := t.exec(ctx, `UPDATE reconcile_exceptions SET entity_type = ?, entity_id = ?, amount = ?, currency = ?, message = ?,
				detail = ?, record_created_at = ? WHERE id = ?`, f.EntityType, f.EntityID, f.Amount, f.Currency, f.Message, detail,
				f.RecordCreatedAt.UnixMilli(), e.ID); err != nil {
				return err
			}
			continue
		}
		var newID int64
		if err := t.queryRow(ctx, `INSERT INTO reconcile_exceptions (location_id, kind, record_type, record_id, entity_type, entity_id,
			amount, currency, message, detail, record_created_at, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			loc, kind, recordType, id, f.EntityType, f.EntityID, f.Amount, f.Currency, f.Message, detail, f.RecordCreatedAt.UnixMilli(),
			now.UnixMilli()).Scan(&newID); err != nil {
			return err
		}
		out.Opened++
		out.Events++
		if err := t.appendEvent(ctx, loc, rankr.ExceptionOpened, rankr.RecordException, strconv.FormatInt(newID, 10), now,
			rankr.ExceptionEvent{ExceptionID: newID, Finding: f, OpenedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// recordRenewal records a renewal and its invoicing record, once.
func (t *tx) recordRenewal(ctx context.Context, r rankr.Renewal, now time.Time, out *store.ReconcileApplied) error {
	if r.LocationID == "" || r.TransactionID == "" || r.SubscriptionID == "" {
		return invalid("a renewal needs a location, a transaction and a subscription")
	}
	r.InvoicingID = cmp.Or(r.InvoicingID, rankr.InvoicingIDOf(r.TransactionID))
	r.CreatedAt = now
	var got string
	err := t.queryRow(ctx, `INSERT INTO renewals (location_id, transaction_id, subscription_id, contact_id, amount, currency, live_mode,
		period_start, period_end, paid_at, invoicing_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (location_id, transaction_id) DO NOTHING RETURNING transaction_id`,
		r.LocationID, r.TransactionID, r.SubscriptionID, r.ContactID, r.Amount, r.Currency, r.LiveMode, r.PeriodStart.UnixMilli(),
		ms(r.PeriodEnd), r.PaidAt.UnixMilli(), r.InvoicingID, now.UnixMilli()).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		// Recorded before, perhaps before the subscription's interval was
		// known: the period's end is filled in once, silently.
		if r.PeriodEnd.IsZero() {
			return nil
		}
		if _, err := t.exec(ctx, `UPDATE renewals SET period_end = ? WHERE location_id = ? AND transaction_id = ? AND period_end IS NULL`,
			r.PeriodEnd.UnixMilli(), r.LocationID, r.TransactionID); err != nil {
			return err
		}
		_, err := t.exec(ctx, `UPDATE invoicing_records SET period_end = ? WHERE location_id = ? AND renewal_transaction_id = ? AND period_end IS NULL`,
			r.PeriodEnd.UnixMilli(), r.LocationID, r.TransactionID)
		return err
	}
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO invoicing_records (location_id, id, renewal_transaction_id, subscription_id, contact_id, amount,
		currency, period_start, period_end, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.LocationID, r.InvoicingID, r.TransactionID, r.SubscriptionID, r.ContactID, r.Amount, r.Currency, r.PeriodStart.UnixMilli(),
		ms(r.PeriodEnd), "paid", now.UnixMilli()); err != nil {
		return err
	}
	out.Renewals++
	out.Events++
	return t.appendEvent(ctx, r.LocationID, rankr.SubscriptionInvoiced, rankr.RecordSubscription, r.SubscriptionID, now, r)
}

const balanceColumns = `location_id, record_type, record_id, currency, live_mode, expected, collected, refunded, balance, outcome,
	payment_status, record_created_at, updated_at`

func scanBalance(r scanner) (rankr.Balance, error) {
	var b rankr.Balance
	var created, updated int64
	err := r.Scan(&b.LocationID, &b.RecordType, &b.RecordID, &b.Currency, &b.LiveMode, &b.Expected, &b.Collected, &b.Refunded,
		&b.Balance, &b.Outcome, &b.PaymentStatus, &created, &updated)
	b.RecordCreatedAt, b.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return b, err
}

const exceptionColumns = `id, location_id, kind, record_type, record_id, entity_type, entity_id, amount, currency, message, detail,
	record_created_at, opened_at, resolved_at`

func scanOpenException(r scanner) (openException, error) {
	var e openException
	var created, opened int64
	var resolved sql.NullInt64
	err := r.Scan(&e.ID, &e.LocationID, &e.Kind, &e.RecordType, &e.RecordID, &e.EntityType, &e.EntityID, &e.Amount, &e.Currency,
		&e.Message, &e.detailJSON, &created, &opened, &resolved)
	if err != nil {
		return e, err
	}
	e.RecordCreatedAt, e.OpenedAt, e.ResolvedAt = time.UnixMilli(created).UTC(), time.UnixMilli(opened).UTC(), fromMS(resolved)
	return e, json.Unmarshal([]byte(e.detailJSON), &e.Detail)
}

func scanException(r scanner) (rankr.Exception, error) {
	e, err := scanOpenException(r)
	return e.Exception, err
}

// ReconcileDue lists records whose grace period is over.
func (s *Store) ReconcileDue(ctx context.Context, now time.Time, n int) ([]rankr.RecordRef, error) {
	rows, err := s.read().QueryContext(ctx, s.q(`SELECT location_id, record_type, record_id FROM reconcile_rechecks WHERE due_at <= ?
		ORDER BY due_at, location_id, record_type, record_id LIMIT ?`), now.UnixMilli(), limit(n, 500, 5000))
	if err != nil {
		return nil, fmt.Errorf("listing due reconciliations: %w", unavailable(err))
	}
	return rowsOf(rows, func(r scanner) (rankr.RecordRef, error) {
		var ref rankr.RecordRef
		return ref, r.Scan(&ref.LocationID, &ref.Type, &ref.ID)
	})
}

// ReconcileRecords pages through a location's record ids.
func (s *Store) ReconcileRecords(ctx context.Context, locationID, recordType, afterID string, n int) ([]string, error) {
	table, ok := map[string]string{rankr.RecordOrder: "orders", rankr.RecordInvoice: "invoices", rankr.RecordTransaction: "transactions"}[recordType]
	if !ok {
		return nil, invalid("records of type %q are not reconciled", recordType)
	}
	rows, err := s.read().QueryContext(ctx, s.q(`SELECT id FROM `+table+` WHERE location_id = ? AND id > ? ORDER BY id LIMIT ?`),
		locationID, afterID, limit(n, 500, 5000))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", table, unavailable(err))
	}
	return rowsOf(rows, scanID)
}

// BalanceList lists balances, newest record first.
func (s *Store) BalanceList(ctx context.Context, p store.BalanceListParams) ([]rankr.Balance, error) {
	query := `SELECT ` + balanceColumns + ` FROM reconcile_balances WHERE 1 = 1`
	var args []any
	if p.LocationID != "" {
		query += ` AND location_id = ?`
		args = append(args, p.LocationID)
	}
	if p.RecordType != "" {
		query += ` AND record_type = ?`
		args = append(args, p.RecordType)
	}
	if !p.Since.IsZero() {
		query += ` AND record_created_at >= ?`
		args = append(args, p.Since.UnixMilli())
	}
	if p.Outcome != "" {
		query += ` AND outcome = ?`
		args = append(args, p.Outcome)
	}
	query += ` ORDER BY record_created_at DESC, record_type, record_id DESC LIMIT ? OFFSET ?`
	rows, err := s.read().QueryContext(ctx, s.q(query), append(args, limit(p.Limit, 1000, 10000), max(p.Offset, 0))...)
	if err != nil {
		return nil, fmt.Errorf("listing balances: %w", unavailable(err))
	}
	return rowsOf(rows, scanBalance)
}

// ExceptionList lists exceptions, newest first.
func (s *Store) ExceptionList(ctx context.Context, p store.ExceptionListParams) ([]rankr.Exception, error) {
	query := `SELECT ` + exceptionColumns + ` FROM reconcile_exceptions WHERE 1 = 1`
	var args []any
	for _, f := range []struct{ col, v string }{{"location_id", p.LocationID}, {"kind", p.Kind}, {"record_type", p.RecordType}, {"record_id", p.RecordID}} {
		if f.v != "" {
			query += ` AND ` + f.col + ` = ?`
			args = append(args, f.v)
		}
	}
	if !p.Resolved {
		query += ` AND resolved_at IS NULL`
	}
	if !p.Since.IsZero() {
		query += ` AND record_created_at >= ?`
		args = append(args, p.Since.UnixMilli())
	}
	query += ` ORDER BY opened_at DESC, id DESC LIMIT ? OFFSET ?`
	rows, err := s.read().QueryContext(ctx, s.q(query), append(args, limit(p.Limit, 1000, 10000), max(p.Offset, 0))...)
	if err != nil {
		return nil, fmt.Errorf("listing exceptions: %w", unavailable(err))
	}
	return rowsOf(rows, scanException)
}

// RenewalList lists renewals, newest first.
func (s *Store) RenewalList(ctx context.Context, p store.ListParams) ([]rankr.Renewal, error) {
	query := `SELECT location_id, transaction_id, subscription_id, contact_id, amount, currency, live_mode, period_start, period_end,
		paid_at, invoicing_id, created_at FROM renewals WHERE 1 = 1`
	var args []any
	if p.LocationID != "" {
		query += ` AND location_id = ?`
		args = append(args, p.LocationID)
	}
	query += ` ORDER BY period_start DESC, transaction_id DESC LIMIT ? OFFSET ?`
	rows, err := s.read().QueryContext(ctx, s.q(query), append(args, limit(p.Limit, 50, 1000), max(p.Offset, 0))...)
	if err != nil {
		return nil, fmt.Errorf("listing renewals: %w", unavailable(err))
	}
	return rowsOf(rows, func(r scanner) (rankr.Renewal, error) {
		var x rankr.Renewal
		var start, paid, created int64
		var end sql.NullInt64
		err := r.Scan(&x.LocationID, &x.TransactionID, &x.SubscriptionID, &x.ContactID, &x.Amount, &x.Currency, &x.LiveMode, &start,
			&end, &paid, &x.InvoicingID, &created)
		x.PeriodStart, x.PeriodEnd, x.PaidAt, x.CreatedAt = time.UnixMilli(start).UTC(), fromMS(end), time.UnixMilli(paid).UTC(), time.UnixMilli(created).UTC()
		return x, err
	})
}

// SubscriptionsUpcoming lists subscriptions due to renew.
func (s *Store) SubscriptionsUpcoming(ctx context.Context, p store.UpcomingParams) ([]rankr.Subscription, error) {
	// GHL's subscription statuses are not fixed by the spec: these are the
	// ones that will not renew.
	query := `SELECT ` + subColumns + ` FROM subscriptions WHERE deleted_at IS NULL AND canceled_at IS NULL
		AND next_run_at IS NOT NULL AND next_run_at <= ?
		AND LOWER(status) NOT IN ('canceled', 'cancelled', 'expired', 'completed', 'incomplete_expired')`
	args := []any{p.Before.UnixMilli()}
	if p.LocationID != "" {
		query += ` AND location_id = ?`
		args = append(args, p.LocationID)
	}
	query += ` ORDER BY next_run_at, id LIMIT ?`
	rows, err := s.read().QueryContext(ctx, s.q(query), append(args, limit(p.Limit, 100, 1000))...)
	if err != nil {
		return nil, fmt.Errorf("listing upcoming renewals: %w", unavailable(err))
	}
	return rowsOf(rows, scanSub)
}
