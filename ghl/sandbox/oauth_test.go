package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// oauthEnv is a sandbox on loopback with its OAuth app.
type oauthEnv struct {
	sb   *sandbox.Server
	base string
	app  sandbox.OAuthAppInfo
	hc   *http.Client
}

func newOAuthEnv(t *testing.T, cfg sandbox.Config) *oauthEnv {
	t.Helper()
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() {
		ts.Close()
		sb.Close()
	})
	return &oauthEnv{sb: sb, base: ts.URL, app: sb.OAuthApp(), hc: ts.Client()}
}

// answer is an HTTP answer, its body decoded when it is JSON.
type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (e *oauthEnv) do(t *testing.T, method, path, token string, contentType string, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Version", "2021-07-28")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

// tokenValue finds the tokens in an answer, to keep them out of test output.
var tokenValue = regexp.MustCompile(`"(access_token|refresh_token|accessToken|refreshToken)":"[^"]*"`)

// show is the answer's body with its tokens redacted.
func (a answer) show() string { return tokenValue.ReplaceAllString(a.raw, `"$1":"[redacted]"`) }

// redact writes a decoded answer with its tokens redacted.
func redact(m map[string]any) string {
	return tokenValue.ReplaceAllString(mustJSONString(m), `"$1":"[redacted]"`)
}

func (e *oauthEnv) token(t *testing.T, form url.Values, hdr ...string) answer {
	t.Helper()
	return e.do(t, "POST", "/oauth/token", "", "application/x-www-form-urlencoded", form.Encode(), hdr...)
}

func (e *oauthEnv) form(grant string, kv ...string) url.Values {
	f := url.Values{"client_id": {e.app.ClientID}, "client_secret": {e.app.ClientSecrets[0]}, "grant_type": {grant}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func (e *oauthEnv) authorize(t *testing.T, req sandbox.AuthorizeRequest) sandbox.AuthorizeResult {
	t.Helper()
	res, err := e.sb.Authorize(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// exchange authorizes req and trades the code for tokens.
func (e *oauthEnv) exchange(t *testing.T, req sandbox.AuthorizeRequest, userType string) map[string]any {
	t.Helper()
	res := e.authorize(t, req)
	a := e.token(t, e.form("authorization_code", "code", res.Code, "user_type", userType))
	if a.status != 200 {
		t.Fatalf("exchanging the code: %d %s", a.status, a.show())
	}
	return a.body
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// listOrders calls a Payments route with token and returns the status.
func (e *oauthEnv) listOrders(t *testing.T, token, locationID string) answer {
	t.Helper()
	return e.do(t, "GET", "/payments/orders?altType=location&altId="+locationID+"&limit=1", token, "", "")
}

// wantError checks an OAuth refusal's status and exact body.
func wantError(t *testing.T, a answer, status int, msg string) {
	t.Helper()
	want, _ := json.Marshal(map[string]any{"message": msg, "statusCode": status})
	if a.status != status || a.raw != string(want) {
		t.Errorf("got %d %s, want %d %s", a.status, a.show(), status, want)
	}
}

func TestOAuthLocationInstall(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, sandbox.Config{Seed: 11, Locations: 2, Orders: 3})
	locs := e.sb.Locations()
	if !strings.HasPrefix(e.app.ClientID, e.app.AppID+"-") || e.app.AccessTTLSeconds != 86399 {
		t.Fatalf("app %+v", e.app)
	}
	res := e.authorize(t, sandbox.AuthorizeRequest{LocationID: locs[0].ID, State: "st-1",
		RedirectURI: "http://127.0.0.1:9/cb", Scopes: []string{ghl.ScopeOrdersRead}})
	u, err := url.Parse(res.Redirect)
	if err != nil || u.Host != "127.0.0.1:9" || u.Query().Get("code") != res.Code || u.Query().Get("state") != "st-1" {
		t.Fatalf("redirect %q", res.Redirect)
	}
	// A redirect URI other than the code's is refused, and does not spend it.
	a := e.token(t, e.form("authorization_code", "code", res.Code, "redirect_uri", "http://127.0.0.1:9/other"))
	wantError(t, a, 400, "Invalid parameter: redirectUri")
	a = e.token(t, e.form("authorization_code", "code", res.Code, "user_type", "Location", "redirect_uri", "http://127.0.0.1:9/cb"))
	if a.status != 200 {
		t.Fatalf("exchange: %d %s", a.status, a.show())
	}
	tb := a.body
	for k, want := range map[string]any{"token_type": "Bearer", "expires_in": 86399.0, "scope": ghl.ScopeOrdersRead,
		"userType": "Location", "locationId": locs[0].ID, "companyId": locs[0].CompanyID, "isBulkInstallation": false} {
		if tb[k] != want {
			t.Errorf("%s = %v, want %v", k, tb[k], want)
		}
	}
	if str(tb, "access_token") == "" || str(tb, "refresh_token") == "" || str(tb, "userId") == "" {
		t.Errorf("token answer lacks tokens or userId: %s", redact(tb))
	}
	if _, ok := tb["approvedLocations"]; ok {
		t.Errorf("a location token has approvedLocations: %s", redact(tb))
	}
	at := str(tb, "access_token")
	if a := e.listOrders(t, at, locs[0].ID); a.status != 200 {
		t.Errorf("ListOrders with the OAuth token: %d %s", a.status, a.show())
	}
	// Exactly the granted scopes and location.
	if a := e.do(t, "GET", "/payments/transactions?altType=location&altId="+locs[0].ID, at, "", ""); a.status != 401 {
		t.Errorf("ListTransactions without its scope: %d %s", a.status, a.show())
	}
	if a := e.listOrders(t, at, locs[1].ID); a.status != 403 {
		t.Errorf("ListOrders of another location: %d %s", a.status, a.show())
	}
	// The INSTALL webhook went out, with GHL's location shape.
	var install map[string]any
	for _, d := range e.sb.Deliveries() {
		if d.Type == ghl.EventInstall {
			_ = json.Unmarshal(d.Body, &install)
		}
	}
	if install["locationId"] != locs[0].ID || install["appId"] != e.app.AppID || install["companyId"] != locs[0].CompanyID ||
		install["userId"] != tb["userId"] {
		t.Errorf("INSTALL webhook %v", install)
	}
}

func TestOAuthRefreshRotates(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, sandbox.Config{Seed: 12, Orders: 2})
	loc := e.sb.Locations()[0]
	tb := e.exchange(t, sandbox.AuthorizeRequest{LocationID: loc.ID}, "Location")
	rt1, at1 := str(tb, "refresh_token"), str(tb, "access_token")

	a := e.token(t, e.form("refresh_token", "refresh_token", rt1, "user_type", "Location"))
	if a.status != 200 {
		t.Fatalf("refresh: %d %s", a.status, a.show())
	}
	rt2, at2 := str(a.body, "refresh_token"), str(a.body, "access_token")
	if rt2 == rt1 || at2 == at1 || rt2 == "" {
		t.Fatalf("refresh did not rotate: %s", a.show())
	}
	wantError(t, e.token(t, e.form("refresh_token", "refresh_token", rt1, "user_type", "Location")), 400,
		"Invalid grant: refresh token is invalid")
	wantError(t, e.token(t, e.form("refresh_token", "refresh_token", "nope")), 400, "Invalid grant: refresh token is invalid")
	// The old access token lasts until it expires; the new one works.
	for _, at := range []string{at1, at2} {
		if a := e.listOrders(t, at, loc.ID); a.status != 200 {
			t.Errorf("ListOrders: %d %s", a.status, a.show())
		}
	}
	// No user_type (as Nango sends it) is accepted; the wrong one is not.
	wantError(t, e.token(t, e.form("refresh_token", "refresh_token", rt2, "user_type", "Company")), 400, "Invalid parameter: userType")
	a = e.token(t, e.form("refresh_token", "refresh_token", rt2))
	if a.status != 200 {
		t.Fatalf("refresh without user_type: %d %s", a.status, a.show())
	}
	// v3: JSON with camelCase names, camelCase answer.
	rt3 := str(a.body, "refresh_token")
	body, _ := json.Marshal(map[string]string{"clientId": e.app.ClientID, "clientSecret": e.app.ClientSecrets[0],
		"grantType": "refresh_token", "refreshToken": rt3, "userType": "Location"})
	a = e.do(t, "POST", "/oauth/token", "", "application/json", string(body), "Version", "v3")
	if a.status != 200 || str(a.body, "accessToken") == "" || str(a.body, "refreshToken") == "" || a.body["expiresIn"] != 86399.0 {
		t.Errorf("v3 JSON refresh: %d %s", a.status, a.show())
	}
	st := e.sb.Stats().TokenCalls
	if st["refresh_token 200"] != 3 || st["refresh_token 400"] != 3 || st["authorization_code 200"] != 1 {
		t.Errorf("token calls %v", st)
	}
}

func TestOAuthCodeReplay(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, sandbox.Config{Seed: 13, Orders: 2})
	loc := e.sb.Locations()[0]
	res := e.authorize(t, sandbox.AuthorizeRequest{LocationID: loc.ID})
	first := e.token(t, e.form("authorization_code", "code", res.Code, "user_type", "Location"))
	if first.status != 200 {
		t.Fatal(first.show())
	}
	wantError(t, e.token(t, e.form("authorization_code", "code", res.Code, "user_type", "Location")), 400,
		"Invalid grant: authorization code is invalid")
	if a := e.listOrders(t, str(first.body, "access_token"), loc.ID); a.status != 200 {
		t.Errorf("the first exchange's access token after a replay: %d", a.status)
	}
	if a := e.token(t, e.form("refresh_token", "refresh_token", str(first.body, "refresh_token"))); a.status != 200 {
		t.Errorf("the first exchange's refresh token after a replay: %d %s", a.status, a.show())
	}
}

func TestOAuthTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, sandbox.Config{Seed: 14, OAuth: sandbox.OAuthApp{ClientSecrets: []string{"old-secret", "new-secret"}}})
	loc := e.sb.Locations()[0]
	for _, tc := range []struct {
		name string
		form url.Values
		msg  string
	}{
		{"no client id", url.Values{"client_secret": {"x"}, "grant_type": {"refresh_token"}}, "Missing parameter: clientId"},
		{"no secret", url.Values{"client_id": {e.app.ClientID}, "grant_type": {"refresh_token"}}, "Missing parameter: clientSecret"},
		{"no grant type", url.Values{"client_id": {e.app.ClientID}, "client_secret": {"old-secret"}}, "Missing parameter: grantType"},
		{"bad grant type", e.form("password"), "Invalid parameter: grantType"},
		{"client credentials", e.form("client_credentials"), "Invalid parameter: grantType"},
		{"unknown client", func() url.Values { f := e.form("refresh_token"); f.Set("client_id", "x-y"); return f }(), "Invalid parameter: clientId"},
		{"wrong secret", func() url.Values { f := e.form("refresh_token"); f.Set("client_secret", "guess"); return f }(), "Invalid parameter: clientSecret"},
		{"bad user type", e.form("refresh_token", "refresh_token", "x", "user_type", "Agency"), "Invalid parameter: userType"},
		{"no refresh token", e.form("refresh_token"), "Missing parameter: refreshToken"},
		{"no code", e.form("authorization_code"), "Missing parameter: code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.token(t, tc.form)
			wantError(t, a, 400, tc.msg)
			if strings.Contains(a.raw, "secret") {
				t.Errorf("an error echoes a secret: %s", a.show())
			}
		})
	}
	// Both secrets of a rotation work.
	for _, secret := range []string{"old-secret", "new-secret"} {
		res := e.authorize(t, sandbox.AuthorizeRequest{LocationID: loc.ID})
		f := e.form("authorization_code", "code", res.Code)
		f.Set("client_secret", secret)
		if a := e.token(t, f); a.status != 200 {
			t.Errorf("secret %s: %d %s", secret, a.status, a.show())
		}
	}
}

