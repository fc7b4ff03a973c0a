package access

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/vault"
)

var ctx = context.Background()

// counting is the real store, counting the reads the guard makes.
type counting struct {
	store.Store
	keyGets, installs atomic.Int64
}

func (c *counting) KeyGet(ctx context.Context, id string) (rankr.APIKey, error) {
	c.keyGets.Add(1)
	return c.Store.KeyGet(ctx, id)
}

func (c *counting) Installation(ctx context.Context) (rankr.Installation, error) {
	c.installs.Add(1)
	return c.Store.Installation(ctx)
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type rig struct {
	t      *testing.T
	st     *counting
	vault  *vault.Vault
	keys   *Keys
	guard  *Guard
	clock  *fakeClock
	router *Router
}

func newVault(t testing.TB) *vault.Vault {
	key, _ := vault.ParseKey(vault.NewKey())
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newRig builds a guard over a real store with a small router: orders to
// read and write, orders of a location, a probe and the sign-in.
func newRig(t *testing.T, open storetest.Opener, tune func(*GuardConfig)) *rig {
	t.Helper()
	st := &counting{Store: open(t)}
	v := newVault(t)
	h, err := LoadHasher(ctx, st, v)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	cfg := GuardConfig{Store: st, Hasher: h, Denials: NewDenials(st, nil)}
	if tune != nil {
		tune(&cfg)
	}
	g, err := NewGuard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.now = clock.now
	t.Cleanup(g.Close)
	rt := NewRouter(g)
	ok := func(w http.ResponseWriter, r *http.Request) {
		p := PrincipalFrom(r.Context())
		io.WriteString(w, p.Key.ID)
	}
	rt.HandleFunc("GET /orders", Need("orders:read"), ok)
	rt.HandleFunc("POST /orders", Need("orders:write"), ok)
	rt.HandleFunc("GET /locations/{location}/orders", Need("orders:read").InLocation("path:location"), ok)
	rt.HandleFunc("GET /healthz", Probe(), func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	rt.Handle("POST /session", SignIn(), nil)
	keys := NewKeys(st, h)
	keys.now = clock.now
	return &rig{t: t, st: st, vault: v, keys: keys, guard: g, clock: clock, router: rt}
}

func (r *rig) key(actor Actor, req KeyRequest) NewKey {
	r.t.Helper()
	if req.ExpiresIn == 0 {
		req.ExpiresIn = 30 * 24 * time.Hour
	}
	k, err := r.keys.Create(ctx, actor, req)
	if err != nil {
		r.t.Fatal(err)
	}
	return k
}

type answer struct {
	status int
	code   string
	body   string
	header http.Header
}

func (r *rig) call(method, path, token string, edit ...func(*http.Request)) answer {
	r.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, e := range edit {
		e(req)
	}
	rec := httptest.NewRecorder()
	r.router.ServeHTTP(rec, req)
	a := answer{status: rec.Code, body: rec.Body.String(), header: rec.Header()}
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &e) == nil {
		a.code = e.Error.Code
	}
	if rec.Header().Get("X-Request-Id") == "" {
		r.t.Errorf("%s %s: no request id", method, path)
	}
	return a
}

func (r *rig) expect(a answer, status int, code string) {
	r.t.Helper()
	if a.status != status || code != "" && a.code != code {
		r.t.Fatalf("got %d %s (%s), want %d %s", a.status, a.code, a.body, status, code)
	}
}

func each(t *testing.T, fn func(t *testing.T, open storetest.Opener)) {
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open)
		})
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, nil)
		viewer := r.key(Host("ops"), KeyRequest{Role: "viewer"})
		r.expect(r.call("GET", "/orders", ""), 401, "missing_key")
		r.expect(r.call("GET", "/healthz", ""), 200, "")
		r.expect(r.call("GET", "/orders", viewer.Token), 200, "")
		a := r.call("POST", "/orders", viewer.Token)
		r.expect(a, 403, "insufficient_scope")
		if !strings.Contains(a.body, "orders:write") {
			t.Errorf("the refusal does not name the scope: %s", a.body)
		}

		// A malformed or mistyped key is refused before any database read.
		before := r.st.keyGets.Load() + r.st.installs.Load()
		r.expect(r.call("GET", "/orders", "rnkr_live_nonsense"), 401, "invalid_key")
		r.expect(r.call("GET", "/orders", viewer.Token[:len(viewer.Token)-1]+"x"), 401, "invalid_key")
		if n := r.st.keyGets.Load() + r.st.installs.Load() - before; n != 0 {
			t.Errorf("malformed keys made %d database reads", n)
		}
		// The right id and checksum with another secret is not the key.
		body := viewer.Token[:len(viewer.Token)-checkLen-5] + "ZZZZZ"
		r.expect(r.call("GET", "/orders", body+check(body)), 401, "invalid_key")

		// Expiry, with the clock moved past it.
		r.clock.add(31 * 24 * time.Hour)
		r.expect(r.call("GET", "/orders", viewer.Token), 401, "key_expired")
	})
}

