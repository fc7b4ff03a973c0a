package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// fanOutCursor names the fan-out's place in the change feed, in the cursors
// table under no location (it is not a location's).
const fanOutCursor = "webhooks.fanout"

// WebhookEndpointCreate adds an endpoint.
func (s *Store) WebhookEndpointCreate(ctx context.Context, p store.WebhookEndpointCreateParams) (rankr.WebhookEndpoint, error) {
	if p.ID == "" || p.URL == "" || len(p.Secret) == 0 || len(p.Events) == 0 {
		return rankr.WebhookEndpoint{}, invalid("a webhook endpoint needs an id, a url, a sealed secret and event patterns")
	}
	for _, e := range p.Events {
		if err := rankr.ValidateEventPattern(e); err != nil {
			return rankr.WebhookEndpoint{}, err
		}
	}
	events, _ := json.Marshal(p.Events)
	now := cmp.Or(p.Now, time.Now())
	err := s.inTx(ctx, func(t *tx) error {
		// Holding the fan-out's cursor orders this with the fan-out: either
		// the fan-out sees the endpoint, or it has passed events the
		// endpoint does not want anyway (AfterSeq is read after it).
		if _, err := t.lockFanOut(ctx, now); err != nil {
			return err
		}
		var after int64
		if err := t.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&after); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO webhook_endpoints (id, url, secret, events, location_id, description, enabled, after_seq,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.URL, p.Secret, string(events), p.LocationID, p.Description, true, after, now.UnixMilli(), now.UnixMilli())
		if err != nil {
			return err
		}
		return t.appendAuditOf(ctx, p.Audit)
	})
	if err != nil {
		return rankr.WebhookEndpoint{}, fmt.Errorf("adding webhook endpoint %s: %w", p.ID, storeErr(err))
	}
	return s.WebhookEndpointGet(ctx, p.ID)
}

// endpointColumns are an endpoint's columns, for scanEndpoint. The
// previous secret is read only while its grace lasts, by the database's
// clock, so that every process stops signing with it at the same moment.
func (s *Store) endpointColumns() string {
	live := `previous_until > ` + s.d.Clock
	return `id, url, secret, events, location_id, description, enabled, after_seq, created_at, updated_at, removed_at,
		CASE WHEN ` + live + ` THEN previous_secret END, CASE WHEN ` + live + ` THEN previous_until END`
}

func scanEndpoint(r scanner) (rankr.WebhookEndpoint, error) {
	var e rankr.WebhookEndpoint
	var events string
	var created, updated int64
	var removed, previousUntil sql.NullInt64
	if err := r.Scan(&e.ID, &e.URL, &e.Secret, &events, &e.LocationID, &e.Description, &e.Enabled, &e.AfterSeq,
		&created, &updated, &removed, &e.PreviousSecret, &previousUntil); err != nil {
		return e, err
	}
	e.CreatedAt, e.UpdatedAt, e.RemovedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC(), fromMS(removed)
	e.PreviousUntil = fromMS(previousUntil)
	if e.PreviousUntil.IsZero() {
		e.PreviousSecret = nil
	}
	return e, json.Unmarshal([]byte(events), &e.Events)
}

