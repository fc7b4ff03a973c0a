package access

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// GuardConfig configures the HTTP guard.
type GuardConfig struct {
	Store    store.Store
	Hasher   *Hasher
	ClientIP *ClientIP // nil: the socket's peer is the client
	Denials  *Denials  // nil: denials are logged only
	Logger   *slog.Logger
	// KeyRate and KeyBurst bound each key's requests (default 50/s, burst
	// 100): past them, 429 with Retry-After.
	KeyRate  float64
	KeyBurst int
	// Fresh is how long a key read from the database is trusted before it
	// is read again (default and at most 500 ms). What a key may do is
	// worked out from its read and its creators', each at most this old,
	// so a revocation or a change of role reaches this process within
	// twice that: a second.
	Fresh time.Duration
	// TouchEvery is how often a key's last use is written (default 30 s).
	TouchEvery time.Duration
	// SessionFor is how long a dashboard session lasts (default 12 h, and
	// never past its key's expiry).
	SessionFor time.Duration
	// SecureCookies marks the session cookie Secure (set it when rankr is
	// reached over HTTPS through a proxy; a TLS request sets it anyway).
	SecureCookies bool
	// SignInPage answers a browser's GET that has no valid key or session,
	// with status 401 (nil: the JSON error).
	SignInPage http.Handler
}

// Guard authenticates and authorizes every request but the open ones.
type Guard struct {
	cfg GuardConfig
	log *slog.Logger
	ips *ClientIP
	now func() time.Time

	mu      sync.RWMutex // guards keys, missing, failures and install
	keys    map[string]cachedKey
	missing map[string]time.Time     // key ids found in no row, and when: made-up keys cost one read a Fresh
	fails   map[string]*rate.Limiter // client address -> its allowance of refused keys
	install cachedInstall
	limits  sync.Map       // key id -> *rate.Limiter
	touched sync.Map       // key id -> time.Time of the last write of its use
	writes  sync.WaitGroup // last-use writes in flight
}

type cachedKey struct {
	key rankr.APIKey
	at  time.Time
	// What the key may do and where from, worked out once per read.
	rights Rights
	allow  []netip.Prefix
	// verified is the key that last matched its hash: checked again with
	// a constant-time compare instead of an HMAC, until the entry is read
	// again. It is held in memory only.
	verified string
}

type cachedInstall struct {
	allow []netip.Prefix
	at    time.Time
}

// NewGuard returns a guard.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	if cfg.Store == nil || cfg.Hasher == nil {
		return nil, errors.New("access: a guard needs a store and a hasher")
	}
	cfg.KeyRate = cmp.Or(cfg.KeyRate, 50)
	cfg.KeyBurst = cmp.Or(cfg.KeyBurst, 100)
	cfg.Fresh = min(cmp.Or(cfg.Fresh, 500*time.Millisecond), 500*time.Millisecond)
	cfg.TouchEvery = cmp.Or(cfg.TouchEvery, 30*time.Second)
	cfg.SessionFor = cmp.Or(cfg.SessionFor, 12*time.Hour)
	ips := cfg.ClientIP
	if ips == nil {
		ips, _ = NewClientIP(nil)
	}
	return &Guard{cfg: cfg, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)), ips: ips, now: time.Now,
		keys: map[string]cachedKey{}, missing: map[string]time.Time{}, fails: map[string]*rate.Limiter{}}, nil
}

// Policy says who may call a route.
type Policy struct {
	kind  policyKind
	scope string
	// location names where the request carries a location id the key must
	// see: "path:NAME" (a path wildcard) or "query:NAME".
	location string
}

type policyKind int

const (
	needKey policyKind = iota
	anyKey
	public
	probe
	signIn
)

// Need is the policy of a route for keys holding scope.
func Need(scope string) Policy {
	if !slices.Contains(Scopes, scope) {
		panic("access: unknown scope " + scope) // a programming error, caught by the route tests
	}
	return Policy{kind: needKey, scope: scope}
}

// AnyKey is the policy of the router's catch-all: any valid key, no
// scope, so that a path no route takes tells a caller without a key
// nothing.
func AnyKey() Policy { return Policy{kind: anyKey} }

// Public is the policy of a route anyone may call because it proves itself
// otherwise: GHL's signed webhooks, the OAuth start and callback.
func Public() Policy { return Policy{kind: public} }

