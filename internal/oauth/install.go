package oauth

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Paths rankr serve answers for installs.
const (
	StartPath    = "/oauth/ghl/start"
	CallbackPath = "/oauth/ghl/callback"
)

// How long the one-time values last: an install link an admin hands out,
// and the state of an authorization under way.
const (
	linkLife  = 24 * time.Hour
	stateLife = 10 * time.Minute
)

// RequiredScopes are the scopes a location install must grant; push adds
// the one fulfillment pushes need, company the agency calls.
func RequiredScopes(push, company bool) []string {
	s := []string{ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead, ghl.ScopeSubscriptionsRead, ghl.ScopeInvoicesRead}
	if push {
		s = append(s, ghl.ScopeOrdersWrite)
	}
	if company {
		s = append(s, ghl.ScopeOAuthRead, ghl.ScopeOAuthWrite)
	}
	return s
}

// Configure saves the app's settings and, when secret is set, adds it as
// the newest client secret (the one refreshes use from now on; the older
// ones stay until no token needs them).
func (m *Manager) Configure(ctx context.Context, actor access.Actor, app rankr.OAuthApp, secret string, h *access.Hasher) error {
	if app.ClientID == "" || !strings.Contains(app.ClientID, "-") {
		return fmt.Errorf("%w: the client id reads <appId>-<suffix>, as the marketplace shows it", rankr.ErrInvalid)
	}
	u, err := url.Parse(app.RedirectURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != CallbackPath {
		return fmt.Errorf("%w: the redirect URL must be rankr serve's own https://HOST%s, as the app lists it", rankr.ErrInvalid, CallbackPath)
	}
	for name, raw := range map[string]string{"authorize host": app.AuthorizeHost, "base URL": app.BaseURL} {
		if u, err := url.Parse(raw); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("%w: the %s %q is not an http(s) URL", rankr.ErrInvalid, name, raw)
		}
	}
	if _, err := m.cfg.Store.OAuthAppGet(ctx); errors.Is(err, rankr.ErrNotFound) && secret == "" {
		return fmt.Errorf("%w: the first configuration needs the client secret (--client-secret, or RANKR_OAUTH_CLIENT_SECRET)", rankr.ErrInvalid)
	}
	app.UpdatedAt = m.now()
	changes, _ := json.Marshal(map[string]any{"clientId": app.ClientID, "redirectUri": app.RedirectURI,
		"authorizeHost": app.AuthorizeHost, "baseUrl": app.BaseURL, "push": app.Push, "newSecret": secret != ""})
	audit := rankr.AuditEntry{At: m.now(), Actor: auditActor(actor), Action: "oauth.configured", Outcome: rankr.AuditSuccess,
		Target: rankr.AuditTarget{Type: "oauth_app", ID: app.ClientID}, Request: actor.Request, Changes: changes}
	var cs *rankr.OAuthClientSecret
	if secret != "" {
		id := "cs_" + randomHex(6)
		sealed, err := m.cfg.Vault.Seal([]byte(secret), secretContext(id))
		if err != nil {
			return err
		}
		cs = &rankr.OAuthClientSecret{ID: id, ClientID: app.ClientID, Sealed: sealed, CreatedAt: m.now()}
		audit.Secrets = map[string]string{"clientSecret": h.Secret(secret)}
	}
	return m.cfg.Store.OAuthAppPut(ctx, app, cs, audit)
}

func auditActor(a access.Actor) rankr.AuditActor {
	return rankr.AuditActor{Type: a.Type, ID: a.ID, Role: a.Role}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomToken() (string, []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	t := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(t))
	return t, sum[:]
}

func hashOf(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}

// InstallLink makes a one-time link (valid a day) that starts an install
// on GHL's chooselocation page; the install it starts is connected as
// soon as GHL sends the user back, on behalf of actor. company asks for an
// agency install (the company's token, with a location token minted for
// each of its locations).
func (m *Manager) InstallLink(ctx context.Context, actor access.Actor, company bool) (string, error) {
	app, err := m.cfg.Store.OAuthAppGet(ctx)
	if err != nil {
		return "", err
	}
	link, hash := randomToken()
	err = m.cfg.Store.OAuthOnceAdd(ctx, store.OAuthOnce{Kind: "link", Hash: hash, Actor: auditActor(actor), Company: company,
		ExpiresAt: m.now().Add(linkLife)})
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(app.RedirectURI)
	u.Path, u.RawQuery = StartPath, url.Values{"link": {link}}.Encode()
	return u.String(), nil
}

