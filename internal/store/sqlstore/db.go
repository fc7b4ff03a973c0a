// Package sqlstore is the engine behind both store implementations: the
// store.Store methods written once over database/sql, parameterised by a
// Dialect for what SQLite and PostgreSQL do differently (placeholders, row
// locks, how the change feed is serialised). The drivers in store/sqlite and
// store/postgres open the database, bring its schema up to date and hand it
// here.
//
// Package sqlstore imports only internal/rankr and internal/store of ours.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Dialect is what differs between the databases.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2...) instead of ?.
	Numbered bool
	// LockRows is appended to SELECTs that read rows about to be updated.
	LockRows string
	// LockSkip is appended to SELECTs that claim work, so that concurrent
	// claimers take different rows.
	LockSkip string
	// LockFeed runs before a transaction appends to the change feed, so that
	// events are numbered in commit order; empty when the database has a
	// single writer anyway.
	LockFeed string
	// Clock is an SQL expression for the database's current time in Unix
	// milliseconds. Leases and due times are read from it, never from a
	// process's own clock: processes on hosts whose clocks disagree would
	// otherwise take each other's work, or never take it.
	Clock string
	// LockMigrations takes a session-level lock that processes starting
	// together wait on while one of them migrates (see Migrate), and
	// UnlockMigrations, a query of one boolean, releases it. Both are empty
	// where the database has a single writer anyway, whose write
	// transaction is then the lock.
	LockMigrations, UnlockMigrations string
	// Retryable reports errors worth retrying the whole transaction for
	// (deadlock, serialization failure, busy).
	Retryable func(error) bool
	// ReuseStatements keeps prepared statements across transactions. It
	// pays where the driver would parse and plan every statement anew
	// (modernc's SQLite spends a tenth of a webhook's cost doing so), and
	// works only with a single connection, which every transaction shares.
	// PostgreSQL's driver caches statements per connection by itself.
	ReuseStatements bool
}

// Store implements store.Store.
type Store struct {
	db *sql.DB
	d  Dialect

	rebound sync.Map // query with ? -> query in the dialect's placeholders
	locks   *sql.DB  // see SeparateLocks
	stmts   stmtCache
	// inbox, when set, holds the webhook inbox in a database of its own;
	// see SeparateInbox.
	inbox *Store
}

// stmtCache holds the statements kept across transactions (see
// Dialect.ReuseStatements). A transaction cannot prepare on the database
// while it holds the only connection, so it uses a statement it finds here
// and notes the ones it misses; they are prepared after it ends.
type stmtCache struct {
	mu     sync.Mutex
	ready  map[string]*sql.Stmt
	missed map[string]bool
	// shapes maps a query's shape (its text without placeholders and the
	// punctuation between them) to the first text seen with it, or to ""
	// once a second text showed that the query is built with lists of
	// varying length (IN lists, multi-row VALUES): those are not kept.
	shapes map[string]string
}

// maxStmts bounds the cache, whatever the queries.
const maxStmts = 256

func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.ready[query]; ok {
		return st
	}
	if c.shapes == nil {
		c.shapes, c.missed = map[string]string{}, map[string]bool{}
	}
	shape := shapeOf(query)
	first, seen := c.shapes[shape]
	switch {
	case !seen:
		c.shapes[shape] = query
	case first != query:
		c.shapes[shape] = "" // built: never kept
		delete(c.missed, first)
		return nil
	case first == "":
		return nil
	}
	if len(c.ready)+len(c.missed) < maxStmts {
		c.missed[query] = true
	}
	return nil
}

// shapeOf is a query without its placeholders, and without the commas,
// parentheses and spaces that separate them: the same for every length of
// a list built into it.
func shapeOf(query string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '?', '$', ',', '(', ')', ' ', '\t', '\n', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return -1
		}
		return r
	}, query)
}

