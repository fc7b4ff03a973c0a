package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Hosts of GHL's authorize page: the standard marketplace and the
// white-label one.
const (
	MarketplaceHost           = "https://marketplace.gohighlevel.com"
	WhiteLabelMarketplaceHost = "https://marketplace.leadconnectorhq.com"
)

// Scopes of the company-level OAuth calls.
const (
	ScopeOAuthRead  = "oauth.readonly"
	ScopeOAuthWrite = "oauth.write"
)

// The OAuth operations. They are not in Operations(), which lists the
// Payments and Invoices API.
var (
	OpOAuthToken         = Operation{"OAuthToken", "get-access-token", "POST", "/oauth/token", ""}
	OpLocationToken      = Operation{"LocationToken", "get-location-access-token", "POST", "/oauth/locationToken", ScopeOAuthWrite}
	OpInstalledLocations = Operation{"InstalledLocations", "get-installed-location", "GET", "/oauth/installedLocations", ScopeOAuthRead}
)

// OAuthOperations returns the OAuth operations the OAuth client implements.
func OAuthOperations() []Operation {
	return []Operation{OpOAuthToken, OpLocationToken, OpInstalledLocations}
}

// UserType is whom a token acts for: a sub-account or an agency.
type UserType string

// User types.
const (
	UserLocation UserType = "Location"
	UserCompany  UserType = "Company"
)

// ClientSecret is an OAuth client secret. It prints as [redacted] so that
// it cannot leak through a log line or an error message.
type ClientSecret string

func (ClientSecret) String() string   { return "[redacted]" }
func (ClientSecret) GoString() string { return "ghl.ClientSecret([redacted])" }

// OAuthApp is a marketplace app's client credentials.
type OAuthApp struct {
	ClientID     string
	ClientSecret ClientSecret
}

// AppID is the app's id: the client id up to its first '-', as GHL issues
// client ids.
func (a OAuthApp) AppID() string {
	id, _, _ := strings.Cut(a.ClientID, "-")
	return id
}

// AuthorizeURL is the page where a user installs the app and picks a
// location or an agency: {host}/v2/oauth/chooselocation. host is
// MarketplaceHost, WhiteLabelMarketplaceHost or a sandbox's base URL
// (https:// is assumed when it has no scheme). state, when not empty, comes
// back on the redirect; an install started in the Marketplace has none.
func AuthorizeURL(host, clientID, redirectURI string, scopes []string, state string) string {
	host = strings.TrimRight(host, "/")
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {strings.Join(scopes, " ")}}
	if state != "" {
		q.Set("state", state)
	}
	// Spaces as %20, as GHL's own links write them.
	return host + "/v2/oauth/chooselocation?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

// TokenResponse is what the token endpoints answer, with GHL's field names.
// It prints without its tokens.
type TokenResponse struct {
	AccessToken              string   `json:"access_token"`
	TokenType                string   `json:"token_type"`
	ExpiresIn                int64    `json:"expires_in"`
	RefreshToken             string   `json:"refresh_token,omitempty"`
	Scope                    string   `json:"scope"`
	UserType                 UserType `json:"userType,omitempty"`
	CompanyID                string   `json:"companyId,omitempty"`
	LocationID               string   `json:"locationId,omitempty"`
	ApprovedLocations        []string `json:"approvedLocations,omitempty"`
	UserID                   string   `json:"userId"`
	PlanID                   string   `json:"planId,omitempty"`
	AppID                    string   `json:"appId,omitempty"`
	VersionID                string   `json:"versionId,omitempty"`
	IsBulkInstallation       bool     `json:"isBulkInstallation,omitempty"`
	InstallToFutureLocations bool     `json:"installToFutureLocations,omitempty"`
	ApproveAllLocations      bool     `json:"approveAllLocations,omitempty"`

	// Expiry is when the access token expires: when the request was sent,
	// plus ExpiresIn, so that it errs early. GHL does not send it.
	Expiry time.Time `json:"-"`
}

// UnmarshalJSON reads the v2 snake_case names and, when present, v3's
// camelCase ones.
func (t *TokenResponse) UnmarshalJSON(b []byte) error {
	type plain TokenResponse
	var v3 struct {
		AccessToken  string `json:"accessToken"`
		TokenType    string `json:"tokenType"`
		ExpiresIn    int64  `json:"expiresIn"`
		RefreshToken string `json:"refreshToken"`
	}
	if err := json.Unmarshal(b, (*plain)(t)); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &v3); err != nil {
		return err
	}
	if t.AccessToken == "" {
		t.AccessToken, t.TokenType, t.ExpiresIn, t.RefreshToken = v3.AccessToken, v3.TokenType, v3.ExpiresIn, v3.RefreshToken
	}
	return nil
}

// Scopes returns the granted scopes.
func (t TokenResponse) Scopes() []string { return strings.Fields(t.Scope) }

// HasScope reports whether the token was granted scope.
func (t TokenResponse) HasScope(scope string) bool {
	for _, s := range t.Scopes() {
		if s == scope {
			return true
		}
	}
	return false
}

