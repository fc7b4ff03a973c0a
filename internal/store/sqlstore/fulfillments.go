package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// FulfillmentSync stores an order's fulfillments as GHL listed them.
func (s *Store) FulfillmentSync(ctx context.Context, p store.FulfillmentSyncParams) (store.UpsertResult, error) {
	if p.LocationID == "" || p.OrderID == "" {
		return store.UpsertResult{}, invalid("a location id and an order id are required")
	}
	for _, f := range p.Fulfillments {
		if f.ID == "" {
			return store.UpsertResult{}, invalid("a fulfillment without an id")
		}
	}
	now := cmp.Or(p.Now, time.Now())
	var res store.UpsertResult
	err := s.inTx(ctx, func(t *tx) error {
		res = store.UpsertResult{}
		var fulfillment string
		err := t.queryRow(ctx, `SELECT fulfillment_status FROM orders WHERE location_id = ? AND id = ?`+t.s.d.LockRows,
			p.LocationID, p.OrderID).Scan(&fulfillment)
		orderKnown := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		known := map[string]bool{}
		rows, err := t.query(ctx, `SELECT id FROM fulfillments WHERE location_id = ? AND order_id = ?`, p.LocationID, p.OrderID)
		if err != nil {
			return err
		}
		ids, err := rowsOf(rows, scanID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			known[id] = true
		}
		for _, f := range p.Fulfillments {
			if known[f.ID] {
				// GHL fulfillments never change once created.
				res.Unchanged++
				continue
			}
			known[f.ID] = true
			if err := t.insertFulfillment(ctx, p.LocationID, p.OrderID, f, now); err != nil {
				return fmt.Errorf("fulfillment %s: %w", f.ID, err)
			}
			res.Created = append(res.Created, f.ID)
			res.Events++
		}
		if !orderKnown {
			return nil
		}
		_, err = t.exec(ctx, `UPDATE orders SET fulfillments_version = ?, fulfillments_status = ? WHERE location_id = ? AND id = ?`,
			p.OrderUpdatedAt.UnixMilli(), fulfillment, p.LocationID, p.OrderID)
		return err
	})
	return res, err
}

func (t *tx) insertFulfillment(ctx context.Context, loc, orderID string, f rankr.Fulfillment, now time.Time) error {
	if _, err := t.exec(ctx, `INSERT INTO fulfillments (location_id, id, order_id, created_at, updated_at, raw, inserted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, loc, f.ID, orderID, f.CreatedAt.UnixMilli(), f.UpdatedAt.UnixMilli(), string(f.Raw), now.UnixMilli()); err != nil {
		return err
	}
	for i, tr := range f.Trackings {
		if _, err := t.exec(ctx, `INSERT INTO fulfillment_trackings (location_id, fulfillment_id, position, number, carrier, url)
			VALUES (?, ?, ?, ?, ?, ?)`, loc, f.ID, i, tr.Number, tr.Carrier, tr.URL); err != nil {
			return err
		}
	}
	for i, it := range f.Items {
		if _, err := t.exec(ctx, `INSERT INTO fulfillment_items (location_id, fulfillment_id, position, item_id, price_id, name, qty)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, loc, f.ID, i, it.ItemID, it.PriceID, it.Name, it.Qty); err != nil {
			return err
		}
	}
	numbers := make([]string, len(f.Trackings))
	for i, tr := range f.Trackings {
		numbers[i] = tr.Number
	}
	return t.appendEvent(ctx, loc, rankr.FulfillmentCreated, rankr.RecordFulfillment, f.ID, now,
		map[string]any{"orderId": orderID, "trackingNumbers": numbers, "items": len(f.Items)})
}

const fulfillmentColumns = `location_id, id, order_id, created_at, updated_at, raw`

func (s *Store) scanFulfillments(ctx context.Context, rows *sql.Rows) ([]rankr.Fulfillment, error) {
	out, err := rowsOf(rows, func(r scanner) (rankr.Fulfillment, error) {
		var f rankr.Fulfillment
		var created, updated int64
		var raw string
		err := r.Scan(&f.LocationID, &f.ID, &f.OrderID, &created, &updated, &raw)
		f.CreatedAt, f.UpdatedAt, f.Raw = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC(), []byte(raw)
		return f, err
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.fulfillmentChildren(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) fulfillmentChildren(ctx context.Context, f *rankr.Fulfillment) error {
	rows, err := s.read().QueryContext(ctx, s.q(`SELECT number, carrier, url FROM fulfillment_trackings
		WHERE location_id = ? AND fulfillment_id = ? ORDER BY position`), f.LocationID, f.ID)
	if err != nil {
		return err
	}
	if f.Trackings, err = rowsOf(rows, func(r scanner) (rankr.Tracking, error) {
		var tr rankr.Tracking
		return tr, r.Scan(&tr.Number, &tr.Carrier, &tr.URL)
	}); err != nil {
		return err
	}
	rows, err = s.read().QueryContext(ctx, s.q(`SELECT item_id, price_id, name, qty FROM fulfillment_items
		WHERE location_id = ? AND fulfillment_id = ? ORDER BY position`), f.LocationID, f.ID)
	if err != nil {
		return err
	}
	f.Items, err = rowsOf(rows, func(r scanner) (rankr.FulfillmentItem, error) {
		var it rankr.FulfillmentItem
		return it, r.Scan(&it.ItemID, &it.PriceID, &it.Name, &it.Qty)
	})
	if f.Trackings == nil {
		f.Trackings = []rankr.Tracking{}
	}
	if f.Items == nil {
		f.Items = []rankr.FulfillmentItem{}
	}
	return err
}

// FulfillmentList lists fulfillments newest first.
func (s *Store) FulfillmentList(ctx context.Context, p store.ListParams) ([]rankr.Fulfillment, error) {
	p.Status = "" // fulfillments have no status
	query, args := listQuery(fulfillmentColumns, fulfillmentsTable, p)
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing fulfillments: %w", unavailable(err))
	}
	return s.scanFulfillments(ctx, rows)
}

// FulfillmentGet returns one fulfillment.
func (s *Store) FulfillmentGet(ctx context.Context, locationID, id string) (rankr.Fulfillment, error) {
	query := `SELECT ` + fulfillmentColumns + ` FROM fulfillments WHERE id = ?`
	args := []any{id}
	if locationID != "" {
		query += ` AND location_id = ?`
		args = append(args, locationID)
	}
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return rankr.Fulfillment{}, fmt.Errorf("reading fulfillment %s: %w", id, unavailable(err))
	}
	fs, err := s.scanFulfillments(ctx, rows)
	if err != nil {
		return rankr.Fulfillment{}, err
	}
	if len(fs) == 0 {
		return rankr.Fulfillment{}, notFound("fulfillment " + id)
	}
	return fs[0], nil
}