// fakeClock is a clock a test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestOAuthAccessTokenExpires(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	e := newOAuthEnv(t, sandbox.Config{Seed: 15, Orders: 2, Clock: clock.Now})
	loc := e.sb.Locations()[0]
	if err := e.sb.SetAccessTTL(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	tb := e.exchange(t, sandbox.AuthorizeRequest{LocationID: loc.ID}, "Location")
	if tb["expires_in"] != 90.0 {
		t.Errorf("expires_in %v, want 90", tb["expires_in"])
	}
	at := str(tb, "access_token")
	clock.Add(89 * time.Second)
	if a := e.listOrders(t, at, loc.ID); a.status != 200 {
		t.Errorf("before expiry: %d", a.status)
	}
	clock.Add(time.Second)
	a := e.listOrders(t, at, loc.ID)
	if a.status != 401 || a.body["message"] != "Invalid token: access token is invalid" {
		t.Errorf("after expiry: %d %s", a.status, a.show())
	}
	// The refresh token outlives it.
	if a := e.token(t, e.form("refresh_token", "refresh_token", str(tb, "refresh_token"))); a.status != 200 {
		t.Errorf("refresh after the access token expired: %d %s", a.status, a.show())
	}
	// An authorization code lasts 10 minutes.
	res := e.authorize(t, sandbox.AuthorizeRequest{LocationID: loc.ID})
	clock.Add(10 * time.Minute)
	wantError(t, e.token(t, e.form("authorization_code", "code", res.Code)), 400, "Invalid grant: authorization code is invalid")
	// The admin API expires tokens on demand.
	tb = e.exchange(t, sandbox.AuthorizeRequest{LocationID: loc.ID}, "Location")
	if n := e.sb.ExpireAccessTokens(loc.ID, ""); n != 1 {
		t.Errorf("expired %d tokens, want the 1 still live", n)
	}
	if a := e.listOrders(t, str(tb, "access_token"), loc.ID); a.status != 401 {
		t.Errorf("after ExpireAccessTokens: %d", a.status)
	}
}

