package doctor_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/doctor"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/vault"
)

// env is a sandbox and a rankr opened on a fresh database, connected to
// the sandbox's first location.
type env struct {
	sb   *sandbox.Server
	url  string
	d    *daemon.Daemon
	loc  sandbox.LocationInfo
	deps doctor.Deps
}

type envConfig struct {
	db      string        // default: a SQLite file
	orders  int           // per location
	token   string        // the connection's token (default: the location's own)
	mail    mailer.Config // Rankr's SMTP server
	handler func(http.Handler) http.Handler
	oauth   bool // connect the location by the OAuth app, not a PIT
}

func newEnv(t *testing.T, c envConfig) *env {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{Seed: 7, Locations: 1, Orders: c.orders,
		RateLimit: sandbox.RateLimit{Burst: 1_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = sb.Handler()
	if c.handler != nil {
		h = c.handler(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() { ts.Close(); sb.Close() })
	sbKey, err := ghl.ParseWebhookKey(sb.WebhookPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := vault.ParseKey(vault.NewKey())
	db := c.db
	if db == "" {
		db = "sqlite:" + filepath.Join(t.TempDir(), "rankr.db")
	}
	d, err := daemon.Open(context.Background(), daemon.Config{DB: db, MasterKey: key, Mail: c.mail,
		Webhook:  intake.Config{Keys: []ed25519.PublicKey{sbKey}},
		Outbound: outbound.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	loc := sb.Locations()[0]
	tok := loc.Token
	if c.token != "" {
		tok = c.token
	}
	if c.oauth {
		installOAuth(t, d, sb, ts.URL, loc.ID)
	} else if _, err := d.Connect(context.Background(), loc.ID, loc.Name, ts.URL, tok); err != nil {
		t.Fatal(err)
	}
	deps := d.DoctorDeps()
	deps.SignWebhook = func(body []byte) string { return ghl.SignWebhook(sb.WebhookSigningKey(), body) }
	return &env{sb: sb, url: ts.URL, d: d, loc: loc, deps: deps}
}

// installOAuth connects a location through the sandbox's marketplace app,
// as a user's install does: the install link, GHL's consent, the callback.
func installOAuth(t *testing.T, d *daemon.Daemon, sb *sandbox.Server, sbURL, loc string) {
	t.Helper()
	ctx := context.Background()
	acc, err := d.OpenAccess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	app := sb.OAuthApp()
	if err := d.OAuth.Configure(ctx, access.Host("test"), rankr.OAuthApp{ClientID: app.ClientID, RedirectURI: "http://127.0.0.1:1/oauth/ghl/callback",
		AuthorizeHost: sbURL, BaseURL: sbURL, Push: true}, app.ClientSecrets[0], acc.Hasher); err != nil {
		t.Fatal(err)
	}
	link, err := d.OAuth.InstallLink(ctx, access.Host("test"), false)
	if err != nil {
		t.Fatal(err)
	}
	lu, _ := url.Parse(link)
	start, err := d.OAuth.Start(ctx, lu.Query().Get("link"))
	if err != nil {
		t.Fatal(err)
	}
	to, _ := url.Parse(start)
	consent, err := sb.Authorize(sandbox.AuthorizeRequest{ClientID: to.Query().Get("client_id"), RedirectURI: to.Query().Get("redirect_uri"),
		Scopes: strings.Fields(to.Query().Get("scope")), State: to.Query().Get("state"), LocationID: loc})
	if err != nil {
		t.Fatal(err)
	}
	back, _ := url.Parse(consent.Redirect)
	if _, err := d.OAuth.Callback(ctx, back.Query().Get("code"), back.Query().Get("state")); err != nil {
		t.Fatal(err)
	}
}

func (e *env) run(t *testing.T, opts doctor.Options) doctor.Report {
	t.Helper()
	r, err := doctor.Run(context.Background(), e.deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// check returns a check of the report, failing the test without it.
func check(t *testing.T, r doctor.Report, id string) doctor.Check {
	t.Helper()
	c, ok := r.Find(id, "")
	if !ok {
		t.Fatalf("the report has no %s check:\n%s", id, show(r))
	}
	return c
}

func show(r doctor.Report) string {
	var b strings.Builder
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  %s %s [%s] %s | %s\n", c.Status, c.ID, c.Location, c.Detail, c.Fix)
	}
	return b.String()
}

// endpoint adds an outbound endpoint to the daemon and returns its id.
func (e *env) endpoint(t *testing.T, url string) string {
	t.Helper()
	ep, _, err := e.d.Webhooks.Add(context.Background(), outbound.AddParams{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	return ep.ID
}

// A healthy sandbox passes every check: the token and every scope, GHL's
// answer and rate headers, the clock, the webhook keys and a signed test
// webhook, the database and its migrations (SQLite and PostgreSQL), the
// SMTP server (mailpit, which gets no mail), and an endpoint. The report
// holds no token.
func TestDoctorHealthySandboxPasses(t *testing.T) {
	t.Parallel()
	mp := mailtest.Open(t)
	dbs := map[string]string{"sqlite": ""}
	if os.Getenv(storetest.PostgresEnv) != "" {
		dbs["postgres"] = storetest.PostgresURL(t)
	}
	for name, db := range dbs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			from := fmt.Sprintf("doctor-%s-%d@shop.example", name, time.Now().UnixNano())
			e := newEnv(t, envConfig{db: db, orders: 20, mail: mailer.Config{URL: "smtp://" + mp.SMTP, From: "Shop <" + from + ">"}})
			sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
			t.Cleanup(sub.Close)
			e.endpoint(t, sub.URL+"/hooks?token=subscriber-secret")

			r := e.run(t, doctor.Options{})
			if !r.OK || r.Summary.Fail+r.Summary.Warn+r.Summary.Skip != 0 {
				t.Fatalf("a healthy sandbox: %+v\n%s", r.Summary, show(r))
			}
			for _, id := range []string{doctor.IDDatabase, doctor.IDMigrations, doctor.IDConnection, doctor.IDToken, doctor.IDScopes,
				doctor.IDGHLAPI, doctor.IDClock, doctor.IDWebhookKey, doctor.IDWebhookTest, doctor.IDSMTP, doctor.IDOutbound} {
				check(t, r, id)
			}
			if c := check(t, r, doctor.IDGHLAPI); !strings.Contains(c.Detail, "burst") || !strings.Contains(c.Detail, "daily") {
				t.Errorf("the GHL check does not tell the rate budget: %s", c.Detail)
			}
			if c := check(t, r, doctor.IDScopes); !strings.Contains(c.Detail, ghl.ScopeOrdersWrite) {
				t.Errorf("the scopes check does not name the write scope: %s", c.Detail)
			}
			b, _ := json.Marshal(r)
			for _, secret := range []string{e.loc.Token, "subscriber-secret", "/hooks"} {
				if strings.Contains(string(b), secret) {
					t.Errorf("the report shows %q", secret)
				}
			}
			// The SMTP check sent nothing: a mail sent after it arrives
			// alone.
			m, err := mailer.New(mailer.Config{URL: "smtp://" + mp.SMTP, From: from})
			if err != nil {
				t.Fatal(err)
			}
			fence := fmt.Sprintf("fence.%d@shop.example", time.Now().UnixNano())
			if err := m.Send(context.Background(), mailer.Message{MessageID: fence, To: netmail.Address{Address: "ops@shop.example"},
				Subject: "fence", Text: "after the doctor"}, nil); err != nil {
				t.Fatal(err)
			}
			if got := mp.WaitFor(t, `from:"`+from+`"`, 1, 30*time.Second); got[0].MessageID != fence {
				t.Fatalf("mailpit got %+v from the doctor's sender", got)
			}
			// No business record and no inbox row came of the test webhook.
			if n, err := e.d.Store.InboxPending(context.Background()); err != nil || n != 0 {
				t.Fatalf("the inbox holds %d webhooks (%v)", n, err)
			}
			if counts, _ := e.d.Store.Counts(context.Background(), e.loc.ID); counts.Orders != 0 || counts.Fulfillments != 0 {
				t.Fatalf("the doctor stored records: %+v", counts)
			}
		})
	}
}

// A token without some scopes is valid, and the scopes check names each
// missing scope with the feature that needs it: a read scope fails, the
// write scope pushes need warns.
func TestDoctorMissingScopesAreNamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{token: "pit-partial"})
	if err := e.sb.AddToken(e.loc.ID, "pit-partial", ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead, ghl.ScopeInvoicesRead); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, doctor.Options{})
	if c := check(t, r, doctor.IDToken); c.Status != doctor.Pass {
		t.Fatalf("the token check: %+v", c)
	}
	c := check(t, r, doctor.IDScopes)
	if c.Status != doctor.Fail || r.OK {
		t.Fatalf("the scopes check: %+v", c)
	}
	for _, want := range []string{ghl.ScopeSubscriptionsRead + " (for syncing subscriptions", ghl.ScopeOrdersWrite + " (for pushing fulfillments"} {
		if !strings.Contains(c.Detail, want) {
			t.Errorf("the scopes check does not say %q: %s", want, c.Detail)
		}
	}
	if strings.Contains(c.Detail, "missing "+ghl.ScopeInvoicesRead) || !strings.Contains(c.Fix, "Private Integration") {
		t.Errorf("the scopes check: %+v", c)
	}
	// The connection is diagnosed, not changed: the syncer would have
	// stopped it.
	if conn, _ := e.d.Store.ConnectionGet(context.Background(), e.loc.ID); conn.State != rankr.StateActive {
		t.Fatalf("the doctor changed the connection to %s", conn.State)
	}

	// With every read scope, the write scope alone is a warning.
	if err := e.sb.AddToken(e.loc.ID, "pit-partial", ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead, ghl.ScopeInvoicesRead,
		ghl.ScopeSubscriptionsRead); err != nil {
		t.Fatal(err)
	}
	r = e.run(t, doctor.Options{})
	if c := check(t, r, doctor.IDScopes); c.Status != doctor.Warn || !strings.Contains(c.Detail, ghl.ScopeOrdersWrite+" (for pushing fulfillments") ||
		strings.Contains(c.Detail, ghl.ScopeSubscriptionsRead+" (for") {
		t.Fatalf("without the write scope: %+v", c)
	}
}

// A token GHL rejects fails the token check, says what to do, and never
// shows the token.
func TestDoctorWrongTokenFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{token: "pit-not-a-real-token"})
	r := e.run(t, doctor.Options{})
	c := check(t, r, doctor.IDToken)
	if c.Status != doctor.Fail || r.OK || c.Location != e.loc.ID || !strings.Contains(c.Detail, "rejected") ||
		!strings.Contains(c.Fix, "rankr connect --location "+e.loc.ID) {
		t.Fatalf("the token check: %+v", c)
	}
	if s := check(t, r, doctor.IDScopes); s.Status != doctor.Skip {
		t.Errorf("scopes with a rejected token: %+v", s)
	}
	if a := check(t, r, doctor.IDGHLAPI); a.Status != doctor.Pass {
		t.Errorf("GHL answered, so it is reachable: %+v", a)
	}
	if b, _ := json.Marshal(r); strings.Contains(string(b), "pit-not-a-real-token") {
		t.Fatal("the report shows the token")
	}
}

// An endpoint nobody listens at is named, with its host and what to do;
// the one that answers is not.
func TestDoctorUnreachableEndpointIsNamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(up.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	good, bad := e.endpoint(t, up.URL), e.endpoint(t, gone+"/rankr")
	r := e.run(t, doctor.Options{})
	c := check(t, r, doctor.IDOutbound)
	if c.Status != doctor.Fail || !strings.Contains(c.Detail, "1 of 2") || !strings.Contains(c.Detail, "unreachable: "+bad+" ("+gone+")") ||
		strings.Contains(c.Detail, "unreachable: "+good) || c.Fix == "" {
		t.Fatalf("the endpoints check: %+v", c)
	}
}

// A clock far from GHL's fails the clock check, and the test webhook,
// stamped with GHL's time, is refused as stale, as GHL's would be; a
// smaller skew warns.
func TestDoctorClockSkewIsDetected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.deps.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	r := e.run(t, doctor.Options{})
	if c := check(t, r, doctor.IDClock); c.Status != doctor.Fail || !strings.Contains(c.Detail, "ahead of GHL's") || !strings.Contains(c.Fix, "NTP") {
		t.Fatalf("the clock check, 10 min ahead: %+v", c)
	}
	if c := check(t, r, doctor.IDWebhookTest); c.Status != doctor.Fail || !strings.Contains(c.Detail, "stale") {
		t.Fatalf("the test webhook, 10 min ahead: %+v", c)
	}

	e.deps.Now = func() time.Time { return time.Now().Add(-time.Minute) }
	r = e.run(t, doctor.Options{})
	if c := check(t, r, doctor.IDClock); c.Status != doctor.Warn || !strings.Contains(c.Detail, "behind GHL's") {
		t.Fatalf("the clock check, a minute behind: %+v", c)
	}
	if c := check(t, r, doctor.IDWebhookTest); c.Status != doctor.Pass {
		t.Fatalf("the test webhook, a minute behind: %+v", c)
	}
}

