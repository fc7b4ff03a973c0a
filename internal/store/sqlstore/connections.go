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

// ConnectionUpsert creates or updates a connection; it is active afterwards.
func (s *Store) ConnectionUpsert(ctx context.Context, p store.ConnectionUpsertParams) (rankr.Connection, error) {
	if err := s.inTx(ctx, func(t *tx) error { return t.upsertConnection(ctx, p) }); err != nil {
		return rankr.Connection{}, fmt.Errorf("saving connection %s: %w", p.LocationID, storeErr(err))
	}
	return s.ConnectionGet(ctx, p.LocationID)
}

// upsertConnection saves a connection, with its audit record when it has
// one. An OAuth connection holds no credential of its own: its token is
// the location's OAuth token.
func (t *tx) upsertConnection(ctx context.Context, p store.ConnectionUpsertParams) error {
	kind := cmp.Or(p.CredentialKind, "pit")
	if p.LocationID == "" || p.BaseURL == "" || len(p.Credential) == 0 && kind != "oauth" {
		return invalid("a connection needs a location id, a base URL and a credential")
	}
	now := cmp.Or(p.Now, time.Now()).UnixMilli()
	credential := p.Credential
	if credential == nil {
		credential = []byte{} // the column is NOT NULL
	}
	var was []byte
	var wasState string
	err := t.queryRow(ctx, `SELECT credential, state FROM connections WHERE location_id = ?`+t.s.d.LockRows, p.LocationID).
		Scan(&was, &wasState)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// A new credential, or a connection made active again, is the
	// reconnection a location's paused automations wait for.
	if err == nil && (!bytes.Equal(was, credential) || wasState != string(rankr.StateActive)) {
		if _, err := t.resume(ctx, p.LocationID); err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, `INSERT INTO connections (location_id, name, base_url, credential, credential_kind, state,
		state_message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)
		ON CONFLICT (location_id) DO UPDATE SET name = excluded.name, base_url = excluded.base_url,
		credential = excluded.credential, credential_kind = excluded.credential_kind, state = excluded.state,
		state_message = '', last_error = '', updated_at = excluded.updated_at`,
		p.LocationID, p.Name, p.BaseURL, credential, kind, string(rankr.StateActive), now, now)
	if err != nil {
		return err
	}
	if p.Audit != nil {
		return t.appendAudit(ctx, *p.Audit)
	}
	return nil
}

const connColumns = `location_id, name, base_url, credential, credential_kind, state, state_message, last_sync_at,
	last_error, created_at, updated_at`

func scanConn(r scanner) (rankr.Connection, error) {
	var c rankr.Connection
	var state string
	var lastSync sql.NullInt64
	var created, updated int64
	err := r.Scan(&c.LocationID, &c.Name, &c.BaseURL, &c.Credential, &c.CredentialKind, &state, &c.StateMessage, &lastSync,
		&c.LastError, &created, &updated)
	c.State, c.LastSyncAt = rankr.ConnectionState(state), fromMS(lastSync)
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return c, err
}

// ConnectionGet returns one connection.
func (s *Store) ConnectionGet(ctx context.Context, locationID string) (rankr.Connection, error) {
	c, err := scanConn(s.read().QueryRowContext(ctx, s.q(`SELECT `+connColumns+` FROM connections WHERE location_id = ?`), locationID))
	if errors.Is(err, sql.ErrNoRows) {
		return rankr.Connection{}, notFound("connection for location " + locationID)
	}
	if err != nil {
		return rankr.Connection{}, fmt.Errorf("reading connection %s: %w", locationID, unavailable(err))
	}
	return c, nil
}

// ConnectionList returns every connection.
func (s *Store) ConnectionList(ctx context.Context) ([]rankr.Connection, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT `+connColumns+` FROM connections ORDER BY location_id`)
	if err != nil {
		return nil, fmt.Errorf("listing connections: %w", unavailable(err))
	}
	return rowsOf(rows, scanConn)
}

// ConnectionSetState records a connection's state. A connection suspended
// because the app was uninstalled stays suspended whatever else is said of
// it (a sync that was under way when the uninstall came gets a 401 after
// it): only an install, or a new credential, ends a suspension.
func (s *Store) ConnectionSetState(ctx context.Context, p store.ConnectionSetStateParams) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE connections SET state = ?, state_message = ?, updated_at = ? WHERE location_id = ?
			AND (state <> ? OR ? = ?)`, string(p.State), p.Message, cmp.Or(p.Now, time.Now()).UnixMilli(), p.LocationID,
			string(rankr.StateSuspended), string(p.State), string(rankr.StateSuspended))
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				var state string
				if err := t.queryRow(ctx, `SELECT state FROM connections WHERE location_id = ?`, p.LocationID).Scan(&state); errors.Is(err, sql.ErrNoRows) {
					return notFound("connection for location " + p.LocationID)
				} else if err != nil {
					return fmt.Errorf("reading connection %s: %w", p.LocationID, unavailable(err))
				}
				return nil // suspended, and kept so
			}
		}
		if err := affectedOne(res, err, "connection for location "+p.LocationID); err != nil {
			return err
		}
		if p.State == rankr.StateActive {
			// Active again: the location's paused automations go on.
			if _, err := t.resume(ctx, p.LocationID); err != nil {
				return err
			}
		}
		return t.appendAuditOf(ctx, p.Audit)
	})
}

