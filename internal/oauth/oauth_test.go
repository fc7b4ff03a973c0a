package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/postgres"
	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/vault"
)

var ctx = context.Background()

const redirect = "http://127.0.0.1:1/oauth/ghl/callback"

// engines opens the same database twice, as two processes would.
func engines(t *testing.T) map[string]func(t *testing.T) (store.Store, store.Store) {
	out := map[string]func(t *testing.T) (store.Store, store.Store){
		"sqlite": func(t *testing.T) (store.Store, store.Store) {
			path := filepath.Join(t.TempDir(), "rankr.db")
			return openSQLite(t, path), openSQLite(t, path)
		},
	}
	if _, ok := storetest.Openers()["postgres"]; ok {
		out["postgres"] = func(t *testing.T) (store.Store, store.Store) {
			u := storetest.PostgresURL(t)
			return openPostgres(t, u), openPostgres(t, u)
		}
	}
	return out
}

func openSQLite(t *testing.T, path string) store.Store {
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T, u string) store.Store {
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rig is a sandbox with its OAuth app, and two rankr "processes" (each
// its own store connection and manager) over one database.
type rig struct {
	t     *testing.T
	sb    *sandbox.Server
	url   string
	procs []*Manager
	st    store.Store
	shift atomic.Int64 // added to the managers' clocks
}

func each(t *testing.T, fn func(t *testing.T, open func(t *testing.T) (store.Store, store.Store))) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open)
		})
	}
}

func newRig(t *testing.T, open func(t *testing.T) (store.Store, store.Store), cfg sandbox.Config) *rig {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { ts.Close(); sb.Close() })
	a, b := open(t)
	key, _ := vault.ParseKey(vault.NewKey())
	v, _ := vault.New(key)
	r := &rig{t: t, sb: sb, url: ts.URL, st: a}
	for _, st := range []store.Store{a, b} {
		m := New(Config{Store: st, Vault: v, GHL: []ghl.Option{ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 3,
			BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}})
		m.now = func() time.Time { return time.Now().Add(time.Duration(r.shift.Load())) }
		r.procs = append(r.procs, m)
	}
	h, err := access.LoadHasher(ctx, a, v)
	if err != nil {
		t.Fatal(err)
	}
	app := sb.OAuthApp()
	err = r.procs[0].Configure(ctx, access.Host("test"), rankr.OAuthApp{ClientID: app.ClientID, RedirectURI: redirect,
		AuthorizeHost: ts.URL, BaseURL: ts.URL}, app.ClientSecrets[0], h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// install runs an install through an install link, as a user's browser
// would: the link, GHL's consent (the sandbox's), the callback.
func (r *rig) install(company bool, req sandbox.AuthorizeRequest) Installed {
	r.t.Helper()
	code, state := r.consent(company, req)
	return r.callback(code, state)
}

func (r *rig) callback(code, state string) Installed {
	r.t.Helper()
	got, err := r.procs[0].Callback(ctx, code, state)
	if err != nil {
		r.t.Fatal(err)
	}
	return got
}

// consent runs an install up to GHL's redirect back, and returns its code
// and state.
func (r *rig) consent(company bool, req sandbox.AuthorizeRequest) (string, string) {
	r.t.Helper()
	m := r.procs[0]
	link, err := m.InstallLink(ctx, access.Host("test"), company)
	if err != nil {
		r.t.Fatal(err)
	}
	u, _ := url.Parse(link)
	to, err := m.Start(ctx, u.Query().Get("link"))
	if err != nil {
		r.t.Fatal(err)
	}
	gh, _ := url.Parse(to)
	if !strings.HasPrefix(to, r.url+"/v2/oauth/chooselocation?") || gh.Query().Get("redirect_uri") != redirect {
		r.t.Fatalf("start sends the browser to %s", to)
	}
	req.State, req.RedirectURI, req.Scopes = gh.Query().Get("state"), redirect, strings.Fields(gh.Query().Get("scope"))
	res, err := r.sb.Authorize(req)
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Code, req.State
}

func (r *rig) refreshCalls() int { return r.sb.Stats().TokenCalls["refresh_token 200"] }

// listOrders calls GHL with a location's token, as the sync does.
func (r *rig) listOrders(m *Manager, loc string) error {
	c := ghl.NewClient(m, ghl.WithBaseURL(r.url), ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 1}))
	_, err := c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: loc, Limit: 1})
	return err
}