// Probe is the policy of a health probe: open, and answering nothing but
// ready or not and a reason code.
func Probe() Policy { return Policy{kind: probe} }

// SignIn is the policy of the route that trades a key for a session.
func SignIn() Policy { return Policy{kind: signIn} }

// InLocation marks where the route's location id is ("path:location",
// "query:locationId"): a key bound to other locations gets 404.
func (p Policy) InLocation(where string) Policy {
	p.location = where
	return p
}

// Scope is the scope a route needs ("" for an open route).
func (p Policy) Scope() string { return p.scope }

// Open reports whether the route takes requests without a key.
func (p Policy) Open() bool { return p.kind != needKey && p.kind != anyKey }

// Location is where the route reads the location id its key must see.
func (p Policy) Location() string { return p.location }

func (p Policy) String() string {
	switch p.kind {
	case public:
		return "public"
	case probe:
		return "probe"
	case signIn:
		return "sign-in"
	case anyKey:
		return "any key"
	}
	return "needs " + p.scope
}

// Principal is the key a request was authenticated with and what it may do.
type Principal struct {
	Key       rankr.APIKey
	Rights    Rights
	Locations []string // nil: every location
	Session   bool     // authenticated by the dashboard's cookie
	Client    netip.Addr
	Peer      netip.Addr
	RequestID string
	UserAgent string
}

// SeesLocation reports whether the key may see a location. A nil
// principal (an open route's) sees every location.
func (p *Principal) SeesLocation(id string) bool {
	return p == nil || p.Locations == nil || slices.Contains(p.Locations, id)
}

// Actor is the principal as the actor of a change.
func (p *Principal) Actor() Actor {
	return Actor{Type: rankr.ActorAPIKey, ID: p.Key.ID, Role: p.Key.Role, Rights: p.Rights, Locations: p.Locations,
		Request: rankr.AuditRequest{ID: p.RequestID, IP: p.Client.String(), PeerIP: p.Peer.String(), UA: p.UserAgent}}
}

// requestKey holds a request's requestInfo in its context.
type requestKey struct{}

type requestInfo struct {
	id        string
	principal *Principal // nil on an open route
}

// PrincipalFrom returns the request's principal; nil on an open route.
func PrincipalFrom(ctx context.Context) *Principal {
	if ri, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return ri.principal
	}
	return nil
}

// RequestID returns the request's id (every answer carries it as
// X-Request-Id).
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

// denied is an authentication or authorization failure, as answered.
type denied struct {
	status  int
	code    string
	message string
	cause   error // why the check itself failed (status 503), for the log
}

func (d *denied) Error() string { return d.message }

func deny(status int, code, format string, args ...any) *denied {
	return &denied{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// Wrap guards h with a policy.
func (g *Guard) Wrap(p Policy, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		switch p.kind {
		case public, probe:
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, &requestInfo{id: id})))
			return
		case signIn:
			g.signIn(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, &requestInfo{id: id})))
			return
		}
		pr, d := g.authorize(r, p, id)
		if d != nil {
			g.refuse(w, r, pr, d)
			return
		}
		// One context for the request's id and principal: a request copy
		// less on every guarded request.
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, &requestInfo{id: id, principal: pr})))
	})
}

