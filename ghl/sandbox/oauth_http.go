package sandbox

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The messages of GHL's OAuth refusals. The v3 spec gives the token
// endpoint's 400s word for word (apps/v3/oauth-v3.json); the others are
// not documented and are marked so.
const (
	msgInvalidRefresh  = "Invalid grant: refresh token is invalid"
	msgLocationPaused  = "Location is not active"
	msgMissingParam    = "Missing parameter: "
	msgInvalidParam    = "Invalid parameter: "
	msgInvalidCode     = "Invalid grant: authorization code is invalid" // [inferred] from the refresh text
	msgAuthClass       = "This authClass type is not allowed to access this scope. Please reach out to the Platform team to get it added."
	msgNoCompany       = "The token does not have access to this company."
	msgAppNotInstalled = "The app is not installed on this location." // [inferred]
)

// camelParams are the v3 names of the token endpoint's fields, which the
// v3 messages use whatever the request used.
var camelParams = map[string]string{
	"client_id": "clientId", "client_secret": "clientSecret", "grant_type": "grantType", "code": "code",
	"refresh_token": "refreshToken", "user_type": "userType", "redirect_uri": "redirectUri",
}

// oauthRoutes registers GHL's OAuth endpoints.
func (s *Server) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth/token", s.serveToken)
	mux.HandleFunc("POST /oauth/locationToken", s.serveLocationToken(false))
	mux.HandleFunc("POST /oauth/location-token", s.serveLocationToken(true))
	mux.HandleFunc("GET /oauth/installedLocations", s.serveInstalledLocations(false))
	mux.HandleFunc("GET /oauth/installed-locations", s.serveInstalledLocations(true))
	mux.HandleFunc("GET /oauth/chooselocation", s.serveChooseLocation)
	mux.HandleFunc("GET /v2/oauth/chooselocation", s.serveChooseLocation)
	mux.HandleFunc("POST "+AdminPrefix+"/oauth/consent", s.serveConsent)
}

// oauthError is the body of the token endpoint's refusals, exactly as the
// v3 spec's examples: {statusCode, message}.
func oauthError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"statusCode": status, "message": msg})
}

// readOAuthParams reads a form-encoded or JSON body. The v3 camelCase names
// are read as their v2 snake_case twins, so that either works.
func readOAuthParams(r *http.Request) (map[string]string, string) {
	out := map[string]string{}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(raw) > maxBody {
		return nil, "could not read the request body"
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if len(strings.TrimSpace(string(raw))) > 0 {
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, "Unexpected token in JSON body"
			}
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			case nil:
			default:
				return nil, msgInvalidParam + k
			}
		}
	} else {
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, "could not parse the form body"
		}
		for k := range vals {
			out[k] = vals.Get(k)
		}
	}
	for snake, camel := range camelParams {
		if out[snake] == "" && out[camel] != "" {
			out[snake] = out[camel]
		}
	}
	return out, ""
}

// serveToken is POST /oauth/token: the code exchange and the refresh.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	grant := "none"
	fail := func(status int, msg string) {
		s.stats.token(grant, status)
		oauthError(w, status, msg)
	}
	// The body is read first: only then does the server notice a client
	// that hangs up during the delay.
	p, bad := readOAuthParams(r)
	f := s.faults.get()
	if d := time.Duration(f.TokenDelay); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
			s.stats.fault("token-delay")
		case <-r.Context().Done():
			t.Stop()
			s.stats.fault("token-delay-abandoned")
			return
		}
	}
	if bad != "" {
		fail(http.StatusBadRequest, bad)
		return
	}
	if p["grant_type"] != "" {
		grant = p["grant_type"]
	}
	if s.faults.spend(func(f *Faults) *int { return &f.Token429 }) {
		s.stats.fault("token-429")
		newLimiter().admit(s.Limits(), s.clock(), w.Header(), false)
		w.Header().Set("X-RateLimit-Remaining", "0")
		fail(http.StatusTooManyRequests, msgTooManyRequests)
		return
	}
	for _, k := range []string{"client_id", "client_secret", "grant_type"} {
		if p[k] == "" {
			fail(http.StatusBadRequest, msgMissingParam+camelParams[k])
			return
		}
	}
	if grant != "authorization_code" && grant != "refresh_token" {
		// client_credentials is in the enum, but GHL documents no use of
		// it for marketplace apps.
		fail(http.StatusBadRequest, msgInvalidParam+"grantType")
		return
	}
	if ut := p["user_type"]; ut != "" && ut != userLocation && ut != userCompany {
		fail(http.StatusBadRequest, msgInvalidParam+"userType")
		return
	}
	if s.faults.spend(func(f *Faults) *int { return &f.TokenInvalidGrant }) {
		s.stats.fault("token-invalid-grant")
		if grant == "refresh_token" {
			fail(http.StatusBadRequest, msgInvalidRefresh)
		} else {
			fail(http.StatusBadRequest, msgInvalidCode)
		}
		return
	}

	s.mu.Lock()
	body, status, msg := s.tokenLocked(p, grant, s.clock(), f)
	s.mu.Unlock()
	if status != http.StatusOK {
		fail(status, msg)
		return
	}
	if s.faults.spend(func(f *Faults) *int { return &f.TokenDropAfterRotate }) {
		s.stats.fault("token-drop-after-rotate")
		s.stats.token(grant, 0)
		drop(w)
		return
	}
	s.stats.token(grant, http.StatusOK)
	writeJSON(w, http.StatusOK, versioned(body, r.Header.Get("Version") == "v3"))
}

