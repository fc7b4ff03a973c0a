package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// PushCreate records a new push, unless it repeats one (see
// store.Store.PushCreate). The order's row is locked (PostgreSQL; SQLite has
// one writer) while its items, fulfillments and pushes are read and the push
// is added, so that two requests cannot both take the same items.
func (s *Store) PushCreate(ctx context.Context, p rankr.FulfillmentPush) (rankr.FulfillmentPush, bool, error) {
	if p.ID == "" || p.LocationID == "" || p.OrderID == "" {
		return p, false, invalid("a fulfillment push needs an id, a location and an order")
	}
	if p.NotifyCustomer && p.NotifyVia == rankr.NotifyNobody {
		p.NotifyVia = rankr.NotifyGHL // what notifyCustomer meant before Rankr sent notices itself
	}
	if err := checkNotifyVia(p); err != nil {
		return p, false, err
	}
	now := cmp.Or(p.CreatedAt, time.Now()).UTC().Truncate(time.Millisecond)
	var out rankr.FulfillmentPush
	var created bool
	err := s.inTx(ctx, func(t *tx) error {
		o, err := t.pushOrder(ctx, p.LocationID, p.OrderID)
		if err != nil {
			return err
		}
		fs, err := t.orderFulfillments(ctx, p.LocationID, p.OrderID)
		if err != nil {
			return err
		}
		rows, err := t.query(ctx, `SELECT `+pushColumns+` FROM fulfillment_pushes WHERE location_id = ? AND order_id = ?`, p.LocationID, p.OrderID)
		if err != nil {
			return err
		}
		pushes, err := rowsOf(rows, scanPush)
		if err != nil {
			return err
		}
		plan, existing, err := rankr.PlanPush(o, fs, pushes, p)
		if err != nil || existing {
			out, created = plan, false
			return err
		}
		// Due at once by the database's clock, whatever the requester's.
		due, err := t.now(ctx)
		if err != nil {
			return err
		}
		trackings, _ := json.Marshal(plan.Trackings)
		items, _ := json.Marshal(plan.Items)
		if _, err := t.exec(ctx, `INSERT INTO fulfillment_pushes (id, location_id, order_id, trackings, items, notify_customer,
			notify_via, state, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			plan.ID, plan.LocationID, plan.OrderID, string(trackings), string(items), plan.NotifyCustomer, string(plan.NotifyVia),
			string(rankr.PushPending), due.UnixMilli(), now.UnixMilli(), now.UnixMilli()); err != nil {
			return fmt.Errorf("recording push %s: %w", plan.ID, err)
		}
		plan.State, plan.Attempts, plan.LastError, plan.FulfillmentID, plan.Claim = rankr.PushPending, 0, "", "", ""
		plan.NextAttemptAt, plan.CreatedAt, plan.UpdatedAt = due, now, now
		out, created = plan, true
		if p.RequestedBy != nil {
			changes, _ := json.Marshal(map[string]any{"orderId": plan.OrderID, "items": plan.Items, "trackings": plan.Trackings,
				"notifyVia": plan.NotifyVia})
			if err := t.appendAudit(ctx, rankr.AuditEntry{At: now, Actor: *p.RequestedBy, Action: "fulfillment_push.requested",
				Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "fulfillment_push", ID: plan.ID, LocationID: plan.LocationID},
				Changes: changes}); err != nil {
				return err
			}
		}
		return t.appendEvent(ctx, plan.LocationID, rankr.FulfillmentPushRequested, rankr.RecordFulfillmentPush, plan.ID, now,
			map[string]any{"orderId": plan.OrderID, "items": plan.Items, "trackings": plan.Trackings, "notifyCustomer": plan.NotifyCustomer,
				"notifyVia": plan.NotifyVia})
	})
	if err != nil && !errors.Is(err, rankr.ErrInvalid) && !errors.Is(err, rankr.ErrConflict) && !errors.Is(err, rankr.ErrNotFound) {
		return out, false, fmt.Errorf("requesting a push of order %s: %w", p.OrderID, unavailable(err))
	}
	return out, created, err
}

// pushOrder locks an order and reads what a push needs of it: its items
// (nil when its detail was never synced).
func (t *tx) pushOrder(ctx context.Context, loc, id string) (rankr.Order, error) {
	o := rankr.Order{ID: id, LocationID: loc}
	var detail sql.NullInt64
	err := t.queryRow(ctx, `SELECT detail_updated_at FROM orders WHERE location_id = ? AND id = ?`+t.s.d.LockRows, loc, id).Scan(&detail)
	if errors.Is(err, sql.ErrNoRows) {
		return o, notFound("order " + id)
	}
	if err != nil || !detail.Valid {
		return o, err
	}
	rows, err := t.query(ctx, `SELECT id, price_id, qty, product_type FROM order_items WHERE location_id = ? AND order_id = ?
		ORDER BY position`, loc, id)
	if err != nil {
		return o, err
	}
	o.Items, err = rowsOf(rows, func(r scanner) (rankr.OrderItem, error) {
		var it rankr.OrderItem
		return it, r.Scan(&it.ID, &it.PriceID, &it.Qty, &it.ProductType)
	})
	if o.Items == nil {
		o.Items = []rankr.OrderItem{}
	}
	return o, err
}

// orderFulfillments reads the items an order's fulfillments shipped.
func (t *tx) orderFulfillments(ctx context.Context, loc, orderID string) ([]rankr.Fulfillment, error) {
	rows, err := t.query(ctx, `SELECT f.id, COALESCE(i.price_id, ''), COALESCE(i.qty, 0) FROM fulfillments f
		LEFT JOIN fulfillment_items i ON i.location_id = f.location_id AND i.fulfillment_id = f.id
		WHERE f.location_id = ? AND f.order_id = ? ORDER BY f.id, i.position`, loc, orderID)
	if err != nil {
		return nil, err
	}
	type line struct {
		id string
		it rankr.FulfillmentItem
	}
	lines, err := rowsOf(rows, func(r scanner) (line, error) {
		var l line
		return l, r.Scan(&l.id, &l.it.PriceID, &l.it.Qty)
	})
	if err != nil {
		return nil, err
	}
	var out []rankr.Fulfillment
	for _, l := range lines {
		if len(out) == 0 || out[len(out)-1].ID != l.id {
			out = append(out, rankr.Fulfillment{ID: l.id, LocationID: loc, OrderID: orderID})
		}
		if l.it.PriceID != "" {
			out[len(out)-1].Items = append(out[len(out)-1].Items, l.it)
		}
	}
	return out, nil
}

const pushColumns = `id, location_id, order_id, trackings, items, notify_customer, state, fulfillment_id, attempts,
	last_error, next_attempt_at, created_at, updated_at, notify_via, claim`

func scanPush(r scanner) (rankr.FulfillmentPush, error) {
	var p rankr.FulfillmentPush
	var trackings, items, state, via string
	var next, created, updated int64
	err := r.Scan(&p.ID, &p.LocationID, &p.OrderID, &trackings, &items, &p.NotifyCustomer, &state, &p.FulfillmentID,
		&p.Attempts, &p.LastError, &next, &created, &updated, &via, &p.Claim)
	if err != nil {
		return p, err
	}
	p.State, p.NotifyVia = rankr.PushState(state), rankr.NotifyVia(via)
	p.NextAttemptAt, p.CreatedAt, p.UpdatedAt = time.UnixMilli(next).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if err := json.Unmarshal([]byte(trackings), &p.Trackings); err != nil {
		return p, err
	}
	return p, json.Unmarshal([]byte(items), &p.Items)
}

// PushGet returns one push.
func (s *Store) PushGet(ctx context.Context, id string) (rankr.FulfillmentPush, error) {
	p, err := scanPush(s.read().QueryRowContext(ctx, s.q(`SELECT `+pushColumns+` FROM fulfillment_pushes WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("fulfillment push " + id)
	}
	if err != nil {
		return p, fmt.Errorf("reading push %s: %w", id, unavailable(err))
	}
	return p, nil
}

// PushClaim takes a due push for one attempt, under a fresh claim token.
// Due times and leases are the database's time: processes whose clocks
// disagree neither take a push another holds nor leave a free one alone.
func (s *Store) PushClaim(ctx context.Context, p store.PushClaimParams) (rankr.FulfillmentPush, error) {
	stamp := cmp.Or(p.Now, time.Now())
	claim := newLease()
	var out rankr.FulfillmentPush
	err := s.inTx(ctx, func(t *tx) error {
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, `UPDATE fulfillment_pushes SET state = ?, attempts = attempts + 1, claim = ?, claimed_until = ?, updated_at = ?
			WHERE id = ? AND next_attempt_at <= ? AND (state IN (?, ?) OR (state = ? AND claimed_until < ?))`,
			string(rankr.PushPushing), claim, now.Add(cmp.Or(p.Lease, 2*time.Minute)).UnixMilli(), stamp.UnixMilli(),
			p.ID, now.UnixMilli(), string(rankr.PushPending), string(rankr.PushUnknown), string(rankr.PushPushing), now.UnixMilli())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("push %s is not due, or another pusher holds it: %w", p.ID, rankr.ErrConflict)
		}
		out, err = scanPush(t.queryRow(ctx, `SELECT `+pushColumns+` FROM fulfillment_pushes WHERE id = ?`, p.ID))
		return err
	})
	if err != nil && !errors.Is(err, rankr.ErrConflict) {
		return out, fmt.Errorf("claiming push %s: %w", p.ID, unavailable(err))
	}
	return out, err
}

