package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

const mpTriggerColumns = `trigger_id, location_id, workflow_id, company_id, mp_key, catalog_key, version, filters, target_url,
	active, reason, from_seq, created_at, updated_at`

func scanMPTrigger(r scanner) (rankr.MarketplaceTrigger, error) {
	var x rankr.MarketplaceTrigger
	var filters string
	var active, created, updated int64
	err := r.Scan(&x.TriggerID, &x.LocationID, &x.WorkflowID, &x.CompanyID, &x.Key, &x.CatalogKey, &x.Version, &filters,
		&x.TargetURL, &active, &x.Reason, &x.FromSeq, &created, &updated)
	x.Filters, x.Active = []byte(filters), active == 1
	x.CreatedAt, x.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return x, err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// MarketplaceTriggerSave creates or updates a subscription; see
// store.Marketplace.
func (s *Store) MarketplaceTriggerSave(ctx context.Context, p store.MarketplaceTriggerSaveParams) (rankr.MarketplaceTrigger, bool, error) {
	if p.TriggerID == "" || p.LocationID == "" || p.Key == "" || p.CatalogKey == "" || p.TargetURL == "" {
		return rankr.MarketplaceTrigger{}, false, invalid("a marketplace trigger needs an id, a location, keys and a target URL")
	}
	filters := cmp.Or(string(bytes.TrimSpace(p.Filters)), "[]")
	now := cmp.Or(p.Now, time.Now()).UnixMilli()
	var out rankr.MarketplaceTrigger
	var changed bool
	err := s.inTx(ctx, func(t *tx) error {
		changed = false
		// Inserted first, so that two CREATED at once make one row.
		rows, err := t.query(ctx, `INSERT INTO marketplace_triggers (`+mpTriggerColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, '', ?, ?, ?) ON CONFLICT DO NOTHING RETURNING trigger_id`,
			p.TriggerID, p.LocationID, p.WorkflowID, p.CompanyID, p.Key, p.CatalogKey, p.Version, filters, p.TargetURL,
			p.FromSeq, now, now)
		if err != nil {
			return err
		}
		ids, err := rowsOf(rows, scanID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			old, err := scanMPTrigger(t.queryRow(ctx, `SELECT `+mpTriggerColumns+` FROM marketplace_triggers WHERE trigger_id = ?`+
				t.s.d.LockRows, p.TriggerID))
			if err != nil {
				return err
			}
			if old.LocationID != p.LocationID {
				// A trigger id is GHL's, for one location: another location
				// naming it is not that workflow's to change.
				return fmt.Errorf("%w: trigger %s belongs to another location", rankr.ErrConflict, p.TriggerID)
			}
			same := old.Active && old.WorkflowID == p.WorkflowID && old.CompanyID == p.CompanyID && old.Key == p.Key &&
				old.Version == p.Version && string(old.Filters) == filters && old.TargetURL == p.TargetURL
			if same {
				out = old
				return nil
			}
			from := old.FromSeq
			if !old.Active {
				from = p.FromSeq
			}
			if _, err := t.exec(ctx, `UPDATE marketplace_triggers SET workflow_id = ?, company_id = ?, mp_key = ?, catalog_key = ?,
				version = ?, filters = ?, target_url = ?, active = 1, reason = '', from_seq = ?, updated_at = ? WHERE trigger_id = ?`,
				p.WorkflowID, p.CompanyID, p.Key, p.CatalogKey, p.Version, filters, p.TargetURL, from, now, p.TriggerID); err != nil {
				return err
			}
		}
		changed = true
		if p.Audit != nil {
			if err := t.appendAudit(ctx, *p.Audit); err != nil {
				return err
			}
		}
		out, err = scanMPTrigger(t.queryRow(ctx, `SELECT `+mpTriggerColumns+` FROM marketplace_triggers WHERE trigger_id = ?`, p.TriggerID))
		return err
	})
	if err != nil {
		return out, false, fmt.Errorf("saving marketplace trigger %s: %w", p.TriggerID, storeErr(err))
	}
	return out, changed, nil
}

// MarketplaceTriggerDeactivate makes a subscription inactive.
func (s *Store) MarketplaceTriggerDeactivate(ctx context.Context, triggerID, reason string, audit *rankr.AuditEntry) (rankr.MarketplaceTrigger, bool, error) {
	var out rankr.MarketplaceTrigger
	var changed bool
	err := s.inTx(ctx, func(t *tx) error {
		changed = false
		old, err := scanMPTrigger(t.queryRow(ctx, `SELECT `+mpTriggerColumns+` FROM marketplace_triggers WHERE trigger_id = ?`+
			t.s.d.LockRows, triggerID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("marketplace trigger " + triggerID)
		}
		if err != nil {
			return err
		}
		out = old
		if !old.Active {
			return nil
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE marketplace_triggers SET active = 0, reason = ?, updated_at = ? WHERE trigger_id = ?`,
			reason, now.UnixMilli(), triggerID); err != nil {
			return err
		}
		out.Active, out.Reason, out.UpdatedAt, changed = false, reason, now, true
		if audit != nil {
			return t.appendAudit(ctx, *audit)
		}
		return nil
	})
	if err != nil {
		return out, false, fmt.Errorf("deactivating marketplace trigger %s: %w", triggerID, storeErr(err))
	}
	return out, changed, nil
}

