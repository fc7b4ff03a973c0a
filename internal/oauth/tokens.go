// Package oauth connects GHL locations through the marketplace app's OAuth
// 2.0: install links and the callback, installs started in the Marketplace
// (pending until an admin claims them), agency (bulk) installs whose
// location tokens are minted from the company's, INSTALL and UNINSTALL
// webhooks, and the tokens themselves, refreshed before they expire.
//
// GHL's refresh tokens are single-use: a refresh spends the token it
// presents and returns a new pair. Two processes refreshing the same token
// at once would leave one of them holding a spent token, and a reply lost
// after GHL rotated the pair would leave nobody with a good one. So a
// refresh runs under the store's refresh lock (a row lock on PostgreSQL),
// re-reads the token once the lock is held (another process may have
// refreshed it while this one waited), and commits the new pair before
// anyone uses it. A refresh GHL refuses ("Invalid grant") or whose answer
// was lost is recovered, for a location of an agency install, by minting a
// new location token from the company's; otherwise the connection needs
// the app reinstalled, which is said once (an event, a log line, an audit
// record). "Location is not active" keeps the token and tries again
// hourly.
//
// Package oauth imports internal/rankr, internal/store, internal/vault,
// internal/access (actors and audit records) and ghl.
package oauth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/vault"
)

// Config configures the manager.
type Config struct {
	Store  store.Store
	Vault  *vault.Vault
	Logger *slog.Logger
	// RefreshBefore is how long before its expiry a token is refreshed
	// (default 10 minutes, at most half the token's life), with up to a
	// tenth more at random so that tokens made together spread out.
	RefreshBefore time.Duration
	// InactiveRetry is how long a location GHL calls inactive waits before
	// its token is tried again (default 1 hour).
	InactiveRetry time.Duration
	// GHL are options for the OAuth client (tests: shorter timeouts).
	GHL []ghl.Option
	// Enqueue queues the minting of location tokens for a company's
	// locations (a job per location, unique by location). Without it they
	// are minted at once, one after the other.
	Enqueue func(ctx context.Context, companyID string, locationIDs []string) error
}

// Manager holds the OAuth installs.
type Manager struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	cache   map[string]cachedToken // token id -> the access token in clear
	flights map[string]*flight     // token id -> the refresh under way in this process
	clients map[string]*ghl.OAuth  // base URL -> client
	slots   chan struct{}          // refreshes under way in this process
}

type cachedToken struct {
	access     string
	expires    time.Time
	generation int64
	refreshAt  time.Time
}

// flight is one refresh under way in this process: callers that need the
// same token wait for it rather than queue on the lock.
type flight struct {
	done   chan struct{}
	access string
	err    error
}

// New returns a manager.
func New(cfg Config) *Manager {
	cfg.RefreshBefore = cmp.Or(cfg.RefreshBefore, 10*time.Minute)
	cfg.InactiveRetry = cmp.Or(cfg.InactiveRetry, time.Hour)
	return &Manager{cfg: cfg, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)), now: time.Now,
		cache: map[string]cachedToken{}, flights: map[string]*flight{}, clients: map[string]*ghl.OAuth{},
		slots: make(chan struct{}, 4)}
}

// SetEnqueue sets Config.Enqueue, for a job queue made after the manager.
func (m *Manager) SetEnqueue(fn func(ctx context.Context, companyID string, locationIDs []string) error) {
	m.mu.Lock()
	m.cfg.Enqueue = fn
	m.mu.Unlock()
}

func (m *Manager) enqueue() func(context.Context, string, []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Enqueue
}

// Errors a token can be refused with.
var (
	// ErrReauthRequired: the install's refresh token no longer works;
	// reinstall the app on the location.
	ErrReauthRequired = errors.New("the OAuth install needs the app reinstalled (its refresh token was spent or revoked)")
	// ErrInactive: GHL says the location is not active; the token is
	// kept and tried again later.
	ErrInactive = errors.New("GHL says the location is not active")
)

