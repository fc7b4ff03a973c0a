package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/testwait"
	"github.com/rankr/rankr/internal/vault"
)

// databases are the databases a test runs on, each a function returning a
// fresh one's DSN; PostgreSQL skips, saying why, when RANKR_TEST_POSTGRES
// is not set.
var databases = map[string]func(t *testing.T) string{
	"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "rankr.db") },
	"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
}

func sqliteDB(t *testing.T) string { return databases["sqlite"](t) }

// world is a rankr serve on loopback, synced from a sandbox of its own.
type world struct {
	t     *testing.T
	sb    *sandbox.Server
	sbURL string
	d     *daemon.Daemon
	base  string // the API's origin, http://127.0.0.1:port
	owner string // an owner key
	spec  *contract
}

// worldConfig shapes a world.
type worldConfig struct {
	DB        string
	Seed      int64
	Locations int
	Orders    int
	// Mail is Rankr's own SMTP sender (none by default).
	Mail mailer.Config
	// AlertEmails are mailed alerts (they need Mail).
	AlertEmails []string
	// Reconcile holds reconciliation's grace periods.
	Reconcile rankr.ReconcilePolicy
}

// newWorld starts a sandbox and a rankr serve (job queue, pushers,
// reconciler, HTTP on 127.0.0.1) on cfg.DB, connects every location and
// waits for them to be backfilled. Everything stops when the test ends.
func newWorld(t *testing.T, cfg worldConfig) *world {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox's orders come as GHL's webhooks (signed, to serve's
	// intake) as they change; the rest is polled.
	sb, err := sandbox.New(sandbox.Config{Seed: cfg.Seed, Locations: cfg.Locations, Orders: cfg.Orders,
		WebhookURL: "http://" + ln.Addr().String() + daemon.WebhookPath,
		RateLimit:  sandbox.RateLimit{Burst: 1_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { ts.Close(); sb.Close() })
	hookKey, err := ghl.ParseWebhookKey(sb.WebhookPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	master, _ := vault.ParseKey(vault.NewKey())
	// Polls every 700 ms: often enough for the tests' waits, seldom enough
	// that River's job polling on SQLite (slow under -race) leaves the
	// machine to the tests.
	d, err := daemon.Open(context.Background(), daemon.Config{DB: cfg.DB, MasterKey: master, Listener: ln,
		Webhook:  intake.Config{Keys: []ed25519.PublicKey{hookKey}},
		Outbound: outbound.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		// The tests walk lists one record a page: faster than a key's
		// default rate.
		Access: daemon.AccessConfig{KeyRate: 100_000},
		Mail:   cfg.Mail, AlertEmails: cfg.AlertEmails, Reconcile: cfg.Reconcile,
		Sync: syncer.Options{PollWindow: 400 * 24 * time.Hour, Slice: 50 * time.Millisecond},
		Jobs: jobs.Config{PollInterval: 700 * time.Millisecond, WalkInterval: time.Hour, ReconcileInterval: time.Hour},
		GHL:  []ghl.Option{ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond})}})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.OpenAccess(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, l := range sb.Locations() {
		if _, err := d.Connect(context.Background(), l.ID, l.Name, ts.URL, l.Token); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v", err)
		}
	})
	w := &world{t: t, sb: sb, sbURL: ts.URL, d: d, base: "http://" + ln.Addr().String()}
	w.spec = loadContract(t, w.base)
	w.owner = w.key(access.KeyRequest{Role: "owner"})
	// Backfilled, as the API itself tells.
	c := w.client(t, w.owner)
	testwait.UntilWhy(t, time.Minute, "every location backfilled", func() (bool, string) {
		var list struct {
			Items []struct {
				Connection struct{ LocationID string } `json:"connection"`
				Sync       struct{ BackfillDone bool } `json:"sync"`
			} `json:"items"`
		}
		c.getJSON("/api/v1/connections", http.StatusOK, &list)
		done := 0
		for _, it := range list.Items {
			if it.Sync.BackfillDone {
				done++
			}
		}
		return done == len(sb.Locations()), fmt.Sprintf("%d of %d", done, len(sb.Locations()))
	})
	return w
}

// key mints an API key on the host, as `rankr keys create` does.
func (w *world) key(req access.KeyRequest) string {
	w.t.Helper()
	if req.ExpiresIn == 0 {
		req.ExpiresIn = time.Hour
	}
	k, err := w.d.Access.Keys.Create(context.Background(), access.Host("test"), req)
	if err != nil {
		w.t.Fatal(err)
	}
	return k.Token
}

// locations are the sandbox's location ids.
func (w *world) locations() []string {
	var ids []string
	for _, l := range w.sb.Locations() {
		ids = append(ids, l.ID)
	}
	return ids
}

// client is an HTTP client of the API holding key, whose every exchange is
// checked against the OpenAPI document (see contract), failing t.
type client struct {
	t    *testing.T
	base string
	key  string
	hc   *http.Client
}

func (w *world) client(t *testing.T, key string) *client {
	return &client{t: t, base: w.base, key: key, hc: &http.Client{Transport: w.spec.transport(t, http.DefaultTransport), Timeout: 30 * time.Second}}
}

// answer is a response read whole.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// apiError is the one error shape.
type apiError struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func (a answer) err() apiError {
	var e apiError
	_ = json.Unmarshal(a.Body, &e)
	return e
}

// do sends a request (body, when not nil, as JSON) and reads the answer.
func (c *client) do(method, path string, body any, header ...string) answer {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				c.t.Fatal(err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// getJSON gets path, wants status, and decodes the body into v.
func (c *client) getJSON(path string, status int, v any) answer {
	c.t.Helper()
	return c.expect("GET", path, nil, status, v)
}

// expect sends a request, wants status, and decodes the body into v (when
// not nil).
func (c *client) expect(method, path string, body any, status int, v any) answer {
	c.t.Helper()
	a := c.do(method, path, body)
	if a.Status != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, a.Status, status, a.Body)
	}
	if v != nil {
		if err := json.Unmarshal(a.Body, v); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, a.Body)
		}
	}
	return a
}

