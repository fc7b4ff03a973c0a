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

// PushCreate records a new push.
func (s *Store) PushCreate(ctx context.Context, p rankr.FulfillmentPush) error {
	if p.ID == "" || p.LocationID == "" || p.OrderID == "" || len(p.Items) == 0 {
		return invalid("a fulfillment push needs an id, a location, an order and items")
	}
	if p.NotifyCustomer && p.NotifyVia == rankr.NotifyNobody {
		p.NotifyVia = rankr.NotifyGHL // what notifyCustomer meant before Rankr sent notices itself
	}
	if err := checkNotifyVia(p); err != nil {
		return err
	}
	trackings, _ := json.Marshal(p.Trackings)
	items, _ := json.Marshal(p.Items)
	now := cmp.Or(p.CreatedAt, time.Now())
	return s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(ctx, `INSERT INTO fulfillment_pushes (id, location_id, order_id, trackings, items, notify_customer,
			notify_via, state, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.LocationID, p.OrderID, string(trackings), string(items), p.NotifyCustomer, string(p.NotifyVia), string(rankr.PushPending),
			now.UnixMilli(), now.UnixMilli(), now.UnixMilli()); err != nil {
			return fmt.Errorf("recording push %s: %w", p.ID, err)
		}
		return t.appendEvent(ctx, p.LocationID, rankr.FulfillmentPushRequested, rankr.RecordFulfillmentPush, p.ID, now,
			map[string]any{"orderId": p.OrderID, "items": p.Items, "trackings": p.Trackings, "notifyCustomer": p.NotifyCustomer, "notifyVia": p.NotifyVia})
	})
}

const pushColumns = `id, location_id, order_id, trackings, items, notify_customer, state, fulfillment_id, attempts,
	last_error, next_attempt_at, created_at, updated_at, notify_via`

func scanPush(r scanner) (rankr.FulfillmentPush, error) {
	var p rankr.FulfillmentPush
	var trackings, items, state, via string
	var next, created, updated int64
	err := r.Scan(&p.ID, &p.LocationID, &p.OrderID, &trackings, &items, &p.NotifyCustomer, &state, &p.FulfillmentID,
		&p.Attempts, &p.LastError, &next, &created, &updated, &via)
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
	p, err := scanPush(s.db.QueryRowContext(ctx, s.q(`SELECT `+pushColumns+` FROM fulfillment_pushes WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("fulfillment push " + id)
	}
	if err != nil {
		return p, fmt.Errorf("reading push %s: %w", id, unavailable(err))
	}
	return p, nil
}

// PushClaim takes a due push for one attempt.
func (s *Store) PushClaim(ctx context.Context, p store.PushClaimParams) (rankr.FulfillmentPush, error) {
	now := cmp.Or(p.Now, time.Now())
	var out rankr.FulfillmentPush
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE fulfillment_pushes SET state = ?, attempts = attempts + 1, claimed_until = ?, updated_at = ?
			WHERE id = ? AND next_attempt_at <= ? AND (state IN (?, ?) OR (state = ? AND claimed_until < ?))`,
			string(rankr.PushPushing), now.Add(cmp.Or(p.Lease, 2*time.Minute)).UnixMilli(), now.UnixMilli(),
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
	return out, err
}

// PushFinish ends an attempt.
func (s *Store) PushFinish(ctx context.Context, p store.PushFinishParams) error {
	now := cmp.Or(p.Now, time.Now())
	return s.inTx(ctx, func(t *tx) error {
		var loc, order, via string
		err := t.queryRow(ctx, `SELECT location_id, order_id, notify_via FROM fulfillment_pushes WHERE id = ?`+t.s.d.LockRows, p.ID).
			Scan(&loc, &order, &via)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("fulfillment push " + p.ID)
		}
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
				if _, err := t.noticeInsert(ctx, n, now); err != nil {
					return err
				}
			}
		}
		if _, err := t.exec(ctx, `UPDATE fulfillment_pushes SET state = ?, fulfillment_id = ?, last_error = ?, next_attempt_at = ?,
			claimed_until = NULL, updated_at = ? WHERE id = ?`, string(p.State), p.FulfillmentID, p.Error,
			cmp.Or(p.NextAttemptAt, now).UnixMilli(), now.UnixMilli(), p.ID); err != nil {
			return err
		}
		switch p.State {
		case rankr.PushDone:
			data := map[string]any{"orderId": order, "fulfillmentId": p.FulfillmentID}
			if p.Notice == nil && p.NoNotice != "" {
				data["notNotified"] = p.NoNotice
			}
			return t.appendEvent(ctx, loc, rankr.FulfillmentPushed, rankr.RecordFulfillmentPush, p.ID, now, data)
		case rankr.PushFailed:
			return t.appendEvent(ctx, loc, rankr.FulfillmentPushFailed, rankr.RecordFulfillmentPush, p.ID, now,
				map[string]any{"orderId": order, "error": p.Error})
		}
		return nil
	})
}

// PushesDue lists pushes due for an attempt.
func (s *Store) PushesDue(ctx context.Context, now time.Time, n int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id FROM fulfillment_pushes WHERE next_attempt_at <= ?
		AND (state IN (?, ?) OR (state = ? AND claimed_until < ?)) ORDER BY next_attempt_at LIMIT ?`),
		now.UnixMilli(), string(rankr.PushPending), string(rankr.PushUnknown), string(rankr.PushPushing), now.UnixMilli(), limit(n, 100, 1000))
	if err != nil {
		return nil, fmt.Errorf("listing due pushes: %w", unavailable(err))
	}
	return rowsOf(rows, scanID)
}

// PushList lists pushes newest first.
func (s *Store) PushList(ctx context.Context, p store.ListParams) ([]rankr.FulfillmentPush, error) {
	query, args := listQuery(pushColumns, "fulfillment_pushes", p, true)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing pushes: %w", unavailable(err))
	}
	return rowsOf(rows, scanPush)
}

// PushOwning returns the push that created a GHL fulfillment.
func (s *Store) PushOwning(ctx context.Context, locationID, fulfillmentID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id FROM fulfillment_pushes WHERE location_id = ? AND fulfillment_id = ?`),
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
