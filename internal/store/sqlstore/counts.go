package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// countsBehind is how many events behind counts may be brought up to date
// by reading the change feed; further behind, counting the records again
// costs about as much.
const countsBehind = 10_000

// errRecount says that the events cannot be counted from (one is not as
// expected): the records are counted instead.
var errRecount = errors.New("counting the records again")

// CountsSince brings counts up to the newest event (see store.Store). It
// relies on every record that Counts counts being created, deleted and
// restored with an event: X.created, X.deleted, and an event whose changes
// say "deleted" for a restore.
func (s *Store) CountsSince(ctx context.Context, from store.AllCounts) (store.AllCounts, error) {
	var out store.AllCounts
	err := s.inSnapshot(ctx, func(t *tx) error {
		var last int64
		if err := t.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&last); err != nil {
			return err
		}
		if from.Locations == nil || last < from.Seq || last-from.Seq > countsBehind {
			var err error
			out, err = t.countAll(ctx, last)
			return err
		}
		out = store.AllCounts{Seq: last, Locations: maps.Clone(from.Locations)}
		err := t.countChanges(ctx, from.Seq, last, out.Locations)
		if errors.Is(err, errRecount) {
			out, err = t.countAll(ctx, last)
		}
		return err
	})
	if err != nil {
		return from, fmt.Errorf("counting: %w", unavailable(err))
	}
	return out, nil
}

