package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.OpenSQLite)
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rankr.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: "L", BaseURL: "http://x", Credential: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Migrations run again on open and must be idempotent.
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ConnectionGet(ctx, "L"); err != nil {
		t.Fatal(err)
	}
}
