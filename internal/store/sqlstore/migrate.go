package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The migrator keeps, in schema_migrations, one row per applied migration:
// its file name (the key since the first release, so databases migrated by
// older rankrs upgrade in place), when it was applied and a checksum of its
// text. It refuses to start on a database that has migrations this binary
// does not know (a newer rankr migrated it) or whose applied migrations'
// text changed since (an applied migration is never edited: a change is a
// new migration). Everything, the store's migrations and the job queue's,
// runs under one lock, so that processes starting together migrate once.

// Then is a migration another package owns (the job queue's), run under the
// same lock after the store's own. Where the lock is a write transaction
// (SQLite), tx is that transaction and everything must run inside it; where
// it is a session's (PostgreSQL), tx is nil and the migration runs on db in
// transactions of its own, as many as it needs.
type Then func(ctx context.Context, db *sql.DB, tx *sql.Tx) error

// migration is one file NNNN_name.sql.
type migration struct {
	file   string // the key in schema_migrations
	number int
	body   []byte
	sum    string
}

func (m migration) String() string {
	return fmt.Sprintf("%d (%s)", m.number, strings.TrimSuffix(m.file, ".sql"))
}

// checksum is the SHA-256 of a migration's text. It counts every byte, so
// an edit to a comment or to spacing counts as an edit too, except line
// endings: a checkout that turned LF into CRLF has not changed the
// migration.
func checksum(body []byte) string {
	sum := sha256.Sum256(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// readMigrations reads the migrations in fsys, in order.
func readMigrations(fsys fs.FS) ([]migration, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, file := range files {
		number, ok := fileNumber(file)
		if !ok {
			return nil, fmt.Errorf("migration %s: the name must be NNNN_name.sql", file)
		}
		body, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{file: file, number: number, body: body, sum: checksum(body)})
	}
	// Two files of one number are kept apart by their names, which are the
	// keys, as they always were.
	sortMigrations(out)
	return out, nil
}

// fileNumber reads the number a migration's file name starts with.
func fileNumber(file string) (int, bool) {
	digits, rest, ok := strings.Cut(file, "_")
	if !ok || rest == "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n >= 0
}

func sortMigrations(ms []migration) {
	slices.SortFunc(ms, func(a, b migration) int {
		if a.number != b.number {
			return a.number - b.number
		}
		return strings.Compare(a.file, b.file)
	})
}

// Migrate applies the migrations in fsys (files NNNN_name.sql, in order of
// their numbers) that the database has not applied yet, then runs then,
// all under one lock: a session-level lock taken with
// Dialect.LockMigrations on a connection of its own, or, where the dialect
// has none (SQLite, one writer at a time), a single write transaction
// holding everything.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, fsys fs.FS, then ...Then) error {
	known, err := readMigrations(fsys)
	if err != nil {
		return err
	}
	m := migrator{s: New(db, d), known: known, then: then}
	if d.LockMigrations == "" {
		err = m.inOneTx(ctx)
	} else {
		err = m.underSessionLock(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	return nil
}

type migrator struct {
	s     *Store
	known []migration
	then  []Then
}

// inOneTx migrates in a single write transaction, which is the lock. A
// transaction the database gave up on (busy) is run again.
func (m migrator) inOneTx(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := m.tryOneTx(ctx)
		if err == nil || attempt == 5 || !m.s.d.Retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt*attempt) * 10 * time.Millisecond)
	}
}

