package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/storetest"
)

// A database that the rankrs from before checksums migrated (both files)
// opens with this one, keeps its records and gets its checksums.
func TestOpenUpgradesADatabaseWithoutChecksums(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rankr.db")
	for _, f := range []struct{ path, dir string }{{sqlite.InboxPath(path), "inbox_migrations"}, {path, "migrations"}} {
		db, err := sql.Open("sqlite", sqlite.DSN(f.path))
		if err != nil {
			t.Fatal(err)
		}
		storetest.MigrateWithoutChecksums(t, db, sqlite.Dialect, os.DirFS(f.dir))
		if f.path == path {
			if _, err := db.Exec(`INSERT INTO connections (location_id, base_url, credential, credential_kind, state, created_at, updated_at)
				VALUES ('L', 'http://x', X'01', 'pit', 'active', 1, 1)`); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
	}

	for range 2 {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("opening a database of the old format: %v", err)
		}
		if c, err := s.ConnectionGet(ctx, "L"); err != nil || c.BaseURL != "http://x" {
			t.Fatalf("the connection after the upgrade: %+v, %v", c, err)
		}
		for name, db := range map[string]*sql.DB{"records": s.DB(), "inbox": s.InboxDB()} {
			for file, sum := range storetest.Checksums(t, db) {
				if sum == "" {
					t.Errorf("%s: %s has no checksum", name, file)
				}
			}
		}
		s.Close()
	}
}