// The webhook keys must include the sandbox's: without it, the keys check
// names the key to add and the signed test webhook is refused.
func TestDoctorMissingWebhookKeyIsNamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	ghlKey, _ := ghl.ParseWebhookKey(ghl.WebhookPublicKey)
	e.deps.Webhook.Keys = []ed25519.PublicKey{ghlKey}
	r := e.run(t, doctor.Options{})
	if c := check(t, r, doctor.IDWebhookKey); c.Status != doctor.Fail || !strings.Contains(c.Fix, "--webhook-key "+e.sb.WebhookPublicKey()) {
		t.Fatalf("the keys check: %+v", c)
	}
	if c := check(t, r, doctor.IDWebhookTest); c.Status != doctor.Fail || !strings.Contains(c.Detail, "refused (401)") {
		t.Fatalf("the test webhook: %+v", c)
	}

	// Where rankr cannot sign, the test webhook is skipped, saying why.
	e.deps.SignWebhook = nil
	r = e.run(t, doctor.Options{})
	if c := check(t, r, doctor.IDWebhookTest); c.Status != doctor.Skip || !strings.Contains(c.Detail, "cannot sign as GHL") {
		t.Fatalf("the test webhook without a signer: %+v", c)
	}
}

// --test-order on the sandbox creates a test-mode order, syncs it, and
// pushes a test fulfillment that lands in GHL, once.
func TestDoctorTestOrderRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	by := rankr.AuditActor{Type: rankr.ActorSystem, ID: "doctor-test"}
	r := e.run(t, doctor.Options{TestOrder: true, By: &by})
	c := check(t, r, doctor.IDTestOrder)
	if c.Status != doctor.Pass || !r.OK || !strings.Contains(c.Detail, "synced back into Rankr") {
		t.Fatalf("the test order: %+v\n%s", c, show(r))
	}
	tr, err := e.sb.Truth(e.loc.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, o := range tr.Locations[0].Orders {
		for _, f := range o.Fulfillments {
			for _, tk := range f.Trackings {
				if strings.HasPrefix(tk.TrackingNumber, doctor.TestTrackingPrefix) {
					found++
					if o.Item.LiveMode {
						t.Errorf("the test fulfillment went to live order %s", o.Item.ID)
					}
				}
			}
		}
	}
	if found != 1 {
		t.Fatalf("%d test fulfillments in GHL", found)
	}
}

