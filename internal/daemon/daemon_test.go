package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/syncer/synctest"
	"github.com/rankr/rankr/internal/testwait"
	"github.com/rankr/rankr/internal/vault"
)

func TestParseDB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, kind, target string
		bad              bool
	}{
		{"sqlite:/var/rankr.db", "sqlite", "/var/rankr.db", false},
		{"sqlite:///var/rankr.db", "sqlite", "/var/rankr.db", false},
		{"file:rankr.db", "sqlite", "rankr.db", false},
		{"data/rankr.db", "sqlite", "data/rankr.db", false},
		{"postgres://u:p@127.0.0.1/db", "postgres", "postgres://u:p@127.0.0.1/db", false},
		{"postgresql://127.0.0.1/db", "postgres", "postgresql://127.0.0.1/db", false},
		{"mysql://u:secret@h/db", "", "", true},
		{"sqlite:", "", "", true},
	}
	for _, tt := range tests {
		kind, target, err := daemon.ParseDB(tt.in)
		if (err != nil) != tt.bad || kind != tt.kind || target != tt.target {
			t.Errorf("ParseDB(%q) = %q, %q, %v", tt.in, kind, target, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseDB(%q) shows the password: %v", tt.in, err)
		}
	}
}

// TestServeKeepsLocationsInSync runs the daemon with its job queue on each
// database: it backfills every location, then polls changes in as the
// sandbox makes them, and its status page says so.
func TestServeKeepsLocationsInSync(t *testing.T) {
	t.Parallel()
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb, url := startSandbox(t, sandbox.Config{Seed: 51, Locations: 3, Orders: 80})

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			master, _ := vault.ParseKey(vault.NewKey())
			d, err := daemon.Open(ctx, daemon.Config{DB: db(t), MasterKey: master,
				Sync: syncer.Options{PollWindow: 400 * 24 * time.Hour, Slice: 50 * time.Millisecond},
				Jobs: jobs.Config{PollInterval: 200 * time.Millisecond, WalkInterval: time.Hour},
				GHL:  []ghl.Option{ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond})}})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			connectAll(t, d, sb, url)
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			waitBackfilled(t, d, sb)
			// Changes after the backfill arrive by polling.
			if _, err := sb.Step(40, "", ""); err != nil {
				t.Fatal(err)
			}
			truth, _ := sb.Truth("")
			want := 0
			for _, l := range truth.Locations {
				want += len(l.Orders)
			}
			testwait.Until(t, 3*time.Minute, "every order synced", func() bool {
				got := 0
				for _, l := range sb.Locations() {
					c, _ := d.Store.Counts(ctx, l.ID)
					got += c.Orders
				}
				return got == want
			})
			// One more full poll after the last change, then compare.
			started := time.Now()
			testwait.Until(t, 3*time.Minute, "a poll of every location", func() bool {
				for _, l := range sb.Locations() {
					st, _ := d.Syncer.State(ctx, l.ID)
					if !st.LastPoll.After(started) {
						return false
					}
				}
				return true
			})
			// A poll that started after the last change has finished: wait
			// for the one running now too, by stopping the daemon.
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("run: %v", err)
			}
			for _, l := range sb.Locations() {
				if err := d.Syncer.Poll(context.Background(), l.ID); err != nil {
					t.Fatal(err)
				}
			}
			synctest.MatchesTruth(t, d.Store, truth, synctest.Options{IgnoreDeleted: true})

			// The status page's JSON names every location with its counts.
			key := ownerKey(t, d)
			rec := httptest.NewRecorder()
			d.Handler().ServeHTTP(rec, authed("GET", "/api/status", key))
			var page struct {
				Locations []struct {
					Connection rankr.Connection `json:"connection"`
					Counts     rankr.Counts     `json:"counts"`
				} `json:"locations"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != http.StatusOK || len(page.Locations) != 3 {
				t.Fatalf("status: %d %s %v", rec.Code, rec.Body, err)
			}
			if page.Locations[0].Counts.Orders == 0 || page.Locations[0].Connection.State != rankr.StateActive {
				t.Fatalf("status %+v", page.Locations[0])
			}
			if strings.Contains(rec.Body.String(), sb.Locations()[0].Token) {
				t.Fatal("the status JSON shows a token")
			}
			rec = httptest.NewRecorder()
			d.Handler().ServeHTTP(rec, authed("GET", "/", key))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `src="/ui/app.js"`) {
				t.Fatalf("dashboard: %d", rec.Code)
			}
			// The dashboard's script reads the API and follows its stream.
			rec = httptest.NewRecorder()
			d.Handler().ServeHTTP(rec, authed("GET", "/ui/app.js", key))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "/events/stream") || !strings.Contains(rec.Body.String(), "/overview") {
				t.Fatalf("dashboard script: %d", rec.Code)
			}

			// The live feed starts from the newest events, then follows.
			feed := func(query string) []rankr.Event {
				t.Helper()
				rec := httptest.NewRecorder()
				d.Handler().ServeHTTP(rec, authed("GET", "/api/events"+query, key))
				var body struct{ Events []rankr.Event }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
					t.Fatalf("events%s: %d %s %v", query, rec.Code, rec.Body, err)
				}
				return body.Events
			}
			all, err := d.Store.EventList(context.Background(), store.EventListParams{Limit: 1000, Newest: true})
			if err != nil || len(all) < 60 {
				t.Fatalf("%d events, %v", len(all), err)
			}
			newest := feed("")
			if len(newest) != 50 || newest[49].Seq != all[len(all)-1].Seq || newest[0].Seq != all[len(all)-50].Seq {
				t.Fatalf("the feed starts with %d events, not the 50 newest", len(newest))
			}
			if after := feed(fmt.Sprintf("?after=%d", all[len(all)-3].Seq)); len(after) != 2 || after[1].Seq != all[len(all)-1].Seq {
				t.Fatalf("after: %d events", len(after))
			}
			rec = httptest.NewRecorder()
			d.Handler().ServeHTTP(rec, authed("GET", "/api/events?after=x", key))
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("after=x: %d", rec.Code)
			}
		})
	}
}

// databases are the databases the daemon tests run on, each a function
// returning a fresh one's DSN; PostgreSQL skips, saying why, when none is
// configured.
var databases = map[string]func(t *testing.T) string{
	"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "rankr.db") },
	"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
}

// startSandbox serves a sandbox with its rate limit lifted and returns it
// with its URL.
func startSandbox(t *testing.T, cfg sandbox.Config) (*sandbox.Server, string) {
	t.Helper()
	cfg.RateLimit = sandbox.RateLimit{Burst: 1_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { ts.Close(); sb.Close() })
	return sb, ts.URL
}

// connectAll connects every location of the sandbox at url.
func connectAll(t *testing.T, d *daemon.Daemon, sb *sandbox.Server, url string) {
	t.Helper()
	for _, l := range sb.Locations() {
		if _, err := d.Connect(context.Background(), l.ID, l.Name, url, l.Token); err != nil {
			t.Fatal(err)
		}
	}
}

// serving is a rankr serve running on a loopback listener of its own.
type serving struct {
	d    *daemon.Daemon
	base string // http://127.0.0.1:PORT
	// stop ends Run and returns how it ended (nil for the cancel); the
	// test's cleanup calls it too.
	stop func() error
}

// serveSandbox opens and runs serve on db with cfg (its database, master
// key, listener and the sandbox's webhook key filled in), connects every
// location of sb (at url), waits for their backfill, then points the
// sandbox's webhooks at it.
func serveSandbox(t *testing.T, db string, sb *sandbox.Server, url string, cfg daemon.Config) *serving {
	t.Helper()
	hookKey, err := ghl.ParseWebhookKey(sb.WebhookPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB, cfg.Listener = db, ln
	cfg.MasterKey, _ = vault.ParseKey(vault.NewKey())
	cfg.Webhook.Keys = append(cfg.Webhook.Keys, hookKey)
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.Open(ctx, cfg)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var once sync.Once
	var runErr error
	s := &serving{d: d, base: "http://" + ln.Addr().String(), stop: func() error {
		once.Do(func() {
			cancel()
			if runErr = <-done; errors.Is(runErr, context.Canceled) {
				runErr = nil
			}
		})
		return runErr
	}}
	connectAll(t, d, sb, url)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { s.stop(); d.Close() })
	waitBackfilled(t, d, sb)
	sb.SetWebhookURL(s.base + daemon.WebhookPath)
	return s
}

// waitBackfilled waits until every location of the sandbox is backfilled.
func waitBackfilled(t *testing.T, d *daemon.Daemon, sb *sandbox.Server) {
	t.Helper()
	testwait.Until(t, 3*time.Minute, "every location backfilled", func() bool {
		for _, l := range sb.Locations() {
			if ok, _ := d.Syncer.BackfillDone(context.Background(), l.ID); !ok {
				return false
			}
		}
		return true
	})
}