// Start spends an install link and returns where to send the browser:
// GHL's chooselocation page, with a one-time state that the callback
// spends.
func (m *Manager) Start(ctx context.Context, link string) (string, error) {
	app, err := m.cfg.Store.OAuthAppGet(ctx)
	if err != nil {
		return "", err
	}
	o, err := m.cfg.Store.OAuthOnceTake(ctx, "link", hashOf(link))
	if err != nil {
		return "", fmt.Errorf("%w: this install link was used already or has expired: ask for a new one (rankr oauth link)", rankr.ErrNotFound)
	}
	state, hash := randomToken()
	o.Kind, o.Hash, o.ExpiresAt = "state", hash, m.now().Add(stateLife)
	if err := m.cfg.Store.OAuthOnceAdd(ctx, o); err != nil {
		return "", err
	}
	return ghl.AuthorizeURL(app.AuthorizeHost, app.ClientID, app.RedirectURI, RequiredScopes(app.Push, o.Company), state), nil
}

// Installed is what an install connected, or left pending.
type Installed struct {
	CompanyID string   `json:"companyId,omitempty"`
	Locations []string `json:"locations"`
	// Pending, when set, is the id of an install that waits for an admin
	// to claim it (rankr oauth claim ID).
	Pending string `json:"pending,omitempty"`
	// Missing are required scopes the install did not grant.
	Missing []string `json:"missingScopes,omitempty"`
	// Minting counts location tokens queued to be minted from the
	// company's.
	Minting int `json:"minting,omitempty"`
}