// WebhookEndpointGet returns one endpoint.
func (s *Store) WebhookEndpointGet(ctx context.Context, id string) (rankr.WebhookEndpoint, error) {
	e, err := scanEndpoint(s.read().QueryRowContext(ctx, s.q(`SELECT `+s.endpointColumns()+` FROM webhook_endpoints WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, notFound("webhook endpoint " + id)
	}
	if err != nil {
		return e, fmt.Errorf("reading webhook endpoint %s: %w", id, unavailable(err))
	}
	return e, nil
}

// WebhookEndpointList lists endpoints, oldest first.
func (s *Store) WebhookEndpointList(ctx context.Context, p store.WebhookEndpointListParams) ([]rankr.WebhookEndpoint, error) {
	query := `SELECT ` + s.endpointColumns() + ` FROM webhook_endpoints`
	if !p.Removed {
		query += ` WHERE removed_at IS NULL`
	}
	rows, err := s.read().QueryContext(ctx, s.q(query+` ORDER BY created_at, id`))
	if err != nil {
		return nil, fmt.Errorf("listing webhook endpoints: %w", unavailable(err))
	}
	return rowsOf(rows, scanEndpoint)
}

// WebhookEndpointUpdate enables, disables or removes an endpoint.
func (s *Store) WebhookEndpointUpdate(ctx context.Context, p store.WebhookEndpointUpdateParams) (rankr.WebhookEndpoint, error) {
	now := cmp.Or(p.Now, time.Now())
	err := s.inTx(ctx, func(t *tx) error {
		var enabled bool
		var removed sql.NullInt64
		err := t.queryRow(ctx, `SELECT enabled, removed_at FROM webhook_endpoints WHERE id = ?`+t.s.d.LockRows, p.ID).Scan(&enabled, &removed)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("webhook endpoint " + p.ID)
		}
		if err != nil {
			return err
		}
		if removed.Valid && (p.Enabled != nil && *p.Enabled) {
			return fmt.Errorf("webhook endpoint %s was removed: add it again instead: %w", p.ID, rankr.ErrConflict)
		}
		after := sql.NullInt64{}
		if p.Enabled != nil && *p.Enabled && !enabled {
			// Enabled again, it gets what happens from now on, as when it
			// was added: what happened while it was disabled is not its
			// business (and was not kept for it).
			if _, err := t.lockFanOut(ctx, now); err != nil {
				return err
			}
			if err := t.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&after); err != nil {
				return err
			}
		}
		if p.Enabled != nil {
			enabled = *p.Enabled
		}
		if p.Remove {
			enabled = false
			if !removed.Valid {
				removed = sql.NullInt64{Int64: now.UnixMilli(), Valid: true}
			}
		}
		_, err = t.exec(ctx, `UPDATE webhook_endpoints SET enabled = ?, removed_at = ?, after_seq = COALESCE(?, after_seq), updated_at = ?
			WHERE id = ?`, enabled, removed, after, now.UnixMilli(), p.ID)
		if err != nil {
			return err
		}
		return t.appendAuditOf(ctx, p.Audit)
	})
	if err != nil {
		return rankr.WebhookEndpoint{}, fmt.Errorf("updating webhook endpoint %s: %w", p.ID, storeErr(err))
	}
	return s.WebhookEndpointGet(ctx, p.ID)
}

// WebhookEndpointRotateSecret replaces an endpoint's signing secret, the
// replaced one signing beside it for the grace.
func (s *Store) WebhookEndpointRotateSecret(ctx context.Context, p store.WebhookEndpointRotateParams) (rankr.WebhookEndpoint, error) {
	if p.ID == "" || len(p.Secret) == 0 || p.Grace < 0 {
		return rankr.WebhookEndpoint{}, invalid("a rotation needs an endpoint, a sealed secret and a grace of 0 or more")
	}
	now := cmp.Or(p.Now, time.Now())
	err := s.inTx(ctx, func(t *tx) error {
		var removed sql.NullInt64
		err := t.queryRow(ctx, `SELECT removed_at FROM webhook_endpoints WHERE id = ?`+t.s.d.LockRows, p.ID).Scan(&removed)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("webhook endpoint " + p.ID)
		}
		if err != nil {
			return err
		}
		if removed.Valid {
			return fmt.Errorf("webhook endpoint %s was removed: %w", p.ID, rankr.ErrConflict)
		}
		// The secret moves to previous_secret as it is, sealed with the
		// same context (store.SealedColumns): nothing is opened here. A
		// secret replaced by an earlier rotation, still in its grace, is
		// dropped: two secrets sign at most.
		if p.Grace > 0 {
			_, err = t.exec(ctx, `UPDATE webhook_endpoints SET previous_secret = secret, previous_until = `+t.s.d.Clock+` + ?,
				secret = ?, updated_at = ? WHERE id = ?`, p.Grace.Milliseconds(), p.Secret, now.UnixMilli(), p.ID)
		} else {
			_, err = t.exec(ctx, `UPDATE webhook_endpoints SET previous_secret = NULL, previous_until = NULL, secret = ?, updated_at = ?
				WHERE id = ?`, p.Secret, now.UnixMilli(), p.ID)
		}
		if err != nil {
			return err
		}
		return t.appendAuditOf(ctx, p.Audit)
	})
	if err != nil {
		return rankr.WebhookEndpoint{}, fmt.Errorf("rotating the secret of webhook endpoint %s: %w", p.ID, storeErr(err))
	}
	return s.WebhookEndpointGet(ctx, p.ID)
}

// appendAuditOf appends an optional audit entry.
func (t *tx) appendAuditOf(ctx context.Context, e *rankr.AuditEntry) error {
	if e == nil {
		return nil
	}
	return t.appendAudit(ctx, *e)
}

// lockFanOut takes the fan-out's cursor row (creating it at 0) for the
// transaction and returns its value.
func (t *tx) lockFanOut(ctx context.Context, now time.Time) (int64, error) {
	if _, err := t.exec(ctx, `INSERT INTO cursors (location_id, name, value, updated_at) VALUES ('', ?, '0', ?)
		ON CONFLICT (location_id, name) DO NOTHING`, fanOutCursor, now.UnixMilli()); err != nil {
		return 0, fmt.Errorf("creating the fan-out cursor: %w", err)
	}
	var v string
	if err := t.queryRow(ctx, `SELECT value FROM cursors WHERE location_id = '' AND name = ?`+t.s.d.LockRows, fanOutCursor).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading the fan-out cursor: %w", err)
	}
	seq, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the fan-out cursor holds %q: %w", v, err)
	}
	return seq, nil
}

// WebhookFanOut queues the deliveries of the next events.
func (s *Store) WebhookFanOut(ctx context.Context, p store.WebhookFanOutParams) (store.WebhookFanOutResult, error) {
	now := cmp.Or(p.Now, time.Now())
	n := limit(p.Limit, 500, 5000)
	var res store.WebhookFanOutResult
	// Most of the time there is nothing to do: say so from a read, without
	// the write transaction (SQLite has one writer, shared with the sync).
	// The transaction checks again.
	var endpoints int
	var cursor sql.NullString
	var last int64
	err := s.read().QueryRowContext(ctx, s.q(`SELECT (SELECT COUNT(*) FROM webhook_endpoints WHERE enabled = ? AND removed_at IS NULL),
		(SELECT value FROM cursors WHERE location_id = '' AND name = ?), (SELECT COALESCE(MAX(seq), 0) FROM events)`),
		true, fanOutCursor).Scan(&endpoints, &cursor, &last)
	if err != nil {
		return res, fmt.Errorf("fanning out webhooks: %w", unavailable(err))
	}
	if at, _ := strconv.ParseInt(cursor.String, 10, 64); endpoints == 0 || cursor.Valid && last <= at {
		// With no endpoint the cursor stays: an endpoint added later starts
		// after the events of its time (AfterSeq) anyway.
		res.Cursor = at
		return res, nil
	}
	err = s.inTx(ctx, func(t *tx) error {
		res = store.WebhookFanOutResult{}
		cursor, err := t.lockFanOut(ctx, now)
		if err != nil {
			return err
		}
		rows, err := t.query(ctx, `SELECT `+t.s.endpointColumns()+` FROM webhook_endpoints WHERE enabled = ? AND removed_at IS NULL`, true)
		if err != nil {
			return err
		}
		endpoints, err := rowsOf(rows, scanEndpoint)
		if err != nil {
			return err
		}
		// No endpoint wants what came before the oldest one's AfterSeq: skip
		// it rather than read it.
		from := cursor
		if len(endpoints) > 0 {
			oldest := slices.MinFunc(endpoints, func(a, b rankr.WebhookEndpoint) int { return cmp.Compare(a.AfterSeq, b.AfterSeq) })
			from = max(cursor, oldest.AfterSeq)
		}
		res.Cursor = from
		if len(endpoints) > 0 {
			rows, err := t.query(ctx, `SELECT seq, location_id, kind, record_type, record_id, at, data FROM events WHERE seq > ?
				ORDER BY seq LIMIT ?`, from, n)
			if err != nil {
				return err
			}
			events, err := rowsOf(rows, scanEvent)
			if err != nil {
				return err
			}
			res.Events, res.More = len(events), len(events) == n
			if len(events) > 0 {
				res.Cursor = events[len(events)-1].Seq
			}
			if res.Deliveries, err = t.queueDeliveries(ctx, endpoints, events, now); err != nil {
				return err
			}
		}
		if res.Cursor == cursor {
			return nil
		}
		_, err = t.exec(ctx, `UPDATE cursors SET value = ?, updated_at = ? WHERE location_id = '' AND name = ?`,
			strconv.FormatInt(res.Cursor, 10), now.UnixMilli(), fanOutCursor)
		return err
	})
	if err != nil {
		return store.WebhookFanOutResult{}, fmt.Errorf("fanning out webhooks: %w", unavailable(err))
	}
	return res, nil
}

// queueDeliveries inserts the deliveries of events to the endpoints that
// want them, due at once by the database's clock (now is their record
// time); a delivery already queued is left alone.
func (t *tx) queueDeliveries(ctx context.Context, endpoints []rankr.WebhookEndpoint, events []rankr.Event, now time.Time) (int, error) {
	const cols = 8
	var args []any
	queued := 0
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		var q strings.Builder
		q.WriteString(`INSERT INTO webhook_deliveries (id, endpoint_id, event_seq, location_id, kind, state, next_attempt_at,
			created_at, updated_at) VALUES `)
		for i := range len(args) / cols {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(" + placeholders(6) + ", " + t.s.d.Clock + ", ?, ?)")
		}
		q.WriteString(` ON CONFLICT (endpoint_id, event_seq) DO NOTHING`)
		res, err := t.exec(ctx, q.String(), args...)
		if err != nil {
			return fmt.Errorf("queueing deliveries: %w", err)
		}
		n, _ := res.RowsAffected()
		queued += int(n)
		args = args[:0]
		return nil
	}
	for _, ev := range events {
		for _, e := range endpoints {
			if !e.Wants(ev) {
				continue
			}
			args = append(args, newMessageID(now), e.ID, ev.Seq, ev.LocationID, ev.Kind, string(rankr.DeliveryPending),
				now.UnixMilli(), now.UnixMilli())
			// PostgreSQL takes at most 65535 parameters per statement.
			if len(args) >= 500*cols {
				if err := flush(); err != nil {
					return 0, err
				}
			}
		}
	}
	return queued, flush()
}

// newMessageID returns a Standard Webhooks message id: msg_ and 26
// characters, sortable by creation time, unique without coordination (80
// random bits per millisecond), and never reused even when the database is
// restored or rebuilt, unlike a sequence.
func newMessageID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func scanEvent(r scanner) (rankr.Event, error) {
	var e rankr.Event
	var at int64
	var data string
	err := r.Scan(&e.Seq, &e.LocationID, &e.Kind, &e.RecordType, &e.RecordID, &at, &data)
	e.At, e.Data = time.UnixMilli(at).UTC(), json.RawMessage(data)
	return e, err
}

const deliveryColumns = `id, endpoint_id, event_seq, location_id, kind, state, attempts, replays, next_attempt_at, claim,
	last_attempt_at, last_status, last_response, last_error, payload, delivered_at, created_at, updated_at`

func scanDelivery(r scanner) (rankr.WebhookDelivery, error) {
	var d rankr.WebhookDelivery
	var state string
	var next, created, updated int64
	var claim, payload sql.NullString
	var last, delivered sql.NullInt64
	err := r.Scan(&d.ID, &d.EndpointID, &d.EventSeq, &d.LocationID, &d.Kind, &state, &d.Attempts, &d.Replays, &next, &claim,
		&last, &d.LastStatus, &d.LastResponse, &d.LastError, &payload, &delivered, &created, &updated)
	d.State, d.Claim = rankr.DeliveryState(state), claim.String
	if payload.Valid {
		d.Payload = []byte(payload.String)
	}
	d.NextAttemptAt, d.LastAttemptAt, d.DeliveredAt = time.UnixMilli(next).UTC(), fromMS(last), fromMS(delivered)
	d.CreatedAt, d.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return d, err
}

// WebhookDeliveryClaim leases due deliveries. What is due, and the leases,
// are measured with the database's clock, in the statements.
func (s *Store) WebhookDeliveryClaim(ctx context.Context, p store.WebhookDeliveryClaimParams) ([]store.ClaimedDelivery, error) {
	now := cmp.Or(p.Now, time.Now())
	var token [12]byte
	_, _ = rand.Read(token[:])
	claim := hex.EncodeToString(token[:])
	var out []store.ClaimedDelivery
	// Look before taking the write lock: usually nothing is due.
	var due int
	clock := s.d.Clock
	err := s.read().QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries
		WHERE (state = ? AND next_attempt_at <= `+clock+`) OR (state = ? AND claimed_until < `+clock+`) LIMIT 1) AS due`),
		string(rankr.DeliveryPending), string(rankr.DeliverySending)).Scan(&due)
	if err != nil || due == 0 {
		if err != nil {
			err = fmt.Errorf("claiming webhook deliveries: %w", unavailable(err))
		}
		return nil, err
	}
	err = s.inTx(ctx, func(t *tx) error {
		out = nil
		// The endpoint filter is a subquery, not a join, so that the row
		// lock (FOR UPDATE SKIP LOCKED on PostgreSQL) takes the deliveries
		// only: claimers must not skip each other's endpoints.
		rows, err := t.query(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, claim = ?, claimed_until = `+clock+` + ?,
				last_attempt_at = ?, updated_at = ?
			WHERE id IN (SELECT id FROM webhook_deliveries
				WHERE ((state = ? AND next_attempt_at <= `+clock+`) OR (state = ? AND claimed_until < `+clock+`))
				AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled = ? AND removed_at IS NULL)
				ORDER BY next_attempt_at, id LIMIT ?`+t.s.d.LockSkip+`)
			RETURNING `+deliveryColumns,
			string(rankr.DeliverySending), claim, cmp.Or(p.Lease, time.Minute).Milliseconds(), now.UnixMilli(), now.UnixMilli(),
			string(rankr.DeliveryPending), string(rankr.DeliverySending), true, limit(p.Limit, 10, 1000))
		if err != nil {
			return err
		}
		claimed, err := rowsOf(rows, scanDelivery)
		if err != nil || len(claimed) == 0 {
			return err
		}
		seqs := make([]any, len(claimed))
		for i, d := range claimed {
			seqs[i] = d.EventSeq
		}
		rows, err = t.query(ctx, `SELECT seq, location_id, kind, record_type, record_id, at, data FROM events
			WHERE seq IN (`+placeholders(len(seqs))+`)`, seqs...)
		if err != nil {
			return err
		}
		events, err := rowsOf(rows, scanEvent)
		if err != nil {
			return err
		}
		bySeq := map[int64]rankr.Event{}
		for _, e := range events {
			bySeq[e.Seq] = e
		}
		// The endpoints too, as they are now: a secret rotated a moment
		// ago signs this attempt.
		var ids []any
		seen := map[string]bool{}
		for _, d := range claimed {
			if !seen[d.EndpointID] {
				seen[d.EndpointID] = true
				ids = append(ids, d.EndpointID)
			}
		}
		rows, err = t.query(ctx, `SELECT `+t.s.endpointColumns()+` FROM webhook_endpoints WHERE id IN (`+placeholders(len(ids))+`)`, ids...)
		if err != nil {
			return err
		}
		endpoints, err := rowsOf(rows, scanEndpoint)
		if err != nil {
			return err
		}
		byID := map[string]rankr.WebhookEndpoint{}
		for _, e := range endpoints {
			byID[e.ID] = e
		}
		for _, d := range claimed {
			out = append(out, store.ClaimedDelivery{Delivery: d, Event: bySeq[d.EventSeq], Endpoint: byID[d.EndpointID]})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming webhook deliveries: %w", unavailable(err))
	}
	slices.SortFunc(out, func(a, b store.ClaimedDelivery) int {
		return cmp.Or(a.Delivery.NextAttemptAt.Compare(b.Delivery.NextAttemptAt), cmp.Compare(a.Delivery.ID, b.Delivery.ID))
	})
	return out, nil
}

// WebhookDeliverySetPayloads fixes the bodies of claimed deliveries once.
func (s *Store) WebhookDeliverySetPayloads(ctx context.Context, claim string, payloads map[string][]byte) (map[string][]byte, error) {
	if len(payloads) == 0 {
		return map[string][]byte{}, nil
	}
	out := map[string][]byte{}
	err := s.inTx(ctx, func(t *tx) error {
		clear(out)
		ids := make([]any, 0, len(payloads)+1)
		ids = append(ids, claim)
		for id, p := range payloads {
			if _, err := t.exec(ctx, `UPDATE webhook_deliveries SET payload = ? WHERE id = ? AND claim = ? AND payload IS NULL`,
				string(p), id, claim); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		rows, err := t.query(ctx, `SELECT id, payload FROM webhook_deliveries WHERE claim = ? AND payload IS NOT NULL
			AND id IN (`+placeholders(len(ids)-1)+`)`, ids...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, p string
			if err := rows.Scan(&id, &p); err != nil {
				return err
			}
			out[id] = []byte(p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("storing webhook bodies: %w", unavailable(err))
	}
	return out, nil
}

// WebhookDeliveryFinish ends an attempt.
func (s *Store) WebhookDeliveryFinish(ctx context.Context, p store.WebhookDeliveryFinishParams) error {
	switch p.State {
	case rankr.DeliveryDelivered, rankr.DeliveryPending, rankr.DeliveryDead:
	default:
		return invalid("an attempt ends delivered, pending or dead, not %q", p.State)
	}
	now := cmp.Or(p.Now, time.Now())
	var delivered any
	if p.State == rankr.DeliveryDelivered {
		delivered = now.UnixMilli()
	}
	err := s.inTx(ctx, func(t *tx) error {
		var loc, endpoint, kind string
		var seq int64
		var attempts int
		err := t.queryRow(ctx, `UPDATE webhook_deliveries SET state = ?, claim = NULL, claimed_until = NULL, last_status = ?,
				last_response = ?, last_error = ?, next_attempt_at = `+t.s.d.Clock+` + ?, delivered_at = COALESCE(?, delivered_at), updated_at = ?
			WHERE id = ? AND claim = ? AND state = ?
			RETURNING location_id, endpoint_id, kind, event_seq, attempts`,
			string(p.State), p.Status, p.Response, p.Error, max(p.RetryIn, 0).Milliseconds(), delivered, now.UnixMilli(),
			p.ID, p.Claim, string(rankr.DeliverySending)).Scan(&loc, &endpoint, &kind, &seq, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := t.queryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE id = ?`, p.ID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return notFound("webhook delivery " + p.ID)
			}
			return fmt.Errorf("webhook delivery %s: the attempt's lease ended and another claim holds it: %w", p.ID, rankr.ErrConflict)
		}
		if err != nil || p.State != rankr.DeliveryDead {
			return err
		}
		return t.appendEvent(ctx, loc, rankr.WebhookDeadLettered, rankr.RecordWebhookDelivery, p.ID, now, map[string]any{
			"endpointId": endpoint, "eventSeq": seq, "eventKind": kind, "attempts": attempts, "status": p.Status, "error": p.Error,
		})
	})
	if err != nil {
		return fmt.Errorf("finishing webhook delivery %s: %w", p.ID, unavailable(err))
	}
	return nil
}

