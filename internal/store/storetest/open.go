package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/postgres"
	"github.com/rankr/rankr/internal/store/sqlite"
)

// PostgresEnv names the PostgreSQL URL tests use; ./scripts/test starts a
// throwaway server and sets it.
const PostgresEnv = "RANKR_TEST_POSTGRES"

// OpenSQLite opens an empty SQLite store in the test's temp dir.
func OpenSQLite(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "rankr.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Closing twice is harmless; not closing leaks the pool's goroutines.
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL returns a URL to a fresh, empty schema of the test database,
// dropped when the test ends. It skips the test when PostgresEnv is unset,
// saying how to set it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s is not set: run ./scripts/test, which starts a throwaway PostgreSQL, or point it at an empty database", PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("t_%x", rand.Uint64())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres opens an empty PostgreSQL store in its own schema.
func OpenPostgres(t *testing.T) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Openers returns the stores to run a test against: SQLite always,
// PostgreSQL when PostgresEnv is set.
func Openers() map[string]Opener {
	out := map[string]Opener{"sqlite": OpenSQLite}
	if os.Getenv(PostgresEnv) != "" {
		out["postgres"] = OpenPostgres
	}
	return out
}