// tokenLocked checks the client and the grant and issues a token pair.
// Call with Server.mu held.
func (s *Server) tokenLocked(p map[string]string, grant string, now time.Time, f Faults) (map[string]any, int, string) {
	o := s.oauth
	if p["client_id"] != o.app.ClientID {
		return nil, http.StatusBadRequest, msgInvalidParam + "clientId"
	}
	if !secretValid(o.app.ClientSecrets, p["client_secret"]) {
		return nil, http.StatusBadRequest, msgInvalidParam + "clientSecret"
	}
	var ss *session
	switch grant {
	case "authorization_code":
		if p["code"] == "" {
			return nil, http.StatusBadRequest, msgMissingParam + "code"
		}
		ac := o.codes[p["code"]]
		// A spent code stays known until it expires, so that a replay is
		// refused without touching the tokens it was exchanged for.
		if ac == nil || ac.used || !now.Before(ac.expires) || ac.clientID != p["client_id"] || ac.in.removed {
			return nil, http.StatusBadRequest, msgInvalidCode
		}
		if ru := p["redirect_uri"]; ru != "" && ru != ac.redirectURI {
			return nil, http.StatusBadRequest, msgInvalidParam + "redirectUri"
		}
		if ut := p["user_type"]; ut != "" && ut != ac.in.userType {
			return nil, http.StatusBadRequest, msgInvalidParam + "userType"
		}
		if s.locationInactive(ac.in.locationID, f) {
			return nil, http.StatusBadRequest, msgLocationPaused
		}
		ac.used = true
		scopes := slices.DeleteFunc(slices.Clone(ac.scopes), func(sc string) bool { return slices.Contains(f.DropScopes, sc) })
		ss = &session{in: ac.in, userType: ac.in.userType, locationID: ac.in.locationID, scopes: scopes, clientID: ac.clientID}
	case "refresh_token":
		if p["refresh_token"] == "" {
			return nil, http.StatusBadRequest, msgMissingParam + "refreshToken"
		}
		rec := o.refresh[p["refresh_token"]]
		if rec == nil || !now.Before(rec.expires) || rec.sess.clientID != p["client_id"] || rec.sess.in.removed {
			return nil, http.StatusBadRequest, msgInvalidRefresh
		}
		if ut := p["user_type"]; ut != "" && ut != rec.sess.userType {
			return nil, http.StatusBadRequest, msgInvalidParam + "userType"
		}
		// A paused location keeps its refresh token: it works again once
		// the location is active.
		if s.locationInactive(rec.sess.locationID, f) {
			return nil, http.StatusBadRequest, msgLocationPaused
		}
		delete(o.refresh, p["refresh_token"])
		ss = rec.sess
	}
	access, refresh, ttl := s.mint(ss, now)
	return s.tokenBody(ss, access, refresh, ttl), http.StatusOK, ""
}

func secretValid(secrets []string, got string) bool {
	ok := false
	for _, sec := range secrets {
		ok = subtle.ConstantTimeCompare([]byte(sec), []byte(got)) == 1 || ok
	}
	return ok
}

