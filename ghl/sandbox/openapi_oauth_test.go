package sandbox_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// TestOpenAPIOAuthConformance sends the ghl OAuth client's calls to the
// sandbox and validates each request and answer against GHL's official
// apps/oauth.json, as TestOpenAPIConformance does for the Payments API. It
// exercises only the statuses the spec documents (200, 400, 401, 422).
func TestOpenAPIOAuthConformance(t *testing.T) {
	dir := defaultSpecDir
	if d := os.Getenv(specDirEnv); d != "" {
		dir = d
	}
	path := filepath.Join(dir, "apps", "oauth.json")
	if _, err := os.Stat(path); err != nil {
		abs, _ := filepath.Abs(path)
		t.Skipf("GHL OpenAPI spec not found at %s (%v); set %s", abs, err, specDirEnv)
	}
	docs := map[string]*openapi3.T{"oauth": loadSpec(t, path)}
	applyErrata(t, docs)

	sb, err := sandbox.New(sandbox.Config{Seed: 5, Locations: 3, Companies: 1, Orders: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	docs["oauth"].Servers = openapi3.Servers{{URL: srv.URL}}
	r, err := legacy.NewRouter(docs["oauth"], openapi3.DisableExamplesValidation())
	if err != nil {
		t.Fatal(err)
	}
	check := &conformance{
		t: t, base: http.DefaultTransport, ops: map[string]ghl.Operation{}, routers: []routers.Router{r},
		opts: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			IncludeResponseStatus: true, MultiError: true},
		seen: map[string]map[int]int{}, kind: map[string]int{}, reported: map[string]int{},
	}
	for _, op := range ghl.OAuthOperations() {
		check.ops[op.Method+" "+op.Path] = op
	}
	o := ghl.NewOAuth(ghl.WithBaseURL(srv.URL), ghl.WithHTTPClient(&http.Client{Transport: check}),
		ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 1}), ghl.WithPageSize(2),
		ghl.WithLimits(ghl.Limits{Burst: 1000, Interval: time.Second}))
	info := sb.OAuthApp()
	app := ghl.OAuthApp{ClientID: info.ClientID, ClientSecret: ghl.ClientSecret(info.ClientSecrets[0])}
	locs := sb.Locations()
	company := locs[0].CompanyID
	ctx := t.Context()
	code := func(req sandbox.AuthorizeRequest) string {
		res, err := sb.Authorize(req)
		if err != nil {
			t.Fatal(err)
		}
		return res.Code
	}
	want := func(err error, target error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("got %v, want %v", err, target)
		}
	}

	c := code(sandbox.AuthorizeRequest{LocationID: locs[0].ID})
	lt := oaMust(o.ExchangeCode(ctx, app, c, "", ghl.UserLocation))(t)
	_, err = o.ExchangeCode(ctx, app, c, "", ghl.UserLocation)
	want(err, ghl.ErrInvalidGrant)
	next := oaMust(o.Refresh(ctx, app, lt.RefreshToken, ghl.UserLocation))(t)
	_, err = o.Refresh(ctx, app, lt.RefreshToken, ghl.UserLocation)
	want(err, ghl.ErrInvalidGrant)
	_, err = o.Refresh(ctx, ghl.OAuthApp{ClientID: app.ClientID, ClientSecret: "wrong"}, next.RefreshToken, "")
	want(err, ghl.ErrInvalidParameter)

	ct := oaMust(o.ExchangeCode(ctx, app, code(sandbox.AuthorizeRequest{CompanyID: company, Bulk: true,
		Locations: []string{locs[0].ID, locs[1].ID}}), "", ghl.UserCompany))(t)
	oaMust(o.LocationToken(ctx, ct.AccessToken, company, locs[1].ID))(t)
	_, err = o.LocationToken(ctx, ct.AccessToken, company, locs[2].ID)
	want(err, ghl.ErrInvalidRequest)
	_, err = o.LocationToken(ctx, lt.AccessToken, company, locs[1].ID)
	want(err, ghl.ErrTokenClass)
	n := 0
	for _, err := range o.InstalledLocations(ctx, ct.AccessToken, company, app.AppID()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d installed locations, want 2", n)
	}
	no := false
	oaMust(o.ListInstalledLocations(ctx, ct.AccessToken, ghl.InstalledLocationsParams{CompanyID: company, AppID: app.AppID(),
		IsInstalled: &no, Query: "a"}))(t)
	_, err = o.ListInstalledLocations(ctx, ct.AccessToken, ghl.InstalledLocationsParams{CompanyID: company, AppID: app.AppID(), Limit: 101})
	if !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("limit 101: %v, want a 422", err)
	}

	check.mu.Lock()
	defer check.mu.Unlock()
	for _, op := range ghl.OAuthOperations() {
		ok := false
		for status := range check.seen[op.Name] {
			ok = ok || status/100 == 2
		}
		if !ok {
			t.Errorf("%s never had a 2xx exchange that matched the spec (seen %v)", op.Name, check.seen[op.Name])
		}
	}
	for _, k := range []string{"401", "422"} {
		if check.kind[k] == 0 {
			t.Errorf("no %s answer was validated against the spec", k)
		}
	}
	if check.seen[ghl.OpOAuthToken.Name][http.StatusBadRequest] == 0 {
		t.Error("no 400 from the token endpoint was validated against the spec")
	}
	if check.repeats > 0 {
		t.Errorf("%d more findings repeated problems reported above", check.repeats)
	}
	t.Logf("validated exchanges: %v", check.seen)
}
