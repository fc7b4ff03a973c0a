package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

func newLease() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NoticeCreate adds a notice unless its kind and dedupe key exist.
func (s *Store) NoticeCreate(ctx context.Context, n rankr.Notice) (bool, error) {
	var created bool
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		created, err = t.noticeInsert(ctx, n, cmp.Or(n.CreatedAt, time.Now()))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("queueing a %s notice: %w", n.Kind, err)
	}
	return created, nil
}

// noticeInsert adds a notice within a transaction, with its event; a
// notice of the same kind and dedupe key already there is left alone. It is
// due at once by the database's clock (senders compare with that clock);
// now is its record time.
func (t *tx) noticeInsert(ctx context.Context, n rankr.Notice, now time.Time) (bool, error) {
	if n.LocationID == "" || n.Kind == "" || n.DedupeKey == "" || n.Recipient == "" || len(n.Payload) == 0 {
		return false, invalid("a notice needs a location, a kind, a dedupe key, a recipient and a payload")
	}
	n.ID = cmp.Or(n.ID, rankr.NoticeID(n.Kind, n.DedupeKey))
	rows, err := t.query(ctx, `INSERT INTO notices (id, location_id, kind, dedupe_key, recipient, payload, state,
		next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, `+t.s.d.Clock+`, ?, ?)
		ON CONFLICT DO NOTHING RETURNING id`,
		n.ID, n.LocationID, n.Kind, n.DedupeKey, n.Recipient, string(n.Payload), string(rankr.NoticePending),
		now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, unavailable(err)
	}
	ids, err := rowsOf(rows, scanID)
	if err != nil || len(ids) == 0 {
		return false, err
	}
	return true, t.appendEvent(ctx, n.LocationID, rankr.EventNoticeQueued, rankr.RecordNotice, n.ID, now,
		map[string]any{"kind": n.Kind, "dedupeKey": n.DedupeKey})
}

const noticeColumns = `id, location_id, kind, dedupe_key, recipient, payload, state, attempts, last_error, next_attempt_at,
	lease, message_id, sent_at, created_at, updated_at`

func scanNotice(r scanner) (rankr.Notice, error) {
	var n rankr.Notice
	var payload, state string
	var next, created, updated int64
	var sent sql.NullInt64
	err := r.Scan(&n.ID, &n.LocationID, &n.Kind, &n.DedupeKey, &n.Recipient, &payload, &state, &n.Attempts, &n.LastError,
		&next, &n.Lease, &n.MessageID, &sent, &created, &updated)
	n.Payload, n.State = []byte(payload), rankr.NoticeState(state)
	n.NextAttemptAt, n.SentAt = time.UnixMilli(next).UTC(), fromMS(sent)
	n.CreatedAt, n.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return n, err
}