// tokenBody is the token endpoint's answer, with GHL's v2 field names.
// Call with Server.mu held.
func (s *Server) tokenBody(ss *session, access, refresh string, ttl time.Duration) map[string]any {
	in := ss.in
	m := map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": int64(ttl / time.Second),
		"refresh_token": refresh, "scope": strings.Join(ss.scopes, " "), "userType": ss.userType,
		"companyId": in.companyID, "userId": in.userID, "isBulkInstallation": in.bulk,
	}
	if ss.locationID != "" {
		m["locationId"] = ss.locationID
	}
	if in.planID != "" {
		m["planId"] = in.planID
	}
	if ss.userType == userCompany {
		approved := make([]string, 0, len(in.locations))
		for id := range in.locations {
			approved = append(approved, id)
		}
		slices.Sort(approved)
		m["approvedLocations"] = approved
		m["installToFutureLocations"] = in.future
		m["approveAllLocations"] = in.approveAll
	}
	return m
}

// versioned renames the snake_case token fields to v3's camelCase when
// the request asked for Version v3.
func versioned(m map[string]any, v3 bool) map[string]any {
	if !v3 {
		return m
	}
	for snake, camel := range map[string]string{"access_token": "accessToken", "token_type": "tokenType",
		"expires_in": "expiresIn", "refresh_token": "refreshToken"} {
		if v, ok := m[snake]; ok {
			delete(m, snake)
			m[camel] = v
		}
	}
	return m
}

// companyCall runs the checks of GHL's company-level OAuth calls: a
// supported Version, a company (agency) OAuth token, never a Private
// Integration Token, with the scope; then the company's rate budget.
func (s *Server) companyCall(w http.ResponseWriter, r *http.Request, op, scope, companyID string, trace string) (*session, bool) {
	fail := func(e *apiError) {
		s.stats.company(companyID, op, e.status)
		s.writeError(w, e, trace)
	}
	grant, e := s.authenticate(r)
	if e != nil {
		fail(e)
		return nil, false
	}
	if v := r.Header.Get("Version"); !versions[v] {
		if v == "" {
			fail(badRequest("Version header is required"))
		} else {
			fail(badRequest(fmt.Sprintf("Version %q is not supported; use 2021-07-28", v)))
		}
		return nil, false
	}
	if grant.sess == nil || grant.sess.userType != userCompany {
		fail(unauthorized(msgAuthClass))
		return nil, false
	}
	if !grant.scopes[scope] {
		fail(unauthorized(msgMissingScope))
		return nil, false
	}
	if companyID == "" {
		fail(unprocessable("companyId should not be empty", "companyId must be a string"))
		return nil, false
	}
	if companyID != grant.sess.in.companyID {
		fail(forbidden(msgNoCompany))
		return nil, false
	}
	if !s.companyLimiter(companyID).admit(s.Limits(), s.clock(), w.Header(), true) {
		fail(&apiError{status: http.StatusTooManyRequests, message: msgTooManyRequests})
		return nil, false
	}
	return grant.sess, true
}