// hideSandbox serves the sandbox's API without its admin paths, as GHL
// would: rankr sees no sandbox.
func hideSandbox(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, sandbox.AdminPrefix) {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Off a sandbox, --test-order takes a test-mode order of the location, and
// is refused where there is none: live orders are never touched.
func TestDoctorTestOrderOnGHL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{handler: hideSandbox})
	r := e.run(t, doctor.Options{TestOrder: true})
	c := check(t, r, doctor.IDTestOrder)
	if c.Status != doctor.Fail || !strings.Contains(c.Detail, "refused") || !strings.Contains(c.Detail, "never touches a live order") {
		t.Fatalf("the test order with no test-mode order: %+v", c)
	}
	live, _, err := e.sb.NewOrder(e.loc.ID, sandbox.OrderSpec{Physical: true})
	if err != nil {
		t.Fatal(err)
	}
	if c := check(t, e.run(t, doctor.Options{TestOrder: true}), doctor.IDTestOrder); c.Status != doctor.Fail || !strings.Contains(c.Detail, "refused") {
		t.Fatalf("the test order with a live order only: %+v", c)
	}
	test, _, err := e.sb.NewOrder(e.loc.ID, sandbox.OrderSpec{Physical: true, Test: true})
	if err != nil {
		t.Fatal(err)
	}
	r = e.run(t, doctor.Options{TestOrder: true})
	if c := check(t, r, doctor.IDTestOrder); c.Status != doctor.Pass || !strings.Contains(c.Detail, "order "+test) {
		t.Fatalf("the test order with a test-mode order: %+v\n%s", c, show(r))
	}
	tr, _ := e.sb.Truth(e.loc.ID)
	for _, o := range tr.Locations[0].Orders {
		if o.Item.ID == live && len(o.Fulfillments) > 0 {
			t.Fatal("the live order was fulfilled")
		}
	}
}

