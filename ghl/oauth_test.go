package ghl_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

func TestAuthorizeURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ host, want string }{
		{ghl.MarketplaceHost, "https://marketplace.gohighlevel.com/v2/oauth/chooselocation?"},
		{"marketplace.leadconnectorhq.com", "https://marketplace.leadconnectorhq.com/v2/oauth/chooselocation?"},
		{"http://127.0.0.1:8090/", "http://127.0.0.1:8090/v2/oauth/chooselocation?"},
	} {
		got := ghl.AuthorizeURL(tc.host, "app-x", "https://rankr.example/cb?a=1", []string{ghl.ScopeOrdersRead, ghl.ScopeInvoicesRead}, "n0nce")
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("AuthorizeURL(%q) = %q", tc.host, got)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != "app-x" || q.Get("redirect_uri") != "https://rankr.example/cb?a=1" ||
			q.Get("scope") != "payments/orders.readonly invoices.readonly" || q.Get("state") != "n0nce" || strings.Contains(got, "+") {
			t.Errorf("AuthorizeURL query %q", u.RawQuery)
		}
	}
	if got := ghl.AuthorizeURL(ghl.MarketplaceHost, "a", "http://x", []string{"s"}, ""); strings.Contains(got, "state") {
		t.Errorf("no state: %q", got)
	}
}

// oauthSandbox is a sandbox with an OAuth client and the app's credentials.
func oauthSandbox(t *testing.T, cfg sandbox.Config, opts ...ghl.Option) (*sandbox.Server, *ghl.OAuth, ghl.OAuthApp) {
	t.Helper()
	sb, base := startSandbox(t, cfg)
	info := sb.OAuthApp()
	app := ghl.OAuthApp{ClientID: info.ClientID, ClientSecret: ghl.ClientSecret(info.ClientSecrets[0])}
	return sb, ghl.NewOAuth(append([]ghl.Option{ghl.WithBaseURL(base), fastRetries}, opts...)...), app
}

func authorize(t *testing.T, sb *sandbox.Server, req sandbox.AuthorizeRequest) string {
	t.Helper()
	res, err := sb.Authorize(req)
	if err != nil {
		t.Fatal(err)
	}
	return res.Code
}

// noSecrets fails when s holds any of the secrets.
func noSecrets(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Errorf("%q leaks a secret", s)
		}
	}
}