// PushFinish ends an attempt, if it still holds the push.
func (s *Store) PushFinish(ctx context.Context, p store.PushFinishParams) error {
	stamp := cmp.Or(p.Now, time.Now())
	switch p.State {
	case rankr.PushDone, rankr.PushFailed, rankr.PushUnknown, rankr.PushPending:
	default:
		return invalid("a push attempt cannot end %q", p.State)
	}
	err := s.inTx(ctx, func(t *tx) error {
		var loc, order, via, state, claim string
		err := t.queryRow(ctx, `SELECT location_id, order_id, notify_via, state, claim FROM fulfillment_pushes WHERE id = ?`+t.s.d.LockRows, p.ID).
			Scan(&loc, &order, &via, &state, &claim)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("fulfillment push " + p.ID)
		}
		if err != nil {
			return err
		}
		// Only the attempt that holds the push records its end: one
		// whose lease ran out, and whose push another attempt took (or
		// finished), would overwrite a newer result.
		if p.Claim == "" || claim != p.Claim || rankr.PushState(state) != rankr.PushPushing {
			return fmt.Errorf("push %s is no longer held by this attempt (its lease ran out; the push is %s now): %w", p.ID, state, rankr.ErrConflict)
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		if p.State == rankr.PushDone && rankr.NotifyVia(via) == rankr.NotifyRankr {
			// The customer's notice is queued with the push's success, in
			// one transaction: a done push never lacks its notice, and the
			// fulfillment id as dedupe key makes a second one impossible.
			switch {
			case p.FulfillmentID == "" || p.Notice == nil && p.NoNotice == "":
				return invalid("push %s notifies the customer through Rankr: it is done only with GHL's fulfillment id and its notice", p.ID)
			case p.Notice == nil:
				p.Error = "the customer was not notified: " + p.NoNotice
			default:
				n := *p.Notice
				n.LocationID, n.Kind, n.DedupeKey = loc, rankr.NoticeFulfillment, p.FulfillmentID
				n.ID = rankr.NoticeID(n.Kind, n.DedupeKey)
				if _, err := t.noticeInsert(ctx, n, stamp); err != nil {
					return err
				}
			}
		}
		if _, err := t.exec(ctx, `UPDATE fulfillment_pushes SET state = ?, fulfillment_id = ?, last_error = ?, next_attempt_at = ?,
			claim = '', claimed_until = NULL, updated_at = ? WHERE id = ?`, string(p.State), p.FulfillmentID, p.Error,
			now.Add(max(p.RetryIn, 0)).UnixMilli(), stamp.UnixMilli(), p.ID); err != nil {
			return err
		}
		switch p.State {
		case rankr.PushDone:
			data := map[string]any{"orderId": order, "fulfillmentId": p.FulfillmentID}
			if p.Notice == nil && p.NoNotice != "" {
				data["notNotified"] = p.NoNotice
			}
			return t.appendEvent(ctx, loc, rankr.FulfillmentPushed, rankr.RecordFulfillmentPush, p.ID, stamp, data)
		case rankr.PushFailed:
			return t.appendEvent(ctx, loc, rankr.FulfillmentPushFailed, rankr.RecordFulfillmentPush, p.ID, stamp,
				map[string]any{"orderId": order, "error": p.Error})
		}
		return nil
	})
	if err != nil && !errors.Is(err, rankr.ErrConflict) && !errors.Is(err, rankr.ErrNotFound) && !errors.Is(err, rankr.ErrInvalid) {
		return fmt.Errorf("finishing push %s: %w", p.ID, unavailable(err))
	}
	return err
}