// Callback finishes an install: it spends the state (when there is one),
// exchanges the code once, checks the granted scopes, and stores the
// tokens. An install with no state (started in the Marketplace) is kept
// pending until an admin claims it.
func (m *Manager) Callback(ctx context.Context, code, state string) (Installed, error) {
	app, err := m.cfg.Store.OAuthAppGet(ctx)
	if err != nil {
		return Installed{}, err
	}
	if code == "" {
		return Installed{}, fmt.Errorf("%w: GHL sent no code", rankr.ErrInvalid)
	}
	actor := rankr.AuditActor{Type: rankr.ActorGHL, ID: "marketplace"}
	company, pending := false, "pi_"+randomHex(8)
	if state != "" {
		o, err := m.cfg.Store.OAuthOnceTake(ctx, "state", hashOf(state))
		if err != nil {
			return Installed{}, fmt.Errorf("%w: this install's state is unknown, used or expired: start again from a new install link", rankr.ErrInvalid)
		}
		actor, company, pending = o.Actor, o.Company, ""
	}
	cr, err := m.app(ctx)
	if err != nil {
		return Installed{}, err
	}
	creds, secretID := cr.app, cr.secretID
	userType := ghl.UserLocation
	if company {
		userType = ghl.UserCompany
	}
	resp, err := m.client(app.BaseURL).ExchangeCode(ctx, creds, code, app.RedirectURI, userType)
	if err != nil {
		return Installed{}, fmt.Errorf("exchanging the install's code: %w", err)
	}
	isCompany := resp.UserType == ghl.UserCompany || resp.LocationID == ""
	var missing []string
	for _, s := range RequiredScopes(app.Push, isCompany) {
		if !resp.HasScope(s) {
			missing = append(missing, s)
		}
	}
	tok := rankr.OAuthToken{Kind: rankr.TokenLocation, CompanyID: resp.CompanyID, LocationID: resp.LocationID,
		UserID: resp.UserID, AppID: cmp.Or(resp.AppID, creds.AppID()), VersionID: resp.VersionID, Bulk: resp.IsBulkInstallation,
		State: rankr.TokenActive, PendingID: pending, CreatedAt: m.now()}
	if pending != "" {
		tok.State = rankr.TokenPending
	}
	tok.ID = rankr.LocationTokenID(resp.LocationID)
	if isCompany {
		tok.Kind, tok.ID = rankr.TokenCompany, rankr.CompanyTokenID(resp.CompanyID)
	}
	// The app installed again from the Marketplace on what an admin
	// connected already: the same install, with new tokens.
	if prev, err := m.cfg.Store.OAuthTokenGet(ctx, tok.ID); err == nil && prev.State != rankr.TokenPending && pending != "" {
		pending, tok.PendingID, tok.State = "", "", rankr.TokenActive
	}
	sealed, err := m.sealed(tok, resp, secretID)
	if err != nil {
		return Installed{}, err
	}
	sealed.State, sealed.PendingID = tok.State, pending
	if len(missing) > 0 {
		sealed.StateMessage = "the install did not grant " + strings.Join(missing, ", ")
	}
	changes, _ := json.Marshal(map[string]any{"kind": tok.Kind, "companyId": resp.CompanyID, "locationId": resp.LocationID,
		"scopes": resp.Scopes(), "missingScopes": missing, "bulk": resp.IsBulkInstallation, "pending": pending})
	audit := rankr.AuditEntry{At: m.now(), Actor: actor, Action: "oauth.installed", Outcome: rankr.AuditSuccess,
		Target:  rankr.AuditTarget{Type: "oauth_" + tok.Kind, ID: cmp.Or(resp.LocationID, resp.CompanyID), LocationID: resp.LocationID},
		Changes: changes}
	p := store.OAuthTokenSaveParams{Token: *sealed, Audit: &audit}
	if !isCompany && pending == "" {
		p.Connection = &store.ConnectionUpsertParams{LocationID: resp.LocationID, BaseURL: app.BaseURL, CredentialKind: "oauth", Now: m.now()}
	}
	if _, err := m.cfg.Store.OAuthTokenSave(ctx, p); err != nil {
		return Installed{}, err
	}
	m.forget(tok.ID)
	out := Installed{CompanyID: resp.CompanyID, Pending: pending, Missing: missing}
	if !isCompany {
		out.Locations = []string{resp.LocationID}
		if len(missing) > 0 && pending == "" {
			m.flagMissing(ctx, resp.LocationID, missing)
		}
		return out, nil
	}
	if pending != "" {
		return out, nil
	}
	n, err := m.mintCompany(ctx, resp.CompanyID, resp.ApprovedLocations)
	out.Minting = n
	return out, err
}

// flagMissing marks a connection whose install lacks scopes, naming them.
func (m *Manager) flagMissing(ctx context.Context, locationID string, missing []string) {
	err := m.cfg.Store.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: locationID, State: rankr.StateMissingScope,
		Message: "the app's install did not grant " + strings.Join(missing, ", ") + ": add them to the app's scopes and reinstall", Now: m.now()})
	if err != nil {
		m.log.Error("recording an install's missing scopes", "location", locationID, "error", err)
	}
}

func (m *Manager) forget(id string) {
	m.mu.Lock()
	delete(m.cache, id)
	m.mu.Unlock()
}

// mintCompany queues a location token for each location of a company
// install (those GHL lists as installed, and those parked by early INSTALL
// webhooks), and returns how many.
func (m *Manager) mintCompany(ctx context.Context, companyID string, approved []string) (int, error) {
	locs := slices.Clone(approved)
	companyToken, err := m.token(ctx, rankr.CompanyTokenID(companyID))
	if err != nil {
		return 0, err
	}
	app, err := m.cfg.Store.OAuthAppGet(ctx)
	if err != nil {
		return 0, err
	}
	tok, err := m.cfg.Store.OAuthTokenGet(ctx, rankr.CompanyTokenID(companyID))
	if err != nil {
		return 0, err
	}
	installed := true
	for l, err := range m.client(app.BaseURL).InstalledLocations(ctx, companyToken, companyID, tok.AppID) {
		if err != nil {
			return 0, fmt.Errorf("listing the locations of company %s: %w", companyID, err)
		}
		if l.IsInstalled == installed {
			locs = append(locs, l.ID)
		}
	}
	parked, err := m.cfg.Store.OAuthParked(ctx, companyID)
	if err != nil {
		return 0, err
	}
	locs = append(locs, parked...)
	slices.Sort(locs)
	locs = slices.Compact(locs)
	if len(locs) == 0 {
		return 0, nil
	}
	if enqueue := m.enqueue(); enqueue != nil {
		return len(locs), enqueue(ctx, companyID, locs)
	}
	for _, l := range locs {
		if err := m.MintLocation(ctx, companyID, l); err != nil {
			return 0, err
		}
	}
	return len(locs), nil
}