func TestOAuthExchangeAndRefresh(t *testing.T) {
	t.Parallel()
	sb, o, app := oauthSandbox(t, sandbox.Config{Seed: 31, Orders: 5})
	loc := sb.Locations()[0]
	ctx := t.Context()
	code := authorize(t, sb, sandbox.AuthorizeRequest{LocationID: loc.ID, RedirectURI: "http://127.0.0.1/cb",
		Scopes: []string{ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead}})
	before := time.Now()
	tok, err := o.ExchangeCode(ctx, app, code, "http://127.0.0.1/cb", ghl.UserLocation)
	if err != nil {
		t.Fatal(err)
	}
	if tok.UserType != ghl.UserLocation || tok.LocationID != loc.ID || tok.CompanyID != loc.CompanyID || tok.ExpiresIn != 86399 ||
		tok.TokenType != "Bearer" || !tok.HasScope(ghl.ScopeTransactionsRead) || tok.HasScope(ghl.ScopeInvoicesRead) || tok.UserID == "" {
		t.Errorf("token %+v", tok)
	}
	if d := tok.Expiry.Sub(before.Add(86399 * time.Second)); d < 0 || d > 5*time.Second {
		t.Errorf("Expiry %s is not about now + 86399 s", tok.Expiry)
	}
	// The token is a real sandbox token.
	c := newClient(o.BaseURL(), tok.AccessToken)
	if _, err := c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: loc.ID, Limit: 1}); err != nil {
		t.Errorf("ListOrders with the OAuth token: %v", err)
	}
	_, err = c.ListInvoices(ctx, ghl.ListInvoicesParams{LocationID: loc.ID})
	if !errors.Is(err, ghl.ErrMissingScope) {
		t.Errorf("ListInvoices without its scope: %v", err)
	}

	// Printing never shows a token or the secret.
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%+v %#v", tok, tok), fmt.Sprintf("%v %+v %#v", app, app, app)} {
		noSecrets(t, s, tok.AccessToken, tok.RefreshToken, string(app.ClientSecret))
	}

	// The code is single-use.
	_, err = o.ExchangeCode(ctx, app, code, "", ghl.UserLocation)
	if !errors.Is(err, ghl.ErrInvalidGrant) || errors.Is(err, ghl.ErrOutcomeUnknown) {
		t.Errorf("a replayed code: %v", err)
	}
	noSecrets(t, err.Error(), code, string(app.ClientSecret))

	next, err := o.Refresh(ctx, app, tok.RefreshToken, ghl.UserLocation)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken || next.LocationID != loc.ID {
		t.Errorf("refresh did not rotate: %v", next)
	}
	_, err = o.Refresh(ctx, app, tok.RefreshToken, ghl.UserLocation)
	var gerr *ghl.Error
	if !errors.Is(err, ghl.ErrInvalidGrant) || !errors.As(err, &gerr) || gerr.Message != "Invalid grant: refresh token is invalid" ||
		gerr.StatusCode != 400 || gerr.Attempts != 1 {
		t.Errorf("reusing a spent refresh token: %v", err)
	}
	noSecrets(t, err.Error(), tok.RefreshToken, string(app.ClientSecret))

	// A wrong secret is named, never shown.
	bad := app
	bad.ClientSecret = "not-the-secret"
	_, err = o.Refresh(ctx, bad, next.RefreshToken, ghl.UserLocation)
	if !errors.Is(err, ghl.ErrInvalidParameter) || !strings.Contains(err.Error(), "clientSecret") {
		t.Errorf("a wrong secret: %v", err)
	}
	noSecrets(t, err.Error(), "not-the-secret", next.RefreshToken)
	_, err = o.Refresh(ctx, ghl.OAuthApp{ClientSecret: app.ClientSecret}, next.RefreshToken, ghl.UserLocation)
	if !errors.Is(err, ghl.ErrMissingParameter) {
		t.Errorf("no client id: %v", err)
	}
}

func TestOAuthRefreshFailures(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) (*sandbox.Server, *ghl.OAuth, ghl.OAuthApp, ghl.TokenResponse) {
		sb, o, app := oauthSandbox(t, sandbox.Config{Seed: 32})
		tok, err := o.ExchangeCode(t.Context(), app, authorize(t, sb, sandbox.AuthorizeRequest{LocationID: sb.Locations()[0].ID}), "", ghl.UserLocation)
		if err != nil {
			t.Fatal(err)
		}
		return sb, o, app, tok
	}
	t.Run("lost reply", func(t *testing.T) {
		t.Parallel()
		sb, o, app, tok := setup(t)
		_ = sb.SetFaults(sandbox.Faults{TokenDropAfterRotate: 1})
		_, err := o.Refresh(t.Context(), app, tok.RefreshToken, ghl.UserLocation)
		var gerr *ghl.Error
		if !errors.Is(err, ghl.ErrOutcomeUnknown) || errors.Is(err, ghl.ErrInvalidGrant) || !errors.As(err, &gerr) || gerr.Err == nil {
			t.Fatalf("a refresh whose reply was lost: %v", err)
		}
		noSecrets(t, err.Error(), tok.RefreshToken, string(app.ClientSecret))
		// Sent once, never retried: the token it spent is gone.
		if st := sb.Stats().TokenCalls; st["refresh_token drop"] != 1 || st["refresh_token 200"] != 0 || st["refresh_token 400"] != 0 {
			t.Errorf("token calls %v", st)
		}
	})
	t.Run("429 is retried", func(t *testing.T) {
		t.Parallel()
		sb, o, app, tok := setup(t)
		_ = sb.SetFaults(sandbox.Faults{Token429: 2})
		if _, err := o.Refresh(t.Context(), app, tok.RefreshToken, ghl.UserLocation); err != nil {
			t.Fatal(err)
		}
		if st := sb.Stats().TokenCalls; st["refresh_token 429"] != 2 || st["refresh_token 200"] != 1 {
			t.Errorf("token calls %v", st)
		}
	})
	t.Run("location inactive", func(t *testing.T) {
		t.Parallel()
		sb, o, app, tok := setup(t)
		loc := sb.Locations()[0].ID
		_ = sb.SetLocationActive(loc, false)
		_, err := o.Refresh(t.Context(), app, tok.RefreshToken, ghl.UserLocation)
		if !errors.Is(err, ghl.ErrLocationInactive) || errors.Is(err, ghl.ErrInvalidGrant) {
			t.Fatalf("inactive: %v", err)
		}
		_ = sb.SetLocationActive(loc, true)
		if _, err := o.Refresh(t.Context(), app, tok.RefreshToken, ghl.UserLocation); err != nil {
			t.Errorf("the same refresh token after reactivation: %v", err)
		}
	})
	t.Run("slow endpoint and the caller's deadline", func(t *testing.T) {
		t.Parallel()
		sb, o, app, tok := setup(t)
		_ = sb.SetFaults(sandbox.Faults{TokenDelay: sandbox.Duration(15 * time.Second)})
		ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
		defer cancel()
		_, err := o.Refresh(ctx, app, tok.RefreshToken, ghl.UserLocation)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ghl.ErrOutcomeUnknown) {
			t.Fatalf("a refresh past the deadline: %v", err)
		}
		_ = sb.SetFaults(sandbox.Faults{})
		// The sandbox gave up before the work, so the token still works;
		// a client cannot know that, which is why the error says unknown.
		if _, err := o.Refresh(t.Context(), app, tok.RefreshToken, ghl.UserLocation); err != nil {
			t.Errorf("after the abandoned refresh: %v", err)
		}
	})
}