func TestLocationInstall(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		r := newRig(t, open, sandbox.Config{Locations: 2, Orders: 3})
		loc := r.sb.Locations()[0].ID
		got := r.install(false, sandbox.AuthorizeRequest{LocationID: loc})
		if len(got.Locations) != 1 || got.Locations[0] != loc || got.Pending != "" || len(got.Missing) != 0 {
			t.Fatalf("installed %+v", got)
		}
		conn, err := r.st.ConnectionGet(ctx, loc)
		if err != nil || conn.CredentialKind != "oauth" || conn.State != rankr.StateActive {
			t.Fatalf("connection %+v %v", conn, err)
		}
		if err := r.listOrders(r.procs[1], loc); err != nil {
			t.Fatalf("the other process's token: %v", err)
		}
		recs, _ := r.st.AuditList(ctx, store.AuditListParams{Action: "oauth.installed"})
		if len(recs) != 1 || recs[0].Actor.Type != rankr.ActorHost || recs[0].Target.LocationID != loc {
			t.Fatalf("audit %+v", recs)
		}
		// The link and the state are spent.
		link, _ := r.procs[0].InstallLink(ctx, access.Host("test"), false)
		u, _ := url.Parse(link)
		if _, err := r.procs[0].Start(ctx, u.Query().Get("link")); err != nil {
			t.Fatal(err)
		}
		if _, err := r.procs[1].Start(ctx, u.Query().Get("link")); !errors.Is(err, rankr.ErrNotFound) {
			t.Fatalf("a link used twice: %v", err)
		}
		if _, err := r.procs[0].Callback(ctx, "whatever", "made-up-state"); !errors.Is(err, rankr.ErrInvalid) {
			t.Fatalf("an unknown state: %v", err)
		}
	})
}

