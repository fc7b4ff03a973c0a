package sandbox

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// OAuthApp is the marketplace app whose OAuth 2.0 flow the sandbox serves:
// GHL's chooselocation page, its token endpoint with single-use rotating
// refresh tokens, company (agency) tokens and the location tokens minted
// from them.
type OAuthApp struct {
	// ClientID has GHL's form "<appId>-<suffix>"; the app id is the part
	// before the first '-'. Default: the sandbox's app id and a suffix
	// derived from Seed.
	ClientID string
	// ClientSecrets are all valid at once, so that a secret rotation can be
	// tested. Default: one, derived from Seed.
	ClientSecrets []string
	// RedirectURIs are the allowed redirect URIs, matched exactly. Empty
	// allows any http(s) URL on a loopback host.
	RedirectURIs []string
	// AccessTTL is how long an access token lives (default 86399 s, what
	// GHL answers). It is whole seconds on the wire.
	AccessTTL time.Duration
	// VersionID is the installed version of the app (default derived from
	// Seed).
	VersionID string
}

// DefaultAccessTTL is the access token lifetime GHL reports.
const DefaultAccessTTL = 86399 * time.Second

// Lifetimes GHL documents: an authorization code is good for 10 minutes, a
// refresh token for a year until it is used.
const (
	codeTTL    = 10 * time.Minute
	refreshTTL = 365 * 24 * time.Hour
)

// The user types of GHL's tokens.
const (
	userLocation = "Location"
	userCompany  = "Company"
)

// Scopes that company (agency) calls need.
const (
	scopeOAuthRead  = "oauth.readonly"
	scopeOAuthWrite = "oauth.write"
)

// OAuthAppInfo is the app as a client configures it. It holds the client
// secrets: they are the sandbox's own, printed so that a user can find them.
type OAuthAppInfo struct {
	AppID            string   `json:"appId"`
	ClientID         string   `json:"clientId"`
	ClientSecrets    []string `json:"clientSecrets"`
	RedirectURIs     []string `json:"redirectUris"`
	AccessTTLSeconds int64    `json:"accessTtlSeconds"`
	VersionID        string   `json:"versionId"`
	// AuthorizePath and TokenPath are relative to the sandbox's base URL.
	AuthorizePath string `json:"authorizePath"`
	TokenPath     string `json:"tokenPath"`
}

// oauthState is the sandbox's OAuth bookkeeping. Server.mu guards all of
// it, with the tokens it mints.
type oauthState struct {
	app      OAuthApp
	appID    string
	rng      *rand.Rand
	codes    map[string]*authCode
	refresh  map[string]*refreshRec
	installs map[string]*install // by installKey
	inactive map[string]bool     // location ids
	minted   int                 // tokens minted, to sweep expired ones now and then
}

// authCode is an authorization code: single-use, short-lived, bound to the
// client and the redirect URI it was issued for.
type authCode struct {
	clientID, redirectURI string
	in                    *install
	scopes                []string
	expires               time.Time
	used                  bool
}

// install is the app installed on one location (by a sub-account user) or
// on a company (by an agency user, for some or all of its locations).
type install struct {
	userType   string // userLocation or userCompany
	companyID  string
	locationID string               // a location install's location
	locations  map[string]time.Time // approved location -> installed at
	bulk       bool
	approveAll bool
	future     bool
	scopes     []string
	userID     string
	planID     string
	removed    bool
}

// session is what an access or refresh token stands for: an install, seen
// as a company or as one location.
type session struct {
	in         *install
	userType   string
	locationID string // "" for a company token
	scopes     []string
	clientID   string // a token refreshes only with the client that got it
}

type refreshRec struct {
	sess    *session
	expires time.Time
}

func installKey(userType, id string) string { return userType + "/" + id }