func TestOAuthCompanyCalls(t *testing.T) {
	t.Parallel()
	sb, o, app := oauthSandbox(t, sandbox.Config{Seed: 33, Locations: 5, Companies: 1}, ghl.WithPageSize(2))
	locs := sb.Locations()
	company := locs[0].CompanyID
	ctx := t.Context()
	code := authorize(t, sb, sandbox.AuthorizeRequest{CompanyID: company, Bulk: true,
		Locations: []string{locs[0].ID, locs[1].ID, locs[3].ID, locs[4].ID}})
	ct, err := o.ExchangeCode(ctx, app, code, "", ghl.UserCompany)
	if err != nil {
		t.Fatal(err)
	}
	if ct.UserType != ghl.UserCompany || !ct.IsBulkInstallation || len(ct.ApprovedLocations) != 4 || ct.LocationID != "" {
		t.Errorf("company token %v %v", ct, ct.ApprovedLocations)
	}
	var ids []string
	for l, err := range o.InstalledLocations(ctx, ct.AccessToken, company, app.AppID()) {
		if err != nil {
			t.Fatal(err)
		}
		if !l.IsInstalled {
			t.Errorf("%+v is not installed", l)
		}
		ids = append(ids, l.ID)
	}
	if want := []string{locs[0].ID, locs[1].ID, locs[3].ID, locs[4].ID}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("installed locations %v, want %v", ids, want)
	}
	if calls := sb.Stats().Companies[company].Requests["InstalledLocations 200"]; calls != 2 {
		t.Errorf("%d pages fetched, want 2 of 2", calls)
	}
	lt, err := o.LocationToken(ctx, ct.AccessToken, company, locs[3].ID)
	if err != nil {
		t.Fatal(err)
	}
	if lt.LocationID != locs[3].ID || lt.RefreshToken == "" || lt.AppID != app.AppID() || lt.UserType != ghl.UserLocation {
		t.Errorf("location token %v", lt)
	}
	if _, err := newClient(o.BaseURL(), lt.AccessToken).ListOrders(ctx, ghl.ListOrdersParams{LocationID: locs[3].ID}); err != nil {
		t.Errorf("ListOrders with a minted token: %v", err)
	}
	// Its refresh token is a Location one.
	if _, err := o.Refresh(ctx, app, lt.RefreshToken, ghl.UserLocation); err != nil {
		t.Errorf("refreshing a minted token: %v", err)
	}
	_, err = o.LocationToken(ctx, ct.AccessToken, company, locs[2].ID)
	if !errors.Is(err, ghl.ErrInvalidRequest) {
		t.Errorf("a location outside the install: %v", err)
	}
	_, err = o.ListInstalledLocations(ctx, locs[0].Token, ghl.InstalledLocationsParams{CompanyID: company, AppID: app.AppID()})
	if !errors.Is(err, ghl.ErrTokenClass) || errors.Is(err, ghl.ErrMissingScope) {
		t.Errorf("installedLocations with a PIT: %v", err)
	}
	noSecrets(t, err.Error(), locs[0].Token)
}