// MintLocation mints a location's token from its company's and connects
// the location. It is the body of the job queued per location; running it
// twice mints twice and changes nothing else.
func (m *Manager) MintLocation(ctx context.Context, companyID, locationID string) error {
	companyToken, err := m.token(ctx, rankr.CompanyTokenID(companyID))
	if err != nil {
		return err
	}
	app, err := m.cfg.Store.OAuthAppGet(ctx)
	if err != nil {
		return err
	}
	company, err := m.cfg.Store.OAuthTokenGet(ctx, rankr.CompanyTokenID(companyID))
	if err != nil {
		return err
	}
	resp, err := m.client(app.BaseURL).LocationToken(ctx, companyToken, companyID, locationID)
	if err != nil {
		return fmt.Errorf("minting the token of location %s from company %s: %w", locationID, companyID, err)
	}
	tok := rankr.OAuthToken{ID: rankr.LocationTokenID(locationID), Kind: rankr.TokenLocation, CompanyID: companyID,
		LocationID: locationID, UserID: resp.UserID, AppID: cmp.Or(resp.AppID, company.AppID), VersionID: resp.VersionID,
		Bulk: company.Bulk, Derived: true, State: rankr.TokenActive, CreatedAt: m.now()}
	sealed, err := m.sealed(tok, resp, company.SecretID)
	if err != nil {
		return err
	}
	audit := rankr.AuditEntry{At: m.now(), Actor: rankr.AuditActor{Type: rankr.ActorSystem, ID: "oauth.location_token"},
		Action: "oauth.location_token_minted", Outcome: rankr.AuditSuccess,
		Target: rankr.AuditTarget{Type: "oauth_location", ID: locationID, LocationID: locationID}}
	_, err = m.cfg.Store.OAuthTokenSave(ctx, store.OAuthTokenSaveParams{Token: *sealed, Audit: &audit,
		Connection: &store.ConnectionUpsertParams{LocationID: locationID, BaseURL: app.BaseURL, CredentialKind: "oauth", Now: m.now()}})
	if err != nil {
		return err
	}
	m.forget(tok.ID)
	return nil
}

// Pending lists installs waiting for a claim.
func (m *Manager) Pending(ctx context.Context) ([]rankr.OAuthToken, error) {
	return m.cfg.Store.OAuthTokenList(ctx, store.OAuthTokenListParams{State: rankr.TokenPending})
}

// PendingLife is how long an install started in the Marketplace waits for
// a claim before its tokens are dropped.
const PendingLife = 24 * time.Hour

