package daemon_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/marketplace"
	"github.com/rankr/rankr/internal/oauth"
)

// TestEveryRouteHasItsPolicy walks serve's own route list. Every route that
// is not open is called with no key (401), as every role (2xx when the
// role holds the route's scope, 403 otherwise), with a key holding every
// scope but the route's (403), and, where the route names a location, with
// a key bound to another location (404). The open routes are exactly the
// webhooks, the sign-in, the probes and the dashboard's static files.
func TestEveryRouteHasItsPolicy(t *testing.T) {
	t.Parallel()
	d := openDaemon(t, "sqlite:"+filepath.Join(t.TempDir(), "rankr.db"), daemon.Config{})
	ctx := context.Background()
	if _, err := d.Connect(ctx, "L1", "One", "http://127.0.0.1:1", "pit-test-token"); err != nil {
		t.Fatal(err)
	}
	webhooks := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	rt, err := d.Router(webhooks)
	if err != nil {
		t.Fatal(err)
	}
	host := access.Host("test")
	mint := func(req access.KeyRequest) string {
		t.Helper()
		req.ExpiresIn = time.Hour
		k, err := d.Access.Keys.Create(ctx, host, req)
		if err != nil {
			t.Fatal(err)
		}
		return k.Token
	}
	roles := map[string]string{}
	for _, role := range access.Roles {
		roles[role] = mint(access.KeyRequest{Role: role})
	}
	otherLocation := mint(access.KeyRequest{Role: "owner", Locations: []string{"L2"}})

	wildcard := regexp.MustCompile(`\{[^}]*\}`)
	open := map[string]bool{}
	routes := rt.Routes()
	if len(routes) < 7 {
		t.Fatalf("only %d routes: %v", len(routes), routes)
	}
	for _, route := range routes {
		if route.Pattern == "/" {
			// The catch-all: unknown paths tell a caller without a key
			// nothing, and a key a 404.
			for key, want := range map[string]int{"": http.StatusUnauthorized, roles["viewer"]: http.StatusNotFound} {
				r := httptest.NewRequest("GET", "/no/such/route", nil)
				r.RemoteAddr = "127.0.0.1:5555"
				if key != "" {
					r.Header.Set("Authorization", "Bearer "+key)
				}
				rec := httptest.NewRecorder()
				rt.ServeHTTP(rec, r)
				if rec.Code != want {
					t.Errorf("an unknown path with key %v: %d, want %d", key != "", rec.Code, want)
				}
			}
			continue
		}
		method, pattern, ok := strings.Cut(route.Pattern, " ")
		if !ok {
			t.Errorf("route %q names no method: it would answer every method under one policy", route.Pattern)
			continue
		}
		path := strings.ReplaceAll(wildcard.ReplaceAllStringFunc(pattern, func(w string) string {
			if w == "{$}" {
				return ""
			}
			return "L1"
		}), "//", "/")
		call := func(key string) (int, string) {
			// The event stream answers until its caller goes: a short
			// deadline ends it once the guard has spoken.
			ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			r := httptest.NewRequestWithContext(ctx, method, path, nil)
			if strings.HasPrefix(route.Policy.Location(), "query:") {
				r.URL.RawQuery = strings.TrimPrefix(route.Policy.Location(), "query:") + "=L1"
			}
			r.RemoteAddr = "127.0.0.1:5555"
			if key != "" {
				r.Header.Set("Authorization", "Bearer "+key)
			}
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, r)
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Header().Get("X-Request-Id") == "" {
				t.Errorf("%s: no X-Request-Id", route.Pattern)
			}
			return rec.Code, body.Error.Code
		}
		if route.Policy.Open() {
			open[route.Pattern] = true
			if code, ecode := call(""); code == http.StatusUnauthorized && ecode == "missing_key" {
				t.Errorf("open route %s asks for a key", route.Pattern)
			}
			continue
		}
		scope := route.Policy.Scope()
		if code, ecode := call(""); code != http.StatusUnauthorized || ecode != "missing_key" {
			t.Errorf("%s without a key: %d %s, want 401", route.Pattern, code, ecode)
		}
		if scope == "" {
			// Any valid key: the OpenAPI document, a job by its id (which
			// the job's own location then guards).
			for role, key := range roles {
				if code, ecode := call(key); code == http.StatusUnauthorized || code == http.StatusForbidden {
					t.Errorf("%s (any key) as %s: %d %s", route.Pattern, role, code, ecode)
				}
			}
			continue
		}
		for role, key := range roles {
			rights, _ := access.RoleRights(role)
			code, ecode := call(key)
			switch {
			case rights.Has(scope) && (code == http.StatusUnauthorized || code == http.StatusForbidden):
				// Past the guard the handler answers as it will (a
				// write with no body is a 400, a record named L1 a 404).
				t.Errorf("%s as %s (holds %s): %d %s, want it past the guard", route.Pattern, role, scope, code, ecode)
			case rights.Has(scope) && method == "GET" && code != http.StatusNotFound && (code < 200 || code > 299):
				t.Errorf("%s as %s (holds %s): %d %s, want 2xx", route.Pattern, role, scope, code, ecode)
			case !rights.Has(scope) && (code != http.StatusForbidden || ecode != "insufficient_scope"):
				t.Errorf("%s as %s (lacks %s): %d %s, want 403", route.Pattern, role, scope, code, ecode)
			}
		}
		// Every scope but the one the route needs (and the write that
		// implies it).
		var others []string
		for _, s := range access.Scopes {
			if s != scope && s != strings.TrimSuffix(scope, ":read")+":write" {
				others = append(others, s)
			}
		}
		if code, ecode := call(mint(access.KeyRequest{Role: "owner", Scopes: others})); code != http.StatusForbidden || ecode != "insufficient_scope" {
			t.Errorf("%s with every scope but %s: %d %s, want 403", route.Pattern, scope, code, ecode)
		}
		if route.Policy.Location() != "" {
			if code, _ := call(otherLocation); code != http.StatusNotFound {
				t.Errorf("%s with a key for another location: %d, want 404", route.Pattern, code)
			}
		}
	}
	want := []string{"POST " + daemon.WebhookPath, "GET /healthz", "GET /readyz", "POST /session", "DELETE /session",
		"GET " + oauth.StartPath, "POST " + oauth.StartPath, "GET " + oauth.CallbackPath,
		"GET /ui/{file}", // the dashboard's scripts and styles: the sign-in page needs them before a key
		// GHL's marketplace calls: behind their own secret (404 while none
		// is configured), not a key.
		"POST " + marketplace.SubscriptionPath, "POST " + marketplace.ActionsPath}

	for _, p := range want {
		if !open[p] {
			t.Errorf("%s is not an open route", p)
		}
	}
	if len(open) != len(want) {
		t.Errorf("open routes %v, want exactly %v", open, want)
	}
}

// The probes say ready or not and a reason code, nothing more.
func TestProbesSayLittle(t *testing.T) {
	t.Parallel()
	d := openDaemon(t, "sqlite:"+filepath.Join(t.TempDir(), "rankr.db"), daemon.Config{})
	h := d.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"ready":true}` {
		t.Fatalf("ready: %d %s", rec.Code, rec.Body)
	}
	d.Close()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != `{"ready":false,"reason":"database_unavailable"}` {
		t.Fatalf("not ready: %d %s", rec.Code, rec.Body)
	}
}

// serve does not listen beyond loopback while no key exists.
func TestServeRefusesToListenWithoutKeys(t *testing.T) {
	t.Parallel()
	d := openDaemon(t, "sqlite:"+filepath.Join(t.TempDir(), "rankr.db"), daemon.Config{Addr: "0.0.0.0:0"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := d.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "no API key exists yet") || !strings.Contains(err.Error(), "rankr keys create --role owner") {
		t.Fatalf("serve on 0.0.0.0 with no key: %v", err)
	}
}