// wantError checks an error answer: its status, code and (when not
// empty) the field details name.
func (c *client) wantError(a answer, status int, code, field string) {
	c.t.Helper()
	e := a.err()
	if a.Status != status || e.Error.Code != code || e.Error.Message == "" {
		c.t.Errorf("got %d %s, want %d %s: %s", a.Status, e.Error.Code, status, code, a.Body)
		return
	}
	if field != "" && e.Error.Details["field"] != field {
		c.t.Errorf("details.field = %v, want %q: %s", e.Error.Details["field"], field, a.Body)
	}
}

// q builds a query string.
func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// job is a background job as the API shows it.
type job struct {
	ID     string          `json:"id"`
	Kind   string          `json:"kind"`
	State  string          `json:"state"`
	Errors []string        `json:"errors"`
	Output json.RawMessage `json:"output"`
}

// waitJob checks a 202 answer and polls its Location until the job ends,
// wanting it succeeded.
func (c *client) waitJob(a answer) job {
	c.t.Helper()
	if a.Status != http.StatusAccepted {
		c.t.Fatalf("%d, want 202: %s", a.Status, a.Body)
	}
	var j job
	if err := json.Unmarshal(a.Body, &j); err != nil {
		c.t.Fatal(err)
	}
	loc := a.Header.Get("Location")
	if loc != "/api/v1/jobs/"+j.ID || j.ID == "" {
		c.t.Fatalf("Location %q for job %q", loc, j.ID)
	}
	testwait.UntilWhy(c.t, time.Minute, "job "+j.ID+" ended", func() (bool, string) {
		c.getJSON(loc, http.StatusOK, &j)
		return j.State == "succeeded" || j.State == "failed" || j.State == "cancelled", j.State
	})
	if j.State != "succeeded" {
		c.t.Fatalf("job %s: %s %v", j.ID, j.State, j.Errors)
	}
	return j
}

// walk reads every page of a list (path without a query; the query's
// other parameters in kv) with limit, and returns each page's items as raw
// JSON objects keyed in order.
func (c *client) walk(path string, limit int, kv ...string) []map[string]any {
	c.t.Helper()
	var all []map[string]any
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			c.t.Fatalf("%s: no end to the pages", path)
		}
		args := append([]string{"limit", fmt.Sprint(limit)}, kv...)
		if cursor != "" {
			args = append(args, "cursor", cursor)
		}
		var p struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"nextCursor"`
		}
		c.getJSON(path+q(args...), http.StatusOK, &p)
		if len(p.Items) > limit {
			c.t.Fatalf("%s: a page of %d, limit %d", path, len(p.Items), limit)
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			return all
		}
		if len(p.Items) == 0 {
			c.t.Fatalf("%s: an empty page with a cursor", path)
		}
		cursor = p.NextCursor
	}
}

// ids are the "id"s of items, in order.
func ids(items []map[string]any) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, fmt.Sprint(it["id"]))
	}
	return out
}

// str reads a string field of a raw item.
func str(it map[string]any, field string) string {
	s, _ := it[field].(string)
	return s
}
