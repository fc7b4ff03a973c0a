package daemon_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/testwait"
)

// TestMetrics runs serve against the sandbox, lets it backfill and take
// webhooks (and refuse a forged one), and reads /metrics: behind a key on
// the main listener, without one on --metrics-addr, and the figures follow
// what happened.
func TestMetrics(t *testing.T) {
	t.Parallel()
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb, url := startSandbox(t, sandbox.Config{Seed: 83, Locations: 2, Orders: 30})
			loc := sb.Locations()[0].ID
			metricsAddr := freeAddr(t)
			s := serveSandbox(t, db(t), sb, url, daemon.Config{MetricsAddr: metricsAddr,
				Jobs: jobs.Config{PollInterval: time.Hour, WalkInterval: 24 * time.Hour}})
			base, key := s.base, ownerKey(t, s.d)
			if _, err := sb.Step(12, loc, "order.created"); err != nil {
				t.Fatal(err)
			}
			// A forged webhook is refused and counted by its reason.
			res, err := http.Post(base+daemon.WebhookPath, "application/json", strings.NewReader(`{"type":"OrderCreate"}`))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("a forged webhook: %d", res.StatusCode)
			}

			// Without a key, the main listener refuses; the metrics
			// listener answers.
			if code, _ := scrape(t, base+"/metrics", ""); code != http.StatusUnauthorized {
				t.Fatalf("/metrics without a key: %d", code)
			}
			var text string
			testwait.Until(t, time.Minute, "the webhooks accepted and applied", func() bool {
				_, text = scrape(t, "http://"+metricsAddr+"/metrics", "")
				return value(text, `rankr_webhooks_total{outcome="accepted"}`) >= 12 &&
					value(text, `rankr_webhook_apply_seconds_count`) >= 12
			})
			code, keyed := scrape(t, base+"/metrics", key)
			if code != http.StatusOK || !strings.Contains(keyed, "rankr_webhooks_total") {
				t.Fatalf("/metrics with a key: %d", code)
			}
			for _, want := range []struct {
				series string
				min    float64
			}{
				{`rankr_webhooks_total{outcome="bad_signature"}`, 1},
				{`rankr_webhooks_total{outcome="malformed"}`, 0},
				{`rankr_webhook_intake_seconds_count{status="200"}`, 12},
				{`rankr_webhook_intake_seconds_count{status="401"}`, 1},
				{`rankr_inbox_depth`, 0},
				{`rankr_connection_state{location="` + loc + `",state="active"}`, 1},
				{`rankr_backfill_done{location="` + loc + `"}`, 1},
				{`rankr_backfill_orders{location="` + loc + `",of="done"}`, 1},
				{`rankr_ghl_budget_burst{location="` + loc + `"}`, 1},
				{`rankr_ghl_budget_used{location="` + loc + `"}`, 0},
				{`rankr_pushes{state="failed"}`, 0},
				{`rankr_deliveries{state="dead"}`, 0},
				{`rankr_notices{state="sent"}`, 0},
				{`rankr_jobs{state="completed"}`, 1},
				{`go_sql_open_connections{db_name="rankr"}`, 1},
			} {
				if v := value(text, want.series); v < want.min {
					t.Errorf("%s = %v, want at least %v", want.series, v, want.min)
				}
			}
			// The backfill listed orders through the client, each request
			// counted by its operation and status.
			if ops := regexp.MustCompile(`rankr_ghl_requests_total\{operation="[^"]+",status="200"\} [1-9]`).FindAllString(text, -1); len(ops) == 0 {
				t.Errorf("no GHL request counted:\n%s", grep(text, "rankr_ghl_"))
			}
			// Once over, the backfill walked what GHL reported, not the
			// orders written since by the webhooks.
			if done, total := value(text, `rankr_backfill_orders{location="`+loc+`",of="done"}`), value(text, `rankr_backfill_orders{location="`+loc+`",of="total"}`); done != total {
				t.Errorf("a finished backfill walked %v orders of %v", done, total)
			}
			if value(text, `rankr_webhooks_total{outcome="accepted"}`) > value(text, `rankr_webhook_intake_seconds_count{status="200"}`) {
				t.Error("more webhooks accepted than answered 200")
			}
			// Nothing personal in the labels: no customer's email.
			tr, _ := sb.Truth(loc)
			for _, o := range tr.Locations[0].Orders {
				if e := o.Item.ContactEmail; e != "" && strings.Contains(keyed, e) {
					t.Fatal("a customer's email is in the metrics")
				}
			}
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The profiler answers the holders of security:admin only.
func TestPprofNeedsSecurityAdmin(t *testing.T) {
	t.Parallel()
	d := openDaemon(t, "sqlite:"+t.TempDir()+"/rankr.db", daemon.Config{})
	h := d.Handler()
	acc, err := d.OpenAccess(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for role, want := range map[string]int{"owner": http.StatusOK, "admin": http.StatusForbidden} {
		k, err := acc.Keys.Create(context.Background(), access.Host("test"), access.KeyRequest{Role: role, ExpiresIn: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		r := authed("GET", "/debug/pprof/goroutine?debug=1", k.Token)
		r.RemoteAddr = "127.0.0.1:5555"
		h.ServeHTTP(rec, r)
		if rec.Code != want {
			t.Errorf("pprof as %s: %d, want %d", role, rec.Code, want)
		}
		if want == http.StatusOK && !strings.Contains(rec.Body.String(), "goroutine profile") {
			t.Errorf("pprof as %s: %.200s", role, rec.Body.String())
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func scrape(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// value reads one series' value from Prometheus' text format (-1 when it
// is missing).
func value(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

func grep(text, prefix string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// /readyz says not ready, with its reason, when the schema changed under
// the process (a newer binary migrated it, or a database restored from
// before).
func TestReadyWhenTheSchemaChanged(t *testing.T) {
	t.Parallel()
	d := openDaemon(t, "sqlite:"+t.TempDir()+"/rankr.db", daemon.Config{})
	h := d.Handler()
	probe := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	if code, body := probe(); code != http.StatusOK {
		t.Fatalf("ready: %d %s", code, body)
	}
	db := d.Store.(*sqlstore.Store).DB()
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at, checksum) VALUES ('9999_from_a_newer_binary.sql', 0, '')`); err != nil {
		t.Fatal(err)
	}
	if code, body := probe(); code != http.StatusServiceUnavailable || body != `{"ready":false,"reason":"schema_changed"}` {
		t.Fatalf("after a migration by another binary: %d %s", code, body)
	}
}