// PushesDue lists pushes due for an attempt, by the database's clock.
func (s *Store) PushesDue(ctx context.Context, n int) ([]string, error) {
	rows, err := s.read().QueryContext(ctx, s.q(`SELECT id FROM fulfillment_pushes WHERE next_attempt_at <= `+s.d.Clock+`
		AND (state IN (?, ?) OR (state = ? AND claimed_until < `+s.d.Clock+`)) ORDER BY next_attempt_at LIMIT ?`),
		string(rankr.PushPending), string(rankr.PushUnknown), string(rankr.PushPushing), limit(n, 100, 1000))
	if err != nil {
		return nil, fmt.Errorf("listing due pushes: %w", unavailable(err))
	}
	return rowsOf(rows, scanID)
}

// PushList lists pushes newest first.
func (s *Store) PushList(ctx context.Context, p store.ListParams) ([]rankr.FulfillmentPush, error) {
	query, args := listQuery(pushColumns, pushesTable, p)
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing pushes: %w", unavailable(err))
	}
	return rowsOf(rows, scanPush)
}

// PushOwning returns the push that created a GHL fulfillment.
func (s *Store) PushOwning(ctx context.Context, locationID, fulfillmentID string) (string, error) {
	var id string
	err := s.read().QueryRowContext(ctx, s.q(`SELECT id FROM fulfillment_pushes WHERE location_id = ? AND fulfillment_id = ?`),
		locationID, fulfillmentID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("looking up the push of fulfillment %s: %w", fulfillmentID, unavailable(err))
	}
	return id, nil
}

// checkNotifyVia keeps a customer from being told twice: GHL is asked to
// notify exactly when the push says GHL notifies.
func checkNotifyVia(p rankr.FulfillmentPush) error {
	switch p.NotifyVia {
	case rankr.NotifyGHL:
		if p.NotifyCustomer {
			return nil
		}
	case rankr.NotifyNobody, rankr.NotifyRankr:
		if !p.NotifyCustomer {
			return nil
		}
	default:
		return invalid("push %s: unknown notifier %q", p.ID, p.NotifyVia)
	}
	return invalid("push %s: notifyCustomer must be true exactly when GHL notifies (notifyVia %q)", p.ID, p.NotifyVia)
}