// companyEnv is a company with locations, installed in bulk on some.
func companyEnv(t *testing.T, locations int, cfg sandbox.Config) (*oauthEnv, string, []sandbox.LocationInfo) {
	t.Helper()
	cfg.Locations, cfg.Companies = locations, 1
	e := newOAuthEnv(t, cfg)
	locs := e.sb.Locations()
	return e, locs[0].CompanyID, locs
}

func TestOAuthCompanyInstall(t *testing.T) {
	t.Parallel()
	e, company, locs := companyEnv(t, 5, sandbox.Config{Seed: 16, Orders: 1})
	approved := []string{locs[0].ID, locs[1].ID, locs[2].ID}
	res := e.authorize(t, sandbox.AuthorizeRequest{CompanyID: company, Bulk: true, Locations: approved})
	if res.Webhooks != 4 {
		t.Errorf("%d INSTALL webhooks, want 1 for the company and 3 for the locations", res.Webhooks)
	}
	// A company code is for a company token.
	wantError(t, e.token(t, e.form("authorization_code", "code", res.Code, "user_type", "Location")), 400, "Invalid parameter: userType")
	a := e.token(t, e.form("authorization_code", "code", res.Code, "user_type", "Company"))
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.show())
	}
	ct := a.body
	if ct["userType"] != "Company" || ct["companyId"] != company || ct["isBulkInstallation"] != true || ct["locationId"] != nil {
		t.Errorf("company token %s", redact(ct))
	}
	var got []string
	for _, v := range ct["approvedLocations"].([]any) {
		got = append(got, v.(string))
	}
	slices.Sort(approved)
	if !slices.Equal(got, approved) {
		t.Errorf("approvedLocations %v, want %v", got, approved)
	}
	if !strings.Contains(str(ct, "scope"), "oauth.write") {
		t.Errorf("scope %q lacks oauth.write", ct["scope"])
	}
	cat := str(ct, "access_token")
	if a := e.listOrders(t, cat, locs[0].ID); a.status != 403 {
		t.Errorf("a company token on a location route: %d", a.status)
	}

	lt := func(token, loc string) answer {
		return e.do(t, "POST", "/oauth/locationToken", token, "application/x-www-form-urlencoded",
			url.Values{"companyId": {company}, "locationId": {loc}}.Encode())
	}
	a = lt(cat, locs[1].ID)
	if a.status != 200 || a.body["locationId"] != locs[1].ID || a.body["userType"] != "Location" ||
		str(a.body, "refresh_token") == "" || a.body["appId"] != e.app.AppID || str(a.body, "versionId") == "" {
		t.Fatalf("locationToken: %d %s", a.status, a.show())
	}
	if b := e.listOrders(t, str(a.body, "access_token"), locs[1].ID); b.status != 200 {
		t.Errorf("a minted location token: %d", b.status)
	}
	// Its refresh token refreshes as a Location token.
	if b := e.token(t, e.form("refresh_token", "refresh_token", str(a.body, "refresh_token"), "user_type", "Location")); b.status != 200 {
		t.Errorf("refreshing a minted location token: %d %s", b.status, b.show())
	}
	wantError(t, lt(cat, locs[3].ID), 400, "The app is not installed on this location.")
	if a := lt(str(a.body, "access_token"), locs[1].ID); a.status != 401 {
		t.Errorf("locationToken with a location token: %d %s", a.status, a.show())
	}
	if a := lt(locs[0].Token, locs[1].ID); a.status != 401 {
		t.Errorf("locationToken with a PIT: %d %s", a.status, a.show())
	}
	v3 := e.do(t, "POST", "/oauth/location-token", cat, "application/x-www-form-urlencoded",
		url.Values{"companyId": {company}, "locationId": {locs[2].ID}}.Encode(), "Version", "v3")
	if v3.status != 200 || str(v3.body, "accessToken") == "" || str(v3.body, "refreshToken") == "" {
		t.Errorf("v3 location-token: %d %s", v3.status, v3.show())
	}

	// A 4th location joins the install later, with its INSTALL webhook.
	before := len(e.sb.Deliveries())
	if err := e.sb.AddInstalledLocation(company, locs[3].ID); err != nil {
		t.Fatal(err)
	}
	ds := e.sb.Deliveries()
	if len(ds) != before+1 || ds[len(ds)-1].Type != ghl.EventInstall || ds[len(ds)-1].LocationID != locs[3].ID {
		t.Errorf("deliveries after AddInstalledLocation: %d, last %+v", len(ds)-before, ds[len(ds)-1])
	}
	if a := lt(cat, locs[3].ID); a.status != 200 {
		t.Errorf("locationToken for the added location: %d %s", a.status, a.show())
	}

	// installedLocations pages with skip and limit.
	il := func(q string, hdr ...string) answer {
		return e.do(t, "GET", "/oauth/installedLocations?companyId="+company+"&appId="+e.app.AppID+q, cat, "", "", hdr...)
	}
	var ids []string
	for skip := 0; ; skip += 3 {
		a := il("&isInstalled=true&limit=3&skip=" + strconv.Itoa(skip))
		if a.status != 200 || a.body["count"] != 4.0 {
			t.Fatalf("installedLocations: %d %s", a.status, a.show())
		}
		page := a.body["locations"].([]any)
		for _, l := range page {
			m := l.(map[string]any)
			if m["isInstalled"] != true || str(m, "installedAt") == "" || str(m, "address") == "" {
				t.Errorf("entry %v", m)
			}
			ids = append(ids, str(m, "_id"))
		}
		if len(page) < 3 {
			break
		}
	}
	if len(ids) != 4 {
		t.Errorf("installed locations %v, want 4", ids)
	}
	if a := il(""); a.body["count"] != 5.0 {
		t.Errorf("every location of the company: %s", a.show())
	}
	if a := il("&isInstalled=false"); a.body["count"] != 1.0 {
		t.Errorf("locations without the app: %s", a.show())
	}
	if a := il("&limit=101"); a.status != 422 {
		t.Errorf("limit 101: %d %s", a.status, a.show())
	}
	if a := e.do(t, "GET", "/oauth/installedLocations?companyId="+company+"&appId="+e.app.AppID, locs[0].Token, "", ""); a.status != 401 {
		t.Errorf("installedLocations with a PIT: %d %s", a.status, a.show())
	}
	if a := e.do(t, "GET", "/oauth/installedLocations?companyId=other&appId="+e.app.AppID, cat, "", ""); a.status != 403 {
		t.Errorf("another company: %d %s", a.status, a.show())
	}
	// v3 pages with pageSize and an opaque pageToken.
	var v3ids []string
	tok := ""
	for range 10 {
		a := e.do(t, "GET", "/oauth/installed-locations?isInstalled=true&pageSize=3&companyId="+company+"&appId="+e.app.AppID+
			"&pageToken="+tok, cat, "", "", "Version", "v3")
		if a.status != 200 {
			t.Fatalf("installed-locations: %d %s", a.status, a.show())
		}
		for _, l := range a.body["items"].([]any) {
			v3ids = append(v3ids, str(l.(map[string]any), "_id"))
		}
		pg := a.body["pagination"].(map[string]any)
		if pg["hasNextPage"] != true {
			break
		}
		tok = str(pg, "nextPageToken")
	}
	if !slices.Equal(v3ids, ids) {
		t.Errorf("v3 pages %v, v2 pages %v", v3ids, ids)
	}
	if a := il("", "Version", "v3"); a.status != 400 {
		t.Errorf("the v2 path under Version v3: %d", a.status)
	}
}