func accessContext(id string) string  { return "oauth-token:" + id + ":access" }
func refreshContext(id string) string { return "oauth-token:" + id + ":refresh" }
func secretContext(id string) string  { return "oauth-client-secret:" + id }

// Token returns a location's access token, refreshing it first when it is
// about to expire. It implements ghl.TokenSource for OAuth connections.
func (m *Manager) Token(ctx context.Context, locationID string) (string, error) {
	return m.token(ctx, rankr.LocationTokenID(locationID))
}

func (m *Manager) token(ctx context.Context, id string) (string, error) {
	now := m.now()
	m.mu.Lock()
	c, ok := m.cache[id]
	m.mu.Unlock()
	if ok && now.Before(c.refreshAt) {
		return c.access, nil
	}
	tok, err := m.cfg.Store.OAuthTokenGet(ctx, id)
	if err != nil {
		return "", err
	}
	if err := usable(tok, now); err != nil {
		return "", err
	}
	if now.Before(m.refreshAt(tok)) {
		return m.remember(tok)
	}
	return m.refreshNow(ctx, id, tok.Generation, "")
}

// usable says why a stored token may not be used now, if it may not.
func usable(tok rankr.OAuthToken, now time.Time) error {
	switch tok.State {
	case rankr.TokenActive:
		return nil
	case rankr.TokenReauthRequired:
		return fmt.Errorf("%s: %w", tok.ID, ErrReauthRequired)
	case rankr.TokenInactive:
		if now.Before(tok.RetryAt) {
			return fmt.Errorf("%s: %w; trying again at %s", tok.ID, ErrInactive, tok.RetryAt.Format(time.RFC3339))
		}
		return nil
	case rankr.TokenPending:
		return fmt.Errorf("%s: the install waits for an admin to claim it (rankr oauth claim %s)", tok.ID, tok.PendingID)
	}
	return fmt.Errorf("%s: the OAuth token is %s", tok.ID, tok.State)
}

// refreshAt is when a token is refreshed: RefreshBefore its expiry, or
// half its life for short-lived tokens, less a little at random. The
// random part is fixed per generation, so every process agrees.
func (m *Manager) refreshAt(tok rankr.OAuthToken) time.Time {
	life := tok.ExpiresAt.Sub(tok.UpdatedAt)
	before := min(m.cfg.RefreshBefore, life/2)
	if before <= 0 {
		return tok.ExpiresAt // the row changed since the pair came (a state): refresh at expiry
	}
	h := fnv.New64a()
	h.Write([]byte(tok.ID))
	r := rand.New(rand.NewPCG(uint64(tok.Generation), h.Sum64()))
	jitter := time.Duration(r.Int64N(int64(before/10) + 1))
	return tok.ExpiresAt.Add(-before - jitter)
}

func (m *Manager) remember(tok rankr.OAuthToken) (string, error) {
	access, err := m.cfg.Vault.Open(tok.Access, accessContext(tok.ID))
	if err != nil {
		return "", fmt.Errorf("opening the access token of %s (is this the master key that sealed it?): %w", tok.ID, err)
	}
	m.mu.Lock()
	m.cache[tok.ID] = cachedToken{access: string(access), expires: tok.ExpiresAt, generation: tok.Generation, refreshAt: m.refreshAt(tok)}
	m.mu.Unlock()
	return string(access), nil
}

// TokenRejected is told that GHL answered 401 to a location's access
// token: unless another process has replaced that token already, it is
// refreshed now, whatever its expiry says. It reports whether the location
// has another token to try.
func (m *Manager) TokenRejected(ctx context.Context, locationID, token string) (bool, error) {
	id := rankr.LocationTokenID(locationID)
	m.forget(id)
	tok, err := m.cfg.Store.OAuthTokenGet(ctx, id)
	if err != nil {
		return false, err
	}
	if stored, err := m.cfg.Vault.Open(tok.Access, accessContext(id)); err == nil && string(stored) != token {
		return true, nil // replaced meanwhile
	}
	m.log.Warn("GHL refused an OAuth access token before its expiry; refreshing it", "token", id)
	got, err := m.refreshNow(ctx, id, tok.Generation, token)
	return err == nil && got != token, err
}