func newOAuthState(seed int64, app OAuthApp) (*oauthState, error) {
	d := newDice(seed, 0x0a017)
	if app.ClientID == "" {
		app.ClientID = marketplaceAppID + "-" + strings.ToLower(d.alnum(8))
	}
	appID, _, _ := strings.Cut(app.ClientID, "-")
	if appID == "" {
		return nil, fmt.Errorf("sandbox: OAuth client id %q has no app id before its '-'", app.ClientID)
	}
	if len(app.ClientSecrets) == 0 {
		app.ClientSecrets = []string{d.uuid()}
	}
	if slices.Contains(app.ClientSecrets, "") {
		return nil, errors.New("sandbox: an OAuth client secret must not be empty")
	}
	app.ClientSecrets = slices.Clone(app.ClientSecrets)
	app.RedirectURIs = slices.Clone(app.RedirectURIs)
	if app.AccessTTL == 0 {
		app.AccessTTL = DefaultAccessTTL
	}
	if app.AccessTTL < time.Second {
		return nil, fmt.Errorf("sandbox: the OAuth access token lifetime must be at least 1s, got %s", app.AccessTTL)
	}
	if app.VersionID == "" {
		app.VersionID = d.objectID(time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC))
	}
	return &oauthState{
		app: app, appID: appID, rng: rand.New(rand.NewPCG(uint64(seed), 0x70ce)),
		codes: map[string]*authCode{}, refresh: map[string]*refreshRec{}, installs: map[string]*install{},
		inactive: map[string]bool{},
	}, nil
}

// secret draws an opaque token. Call with Server.mu held.
func (o *oauthState) secret(prefix string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(o.rng.Uint32())
	}
	return prefix + hex.EncodeToString(b)
}

// OAuthApp describes the OAuth app for a client.
func (s *Server) OAuthApp() OAuthAppInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.oauth.app
	return OAuthAppInfo{
		AppID: s.oauth.appID, ClientID: a.ClientID, ClientSecrets: slices.Clone(a.ClientSecrets),
		RedirectURIs: nonNilStrings(slices.Clone(a.RedirectURIs)), AccessTTLSeconds: int64(a.AccessTTL / time.Second),
		VersionID: a.VersionID, AuthorizePath: "/v2/oauth/chooselocation", TokenPath: "/oauth/token",
	}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SetAccessTTL changes the lifetime of the access tokens issued from now on.