func TestOAuthUninstall(t *testing.T) {
	t.Parallel()
	e, company, locs := companyEnv(t, 3, sandbox.Config{Seed: 17})
	ct := e.exchange(t, sandbox.AuthorizeRequest{CompanyID: company, Bulk: true, ApproveAll: true}, "Company")
	cat := str(ct, "access_token")
	var minted []map[string]any
	for _, l := range locs {
		a := e.do(t, "POST", "/oauth/locationToken", cat, "application/x-www-form-urlencoded",
			url.Values{"companyId": {company}, "locationId": {l.ID}}.Encode())
		if a.status != 200 {
			t.Fatal(a.show())
		}
		minted = append(minted, a.body)
	}
	// A location leaves the install: its tokens stop, the others do not.
	if err := e.sb.UninstallLocation(locs[0].ID); err != nil {
		t.Fatal(err)
	}
	if a := e.listOrders(t, str(minted[0], "access_token"), locs[0].ID); a.status != 401 {
		t.Errorf("uninstalled location's token: %d", a.status)
	}
	if a := e.listOrders(t, str(minted[1], "access_token"), locs[1].ID); a.status != 200 {
		t.Errorf("another location's token: %d", a.status)
	}
	if err := e.sb.UninstallCompany(company); err != nil {
		t.Fatal(err)
	}
	if a := e.listOrders(t, str(minted[1], "access_token"), locs[1].ID); a.status != 401 {
		t.Errorf("a derived location token after the company uninstall: %d", a.status)
	}
	wantError(t, e.token(t, e.form("refresh_token", "refresh_token", str(minted[2], "refresh_token"))), 400,
		"Invalid grant: refresh token is invalid")
	wantError(t, e.token(t, e.form("refresh_token", "refresh_token", str(ct, "refresh_token"))), 400,
		"Invalid grant: refresh token is invalid")
	if n := len(e.sb.Installs()); n != 0 {
		t.Errorf("%d installs left", n)
	}
	// Reinstalling is installing again: a new code, new tokens.
	ct2 := e.exchange(t, sandbox.AuthorizeRequest{CompanyID: company, Bulk: true, ApproveAll: true}, "Company")
	if a := e.do(t, "POST", "/oauth/locationToken", str(ct2, "access_token"), "application/x-www-form-urlencoded",
		url.Values{"companyId": {company}, "locationId": {locs[0].ID}}.Encode()); a.status != 200 {
		t.Errorf("locationToken after a reinstall: %d %s", a.status, a.show())
	}
	if err := e.sb.UninstallCompany(company); err != nil {
		t.Fatal(err)
	}
	var bodies []map[string]any
	for _, d := range e.sb.Deliveries() {
		if d.Type == ghl.EventUninstall {
			var m map[string]any
			_ = json.Unmarshal(d.Body, &m)
			delete(m, "webhookId")
			delete(m, "timestamp")
			bodies = append(bodies, m)
		}
	}
	want := []map[string]any{
		{"type": "UNINSTALL", "appId": e.app.AppID, "locationId": locs[0].ID},
		{"type": "UNINSTALL", "appId": e.app.AppID, "companyId": company},
		{"type": "UNINSTALL", "appId": e.app.AppID, "companyId": company},
	}
	if g, w := mustJSONString(bodies), mustJSONString(want); g != w {
		t.Errorf("UNINSTALL bodies %s, want %s", g, w)
	}
	// The company-level INSTALL had no location or user.
	for _, d := range e.sb.Deliveries() {
		if d.Type == ghl.EventInstall && d.LocationID == "" {
			var m map[string]any
			_ = json.Unmarshal(d.Body, &m)
			if _, ok := m["locationId"]; ok || m["userId"] != nil || m["companyId"] != company {
				t.Errorf("company INSTALL %s", d.Body)
			}
		}
	}
}