// An OAuth connection's token check tells its expiry; an access token GHL
// stopped taking is refreshed by the check's own call, and an install GHL
// removed fails, saying to install the app again.
func TestDoctorOAuthToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{oauth: true})
	r := e.run(t, doctor.Options{})
	c := check(t, r, doctor.IDToken)
	if c.Status != doctor.Pass || !strings.Contains(c.Detail, "OAuth install") || !strings.Contains(c.Detail, "expires in") {
		t.Fatalf("the OAuth token check: %+v\n%s", c, show(r))
	}
	if s := check(t, r, doctor.IDScopes); s.Status != doctor.Pass || !strings.Contains(s.Detail, "the install granted") {
		t.Fatalf("the OAuth scopes check: %+v", s)
	}
	before, err := e.d.Store.OAuthTokenGet(context.Background(), rankr.LocationTokenID(e.loc.ID))
	if err != nil {
		t.Fatal(err)
	}
	if e.sb.ExpireAccessTokens(e.loc.ID, "") == 0 {
		t.Fatal("no access token to expire")
	}
	if c := check(t, e.run(t, doctor.Options{}), doctor.IDToken); c.Status != doctor.Pass {
		t.Fatalf("the token check after GHL dropped the access token: %+v", c)
	}
	if after, _ := e.d.Store.OAuthTokenGet(context.Background(), rankr.LocationTokenID(e.loc.ID)); after.Generation <= before.Generation {
		t.Fatalf("the access token was not refreshed (generation %d, then %d)", before.Generation, after.Generation)
	}

	if err := e.sb.UninstallLocation(e.loc.ID); err != nil {
		t.Fatal(err)
	}
	c = check(t, e.run(t, doctor.Options{}), doctor.IDToken)
	if c.Status != doctor.Fail || !strings.Contains(c.Fix, "Install the app on location "+e.loc.ID+" again") {
		t.Fatalf("the token check after an uninstall: %+v", c)
	}
}

// An unknown location is an error, not a report.
func TestDoctorUnknownLocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	_, err := doctor.Run(context.Background(), e.deps, doctor.Options{Location: "no-such-location"})
	if !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("an unknown location: %v", err)
	}
}

// Package doctor is used by the CLI and the API, and the daemon fills its
// dependencies: it imports none of them.
func TestDoctorImports(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			for _, banned := range []string{"internal/cli", "internal/api", "internal/web", "internal/daemon", "ghl/sandbox"} {
				if strings.Trim(imp.Path.Value, `"`) == "github.com/rankr/rankr/"+banned {
					t.Errorf("%s imports %s", f, banned)
				}
			}
		}
	}
}