func (s *Server) SetAccessTTL(d time.Duration) error {
	if d < time.Second {
		return fmt.Errorf("the access token lifetime must be at least 1s, got %s", d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.app.AccessTTL = d
	return nil
}

// SetClientSecrets replaces the valid client secrets, as rotating the
// secret in GHL's developer portal does.
func (s *Server) SetClientSecrets(secrets ...string) error {
	if len(secrets) == 0 || slices.Contains(secrets, "") {
		return errors.New("at least one non-empty client secret is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.app.ClientSecrets = slices.Clone(secrets)
	return nil
}

// AuthorizeRequest is one user's consent on the chooselocation page.
type AuthorizeRequest struct {
	ClientID    string   `json:"clientId"`    // default: the app's
	RedirectURI string   `json:"redirectUri"` // default: the first allowed, or http://127.0.0.1/oauth/callback
	Scopes      []string `json:"scopes"`      // default: every Payments scope (+ oauth.* for a company)
	// State is echoed on the redirect. Empty is an install started in the
	// Marketplace, which has none.
	State string `json:"state"`
	// LocationID installs on one location, as a sub-account user does.
	LocationID string `json:"locationId"`
	// CompanyID installs on a company, as an agency user does: on
	// Locations, or on every location of the company when Locations is
	// empty or ApproveAll is set.
	CompanyID  string   `json:"companyId"`
	Locations  []string `json:"locations"`
	ApproveAll bool     `json:"approveAll"`
	// Bulk marks a company install as a bulk installation (the app targets
	// sub-accounts and an agency user installed it on many).
	Bulk                     bool   `json:"bulk"`
	InstallToFutureLocations bool   `json:"installToFutureLocations"`
	PlanID                   string `json:"planId"`
}

// AuthorizeResult is where the browser is sent after consent.
type AuthorizeResult struct {
	Code     string `json:"code"`
	Redirect string `json:"redirect"`
	// Webhooks is how many INSTALL webhooks the install emitted.
	Webhooks int `json:"webhooks"`
}

// Authorize does what a user's consent does: installs the app (emitting
// GHL's INSTALL webhooks for what is newly installed) and issues an
// authorization code for the redirect.
func (s *Server) Authorize(req AuthorizeRequest) (AuthorizeResult, error) {
	now := s.clock()
	var events []appEvent
	s.mu.Lock()
	res, err := s.authorizeLocked(req, now, &events)
	s.mu.Unlock()
	if err != nil {
		return AuthorizeResult{}, err
	}
	s.sendAppEvents(events)
	res.Webhooks = len(events)
	return res, nil
}

func (s *Server) authorizeLocked(req AuthorizeRequest, now time.Time, events *[]appEvent) (AuthorizeResult, error) {
	o := s.oauth
	if req.ClientID == "" {
		req.ClientID = o.app.ClientID
	}
	if req.ClientID != o.app.ClientID {
		return AuthorizeResult{}, fmt.Errorf("unknown client_id %q", req.ClientID)
	}
	if req.RedirectURI == "" {
		req.RedirectURI = "http://127.0.0.1/oauth/callback"
		if len(o.app.RedirectURIs) > 0 {
			req.RedirectURI = o.app.RedirectURIs[0]
		}
	}
	if err := o.redirectAllowed(req.RedirectURI); err != nil {
		return AuthorizeResult{}, err
	}
	company := req.CompanyID != ""
	if company == (req.LocationID != "") {
		return AuthorizeResult{}, errors.New("name exactly one of locationId and companyId")
	}
	scopes := slices.Clone(req.Scopes)
	if len(scopes) == 0 {
		scopes = ghl.Scopes()
		if company {
			scopes = append(scopes, scopeOAuthRead, scopeOAuthWrite)
		}
	}

	var in *install
	if company {
		if s.companyByID[req.CompanyID] == nil {
			return AuthorizeResult{}, fmt.Errorf("unknown company %q", req.CompanyID)
		}
		var approve []string
		for _, l := range s.locations {
			if l.companyID != req.CompanyID {
				continue
			}
			if req.ApproveAll || len(req.Locations) == 0 || slices.Contains(req.Locations, l.id) {
				approve = append(approve, l.id)
			}
		}
		for _, id := range req.Locations {
			if l := s.byID[id]; l == nil || l.companyID != req.CompanyID {
				return AuthorizeResult{}, fmt.Errorf("location %q is not a location of company %s", id, req.CompanyID)
			}
		}
		key := installKey(userCompany, req.CompanyID)
		in = o.installs[key]
		if in == nil {
			in = &install{userType: userCompany, companyID: req.CompanyID, locations: map[string]time.Time{},
				userID: o.secretID()}
			o.installs[key] = in
			*events = append(*events, s.installEvent(in, ""))
		}
		in.bulk, in.future = req.Bulk, req.InstallToFutureLocations
		in.approveAll = req.ApproveAll || len(req.Locations) == 0
		for _, id := range approve {
			if _, ok := in.locations[id]; !ok {
				in.locations[id] = now
				*events = append(*events, s.installEvent(in, id))
			}
		}
	} else {
		l := s.byID[req.LocationID]
		if l == nil {
			return AuthorizeResult{}, errUnknownLocation(req.LocationID)
		}
		key := installKey(userLocation, l.id)
		in = o.installs[key]
		if in == nil {
			in = &install{userType: userLocation, companyID: l.companyID, locationID: l.id,
				locations: map[string]time.Time{l.id: now}, userID: o.secretID()}
			o.installs[key] = in
			*events = append(*events, s.installEvent(in, l.id))
		}
	}
	in.scopes = scopes
	if req.PlanID != "" {
		in.planID = req.PlanID
	}

	for c, ac := range o.codes {
		if !now.Before(ac.expires) {
			delete(o.codes, c) // a replay of it is as unknown as a spent one
		}
	}
	code := o.secret("", 20)
	o.codes[code] = &authCode{clientID: req.ClientID, redirectURI: req.RedirectURI, in: in,
		scopes: scopes, expires: now.Add(codeTTL)}
	u, _ := url.Parse(req.RedirectURI)
	q := u.Query()
	q.Set("code", code)
	if req.State != "" {
		q.Set("state", req.State)
	}
	u.RawQuery = q.Encode()
	return AuthorizeResult{Code: code, Redirect: u.String()}, nil
}

// secretID draws a 20-character GHL id (a user id). Call with Server.mu
// held.
func (o *oauthState) secretID() string { return dice{o.rng}.ghlID() }

// redirectAllowed checks a redirect URI against the app's list, or, with
// no list, requires an http(s) URL on a loopback host.
func (o *oauthState) redirectAllowed(uri string) error {
	if len(o.app.RedirectURIs) > 0 {
		if slices.Contains(o.app.RedirectURIs, uri) {
			return nil
		}
		return fmt.Errorf("redirect_uri %q is not one of the app's redirect URIs", uri)
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("redirect_uri %q is not an absolute http(s) URL", uri)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("redirect_uri %q is not on a loopback host (configure the app's redirect URIs to allow others)", uri)
	}
	return nil
}

// appEvent is an INSTALL or UNINSTALL webhook waiting to be sent, once
// Server.mu is released.
type appEvent struct {
	typ, locationID, companyID string
	payload                    map[string]any
}

// installEvent builds an INSTALL webhook: for a location, the shape of
// GHL's AppInstall examples with a locationId; for a company as a whole
// (locationID ""), the company-level one, which has no location or user.
// Call with Server.mu held.
func (s *Server) installEvent(in *install, locationID string) appEvent {
	o := s.oauth
	p := map[string]any{"appId": o.appID, "companyId": in.companyID, "versionId": o.app.VersionID}
	if in.planID != "" {
		p["planId"] = in.planID
	}
	if locationID != "" {
		p["userId"] = in.userID
		p["isWhitelabelCompany"] = false
		p["whitelabelDetails"] = map[string]any{}
		if c := s.companyByID[in.companyID]; c != nil {
			p["companyName"] = c.name
		}
	}
	return appEvent{typ: ghl.EventInstall, locationID: locationID, companyID: in.companyID, payload: p}
}

func (s *Server) sendAppEvents(events []appEvent) {
	for _, e := range events {
		s.hooks.emitFor(e.typ, e.locationID, e.companyID, e.payload)
	}
}

// UninstallLocation removes the app from a location: its own install, or
// the location's place in its company's install. The location's tokens
// stop working and GHL's UNINSTALL webhook {type, appId, locationId} goes
// out.
func (s *Server) UninstallLocation(locationID string) error {
	s.mu.Lock()
	o := s.oauth
	l := s.byID[locationID]
	if l == nil {
		s.mu.Unlock()
		return errUnknownLocation(locationID)
	}
	if in := o.installs[installKey(userLocation, locationID)]; in != nil {
		in.removed = true
		delete(o.installs, installKey(userLocation, locationID))
		s.revokeLocked(func(ss *session) bool { return ss.in == in })
	} else if in := o.installs[installKey(userCompany, l.companyID)]; in != nil && hasKey(in.locations, locationID) {
		delete(in.locations, locationID)
		in.approveAll = false
		s.revokeLocked(func(ss *session) bool { return ss.in == in && ss.locationID == locationID })
	} else {
		s.mu.Unlock()
		return fmt.Errorf("the app is not installed on location %s", locationID)
	}
	appID := o.appID
	s.mu.Unlock()
	s.hooks.emitFor(ghl.EventUninstall, locationID, l.companyID, map[string]any{"appId": appID})
	return nil
}

// UninstallCompany removes the app from a company: the company token and
// every location token minted from it stop working, and GHL's UNINSTALL
// webhook {type, appId, companyId} goes out.
func (s *Server) UninstallCompany(companyID string) error {
	s.mu.Lock()
	o := s.oauth
	key := installKey(userCompany, companyID)
	in := o.installs[key]
	if in == nil {
		s.mu.Unlock()
		return fmt.Errorf("the app is not installed on company %s", companyID)
	}
	in.removed = true
	delete(o.installs, key)
	s.revokeLocked(func(ss *session) bool { return ss.in == in })
	appID := o.appID
	s.mu.Unlock()
	s.hooks.emitFor(ghl.EventUninstall, "", companyID, map[string]any{"appId": appID, "companyId": companyID})
	return nil
}

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

// revokeLocked drops the access and refresh tokens of the sessions match
// picks. Call with Server.mu held.
func (s *Server) revokeLocked(match func(*session) bool) {
	for tok, g := range s.tokens {
		if g.sess != nil && match(g.sess) {
			delete(s.tokens, tok)
		}
	}
	for tok, r := range s.oauth.refresh {
		if match(r.sess) {
			delete(s.oauth.refresh, tok)
		}
	}
	for c, ac := range s.oauth.codes {
		if match(&session{in: ac.in, locationID: ac.in.locationID}) {
			delete(s.oauth.codes, c)
		}
	}
}

// AddInstalledLocation installs the app on one more location of a
// company's install, as GHL does for a location created later (or approved
// later), and sends its INSTALL webhook.
func (s *Server) AddInstalledLocation(companyID, locationID string) error {
	s.mu.Lock()
	in := s.oauth.installs[installKey(userCompany, companyID)]
	l := s.byID[locationID]
	switch {
	case in == nil:
		s.mu.Unlock()
		return fmt.Errorf("the app is not installed on company %s", companyID)
	case l == nil:
		s.mu.Unlock()
		return errUnknownLocation(locationID)
	case l.companyID != companyID:
		s.mu.Unlock()
		return fmt.Errorf("location %s is not a location of company %s", locationID, companyID)
	case hasKey(in.locations, locationID):
		s.mu.Unlock()
		return fmt.Errorf("the app is already installed on location %s", locationID)
	}
	in.locations[locationID] = s.clock()
	ev := s.installEvent(in, locationID)
	s.mu.Unlock()
	s.sendAppEvents([]appEvent{ev})
	return nil
}

// SetLocationActive pauses or resumes a location. While it is inactive its
// tokens cannot be refreshed, exchanged or minted ("Location is not
// active"); its refresh tokens are kept and work again once it is active,
// as GHL documents.
func (s *Server) SetLocationActive(locationID string, active bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID[locationID] == nil {
		return errUnknownLocation(locationID)
	}
	if active {
		delete(s.oauth.inactive, locationID)
	} else {
		s.oauth.inactive[locationID] = true
	}
	return nil
}

// ExpireAccessTokens makes the OAuth access tokens of a location (its own
// and those minted from its company), of a company (its company tokens),
// or of everything (both empty) expire now, so that a client's next call
// gets GHL's 401 and must refresh. It returns how many it expired.
func (s *Server) ExpireAccessTokens(locationID, companyID string) int {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.tokens {
		if g.sess == nil || !now.Before(g.expires) {
			continue
		}
		ss := g.sess
		if (locationID == "" && companyID == "") || (locationID != "" && ss.locationID == locationID) ||
			(companyID != "" && ss.userType == userCompany && ss.in.companyID == companyID) {
			g.expires = now
			n++
		}
	}
	return n
}

// InstallInfo is one install of the app and its live tokens.
type InstallInfo struct {
	UserType           string   `json:"userType"`
	CompanyID          string   `json:"companyId"`
	LocationID         string   `json:"locationId,omitempty"`
	Locations          []string `json:"locations"`
	Scopes             []string `json:"scopes"`
	IsBulkInstallation bool     `json:"isBulkInstallation"`
	ApproveAll         bool     `json:"approveAllLocations"`
	// AccessTokens and RefreshTokens count the tokens that still work,
	// company and derived location tokens together.
	AccessTokens  int `json:"accessTokens"`
	RefreshTokens int `json:"refreshTokens"`
}

// Installs lists the app's installs, companies first.
func (s *Server) Installs() []InstallInfo {
	now := s.clock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []InstallInfo
	for _, in := range s.oauth.installs {
		info := InstallInfo{UserType: in.userType, CompanyID: in.companyID, LocationID: in.locationID,
			Scopes: slices.Clone(in.scopes), IsBulkInstallation: in.bulk, ApproveAll: in.approveAll}
		for id := range in.locations {
			info.Locations = append(info.Locations, id)
		}
		slices.Sort(info.Locations)
		for _, g := range s.tokens {
			if g.sess != nil && g.sess.in == in && now.Before(g.expires) {
				info.AccessTokens++
			}
		}
		for _, r := range s.oauth.refresh {
			if r.sess.in == in && now.Before(r.expires) {
				info.RefreshTokens++
			}
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b InstallInfo) int {
		return strings.Compare(a.UserType+a.CompanyID+a.LocationID, b.UserType+b.CompanyID+b.LocationID)
	})
	return out
}

// mint issues an access token and a refresh token for a session. Call with
// Server.mu held.
func (s *Server) mint(ss *session, now time.Time) (access, refresh string, ttl time.Duration) {
	o := s.oauth
	ttl = o.app.AccessTTL
	access = o.secret("sbx-at-", 24)
	refresh = o.secret("sbx-rt-", 24)
	g := &tokenGrant{scopes: map[string]bool{}, expires: now.Add(ttl), sess: ss}
	for _, sc := range ss.scopes {
		g.scopes[sc] = true
	}
	// A company token reaches no location's Payments data; a location
	// token its own location's.
	g.locations = map[string]bool{}
	if ss.locationID != "" {
		g.locations[ss.locationID] = true
	}
	s.tokens[access] = g
	o.refresh[refresh] = &refreshRec{sess: ss, expires: now.Add(refreshTTL)}
	if o.minted++; o.minted%1024 == 0 {
		// Expired OAuth access tokens answer as unknown ones do: forget
		// them, so that a long run of refreshes does not grow the map.
		for tok, g := range s.tokens {
			if g.sess != nil && !now.Before(g.expires) {
				delete(s.tokens, tok)
			}
		}
	}
	return access, refresh, ttl
}

// locationInactive reports whether a location is paused, by the admin API
// or by a fault. Call with Server.mu held.
func (s *Server) locationInactive(locationID string, f Faults) bool {
	return locationID != "" && (s.oauth.inactive[locationID] || slices.Contains(f.InactiveLocations, locationID))
}