// serveLocationToken is POST /oauth/locationToken (and v3's
// /oauth/location-token): a location token minted from a company token,
// for a location the company's install approved.
func (s *Server) serveLocationToken(v3 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		const op = "LocationToken"
		trace := s.traceID()
		p, bad := readOAuthParams(r)
		if bad != "" {
			s.writeError(w, badRequest(bad), trace)
			return
		}
		companyID, locationID := p["companyId"], p["locationId"]
		sess, ok := s.companyCall(w, r, op, scopeOAuthWrite, companyID, trace)
		if !ok {
			return
		}
		if locationID == "" {
			s.stats.company(companyID, op, http.StatusUnprocessableEntity)
			s.writeError(w, unprocessable("locationId should not be empty", "locationId must be a string"), trace)
			return
		}
		f := s.faults.get()
		now := s.clock()
		s.mu.Lock()
		in := sess.in
		var body map[string]any
		status, msg := http.StatusOK, ""
		switch {
		case in.removed || !hasKey(in.locations, locationID):
			status, msg = http.StatusBadRequest, msgAppNotInstalled
		case s.locationInactive(locationID, f):
			status, msg = http.StatusBadRequest, msgLocationPaused
		default:
			ls := &session{in: in, userType: userLocation, locationID: locationID, scopes: sess.scopes, clientID: sess.clientID}
			access, refresh, ttl := s.mint(ls, now)
			body = s.tokenBody(ls, access, refresh, ttl)
			delete(body, "isBulkInstallation")
			body["appId"], body["versionId"] = s.oauth.appID, s.oauth.app.VersionID
		}
		s.mu.Unlock()
		s.stats.company(companyID, op, status)
		if status != http.StatusOK {
			oauthError(w, status, msg)
			return
		}
		if v3 {
			body = versioned(body, true)
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// installedLocation is one entry of installedLocations.
type installedLocation struct {
	ID          string `json:"_id"`
	Name        string `json:"name"`
	Address     string `json:"address"`
	IsInstalled bool   `json:"isInstalled"`
	VersionID   string `json:"versionId,omitempty"`
	InstalledAt string `json:"installedAt,omitempty"`
}

// serveInstalledLocations is GET /oauth/installedLocations (skip/limit)
// and v3's /oauth/installed-locations (pageSize/pageToken).
func (s *Server) serveInstalledLocations(v3 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		const op = "InstalledLocations"
		trace := s.traceID()
		q := r.URL.Query()
		companyID := q.Get("companyId")
		if !v3 && r.Header.Get("Version") == "v3" {
			// GHL moved the list under v3 (highlevel-api-docs #304).
			s.writeError(w, badRequest("Version v3 is served at /oauth/installed-locations"), trace)
			return
		}
		sess, ok := s.companyCall(w, r, op, scopeOAuthRead, companyID, trace)
		if !ok {
			return
		}
		fail := func(e *apiError) {
			s.stats.company(companyID, op, e.status)
			s.writeError(w, e, trace)
		}
		appID := q.Get("appId")
		if appID == "" {
			fail(unprocessable("appId should not be empty", "appId must be a string"))
			return
		}
		skip, limit := 0, 20
		var bad *apiError
		if v3 {
			limit, bad = intParam(q, "pageSize", 20, 1, 100)
			if tok := q.Get("pageToken"); tok != "" && bad == nil {
				skip, bad = decodePageToken(tok)
			}
		} else {
			if skip, bad = intParam(q, "skip", 0, 0, 1<<30); bad == nil {
				limit, bad = intParam(q, "limit", 20, 1, 100)
			}
		}
		if bad != nil {
			fail(bad)
			return
		}
		var installedFilter *bool
		if v := q.Get("isInstalled"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				fail(unprocessable("isInstalled must be a boolean value"))
				return
			}
			installedFilter = &b
		}
		search, only := strings.ToLower(q.Get("query")), q.Get("locationId")

		s.mu.RLock()
		if appID != s.oauth.appID {
			s.mu.RUnlock()
			s.stats.company(companyID, op, http.StatusNotFound)
			if v3 {
				writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
					"code": "RESOURCE_NOT_FOUND", "message": fmt.Sprintf("The requested App '%s' was not found.", appID),
					"details":    map[string]any{"resource": "App", "identifier": appID},
					"resolution": "Verify the App exists and you have permission to access it."}})
			} else {
				s.writeError(w, notFound("App not found"), trace)
			}
			return
		}
		in := sess.in
		var all []installedLocation
		for i, l := range s.locations {
			if l.companyID != companyID || (only != "" && l.id != only) ||
				(search != "" && !strings.Contains(strings.ToLower(l.name), search)) {
				continue
			}
			at, installed := in.locations[l.id]
			if installedFilter != nil && *installedFilter != installed {
				continue
			}
			e := installedLocation{ID: l.id, Name: l.name, Address: fmt.Sprintf("%d Market Street, Suite %d", 100+i, i%40+1),
				IsInstalled: installed}
			if installed {
				e.VersionID, e.InstalledAt = s.oauth.app.VersionID, at.UTC().Format("2006-01-02T15:04:05.000Z")
			}
			all = append(all, e)
		}
		future := in.future
		s.mu.RUnlock()

		page := all[min(skip, len(all)):min(skip+limit, len(all))]
		if page == nil {
			page = []installedLocation{}
		}
		s.stats.company(companyID, op, http.StatusOK)
		if !v3 {
			writeJSON(w, http.StatusOK, map[string]any{"locations": page, "count": len(all), "installToFutureLocations": future})
			return
		}
		pg := map[string]any{"totalRecords": len(all), "hasNextPage": skip+len(page) < len(all), "hasPrevPage": skip > 0,
			"currentPageSize": len(page)}
		if skip+len(page) < len(all) {
			pg["nextPageToken"] = encodePageToken(skip + len(page))
		}
		if skip > 0 {
			pg["prevPageToken"] = encodePageToken(max(skip-limit, 0))
		}
		filters := map[string]any{"companyId": companyID}
		if installedFilter != nil {
			filters["isInstalled"] = *installedFilter
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": page, "pagination": pg, "installToFutureLocations": future,
			"metadata": map[string]any{"filterApplied": filters, "sortApplied": map[string]any{}}})
	}
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(q url.Values, key string, def, lo, hi int) (int, *apiError) {
	v := q.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return 0, unprocessable(key + " must be a number conforming to the specified constraints")
	case n < lo:
		return 0, unprocessable(fmt.Sprintf("%s must not be less than %d", key, lo))
	case n > hi:
		return 0, unprocessable(fmt.Sprintf("%s must not be greater than %d", key, hi))
	}
	return n, nil
}

