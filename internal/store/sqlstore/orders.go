package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// orderState is what an upsert needs to know of a stored order.
type orderState struct {
	version
	status, fulfillment, payment string
	amount                       int64
	summaryAt, detailAt          sql.NullInt64
	deleted                      bool
}

func orderHash(o rankr.Order) string {
	return contentHash(o.ContactID, o.ContactName, o.ContactEmail, o.Amount, o.Currency, o.Status,
		o.FulfillmentStatus, o.LiveMode, o.Source.Type, o.Source.SubType, o.Source.ID, o.Source.Name, o.CreatedAt.UnixMilli())
}

// lockStates reads (and on PostgreSQL locks, in id order so that concurrent
// writers cannot deadlock) the stored state of the given records.
func lockStates[T any](ctx context.Context, t *tx, query, locationID string, ids []string, scan func(scanner) (string, T, error)) (map[string]T, error) {
	out := map[string]T{}
	if len(ids) == 0 {
		return out, nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	rows, err := t.query(ctx, fmt.Sprintf(query, placeholders(len(ids)))+" ORDER BY id"+t.s.d.LockRows, idArgs(locationID, ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		id, v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}

func (t *tx) orderStates(ctx context.Context, locationID string, ids []string) (map[string]*orderState, error) {
	return lockStates(ctx, t, `SELECT id, updated_at, content_hash, status, fulfillment_status, payment_status, amount,
		summary_updated_at, detail_updated_at, deleted_at IS NOT NULL FROM orders WHERE location_id = ? AND id IN (%s)`,
		locationID, ids, func(r scanner) (string, *orderState, error) {
			var id string
			st := &orderState{}
			err := r.Scan(&id, &st.at, &st.hash, &st.status, &st.fulfillment, &st.payment, &st.amount,
				&st.summaryAt, &st.detailAt, &st.deleted)
			return id, st, err
		})
}

// OrderUpsert stores a batch of order versions; see store.Store.
func (s *Store) OrderUpsert(ctx context.Context, p store.OrderUpsertParams) (store.UpsertResult, error) {
	now := cmp.Or(p.Now, time.Now())
	b := batch[store.OrderVersion]{loc: p.LocationID, what: "order", table: "orders", items: p.Orders, seen: p.SeenAt,
		checkpoint: p.Checkpoint, now: now,
		key: func(v store.OrderVersion) (string, time.Time) { return v.Order.ID, v.Order.UpdatedAt }}
	var states map[string]*orderState
	var sums map[string]collected // of the orders not stored yet
	return b.upsert(ctx, s,
		func(t *tx, ids []string) (err error) {
			if states, err = t.orderStates(ctx, p.LocationID, ids); err != nil {
				return err
			}
			// Transactions can arrive before their order: a new order's
			// payment status starts from them. One query for the batch.
			var fresh []string
			for _, id := range ids {
				if _, ok := states[id]; !ok {
					fresh = append(fresh, id)
				}
			}
			sums, err = t.ordersCollected(ctx, p.LocationID, fresh)
			return err
		},
		func(t *tx, v store.OrderVersion, res *store.UpsertResult) error {
			return t.upsertOrder(ctx, p.LocationID, v, states, sums, now, res)
		}, nil)
}

func (t *tx) upsertOrder(ctx context.Context, loc string, v store.OrderVersion, states map[string]*orderState,
	sums map[string]collected, now time.Time, res *store.UpsertResult) error {
	o := v.Order
	in := version{o.UpdatedAt.UnixMilli(), orderHash(o)}
	st, created, err := stored(states, o.ID,
		func() (bool, error) { return t.insertOrder(ctx, loc, v, in, sums[o.ID], now) },
		func(ids []string) (map[string]*orderState, error) { return t.orderStates(ctx, loc, ids) })
	if err != nil || created {
		if created {
			states[o.ID] = &orderState{version: in, status: o.Status, fulfillment: o.FulfillmentStatus, amount: o.Amount}
			res.Created = append(res.Created, o.ID)
			res.Events++
		}
		return err
	}

	// Detail-only and summary-only columns follow their own versions: a
	// detail is kept whenever it is not older than the record, even when
	// the typed fields lose a tie, so that its items are never refetched in
	// a loop.
	if v.Detail && in.at >= st.at && (!st.detailAt.Valid || in.at > st.detailAt.Int64) {
		if err := t.writeOrderDetail(ctx, loc, o); err != nil {
			return err
		}
		st.detailAt = sql.NullInt64{Int64: in.at, Valid: true}
	}
	if !v.Detail && in.at >= st.at && (!st.summaryAt.Valid || in.at > st.summaryAt.Int64) {
		if _, err := t.exec(ctx, `UPDATE orders SET raw_summary = ?, summary_updated_at = ? WHERE location_id = ? AND id = ?`,
			nullText(o.RawSummary), in.at, loc, o.ID); err != nil {
			return err
		}
		st.summaryAt = sql.NullInt64{Int64: in.at, Valid: true}
	}
	if newer, err := t.olderOrSame(ctx, in, st.version, &st.deleted, "orders", rankr.RecordOrder, rankr.OrderUpdated, loc, o.ID, now, res); !newer || err != nil {
		return err
	}

	c := changes{}
	c.note("status", st.status, o.Status)
	c.note("fulfillmentStatus", st.fulfillment, o.FulfillmentStatus)
	c.note("amount", st.amount, o.Amount)
	c.note("rankrStatus", rankr.DeriveOrderStatus(st.status, st.payment, st.fulfillment),
		rankr.DeriveOrderStatus(o.Status, st.payment, o.FulfillmentStatus))
	if st.deleted {
		c.note("deleted", true, false)
	}
	if _, err := t.exec(ctx, `UPDATE orders SET contact_id = ?, contact_name = ?, contact_email = ?, amount = ?, currency = ?,
		status = ?, fulfillment_status = ?, live_mode = ?, source_type = ?, source_sub_type = ?, source_id = ?, source_name = ?,
		created_at = ?, updated_at = ?, content_hash = ?, deleted_at = NULL WHERE location_id = ? AND id = ?`,
		o.ContactID, o.ContactName, o.ContactEmail, o.Amount, o.Currency, o.Status, o.FulfillmentStatus, o.LiveMode,
		o.Source.Type, o.Source.SubType, o.Source.ID, o.Source.Name, o.CreatedAt.UnixMilli(), in.at, in.hash, loc, o.ID); err != nil {
		return err
	}
	*st = orderState{version: in, status: o.Status, fulfillment: o.FulfillmentStatus, payment: st.payment,
		amount: o.Amount, summaryAt: st.summaryAt, detailAt: st.detailAt}
	if err := t.changed(ctx, loc, rankr.RecordOrder, o.ID, c, [][2]string{{"status", rankr.OrderStatusChanged},
		{"fulfillmentStatus", rankr.OrderFulfillmentStatusChanged}}, rankr.OrderUpdated, o.UpdatedAt, now, res); err != nil {
		return err
	}
	if _, amountChanged := c["amount"]; amountChanged {
		n, err := t.settleOrder(ctx, loc, o.ID, now)
		res.Events += n
		return err
	}
	return nil
}

// insertOrder inserts a new order; false means another writer got there
// first.
func (t *tx) insertOrder(ctx context.Context, loc string, v store.OrderVersion, in version, sums collected, now time.Time) (bool, error) {
	o := v.Order
	payment := rankr.DerivePaymentStatus(o.Amount, sums.paid, sums.refunded)
	var rawSummary, summaryAt, rawDetail, detailAt any
	if v.Detail {
		rawDetail, detailAt = nullText(o.RawDetail), in.at
	} else {
		rawSummary, summaryAt = nullText(o.RawSummary), in.at
	}
	res, err := t.exec(ctx, `INSERT INTO orders (location_id, id, contact_id, contact_name, contact_email, amount, currency, status,
		fulfillment_status, payment_status, live_mode, source_type, source_sub_type, source_id, source_name, created_at, updated_at,
		content_hash, raw_summary, summary_updated_at, raw_detail, detail_updated_at, inserted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (location_id, id) DO NOTHING`,
		loc, o.ID, o.ContactID, o.ContactName, o.ContactEmail, o.Amount, o.Currency, o.Status, o.FulfillmentStatus, payment,
		o.LiveMode, o.Source.Type, o.Source.SubType, o.Source.ID, o.Source.Name, o.CreatedAt.UnixMilli(), in.at, in.hash,
		rawSummary, summaryAt, rawDetail, detailAt, now.UnixMilli())
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err // 0: another writer inserted it first
	}
	if v.Detail {
		if err := t.insertOrderItems(ctx, loc, o); err != nil {
			return false, err
		}
	}
	// A struct, not a map: marshalled without sorting keys, for every new
	// order. Its fields are in the order a map's keys would be.
	return true, t.appendEvent(ctx, loc, rankr.OrderCreated, rankr.RecordOrder, o.ID, now, struct {
		Amount            int64     `json:"amount"`
		Currency          string    `json:"currency"`
		FulfillmentStatus string    `json:"fulfillmentStatus"`
		PaymentStatus     string    `json:"paymentStatus"`
		RankrStatus       string    `json:"rankrStatus"`
		Status            string    `json:"status"`
		UpdatedAt         time.Time `json:"updatedAt"`
	}{o.Amount, o.Currency, o.FulfillmentStatus, payment, rankr.DeriveOrderStatus(o.Status, payment, o.FulfillmentStatus), o.Status, o.UpdatedAt})
}

// writeOrderDetail replaces the order's items and raw detail.
func (t *tx) writeOrderDetail(ctx context.Context, loc string, o rankr.Order) error {
	if _, err := t.exec(ctx, `DELETE FROM order_items WHERE location_id = ? AND order_id = ?`, loc, o.ID); err != nil {
		return err
	}
	if err := t.insertOrderItems(ctx, loc, o); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE orders SET raw_detail = ?, detail_updated_at = ? WHERE location_id = ? AND id = ?`,
		nullText(o.RawDetail), o.UpdatedAt.UnixMilli(), loc, o.ID)
	return err
}

// insertOrderItems inserts an order's items: one statement per item where
// statements are kept prepared (a multi-row statement would be parsed anew
// for every count of items), else one for all.
func (t *tx) insertOrderItems(ctx context.Context, loc string, o rankr.Order) error {
	if len(o.Items) == 0 {
		return nil
	}
	const head = `INSERT INTO order_items (location_id, order_id, position, id, name, qty, price_id, product_id,
		product_type, unit_amount, currency, recurring) VALUES `
	const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	args := make([]any, 0, 12*len(o.Items))
	for i, it := range o.Items {
		args = append(args, loc, o.ID, i, it.ID, it.Name, it.Qty, it.PriceID, it.ProductID, it.ProductType, it.UnitAmount,
			it.Currency, it.Recurring)
	}
	if t.s.d.ReuseStatements {
		for one := range slices.Chunk(args, 12) {
			if _, err := t.exec(ctx, head+row, one...); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := t.exec(ctx, head+strings.TrimSuffix(strings.Repeat(row+", ", len(o.Items)), ", "), args...)
	return err
}

// collected is what an order's transactions collected, and what of it was
// refunded.
type collected struct{ paid, refunded int64 }

// ordersCollected sums, per order, its collected transactions and their
// refunds; orders with none are absent.
//
// It first takes the change feed's lock, as settleOrder does: an order
// inserted while its payment is stored by another writer would otherwise be
// missed by both (each reading before the other commits) and stay unpaid.
// With the lock, whichever comes second sees the first one's rows.
func (t *tx) ordersCollected(ctx context.Context, loc string, ids []string) (map[string]collected, error) {
	out := map[string]collected{}
	if len(ids) == 0 {
		return out, nil
	}
	if err := t.lockFeed(ctx); err != nil {
		return nil, err
	}
	for chunk := range slices.Chunk(ids, 500) {
		rows, err := t.query(ctx, `SELECT order_id, status, amount, amount_refunded FROM transactions
			WHERE location_id = ? AND order_id IN (`+placeholders(len(chunk))+`) AND entity_type = 'order' AND deleted_at IS NULL`,
			idArgs(loc, chunk)...)
		if err != nil {
			return nil, err
		}
		type txn struct {
			order, status    string
			amount, refunded int64
		}
		txns, err := rowsOf(rows, func(r scanner) (x txn, err error) {
			return x, r.Scan(&x.order, &x.status, &x.amount, &x.refunded)
		})
		if err != nil {
			return nil, err
		}
		for _, x := range txns {
			if rankr.CollectedStatus(x.status) {
				c := out[x.order]
				out[x.order] = collected{c.paid + x.amount, c.refunded + x.refunded}
			}
		}
	}
	return out, nil
}

// settleOrder re-derives an order's payment status, with an event when it
// changes. It returns the number of events appended.
func (t *tx) settleOrder(ctx context.Context, loc, orderID string, now time.Time) (int, error) {
	if err := t.lockFeed(ctx); err != nil { // see ordersCollected
		return 0, err
	}
	var amount int64
	var current, status, fulfillment string
	err := t.queryRow(ctx, `SELECT amount, payment_status, status, fulfillment_status FROM orders
		WHERE location_id = ? AND id = ?`+t.s.d.LockRows, loc, orderID).Scan(&amount, &current, &status, &fulfillment)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // not synced yet: derived when it is inserted
	}
	if err != nil {
		return 0, err
	}
	sums, err := t.ordersCollected(ctx, loc, []string{orderID})
	if err != nil {
		return 0, err
	}
	sum := sums[orderID]
	next := rankr.DerivePaymentStatus(amount, sum.paid, sum.refunded)
	if next == current {
		return 0, nil
	}
	if _, err := t.exec(ctx, `UPDATE orders SET payment_status = ? WHERE location_id = ? AND id = ?`, next, loc, orderID); err != nil {
		return 0, err
	}
	c := changes{"paymentStatus": {current, next}}
	c.note("rankrStatus", rankr.DeriveOrderStatus(status, current, fulfillment), rankr.DeriveOrderStatus(status, next, fulfillment))
	return 1, t.appendEvent(ctx, loc, rankr.OrderPaymentStatusChanged, rankr.RecordOrder, orderID, now,
		map[string]any{"changes": c, "paid": sum.paid, "refunded": sum.refunded})
}

// markSeen records that list pages showed these records at seenAt.
func (t *tx) markSeen(ctx context.Context, table, loc string, ids []string, seenAt time.Time) error {
	if seenAt.IsZero() || len(ids) == 0 {
		return nil
	}
	args := append([]any{seenAt.UnixMilli()}, idArgs(loc, ids)...)
	_, err := t.exec(ctx, fmt.Sprintf(`UPDATE %s SET seen_at = ? WHERE location_id = ? AND id IN (%s)`, table, placeholders(len(ids))), args...)
	return err
}

// restore brings back a record marked deleted that GHL serves again.
func (t *tx) restore(ctx context.Context, table, recordType, kind, loc, id string, now time.Time, deleted *bool) error {
	if _, err := t.exec(ctx, fmt.Sprintf(`UPDATE %s SET deleted_at = NULL WHERE location_id = ? AND id = ?`, table), loc, id); err != nil {
		return err
	}
	*deleted = false
	return t.appendEvent(ctx, loc, kind, recordType, id, now, map[string]any{"changes": changes{"deleted": {true, false}}})
}

// OrderWork reports what the orders still need from GHL.
func (s *Store) OrderWork(ctx context.Context, locationID string, ids []string) ([]store.OrderWork, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.read().QueryContext(ctx, s.q(fmt.Sprintf(`SELECT id, updated_at,
		detail_updated_at IS NULL OR detail_updated_at < updated_at,
		fulfillment_status NOT IN ('', 'unfulfilled') AND (fulfillments_version IS NULL
			OR fulfillments_status <> fulfillment_status
			OR (fulfillment_status = 'partially_fulfilled' AND fulfillments_version < updated_at))
		FROM orders WHERE location_id = ? AND id IN (%s) AND deleted_at IS NULL ORDER BY id`, placeholders(len(ids)))),
		idArgs(locationID, ids)...)
	if err != nil {
		return nil, fmt.Errorf("reading order work: %w", unavailable(err))
	}
	return rowsOf(rows, func(r scanner) (store.OrderWork, error) {
		var w store.OrderWork
		var updated int64
		err := r.Scan(&w.ID, &updated, &w.NeedsDetail, &w.NeedsFulfillments)
		w.UpdatedAt = time.UnixMilli(updated).UTC()
		return w, err
	})
}

const orderColumns = `location_id, id, contact_id, contact_name, contact_email, amount, currency, status, fulfillment_status,
	payment_status, live_mode, source_type, source_sub_type, source_id, source_name, created_at, updated_at, deleted_at,
	raw_summary, raw_detail, detail_updated_at`

func scanOrder(r scanner) (rankr.Order, error) {
	var o rankr.Order
	var created, updated int64
	var deleted, detailAt sql.NullInt64
	var rawSummary, rawDetail sql.NullString
	err := r.Scan(&o.LocationID, &o.ID, &o.ContactID, &o.ContactName, &o.ContactEmail, &o.Amount, &o.Currency, &o.Status,
		&o.FulfillmentStatus, &o.PaymentStatus, &o.LiveMode, &o.Source.Type, &o.Source.SubType, &o.Source.ID, &o.Source.Name,
		&created, &updated, &deleted, &rawSummary, &rawDetail, &detailAt)
	o.CreatedAt, o.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	o.DeletedAt, o.DetailUpdatedAt = fromMS(deleted), fromMS(detailAt)
	o.RankrStatus = rankr.DeriveOrderStatus(o.Status, o.PaymentStatus, o.FulfillmentStatus)
	if rawSummary.Valid {
		o.RawSummary = []byte(rawSummary.String)
	}
	if rawDetail.Valid {
		o.RawDetail = []byte(rawDetail.String)
	}
	return o, err
}

// OrderGet returns an order with its items.
func (s *Store) OrderGet(ctx context.Context, locationID, id string) (rankr.Order, error) {
	query := `SELECT ` + orderColumns + ` FROM orders WHERE id = ?`
	args := []any{id}
	if locationID != "" {
		query += ` AND location_id = ?`
		args = append(args, locationID)
	}
	o, err := scanOrder(s.read().QueryRowContext(ctx, s.q(query), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return rankr.Order{}, notFound("order " + id)
	}
	if err != nil {
		return rankr.Order{}, fmt.Errorf("reading order %s: %w", id, unavailable(err))
	}
	if o.DetailUpdatedAt.IsZero() {
		return o, nil
	}
	rows, err := s.read().QueryContext(ctx, s.q(`SELECT id, name, qty, price_id, product_id, product_type, unit_amount, currency, recurring
		FROM order_items WHERE location_id = ? AND order_id = ? ORDER BY position`), o.LocationID, o.ID)
	if err != nil {
		return rankr.Order{}, fmt.Errorf("reading the items of order %s: %w", id, unavailable(err))
	}
	o.Items, err = rowsOf(rows, func(r scanner) (rankr.OrderItem, error) {
		var it rankr.OrderItem
		err := r.Scan(&it.ID, &it.Name, &it.Qty, &it.PriceID, &it.ProductID, &it.ProductType, &it.UnitAmount, &it.Currency, &it.Recurring)
		return it, err
	})
	if o.Items == nil {
		o.Items = []rankr.OrderItem{}
	}
	return o, err
}

// listTable says how a table answers the list filters.
type listTable struct {
	name      string
	statusCol string // "status", or "state" for Rankr's outboxes
	amountCol string // "" when the records have no amount
	orderCol  bool   // it has an order_id
	deleted   bool   // it has a deleted_at
	orders    bool   // the order filters apply
}

var (
	ordersTable        = listTable{name: "orders", statusCol: "status", amountCol: "amount", deleted: true, orders: true}
	fulfillmentsTable  = listTable{name: "fulfillments", orderCol: true}
	transactionsTable  = listTable{name: "transactions", statusCol: "status", amountCol: "amount", orderCol: true, deleted: true}
	subscriptionsTable = listTable{name: "subscriptions", statusCol: "status", amountCol: "amount", orderCol: true, deleted: true}
	invoicesTable      = listTable{name: "invoices", statusCol: "status", amountCol: "total", deleted: true}
	productsTable      = listTable{name: "products", deleted: true}
	pushesTable        = listTable{name: "fulfillment_pushes", statusCol: "state", orderCol: true}
	noticesTable       = listTable{name: "notices", statusCol: "state"}
)

// toFulfill is the fulfillment queue's condition, written as the partial
// index orders_to_fulfill is, so that the planners use it.
// toFulfill is the fulfillment queue: paid, not fulfilled in full, with a
// physical item to ship, or whose items are not synced yet (GHL leaves
// an order of digital goods or services unfulfilled forever).
const toFulfill = ` AND payment_status = 'paid' AND fulfillment_status <> 'fulfilled' AND deleted_at IS NULL
	AND (detail_updated_at IS NULL OR EXISTS (SELECT 1 FROM order_items i
		WHERE i.location_id = orders.location_id AND i.order_id = orders.id AND UPPER(i.product_type) = 'PHYSICAL'))`

// listQuery builds a list's query. Its order (creation time, id,
// location) is total, so that After, a keyset, continues a list where a
// page ended, whatever arrived meanwhile; within one location the key is
// compared without the location, which the location's index then serves.
func listQuery(columns string, t listTable, p store.ListParams) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT ` + columns + ` FROM ` + t.name + ` WHERE 1 = 1`)
	var args []any
	if p.LocationID != "" {
		b.WriteString(` AND location_id = ?`)
		args = append(args, p.LocationID)
	}
	if p.Locations != nil {
		var in string
		in, args = inList("", args, "location_id", p.Locations)
		b.WriteString(in)
	}
	if p.Status != "" && t.statusCol != "" {
		b.WriteString(` AND ` + t.statusCol + ` = ?`)
		args = append(args, p.Status)
	}
	if p.OrderID != "" && t.orderCol {
		b.WriteString(` AND order_id = ?`)
		args = append(args, p.OrderID)
	}
	if t.orders {
		if p.PaymentStatus != "" {
			b.WriteString(` AND payment_status = ?`)
			args = append(args, p.PaymentStatus)
		}
		if p.FulfillmentStatus != "" {
			b.WriteString(` AND fulfillment_status = ?`)
			args = append(args, p.FulfillmentStatus)
		}
		if p.ToFulfill {
			b.WriteString(toFulfill)
		}
		if q := strings.TrimSpace(p.Search); q != "" {
			b.WriteString(` AND (id = ? OR LOWER(contact_email) = ? OR LOWER(contact_name) LIKE ? ESCAPE '\')`)
			args = append(args, q, strings.ToLower(q), "%"+likeEscaper.Replace(strings.ToLower(q))+"%")
		}
	}
	if !p.CreatedFrom.IsZero() {
		b.WriteString(` AND created_at >= ?`)
		args = append(args, p.CreatedFrom.UnixMilli())
	}
	if !p.CreatedBefore.IsZero() {
		b.WriteString(` AND created_at < ?`)
		args = append(args, p.CreatedBefore.UnixMilli())
	}
	if t.amountCol != "" {
		if p.Currency != "" {
			b.WriteString(` AND currency = ?`)
			args = append(args, p.Currency)
		}
		if p.AmountMin != nil {
			b.WriteString(` AND ` + t.amountCol + ` >= ?`)
			args = append(args, *p.AmountMin)
		}
		if p.AmountMax != nil {
			b.WriteString(` AND ` + t.amountCol + ` <= ?`)
			args = append(args, *p.AmountMax)
		}
	}
	if !p.Deleted && t.deleted && !(t.orders && p.ToFulfill) {
		b.WriteString(` AND deleted_at IS NULL`)
	}
	cmp, dir := "<", "DESC"
	if p.Oldest {
		cmp, dir = ">", "ASC"
	}
	if !p.After.IsZero() {
		if p.LocationID != "" {
			b.WriteString(` AND (created_at, id) ` + cmp + ` (?, ?)`)
			args = append(args, p.After.CreatedAt.UnixMilli(), p.After.ID)
		} else {
			b.WriteString(` AND (created_at, id, location_id) ` + cmp + ` (?, ?, ?)`)
			args = append(args, p.After.CreatedAt.UnixMilli(), p.After.ID, p.After.LocationID)
		}
	}
	b.WriteString(` ORDER BY created_at ` + dir + `, id ` + dir)
	if p.LocationID == "" {
		b.WriteString(`, location_id ` + dir)
	}
	b.WriteString(` LIMIT ? OFFSET ?`)
	return b.String(), append(args, limit(p.Limit, 50, 1000), max(p.Offset, 0))
}

// likeEscaper escapes LIKE's wildcards in a search.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// OrderList lists orders newest first.
func (s *Store) OrderList(ctx context.Context, p store.ListParams) ([]rankr.Order, error) {
	query, args := listQuery(orderColumns, ordersTable, p)
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing orders: %w", unavailable(err))
	}
	return rowsOf(rows, scanOrder)
}