// An install started in the Marketplace has no state: it waits for a
// claim. A replayed code fails and changes nothing stored.
func TestMarketplaceInstallAndReplayedCode(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		r := newRig(t, open, sandbox.Config{Locations: 2, Orders: 1})
		loc := r.sb.Locations()[0].ID
		res, err := r.sb.Authorize(sandbox.AuthorizeRequest{LocationID: loc, RedirectURI: redirect})
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.procs[0].Callback(ctx, res.Code, "")
		if err != nil || got.Pending == "" {
			t.Fatalf("%+v %v", got, err)
		}
		if _, err := r.procs[0].Token(ctx, loc); err == nil || !strings.Contains(err.Error(), "rankr oauth claim "+got.Pending) {
			t.Fatalf("a pending install's token: %v", err)
		}
		if _, err := r.st.ConnectionGet(ctx, loc); !errors.Is(err, rankr.ErrNotFound) {
			t.Fatalf("a pending install is connected: %v", err)
		}
		before, _ := r.st.OAuthTokenGet(ctx, rankr.LocationTokenID(loc))
		if _, err := r.procs[1].Callback(ctx, res.Code, ""); !errors.Is(err, ghl.ErrInvalidGrant) {
			t.Fatalf("a replayed code: %v", err)
		}
		after, _ := r.st.OAuthTokenGet(ctx, rankr.LocationTokenID(loc))
		if after.Generation != before.Generation || string(after.Access) != string(before.Access) || string(after.Refresh) != string(before.Refresh) {
			t.Fatal("a replayed code changed the stored token")
		}
		viewer, _ := access.RoleRights("viewer")
		if _, err := r.procs[0].Claim(ctx, access.Actor{Type: rankr.ActorAPIKey, ID: "v", Rights: viewer}, got.Pending); !errors.Is(err, rankr.ErrForbidden) {
			t.Fatalf("a viewer claimed: %v", err)
		}
		claimed, err := r.procs[0].Claim(ctx, access.Host("test"), got.Pending)
		if err != nil || len(claimed.Locations) != 1 {
			t.Fatalf("claim %+v %v", claimed, err)
		}
		if err := r.listOrders(r.procs[0], loc); err != nil {
			t.Fatal(err)
		}
		if _, err := r.procs[0].Claim(ctx, access.Host("test"), got.Pending); !errors.Is(err, rankr.ErrNotFound) {
			t.Fatalf("claimed twice: %v", err)
		}

		// The app installed again from the Marketplace on the claimed
		// location stays connected.
		res, err = r.sb.Authorize(sandbox.AuthorizeRequest{LocationID: loc, RedirectURI: redirect})
		if err != nil {
			t.Fatal(err)
		}
		if again, err := r.procs[0].Callback(ctx, res.Code, ""); err != nil || again.Pending != "" {
			t.Fatalf("a reinstall of a claimed location: %+v %v", again, err)
		}
		if err := r.listOrders(r.procs[1], loc); err != nil {
			t.Fatal(err)
		}

		// An install nobody claims within a day is dropped.
		res, err = r.sb.Authorize(sandbox.AuthorizeRequest{LocationID: r.sb.Locations()[1].ID, RedirectURI: redirect})
		if err != nil {
			t.Fatal(err)
		}
		other, err := r.procs[0].Callback(ctx, res.Code, "")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := r.procs[1].ExpirePending(ctx); err != nil || n != 0 {
			t.Fatalf("expired %d at once (%v)", n, err)
		}
		r.shift.Store(int64(PendingLife + time.Minute))
		if n, err := r.procs[1].ExpirePending(ctx); err != nil || n != 1 {
			t.Fatalf("expired %d after a day (%v)", n, err)
		}
		if _, err := r.procs[0].Claim(ctx, access.Host("test"), other.Pending); !errors.Is(err, rankr.ErrNotFound) {
			t.Fatalf("claimed after it expired: %v", err)
		}
	})
}

// Two processes × 50 calls at expiry make exactly one refresh call.
func TestOneRefreshAcrossProcesses(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		r := newRig(t, open, sandbox.Config{Locations: 1, Orders: 1})
		loc := r.sb.Locations()[0].ID
		r.install(false, sandbox.AuthorizeRequest{LocationID: loc})
		r.shift.Store(int64(24 * time.Hour)) // every process sees the token at its expiry
		var wg sync.WaitGroup
		tokens := make([]string, 100)
		for i := range tokens {
			wg.Go(func() {
				tok, err := r.procs[i%2].Token(ctx, loc)
				if err != nil {
					t.Error(err)
				}
				tokens[i] = tok
			})
		}
		wg.Wait()
		if n := r.refreshCalls(); n != 1 {
			t.Fatalf("%d refresh calls for 100 callers in 2 processes, want 1 (%v)", n, r.sb.Stats().TokenCalls)
		}
		for _, tok := range tokens {
			if tok != tokens[0] {
				t.Fatal("callers got different tokens")
			}
		}
		if err := r.listOrders(r.procs[1], loc); err != nil {
			t.Fatal(err)
		}
	})
}

