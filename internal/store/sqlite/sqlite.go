// Package sqlite is the embedded store: Rankr's records in one SQLite file
// (modernc.org/sqlite, pure Go), for one process on one machine. It opens
// the file with the settings SQLite needs for a long-running writer (WAL,
// busy timeout, immediate transactions, a single connection) and migrates
// it; the store methods are package sqlstore's.
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

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rankr/rankr/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is SQLite's: one writer at a time, so rows and the change feed
// need no explicit locks.
var Dialect = sqlstore.Dialect{
	Name:            "sqlite",
	ReuseStatements: true,
	Retryable: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
	},
}

// DSN returns the connection string for the database file at path. Commits
// are synchronous (synchronous=FULL): rankr answers GHL's webhooks only
// once they are stored, and "stored" must survive a power cut, not only a
// crashed process.
func DSN(path string) string {
	v := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(FULL)", "foreign_keys(ON)"} {
		v.Add("_pragma", p)
	}
	v.Set("_txlock", "immediate")
	return "file:" + path + "?" + v.Encode()
}

// Open opens (creating if needed) and migrates the database file at path.
// The one *sql.DB it returns with the store is shared with the job queue.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	if strings.TrimSpace(path) == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	// SQLite allows one writer; River's driver and ours share one
	// connection rather than fight over the lock.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if err := sqlstore.Migrate(ctx, db, Dialect, sub); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sqlstore.New(db, Dialect), nil
}