// authorize runs every check of a request against a policy. The principal
// is returned with a denial too, as far as it is known, for the record.
func (g *Guard) authorize(r *http.Request, p Policy, id string) (*Principal, *denied) {
	client, peer := g.ips.Resolve(r)
	pr := &Principal{Client: client, Peer: peer, RequestID: id, UserAgent: r.UserAgent()}
	token, session := bearer(r), ""
	if token == "" {
		if c, err := r.Cookie(SessionCookie); err == nil {
			session = c.Value
		}
	}
	var key rankr.APIKey
	var d *denied
	fails := g.failureAllowance(client)
	if (token != "" || session != "") && fails.Tokens() < 1 {
		return pr, deny(http.StatusTooManyRequests, "too_many_bad_keys", "too many refused keys from %s: wait a little", client)
	}
	defer func() {
		if d != nil && (d.code == "invalid_key" || d.code == "invalid_session") {
			fails.Allow() // spends one of the address's allowance
		}
	}()
	switch {
	case token != "":
		key, d = g.keyFor(r.Context(), token)
	case session != "":
		key, d = g.sessionKey(r.Context(), session)
		pr.Session = true
	default:
		d = deny(http.StatusUnauthorized, "missing_key", "this route needs a Rankr API key: send Authorization: Bearer rnkr_…")
	}
	if d != nil {
		return pr, d
	}
	pr.Key = key
	if d := g.usable(r.Context(), key, client); d != nil {
		return pr, d
	}
	rights, err := g.cachedRights(r.Context(), key)
	if err != nil {
		return pr, unavailableNow("the key's rights cannot be read now; try again", err)
	}
	pr.Rights, pr.Locations = rights, key.Locations
	if p.kind == needKey && !rights.Has(p.scope) {
		return pr, deny(http.StatusForbidden, "insufficient_scope", "this route needs the scope %s, which key %s does not hold (it holds: %s)",
			p.scope, key.ID, strings.Join(rights.List(), " "))
	}
	if pr.Session && !safeMethod(r.Method) && !sameOrigin(r) {
		return pr, deny(http.StatusForbidden, "cross_site", "a change made with the dashboard's cookie must come from the dashboard's own page")
	}
	if loc := locationOf(r, p.location); loc != "" && !pr.SeesLocation(loc) {
		return pr, deny(http.StatusNotFound, "not_found", "no location %s", loc)
	}
	if !g.limiter(key.ID).Allow() {
		return pr, deny(http.StatusTooManyRequests, "rate_limited", "key %s is over its limit of %v requests a second", key.ID, g.cfg.KeyRate)
	}
	g.touch(key.ID, client, r.UserAgent())
	return pr, nil
}

// keyFor finds the key a bearer token names and checks its secret. A
// token of the wrong shape never reaches the database.
func (g *Guard) keyFor(ctx context.Context, token string) (rankr.APIKey, *denied) {
	id, _, err := ParseKey(token)
	if err != nil {
		return rankr.APIKey{}, deny(http.StatusUnauthorized, "invalid_key", "%v", err)
	}
	key, err := g.key(ctx, id)
	if errors.Is(err, rankr.ErrNotFound) || err == nil && !g.matches(key, token) {
		return rankr.APIKey{}, deny(http.StatusUnauthorized, "invalid_key", "the API key is not one of this Rankr's")
	}
	if err != nil {
		return rankr.APIKey{}, unavailableNow("keys cannot be checked now; try again", err)
	}
	return key, nil
}

// matches reports whether token is key's, by its HMAC, or by the token
// that matched the same cache entry before.
func (g *Guard) matches(key rankr.APIKey, token string) bool {
	g.mu.RLock()
	c, ok := g.keys[key.ID]
	g.mu.RUnlock()
	if ok && c.verified != "" && subtle.ConstantTimeCompare([]byte(c.verified), []byte(token)) == 1 {
		return true
	}
	if !hmac.Equal(key.Hash, g.cfg.Hasher.Key(token)) {
		return false
	}
	g.mu.Lock()
	if c, ok := g.keys[key.ID]; ok && bytes.Equal(c.key.Hash, key.Hash) {
		c.verified = token
		g.keys[key.ID] = c
	}
	g.mu.Unlock()
	return true
}

func unavailableNow(message string, cause error) *denied {
	return &denied{status: http.StatusServiceUnavailable, code: "unavailable", message: message, cause: cause}
}

// usable checks a key's life and where it is used from.
func (g *Guard) usable(ctx context.Context, key rankr.APIKey, client netip.Addr) *denied {
	now := g.now()
	if !key.RevokedAt.IsZero() {
		return deny(http.StatusUnauthorized, "key_revoked", "key %s was revoked at %s", key.ID, key.RevokedAt.Format(time.RFC3339))
	}
	if !now.Before(key.ExpiresAt) {
		return deny(http.StatusUnauthorized, "key_expired", "key %s expired at %s: make a new one (rankr keys create or roll)",
			key.ID, key.ExpiresAt.Format(time.RFC3339))
	}
	install, err := g.installAllow(ctx)
	if err != nil {
		return unavailableNow("the allow-list cannot be read now; try again", err)
	}
	if !allowed(client, install, g.keyAllow(key)) {
		return deny(http.StatusForbidden, "ip_not_allowed", "key %s may not be used from %s", key.ID, client)
	}
	return nil
}