// A revocation made by another process is refused once the guard's cache
// is older than its freshness bound (1 s), whatever the guard saw before.
func TestRevocationReachesOtherProcesses(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, nil)
		k := r.key(Host("ops"), KeyRequest{Role: "viewer"})
		r.expect(r.call("GET", "/orders", k.Token), 200, "")
		// Another process (its own key manager over the same database)
		// revokes the key.
		other := NewKeys(r.st.Store, r.keys.hasher)
		if err := other.Revoke(ctx, Host("ops"), k.Key.ID); err != nil {
			t.Fatal(err)
		}
		r.clock.add(time.Second)
		r.expect(r.call("GET", "/orders", k.Token), 401, "key_revoked")
	})
}

func TestLocationBoundKey(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, nil)
		k := r.key(Host("ops"), KeyRequest{Role: "viewer", Locations: []string{"L1"}})
		r.expect(r.call("GET", "/locations/L1/orders", k.Token), 200, "")
		r.expect(r.call("GET", "/locations/L2/orders", k.Token), 404, "not_found")
		// A bound key cannot make a key for every location, nor for another.
		actor := Actor{Type: rankr.ActorAPIKey, ID: k.Key.ID, Role: "admin", Rights: AllRights(), Locations: []string{"L1"}}
		if _, err := r.keys.Create(ctx, actor, KeyRequest{Role: "viewer", ExpiresIn: time.Hour}); !errors.Is(err, rankr.ErrForbidden) {
			t.Errorf("a key for every location from a bound one: %v", err)
		}
		if _, err := r.keys.Create(ctx, actor, KeyRequest{Role: "viewer", ExpiresIn: time.Hour, Locations: []string{"L2"}}); !errors.Is(err, rankr.ErrForbidden) {
			t.Errorf("a key for another location: %v", err)
		}
	})
}

func TestIPAllowList(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, func(c *GuardConfig) {
			c.ClientIP, _ = NewClientIP([]string{"10.0.0.0/8"})
		})
		k := r.key(Host("ops"), KeyRequest{Role: "viewer", AllowIPs: []string{"203.0.113.0/24"}})
		from := func(peer, xff string) func(*http.Request) {
			return func(req *http.Request) {
				req.RemoteAddr = peer
				if xff != "" {
					req.Header.Set("X-Forwarded-For", xff)
				}
			}
		}
		r.expect(r.call("GET", "/orders", k.Token, from("203.0.113.9:1234", "")), 200, "")
		// A spoofed header from an untrusted peer changes nothing.
		r.expect(r.call("GET", "/orders", k.Token, from("198.51.100.1:1234", "203.0.113.9")), 403, "ip_not_allowed")
		// Through the trusted proxy, the rightmost untrusted address counts.
		r.expect(r.call("GET", "/orders", k.Token, from("10.0.0.2:443", "203.0.113.9")), 200, "")
		r.expect(r.call("GET", "/orders", k.Token, from("10.0.0.2:443", "203.0.113.9, 198.51.100.66")), 403, "ip_not_allowed")

		// The installation's list bounds every key.
		if err := r.keys.SetInstallAllowIPs(ctx, Host("ops"), []string{"2001:db8::/32"}); err != nil {
			t.Fatal(err)
		}
		r.clock.add(time.Second)
		r.expect(r.call("GET", "/orders", k.Token, from("203.0.113.9:1234", "")), 403, "ip_not_allowed")

		// Each denial is audited with both addresses, per minute.
		if err := r.guard.cfg.Denials.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		recs, err := r.st.AuditList(ctx, store.AuditListParams{Action: "request.denied"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rec := range recs {
			if rec.Code == "ip_not_allowed" && rec.Request.IP == "198.51.100.66" && rec.Request.PeerIP == "10.0.0.2" &&
				rec.Actor.ID == k.Key.ID && rec.Outcome == rankr.AuditDenied {
				found = true
			}
		}
		if !found {
			t.Errorf("no denial record with both addresses: %+v", recs)
		}
	})
}

