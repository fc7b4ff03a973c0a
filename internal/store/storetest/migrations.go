package storetest

import (
	"database/sql"
	"io/fs"
	"testing"

	"github.com/rankr/rankr/internal/store/sqlstore"
)

// MigrateWithoutChecksums migrates db the way rankr did before its
// migrations had checksums: a schema_migrations table of file names and
// times, each migration in a transaction of its own. Tests use it to make a
// database as the rankrs deployed until then left it.
func MigrateWithoutChecksums(t testing.TB, db *sql.DB, d sqlstore.Dialect, fsys fs.FS) {
	t.Helper()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`
	if d.Numbered {
		insert = `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	for _, name := range names { // Glob sorts
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(string(body)); err != nil {
			t.Fatalf("applying %s: %v", name, err)
		}
		if _, err := tx.Exec(insert, name, 1); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// Checksums returns the checksum column of schema_migrations by file name,
// "" where it is NULL.
func Checksums(t testing.TB, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name string
		var sum sql.NullString
		if err := rows.Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		out[name] = sum.String
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