// rights is what a key may do: its scopes, within its role, within what
// its creator may do now (so demoting a key's creator narrows the keys it
// made).
func (g *Guard) rights(ctx context.Context, key rankr.APIKey, depth int) (Rights, error) {
	scopes, err := ParseScopes(key.Scopes)
	if err != nil {
		scopes = Rights{} // a scope this rankr no longer knows grants nothing
		for _, s := range key.Scopes {
			if r, err := ParseScopes([]string{s}); err == nil {
				for k := range r {
					scopes[k] = true
				}
			}
		}
	}
	role, err := RoleRights(key.Role)
	if err != nil {
		return Rights{}, nil
	}
	r := scopes.Intersect(role)
	if key.CreatedBy == rankr.HostActor || key.CreatedBy == "" {
		return r, nil
	}
	if depth > 16 {
		return Rights{}, nil
	}
	creator, err := g.key(ctx, key.CreatedBy)
	if errors.Is(err, rankr.ErrNotFound) {
		return Rights{}, nil
	}
	if err != nil {
		return nil, err
	}
	if !creator.RevokedAt.IsZero() || !g.now().Before(creator.ExpiresAt) {
		// A key made by a key that was revoked (or ran out) holds nothing:
		// revoking a stolen key undoes what it made too. A roll moves the
		// keys a key made to its successor.
		return Rights{}, nil
	}
	up, err := g.rights(ctx, creator, depth+1)
	if err != nil {
		return nil, err
	}
	return r.Intersect(up), nil
}

// cachedRights is rights, kept with the key's cache entry while the
// entry is fresh and still the read they were worked out from.
func (g *Guard) cachedRights(ctx context.Context, key rankr.APIKey) (Rights, error) {
	g.mu.RLock()
	c, ok := g.keys[key.ID]
	g.mu.RUnlock()
	if ok && c.rights != nil && sameKey(c.key, key) && g.now().Sub(c.at) < g.cfg.Fresh {
		return c.rights, nil
	}
	r, err := g.rights(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	if c, ok := g.keys[key.ID]; ok && sameKey(c.key, key) {
		c.rights = r
		g.keys[key.ID] = c
	}
	g.mu.Unlock()
	return r, nil
}

// keyAllow is a key's own allow-list, parsed once per cache entry. A list
// that does not parse (written by an older rankr, or by hand) allows no
// address: it fails closed.
func (g *Guard) keyAllow(key rankr.APIKey) []netip.Prefix {
	if len(key.AllowIPs) == 0 {
		return nil
	}
	g.mu.RLock()
	c, ok := g.keys[key.ID]
	g.mu.RUnlock()
	if ok && c.allow != nil && sameKey(c.key, key) {
		return c.allow
	}
	allow, _, err := ParseAllowList(key.AllowIPs)
	if err != nil || len(allow) == 0 {
		g.log.Error("a key's allow-list does not parse: refusing every address until it is set again", "key", key.ID, "error", err)
		allow = []netip.Prefix{{}} // the zero prefix contains no address
	}
	g.mu.Lock()
	if c, ok := g.keys[key.ID]; ok && sameKey(c.key, key) {
		c.allow = allow
		g.keys[key.ID] = c
	}
	g.mu.Unlock()
	return allow
}

// sameKey reports whether two reads of a key agree on what it may do.
func sameKey(a, b rankr.APIKey) bool {
	return a.ID == b.ID && a.Role == b.Role && a.CreatedBy == b.CreatedBy && a.RevokedAt.Equal(b.RevokedAt) &&
		a.ExpiresAt.Equal(b.ExpiresAt) && slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.AllowIPs, b.AllowIPs) &&
		slices.Equal(a.Locations, b.Locations)
}