func (m migrator) tryOneTx(ctx context.Context) error {
	tx, err := m.s.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	pending, err := m.plan(ctx, tx)
	if err != nil {
		return err
	}
	for _, mig := range pending {
		if err := m.apply(ctx, tx, mig); err != nil {
			return err
		}
	}
	for _, then := range m.then {
		if err := then(ctx, m.s.db, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

// underSessionLock holds the lock on a connection of its own while each
// migration runs in a transaction of its own on that connection, and then
// while the others run on the pool.
func (m migrator) underSessionLock(ctx context.Context) error {
	conn, err := m.s.db.Conn(ctx)
	if err != nil {
		return unavailable(err)
	}
	if _, err := conn.ExecContext(ctx, m.s.d.LockMigrations); err != nil {
		conn.Close()
		return fmt.Errorf("taking the migration lock: %w", unavailable(err))
	}
	defer m.unlock(ctx, conn)
	var pending []migration
	err = inConnTx(ctx, conn, func(tx *sql.Tx) error {
		var err error
		pending, err = m.plan(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	for _, mig := range pending {
		if err := inConnTx(ctx, conn, func(tx *sql.Tx) error { return m.apply(ctx, tx, mig) }); err != nil {
			return err
		}
	}
	for _, then := range m.then {
		if err := then(ctx, m.s.db, nil); err != nil {
			return err
		}
	}
	return nil
}

// unlock releases the migration lock, even when ctx is done. A connection
// that could not release it is discarded rather than returned to the pool,
// where it would keep the lock: its session's end releases it.
func (m migrator) unlock(ctx context.Context, conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var released bool
	if err := conn.QueryRowContext(ctx, m.s.d.UnlockMigrations).Scan(&released); err != nil || !released {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = conn.Close()
}

func inConnTx(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

// plan brings schema_migrations to its current shape, checks what the
// database applied against what this binary knows and returns the
// migrations to apply.
func (m migrator) plan(ctx context.Context, tx *sql.Tx) ([]migration, error) {
	if err := m.bookkeeping(ctx, tx); err != nil {
		return nil, err
	}
	applied, err := m.applied(ctx, tx)
	if err != nil {
		return nil, err
	}
	byFile := map[string]migration{}
	for _, k := range m.known {
		byFile[k.file] = k
	}
	var unknown []migration
	for file := range applied {
		if _, ok := byFile[file]; !ok {
			n, _ := fileNumber(file)
			unknown = append(unknown, migration{file: file, number: n})
		}
	}
	if len(unknown) > 0 {
		sortMigrations(unknown)
		return nil, m.newer(unknown)
	}
	var pending []migration
	for _, k := range m.known {
		sum, ok := applied[k.file]
		switch {
		case !ok:
			pending = append(pending, k)
		case !sum.Valid:
			// Applied by a rankr from before checksums: its text is
			// taken to be this one, which it has been since it was
			// written.
			if _, err := tx.ExecContext(ctx, m.s.q(`UPDATE schema_migrations SET checksum = ? WHERE version = ?`), k.sum, k.file); err != nil {
				return nil, fmt.Errorf("recording the checksum of %s: %w", k.file, unavailable(err))
			}
		case sum.String != k.sum:
			return nil, fmt.Errorf("migration %s was applied to this database with a different text than this rankr's (checksum %.12s…, now %.12s…): an applied migration must never be edited; restore its text and put the change in a new migration",
				k.file, sum.String, k.sum)
		}
	}
	return pending, nil
}

// newer explains a database with migrations this binary does not know.
func (m migrator) newer(unknown []migration) error {
	top := unknown[len(unknown)-1]
	knows := "no migrations"
	if len(m.known) > 0 {
		last := m.known[len(m.known)-1]
		knows = "up to " + last.String()
		if top.number <= last.number {
			return fmt.Errorf("the database has migration %s applied, which this rankr does not know (it knows %s): another build of rankr migrated it; run that build, or a release that includes it",
				top, knows)
		}
	}
	return fmt.Errorf("the database is at schema version %s, this rankr knows %s: upgrade rankr", top, knows)
}

// bookkeeping creates schema_migrations, or adds the checksum column to the
// table of a rankr from before checksums.
func (m migrator) bookkeeping(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL, checksum TEXT)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", unavailable(err))
	}
	// Probing for the column in a savepoint keeps the transaction usable
	// where a failed statement would abort it (PostgreSQL). A query of
	// fixed columns, not SELECT *: PostgreSQL refuses a cached statement
	// whose columns changed.
	if _, err := tx.ExecContext(ctx, `SAVEPOINT checksum_probe`); err != nil {
		return fmt.Errorf("reading schema_migrations: %w", unavailable(err))
	}
	if _, err := tx.ExecContext(ctx, `SELECT checksum FROM schema_migrations WHERE 1 = 0`); err != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT checksum_probe`); err != nil {
			return fmt.Errorf("reading schema_migrations: %w", unavailable(err))
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE schema_migrations ADD COLUMN checksum TEXT`); err != nil {
			return fmt.Errorf("adding checksums to schema_migrations: %w", unavailable(err))
		}
	}
	if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT checksum_probe`); err != nil {
		return fmt.Errorf("reading schema_migrations: %w", unavailable(err))
	}
	return nil
}

// Migrations lists the migrations applied to the records' database, by
// file name in order (0001_init.sql first), for the doctor and /readyz.
func (s *Store) Migrations(ctx context.Context) ([]string, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", unavailable(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var file string
		if err := rows.Scan(&file); err != nil {
			return nil, fmt.Errorf("reading schema_migrations: %w", err)
		}
		out = append(out, file)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", unavailable(err))
	}
	return out, nil
}

// applied returns the checksum of every applied migration by file name;
// NULL for those applied before checksums.
func (m migrator) applied(ctx context.Context, tx *sql.Tx) (map[string]sql.NullString, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", unavailable(err))
	}
	defer rows.Close()
	out := map[string]sql.NullString{}
	for rows.Next() {
		var file string
		var sum sql.NullString
		if err := rows.Scan(&file, &sum); err != nil {
			return nil, err
		}
		out[file] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", unavailable(err))
	}
	return out, nil
}

func (m migrator) apply(ctx context.Context, tx *sql.Tx, mig migration) error {
	if _, err := tx.ExecContext(ctx, string(mig.body)); err != nil {
		return fmt.Errorf("applying %s: %w", mig.file, err)
	}
	if _, err := tx.ExecContext(ctx, m.s.q(`INSERT INTO schema_migrations (version, applied_at, checksum) VALUES (?, `+m.s.d.Clock+`, ?)`),
		mig.file, mig.sum); err != nil {
		return fmt.Errorf("recording %s: %w", mig.file, unavailable(err))
	}
	return nil
}