// A bulk install of 500 locations: minting every location token through a
// shared governor, keyed by the company, stays inside the company's
// budget. The budget's interval is shortened so that the test is quick;
// the sandbox tells the client its real length in the rate-limit headers.
func TestOAuthBulkInstallStaysInBudget(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a few seconds of rate-limited calls")
	}
	const n = 500
	limit := sandbox.RateLimit{Burst: 100, Interval: 500 * time.Millisecond}
	sb, o, app := oauthSandbox(t, sandbox.Config{Seed: 34, Locations: n, Companies: 1, Orders: 0, RateLimit: limit},
		ghl.WithLimits(ghl.Limits{Burst: 100, Interval: 500 * time.Millisecond}))
	company := sb.Locations()[0].CompanyID
	ctx := t.Context()
	ct, err := o.ExchangeCode(ctx, app, authorize(t, sb, sandbox.AuthorizeRequest{CompanyID: company, Bulk: true, ApproveAll: true}), "", ghl.UserCompany)
	if err != nil {
		t.Fatal(err)
	}
	var locs []string
	for l, err := range o.InstalledLocations(ctx, ct.AccessToken, company, app.AppID()) {
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, l.ID)
	}
	if len(locs) != n {
		t.Fatalf("%d installed locations, want %d", len(locs), n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan string)
	for range 32 {
		wg.Go(func() {
			for id := range work {
				if _, err := o.LocationToken(ctx, ct.AccessToken, company, id); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, id := range locs {
		work <- id
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := sb.Stats().Companies[company]
	if st.Requests["LocationToken 200"] != n || st.Refused != 0 || st.PeakWindow > 100 {
		t.Errorf("company budget: %d tokens, %d refused, peak %d in one window (want %d, 0, <= 100)",
			st.Requests["LocationToken 200"], st.Refused, st.PeakWindow, n)
	}
}

// A location token minted from a company token whose refresh reply was
// lost recovers through LocationToken: the company token mints a new one,
// and the lost pair's refresh token is spent.
func TestOAuthDerivedLocationRecovers(t *testing.T) {
	t.Parallel()
	sb, o, app := oauthSandbox(t, sandbox.Config{Seed: 35, Locations: 2, Companies: 1})
	loc := sb.Locations()[1]
	ctx := t.Context()
	ct, err := o.ExchangeCode(ctx, app, authorize(t, sb, sandbox.AuthorizeRequest{CompanyID: loc.CompanyID, Bulk: true}), "", ghl.UserCompany)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := o.LocationToken(ctx, ct.AccessToken, loc.CompanyID, loc.ID)
	if err != nil {
		t.Fatal(err)
	}
	_ = sb.SetFaults(sandbox.Faults{TokenDropAfterRotate: 1})
	if _, err := o.Refresh(ctx, app, lt.RefreshToken, ghl.UserLocation); !errors.Is(err, ghl.ErrOutcomeUnknown) {
		t.Fatalf("lost reply: %v", err)
	}
	if _, err := o.Refresh(ctx, app, lt.RefreshToken, ghl.UserLocation); !errors.Is(err, ghl.ErrInvalidGrant) {
		t.Fatalf("the spent refresh token: %v", err)
	}
	fresh, err := o.LocationToken(ctx, ct.AccessToken, loc.CompanyID, loc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(o.BaseURL(), fresh.AccessToken).ListOrders(ctx, ghl.ListOrdersParams{LocationID: loc.ID}); err != nil {
		t.Errorf("the recovered token: %v", err)
	}
	if _, err := o.Refresh(ctx, app, fresh.RefreshToken, ghl.UserLocation); err != nil {
		t.Errorf("refreshing the recovered token: %v", err)
	}
}
