package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// appendEvent adds one event to the change feed within the transaction.
func (t *tx) appendEvent(ctx context.Context, locationID, kind, recordType, recordID string, at time.Time, data any) error {
	if err := t.lockFeed(ctx); err != nil {
		return err
	}
	b := []byte("{}")
	if data != nil {
		var err error
		if b, err = json.Marshal(data); err != nil {
			return err
		}
	}
	ev := rankr.Event{LocationID: locationID, Kind: kind, RecordType: recordType, RecordID: recordID, At: at, Data: b}
	keys := rankr.Triggers(ev)
	if len(keys) == 0 {
		// Most events fire no trigger: they cost the feed nothing more.
		_, err := t.exec(ctx, `INSERT INTO events (location_id, kind, record_type, record_id, at, data) VALUES (?, ?, ?, ?, ?, ?)`,
			locationID, kind, recordType, recordID, at.UnixMilli(), string(b))
		return err
	}
	if err := t.queryRow(ctx, `INSERT INTO events (location_id, kind, record_type, record_id, at, data) VALUES (?, ?, ?, ?, ?, ?)
		RETURNING seq`, locationID, kind, recordType, recordID, at.UnixMilli(), string(b)).Scan(&ev.Seq); err != nil {
		return err
	}
	_, err := t.insertRuns(ctx, keys, "feed:"+strconv.FormatInt(ev.Seq, 10), ev.Seq, locationID, nil)
	return err
}

// insertRuns creates, in the transaction, the runs of an event that fires
// the trigger keys: one for each enabled automation on one of them that
// runs for the location (an event of no location runs those of every
// location only), on the automation's live version, queued and due now.
// The runs of a change-feed event are created in the event's own
// transaction, which holds the feed's lock, and a version swap is an update
// of the automation's row under that lock too: the event sees the old
// version or the new, and gets exactly one run either way. With no enabled
// automation on the keys this is one probe of automations_by_trigger.
func (t *tx) insertRuns(ctx context.Context, keys []string, eventID string, seq int64, locationID string, payload []byte) (int64, error) {
	args := []any{eventID, seq, locationID, nullText(payload), string(rankr.RunQueued), time.Now().UnixMilli()}
	query, args := inList(`INSERT INTO automation_runs (automation_id, version, event_id, event_seq, location_id, trigger_key,
		payload, status, next_attempt_at, created_at)
		SELECT a.id, a.version, ?, ?, ?, a.trigger_key, ?, ?, `+t.s.d.Clock+`, ? FROM automations a
		WHERE a.enabled`, args, "a.trigger_key", keys)
	query += ` AND (a.all_locations OR EXISTS (SELECT 1 FROM automation_locations l WHERE l.automation_id = a.id AND l.location_id = ?))
		ON CONFLICT (automation_id, event_id) DO NOTHING`
	res, err := t.exec(ctx, query, append(args, locationID)...)
	if err != nil {
		return 0, fmt.Errorf("creating the runs of %s: %w", eventID, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// lockFeed takes the change feed's lock (where the dialect has one) for the
// rest of the transaction. Writers that append events take it anyway; some
// take it earlier, before reading what another writer may be changing, so
// that one of the two sees the other's work (see ordersCollected).
func (t *tx) lockFeed(ctx context.Context) error {
	if t.s.d.LockFeed == "" || t.feedLock {
		return nil
	}
	if _, err := t.exec(ctx, t.s.d.LockFeed); err != nil {
		return fmt.Errorf("locking the change feed: %w", err)
	}
	t.feedLock = true
	return nil
}

// change is one field's old and new value, as events carry them.
type change [2]any

// changes collects the fields an update changed.
type changes map[string]change

func (c changes) note(field string, from, to any) {
	if from != to {
		c[field] = change{from, to}
	}
}

// kind picks the single event kind for an update: the most specific change
// wins.
func (c changes) kind(specific ...[2]string) string {
	for _, s := range specific {
		if _, ok := c[s[0]]; ok {
			return s[1]
		}
	}
	return ""
}

// EventList reads the change feed in order.
func (s *Store) EventList(ctx context.Context, p store.EventListParams) ([]rankr.Event, error) {
	query := `SELECT seq, location_id, kind, record_type, record_id, at, data FROM events WHERE seq > ?`
	args := []any{p.AfterSeq}
	if p.LocationID != "" {
		query += ` AND location_id = ?`
		args = append(args, p.LocationID)
	}
	query, args = inList(query, args, "location_id", p.Locations)
	if len(p.RecordIDs) > 0 {
		// The records' events by their own index (events_by_record), then
		// in seq order. With record_id beside location_id in the query
		// itself, SQLite (which keeps no statistics) prefers the location's
		// index by seq, which skips the sort, and walks the location's
		// whole feed looking for them.
		sub, subArgs := `SELECT seq FROM events WHERE 1 = 1`, []any{}
		if p.LocationID != "" {
			sub += ` AND location_id = ?`
			subArgs = append(subArgs, p.LocationID)
		}
		sub, subArgs = inList(sub, subArgs, "record_id", p.RecordIDs)
		query += ` AND seq IN (` + sub + `)`
		args = append(args, subArgs...)
	}
	order := ``
	if p.Newest {
		order = ` DESC`
	}
	query += ` ORDER BY seq` + order + ` LIMIT ?`
	args = append(args, limit(p.Limit, 100, 1000))
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", unavailable(err))
	}
	defer rows.Close()
	var out []rankr.Event
	for rows.Next() {
		var e rankr.Event
		var at int64
		var data string
		if err := rows.Scan(&e.Seq, &e.LocationID, &e.Kind, &e.RecordType, &e.RecordID, &at, &data); err != nil {
			return nil, err
		}
		e.At, e.Data = time.UnixMilli(at).UTC(), json.RawMessage(data)
		out = append(out, e)
	}
	if p.Newest {
		slices.Reverse(out)
	}
	return out, rows.Err()
}

// version is what decides which of two versions of a record is newer.
type version struct {
	at   int64 // GHL's updatedAt, Unix ms
	hash string
}

// compare returns 1 when v is newer than o, -1 when older, 0 when the same.
// Equal timestamps with different content are ordered by content hash, an
// arbitrary but fixed order, so that every replica picks the same winner
// whatever order the versions arrive in.
func (v version) compare(o version) int {
	switch {
	case v.at > o.at:
		return 1
	case v.at < o.at:
		return -1
	case v.hash > o.hash:
		return 1
	case v.hash < o.hash:
		return -1
	}
	return 0
}

// contentHash hashes the typed fields of a record.
func contentHash(fields ...any) string {
	h := sha256.New()
	for _, f := range fields {
		fmt.Fprintf(h, "%v\x00", f)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// rowsOf collects rows with scan, closing them.
func rowsOf[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// inList adds "AND col IN (values)" to a query; nil values do not filter,
// and an empty, non-nil list matches nothing.
func inList(query string, args []any, col string, values []string) (string, []any) {
	switch {
	case values == nil:
		return query, args
	case len(values) == 0:
		return query + ` AND 1 = 0`, args
	}
	query += ` AND ` + col + ` IN (?` + strings.Repeat(`, ?`, len(values)-1) + `)`
	for _, v := range values {
		args = append(args, v)
	}
	return query, args
}
