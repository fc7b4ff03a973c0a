package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/rankr/rankr/internal/store/postgres"
	"github.com/rankr/rankr/internal/store/storetest"
)

// A database that the rankrs from before checksums migrated opens with
// this one, keeps its records and gets its checksums.
func TestOpenUpgradesADatabaseWithoutChecksums(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.PostgresURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	storetest.MigrateWithoutChecksums(t, db, postgres.Dialect, os.DirFS("migrations"))
	if _, err := db.Exec(`INSERT INTO connections (location_id, base_url, credential, credential_kind, state, created_at, updated_at)
		VALUES ('L', 'http://x', '\x01', 'pit', 'active', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for range 2 {
		s, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatalf("opening a database of the old format: %v", err)
		}
		if c, err := s.ConnectionGet(ctx, "L"); err != nil || c.BaseURL != "http://x" {
			t.Fatalf("the connection after the upgrade: %+v, %v", c, err)
		}
		sums := storetest.Checksums(t, s.DB())
		for file, sum := range sums {
			if sum == "" {
				t.Errorf("%s has no checksum", file)
			}
		}
		if len(sums) == 0 {
			t.Error("no migrations recorded")
		}
		s.Close()
	}
}
