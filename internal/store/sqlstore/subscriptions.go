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

type subState struct {
	version
	status              string
	amount              int64
	summaryAt, detailAt sql.NullInt64
	deleted             bool
}

func subHash(s rankr.Subscription) string {
	return contentHash(s.ContactID, s.ContactName, s.ContactEmail, s.Amount, s.Currency, s.Status, s.LiveMode, s.OrderID,
		s.ProviderSubscriptionID, s.CreatedAt.UnixMilli())
}

func (t *tx) subStates(ctx context.Context, loc string, ids []string) (map[string]*subState, error) {
	return lockStates(ctx, t, `SELECT id, updated_at, content_hash, status, amount, summary_updated_at, detail_updated_at,
		deleted_at IS NOT NULL FROM subscriptions WHERE location_id = ? AND id IN (%s)`, loc, ids,
		func(r scanner) (string, *subState, error) {
			var id string
			st := &subState{}
			err := r.Scan(&id, &st.at, &st.hash, &st.status, &st.amount, &st.summaryAt, &st.detailAt, &st.deleted)
			return id, st, err
		})
}

// SubscriptionUpsert stores a batch of subscription versions.
func (s *Store) SubscriptionUpsert(ctx context.Context, p store.SubscriptionUpsertParams) (store.UpsertResult, error) {
	now := cmp.Or(p.Now, time.Now())
	b := batch[store.SubscriptionVersion]{loc: p.LocationID, what: "subscription", table: "subscriptions", items: p.Subscriptions,
		seen: p.SeenAt, checkpoint: p.Checkpoint, now: now,
		key: func(v store.SubscriptionVersion) (string, time.Time) {
			return v.Subscription.ID, v.Subscription.UpdatedAt
		}}
	var states map[string]*subState
	return b.upsert(ctx, s,
		func(t *tx, ids []string) (err error) { states, err = t.subStates(ctx, p.LocationID, ids); return err },
		func(t *tx, v store.SubscriptionVersion, res *store.UpsertResult) error {
			return t.upsertSub(ctx, p.LocationID, v, states, now, res)
		}, nil)
}

func (t *tx) upsertSub(ctx context.Context, loc string, v store.SubscriptionVersion, states map[string]*subState, now time.Time, res *store.UpsertResult) error {
	x := v.Subscription
	in := version{x.UpdatedAt.UnixMilli(), subHash(x)}
	st, created, err := stored(states, x.ID,
		func() (bool, error) { return t.insertSub(ctx, loc, v, in, now) },
		func(ids []string) (map[string]*subState, error) { return t.subStates(ctx, loc, ids) })
	if err != nil || created {
		if created {
			states[x.ID] = &subState{version: in, status: x.Status, amount: x.Amount}
			res.Created = append(res.Created, x.ID)
			res.Events++
		}
		return err
	}
	if v.Detail && in.at >= st.at && (!st.detailAt.Valid || in.at >= st.detailAt.Int64) {
		// A detail fetched again at the same version still clears a renewal's
		// needs_detail mark: the fetch happened after the renewal.
		if err := t.writeSubDetail(ctx, loc, x); err != nil {
			return err
		}
		st.detailAt = sql.NullInt64{Int64: in.at, Valid: true}
	}
	if !v.Detail && in.at >= st.at && (!st.summaryAt.Valid || in.at > st.summaryAt.Int64) {
		if _, err := t.exec(ctx, `UPDATE subscriptions SET raw_summary = ?, summary_updated_at = ? WHERE location_id = ? AND id = ?`,
			nullText(x.RawSummary), in.at, loc, x.ID); err != nil {
			return err
		}
		st.summaryAt = sql.NullInt64{Int64: in.at, Valid: true}
	}
	if newer, err := t.olderOrSame(ctx, in, st.version, &st.deleted, "subscriptions", rankr.RecordSubscription, rankr.SubscriptionUpdated, loc, x.ID, now, res); !newer || err != nil {
		return err
	}
	c := changes{}
	c.note("status", st.status, x.Status)
	c.note("amount", st.amount, x.Amount)
	if st.deleted {
		c.note("deleted", true, false)
	}
	if _, err := t.exec(ctx, `UPDATE subscriptions SET contact_id = ?, contact_name = ?, contact_email = ?, amount = ?, currency = ?,
		status = ?, live_mode = ?, order_id = ?, provider_subscription_id = ?, created_at = ?, updated_at = ?, content_hash = ?,
		deleted_at = NULL WHERE location_id = ? AND id = ?`,
		x.ContactID, x.ContactName, x.ContactEmail, x.Amount, x.Currency, x.Status, x.LiveMode, x.OrderID, x.ProviderSubscriptionID,
		x.CreatedAt.UnixMilli(), in.at, in.hash, loc, x.ID); err != nil {
		return err
	}
	*st = subState{version: in, status: x.Status, amount: x.Amount, summaryAt: st.summaryAt, detailAt: st.detailAt}
	return t.changed(ctx, loc, rankr.RecordSubscription, x.ID, c, [][2]string{{"status", rankr.SubscriptionStatusChanged}},
		rankr.SubscriptionUpdated, x.UpdatedAt, now, res)
}

