package intake_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func body(typ, id string, at time.Time) []byte {
	ts := ""
	if !at.IsZero() {
		ts = fmt.Sprintf(`,"timestamp":%q`, at.Format(time.RFC3339Nano))
	}
	wid := ""
	if id != "" {
		wid = fmt.Sprintf(`,"webhookId":%q`, id)
	}
	return []byte(fmt.Sprintf(`{"type":%q,"locationId":"L1","_id":"o1"%s%s}`, typ, wid, ts))
}

type rig struct {
	st     store.Store
	in     *intake.Intake
	key    ed25519.PrivateKey
	server *httptest.Server
}

func newRig(t *testing.T, st store.Store, cfg intake.Config) *rig {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cfg.Keys = append(cfg.Keys, pub)
	cfg.Now = func() time.Time { return now }
	in := intake.NewIntake(st, cfg)
	in.Start()
	srv := httptest.NewServer(in)
	t.Cleanup(func() { srv.Close(); in.Close() })
	return &rig{st: st, in: in, key: priv, server: srv}
}

func (r *rig) post(t *testing.T, b []byte, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", r.server.URL, bytes.NewReader(b))
	if sig != "" {
		req.Header.Set("x-ghl-signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

func (r *rig) signed(t *testing.T, b []byte) (int, string) {
	return r.post(t, b, ghl.SignWebhook(r.key, b))
}

func TestIntakeAnswers(t *testing.T) {
	t.Parallel()
	r := newRig(t, storetest.OpenSQLite(t), intake.Config{MaxBody: 4096})
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	good := body("OrderCreate", "w1", now.Add(-time.Minute))
	tests := []struct {
		name   string
		send   func() (int, string)
		status int
		says   string
	}{
		{"signed", func() (int, string) { return r.signed(t, good) }, 200, "stored"},
		{"redelivered", func() (int, string) { return r.signed(t, good) }, 200, "already received"},
		{"unsigned", func() (int, string) { return r.post(t, good, "") }, 401, "no X-Ghl-Signature"},
		{"signed by someone else", func() (int, string) { return r.post(t, good, ghl.SignWebhook(otherKey, good)) }, 401, "does not verify"},
		{"garbage signature", func() (int, string) { return r.post(t, good, "!!!") }, 401, "not base64"},
		{"tampered", func() (int, string) {
			return r.post(t, bytes.Replace(good, []byte("o1"), []byte("o2"), 1), ghl.SignWebhook(r.key, good))
		}, 401, "does not verify"},
		{"stale", func() (int, string) { return r.signed(t, body("OrderCreate", "w2", now.Add(-time.Hour))) }, 400, "stale or replayed"},
		{"from the future", func() (int, string) { return r.signed(t, body("OrderCreate", "w3", now.Add(time.Hour))) }, 400, "stale or replayed"},
		{"not JSON", func() (int, string) { return r.signed(t, []byte(`{"type": "OrderCre`)) }, 400, "not a JSON object"},
		{"a JSON array", func() (int, string) { return r.signed(t, []byte(`[1,2]`)) }, 400, "not a JSON object"},
		{"bad timestamp", func() (int, string) { return r.signed(t, []byte(`{"type":"X","timestamp":"soon"}`)) }, 400, "not a GHL webhook"},
		{"too large", func() (int, string) {
			big := []byte(`{"type":"OrderCreate","pad":"` + strings.Repeat("x", 5000) + `"}`)
			return r.signed(t, big)
		}, 413, "larger than"},
		{"unknown type", func() (int, string) { return r.signed(t, body("ContactTagUpdate", "w4", now)) }, 200, "stored"},
		{"no webhookId, no timestamp", func() (int, string) { return r.signed(t, body("InvoicePaid", "", time.Time{})) }, 200, "stored"},
	}
	for _, tt := range tests {
		status, said := tt.send()
		if status != tt.status || !strings.Contains(said, tt.says) {
			t.Errorf("%s: %d %s; want %d saying %q", tt.name, status, said, tt.status, tt.says)
		}
	}
	st := r.in.Stats()
	if st.Accepted != 3 || st.Duplicates != 1 || st.BadSignature != 4 || st.Stale != 2 || st.Malformed != 3 || st.TooLarge != 1 {
		t.Fatalf("stats %+v", st)
	}
	if n, _ := r.st.InboxPending(context.Background()); n != 3 {
		t.Fatalf("%d webhooks stored, want 3", n)
	}
	if status, _ := r.post(t, nil, ""); status != 401 {
		t.Fatalf("empty: %d", status)
	}
	req, _ := http.NewRequest("GET", r.server.URL, nil)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestLegacyRSAOnlyWhenEnabled(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b := body("OrderCreate", "w1", now)
	digest := sha256.Sum256(b)
	sig, _ := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, digest[:])
	send := func(r *rig) int {
		req, _ := http.NewRequest("POST", r.server.URL, bytes.NewReader(b))
		req.Header.Set("x-wh-signature", base64.StdEncoding.EncodeToString(sig))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send(newRig(t, storetest.OpenSQLite(t), intake.Config{})); got != 401 {
		t.Fatalf("legacy signature accepted without the legacy key: %d", got)
	}
	if got := send(newRig(t, storetest.OpenSQLite(t), intake.Config{LegacyRSAKeys: []*rsa.PublicKey{&rsaKey.PublicKey}})); got != 200 {
		t.Fatalf("legacy signature with the legacy key: %d", got)
	}
}

// gate is a store whose InboxAppend waits for a release, or fails.
type gate struct {
	store.Store
	entered chan struct{}
	release chan struct{}
	fail    atomic.Bool
}

func (g *gate) InboxAppend(ctx context.Context, p store.InboxAppendParams) ([]int64, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.release
	if g.fail.Load() {
		return nil, fmt.Errorf("%w: the database is down", rankr.ErrUnavailable)
	}
	return g.Store.InboxAppend(ctx, p)
}

func TestIntakeAnswers429WhenItCannotStore(t *testing.T) {
	t.Parallel()
	g := &gate{Store: storetest.OpenSQLite(t), entered: make(chan struct{}, 1), release: make(chan struct{})}
	r := newRig(t, g, intake.Config{QueueSize: 2, BatchSize: 1})
	// The writer blocks on the first event; two more fill the queue; the
	// fourth finds it full.
	var wg sync.WaitGroup
	codes := make([]int, 3)
	send := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = r.signed(t, body("OrderCreate", fmt.Sprintf("q%d", i), now))
		}()
	}
	send(0)
	<-g.entered
	send(1)
	send(2)
	for r.in.Queued() < 2 {
		time.Sleep(time.Millisecond)
	}
	status, said := r.signed(t, body("OrderCreate", "overflow", now))
	if status != 429 || !strings.Contains(said, "overloaded") {
		t.Fatalf("a full queue answered %d %s", status, said)
	}
	close(g.release)
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("queued event %d answered %d", i, c)
		}
	}
	// The database fails: GHL must redeliver, so 429.
	g.fail.Store(true)
	status, said = r.signed(t, body("OrderCreate", "dbdown", now))
	if status != 429 || !strings.Contains(said, "could not store") {
		t.Fatalf("a failed store answered %d %s", status, said)
	}
	// Shutting down: 429 too.
	g.fail.Store(false)
	r.in.Close()
	if status, _ := r.signed(t, body("OrderCreate", "late", now)); status != 429 {
		t.Fatalf("after Close: %d", status)
	}
	if r.in.Stats().Throttled != 3 {
		t.Fatalf("throttled %d", r.in.Stats().Throttled)
	}
}