// MarketplaceTriggerGet returns a subscription.
func (s *Store) MarketplaceTriggerGet(ctx context.Context, triggerID string) (rankr.MarketplaceTrigger, error) {
	x, err := scanMPTrigger(s.read().QueryRowContext(ctx, s.q(`SELECT `+mpTriggerColumns+` FROM marketplace_triggers WHERE trigger_id = ?`), triggerID))
	if errors.Is(err, sql.ErrNoRows) {
		return x, notFound("marketplace trigger " + triggerID)
	}
	if err != nil {
		return x, fmt.Errorf("reading marketplace trigger %s: %w", triggerID, unavailable(err))
	}
	return x, nil
}

// MarketplaceTriggersActive returns every active subscription.
func (s *Store) MarketplaceTriggersActive(ctx context.Context) ([]rankr.MarketplaceTrigger, error) {
	rows, err := s.read().QueryContext(ctx, s.q(`SELECT `+mpTriggerColumns+` FROM marketplace_triggers WHERE active = 1
		ORDER BY location_id, trigger_id`))
	if err != nil {
		return nil, fmt.Errorf("listing marketplace triggers: %w", unavailable(err))
	}
	out, err := rowsOf(rows, scanMPTrigger)
	if err != nil {
		return nil, fmt.Errorf("listing marketplace triggers: %w", unavailable(err))
	}
	return out, nil
}

const mpDeliveryColumns = `id, trigger_id, event_seq, location_id, trigger_key, payload, state, attempts, last_error, status,
	next_attempt_at, lease, created_at, updated_at`

func scanMPDelivery(r scanner) (rankr.MarketplaceDelivery, error) {
	var d rankr.MarketplaceDelivery
	var payload string
	var next, created, updated int64
	err := r.Scan(&d.ID, &d.TriggerID, &d.EventSeq, &d.LocationID, &d.TriggerKey, &payload, &d.State, &d.Attempts,
		&d.LastError, &d.Status, &next, &d.Lease, &created, &updated)
	d.Payload = []byte(payload)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = time.UnixMilli(next).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return d, err
}