// ExpirePending drops the pending installs nobody claimed within
// PendingLife, and returns how many tokens went.
func (m *Manager) ExpirePending(ctx context.Context) (int, error) {
	toks, err := m.Pending(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	seen := map[string]bool{}
	for _, t := range toks {
		if m.now().Sub(t.CreatedAt) < PendingLife || seen[t.PendingID] {
			continue
		}
		seen[t.PendingID] = true
		p := store.OAuthUninstallParams{Message: "the pending install was not claimed", Now: m.now(),
			Audit: rankr.AuditEntry{At: m.now(), Actor: rankr.AuditActor{Type: rankr.ActorSystem, ID: "oauth.pending"},
				Action: "oauth.pending_expired", Outcome: rankr.AuditSuccess,
				Target: rankr.AuditTarget{Type: "oauth_install", ID: t.PendingID, LocationID: t.LocationID}}}
		p.PendingID = t.PendingID
		if _, err := m.cfg.Store.OAuthUninstall(ctx, p); err != nil && !errors.Is(err, rankr.ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}

// Claim connects a pending install on behalf of actor.
func (m *Manager) Claim(ctx context.Context, actor access.Actor, pendingID string) (Installed, error) {
	if !actor.Rights.Has("connections:write") {
		return Installed{}, fmt.Errorf("%w: claiming an install needs connections:write", rankr.ErrForbidden)
	}
	if actor.Locations != nil {
		// An install may bring any location, or an agency's all.
		return Installed{}, fmt.Errorf("%w: a key bound to locations cannot claim installs", rankr.ErrForbidden)
	}
	app, err := m.cfg.Store.OAuthAppGet(ctx)
	if err != nil {
		return Installed{}, err
	}
	audit := rankr.AuditEntry{At: m.now(), Actor: auditActor(actor), Action: "oauth.claimed", Outcome: rankr.AuditSuccess,
		Target: rankr.AuditTarget{Type: "oauth_install", ID: pendingID}, Request: actor.Request}
	toks, err := m.cfg.Store.OAuthClaim(ctx, pendingID, audit)
	if err != nil {
		return Installed{}, err
	}
	var out Installed
	for _, t := range toks {
		m.forget(t.ID)
		out.CompanyID = t.CompanyID
		if t.Kind == rankr.TokenCompany {
			n, err := m.mintCompany(ctx, t.CompanyID, nil)
			out.Minting += n
			if err != nil {
				return out, err
			}
			continue
		}
		_, err := m.cfg.Store.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: t.LocationID, BaseURL: app.BaseURL,
			CredentialKind: "oauth", Now: m.now()})
		if err != nil {
			return out, err
		}
		out.Locations = append(out.Locations, t.LocationID)
	}
	return out, nil
}

// AppInstalled follows an INSTALL webhook of a location of a company
// install: the location's token is minted, or, while the company's token
// is not stored yet (the webhook came before the code exchange), the
// install is parked for when it is. It reports whether the install is
// OAuth's to follow.
func (m *Manager) AppInstalled(ctx context.Context, companyID, locationID string) (bool, error) {
	if companyID == "" || locationID == "" {
		return false, nil
	}
	if _, err := m.cfg.Store.OAuthAppGet(ctx); errors.Is(err, rankr.ErrNotFound) {
		return false, nil // no OAuth app: the install is a PIT connection's business
	}
	company, err := m.cfg.Store.OAuthTokenGet(ctx, rankr.CompanyTokenID(companyID))
	if errors.Is(err, rankr.ErrNotFound) || err == nil && company.State == rankr.TokenPending {
		return true, m.cfg.Store.OAuthPark(ctx, companyID, locationID, m.now())
	}
	if err != nil {
		return true, err
	}
	if enqueue := m.enqueue(); enqueue != nil {
		return true, enqueue(ctx, companyID, []string{locationID})
	}
	return true, m.MintLocation(ctx, companyID, locationID)
}

// AppUninstalled follows an UNINSTALL webhook: a location's removes its
// token, a company's removes the company's token and every token minted
// from it. Their connections are suspended; what was synced stays.
func (m *Manager) AppUninstalled(ctx context.Context, companyID, locationID string) ([]string, error) {
	p := store.OAuthUninstallParams{Message: "the app was uninstalled in GHL", Now: m.now(),
		Audit: rankr.AuditEntry{At: m.now(), Actor: rankr.AuditActor{Type: rankr.ActorGHL}, Action: "oauth.uninstalled",
			Outcome: rankr.AuditSuccess}}
	if locationID != "" {
		p.LocationID = locationID
		p.Audit.Target = rankr.AuditTarget{Type: "oauth_location", ID: locationID, LocationID: locationID}
	} else {
		p.CompanyID = companyID
		p.Audit.Target = rankr.AuditTarget{Type: "oauth_company", ID: companyID}
	}
	locs, err := m.cfg.Store.OAuthUninstall(ctx, p)
	m.mu.Lock()
	for _, l := range locs {
		delete(m.cache, rankr.LocationTokenID(l))
	}
	delete(m.cache, rankr.CompanyTokenID(companyID))
	m.mu.Unlock()
	return locs, err
}