func TestProcessorAppliesEachOnce(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	var evs []rankr.InboxEvent
	for i := range 30 {
		evs = append(evs, rankr.InboxEvent{WebhookID: fmt.Sprintf("w%02d", i), Type: "OrderCreate", Body: body("OrderCreate", "x", now)})
	}
	if _, err := st.InboxAppend(context.Background(), store.InboxAppendParams{Events: evs}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	applied := map[string]int{}
	failedOnce := false
	p := intake.NewProcessor(st, func(_ context.Context, evs []rankr.InboxEvent) ([]intake.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if !failedOnce {
			failedOnce = true
			return nil, errors.New("the database blinked") // the whole batch is retried
		}
		out := make([]intake.Result, len(evs))
		for i, ev := range evs {
			if ev.WebhookID == "w05" {
				out[i].Err = fmt.Errorf("%w: a broken payload", rankr.ErrInvalid)
				continue
			}
			applied[ev.WebhookID]++
			out[i].Outcome = "ok"
		}
		return out, nil
	}, nil)
	p.Lease, p.Batch = time.Millisecond, 7 // small batches; a failed one is retried once its lease ran out
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := p.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		n, err := st.InboxPending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhooks left unprocessed", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if len(applied) != 29 {
		t.Fatalf("applied %v", applied)
	}
	for id, n := range applied {
		if n != 1 {
			t.Fatalf("webhook %s applied %d times", id, n)
		}
	}
}