// MarketplaceDeliveriesRecord records deliveries once each.
func (s *Store) MarketplaceDeliveriesRecord(ctx context.Context, ds []rankr.MarketplaceDelivery) (int, error) {
	for _, d := range ds {
		if d.TriggerID == "" || d.EventSeq <= 0 || d.LocationID == "" || d.TriggerKey == "" || len(d.Payload) == 0 {
			return 0, invalid("a marketplace delivery needs a trigger, an event, a location, a key and a payload")
		}
	}
	n := 0
	err := s.inTx(ctx, func(t *tx) error {
		n = 0
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		for _, d := range ds {
			res, err := t.exec(ctx, `INSERT INTO marketplace_deliveries (trigger_id, event_seq, location_id, trigger_key, payload,
				state, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				d.TriggerID, d.EventSeq, d.LocationID, d.TriggerKey, string(d.Payload), rankr.MarketplacePending,
				now.UnixMilli(), now.UnixMilli(), now.UnixMilli())
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recording marketplace deliveries: %w", storeErr(err))
	}
	return n, nil
}

// MarketplaceDeliveryClaim leases due deliveries; see store.Marketplace.
func (s *Store) MarketplaceDeliveryClaim(ctx context.Context, limitN int, lease time.Duration) ([]rankr.MarketplaceDelivery, error) {
	// A read first: the senders of every process ask often, and most of
	// the time nothing is due; a write transaction each time would queue
	// them behind the database's one writer for nothing.
	var due int
	err := s.read().QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM (SELECT 1 FROM marketplace_deliveries WHERE state = ?
		AND next_attempt_at <= `+s.d.Clock+` AND (lease_until IS NULL OR lease_until < `+s.d.Clock+`) LIMIT 1) AS due`),
		rankr.MarketplacePending).Scan(&due)
	if err != nil {
		return nil, fmt.Errorf("claiming marketplace deliveries: %w", unavailable(err))
	}
	if due == 0 {
		return nil, nil
	}
	tag := newLease()
	var out []rankr.MarketplaceDelivery
	err = s.inTx(ctx, func(t *tx) error {
		out = nil
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		nowMS := now.UnixMilli()
		if _, err := t.exec(ctx, `UPDATE marketplace_deliveries SET state = ?, last_error = 'the subscription is inactive',
			lease = '', lease_until = NULL, updated_at = ?
			WHERE state = ? AND (lease_until IS NULL OR lease_until < ?)
			AND trigger_id IN (SELECT trigger_id FROM marketplace_triggers WHERE active = 0)`,
			rankr.MarketplaceDeactivated, nowMS, rankr.MarketplacePending, nowMS); err != nil {
			return err
		}
		rows, err := t.query(ctx, `SELECT id FROM marketplace_deliveries WHERE state = ? AND next_attempt_at <= ?
			AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, id LIMIT ?`+t.s.d.LockSkip,
			rankr.MarketplacePending, nowMS, nowMS, limit(limitN, 10, 500))
		if err != nil {
			return err
		}
		ids, err := rowsOf(rows, scanSeq)
		if err != nil {
			return err
		}
		until := now.Add(cmp.Or(lease, time.Minute)).UnixMilli()
		for _, id := range ids {
			if _, err := t.exec(ctx, `UPDATE marketplace_deliveries SET lease = ?, lease_until = ?, attempts = attempts + 1,
				updated_at = ? WHERE id = ?`, tag, until, nowMS, id); err != nil {
				return err
			}
			var d rankr.MarketplaceDelivery
			row := t.queryRow(ctx, `SELECT d.id, d.trigger_id, d.event_seq, d.location_id, d.trigger_key, d.payload, d.state,
				d.attempts, d.last_error, d.status, d.next_attempt_at, d.lease, d.created_at, d.updated_at, t.target_url
				FROM marketplace_deliveries d JOIN marketplace_triggers t ON t.trigger_id = d.trigger_id WHERE d.id = ?`, id)
			var payload string
			var next, created, updated int64
			if err := row.Scan(&d.ID, &d.TriggerID, &d.EventSeq, &d.LocationID, &d.TriggerKey, &payload, &d.State, &d.Attempts,
				&d.LastError, &d.Status, &next, &d.Lease, &created, &updated, &d.TargetURL); err != nil {
				return err
			}
			d.Payload = []byte(payload)
			d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = time.UnixMilli(next).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming marketplace deliveries: %w", storeErr(err))
	}
	return out, nil
}

// MarketplaceDeliveryFinish records how an attempt ended.
func (s *Store) MarketplaceDeliveryFinish(ctx context.Context, p store.MarketplaceDeliveryFinishParams) error {
	switch p.State {
	case rankr.MarketplacePending, rankr.MarketplaceDelivered, rankr.MarketplaceFailed, rankr.MarketplaceDeactivated:
	default:
		return invalid("marketplace delivery state %q", p.State)
	}
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE marketplace_deliveries SET state = ?, status = ?, last_error = ?, lease = '',
			lease_until = NULL, next_attempt_at = `+t.s.d.Clock+` + ?, updated_at = `+t.s.d.Clock+` WHERE id = ? AND lease = ?`,
			p.State, p.Status, truncate(p.Error, 2000), max(p.Retry, 0).Milliseconds(), p.ID, p.Lease)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: marketplace delivery %d is no longer leased by this attempt", rankr.ErrConflict, p.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finishing marketplace delivery %d: %w", p.ID, storeErr(err))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// MarketplaceDeliveries returns a subscription's deliveries.
func (s *Store) MarketplaceDeliveries(ctx context.Context, triggerID string) ([]rankr.MarketplaceDelivery, error) {
	rows, err := s.read().QueryContext(ctx, s.q(`SELECT `+mpDeliveryColumns+` FROM marketplace_deliveries WHERE trigger_id = ? ORDER BY id`), triggerID)
	if err != nil {
		return nil, fmt.Errorf("listing marketplace deliveries: %w", unavailable(err))
	}
	out, err := rowsOf(rows, scanMPDelivery)
	if err != nil {
		return nil, fmt.Errorf("listing marketplace deliveries: %w", unavailable(err))
	}
	return out, nil
}

// MarketplaceActionClaim claims a custom action call; see
// store.Marketplace.
func (s *Store) MarketplaceActionClaim(ctx context.Context, p store.MarketplaceActionClaimParams) (rankr.MarketplaceActionCall, bool, error) {
	if p.Hash == "" || p.LocationID == "" || p.ActionKey == "" {
		return rankr.MarketplaceActionCall{}, false, invalid("a marketplace action call needs a hash, a location and an action")
	}
	ttl, lease := cmp.Or(p.TTL, 24*time.Hour), cmp.Or(p.Lease, time.Minute)
	var out rankr.MarketplaceActionCall
	var claimed bool
	err := s.inTx(ctx, func(t *tx) error {
		claimed = false
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		nowMS := now.UnixMilli()
		out = rankr.MarketplaceActionCall{Hash: p.Hash, LocationID: p.LocationID, WorkflowID: p.WorkflowID, ActionKey: p.ActionKey, CreatedAt: now}
		rows, err := t.query(ctx, `INSERT INTO marketplace_action_calls (hash, location_id, workflow_id, action_key, state,
			lease_until, created_at) VALUES (?, ?, ?, ?, 'running', ?, ?) ON CONFLICT DO NOTHING RETURNING hash`,
			p.Hash, p.LocationID, p.WorkflowID, p.ActionKey, now.Add(lease).UnixMilli(), nowMS)
		if err != nil {
			return err
		}
		ids, err := rowsOf(rows, scanID)
		if err != nil {
			return err
		}
		if len(ids) == 1 {
			claimed = true
			return nil
		}
		var state, body string
		var leaseUntil, created int64
		if err := t.queryRow(ctx, `SELECT state, status, body, lease_until, created_at FROM marketplace_action_calls
			WHERE hash = ?`+t.s.d.LockRows, p.Hash).Scan(&state, &out.Status, &body, &leaseUntil, &created); err != nil {
			return err
		}
		out.Done, out.Body, out.CreatedAt = state == "done", []byte(body), time.UnixMilli(created).UTC()
		if created >= now.Add(-ttl).UnixMilli() && (out.Done || leaseUntil >= nowMS) {
			return nil
		}
		// Older than the answers kept, or a claim its caller never
		// finished (it crashed): this call runs it afresh.
		if _, err := t.exec(ctx, `UPDATE marketplace_action_calls SET workflow_id = ?, state = 'running', status = 0, body = '',
			lease_until = ?, created_at = ? WHERE hash = ?`, p.WorkflowID, now.Add(lease).UnixMilli(), nowMS, p.Hash); err != nil {
			return err
		}
		out = rankr.MarketplaceActionCall{Hash: p.Hash, LocationID: p.LocationID, WorkflowID: p.WorkflowID, ActionKey: p.ActionKey, CreatedAt: now}
		claimed = true
		return nil
	})
	if err != nil {
		return out, false, fmt.Errorf("claiming marketplace action call: %w", storeErr(err))
	}
	return out, claimed, nil
}

// MarketplaceActionFinish remembers a call's answer.
func (s *Store) MarketplaceActionFinish(ctx context.Context, hash string, status int, body []byte) error {
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `UPDATE marketplace_action_calls SET state = 'done', status = ?, body = ? WHERE hash = ?`,
			status, string(body), hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("finishing marketplace action call: %w", storeErr(err))
	}
	return nil
}

// MarketplaceActionRelease forgets a claimed call.
func (s *Store) MarketplaceActionRelease(ctx context.Context, hash string) error {
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `DELETE FROM marketplace_action_calls WHERE hash = ? AND state = 'running'`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("releasing marketplace action call: %w", storeErr(err))
	}
	return nil
}

// MarketplaceActionPrune deletes the calls made before before.
func (s *Store) MarketplaceActionPrune(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `DELETE FROM marketplace_action_calls WHERE created_at < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning marketplace action calls: %w", storeErr(err))
	}
	return int(n), nil
}