// key reads a key, from the cache while it is fresh.
func (g *Guard) key(ctx context.Context, id string) (rankr.APIKey, error) {
	now := g.now()
	g.mu.RLock()
	c, ok := g.keys[id]
	missed, gone := g.missing[id]
	g.mu.RUnlock()
	if ok && now.Sub(c.at) < g.cfg.Fresh {
		return c.key, nil
	}
	if gone && now.Sub(missed) < g.cfg.Fresh {
		return rankr.APIKey{}, notFoundKey(id)
	}
	k, err := g.cfg.Store.KeyGet(ctx, id)
	switch {
	case errors.Is(err, rankr.ErrNotFound):
		g.mu.Lock()
		if len(g.missing) > 10000 {
			clear(g.missing) // made-up ids must not grow it without bound; real keys stay cached
		}
		g.missing[id] = now
		g.mu.Unlock()
		return k, err
	case err != nil:
		return k, err
	}
	g.mu.Lock()
	delete(g.missing, id)
	g.keys[id] = cachedKey{key: k, at: now}
	g.mu.Unlock()
	return k, nil
}

func notFoundKey(id string) error { return fmt.Errorf("key %s: %w", id, rankr.ErrNotFound) }

// failureAllowance bounds how many refused keys one address may present:
// a well-formed key costs a database read, and anyone can make one.
func (g *Guard) failureAllowance(client netip.Addr) *rate.Limiter {
	ip := client.String()
	g.mu.RLock()
	l, ok := g.fails[ip]
	g.mu.RUnlock()
	if ok {
		return l
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if l, ok := g.fails[ip]; ok {
		return l
	}
	if len(g.fails) > 10000 {
		clear(g.fails)
	}
	l = rate.NewLimiter(5, 20)
	g.fails[ip] = l
	return l
}

func (g *Guard) installAllow(ctx context.Context) ([]netip.Prefix, error) {
	now := g.now()
	g.mu.RLock()
	c := g.install
	g.mu.RUnlock()
	if !c.at.IsZero() && now.Sub(c.at) < g.cfg.Fresh {
		return c.allow, nil
	}
	in, err := g.cfg.Store.Installation(ctx)
	if err != nil {
		return nil, err
	}
	allow, _, err := ParseAllowList(in.AllowIPs)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.install = cachedInstall{allow: allow, at: now}
	g.mu.Unlock()
	return allow, nil
}

func (g *Guard) limiter(id string) *rate.Limiter {
	if l, ok := g.limits.Load(id); ok {
		return l.(*rate.Limiter)
	}
	l, _ := g.limits.LoadOrStore(id, rate.NewLimiter(rate.Limit(g.cfg.KeyRate), g.cfg.KeyBurst))
	return l.(*rate.Limiter)
}

// touch records a key's use, at most every TouchEvery per process (and the
// store skips it when another process wrote one since).
func (g *Guard) touch(id string, client netip.Addr, ua string) {
	now := g.now()
	if last, ok := g.touched.Load(id); ok && now.Sub(last.(time.Time)) < g.cfg.TouchEvery {
		return
	}
	// Of requests racing past the check, one swaps the time in and writes.
	if prev, loaded := g.touched.Swap(id, now); loaded && now.Sub(prev.(time.Time)) < g.cfg.TouchEvery {
		return
	}
	g.writes.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := g.cfg.Store.KeyTouch(ctx, store.KeyTouchParams{ID: id, At: now, IP: client.String(), UA: ua, Every: g.cfg.TouchEvery})
		if err != nil {
			g.log.Warn("recording a key's last use", "key", id, "error", err)
		}
	})
}

// Close waits for the last-use writes in flight.
func (g *Guard) Close() { g.writes.Wait() }

// refuse answers a denied request and records it.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, pr *Principal, d *denied) {
	if d.status == http.StatusServiceUnavailable {
		g.log.Error("checking a request's key", "path", r.URL.Path, "request", pr.RequestID, "error", d.cause)
	} else {
		g.cfg.Denials.Add(Denial{Action: "request.denied", Code: d.code, KeyID: pr.Key.ID, IP: pr.Client.String(),
			PeerIP: pr.Peer.String(), Route: r.Method + " " + r.URL.Path, UA: r.UserAgent()})
	}
	if d.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(1/g.cfg.KeyRate))))
	}
	if d.status == http.StatusUnauthorized && g.cfg.SignInPage != nil && r.Method == http.MethodGet &&
		strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		g.cfg.SignInPage.ServeHTTP(discardHeader{w}, r)
		return
	}
	WriteError(w, d.status, d.code, d.message)
}

// discardHeader lets a page handler write its body under a status already
// sent.
type discardHeader struct{ http.ResponseWriter }

func (discardHeader) WriteHeader(int) {}