func mustJSONString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestOAuthLocationInactive(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, sandbox.Config{Seed: 18})
	loc := e.sb.Locations()[0]
	tb := e.exchange(t, sandbox.AuthorizeRequest{LocationID: loc.ID}, "Location")
	rt := str(tb, "refresh_token")
	if err := e.sb.SetLocationActive(loc.ID, false); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.token(t, e.form("refresh_token", "refresh_token", rt)), 400, "Location is not active")
	if err := e.sb.SetLocationActive(loc.ID, true); err != nil {
		t.Fatal(err)
	}
	if a := e.token(t, e.form("refresh_token", "refresh_token", rt)); a.status != 200 {
		t.Errorf("the same refresh token after reactivation: %d %s", a.status, a.show())
	}
}

func TestOAuthCompanyBudget(t *testing.T) {
	t.Parallel()
	e, company, _ := companyEnv(t, 2, sandbox.Config{Seed: 19})
	cat := str(e.exchange(t, sandbox.AuthorizeRequest{CompanyID: company, Bulk: true}, "Company"), "access_token")
	path := "/oauth/installedLocations?companyId=" + company + "&appId=" + e.app.AppID
	for i := range 100 {
		if a := e.do(t, "GET", path, cat, "", ""); a.status != 200 {
			t.Fatalf("call %d: %d %s", i+1, a.status, a.show())
		}
	}
	a := e.do(t, "GET", path, cat, "", "")
	if a.status != 429 || a.header.Get("X-RateLimit-Max") != "100" || a.header.Get("X-RateLimit-Remaining") != "0" ||
		a.header.Get("X-RateLimit-Interval-Milliseconds") != "10000" {
		t.Errorf("call 101: %d %v %s", a.status, a.header, a.show())
	}
	st := e.sb.Stats().Companies[company]
	if st.PeakWindow != 100 || st.Refused != 1 || st.Requests["InstalledLocations 200"] != 100 || st.Requests["InstalledLocations 429"] != 1 {
		t.Errorf("company stats %+v", st)
	}
}

