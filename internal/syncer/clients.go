package syncer

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/vault"
)

// Clients hands out GHL clients: one per base URL (GHL itself, or a
// sandbox), all sharing one rate governor so that every job of a location
// draws on one budget. Tokens come from the store, opened by the vault, and
// never leave memory in clear.
type Clients struct {
	store    store.Store
	vault    *vault.Vault
	governor *ghl.Governor
	opts     []ghl.Option
	calls    *callCounter

	oauth ghl.TokenSource // the OAuth installs' tokens (package oauth)

	mu      sync.Mutex
	clients map[string]*ghl.Client
	tokens  map[string]cachedToken
}

// SetOAuth hands the tokens of OAuth connections (credential kind "oauth")
// to ts, which refreshes them as they expire.
func (c *Clients) SetOAuth(ts ghl.TokenSource) { c.oauth = ts }

type cachedToken struct {
	token   string
	version int64 // the connection's UpdatedAt: a new credential replaces the cache
}

// NewClients returns the clients for connections in st. opts are applied to
// every client (a shorter timeout in tests, say).
func NewClients(st store.Store, v *vault.Vault, governor *ghl.Governor, opts ...ghl.Option) *Clients {
	if governor == nil {
		governor = ghl.NewGovernor(ghl.DefaultLimits)
	}
	return &Clients{store: st, vault: v, governor: governor, opts: opts, calls: &callCounter{},
		clients: map[string]*ghl.Client{}, tokens: map[string]cachedToken{}}
}

// CredentialContext binds a sealed credential to its connection.
func CredentialContext(locationID string) string { return "connection:" + locationID }

// For returns the client for a connection.
func (c *Clients) For(conn rankr.Connection) *ghl.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[conn.BaseURL]; ok {
		return cl
	}
	opts := append([]ghl.Option{
		ghl.WithBaseURL(conn.BaseURL),
		ghl.WithGovernor(c.governor),
		ghl.WithHTTPClient(&http.Client{Transport: &countingTransport{next: http.DefaultTransport, calls: c.calls}}),
		ghl.WithUserAgent("rankr"),
	}, c.opts...)
	cl := ghl.NewClient(tokenSource{c}, opts...)
	c.clients[conn.BaseURL] = cl
	return cl
}

// Governor returns the shared rate governor.
func (c *Clients) Governor() *ghl.Governor { return c.governor }

// Calls returns how many HTTP requests were sent for a location so far.
func (c *Clients) Calls(locationID string) int64 { return c.calls.get(locationID) }

// tokenSource opens a location's credential from the store.
type tokenSource struct{ c *Clients }

func (ts tokenSource) Token(ctx context.Context, locationID string) (string, error) {
	conn, err := ts.c.store.ConnectionGet(ctx, locationID)
	if err != nil {
		return "", fmt.Errorf("loading the credential of %s: %w", locationID, err)
	}
	if conn.CredentialKind == "oauth" {
		if ts.c.oauth == nil {
			return "", fmt.Errorf("location %s is connected by OAuth, and this process holds no OAuth installs", locationID)
		}
		return ts.c.oauth.Token(ctx, locationID)
	}
	version := conn.UpdatedAt.UnixMilli()
	ts.c.mu.Lock()
	cached, ok := ts.c.tokens[locationID]
	ts.c.mu.Unlock()
	if ok && cached.version == version {
		return cached.token, nil
	}
	secret, err := ts.c.vault.Open(conn.Credential, CredentialContext(locationID))
	if err != nil {
		return "", fmt.Errorf("opening the credential of %s (is RANKR_MASTER_KEY the key it was saved with?): %w", locationID, err)
	}
	ts.c.mu.Lock()
	ts.c.tokens[locationID] = cachedToken{token: string(secret), version: version}
	ts.c.mu.Unlock()
	return string(secret), nil
}

// TokenRejected passes GHL's 401 for an OAuth connection's token to the
// OAuth installs, which refresh it; a PIT is never replaced.
func (ts tokenSource) TokenRejected(ctx context.Context, locationID, token string) (bool, error) {
	r, ok := ts.c.oauth.(ghl.TokenRejecter)
	if !ok {
		return false, nil
	}
	conn, err := ts.c.store.ConnectionGet(ctx, locationID)
	if err != nil || conn.CredentialKind != "oauth" {
		return false, nil
	}
	return r.TokenRejected(ctx, locationID, token)
}

// callCounter counts HTTP requests per location.
type callCounter struct{ m sync.Map } // location id -> *atomic.Int64

func (cc *callCounter) add(loc string) {
	v, _ := cc.m.LoadOrStore(loc, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (cc *callCounter) get(loc string) int64 {
	if v, ok := cc.m.Load(loc); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// countingTransport counts every request sent, retries included, by the
// location it names (altId or locationId), so that "API calls per order" is
// what GHL actually saw.
type countingTransport struct {
	next  http.RoundTripper
	calls *callCounter
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	loc := q.Get("altId")
	if loc == "" {
		loc = q.Get("locationId")
	}
	t.calls.add(loc)
	return t.next.RoundTrip(r)
}