// WebhookDeliveryGet returns one delivery.
func (s *Store) WebhookDeliveryGet(ctx context.Context, id string) (rankr.WebhookDelivery, error) {
	d, err := scanDelivery(s.read().QueryRowContext(ctx, s.q(`SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound("webhook delivery " + id)
	}
	if err != nil {
		return d, fmt.Errorf("reading webhook delivery %s: %w", id, unavailable(err))
	}
	return d, nil
}

// WebhookDeliveryList lists deliveries, newest first.
func (s *Store) WebhookDeliveryList(ctx context.Context, p store.WebhookDeliveryListParams) ([]rankr.WebhookDelivery, error) {
	// Lists leave the bodies out: they are the bulk of a delivery.
	query := `SELECT ` + strings.Replace(deliveryColumns, "payload", "NULL", 1) + ` FROM webhook_deliveries WHERE 1 = 1`
	var args []any
	if p.EndpointID != "" {
		query += ` AND endpoint_id = ?`
		args = append(args, p.EndpointID)
	}
	if p.State != "" {
		query += ` AND state = ?`
		args = append(args, string(p.State))
	}
	if p.LocationID != "" {
		query += ` AND location_id = ?`
		args = append(args, p.LocationID)
	}
	query += ` ORDER BY created_at DESC, event_seq DESC, id LIMIT ? OFFSET ?`
	rows, err := s.read().QueryContext(ctx, s.q(query), append(args, limit(p.Limit, 50, 1000), max(p.Offset, 0))...)
	if err != nil {
		return nil, fmt.Errorf("listing webhook deliveries: %w", unavailable(err))
	}
	return rowsOf(rows, scanDelivery)
}

// WebhookDeliveryReplay queues delivered or dead deliveries again.
func (s *Store) WebhookDeliveryReplay(ctx context.Context, p store.WebhookDeliveryReplayParams) (int, error) {
	if len(p.IDs) == 0 && p.EndpointID == "" && p.State == "" && p.Since.IsZero() {
		return 0, invalid("say which deliveries to replay: ids, an endpoint, a state or a time")
	}
	states := []any{string(rankr.DeliveryDelivered), string(rankr.DeliveryDead)}
	switch p.State {
	case "":
	case rankr.DeliveryDelivered, rankr.DeliveryDead:
		states = []any{string(p.State)}
	default:
		return 0, invalid("only delivered or dead deliveries can be replayed, not %q", p.State)
	}
	now := cmp.Or(p.Now, time.Now())
	query := `UPDATE webhook_deliveries SET state = ?, attempts = 0, replays = replays + 1, next_attempt_at = ` + s.d.Clock + `,
		claim = NULL, claimed_until = NULL, updated_at = ? WHERE state IN (` + placeholders(len(states)) + `)
		AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE removed_at IS NULL)`
	args := append([]any{string(rankr.DeliveryPending), now.UnixMilli()}, states...)
	if len(p.IDs) > 0 {
		query += ` AND id IN (` + placeholders(len(p.IDs)) + `)`
		for _, id := range p.IDs {
			args = append(args, id)
		}
	}
	if p.EndpointID != "" {
		query += ` AND endpoint_id = ?`
		args = append(args, p.EndpointID)
	}
	if !p.Since.IsZero() {
		query += ` AND created_at >= ?`
		args = append(args, p.Since.UnixMilli())
	}
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || p.Audit == nil {
			return err
		}
		e := *p.Audit
		changes := map[string]any{}
		if len(e.Changes) > 0 {
			if err := json.Unmarshal(e.Changes, &changes); err != nil {
				return invalid("the replay's audit changes are not a JSON object")
			}
		}
		changes["replayed"] = n
		if e.Changes, err = json.Marshal(changes); err != nil {
			return err
		}
		return t.appendAudit(ctx, e)
	})
	if err != nil {
		return 0, fmt.Errorf("replaying webhook deliveries: %w", storeErr(err))
	}
	return int(n), nil
}

// WebhookDeliveryPrune deletes ended deliveries, by their partial index.
func (s *Store) WebhookDeliveryPrune(ctx context.Context, p store.WebhookDeliveryPruneParams) (int, error) {
	if p.Before.IsZero() {
		return 0, invalid("pruning the deliveries needs a time to prune before")
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
		WHERE state IN ('delivered', 'dead') AND updated_at < ? ORDER BY updated_at LIMIT ?)`), p.Before.UnixMilli(), limit(p.Limit, 1000, 10_000))
	if err != nil {
		return 0, fmt.Errorf("pruning the outbound deliveries: %w", unavailable(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("pruning the outbound deliveries: %w", err)
	}
	return int(n), nil
}