func (t TokenResponse) String() string {
	who := "company " + t.CompanyID
	if t.LocationID != "" {
		who = "location " + t.LocationID
	}
	return fmt.Sprintf("ghl.TokenResponse(%s %s, expires %s, scope %q, tokens [redacted])",
		t.UserType, who, t.Expiry.Format(time.RFC3339), t.Scope)
}

func (t TokenResponse) GoString() string { return t.String() }

// InstalledLocation is one location of a company, as installedLocations
// lists it.
type InstalledLocation struct {
	ID          string `json:"_id"`
	Name        string `json:"name"`
	Address     string `json:"address"`
	IsInstalled bool   `json:"isInstalled"`
	VersionID   string `json:"versionId,omitempty"`
	InstalledAt string `json:"installedAt,omitempty"`
}

// InstalledLocationsParams filters installedLocations.
type InstalledLocationsParams struct {
	CompanyID string
	AppID     string
	// IsInstalled, when set, keeps only the locations where the app is (or
	// is not) installed.
	IsInstalled *bool
	Query       string // a part of the location name
	Limit       int    // page size, at most 100
	Skip        int
}

// InstalledLocationsPage is one page of installedLocations.
type InstalledLocationsPage struct {
	Locations                []InstalledLocation `json:"locations"`
	Count                    int                 `json:"count"`
	InstallToFutureLocations bool                `json:"installToFutureLocations"`
}

// OAuth calls GHL's OAuth endpoints: the code exchange, the refresh, and
// the company (agency) calls that mint location tokens and list installed
// locations. It is safe for concurrent use.
//
// Nothing here retries a request that may have spent a single-use
// credential: an authorization code, and a refresh token (GHL rotates it on
// every use). When such a request reached GHL and no answer came back, the
// error matches ErrOutcomeUnknown: GHL may have rotated the token, and the
// caller must find out (for a location of a company install, by minting a
// new token with LocationToken) rather than retry with the old one. A 429,
// which GHL answers without doing anything, is retried.
type OAuth struct {
	c *Client
}

// NewOAuth returns an OAuth client. It takes the Client's options: the base
// URL, the HTTP client, the retry policy, the attempt timeout, the governor
// (company calls are paced per company id, as GHL budgets a company as a
// resource of its own; share the governor with the app's Clients).
func NewOAuth(opts ...Option) *OAuth {
	return &OAuth{c: NewClient(nil, opts...)}
}

// BaseURL returns the host the client calls.
func (o *OAuth) BaseURL() string { return o.c.BaseURL() }

// ExchangeCode trades an authorization code for a token pair. userType is
// UserLocation for a sub-account install, UserCompany for an agency one;
// redirectURI may be empty. A spent, expired or unknown code fails with
// ErrInvalidGrant.
func (o *OAuth) ExchangeCode(ctx context.Context, app OAuthApp, code, redirectURI string, userType UserType) (TokenResponse, error) {
	form := url.Values{"client_id": {app.ClientID}, "client_secret": {string(app.ClientSecret)},
		"grant_type": {"authorization_code"}, "code": {code}}
	setIf(form, "user_type", string(userType))
	setIf(form, "redirect_uri", redirectURI)
	return o.token(ctx, form, "", string(app.ClientSecret), code)
}

// Refresh trades a refresh token for a new pair; the old refresh token is
// spent whatever happens next. A used, expired or unknown refresh token
// fails with ErrInvalidGrant; a paused location with ErrLocationInactive
// (the refresh token is kept and works once the location is active). A
// refresh whose answer was lost fails with ErrOutcomeUnknown.
func (o *OAuth) Refresh(ctx context.Context, app OAuthApp, refreshToken string, userType UserType) (TokenResponse, error) {
	form := url.Values{"client_id": {app.ClientID}, "client_secret": {string(app.ClientSecret)},
		"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	setIf(form, "user_type", string(userType))
	return o.token(ctx, form, "", string(app.ClientSecret), refreshToken)
}

// LocationToken mints a location token from a company (agency) token with
// scope oauth.write, for a location the company's install approved. It
// spends nothing, so it is retried like a read.
func (o *OAuth) LocationToken(ctx context.Context, companyAccessToken, companyID, locationID string) (TokenResponse, error) {
	form := url.Values{"companyId": {companyID}, "locationId": {locationID}}
	var out TokenResponse
	err := o.send(ctx, oauthCall{op: OpLocationToken, budget: companyID, location: locationID, bearer: companyAccessToken,
		form: form, idempotent: true, secrets: []string{companyAccessToken}}, &out)
	return out, err
}

// ListInstalledLocations returns one page of a company's locations and
// whether the app is installed on each. It needs a company token with
// scope oauth.readonly (GHL refuses Private Integration Tokens here).
func (o *OAuth) ListInstalledLocations(ctx context.Context, companyAccessToken string, p InstalledLocationsParams) (InstalledLocationsPage, error) {
	q := url.Values{"companyId": {p.CompanyID}, "appId": {p.AppID}}
	setIf(q, "query", p.Query)
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "skip", p.Skip)
	if p.IsInstalled != nil {
		q.Set("isInstalled", strconv.FormatBool(*p.IsInstalled))
	}
	var out InstalledLocationsPage
	err := o.send(ctx, oauthCall{op: OpInstalledLocations, budget: p.CompanyID, bearer: companyAccessToken, query: q,
		idempotent: true, secrets: []string{companyAccessToken}}, &out)
	return out, err
}