// A token endpoint that takes 15 s still gets one refresh: the other
// process waits for it rather than refreshing with the same token.
func TestSlowTokenEndpointOneRefresh(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		r := newRig(t, open, sandbox.Config{Locations: 1, Orders: 1})
		loc := r.sb.Locations()[0].ID
		r.install(false, sandbox.AuthorizeRequest{LocationID: loc})
		if err := r.sb.SetFaults(sandbox.Faults{TokenDelay: sandbox.Duration(15 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		r.shift.Store(int64(24 * time.Hour))
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				if _, err := r.procs[i%2].Token(ctx, loc); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := r.refreshCalls(); n != 1 {
			t.Fatalf("%d refresh calls, want 1 (%v)", n, r.sb.Stats().TokenCalls)
		}
	})
}

// A refresh whose answer is lost after GHL rotated the pair: a location of
// an agency install gets a new token minted from the company's; a location
// installed on its own needs the app reinstalled, which is said once.
func TestLostRefreshAnswer(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		r := newRig(t, open, sandbox.Config{Locations: 4, Orders: 1, Companies: 1})
		locs := r.sb.Locations()
		company := locs[0].CompanyID
		got := r.install(true, sandbox.AuthorizeRequest{CompanyID: company, Locations: []string{locs[0].ID, locs[1].ID, locs[2].ID}, Bulk: true})
		if got.Minting != 3 {
			t.Fatalf("installed %+v", got)
		}
		derived := locs[1].ID
		if err := r.listOrders(r.procs[0], derived); err != nil {
			t.Fatal(err)
		}
		if err := r.sb.SetFaults(sandbox.Faults{TokenDropAfterRotate: 1}); err != nil {
			t.Fatal(err)
		}
		r.shift.Store(int64(24 * time.Hour))
		if _, err := r.procs[1].Token(ctx, derived); err != nil {
			t.Fatalf("a derived location after a lost refresh: %v", err)
		}
		if err := r.listOrders(r.procs[1], derived); err != nil {
			t.Fatalf("the re-minted token: %v", err)
		}

		// A location installed on its own.
		r.shift.Store(0)
		own := locs[3].ID
		r.install(false, sandbox.AuthorizeRequest{LocationID: own})
		if err := r.sb.SetFaults(sandbox.Faults{TokenDropAfterRotate: 1}); err != nil {
			t.Fatal(err)
		}
		r.shift.Store(int64(48 * time.Hour))
		if _, err := r.procs[0].Token(ctx, own); !errors.Is(err, ErrReauthRequired) {
			t.Fatalf("a lost refresh of a direct install: %v", err)
		}
		calls := r.sb.Stats().TokenCalls
		if _, err := r.procs[1].Token(ctx, own); !errors.Is(err, ErrReauthRequired) {
			t.Fatalf("again: %v", err)
		}
		if fmt.Sprint(r.sb.Stats().TokenCalls) != fmt.Sprint(calls) {
			t.Errorf("a token needing reauth was tried again: %v then %v", calls, r.sb.Stats().TokenCalls)
		}
		conn, _ := r.st.ConnectionGet(ctx, own)
		if conn.State != rankr.StateReauthRequired || !strings.Contains(conn.StateMessage, "reinstall") {
			t.Errorf("connection %s: %s", conn.State, conn.StateMessage)
		}
		n := 0
		for _, e := range storetest.Events(t, r.st, own) {
			if e.Kind == "connection.oauth_"+rankr.TokenReauthRequired {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d reauth events, want 1", n)
		}
	})
}

// "Location is not active" keeps the token, and tries again an hour on.
func TestInactiveLocationKeepsItsToken(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		r := newRig(t, open, sandbox.Config{Locations: 1, Orders: 1})
		loc := r.sb.Locations()[0].ID
		r.install(false, sandbox.AuthorizeRequest{LocationID: loc})
		if err := r.sb.SetLocationActive(loc, false); err != nil {
			t.Fatal(err)
		}
		r.shift.Store(int64(24 * time.Hour))
		if _, err := r.procs[0].Token(ctx, loc); !errors.Is(err, ErrInactive) {
			t.Fatalf("an inactive location: %v", err)
		}
		calls := fmt.Sprint(r.sb.Stats().TokenCalls)
		if _, err := r.procs[1].Token(ctx, loc); !errors.Is(err, ErrInactive) || fmt.Sprint(r.sb.Stats().TokenCalls) != calls {
			t.Fatalf("within the hour: %v, calls %v then %v", err, calls, r.sb.Stats().TokenCalls)
		}
		if err := r.sb.SetLocationActive(loc, true); err != nil {
			t.Fatal(err)
		}
		r.shift.Add(int64(time.Hour + time.Minute))
		if _, err := r.procs[1].Token(ctx, loc); err != nil {
			t.Fatalf("after reactivation: %v", err)
		}
		if err := r.listOrders(r.procs[0], loc); err != nil {
			t.Fatal(err)
		}
		conn, _ := r.st.ConnectionGet(ctx, loc)
		if conn.State != rankr.StateActive {
			t.Errorf("connection %s", conn.State)
		}
	})
}

