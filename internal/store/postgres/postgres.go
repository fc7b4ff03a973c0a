// Package postgres is the shared store: Rankr's records in PostgreSQL,
// through pgx, for several rankr processes at once. Row locks and a
// transaction-scoped advisory lock on the change feed keep concurrent writers
// correct; the store methods are package sqlstore's.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/rankr/rankr/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys ("rankr" in hex, plus one). The migrations' lock is
// taken with a second key, the schema's: tests (and deployments sharing a
// database) keep databases apart by schema, and those need not wait on
// each other; advisory locks are per database already.
const (
	feedLockKey      = 0x72616e6b
	migrationLockKey = 0x72616e6c
)

// Dialect is PostgreSQL's.
var Dialect = sqlstore.Dialect{
	Name:     "postgres",
	Numbered: true,
	LockRows: " FOR UPDATE",
	LockSkip: " FOR UPDATE SKIP LOCKED",
	// now() is the transaction's start, so one transaction sees one time.
	Clock:          `CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)`,
	LockFeed:       fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", feedLockKey),
	LockMigrations: fmt.Sprintf("SELECT pg_advisory_lock(%d, hashtext(coalesce(current_schema(), '')))", migrationLockKey),
	Retryable: func(err error) bool {
		var pe *pgconn.PgError
		// serialization_failure, deadlock_detected
		return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
	},
	UnlockMigrations: fmt.Sprintf("SELECT pg_advisory_unlock(%d, hashtext(coalesce(current_schema(), '')))", migrationLockKey),
}

// Open connects to the database at url (postgres://…) and migrates it, then
// runs then (the job queue's migrations) under the same lock.
func Open(ctx context.Context, url string, then ...sqlstore.Then) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("opening PostgreSQL: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if err := sqlstore.Migrate(ctx, db, Dialect, sub, then...); err != nil {
		db.Close()
		return nil, err
	}
	return sqlstore.New(db, Dialect), nil
}
