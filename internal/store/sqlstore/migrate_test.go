package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rankr/rankr/internal/store/postgres"
	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/store/storetest"
)

// database is one empty database of a test, on one engine.
type database struct {
	d sqlstore.Dialect
	// pool opens another pool on the same database, closed when the test
	// ends.
	pool func(t *testing.T) *sql.DB
}

// databases returns a fresh database of each engine: SQLite always,
// PostgreSQL (a schema of its own) when the test server is configured.
func databases(t *testing.T) map[string]func(t *testing.T) database {
	out := map[string]func(t *testing.T) database{
		"sqlite": func(t *testing.T) database {
			dsn := sqlite.DSN(filepath.Join(t.TempDir(), "rankr.db"))
			return database{d: sqlite.Dialect, pool: func(t *testing.T) *sql.DB {
				db := openPool(t, "sqlite", dsn)
				db.SetMaxOpenConns(1)
				return db
			}}
		},
	}
	if os.Getenv(storetest.PostgresEnv) != "" {
		out["postgres"] = func(t *testing.T) database {
			url := storetest.PostgresURL(t)
			return database{d: postgres.Dialect, pool: func(t *testing.T) *sql.DB { return openPool(t, "pgx", url) }}
		}
	}
	return out
}

func openPool(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// migrations are made-up migrations, by file name.
var migrations = map[string]string{
	"0001_a.sql":  "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
	"0002_b.sql":  "-- b holds bs.\nCREATE TABLE b (id INTEGER PRIMARY KEY);\n",
	"0003_c.sql":  "CREATE TABLE c (id INTEGER PRIMARY KEY);\n",
	"0012_x.sql":  "CREATE TABLE x (id INTEGER PRIMARY KEY);\n",
	"0013_up.sql": "CREATE TABLE up (id INTEGER PRIMARY KEY);\n",
}

// set is a set of migrations; a name=text entry gives a migration a text
// of its own.
func set(files ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, f := range files {
		name, body, edited := strings.Cut(f, "=")
		if !edited {
			body = migrations[name]
		}
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

// tables reports which of the given tables exist.
func tables(t *testing.T, db *sql.DB, names ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, n := range names {
		_, err := db.Exec(`SELECT COUNT(*) FROM ` + n)
		out[n] = err == nil
	}
	return out
}

// A database with migrations this binary does not know stops the
// migration, naming both versions, before anything is applied or Then
// runs.
func TestMigrateRefusesADatabaseNewerThanTheBinary(t *testing.T) {
	t.Parallel()
	for engine, fresh := range databases(t) {
		for _, c := range []struct {
			name       string
			applied    fstest.MapFS
			binary     fstest.MapFS
			want       string
			notApplied string
		}{
			{"later", set("0001_a.sql", "0002_b.sql", "0012_x.sql"), set("0001_a.sql", "0002_b.sql", "0003_c.sql"),
				"the database is at schema version 12 (0012_x), this rankr knows up to 3 (0003_c): upgrade rankr", "c"},
			{"two later", set("0001_a.sql", "0012_x.sql", "0013_up.sql"), set("0001_a.sql", "0003_c.sql"),
				"the database is at schema version 13 (0013_up), this rankr knows up to 3 (0003_c): upgrade rankr", "c"},
			{"in between", set("0001_a.sql", "0002_b.sql"), set("0001_a.sql", "0003_c.sql"),
				"the database has migration 2 (0002_b) applied, which this rankr does not know (it knows up to 3 (0003_c))", "c"},
		} {
			t.Run(engine+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				d := fresh(t)
				db := d.pool(t)
				if err := sqlstore.Migrate(ctx, db, d.d, c.applied); err != nil {
					t.Fatal(err)
				}
				ran := false
				then := func(context.Context, *sql.DB, *sql.Tx) error { ran = true; return nil }
				err := sqlstore.Migrate(ctx, db, d.d, c.binary, then)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("migrating with a binary older than the database: %v, want %q", err, c.want)
				}
				if ran {
					t.Error("the job queue's migrations ran on a database newer than the binary")
				}
				if tables(t, db, c.notApplied)[c.notApplied] {
					t.Errorf("migration %s was applied to a database newer than the binary", c.notApplied)
				}
			})
		}
	}
}

// An applied migration whose text changed stops the migration, naming it.
// Every byte counts but line endings.
func TestMigrateRefusesAnEditedMigration(t *testing.T) {
	t.Parallel()
	for engine, fresh := range databases(t) {
		for _, c := range []struct {
			name   string
			edited string // 0002_b.sql's new text
			ok     bool
		}{
			{"statement", "CREATE TABLE b (id INTEGER PRIMARY KEY, more TEXT);\n", false},
			{"comment", "-- b holds the bs.\nCREATE TABLE b (id INTEGER PRIMARY KEY);\n", false},
			{"spacing", "-- b holds bs.\nCREATE TABLE b (id INTEGER  PRIMARY KEY);\n", false},
			{"line endings", "-- b holds bs.\r\nCREATE TABLE b (id INTEGER PRIMARY KEY);\r\n", true},
		} {
			t.Run(engine+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				d := fresh(t)
				db := d.pool(t)
				if err := sqlstore.Migrate(ctx, db, d.d, set("0001_a.sql", "0002_b.sql")); err != nil {
					t.Fatal(err)
				}
				err := sqlstore.Migrate(ctx, db, d.d, set("0001_a.sql", "0002_b.sql="+c.edited, "0003_c.sql"))
				if c.ok {
					if err != nil {
						t.Fatalf("a change of line endings only: %v", err)
					}
					return
				}
				want := "migration 0002_b.sql was applied to this database with a different text than this rankr's"
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("migrating with an edited migration: %v, want %q", err, want)
				}
				if tables(t, db, "c")["c"] {
					t.Error("a migration was applied after an edited one")
				}
			})
		}
	}
}

