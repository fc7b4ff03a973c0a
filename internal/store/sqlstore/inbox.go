package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// InboxAppend stores webhooks in one transaction (the group commit of the
// webhook intake), returning the sequence number of each new one.
func (s *Store) InboxAppend(ctx context.Context, p store.InboxAppendParams) ([]int64, error) {
	for _, e := range p.Events {
		if e.WebhookID == "" || len(e.Body) == 0 {
			return nil, invalid("a webhook needs an id and a body")
		}
	}
	now := cmp.Or(p.Now, time.Now())
	seqs := make([]int64, len(p.Events))
	type row struct {
		id  string
		seq int64
	}
	err := s.inboxStore().inTx(ctx, func(t *tx) error {
		var claimed any // NULL: any processor may claim them
		attempts := 0
		if p.Lease > 0 {
			// One read of the database's clock per batch: the lease is
			// measured with the clock every claimer measures it with.
			dbNow, err := t.now(ctx)
			if err != nil {
				return err
			}
			claimed, attempts = dbNow.Add(p.Lease).UnixMilli(), 1
		}
		// One statement per 1,000 webhooks (a batch of the intake takes
		// one or two): the intake's throughput is how fast a batch commits.
		var inserted []row
		for chunk := range slices.Chunk(p.Events, 1000) {
			var q strings.Builder
			q.WriteString(`INSERT INTO webhook_inbox (webhook_id, type, location_id, received_at, event_at, body, claimed_until, attempts) VALUES `)
			args := make([]any, 0, 8*len(chunk))
			for i, e := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, e.WebhookID, e.Type, e.LocationID, cmp.Or(e.ReceivedAt, now).UnixMilli(), ms(e.EventAt), string(e.Body),
					claimed, attempts)
			}
			q.WriteString(` ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id, seq`)
			rows, err := t.query(ctx, q.String(), args...)
			if err != nil {
				return err
			}
			got, err := rowsOf(rows, func(r scanner) (row, error) {
				var x row
				return x, r.Scan(&x.id, &x.seq)
			})
			if err != nil {
				return err
			}
			inserted = append(inserted, got...)
		}
		// A webhook twice in one batch is new only the first time.
		seqOf := make(map[string]int64, len(inserted))
		for _, x := range inserted {
			seqOf[x.id] = x.seq
		}
		for i, e := range p.Events {
			seqs[i] = seqOf[e.WebhookID]
			delete(seqOf, e.WebhookID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storing webhooks: %w", unavailable(err))
	}
	return seqs, nil
}

// InboxClaim leases the oldest unprocessed webhooks, measuring leases with
// the database's clock (in the statement: no extra round trip).
func (s *Store) InboxClaim(ctx context.Context, p store.InboxClaimParams) ([]rankr.InboxEvent, error) {
	var out []rankr.InboxEvent
	err := s.inboxStore().inTx(ctx, func(t *tx) error {
		clock := t.s.d.Clock
		rows, err := t.query(ctx, `UPDATE webhook_inbox SET claimed_until = `+clock+` + ?, attempts = attempts + 1
			WHERE seq IN (SELECT seq FROM webhook_inbox WHERE processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < `+clock+`)
				AND seq < ? ORDER BY seq LIMIT ?`+t.s.d.LockSkip+`)
			RETURNING seq, webhook_id, type, location_id, received_at, event_at, body, attempts`,
			cmp.Or(p.Lease, time.Minute).Milliseconds(), cmp.Or(p.BeforeSeq, math.MaxInt64), limit(p.Limit, 100, 1000))
		if err != nil {
			return err
		}
		out, err = rowsOf(rows, func(r scanner) (rankr.InboxEvent, error) {
			var e rankr.InboxEvent
			var received int64
			var eventAt sql.NullInt64
			var body string
			err := r.Scan(&e.Seq, &e.WebhookID, &e.Type, &e.LocationID, &received, &eventAt, &body, &e.Attempts)
			e.ReceivedAt, e.EventAt, e.Body = time.UnixMilli(received).UTC(), fromMS(eventAt), []byte(body)
			return e, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming webhooks: %w", unavailable(err))
	}
	slices.SortFunc(out, func(a, b rankr.InboxEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// InboxDone marks webhooks processed.
func (s *Store) InboxDone(ctx context.Context, done []store.InboxOutcome, at time.Time) error {
	at = cmp.Or(at, time.Now())
	// A batch has few distinct outcomes ("order created", ...): one
	// statement per outcome and chunk of webhooks, not one per webhook.
	var outcomes []string
	seqs := map[string][]int64{}
	for _, d := range done {
		if _, ok := seqs[d.Outcome]; !ok {
			outcomes = append(outcomes, d.Outcome)
		}
		seqs[d.Outcome] = append(seqs[d.Outcome], d.Seq)
	}
	err := s.inboxStore().inTx(ctx, func(t *tx) error {
		// Where rows are locked (PostgreSQL), lock them in one order first:
		// updating by outcome would lock them in another for each caller,
		// and two processors finishing the same webhooks could deadlock.
		if t.s.d.LockRows != "" {
			all := make([]int64, len(done))
			for i, d := range done {
				all[i] = d.Seq
			}
			slices.Sort(all)
			for chunk := range slices.Chunk(all, 500) {
				rows, err := t.query(ctx, `SELECT seq FROM webhook_inbox WHERE seq IN (`+placeholders(len(chunk))+`) ORDER BY seq`+t.s.d.LockRows,
					anys(chunk)...)
				if err != nil {
					return err
				}
				if err := rows.Close(); err != nil {
					return err
				}
			}
		}
		for _, outcome := range outcomes {
			for chunk := range slices.Chunk(seqs[outcome], 500) {
				args := append([]any{at.UnixMilli(), outcome}, anys(chunk)...)
				if _, err := t.exec(ctx, `UPDATE webhook_inbox SET processed_at = ?, outcome = ?, claimed_until = NULL
					WHERE seq IN (`+placeholders(len(chunk))+`) AND processed_at IS NULL`, args...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("marking webhooks processed: %w", unavailable(err))
	}
	return nil
}

// InboxPending counts unprocessed webhooks.
func (s *Store) InboxPending(ctx context.Context) (int, error) {
	var n int
	err := s.InboxDB().QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_inbox WHERE processed_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting webhooks: %w", unavailable(err))
	}
	return n, nil
}

// InboxRecent reads the newest webhooks, by the inbox's sequence: the
// primary key, or webhook_inbox_location for one location.
func (s *Store) InboxRecent(ctx context.Context, p store.InboxRecentParams) ([]rankr.InboxEvent, error) {
	ib := s.inboxStore()
	q, args := `SELECT seq, webhook_id, type, location_id, received_at, event_at, attempts, outcome FROM webhook_inbox`, []any{}
	if p.LocationID != "" {
		q += ` WHERE location_id = ?`
		args = append(args, p.LocationID)
	}
	rows, err := ib.db.QueryContext(ctx, ib.q(q+` ORDER BY seq DESC LIMIT ?`), append(args, limit(p.Limit, 1, 1000))...)
	if err != nil {
		return nil, fmt.Errorf("reading the webhook inbox: %w", unavailable(err))
	}
	defer rows.Close()
	out := []rankr.InboxEvent{}
	for rows.Next() {
		var e rankr.InboxEvent
		var received int64
		var event sql.NullInt64
		if err := rows.Scan(&e.Seq, &e.WebhookID, &e.Type, &e.LocationID, &received, &event, &e.Attempts, &e.Outcome); err != nil {
			return nil, fmt.Errorf("reading the webhook inbox: %w", err)
		}
		e.ReceivedAt = time.UnixMilli(received).UTC()
		if event.Valid {
			e.EventAt = time.UnixMilli(event.Int64).UTC()
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the webhook inbox: %w", unavailable(err))
	}
	return out, nil
}

// InboxPrune deletes old processed webhooks.
func (s *Store) InboxPrune(ctx context.Context, p store.InboxPruneParams) (int, error) {
	if p.Before.IsZero() {
		return 0, invalid("pruning the inbox needs a time to prune before")
	}
	ib := s.inboxStore()
	res, err := ib.db.ExecContext(ctx, ib.q(`DELETE FROM webhook_inbox WHERE seq IN (SELECT seq FROM webhook_inbox
		WHERE processed_at IS NOT NULL AND processed_at < ? ORDER BY seq LIMIT ?)`), p.Before.UnixMilli(), limit(p.Limit, 1000, 10_000))
	if err != nil {
		return 0, fmt.Errorf("pruning the webhook inbox: %w", unavailable(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("pruning the webhook inbox: %w", err)
	}
	return int(n), nil
}
