package e2e

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Processes started together on an empty database all migrate it (one of
// them does, the others wait and find it done) and all succeed, on both
// databases: rankr's migrations and River's run under one lock.
func TestProcessesStartingTogetherAllMigrate(t *testing.T) {
	t.Parallel()
	for _, name := range databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := openDatabase(t, name, dir)
			env := newRankrEnv(t, dir, db)
			var procs []*proc
			for range 5 {
				procs = append(procs, start(t, env, "status", "--db", db.dsn))
			}
			for _, p := range procs {
				p.succeed(t, 2*time.Minute)
			}
			db.open(t) // and the test process finds it migrated
		})
	}
}

// A rankr older than its database (the database has migrations it does not
// know, its own or River's) stops with a message naming both versions,
// before it starts anything.
func TestOlderRankrRefusesANewerDatabase(t *testing.T) {
	t.Parallel()
	for _, name := range databases() {
		for _, c := range []struct {
			name, insert, want string
		}{
			{"rankr's", `INSERT INTO schema_migrations (version, applied_at) VALUES ('9999_from_the_future.sql', 0)`,
				"the database is at schema version 9999 (9999_from_the_future), this rankr knows up to "},
			{"River's", `INSERT INTO river_migration (line, version) VALUES ('main', 999)`,
				"the job queue's schema is at River version 999, this rankr's River knows up to "},
		} {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				db := openDatabase(t, name, dir)
				env := newRankrEnv(t, dir, db)
				run(t, env, time.Minute, "status", "--db", db.dsn)
				execSQL(t, db, c.insert)

				p := start(t, env, "status", "--db", db.dsn)
				p.wait(t, time.Minute)
				if p.exitCode() != 1 || !strings.Contains(p.stderr.String(), c.want) || !strings.Contains(p.stderr.String(), "upgrade rankr") {
					t.Fatalf("rankr status on a newer database: %s, stderr:\n%s\nwant exit 1 and %q", p.state(), p.stderr.String(), c.want)
				}
			})
		}
	}
}

// execSQL runs a statement on the test's database from the test process.
func execSQL(t *testing.T, db database, query string) {
	t.Helper()
	driver, dsn := "pgx", db.dsn
	if db.name == "sqlite" {
		driver, dsn = "sqlite", strings.TrimPrefix(db.dsn, "sqlite:")
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(query); err != nil {
		t.Fatal(fmt.Errorf("%s: %w", query, err))
	}
}
