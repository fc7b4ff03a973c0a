// Package sqlite is the embedded store: Rankr's records in one SQLite file
// (modernc.org/sqlite, pure Go), for one process on one machine, and the
// webhook inbox in a second file beside it (InboxPath). It opens the files
// with the settings SQLite needs for a long-running writer (WAL, busy
// timeout, immediate transactions, a single connection each) and migrates
// them; the store methods are package sqlstore's.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rankr/rankr/internal/store/sqlstore"
)

//go:embed migrations/*.sql inbox_migrations/*.sql locks_migrations/*.sql
var migrations embed.FS

// Dialect is SQLite's: one writer at a time, so rows and the change feed
// need no explicit locks.
var Dialect = sqlstore.Dialect{
	Name:            "sqlite",
	ReuseStatements: true,
	// julianday keeps milliseconds, which strftime('%s') drops.
	Clock: `CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)`,
	Retryable: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
	},
}

// DSN returns the connection string for the database file at path. Commits
// are synchronous (synchronous=FULL): rankr answers GHL's webhooks only
// once they are stored, and "stored" must survive a power cut, not only a
// crashed process. The busy timeout comes first: the pragmas run in order,
// and switching a new file to WAL takes a lock that several processes
// starting together contend for.
func DSN(path string) string {
	v := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(ON)"} {
		v.Add("_pragma", p)
	}
	v.Set("_txlock", "immediate")
	return "file:" + path + "?" + v.Encode()
}

// InboxPath is where the webhook inbox of the database at path lives.
// SQLite takes one writer per file; with the inbox apart, acknowledging
// GHL's webhooks never waits for processing, syncing or the job queue to
// commit. Back the two files up together.
func InboxPath(path string) string { return path + "-inbox" }

// LocksPath is where the lock that serializes OAuth token refreshes lives:
// a refresh holds it for the length of a call to GHL, which must not hold
// the records' one writer.
func LocksPath(path string) string { return path + "-locks" }

// Open opens (creating if needed) and migrates the database file at path
// and its inbox file, and runs then (the job queue's migrations) in the
// records' migration transaction. The *sql.DB of the records is shared with
// the job queue.
func Open(ctx context.Context, path string, then ...sqlstore.Then) (*sqlstore.Store, error) {
	if strings.TrimSpace(path) == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	inbox, err := openFile(ctx, InboxPath(path), "inbox_migrations")
	if err != nil {
		return nil, err
	}
	db, err := openFile(ctx, path, "")
	if err == nil {
		err = moveInbox(ctx, db, InboxPath(path))
	}
	if err == nil {
		err = migrate(ctx, db, path, "migrations", then...)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		inbox.Close()
		return nil, err
	}
	locks, err := openFile(ctx, LocksPath(path), "locks_migrations")
	if err != nil {
		db.Close()
		inbox.Close()
		return nil, err
	}
	s := sqlstore.New(db, Dialect)
	s.SeparateInbox(inbox)
	s.SeparateLocks(locks)
	return s, nil
}

// openFile opens one database file, migrated with the migrations in dir
// unless dir is empty.
func openFile(ctx context.Context, path, dir string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	// SQLite allows one writer; River's driver and ours share one
	// connection rather than fight over the lock.
	db.SetMaxOpenConns(1)
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if dir != "" {
		if err := migrate(ctx, db, path, dir); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// ping opens the first connection, retrying while the file is busy: a
// connection that finds another one switching a new file to WAL, or
// recovering its log, is refused at once without waiting out the busy
// timeout, so processes starting together would otherwise fail.
func ping(ctx context.Context, db *sql.DB) error {
	wait := 5 * time.Millisecond
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil || !Dialect.Retryable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

func migrate(ctx context.Context, db *sql.DB, path, dir string, then ...sqlstore.Then) error {
	sub, _ := fs.Sub(migrations, dir)
	if err := sqlstore.Migrate(ctx, db, Dialect, sub, then...); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// moveInbox copies the webhooks that a database from before the inbox had a
// file of its own holds into that file; the migration that follows drops
// them from the records' file. Copying again after a crash changes
// nothing, and a copy that finds the table gone found it moved by another
// process opening the file at the same time.
func moveInbox(ctx context.Context, db *sql.DB, inboxPath string) error {
	if old, err := hasOldInbox(ctx, db); err != nil || !old {
		return err
	}
	const cols = `seq, webhook_id, type, location_id, received_at, event_at, body, claimed_until, processed_at, attempts, outcome`
	if _, err := db.ExecContext(ctx, `ATTACH DATABASE ? AS inbox`, inboxPath); err != nil {
		return fmt.Errorf("moving the webhook inbox to %s: %w", inboxPath, err)
	}
	_, err := db.ExecContext(ctx, `INSERT INTO inbox.webhook_inbox (`+cols+`) SELECT `+cols+` FROM main.webhook_inbox WHERE true
		ON CONFLICT DO NOTHING`)
	if _, derr := db.ExecContext(ctx, `DETACH DATABASE inbox`); err == nil && derr != nil {
		err = derr
	}
	if err != nil {
		if old, oerr := hasOldInbox(ctx, db); oerr == nil && !old {
			return nil
		}
		return fmt.Errorf("moving the webhook inbox to %s: %w", inboxPath, err)
	}
	return nil
}

// hasOldInbox reports whether the records' file still holds the inbox.
func hasOldInbox(ctx context.Context, db *sql.DB) (bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_inbox'`).Scan(&n); err != nil {
		return false, fmt.Errorf("looking for an inbox to move: %w", err)
	}
	return n > 0, nil
}
