package daemon_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/vault"
)

// TestServeReconciles checks that serve reconciles on its own: an
// overpayment polled from GHL opens an exception, and its refund resolves it.
func TestServeReconciles(t *testing.T) {
	t.Parallel()
	dbs := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "rankr.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	}
	for name, db := range dbs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb, err := sandbox.New(sandbox.Config{Seed: 52, Orders: 0,
				RateLimit: sandbox.RateLimit{Burst: 1_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(sb.Handler())
			t.Cleanup(func() { ts.Close(); sb.Close() })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			key, _ := vault.ParseKey(vault.NewKey())
			d, err := daemon.Open(ctx, daemon.Config{DB: db(t), MasterKey: key, Sync: syncer.Options{Slice: 50 * time.Millisecond},
				Jobs: jobs.Config{PollInterval: 100 * time.Millisecond, WalkInterval: time.Hour, ReconcileInterval: 100 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			l := sb.Locations()[0]
			if _, err := d.Connect(ctx, l.ID, l.Name, ts.URL, l.Token); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()

			id, amount, err := sb.NewOrder(l.ID, sandbox.OrderSpec{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sb.PayOrder(l.ID, id, amount); err != nil {
				t.Fatal(err)
			}
			extra, err := sb.PayOrder(l.ID, id, 700)
			if err != nil {
				t.Fatal(err)
			}
			open := func() int {
				es, err := d.Store.ExceptionList(ctx, store.ExceptionListParams{LocationID: l.ID, RecordID: id, Kind: rankr.ExceptionOverpaid})
				if err != nil {
					t.Fatal(err)
				}
				return len(es)
			}
			waitUntil(t, 3*time.Minute, func() bool { return open() == 1 })
			if err := sb.Refund(l.ID, extra, 700); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, 3*time.Minute, func() bool { return open() == 0 })
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("run: %v", err)
			}
		})
	}
}
