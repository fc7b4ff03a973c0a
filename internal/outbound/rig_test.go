package outbound_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/vault"
)

var ctx = context.Background()

// rig is a GHL sandbox, a store and a syncer connected to one location,
// and the vault both the syncer and the webhooks use.
type rig struct {
	sb    *sandbox.Server
	st    store.Store
	vault *vault.Vault
	sync  *syncer.Syncer
	loc   string
}

func newRig(t *testing.T, open storetest.Opener, orders int) *rig {
	t.Helper()
	st := open(t)
	t.Cleanup(func() { st.Close() })
	return newRigOn(t, st, orders)
}

func newRigOn(t *testing.T, st store.Store, orders int) *rig {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{Seed: 97, Orders: orders,
		RateLimit: sandbox.RateLimit{Burst: 1_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { ts.Close(); sb.Close() })
	key, _ := vault.ParseKey(vault.NewKey())
	v, _ := vault.New(key)
	loc := sb.Locations()[0]
	sealed, _ := v.Seal([]byte(loc.Token), syncer.CredentialContext(loc.ID))
	if _, err := st.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: loc.ID, BaseURL: ts.URL, Credential: sealed}); err != nil {
		t.Fatal(err)
	}
	s := syncer.New(st, syncer.NewClients(st, v, nil,
		ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})), syncer.Options{})
	return &rig{sb: sb, st: st, vault: v, sync: s, loc: loc.ID}
}

// backfill syncs the location from GHL: every record new, every one an
// event.
func (r *rig) backfill(t *testing.T) {
	t.Helper()
	for {
		done, err := r.sync.Backfill(ctx, r.loc)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
	}
}

// webhooks returns outbound webhooks on the rig's store, fast for tests:
// loopback allowed, short waits.
func (r *rig) webhooks(t *testing.T, cfg outbound.Config) *outbound.Webhooks {
	t.Helper()
	return webhooksOn(r.st, r.vault, cfg)
}

func webhooksOn(st store.Store, v *vault.Vault, cfg outbound.Config) *outbound.Webhooks {
	if cfg.Allow == nil {
		cfg.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}
	if cfg.Backoff == nil {
		cfg.Backoff = []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 25 * time.Millisecond
	}
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = 5 * time.Second
	}
	if cfg.Logger == nil && os.Getenv("RANKR_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return outbound.New(st, v, cfg)
}

// run runs the dispatcher until the test ends.
func run(t *testing.T, w *outbound.Webhooks) {
	t.Helper()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// wanted returns the seqs of the events an endpoint wants.
func wanted(t *testing.T, st store.Store, e rankr.WebhookEndpoint) map[int64]rankr.Event {
	t.Helper()
	out := map[int64]rankr.Event{}
	for _, ev := range storetest.Events(t, st, "") {
		if e.Wants(ev) {
			out[ev.Seq] = ev
		}
	}
	return out
}

func deliveries(t *testing.T, st store.Store, p store.WebhookDeliveryListParams) []rankr.WebhookDelivery {
	t.Helper()
	var out []rankr.WebhookDelivery
	for {
		p.Limit = 1000
		page, err := st.WebhookDeliveryList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out
		}
		p.Offset += len(page)
	}
}

// verify checks a request the way the Standard Webhooks specification
// tells receivers to, written here from the spec rather than with the
// sender's code: the three headers present, the timestamp within tolerance
// of now (replays of old messages fail), and one of the space-separated
// v1 signatures equal, compared in constant time, to base64(HMAC-SHA256(
// base64-decoded secret, id "." timestamp "." body)).
func verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q is not unix seconds", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook-timestamp %s is %s away from now", ts, d)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if ok && version == "v1" && hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// received is one request a receiver got.
type received struct {
	ID        string
	Timestamp string
	Body      []byte
	Header    http.Header
	Verified  error
}

// receiver is a real HTTP endpoint on 127.0.0.1 that verifies every request
// and answers as answer says (given the request and how many times its
// webhook-id was seen, counting this one).
type receiver struct {
	srv    *httptest.Server
	secret string
	answer func(w http.ResponseWriter, r *http.Request, n int)

	mu   sync.Mutex
	got  []received
	byID map[string]int
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer, byID: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		got := received{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"), Body: body,
			Header: r.Header.Clone(), Verified: verify(rc.secret, r.Header, body, time.Now(), 5*time.Minute)}
		rc.got = append(rc.got, got)
		rc.byID[got.ID]++
		n := rc.byID[got.ID]
		rc.mu.Unlock()
		if got.Verified != nil {
			http.Error(w, got.Verified.Error(), http.StatusUnauthorized)
			return
		}
		if rc.answer == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		rc.answer(w, r, n)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.byID[id]
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// add adds an endpoint for the receiver and keeps its secret for
// verification.
func (rc *receiver) add(t *testing.T, w *outbound.Webhooks, p outbound.AddParams) rankr.WebhookEndpoint {
	t.Helper()
	p.URL = rc.srv.URL + "/hooks/rankr?token=t0k"
	e, secret, err := w.Add(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()
	return e
}

// body is a message as the receiver decodes it.
type body struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

func decode(t *testing.T, b []byte) body {
	t.Helper()
	var m body
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return m
}

// countState counts an endpoint's deliveries in a state.
func countState(t *testing.T, st store.Store, endpoint string, state rankr.DeliveryState) int {
	t.Helper()
	return len(deliveries(t, st, store.WebhookDeliveryListParams{EndpointID: endpoint, State: state}))
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