// inSnapshot runs fn in a read-only transaction that sees one state of the
// database throughout, so that the events it reads and the records it looks
// up agree. (SQLite's one connection serialises it with the writers anyway.)
func (s *Store) inSnapshot(ctx context.Context, fn func(*tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	t := &tx{s: s, tx: sqlTx}
	err = fn(t)
	_ = sqlTx.Rollback() // it wrote nothing
	if t.missed {
		s.stmts.prepareMissed(ctx, s.db)
	}
	return err
}

// countAll counts every location's records, as Counts does for one.
func (t *tx) countAll(ctx context.Context, last int64) (store.AllCounts, error) {
	out := store.AllCounts{Seq: last, Locations: map[string]rankr.Counts{}, Recounted: true}
	queries := []struct {
		query string
		field func(*rankr.Counts) *int
	}{
		{`SELECT location_id, COUNT(*) FROM orders WHERE deleted_at IS NULL GROUP BY location_id`,
			func(c *rankr.Counts) *int { return &c.Orders }},
		{`SELECT f.location_id, COUNT(*) FROM fulfillments f JOIN orders o ON o.location_id = f.location_id AND o.id = f.order_id
			WHERE o.deleted_at IS NULL GROUP BY f.location_id`,
			func(c *rankr.Counts) *int { return &c.Fulfillments }},
		{`SELECT location_id, COUNT(*) FROM transactions WHERE deleted_at IS NULL GROUP BY location_id`,
			func(c *rankr.Counts) *int { return &c.Transactions }},
		{`SELECT location_id, COUNT(*) FROM subscriptions WHERE deleted_at IS NULL GROUP BY location_id`,
			func(c *rankr.Counts) *int { return &c.Subscriptions }},
		{`SELECT location_id, COUNT(*) FROM invoices WHERE deleted_at IS NULL GROUP BY location_id`,
			func(c *rankr.Counts) *int { return &c.Invoices }},
		{`SELECT location_id, COUNT(*) FROM events GROUP BY location_id`,
			func(c *rankr.Counts) *int { return &c.Events }},
	}
	for _, q := range queries {
		rows, err := t.query(ctx, q.query)
		if err != nil {
			return out, err
		}
		for rows.Next() {
			var loc string
			var n int
			if err := rows.Scan(&loc, &n); err != nil {
				rows.Close()
				return out, err
			}
			c := out.Locations[loc]
			*q.field(&c) = n
			out.Locations[loc] = c
		}
		if err := rows.Close(); err != nil {
			return out, err
		}
		if err := rows.Err(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// orderTouch is what the events read say about one order: how its life
// first changed (created, deleted, restored; empty: it did not) and how many
// fulfillments it gained.
type orderTouch struct {
	first string
	added int
}

// countChanges applies the events after seq up to last to counts. Records
// are counted from their events; fulfillments count only while their order
// lives, and may come before it, so for each order the events touched, its
// fulfillments' share is worked out from its state now and the events.
func (t *tx) countChanges(ctx context.Context, after, last int64, counts map[string]rankr.Counts) error {
	rows, err := t.query(ctx, `SELECT location_id, kind, record_type, record_id, data FROM events WHERE seq > ? AND seq <= ? ORDER BY seq`,
		after, last)
	if err != nil {
		return err
	}
	defer rows.Close()
	touched := map[string]map[string]*orderTouch{} // location, order id
	touch := func(loc, id string) *orderTouch {
		if touched[loc] == nil {
			touched[loc] = map[string]*orderTouch{}
		}
		o := touched[loc][id]
		if o == nil {
			o = &orderTouch{}
			touched[loc][id] = o
		}
		return o
	}
	life := func(loc, id, what string) {
		if o := touch(loc, id); o.first == "" {
			o.first = what
		}
	}
	for rows.Next() {
		var loc, kind, recordType, id, data string
		if err := rows.Scan(&loc, &kind, &recordType, &id, &data); err != nil {
			return err
		}
		c := counts[loc]
		c.Events++
		switch kind {
		case rankr.OrderCreated:
			c.Orders++
			life(loc, id, "created")
		case rankr.OrderDeleted:
			c.Orders--
			life(loc, id, "deleted")
		case rankr.TransactionCreated:
			c.Transactions++
		case rankr.TransactionDeleted:
			c.Transactions--
		case rankr.SubscriptionCreated:
			c.Subscriptions++
		case rankr.SubscriptionDeleted:
			c.Subscriptions--
		case rankr.InvoiceCreated:
			c.Invoices++
		case rankr.InvoiceDeleted:
			c.Invoices--
		case rankr.FulfillmentCreated:
			var f struct {
				OrderID string `json:"orderId"`
			}
			if err := json.Unmarshal([]byte(data), &f); err != nil || f.OrderID == "" {
				return errRecount // a fulfillment event names its order
			}
			touch(loc, f.OrderID).added++
		default:
			if restored(data) {
				switch recordType {
				case rankr.RecordOrder:
					c.Orders++
					life(loc, id, "restored")
				case rankr.RecordTransaction:
					c.Transactions++
				case rankr.RecordSubscription:
					c.Subscriptions++
				case rankr.RecordInvoice:
					c.Invoices++
				}
			}
		}
		counts[loc] = c
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	for loc, orders := range touched {
		if err := t.countFulfillmentShares(ctx, loc, orders, counts); err != nil {
			return err
		}
	}
	return nil
}

// restored reports whether an event's changes bring a deleted record back.
func restored(data string) bool {
	if !bytes.Contains([]byte(data), []byte(`"deleted"`)) {
		return false
	}
	var d struct {
		Changes map[string]json.RawMessage `json:"changes"`
	}
	if json.Unmarshal([]byte(data), &d) != nil {
		return false
	}
	_, ok := d.Changes["deleted"]
	return ok
}

// countFulfillmentShares moves a location's fulfillment count by how much
// each touched order's share (its fulfillments while it lives) changed: its
// share now is read, its share before the events is worked out from them.
func (t *tx) countFulfillmentShares(ctx context.Context, loc string, orders map[string]*orderTouch, counts map[string]rankr.Counts) error {
	ids := make([]string, 0, len(orders))
	for id := range orders {
		ids = append(ids, id)
	}
	type state struct {
		live         bool
		fulfillments int
	}
	now := map[string]state{} // orders that exist
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		rows, err := t.query(ctx, fmt.Sprintf(`SELECT o.id, o.deleted_at IS NULL,
			(SELECT COUNT(*) FROM fulfillments f WHERE f.location_id = o.location_id AND f.order_id = o.id)
			FROM orders o WHERE o.location_id = ? AND o.id IN (%s)`, placeholders(len(chunk))), idArgs(loc, chunk)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var st state
			if err := rows.Scan(&id, &st.live, &st.fulfillments); err != nil {
				rows.Close()
				return err
			}
			now[id] = st
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	c := counts[loc]
	for id, o := range orders {
		st := now[id] // not there: no order, no share, now or before
		liveBefore := st.live
		switch o.first {
		case "created":
			liveBefore = false
		case "deleted":
			liveBefore = true
		case "restored":
			liveBefore = false
		}
		if st.live {
			c.Fulfillments += st.fulfillments
		}
		if liveBefore {
			c.Fulfillments -= st.fulfillments - o.added
		}
	}
	counts[loc] = c
	return nil
}

// CountsSnapshot reads the saved counts.
func (s *Store) CountsSnapshot(ctx context.Context) (store.AllCounts, time.Time, error) {
	var out store.AllCounts
	var counts string
	var at int64
	err := s.read().QueryRowContext(ctx, `SELECT seq, counts, saved_at FROM counts_snapshot WHERE id = 1`).Scan(&out.Seq, &counts, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return out, time.Time{}, notFound("saved counts")
	}
	if err != nil {
		return out, time.Time{}, fmt.Errorf("reading the saved counts: %w", unavailable(err))
	}
	if err := json.Unmarshal([]byte(counts), &out.Locations); err != nil {
		return store.AllCounts{}, time.Time{}, fmt.Errorf("reading the saved counts: %w", err)
	}
	if out.Locations == nil {
		out.Locations = map[string]rankr.Counts{}
	}
	return out, time.UnixMilli(at).UTC(), nil
}

// CountsSave saves counts unless newer ones are saved: processes sharing a
// database each save theirs, and the newest stays.
func (s *Store) CountsSave(ctx context.Context, c store.AllCounts, at time.Time) error {
	if c.Locations == nil {
		return invalid("saving counts needs them counted first")
	}
	counts, err := json.Marshal(c.Locations)
	if err != nil {
		return fmt.Errorf("saving the counts: %w", err)
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO counts_snapshot (id, seq, counts, saved_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, counts = excluded.counts, saved_at = excluded.saved_at
		WHERE counts_snapshot.seq <= excluded.seq`), c.Seq, string(counts), at.UnixMilli())
	if err != nil {
		return fmt.Errorf("saving the counts: %w", unavailable(err))
	}
	return nil
}