func TestOAuthFaults(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) (*oauthEnv, sandbox.LocationInfo, map[string]any) {
		e := newOAuthEnv(t, sandbox.Config{Seed: 20})
		loc := e.sb.Locations()[0]
		return e, loc, e.exchange(t, sandbox.AuthorizeRequest{LocationID: loc.ID}, "Location")
	}
	refresh := func(t *testing.T, e *oauthEnv, rt string) answer {
		return e.token(t, e.form("refresh_token", "refresh_token", rt))
	}
	t.Run("drop after rotate", func(t *testing.T) {
		t.Parallel()
		e, _, tb := setup(t)
		if err := e.sb.SetFaults(sandbox.Faults{TokenDropAfterRotate: 1}); err != nil {
			t.Fatal(err)
		}
		f := e.form("refresh_token", "refresh_token", str(tb, "refresh_token"))
		resp, err := e.hc.PostForm(e.base+"/oauth/token", f)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("the reply came through: %d", resp.StatusCode)
		}
		// It rotated: the old one is spent, and the fault is spent too.
		wantError(t, refresh(t, e, str(tb, "refresh_token")), 400, "Invalid grant: refresh token is invalid")
		if e.sb.Faults().TokenDropAfterRotate != 0 || e.sb.Stats().TokenCalls["refresh_token drop"] != 1 {
			t.Errorf("faults %+v stats %v", e.sb.Faults(), e.sb.Stats().TokenCalls)
		}
	})
	t.Run("slow token endpoint", func(t *testing.T) {
		t.Parallel()
		e, _, tb := setup(t)
		if err := e.sb.SetFaults(sandbox.Faults{TokenDelay: sandbox.Duration(15 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", e.base+"/oauth/token",
			strings.NewReader(e.form("refresh_token", "refresh_token", str(tb, "refresh_token")).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		start := time.Now()
		if resp, err := e.hc.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("answered before 15 s")
		} else if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		if time.Since(start) > 5*time.Second {
			t.Error("the client waited for the delay")
		}
		if err := e.sb.SetFaults(sandbox.Faults{}); err != nil {
			t.Fatal(err)
		}
		// Abandoned before any work: the refresh token is unspent.
		if a := refresh(t, e, str(tb, "refresh_token")); a.status != 200 {
			t.Errorf("refresh after an abandoned slow one: %d %s", a.status, a.show())
		}
	})
	t.Run("location not active", func(t *testing.T) {
		t.Parallel()
		e, loc, tb := setup(t)
		_ = e.sb.SetFaults(sandbox.Faults{InactiveLocations: []string{loc.ID}})
		wantError(t, refresh(t, e, str(tb, "refresh_token")), 400, "Location is not active")
		_ = e.sb.SetFaults(sandbox.Faults{})
		if a := refresh(t, e, str(tb, "refresh_token")); a.status != 200 {
			t.Errorf("the kept refresh token: %d %s", a.status, a.show())
		}
	})
	t.Run("invalid grant", func(t *testing.T) {
		t.Parallel()
		e, _, tb := setup(t)
		_ = e.sb.SetFaults(sandbox.Faults{TokenInvalidGrant: 1})
		wantError(t, refresh(t, e, str(tb, "refresh_token")), 400, "Invalid grant: refresh token is invalid")
		if a := refresh(t, e, str(tb, "refresh_token")); a.status != 200 {
			t.Errorf("after the forced invalid grant: %d %s", a.status, a.show())
		}
	})
	t.Run("429", func(t *testing.T) {
		t.Parallel()
		e, _, tb := setup(t)
		_ = e.sb.SetFaults(sandbox.Faults{Token429: 2})
		for range 2 {
			if a := refresh(t, e, str(tb, "refresh_token")); a.status != 429 || a.header.Get("X-RateLimit-Remaining") != "0" {
				t.Errorf("%d %v", a.status, a.header)
			}
		}
		if a := refresh(t, e, str(tb, "refresh_token")); a.status != 200 {
			t.Errorf("after the 429s: %d %s", a.status, a.show())
		}
	})
	t.Run("missing scope", func(t *testing.T) {
		t.Parallel()
		e := newOAuthEnv(t, sandbox.Config{Seed: 21})
		loc := e.sb.Locations()[0]
		_ = e.sb.SetFaults(sandbox.Faults{DropScopes: []string{ghl.ScopeOrdersRead}})
		tb := e.exchange(t, sandbox.AuthorizeRequest{LocationID: loc.ID,
			Scopes: []string{ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead}}, "Location")
		if tb["scope"] != ghl.ScopeTransactionsRead {
			t.Errorf("scope %q", tb["scope"])
		}
		if a := e.listOrders(t, str(tb, "access_token"), loc.ID); a.status != 401 || a.body["message"] != "The token is not authorized for this scope." {
			t.Errorf("ListOrders without the dropped scope: %d %s", a.status, a.show())
		}
	})
	t.Run("admin route", func(t *testing.T) {
		t.Parallel()
		e, _, _ := setup(t)
		a := e.do(t, "PUT", sandbox.AdminPrefix+"/faults", "", "application/json",
			`{"tokenDropAfterRotate":2,"tokenDelay":"1s","token429":1,"tokenInvalidGrant":1,"inactiveLocations":["x"],"dropScopes":["y"]}`)
		if a.status != 200 || a.body["tokenDropAfterRotate"] != 2.0 || a.body["tokenDelay"] != "1s" {
			t.Errorf("%d %s", a.status, a.show())
		}
		if a := e.do(t, "PUT", sandbox.AdminPrefix+"/faults", "", "application/json", `{"token429":-1}`); a.status != 400 {
			t.Errorf("a negative count: %d", a.status)
		}
	})
}

func TestOAuthChooseLocationPage(t *testing.T) {
	t.Parallel()
	e, company, locs := companyEnv(t, 2, sandbox.Config{Seed: 22})
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/oauth/chooselocation", "/v2/oauth/chooselocation"} {
		u := e.base + path + "?response_type=code&client_id=" + url.QueryEscape(e.app.ClientID) +
			"&redirect_uri=" + url.QueryEscape("http://localhost:7/cb") + "&scope=" + url.QueryEscape("payments/orders.readonly oauth.readonly")
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), locs[1].ID) || !strings.Contains(string(b), company) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	resp, err := hc.Get(e.base + "/v2/oauth/chooselocation?response_type=code&client_id=" + url.QueryEscape(e.app.ClientID) +
		"&redirect_uri=" + url.QueryEscape("https://evil.example/cb") + "&scope=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("a non-loopback redirect: %d", resp.StatusCode)
	}
	resp, err = hc.PostForm(e.base+sandbox.AdminPrefix+"/oauth/consent", url.Values{
		"client_id": {e.app.ClientID}, "redirect_uri": {"http://localhost:7/cb"}, "scope": {"payments/orders.readonly"},
		"state": {"s&1"}, "target": {"company:" + company}, "locations": {locs[1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || loc == nil || loc.Host != "localhost:7" || loc.Query().Get("state") != "s&1" || loc.Query().Get("code") == "" {
		t.Fatalf("consent: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	a := e.token(t, e.form("authorization_code", "code", loc.Query().Get("code"), "user_type", "Company"))
	if a.status != 200 || mustJSONString(a.body["approvedLocations"]) != mustJSONString([]string{locs[1].ID}) {
		t.Errorf("%d %s", a.status, a.show())
	}
}

func TestOAuthAdminAPI(t *testing.T) {
	t.Parallel()
	e, company, locs := companyEnv(t, 3, sandbox.Config{Seed: 23})
	a := e.do(t, "GET", sandbox.AdminPrefix+"/oauth/app", "", "", "")
	if a.status != 200 || a.body["clientId"] != e.app.ClientID {
		t.Fatalf("%d %s", a.status, a.show())
	}
	if a := e.do(t, "PUT", sandbox.AdminPrefix+"/oauth/app", "", "application/json", `{"accessTtlSeconds":5}`); a.body["accessTtlSeconds"] != 5.0 {
		t.Errorf("%s", a.show())
	}
	a = e.do(t, "POST", sandbox.AdminPrefix+"/oauth/authorize", "", "application/json",
		`{"companyId":"`+company+`","bulk":true,"locations":["`+locs[0].ID+`","`+locs[1].ID+`"]}`)
	if a.status != 200 || str(a.body, "code") == "" || a.body["webhooks"] != 3.0 {
		t.Fatalf("%d %s", a.status, a.show())
	}
	tb := e.token(t, e.form("authorization_code", "code", str(a.body, "code"), "user_type", "Company"))
	if tb.body["expires_in"] != 5.0 {
		t.Errorf("expires_in %v", tb.body["expires_in"])
	}
	if a := e.do(t, "POST", sandbox.AdminPrefix+"/oauth/installs/locations", "", "application/json",
		`{"companyId":"`+company+`","locationId":"`+locs[2].ID+`"}`); a.status != 200 {
		t.Errorf("%d %s", a.status, a.show())
	}
	a = e.do(t, "GET", sandbox.AdminPrefix+"/oauth/installs", "", "", "")
	ins := a.body["installs"].([]any)
	if len(ins) != 1 || len(ins[0].(map[string]any)["locations"].([]any)) != 3 || ins[0].(map[string]any)["refreshTokens"] != 1.0 {
		t.Errorf("installs %s", a.show())
	}
	if a := e.do(t, "PUT", sandbox.AdminPrefix+"/oauth/locations/"+locs[0].ID+"/active", "", "application/json", `{"active":false}`); a.status != 200 {
		t.Errorf("%d %s", a.status, a.show())
	}
	if a := e.do(t, "POST", sandbox.AdminPrefix+"/oauth/expire", "", "application/json", `{"companyId":"`+company+`"}`); a.body["expired"] != 1.0 {
		t.Errorf("expire: %s", a.show())
	}
	if a := e.do(t, "POST", sandbox.AdminPrefix+"/oauth/uninstall", "", "application/json", `{"companyId":"`+company+`"}`); a.status != 200 {
		t.Errorf("%d %s", a.status, a.show())
	}
	if got := e.sb.Info().OAuth.ClientID; got != e.app.ClientID {
		t.Errorf("Info().OAuth.ClientID %q", got)
	}
}

func TestOAuthBulk500(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e, company, locs := companyEnv(t, 500, sandbox.Config{Seed: 24, Orders: 0})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("500 locations took %s", d)
	}
	res := e.authorize(t, sandbox.AuthorizeRequest{CompanyID: company, Bulk: true, ApproveAll: true})
	if res.Webhooks != 501 || len(locs) != 500 {
		t.Errorf("%d webhooks for %d locations", res.Webhooks, len(locs))
	}
}