// A database migrated before migrations had checksums upgrades in place:
// nothing applied is applied again, the checksums of the applied ones are
// recorded (and hold from then on), the new ones are applied.
func TestMigrateUpgradesADatabaseWithoutChecksums(t *testing.T) {
	t.Parallel()
	for engine, fresh := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := fresh(t)
			db := d.pool(t)
			storetest.MigrateWithoutChecksums(t, db, d.d, set("0001_a.sql", "0002_b.sql"))
			// Applied again, 0001 and 0002 would fail: their tables exist.
			if err := sqlstore.Migrate(ctx, db, d.d, set("0001_a.sql", "0002_b.sql", "0003_c.sql")); err != nil {
				t.Fatal(err)
			}
			if got := tables(t, db, "a", "b", "c"); !got["a"] || !got["b"] || !got["c"] {
				t.Fatalf("tables after the upgrade: %v", got)
			}
			sums := storetest.Checksums(t, db)
			if len(sums) != 3 || sums["0001_a.sql"] == "" || sums["0002_b.sql"] == "" || sums["0003_c.sql"] == "" {
				t.Fatalf("checksums after the upgrade: %v", sums)
			}
			err := sqlstore.Migrate(ctx, db, d.d, set("0001_a.sql=CREATE TABLE a (id TEXT);", "0002_b.sql", "0003_c.sql"))
			if err == nil || !strings.Contains(err.Error(), "migration 0001_a.sql was applied to this database with a different text") {
				t.Fatalf("an edited migration after the upgrade: %v", err)
			}
		})
	}
}

// Then runs after the store's migrations, under the same lock: inside the
// write transaction on SQLite, on the pool on PostgreSQL.
func TestMigrateRunsThenAfterTheStoresMigrations(t *testing.T) {
	t.Parallel()
	for engine, fresh := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := fresh(t)
			db := d.pool(t)
			then := func(ctx context.Context, db *sql.DB, tx *sql.Tx) error {
				if (tx != nil) != (d.d.LockMigrations == "") {
					t.Errorf("then got tx %v with LockMigrations %q", tx, d.d.LockMigrations)
				}
				q := `INSERT INTO a (id) SELECT COUNT(*) + 1 FROM a`
				if tx != nil {
					_, err := tx.ExecContext(ctx, q)
					return err
				}
				_, err := db.ExecContext(ctx, q)
				return err
			}
			for range 2 {
				if err := sqlstore.Migrate(ctx, db, d.d, set("0001_a.sql"), then); err != nil {
					t.Fatal(err)
				}
			}
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM a`).Scan(&n); err != nil || n != 2 {
				t.Fatalf("then ran %d times, want 2: %v", n, err)
			}
		})
	}
}

// On PostgreSQL, a migration waits for whoever holds its schema's lock,
// and not for another schema's.
func TestMigrateWaitsForTheLockOfItsSchemaOnly(t *testing.T) {
	t.Parallel()
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("%s is not set", storetest.PostgresEnv)
	}
	ctx := context.Background()
	fresh := databases(t)["postgres"]
	mine, other := fresh(t), fresh(t)

	holder, err := mine.pool(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, postgres.Dialect.LockMigrations); err != nil {
		t.Fatal(err)
	}
	var holderPID int
	if err := holder.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&holderPID); err != nil {
		t.Fatal(err)
	}

	// Another schema migrates while the lock is held.
	if err := sqlstore.Migrate(ctx, other.pool(t), other.d, set("0001_a.sql")); err != nil {
		t.Fatal(err)
	}

	// This schema waits for it.
	db := mine.pool(t)
	done := make(chan error, 1)
	go func() { done <- sqlstore.Migrate(ctx, db, mine.d, set("0001_a.sql")) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_locks w JOIN pg_locks h
			ON h.locktype = 'advisory' AND h.classid = w.classid AND h.objid = w.objid AND h.objsubid = w.objsubid AND h.database = w.database
			WHERE w.locktype = 'advisory' AND NOT w.granted AND h.granted AND h.pid = $1`, holderPID).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the migration did not wait for the lock holder: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the migration is not waiting for the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tables(t, db, "a")["a"] {
		t.Fatal("migrated while another session held the lock")
	}
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !tables(t, db, "a")["a"] {
		t.Fatal("not migrated once the lock was free")
	}
	// And the migration let go of the lock: a pooled connection does not
	// keep it.
	var free bool
	try := strings.Replace(postgres.Dialect.LockMigrations, "pg_advisory_lock(", "pg_try_advisory_lock(", 1)
	if err := holder.QueryRowContext(ctx, try).Scan(&free); err != nil || !free {
		t.Fatalf("the lock is still held after the migration: %v, %v", free, err)
	}
}