// Page tokens are opaque to clients; like GHL's example they are base64
// JSON of the offset.
func encodePageToken(skip int) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"skip":%d}`, skip))
}

func decodePageToken(tok string) (int, *apiError) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	var v struct {
		Skip *int `json:"skip"`
	}
	if err != nil || json.Unmarshal(b, &v) != nil || v.Skip == nil || *v.Skip < 0 {
		return 0, badRequest("Invalid parameter: pageToken")
	}
	return *v.Skip, nil
}

// chooseLocationPage is GHL's consent screen, reduced to what a test or a
// demo needs: pick a location, or a company and some of its locations.
var chooseLocationPage = template.Must(template.New("choose").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Choose a location · GHL sandbox</title>
<style>body{font:15px system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}fieldset{margin:1rem 0}
.scopes{color:#555;font-size:13px}label{display:block;margin:.2rem 0}</style></head><body>
<h1>Install the app</h1>
<p>Client <code>{{.ClientID}}</code> asks for:</p><p class="scopes">{{range .Scopes}}<code>{{.}}</code> {{end}}</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="client_id" value="{{.ClientID}}"><input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="scope" value="{{.Scope}}"><input type="hidden" name="state" value="{{.State}}">
{{range .Companies}}<fieldset><legend>{{.Name}}</legend>
<label><input type="radio" name="target" value="company:{{.ID}}"> The whole agency (bulk install)</label>
{{range .Locations}}<label><input type="radio" name="target" value="location:{{.ID}}"> {{.Name}} <small>({{.ID}})</small>
 <input type="checkbox" name="locations" value="{{.ID}}" checked title="include in a bulk install"></label>{{end}}
</fieldset>{{end}}
<label><input type="checkbox" name="install_future" value="true"> Install on future locations too</label>
<button type="submit">Allow &amp; install</button></form></body></html>`))

type choosePageData struct {
	ClientID, RedirectURI, Scope, State, Action string
	Scopes                                      []string
	Companies                                   []choosePageCompany
}

type choosePageCompany struct {
	ID, Name  string
	Locations []struct{ ID, Name string }
}

// serveChooseLocation is GHL's authorize URL: /oauth/chooselocation, and
// /v2/oauth/chooselocation as the docs now give it.
func (s *Server) serveChooseLocation(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	refuse := func(msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<!doctype html><title>Invalid request</title><p>%s</p>", template.HTMLEscapeString(msg))
	}
	if q.Get("response_type") != "code" {
		refuse("response_type must be code")
		return
	}
	app := s.OAuthApp()
	if q.Get("client_id") != app.ClientID {
		refuse("Unknown client_id")
		return
	}
	s.mu.RLock()
	err := s.oauth.redirectAllowed(q.Get("redirect_uri"))
	d := choosePageData{ClientID: app.ClientID, RedirectURI: q.Get("redirect_uri"), Scope: q.Get("scope"),
		State: q.Get("state"), Action: AdminPrefix + "/oauth/consent", Scopes: strings.Fields(q.Get("scope"))}
	for _, c := range s.companies {
		pc := choosePageCompany{ID: c.id, Name: c.name}
		for _, l := range s.locations {
			if l.companyID == c.id {
				pc.Locations = append(pc.Locations, struct{ ID, Name string }{l.id, l.name})
			}
		}
		d.Companies = append(d.Companies, pc)
	}
	s.mu.RUnlock()
	if err != nil {
		refuse(err.Error())
		return
	}
	if len(d.Scopes) == 0 {
		refuse("scope must name at least one scope")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := chooseLocationPage.Execute(w, d); err != nil {
		s.log.Error("sandbox: rendering chooselocation", "error", err)
	}
}

// serveConsent is where the chooselocation form posts: it installs and
// redirects to redirect_uri?code=…[&state=…], as GHL does.
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	req := AuthorizeRequest{ClientID: r.PostForm.Get("client_id"), RedirectURI: r.PostForm.Get("redirect_uri"),
		Scopes: strings.Fields(r.PostForm.Get("scope")), State: r.PostForm.Get("state"),
		InstallToFutureLocations: r.PostForm.Get("install_future") == "true"}
	kind, id, _ := strings.Cut(r.PostForm.Get("target"), ":")
	switch kind {
	case "location":
		req.LocationID = id
	case "company":
		req.CompanyID, req.Bulk = id, true
		for _, l := range r.PostForm["locations"] {
			if loc := s.location(l); loc != nil && loc.companyID == id {
				req.Locations = append(req.Locations, l)
			}
		}
		if len(req.Locations) == 0 {
			http.Error(w, "pick at least one location of the agency", http.StatusBadRequest)
			return
		}
	default:
		http.Error(w, "pick a location or an agency", http.StatusBadRequest)
		return
	}
	if len(req.Scopes) == 0 {
		http.Error(w, "scope must name at least one scope", http.StatusBadRequest)
		return
	}
	res, err := s.Authorize(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, res.Redirect, http.StatusFound)
}