// An agency's bulk install of 500 locations mints 500 location tokens
// within the company's budget of 100 requests per window.
func TestBulkInstallStaysInsideTheBudget(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		// GHL's 100 per 10 s, with the window shortened to keep the test
		// short; the governor is told the same.
		limits := sandbox.RateLimit{Burst: 100, Interval: 500 * time.Millisecond, Daily: 1_000_000}
		r := newRig(t, open, sandbox.Config{Locations: 500, Orders: 0, Companies: 1, RateLimit: limits})
		for _, m := range r.procs {
			m.cfg.GHL = append(m.cfg.GHL, ghl.WithLimits(ghl.Limits{Burst: 100, Interval: 500 * time.Millisecond, Daily: 1_000_000}))
		}
		// The job queue's workers: 32 at once.
		r.procs[0].SetEnqueue(func(ctx context.Context, company string, locs []string) error {
			var wg sync.WaitGroup
			work := make(chan string)
			for range 32 {
				wg.Go(func() {
					for l := range work {
						if err := r.procs[0].MintLocation(ctx, company, l); err != nil {
							t.Error(err)
						}
					}
				})
			}
			for _, l := range locs {
				work <- l
			}
			close(work)
			wg.Wait()
			return nil
		})
		company := r.sb.Locations()[0].CompanyID
		got := r.install(true, sandbox.AuthorizeRequest{CompanyID: company, ApproveAll: true, Bulk: true})
		if got.Minting != 500 {
			t.Fatalf("minting %d", got.Minting)
		}
		toks, _ := r.st.OAuthTokenList(ctx, store.OAuthTokenListParams{CompanyID: company})
		if len(toks) != 501 {
			t.Fatalf("%d tokens, want 500 locations + the company's", len(toks))
		}
		cs := r.sb.Stats().Companies[company]
		if cs.PeakWindow > 100 || cs.Refused > 0 {
			t.Fatalf("company calls %+v: over the budget", cs)
		}
		conns, _ := r.st.ConnectionList(ctx)
		if len(conns) != 500 {
			t.Fatalf("%d connections", len(conns))
		}
	})
}