// Forget drops a token from this process's cache (after GHL refused it,
// say), so that the next use reads the store.
func (m *Manager) Forget(locationID string) {
	m.mu.Lock()
	delete(m.cache, rankr.LocationTokenID(locationID))
	m.mu.Unlock()
}

// refreshNow refreshes a token once per process at a time; the callers that
// come while it runs share its outcome. rejected, when set, is the access
// token GHL refused: it is refreshed even if not due.
func (m *Manager) refreshNow(ctx context.Context, id string, seen int64, rejected string) (string, error) {
	m.mu.Lock()
	if f, ok := m.flights[id]; ok {
		m.mu.Unlock()
		select {
		case <-f.done:
			return f.access, f.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	m.flights[id] = f
	m.mu.Unlock()
	// The refresh runs to its end whoever asked for it first: it may spend
	// a refresh token, and its outcome must be stored.
	f.access, f.err = m.refreshLocked(context.WithoutCancel(ctx), id, seen, rejected)
	m.mu.Lock()
	delete(m.flights, id)
	m.mu.Unlock()
	close(f.done)
	return f.access, f.err
}

// refreshTimeout bounds one call to GHL's token endpoint, which has been
// seen to take over 10 s (a refresh given up early may leave GHL holding a
// new pair nobody has); lockWait bounds the wait for another process's
// refresh of the same token.
const (
	refreshTimeout = 45 * time.Second
	lockWait       = time.Minute
)

// errRemint marks a location token whose refresh failed in a way minting a
// new one from its company's token fixes.
var errRemint = errors.New("mint a new location token from the company's")

func (m *Manager) refreshLocked(ctx context.Context, id string, seen int64, rejected string) (string, error) {
	// The client credentials are read before the lock is taken: a refresh
	// holding a row lock (and, on PostgreSQL, a pooled connection) must
	// not wait for another connection to read them.
	creds, err := m.app(ctx)
	if err != nil {
		return "", err
	}
	// A few refreshes at a time per process, well below the connection
	// pool, however many tokens fall due together.
	select {
	case m.slots <- struct{}{}:
		defer func() { <-m.slots }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	// The wait for the lock has its own bound; the calls to GHL get theirs
	// once it is held, and storing the new pair is never cut short.
	ctx, cancel := context.WithTimeout(ctx, lockWait+2*refreshTimeout+30*time.Second)
	defer cancel()
	var outcome error
	prev := ""
	tok, err := m.cfg.Store.OAuthRefresh(ctx, id, func(ctx context.Context, cur rankr.OAuthToken) (*rankr.OAuthToken, error) {
		prev = cur.State
		now := m.now()
		if err := usable(cur, now); err != nil {
			return nil, err
		}
		// Another process refreshed it while this one waited for the
		// lock, or it is not due (and GHL did not refuse it): use what is
		// stored.
		if cur.Generation != seen || rejected == "" && now.Before(m.refreshAt(cur)) {
			return nil, nil
		}
		next, err := m.refreshOnce(ctx, cur, creds)
		outcome = err
		return next, err
	})
	if errors.Is(err, errRemint) {
		return m.remint(ctx, tok)
	}
	var change *stateChange
	if errors.As(err, &change) {
		m.setState(ctx, tok, change)
		return "", change.err
	}
	if err != nil {
		return "", err
	}
	if outcome == nil && tok.Generation != seen {
		m.log.Info("refreshed an OAuth token", "token", id, "generation", tok.Generation, "expires", tok.ExpiresAt)
		if prev != rankr.TokenActive {
			// A location active again: the token and its connection.
			m.setState(ctx, tok, &stateChange{state: rankr.TokenActive, message: ""})
		}
	}
	return m.remember(tok)
}

// refreshOnce spends the token's refresh token for a new pair. It returns
// the token to store (a new pair, or the old one with a new state) and why
// not the new pair, if not.
func (m *Manager) refreshOnce(ctx context.Context, cur rankr.OAuthToken, creds credentials) (*rankr.OAuthToken, error) {
	if len(cur.Refresh) == 0 {
		if cur.Derived {
			return nil, errRemint
		}
		return m.reauth(cur, "GHL gave this install no refresh token")
	}
	refresh, err := m.cfg.Vault.Open(cur.Refresh, refreshContext(cur.ID))
	if err != nil {
		return nil, fmt.Errorf("opening the refresh token of %s: %w", cur.ID, err)
	}
	app, secretID, base := creds.app, creds.secretID, creds.base
	userType := ghl.UserLocation
	if cur.Kind == rankr.TokenCompany {
		userType = ghl.UserCompany
	}
	client := m.client(base)
	call := func() (ghl.TokenResponse, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return client.Refresh(cctx, app, string(refresh), userType)
	}
	resp, err := call()
	if errors.Is(err, ghl.ErrOutcomeUnknown) && !cur.Derived {
		// GHL may not have seen it (the research's advice for a timeout
		// after sending: the same token once more, then as refused).
		m.log.Warn("an OAuth refresh got no answer; trying the same refresh token once more", "token", cur.ID, "error", err)
		resp, err = call()
	}
	switch {
	case err == nil:
		next, err := m.sealed(cur, resp, secretID)
		return next, err
	case errors.Is(err, ghl.ErrLocationInactive):
		retry := m.now().Add(m.cfg.InactiveRetry)
		m.log.Warn("GHL says a location is not active; keeping its token", "token", cur.ID, "retry", retry)
		return nil, &stateChange{state: rankr.TokenInactive, retryAt: retry,
			message: "GHL says the location is not active (paused or cancelled); the token is kept and tried again hourly",
			err:     fmt.Errorf("%s: %w", cur.ID, ErrInactive)}
	case errors.Is(err, ghl.ErrInvalidGrant) || errors.Is(err, ghl.ErrOutcomeUnknown):
		if cur.Derived {
			m.log.Warn("an OAuth refresh failed; minting a new location token from the company's", "token", cur.ID, "error", err)
			return nil, errRemint
		}
		return m.reauth(cur, "GHL refused the refresh token ("+err.Error()+"): reinstall the app on this location")
	}
	return nil, fmt.Errorf("refreshing %s: %w", cur.ID, err)
}

// stateChange is a refresh's outcome that changes the token's state
// rather than its pair.
type stateChange struct {
	state, message string
	retryAt        time.Time
	err            error
}

func (c *stateChange) Error() string { return c.err.Error() }
func (c *stateChange) Unwrap() error { return c.err }

// reauth is the outcome of a token that needs the app reinstalled.
func (m *Manager) reauth(cur rankr.OAuthToken, why string) (*rankr.OAuthToken, error) {
	return nil, &stateChange{state: rankr.TokenReauthRequired, message: why,
		err: fmt.Errorf("%s: %w: %s", cur.ID, ErrReauthRequired, why)}
}

// setState records a state change: said once, by the change's event and
// audit record (the store writes them only when the state changes) and a
// log line.
func (m *Manager) setState(ctx context.Context, tok rankr.OAuthToken, c *stateChange) {
	audit := rankr.AuditEntry{At: m.now(), Actor: rankr.AuditActor{Type: rankr.ActorSystem, ID: "oauth.refresh"},
		Action: "oauth." + c.state, Outcome: rankr.AuditFailure, Code: c.state,
		Target:  rankr.AuditTarget{Type: "oauth_" + tok.Kind, ID: tok.ID, LocationID: tok.LocationID},
		Changes: mustJSON(map[string]string{"message": c.message})}
	if c.state == rankr.TokenActive {
		audit.Outcome, audit.Code = rankr.AuditSuccess, ""
	}
	changed, err := m.cfg.Store.OAuthSetState(ctx, store.OAuthSetStateParams{ID: tok.ID, State: c.state, Message: c.message,
		RetryAt: c.retryAt, Audit: &audit, Now: m.now()})
	switch {
	case err != nil:
		m.log.Error("recording an OAuth token's state", "token", tok.ID, "state", c.state, "error", err)
	case changed && c.state == rankr.TokenReauthRequired:
		m.log.Error("an OAuth install needs the app reinstalled", "token", tok.ID, "reason", c.message)
	}
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// sealed is the token with GHL's new pair, sealed.
func (m *Manager) sealed(cur rankr.OAuthToken, resp ghl.TokenResponse, secretID string) (*rankr.OAuthToken, error) {
	next := cur
	var err error
	if next.Access, err = m.cfg.Vault.Seal([]byte(resp.AccessToken), accessContext(cur.ID)); err != nil {
		return nil, err
	}
	if resp.RefreshToken != "" {
		if next.Refresh, err = m.cfg.Vault.Seal([]byte(resp.RefreshToken), refreshContext(cur.ID)); err != nil {
			return nil, err
		}
	}
	// Measured from when the answer came, by this process's clock: the
	// refresh margin covers the time the answer took.
	next.ExpiresAt = m.now().Add(time.Duration(resp.ExpiresIn) * time.Second)
	next.SecretID, next.UpdatedAt = secretID, m.now()
	if s := resp.Scopes(); len(s) > 0 {
		next.Scopes = s
	}
	return &next, nil
}

// remint replaces a location token with one minted from its company's.
func (m *Manager) remint(ctx context.Context, loc rankr.OAuthToken) (string, error) {
	if err := m.MintLocation(ctx, loc.CompanyID, loc.LocationID); err != nil {
		_, rerr := m.reauth(loc, "its refresh failed and no new token could be minted from the agency's ("+err.Error()+"): reinstall the app")
		var change *stateChange
		errors.As(rerr, &change)
		m.setState(ctx, loc, change)
		return "", rerr
	}
	tok, err := m.cfg.Store.OAuthTokenGet(ctx, loc.ID)
	if err != nil {
		return "", err
	}
	return m.remember(tok)
}

// client is the OAuth client for a base URL.
func (m *Manager) client(base string) *ghl.OAuth {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clients[base]
	if !ok {
		c = ghl.NewOAuth(append([]ghl.Option{ghl.WithBaseURL(base), ghl.WithLogger(m.log)}, m.cfg.GHL...)...)
		m.clients[base] = c
	}
	return c
}

// credentials are the client credentials a refresh or an exchange uses.
type credentials struct {
	app      ghl.OAuthApp
	secretID string
	base     string
}

// app returns the client credentials: the newest client secret, so that
// tokens move to it as they refresh and an old one can be retired.
func (m *Manager) app(ctx context.Context) (credentials, error) {
	a, err := m.cfg.Store.OAuthAppGet(ctx)
	if err != nil {
		return credentials{}, err
	}
	secrets, err := m.cfg.Store.OAuthSecrets(ctx)
	if err != nil {
		return credentials{}, err
	}
	for _, s := range secrets {
		if !s.RetiredAt.IsZero() || s.ClientID != a.ClientID {
			continue
		}
		secret, err := m.cfg.Vault.Open(s.Sealed, secretContext(s.ID))
		if err != nil {
			return credentials{}, fmt.Errorf("opening client secret %s: %w", s.ID, err)
		}
		return credentials{app: ghl.OAuthApp{ClientID: a.ClientID, ClientSecret: ghl.ClientSecret(secret)}, secretID: s.ID, base: a.BaseURL}, nil
	}
	return credentials{}, fmt.Errorf("no client secret for %s: set one with rankr oauth configure", a.ClientID)
}