// insertSub inserts a new subscription, with its event; false means another
// writer got there first.
func (t *tx) insertSub(ctx context.Context, loc string, v store.SubscriptionVersion, in version, now time.Time) (bool, error) {
	x := v.Subscription
	var rawSummary, summaryAt any
	if !v.Detail {
		rawSummary, summaryAt = nullText(x.RawSummary), in.at
	}
	var got string
	err := t.queryRow(ctx, `INSERT INTO subscriptions (location_id, id, contact_id, contact_name, contact_email, amount,
		currency, status, live_mode, order_id, provider_subscription_id, created_at, updated_at, content_hash, raw_summary,
		summary_updated_at, needs_detail, inserted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (location_id, id) DO NOTHING RETURNING id`,
		loc, x.ID, x.ContactID, x.ContactName, x.ContactEmail, x.Amount, x.Currency, x.Status, x.LiveMode, x.OrderID,
		x.ProviderSubscriptionID, x.CreatedAt.UnixMilli(), in.at, in.hash, rawSummary, summaryAt, !v.Detail, now.UnixMilli()).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if v.Detail {
		if err := t.writeSubDetail(ctx, loc, x); err != nil {
			return false, err
		}
	}
	return true, t.appendEvent(ctx, loc, rankr.SubscriptionCreated, rankr.RecordSubscription, x.ID, now, map[string]any{
		"status": x.Status, "amount": x.Amount, "currency": x.Currency, "orderId": x.OrderID, "updatedAt": x.UpdatedAt,
	})
}

func (t *tx) writeSubDetail(ctx context.Context, loc string, x rankr.Subscription) error {
	_, err := t.exec(ctx, `UPDATE subscriptions SET billing_interval = ?, interval_count = ?, next_run_at = ?, canceled_at = ?,
		raw_detail = ?, detail_updated_at = ?, needs_detail = ? WHERE location_id = ? AND id = ?`,
		x.Interval, x.IntervalCount, ms(x.NextRunAt), ms(x.CanceledAt), nullText(x.RawDetail), x.UpdatedAt.UnixMilli(), false, loc, x.ID)
	return err
}

// SubscriptionsNeedingDetail lists subscriptions whose detail is missing,
// behind, or invalidated by a new charge.
func (s *Store) SubscriptionsNeedingDetail(ctx context.Context, locationID string, n int) ([]string, error) {
	rows, err := s.read().QueryContext(ctx, s.q(`SELECT id FROM subscriptions WHERE location_id = ? AND deleted_at IS NULL
		AND (needs_detail = ? OR detail_updated_at IS NULL OR detail_updated_at < updated_at) ORDER BY id LIMIT ?`),
		locationID, true, limit(n, 100, 1000))
	if err != nil {
		return nil, fmt.Errorf("reading subscription work: %w", unavailable(err))
	}
	return rowsOf(rows, scanID)
}

const subColumns = `location_id, id, contact_id, contact_name, contact_email, amount, currency, status, live_mode, order_id,
	provider_subscription_id, billing_interval, interval_count, next_run_at, canceled_at, created_at, updated_at, deleted_at,
	raw_summary, raw_detail, detail_updated_at`

func scanSub(r scanner) (rankr.Subscription, error) {
	var x rankr.Subscription
	var created, updated int64
	var next, canceled, deleted, detailAt sql.NullInt64
	var rawSummary, rawDetail sql.NullString
	err := r.Scan(&x.LocationID, &x.ID, &x.ContactID, &x.ContactName, &x.ContactEmail, &x.Amount, &x.Currency, &x.Status,
		&x.LiveMode, &x.OrderID, &x.ProviderSubscriptionID, &x.Interval, &x.IntervalCount, &next, &canceled, &created, &updated,
		&deleted, &rawSummary, &rawDetail, &detailAt)
	x.CreatedAt, x.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	x.NextRunAt, x.CanceledAt, x.DeletedAt, x.DetailUpdatedAt = fromMS(next), fromMS(canceled), fromMS(deleted), fromMS(detailAt)
	if rawSummary.Valid {
		x.RawSummary = []byte(rawSummary.String)
	}
	if rawDetail.Valid {
		x.RawDetail = []byte(rawDetail.String)
	}
	return x, err
}

// SubscriptionGet returns one subscription.
func (s *Store) SubscriptionGet(ctx context.Context, locationID, id string) (rankr.Subscription, error) {
	return getOne(ctx, s, "subscription", subColumns, "subscriptions", locationID, id, scanSub)
}

// SubscriptionList lists subscriptions newest first.
func (s *Store) SubscriptionList(ctx context.Context, p store.ListParams) ([]rankr.Subscription, error) {
	query, args := listQuery(subColumns, subscriptionsTable, p)
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing subscriptions: %w", unavailable(err))
	}
	return rowsOf(rows, scanSub)
}