func TestKeyRateLimit(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, func(c *GuardConfig) { c.KeyRate, c.KeyBurst = 0.5, 2 })
		k := r.key(Host("ops"), KeyRequest{Role: "viewer"})
		r.expect(r.call("GET", "/orders", k.Token), 200, "")
		r.expect(r.call("GET", "/orders", k.Token), 200, "")
		a := r.call("GET", "/orders", k.Token)
		r.expect(a, 429, "rate_limited")
		if a.header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
		}
	})
}

func TestLastUsed(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, nil)
		k := r.key(Host("ops"), KeyRequest{Role: "viewer"})
		r.call("GET", "/orders", k.Token, func(req *http.Request) { req.Header.Set("User-Agent", "probe/1") })
		r.guard.Close()
		got, _ := r.st.KeyGet(ctx, k.Key.ID)
		if got.LastUsedAt.IsZero() || got.LastUsedIP != "127.0.0.1" || got.LastUsedUA != "probe/1" {
			t.Fatalf("last use %+v", got)
		}
	})
}

// Nobody makes a key beyond their rights, and a key can do no more than
// its creator can now.
func TestNoKeyBeyondItsCreator(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, nil)
		admin := r.key(Host("ops"), KeyRequest{Role: "admin"})
		viewerRights, _ := RoleRights("viewer")
		viewer := Actor{Type: rankr.ActorAPIKey, ID: "v", Role: "viewer", Rights: viewerRights}
		if _, err := r.keys.Create(ctx, viewer, KeyRequest{Role: "operator", Scopes: []string{"orders:write"}, ExpiresIn: time.Hour}); !errors.Is(err, rankr.ErrForbidden) {
			t.Fatalf("a viewer minted orders:write: %v", err)
		}
		if recs, _ := r.st.AuditList(ctx, store.AuditListParams{Action: "api_key.create"}); len(recs) != 1 || recs[0].Outcome != rankr.AuditDenied {
			t.Errorf("the refusal is not audited: %+v", recs)
		}
		adminRights, _ := RoleRights("admin")
		adminActor := Actor{Type: rankr.ActorAPIKey, ID: admin.Key.ID, Role: "admin", Rights: adminRights}
		if _, err := r.keys.Create(ctx, adminActor, KeyRequest{Role: "owner", ExpiresIn: time.Hour}); !errors.Is(err, rankr.ErrForbidden) {
			t.Fatalf("an admin minted an owner: %v", err)
		}
		if _, err := r.keys.Create(ctx, adminActor, KeyRequest{Role: "viewer", Scopes: []string{"orders:write"}, ExpiresIn: time.Hour}); !errors.Is(err, rankr.ErrInvalid) {
			t.Fatalf("a viewer key with orders:write: %v", err)
		}
		child := r.key(adminActor, KeyRequest{Role: "operator"})
		r.expect(r.call("POST", "/orders", child.Token), 200, "")
		// Demoting the creator narrows what its keys may do.
		if err := r.keys.SetRole(ctx, Host("ops"), admin.Key.ID, "viewer"); err != nil {
			t.Fatal(err)
		}
		r.clock.add(time.Second)
		r.expect(r.call("POST", "/orders", child.Token), 403, "insufficient_scope")
		r.expect(r.call("GET", "/orders", child.Token), 200, "")
		// An admin cannot revoke an owner's key.
		owner := r.key(Host("ops"), KeyRequest{Role: "owner"})
		if err := r.keys.Revoke(ctx, adminActor, owner.Key.ID); !errors.Is(err, rankr.ErrForbidden) {
			t.Fatalf("an admin revoked an owner: %v", err)
		}
	})
}

// During a roll's grace both keys work; after it, only the new one.
func TestRollGrace(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, nil)
		old := r.key(Host("ops"), KeyRequest{Role: "viewer", Name: "ci", AllowIPs: []string{"127.0.0.0/8"}})
		rolled, err := r.keys.Roll(ctx, Host("ops"), old.Key.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rolled.Key.RotatedFrom != old.Key.ID || rolled.Key.Name != "ci" || len(rolled.Key.AllowIPs) != 1 {
			t.Fatalf("rolled %+v", rolled.Key)
		}
		r.expect(r.call("GET", "/orders", old.Token), 200, "")
		r.expect(r.call("GET", "/orders", rolled.Token), 200, "")
		r.clock.add(time.Hour + time.Second)
		r.expect(r.call("GET", "/orders", old.Token), 401, "key_expired")
		r.expect(r.call("GET", "/orders", rolled.Token), 200, "")
		if _, err := r.keys.Roll(ctx, Host("ops"), rolled.Key.ID, 8*24*time.Hour); !errors.Is(err, rankr.ErrInvalid) {
			t.Errorf("an 8-day grace: %v", err)
		}
	})
}