// ConnectionInstallEvent follows an INSTALL or UNINSTALL webhook.
func (s *Store) ConnectionInstallEvent(ctx context.Context, p store.ConnectionInstallEventParams) (rankr.Connection, bool, error) {
	if p.At.IsZero() {
		return rankr.Connection{}, false, invalid("an install event needs its time")
	}
	now := cmp.Or(p.Now, time.Now())
	var conn rankr.Connection
	followed := false
	err := s.inTx(ctx, func(t *tx) error {
		var state string
		var last sql.NullInt64
		err := t.queryRow(ctx, `SELECT state, install_event_at FROM connections WHERE location_id = ?`+t.s.d.LockRows,
			p.LocationID).Scan(&state, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("connection for location " + p.LocationID)
		}
		if err != nil {
			return err
		}
		if followed = !last.Valid || p.At.UnixMilli() >= last.Int64; followed {
			switch {
			case !p.Installed:
				_, err = t.exec(ctx, `UPDATE connections SET state = ?, state_message = ?, install_event_at = ?, updated_at = ?
					WHERE location_id = ?`, string(rankr.StateSuspended), p.Message, p.At.UnixMilli(), now.UnixMilli(), p.LocationID)
			case state == string(rankr.StateSuspended):
				_, err = t.exec(ctx, `UPDATE connections SET state = ?, state_message = '', install_event_at = ?, updated_at = ?
					WHERE location_id = ?`, string(rankr.StateActive), p.At.UnixMilli(), now.UnixMilli(), p.LocationID)
			default:
				_, err = t.exec(ctx, `UPDATE connections SET install_event_at = ? WHERE location_id = ?`, p.At.UnixMilli(), p.LocationID)
			}
			if err != nil {
				return err
			}
		}
		conn, err = scanConn(t.queryRow(ctx, `SELECT `+connColumns+` FROM connections WHERE location_id = ?`, p.LocationID))
		return err
	})
	if err != nil {
		if errors.Is(err, rankr.ErrNotFound) {
			return rankr.Connection{}, false, err
		}
		return rankr.Connection{}, false, fmt.Errorf("following an install event of %s: %w", p.LocationID, unavailable(err))
	}
	return conn, followed, nil
}

// ConnectionRecordSync records the end of a sync pass.
func (s *Store) ConnectionRecordSync(ctx context.Context, p store.ConnectionRecordSyncParams) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE connections SET last_sync_at = ?, last_error = ? WHERE location_id = ?`),
		cmp.Or(p.At, time.Now()).UnixMilli(), p.Error, p.LocationID)
	return affectedOne(res, err, "connection for location "+p.LocationID)
}

func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("updating %s: %w", what, unavailable(err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return notFound(what)
	}
	return nil
}

// putCursor writes a checkpoint inside a transaction, when there is one.
func (t *tx) putCursor(ctx context.Context, c *rankr.Cursor, now time.Time) error {
	if c == nil {
		return nil
	}
	if c.LocationID == "" || c.Name == "" {
		return invalid("a cursor needs a location id and a name")
	}
	_, err := t.exec(ctx, `INSERT INTO cursors (location_id, name, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (location_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		c.LocationID, c.Name, string(c.Value), now.UnixMilli())
	return err
}

// CursorPut writes a checkpoint.
func (s *Store) CursorPut(ctx context.Context, c rankr.Cursor) error {
	if c.LocationID == "" || c.Name == "" {
		return invalid("a cursor needs a location id and a name")
	}
	return s.inTx(ctx, func(t *tx) error { return t.putCursor(ctx, &c, cmp.Or(c.UpdatedAt, time.Now())) })
}