// An INSTALL that comes before the code exchange is parked, then minted;
// a company's UNINSTALL removes its token and every one minted from it.
func TestAgencyInstallEvents(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		r := newRig(t, open, sandbox.Config{Locations: 4, Orders: 2, Companies: 1})
		locs := r.sb.Locations()
		company := locs[0].CompanyID
		m := r.procs[0]
		code, state := r.consent(true, sandbox.AuthorizeRequest{CompanyID: company, Locations: []string{locs[0].ID, locs[1].ID, locs[2].ID}, Bulk: true})
		// The agency adds a fourth location, and its INSTALL webhook comes
		// before the browser is back with the code.
		if err := r.sb.AddInstalledLocation(company, locs[3].ID); err != nil {
			t.Fatal(err)
		}
		if handled, err := m.AppInstalled(ctx, company, locs[3].ID); err != nil || !handled {
			t.Fatalf("an early INSTALL: %v %v", handled, err)
		}
		got := r.callback(code, state)
		if got.Minting != 4 {
			t.Fatalf("minted %d, want the 3 installed and the parked one", got.Minting)
		}
		if err := r.listOrders(m, locs[3].ID); err != nil {
			t.Fatalf("the parked location: %v", err)
		}
		// Records synced stay after the uninstall.
		if _, err := r.st.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: locs[1].ID, Orders: []store.OrderVersion{{Order: rankr.Order{
			ID: "o1", LocationID: locs[1].ID, Currency: "USD", Status: "completed", CreatedAt: time.Now(), UpdatedAt: time.Now()}}}}); err != nil {
			t.Fatal(err)
		}
		suspended, err := m.AppUninstalled(ctx, company, "")
		if err != nil || len(suspended) != 4 {
			t.Fatalf("uninstall suspended %v (%v)", suspended, err)
		}
		if toks, _ := r.st.OAuthTokenList(ctx, store.OAuthTokenListParams{CompanyID: company}); len(toks) != 0 {
			t.Fatalf("%d tokens left", len(toks))
		}
		if _, err := r.procs[1].Token(ctx, locs[1].ID); !errors.Is(err, rankr.ErrNotFound) {
			t.Fatalf("a token after the uninstall: %v", err)
		}
		if o, err := r.st.OrderGet(ctx, locs[1].ID, "o1"); err != nil || o.ID != "o1" {
			t.Fatalf("the synced order: %v", err)
		}
		conn, _ := r.st.ConnectionGet(ctx, locs[1].ID)
		if conn.State != rankr.StateSuspended {
			t.Errorf("connection %s", conn.State)
		}
		if _, err := m.AppUninstalled(ctx, company, ""); !errors.Is(err, rankr.ErrNotFound) {
			t.Errorf("a second uninstall: %v", err)
		}
	})
}

// An install that grants fewer scopes than needed says which.
func TestMissingScopesNamed(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		r := newRig(t, open, sandbox.Config{Locations: 1, Orders: 1})
		if err := r.sb.SetFaults(sandbox.Faults{DropScopes: []string{ghl.ScopeTransactionsRead}}); err != nil {
			t.Fatal(err)
		}
		loc := r.sb.Locations()[0].ID
		got := r.install(false, sandbox.AuthorizeRequest{LocationID: loc})
		if fmt.Sprint(got.Missing) != "["+ghl.ScopeTransactionsRead+"]" {
			t.Fatalf("missing %v", got.Missing)
		}
		conn, _ := r.st.ConnectionGet(ctx, loc)
		if conn.State != rankr.StateMissingScope || !strings.Contains(conn.StateMessage, ghl.ScopeTransactionsRead) {
			t.Fatalf("connection %s: %s", conn.State, conn.StateMessage)
		}
	})
}

// An access token GHL stops taking before its expiry (a reinstall, say) is
// refreshed on its first 401, and the request goes again: once.
func TestRefusedAccessTokenIsRefreshed(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
		r := newRig(t, open, sandbox.Config{Locations: 1, Orders: 1})
		loc := r.sb.Locations()[0].ID
		r.install(false, sandbox.AuthorizeRequest{LocationID: loc})
		for _, m := range r.procs { // both processes hold the token
			if err := r.listOrders(m, loc); err != nil {
				t.Fatal(err)
			}
		}
		if n := r.sb.ExpireAccessTokens(loc, ""); n == 0 {
			t.Fatal("the sandbox expired no token")
		}
		if err := r.listOrders(r.procs[0], loc); err != nil {
			t.Fatalf("after GHL refused the token: %v", err)
		}
		if n := r.refreshCalls(); n != 1 {
			t.Fatalf("%d refresh calls, want 1", n)
		}
		// The other process's cached token is refused too; the token the
		// first stored is what it tries next, with no refresh of its own.
		if err := r.listOrders(r.procs[1], loc); err != nil {
			t.Fatal(err)
		}
		if n := r.refreshCalls(); n != 1 {
			t.Fatalf("%d refresh calls after the second process, want 1", n)
		}
	})
}