// The dashboard signs in with a key: an HttpOnly, SameSite cookie that
// works for reads and, from the page's own origin only, for changes.
func TestSession(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, nil)
		k := r.key(Host("ops"), KeyRequest{Role: "operator"})
		req := httptest.NewRequest("POST", "/session", strings.NewReader(`{"key":"`+k.Token+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "127.0.0.1:1"
		rec := httptest.NewRecorder()
		r.router.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("sign in: %d %s", rec.Code, rec.Body)
		}
		var cookie *http.Cookie
		for _, c := range rec.Result().Cookies() {
			if c.Name == SessionCookie {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || strings.Contains(cookie.Value, k.Token) {
			t.Fatalf("cookie %+v", cookie)
		}
		withCookie := func(v string) func(*http.Request) {
			return func(req *http.Request) { req.AddCookie(&http.Cookie{Name: SessionCookie, Value: v}) }
		}
		r.expect(r.call("GET", "/orders", "", withCookie(cookie.Value)), 200, "")
		r.expect(r.call("POST", "/orders", "", withCookie(cookie.Value)), 403, "cross_site")
		r.expect(r.call("POST", "/orders", "", withCookie(cookie.Value), func(req *http.Request) {
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}), 403, "cross_site")
		r.expect(r.call("POST", "/orders", "", withCookie(cookie.Value), func(req *http.Request) {
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}), 200, "")
		r.expect(r.call("GET", "/orders", "", withCookie(cookie.Value[:len(cookie.Value)-2]+"xx")), 401, "invalid_session")
		// A wrong key signs nobody in.
		req = httptest.NewRequest("POST", "/session", strings.NewReader("key=rnkr_live_wrong"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec = httptest.NewRecorder()
		r.router.ServeHTTP(rec, req)
		if rec.Code != 401 || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("a wrong key: %d %v", rec.Code, rec.Result().Cookies())
		}
		// The session ends with its key.
		if err := r.keys.Revoke(ctx, Host("ops"), k.Key.ID); err != nil {
			t.Fatal(err)
		}
		r.clock.add(time.Second)
		r.expect(r.call("GET", "/orders", "", withCookie(cookie.Value)), 401, "key_revoked")
	})
}

// Anyone can make a well-formed key; each costs a database read, so an
// address that keeps presenting refused keys is held off, and made-up ids
// do not push real keys out of the cache.
func TestMadeUpKeysAreHeldOff(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, nil)
		real := r.key(Host("ops"), KeyRequest{Role: "viewer"})
		from := func(peer string) func(*http.Request) { return func(req *http.Request) { req.RemoteAddr = peer } }
		before := r.st.keyGets.Load()
		codes := map[int]int{}
		for range 30 {
			fake, _ := newToken(false)
			codes[r.call("GET", "/orders", fake, from("198.51.100.9:1"+"000")).status]++
		}
		if codes[401] != 20 || codes[429] != 10 {
			t.Fatalf("answers to 30 made-up keys from one address: %v", codes)
		}
		if n := r.st.keyGets.Load() - before; n > 20 {
			t.Errorf("%d key reads for 20 refused keys", n)
		}
		fake, _ := newToken(false)
		r.expect(r.call("GET", "/orders", fake, from("198.51.100.10:1000")), 401, "invalid_key")
		r.expect(r.call("GET", "/orders", real.Token), 200, "")
	})
}

// Revoking a key takes back what the keys it made may do; rolling it
// hands them to its successor.
func TestRevokedCreatorsKeysHoldNothing(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		r := newRig(t, open, nil)
		admin := r.key(Host("ops"), KeyRequest{Role: "admin"})
		adminRights, _ := RoleRights("admin")
		actor := Actor{Type: rankr.ActorAPIKey, ID: admin.Key.ID, Role: "admin", Rights: adminRights}
		child := r.key(actor, KeyRequest{Role: "operator"})
		rolled, err := r.keys.Roll(ctx, Host("ops"), admin.Key.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		r.clock.add(time.Second)
		r.expect(r.call("GET", "/orders", child.Token), 200, "") // the old admin key expired at the roll; its child moved
		if err := r.keys.Revoke(ctx, Host("ops"), rolled.Key.ID); err != nil {
			t.Fatal(err)
		}
		r.clock.add(time.Second)
		r.expect(r.call("GET", "/orders", child.Token), 403, "insufficient_scope")
	})
}