// WriteError answers with Rankr's one error shape.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteErrorDetails(w, status, code, message, nil)
}

// ErrorBody is the one shape of every error rankr's HTTP routes answer:
// {"error":{"code","message","details"}}, code stable for programs,
// message for people, details (optional) naming what was wrong, such as
// the bad field.
type ErrorBody struct {
	Error ErrorInfo `json:"error"`
}

// ErrorInfo is an error's content.
type ErrorInfo struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// WriteErrorDetails answers an error with details.
func WriteErrorDetails(w http.ResponseWriter, status int, code, message string, details map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorBody{Error: ErrorInfo{Code: code, Message: message, Details: details}})
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether a browser says the request comes from a page
// of this origin (Sec-Fetch-Site, or else Origin against Host).
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	_, host, ok := strings.Cut(o, "://")
	return ok && host == r.Host
}

func locationOf(r *http.Request, where string) string {
	kind, name, ok := strings.Cut(where, ":")
	if !ok {
		return ""
	}
	if kind == "path" {
		return r.PathValue(name)
	}
	return r.URL.Query().Get(name)
}

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}

// SessionCookie is the dashboard's session cookie.
const SessionCookie = "rankr_session"

// signIn trades a key (form field or JSON "key") for a session cookie.
func (g *Guard) signIn(w http.ResponseWriter, r *http.Request) {
	pr := &Principal{RequestID: RequestID(r.Context()), UserAgent: r.UserAgent()}
	pr.Client, pr.Peer = g.ips.Resolve(r)
	if r.Method == http.MethodDelete {
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: g.cfg.SecureCookies || r.TLS != nil})
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(r) {
		g.refuse(w, r, pr, deny(http.StatusForbidden, "cross_site", "sign in from the dashboard's own page"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	token := ""
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body struct {
			Key string `json:"key"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		token = body.Key
	} else {
		token = r.PostFormValue("key")
	}
	key, d := g.keyFor(r.Context(), strings.TrimSpace(token))
	if d == nil {
		pr.Key = key
		d = g.usable(r.Context(), key, pr.Client)
	}
	if d != nil {
		g.refuse(w, r, pr, d)
		return
	}
	exp := g.now().Add(g.cfg.SessionFor)
	if key.ExpiresAt.Before(exp) {
		exp = key.ExpiresAt
	}
	err := g.cfg.Store.AuditAppend(r.Context(), rankr.AuditEntry{At: g.now(), Actor: pr.Actor().audit(),
		Action: "session.signed_in", Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "api_key", ID: key.ID},
		Request: pr.Actor().Request})
	if err != nil {
		g.log.Error("recording a sign-in", "key", key.ID, "error", err)
		WriteError(w, http.StatusServiceUnavailable, "unavailable", "signing in cannot be recorded now; try again")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: g.sessionValue(key.ID, exp), Path: "/", Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: g.cfg.SecureCookies || r.TLS != nil})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"key": key.ID, "role": key.Role, "expiresAt": exp.UTC()})
}

// sessionValue is a session cookie: the key id, when it ends, and a MAC
// over both, so that a session is as good as its key while the key lasts.
func (g *Guard) sessionValue(id string, exp time.Time) string {
	payload := id + "." + strconv.FormatInt(exp.Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(g.cfg.Hasher.session, payload))
}

func (g *Guard) sessionKey(ctx context.Context, value string) (rankr.APIKey, *denied) {
	bad := deny(http.StatusUnauthorized, "invalid_session", "the session is not valid or has ended: sign in again")
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return rankr.APIKey{}, bad
	}
	payload := value[:i]
	sum, err := base64.RawURLEncoding.DecodeString(value[i+1:])
	if err != nil || !hmac.Equal(sum, mac(g.cfg.Hasher.session, payload)) {
		return rankr.APIKey{}, bad
	}
	id, expText, _ := strings.Cut(payload, ".")
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil || !g.now().Before(time.Unix(exp, 0)) {
		return rankr.APIKey{}, bad
	}
	key, err := g.key(ctx, id)
	if errors.Is(err, rankr.ErrNotFound) {
		return rankr.APIKey{}, bad
	}
	if err != nil {
		return rankr.APIKey{}, unavailableNow("keys cannot be checked now; try again", err)
	}
	return key, nil
}