// prepareMissed prepares the statements transactions missed. Errors only
// mean the statement is not reused.
func (c *stmtCache) prepareMissed(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	missed := c.missed
	c.missed = map[string]bool{}
	c.mu.Unlock()
	for query := range missed {
		c.mu.Lock()
		built := c.shapes[shapeOf(query)] != query
		c.mu.Unlock()
		if built {
			continue
		}
		st, err := db.PrepareContext(ctx, query)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.ready == nil {
			c.ready = map[string]*sql.Stmt{}
		}
		if _, dup := c.ready[query]; dup {
			st.Close()
		} else {
			c.ready[query] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.ready {
		st.Close()
	}
	c.ready, c.missed, c.shapes = nil, nil, nil
}

var _ store.Store = (*Store)(nil)

// New returns a store over db, whose schema must be migrated.
func New(db *sql.DB, d Dialect) *Store {
	if d.Retryable == nil {
		d.Retryable = func(error) bool { return false }
	}
	return &Store{db: db, d: d}
}

// SeparateInbox keeps the webhook inbox in db, migrated already, rather
// than with the records. Where the records' database takes one writer at a
// time (SQLite), this is what lets GHL's webhooks be acknowledged while
// processing, syncing and the job queue write: the intake's commits wait
// for nobody but each other. The store closes db with its own.
func (s *Store) SeparateInbox(db *sql.DB) { s.inbox = New(db, s.d) }

// inboxStore is the store holding the webhook inbox.
func (s *Store) inboxStore() *Store {
	if s.inbox != nil {
		return s.inbox
	}
	return s
}

// DB returns the underlying database, for the job queue to share.
func (s *Store) DB() *sql.DB { return s.db }

// InboxDB returns the database holding the webhook inbox: DB unless
// SeparateInbox moved it.
func (s *Store) InboxDB() *sql.DB { return s.inboxStore().db }

// Close closes the database, and the inbox's when it has its own.
func (s *Store) Close() error {
	var err error
	if s.inbox != nil {
		err = s.inbox.Close()
	}
	if s.locks != nil {
		err = errors.Join(err, s.locks.Close())
	}
	s.stmts.close()
	return errors.Join(s.db.Close(), err)
}

// q rewrites ? placeholders for the dialect. Queries never hold a literal ?.
func (s *Store) q(query string) string {
	if !s.d.Numbered {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	s.rebound.Store(query, b.String())
	return b.String()
}

// tx is a transaction with the store's dialect at hand.
type tx struct {
	s        *Store
	tx       *sql.Tx
	feedLock bool
	missed   bool // a statement to keep was not prepared yet
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.s.q(query), args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, t.s.q(query), args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.s.q(query), args...)
}

// stmt returns the kept statement for a query, bound to the transaction,
// or nil.
func (t *tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if !t.s.d.ReuseStatements {
		return nil
	}
	st := t.s.stmts.get(t.s.q(query))
	if st == nil {
		t.missed = true
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

// Now returns the database's current time (see Dialect.Clock).
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var v int64
	if err := s.read().QueryRowContext(ctx, `SELECT `+s.d.Clock).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("reading the database's clock: %w", unavailable(err))
	}
	return time.UnixMilli(v).UTC(), nil
}

// now returns the database's current time within the transaction.
func (t *tx) now(ctx context.Context) (time.Time, error) {
	var v int64
	if err := t.queryRow(ctx, `SELECT `+t.s.d.Clock).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("reading the database's clock: %w", err)
	}
	return time.UnixMilli(v).UTC(), nil
}

// inTx runs fn in a transaction, committing when it returns nil. A
// transaction the database aborted for a retryable reason is run again.
func (s *Store) inTx(ctx context.Context, fn func(*tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt == 5 || !s.d.Retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt*attempt) * 10 * time.Millisecond)
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(*tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", unavailable(err))
	}
	t := &tx{s: s, tx: sqlTx}
	if err := fn(t); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", unavailable(err))
	}
	if t.missed {
		s.stmts.prepareMissed(ctx, s.db)
	}
	return nil
}

// unavailable marks database failures as rankr.ErrUnavailable unless they
// are context errors.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", rankr.ErrUnavailable, err)
}

// scanSeq reads a row of one numeric column: a seq, a run's id.
func scanSeq(r scanner) (int64, error) {
	var id int64
	return id, r.Scan(&id)
}

// scanID reads a row of one text column, an id.
func scanID(r scanner) (string, error) {
	var id string
	return id, r.Scan(&id)
}

// ms stores a time as Unix milliseconds; the zero time is NULL.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromMS reads a nullable Unix-milliseconds column.
func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// idArgs returns the location followed by the ids, as query arguments.
// anys converts values to query arguments.
func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func idArgs(locationID string, ids []string) []any {
	args := make([]any, 0, len(ids)+1)
	args = append(args, locationID)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// nullText stores an empty raw JSON as NULL.
func nullText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{rankr.ErrInvalid}, args...)...)
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, rankr.ErrNotFound) }

// limit clamps a list limit.
func limit(n, def, most int) int {
	if n <= 0 {
		return def
	}
	return min(n, most)
}

// reader runs the reads made outside a transaction, through the kept
// statements where the dialect keeps them (see Dialect.ReuseStatements):
// on SQLite, parsing and planning a read again each time cost a fifth of
// an automation run's time. The query is in the dialect's placeholders
// already.
type reader struct{ s *Store }

func (r reader) stmt(ctx context.Context, query string) *sql.Stmt {
	if !r.s.d.ReuseStatements {
		return nil
	}
	if st := r.s.stmts.get(query); st != nil {
		return st
	}
	// No transaction holds the connection here: prepare now what was
	// missed, this query among them.
	r.s.stmts.prepareMissed(ctx, r.s.db)
	return r.s.stmts.get(query)
}

// QueryContext is (*sql.DB).QueryContext.
func (r reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.s.db.QueryContext(ctx, query, args...)
}

// QueryRowContext is (*sql.DB).QueryRowContext.
func (r reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.s.db.QueryRowContext(ctx, query, args...)
}

func (s *Store) read() reader { return reader{s} }