// oauthAdminRoutes are the admin API's OAuth controls.
func (s *Server) oauthAdminRoutes(mux *http.ServeMux) {
	p := AdminPrefix + "/oauth"
	mux.HandleFunc("GET "+p+"/app", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.OAuthApp())
	})
	mux.HandleFunc("PUT "+p+"/app", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			AccessTTLSeconds *int64   `json:"accessTtlSeconds"`
			ClientSecrets    []string `json:"clientSecrets"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		if b.AccessTTLSeconds != nil {
			if *b.AccessTTLSeconds < 1 || *b.AccessTTLSeconds > 10*365*86400 {
				adminError(w, http.StatusBadRequest, fmt.Errorf("accessTtlSeconds must be between 1 and %d", 10*365*86400))
				return
			}
			_ = s.SetAccessTTL(time.Duration(*b.AccessTTLSeconds) * time.Second)
		}
		if b.ClientSecrets != nil {
			if err := s.SetClientSecrets(b.ClientSecrets...); err != nil {
				adminError(w, http.StatusBadRequest, err)
				return
			}
		}
		writeJSON(w, http.StatusOK, s.OAuthApp())
	})
	mux.HandleFunc("POST "+p+"/authorize", func(w http.ResponseWriter, r *http.Request) {
		var b AuthorizeRequest
		if !adminDecode(w, r, &b) {
			return
		}
		res, err := s.Authorize(b)
		adminAnswer(w, res, err)
	})
	mux.HandleFunc("GET "+p+"/installs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"installs": s.Installs()})
	})
	mux.HandleFunc("POST "+p+"/uninstall", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			LocationID string `json:"locationId"`
			CompanyID  string `json:"companyId"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		var err error
		switch {
		case (b.LocationID == "") == (b.CompanyID == ""):
			err = fmt.Errorf("name exactly one of locationId and companyId")
		case b.CompanyID != "":
			err = s.UninstallCompany(b.CompanyID)
		default:
			err = s.UninstallLocation(b.LocationID)
		}
		adminAnswer(w, map[string]bool{"uninstalled": true}, err)
	})
	mux.HandleFunc("POST "+p+"/installs/locations", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			CompanyID  string `json:"companyId"`
			LocationID string `json:"locationId"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		adminAnswer(w, map[string]bool{"installed": true}, s.AddInstalledLocation(b.CompanyID, b.LocationID))
	})
	mux.HandleFunc("PUT "+p+"/locations/{locationId}/active", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Active *bool `json:"active"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		if b.Active == nil {
			adminError(w, http.StatusBadRequest, fmt.Errorf("active must be true or false"))
			return
		}
		err := s.SetLocationActive(r.PathValue("locationId"), *b.Active)
		adminAnswer(w, map[string]bool{"active": *b.Active}, err)
	})
	mux.HandleFunc("POST "+p+"/expire", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			LocationID string `json:"locationId"`
			CompanyID  string `json:"companyId"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"expired": s.ExpireAccessTokens(b.LocationID, b.CompanyID)})
	})
}