// CursorGet reads a checkpoint.
func (s *Store) CursorGet(ctx context.Context, locationID, name string) (rankr.Cursor, error) {
	c := rankr.Cursor{LocationID: locationID, Name: name}
	var value string
	var at int64
	err := s.read().QueryRowContext(ctx, s.q(`SELECT value, updated_at FROM cursors WHERE location_id = ? AND name = ?`),
		locationID, name).Scan(&value, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("cursor " + name)
	}
	if err != nil {
		return c, fmt.Errorf("reading cursor %s: %w", name, unavailable(err))
	}
	c.Value, c.UpdatedAt = []byte(value), time.UnixMilli(at).UTC()
	return c, nil
}

// deletable maps record types to their tables and deletion events.
var deletable = map[string]struct{ table, event string }{
	rankr.RecordOrder:        {"orders", rankr.OrderDeleted},
	rankr.RecordTransaction:  {"transactions", rankr.TransactionDeleted},
	rankr.RecordSubscription: {"subscriptions", rankr.SubscriptionDeleted},
	rankr.RecordInvoice:      {"invoices", rankr.InvoiceDeleted},
	rankr.RecordProduct:      {"products", rankr.ProductDeleted},
	rankr.RecordPrice:        {"prices", rankr.PriceDeleted},
}

// RecordsUnseenSince lists deletion candidates.
func (s *Store) RecordsUnseenSince(ctx context.Context, p store.UnseenParams) ([]string, error) {
	d, ok := deletable[p.RecordType]
	if !ok {
		return nil, invalid("records of type %q cannot be deleted", p.RecordType)
	}
	since := p.Since.UnixMilli()
	rows, err := s.read().QueryContext(ctx, s.q(fmt.Sprintf(`SELECT id FROM %s WHERE location_id = ? AND deleted_at IS NULL
		AND (seen_at IS NULL OR seen_at < ?) AND inserted_at < ? ORDER BY id LIMIT ?`, d.table)),
		p.LocationID, since, since, limit(p.Limit, 100, 10_000))
	if err != nil {
		return nil, fmt.Errorf("finding unseen %ss: %w", p.RecordType, unavailable(err))
	}
	return rowsOf(rows, scanID)
}

// RecordMarkDeleted marks a record deleted in GHL.
func (s *Store) RecordMarkDeleted(ctx context.Context, p store.MarkDeletedParams) error {
	d, ok := deletable[p.RecordType]
	if !ok {
		return invalid("records of type %q cannot be deleted", p.RecordType)
	}
	at := cmp.Or(p.At, time.Now())
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, fmt.Sprintf(`UPDATE %s SET deleted_at = ? WHERE location_id = ? AND id = ? AND deleted_at IS NULL`, d.table),
			at.UnixMilli(), p.LocationID, p.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // unknown or already marked: nothing changed, no event
		}
		if err := t.appendEvent(ctx, p.LocationID, d.event, p.RecordType, p.ID, at, nil); err != nil {
			return err
		}
		if p.RecordType == rankr.RecordProduct {
			return t.deletePrices(ctx, p.LocationID, p.ID, at)
		}
		if p.RecordType == rankr.RecordTransaction {
			var orderID string
			if err := t.queryRow(ctx, `SELECT order_id FROM transactions WHERE location_id = ? AND id = ?`, p.LocationID, p.ID).Scan(&orderID); err != nil {
				return err
			}
			if orderID != "" {
				_, err := t.settleOrder(ctx, p.LocationID, orderID, at)
				return err
			}
		}
		return nil
	})
}

// Counts returns how many live records a location has.
func (s *Store) Counts(ctx context.Context, locationID string) (rankr.Counts, error) {
	var c rankr.Counts
	err := s.read().QueryRowContext(ctx, s.q(`SELECT
		(SELECT COUNT(*) FROM orders WHERE location_id = ? AND deleted_at IS NULL),
		(SELECT COUNT(*) FROM fulfillments f JOIN orders o ON o.location_id = f.location_id AND o.id = f.order_id
			WHERE f.location_id = ? AND o.deleted_at IS NULL),
		(SELECT COUNT(*) FROM transactions WHERE location_id = ? AND deleted_at IS NULL),
		(SELECT COUNT(*) FROM subscriptions WHERE location_id = ? AND deleted_at IS NULL),
		(SELECT COUNT(*) FROM invoices WHERE location_id = ? AND deleted_at IS NULL),
		(SELECT COUNT(*) FROM events WHERE location_id = ?)`),
		locationID, locationID, locationID, locationID, locationID, locationID).
		Scan(&c.Orders, &c.Fulfillments, &c.Transactions, &c.Subscriptions, &c.Invoices, &c.Events)
	if err != nil {
		return c, fmt.Errorf("counting: %w", unavailable(err))
	}
	return c, nil
}
