package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/sqlstore"
)

// A database from before the inbox had a file of its own keeps its
// webhooks, processed or not, when it is opened by this version.
func TestOpenMovesAnOldInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rankr.db")

	// The old layout: every migration up to the one that moved the inbox.
	old := fstest.MapFS{}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	for _, name := range names {
		if filepath.Base(name) >= "0008" {
			continue
		}
		body, _ := fs.ReadFile(migrations, name)
		old[filepath.Base(name)] = &fstest.MapFile{Data: body}
	}
	db, err := openFile(ctx, path, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Migrate(ctx, db, Dialect, old); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if _, err := db.ExecContext(ctx, `INSERT INTO webhook_inbox (webhook_id, type, location_id, received_at, body, processed_at, outcome)
		VALUES ('done', 'OrderCreate', 'L', ?, '{"a":1}', ?, 'order created'), ('waiting', 'OrderCreate', 'L', ?, '{"b":2}', NULL, '')`,
		now, now, now); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.InboxPending(ctx); err != nil || n != 1 {
		t.Fatalf("pending after the move: %d, %v", n, err)
	}
	got, err := s.InboxClaim(ctx, store.InboxClaimParams{Limit: 10, Lease: time.Minute})
	if err != nil || len(got) != 1 || got[0].WebhookID != "waiting" || string(got[0].Body) != `{"b":2}` {
		t.Fatalf("claimed %+v, %v", got, err)
	}
	// A redelivery of the processed one is known as such.
	seqs, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: []rankr.InboxEvent{{WebhookID: "done", Type: "OrderCreate", Body: []byte(`{"a":1}`)}}})
	if err != nil || seqs[0] != 0 {
		t.Fatalf("a webhook stored before the move was stored again: %v, %v", seqs, err)
	}
	var tables int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'webhook_inbox'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("the records' file still has an inbox: %d, %v", tables, err)
	}
}