// InstalledLocations iterates over the locations of a company where the
// app is installed, page by page.
func (o *OAuth) InstalledLocations(ctx context.Context, companyAccessToken, companyID, appID string) iter.Seq2[InstalledLocation, error] {
	installed := true
	limit := min(o.c.pageSize, 100)
	return paginate(ctx, 0, limit, func(ctx context.Context, limit, offset int) (Page[InstalledLocation], error) {
		page, err := o.ListInstalledLocations(ctx, companyAccessToken, InstalledLocationsParams{
			CompanyID: companyID, AppID: appID, IsInstalled: &installed, Limit: limit, Skip: offset})
		return Page[InstalledLocation]{Items: page.Locations, TotalCount: page.Count}, err
	})
}

// token posts to /oauth/token, which spends a single-use credential.
func (o *OAuth) token(ctx context.Context, form url.Values, bearer string, secrets ...string) (TokenResponse, error) {
	var out TokenResponse
	sent := time.Now()
	err := o.send(ctx, oauthCall{op: OpOAuthToken, form: form, bearer: bearer, secrets: secrets, sent: &sent}, &out)
	if err == nil {
		out.Expiry = sent.Add(time.Duration(out.ExpiresIn) * time.Second)
	}
	return out, err
}

// oauthCall is one OAuth request.
type oauthCall struct {
	op       Operation
	budget   string // the governor lane: a company id, or "" for none
	location string // for errors
	bearer   string
	form     url.Values // a form-encoded body
	query    url.Values
	// idempotent calls may be repeated after a 5xx or a lost answer.
	idempotent bool
	// secrets are scrubbed from anything GHL answers, in case it echoes
	// them.
	secrets []string
	sent    *time.Time // set to when the last attempt was sent
}

// send performs an OAuth call, retrying what is safe to retry.
func (o *OAuth) send(ctx context.Context, cl oauthCall, out any) error {
	c := o.c
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + cl.op.Path
	u.RawQuery = cl.query.Encode()
	var body []byte
	if cl.form != nil {
		body = []byte(cl.form.Encode())
	}
	for attempt := 1; ; attempt++ {
		data, err := o.attempt(ctx, cl, u.String(), body)
		if err == nil {
			if err := json.Unmarshal(data, out); err != nil {
				return &Error{Op: cl.op.Name, Method: cl.op.Method, Path: cl.op.Path, LocationID: cl.location,
					StatusCode: http.StatusOK, Attempts: attempt, OutcomeUnknown: !cl.idempotent,
					Err: fmt.Errorf("decoding response: %w", err), Message: "undecodable response"}
			}
			return nil
		}
		gerr := err.(*Error)
		gerr.Attempts = attempt
		op := cl.op
		if cl.idempotent {
			op.Method = http.MethodGet // retried as a read
		}
		wait, retry := c.shouldRetry(ctx, op, gerr, attempt)
		if !retry {
			return gerr
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return gerr
		}
		if err := sleep(ctx, wait); err != nil {
			gerr.Err = errors.Join(gerr.Err, err)
			return gerr
		}
	}
}

// attempt sends an OAuth request once. It returns a 2xx body or an *Error.
func (o *OAuth) attempt(ctx context.Context, cl oauthCall, u string, body []byte) ([]byte, error) {
	c := o.c
	e := &Error{Op: cl.op.Name, Method: cl.op.Method, Path: cl.op.Path, LocationID: cl.location}
	var ticket Ticket
	var waited time.Duration
	if cl.budget != "" {
		var err error
		queued := time.Now()
		if ticket, err = c.governor.Wait(ctx, cl.budget); err != nil {
			e.Err = err
			return nil, e
		}
		waited = time.Since(queued)
	}
	// Sent and unanswered, a code exchange or a refresh may have spent
	// the code or rotated the refresh token: not idempotent.
	return c.exchange(ctx, ticket, exchange{method: cl.op.Method, url: u, body: body,
		contentType: "application/x-www-form-urlencoded", bearer: cl.bearer, idempotent: cl.idempotent, scope: cl.op.Scope,
		sent: cl.sent, scrub: cl.secrets, waited: waited}, e)
}

// scrub replaces the secrets in b, so that an error quoting GHL's answer
// cannot carry one.
func scrub(b []byte, secrets []string) []byte {
	for _, s := range secrets {
		if len(s) >= 4 {
			b = bytes.ReplaceAll(b, []byte(s), []byte("[redacted]"))
		}
	}
	return b
}