// NoticeGet returns one notice.
func (s *Store) NoticeGet(ctx context.Context, id string) (rankr.Notice, error) {
	n, err := scanNotice(s.read().QueryRowContext(ctx, s.q(`SELECT `+noticeColumns+` FROM notices WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return n, notFound("notice " + id)
	}
	if err != nil {
		return n, fmt.Errorf("reading notice %s: %w", id, unavailable(err))
	}
	return n, nil
}

// NoticeClaim leases due notices, after marking unknown those whose commit
// was never finished. What is due, and the leases, are measured with the
// database's clock, read once for the transaction.
func (s *Store) NoticeClaim(ctx context.Context, p store.NoticeClaimParams) ([]rankr.Notice, error) {
	now := cmp.Or(p.Now, time.Now())
	lease := newLease()
	var out []rankr.Notice
	err := s.inTx(ctx, func(t *tx) error {
		out = nil
		dbNow, err := t.now(ctx)
		if err != nil {
			return err
		}
		until := dbNow.Add(cmp.Or(p.Lease, time.Minute))
		if err := t.noticesExpireCommits(ctx, dbNow, now); err != nil {
			return err
		}
		due := `((state = ? AND next_attempt_at <= ?) OR (state = ? AND leased_until < ?))`
		dueArgs := []any{string(rankr.NoticePending), dbNow.UnixMilli(), string(rankr.NoticeSending), dbNow.UnixMilli()}
		var ids []string
		if p.ID != "" {
			ids = []string{p.ID}
		} else {
			rows, err := t.query(ctx, `SELECT id FROM notices WHERE `+due+` ORDER BY next_attempt_at, id LIMIT ?`+t.s.d.LockSkip,
				append(dueArgs, limit(p.Limit, 10, 1000))...)
			if err != nil {
				return err
			}
			if ids, err = rowsOf(rows, scanID); err != nil {
				return err
			}
		}
		for _, id := range ids {
			res, err := t.exec(ctx, `UPDATE notices SET state = ?, attempts = attempts + 1, lease = ?, leased_until = ?, updated_at = ?
				WHERE id = ? AND `+due, append([]any{string(rankr.NoticeSending), lease, until.UnixMilli(), now.UnixMilli(), id}, dueArgs...)...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if p.ID != "" {
					return fmt.Errorf("notice %s is not due, or another sender holds it: %w", id, rankr.ErrConflict)
				}
				continue
			}
			n, err := scanNotice(t.queryRow(ctx, `SELECT `+noticeColumns+` FROM notices WHERE id = ?`, id))
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return nil
	})
	if err != nil && !errors.Is(err, rankr.ErrConflict) {
		return nil, fmt.Errorf("claiming notices: %w", unavailable(err))
	}
	return out, err
}

// noticesExpireCommits marks unknown the notices left committing past
// their lease (by dbNow, the database's clock): their sender died or lost
// the server while the mail may have been accepted, so sending again could
// mail the customer twice. now is the record time.
func (t *tx) noticesExpireCommits(ctx context.Context, dbNow, now time.Time) error {
	rows, err := t.query(ctx, `SELECT id, location_id, kind, dedupe_key, message_id FROM notices WHERE state = ? AND leased_until < ?`+t.s.d.LockSkip,
		string(rankr.NoticeCommitting), dbNow.UnixMilli())
	if err != nil {
		return err
	}
	type expired struct{ id, loc, kind, key, messageID string }
	list, err := rowsOf(rows, func(r scanner) (expired, error) {
		var e expired
		return e, r.Scan(&e.id, &e.loc, &e.kind, &e.key, &e.messageID)
	})
	if err != nil {
		return err
	}
	const why = "the sender stopped while the SMTP server may have accepted the mail; not sent again automatically"
	for _, e := range list {
		if _, err := t.exec(ctx, `UPDATE notices SET state = ?, last_error = ?, updated_at = ? WHERE id = ? AND state = ?`,
			string(rankr.NoticeUnknown), why, now.UnixMilli(), e.id, string(rankr.NoticeCommitting)); err != nil {
			return err
		}
		if err := t.appendEvent(ctx, e.loc, rankr.EventNoticeUnknown, rankr.RecordNotice, e.id, now,
			map[string]any{"kind": e.kind, "dedupeKey": e.key, "messageId": e.messageID, "error": why}); err != nil {
			return err
		}
	}
	return nil
}

// NoticeCommitting records that a mail is about to be committed.
func (s *Store) NoticeCommitting(ctx context.Context, p store.NoticeCommittingParams) error {
	now := cmp.Or(p.Now, time.Now())
	if p.MessageID == "" || p.For <= 0 {
		return invalid("committing a notice needs its Message-ID and a lease end")
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE notices SET state = ?, message_id = ?, leased_until = `+s.d.Clock+` + ?, updated_at = ?
		WHERE id = ? AND lease = ? AND state = ?`), string(rankr.NoticeCommitting), p.MessageID, p.For.Milliseconds(), now.UnixMilli(),
		p.ID, p.Lease, string(rankr.NoticeSending))
	if err != nil {
		return fmt.Errorf("recording notice %s as committing: %w", p.ID, unavailable(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("notice %s is no longer held by this sender: %w", p.ID, rankr.ErrConflict)
	}
	return nil
}

// NoticeFinish ends an attempt.
func (s *Store) NoticeFinish(ctx context.Context, p store.NoticeFinishParams) error {
	now := cmp.Or(p.Now, time.Now())
	switch p.State {
	case rankr.NoticeSent, rankr.NoticeFailed, rankr.NoticeUnknown, rankr.NoticePending:
	default:
		return invalid("a notice attempt cannot end %q", p.State)
	}
	err := s.inTx(ctx, func(t *tx) error {
		n, err := scanNotice(t.queryRow(ctx, `SELECT `+noticeColumns+` FROM notices WHERE id = ?`+t.s.d.LockRows, p.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("notice " + p.ID)
		}
		if err != nil {
			return err
		}
		// The holder of the lease may finish while it sends or commits,
		// and after its commit was marked unknown for lack of an answer
		// (the answer came late).
		held := n.Lease == p.Lease && p.Lease != "" &&
			(n.State == rankr.NoticeSending || n.State == rankr.NoticeCommitting || n.State == rankr.NoticeUnknown)
		if !held {
			return fmt.Errorf("notice %s is no longer held by this sender: %w", p.ID, rankr.ErrConflict)
		}
		if n.State == rankr.NoticeUnknown && p.State == rankr.NoticeUnknown {
			return nil
		}
		var sentAt any
		if p.State == rankr.NoticeSent {
			sentAt = now.UnixMilli()
		}
		if _, err := t.exec(ctx, `UPDATE notices SET state = ?, last_error = ?, next_attempt_at = `+t.s.d.Clock+` + ?, sent_at = ?, lease = '',
			leased_until = NULL, updated_at = ? WHERE id = ?`, string(p.State), p.Error, max(p.RetryIn, 0).Milliseconds(),
			sentAt, now.UnixMilli(), p.ID); err != nil {
			return err
		}
		data := map[string]any{"kind": n.Kind, "dedupeKey": n.DedupeKey, "messageId": n.MessageID, "attempts": n.Attempts}
		if p.Error != "" {
			data["error"] = p.Error
		}
		kind := map[rankr.NoticeState]string{rankr.NoticeSent: rankr.EventNoticeSent, rankr.NoticeFailed: rankr.EventNoticeFailed,
			rankr.NoticeUnknown: rankr.EventNoticeUnknown}[p.State]
		if kind == "" {
			return nil
		}
		return t.appendEvent(ctx, n.LocationID, kind, rankr.RecordNotice, n.ID, now, data)
	})
	if err != nil && !errors.Is(err, rankr.ErrConflict) && !errors.Is(err, rankr.ErrNotFound) {
		return fmt.Errorf("finishing notice %s: %w", p.ID, unavailable(err))
	}
	return err
}

// NoticeRetry makes an unknown or failed notice pending again.
func (s *Store) NoticeRetry(ctx context.Context, id string, now time.Time) error {
	now = cmp.Or(now, time.Now())
	return s.inTx(ctx, func(t *tx) error {
		var loc, kind, key, state string
		err := t.queryRow(ctx, `SELECT location_id, kind, dedupe_key, state FROM notices WHERE id = ?`+t.s.d.LockRows, id).
			Scan(&loc, &kind, &key, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("notice " + id)
		}
		if err != nil {
			return unavailable(err)
		}
		if s := rankr.NoticeState(state); s != rankr.NoticeUnknown && s != rankr.NoticeFailed {
			return fmt.Errorf("notice %s is %s; only unknown or failed notices are sent again: %w", id, state, rankr.ErrConflict)
		}
		if _, err := t.exec(ctx, `UPDATE notices SET state = ?, next_attempt_at = `+t.s.d.Clock+`, lease = '', leased_until = NULL,
			updated_at = ? WHERE id = ?`, string(rankr.NoticePending), now.UnixMilli(), id); err != nil {
			return unavailable(err)
		}
		return t.appendEvent(ctx, loc, rankr.EventNoticeRetry, rankr.RecordNotice, id, now,
			map[string]any{"kind": kind, "dedupeKey": key, "was": state})
	})
}

// NoticeList lists notices newest first.
func (s *Store) NoticeList(ctx context.Context, p store.ListParams) ([]rankr.Notice, error) {
	query, args := listQuery(noticeColumns, noticesTable, p)
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing notices: %w", unavailable(err))
	}
	return rowsOf(rows, scanNotice)
}

// NoticeCounts counts notices by state.
func (s *Store) NoticeCounts(ctx context.Context, locationID string) (map[rankr.NoticeState]int, error) {
	query, args := `SELECT state, COUNT(*) FROM notices`, []any{}
	if locationID != "" {
		query += ` WHERE location_id = ?`
		args = append(args, locationID)
	}
	rows, err := s.read().QueryContext(ctx, s.q(query+` GROUP BY state`), args...)
	if err != nil {
		return nil, fmt.Errorf("counting notices: %w", unavailable(err))
	}
	type count struct {
		state string
		n     int
	}
	list, err := rowsOf(rows, func(r scanner) (count, error) {
		var c count
		return c, r.Scan(&c.state, &c.n)
	})
	if err != nil {
		return nil, fmt.Errorf("counting notices: %w", unavailable(err))
	}
	out := map[rankr.NoticeState]int{}
	for _, c := range list {
		out[rankr.NoticeState(c.state)] = c.n
	}
	return out, nil
}
