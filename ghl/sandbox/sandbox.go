package sandbox

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rankr/rankr/ghl"
)

// Config describes a sandbox. The zero value is a usable, empty sandbox with
// one location; New fills defaults.
type Config struct {
	// Seed makes the generated data, ids, tokens and webhook key
	// reproducible: the same Seed and Anchor give the same records.
	Seed int64
	// Locations is the number of seeded locations (default 1).
	Locations int
	// Companies spreads the locations over this many companies (agencies),
	// location i belonging to company i mod Companies, so that an agency
	// can bulk-install the app on many locations. Zero gives each location
	// a company of its own.
	Companies int
	// Orders is the number of orders generated per location.
	Orders int
	// Anchor is the moment the generated history ends (default: now).
	Anchor time.Time
	// Token, when set, is valid for every seeded location with every
	// scope, in addition to each location's own token.
	Token string

	// WebhookURL receives webhooks; empty means webhooks are recorded but
	// not sent.
	WebhookURL string
	// WebhookRetry is the redelivery schedule after a 429 (GHL: 6 retries
	// about 10 minutes apart).
	WebhookRetry RetrySchedule
	// WebhookWorkers is how many deliveries run at once (default 4).
	WebhookWorkers int

	// ActivityPerSecond is the rate of live changes (default 0: the data
	// holds still unless asked).
	ActivityPerSecond float64

	// RateLimit is GHL's per-location budget (default 100 per 10 s, 200,000
	// per day).
	RateLimit RateLimit
	// MaxPageSize caps list limits (default 100); larger limits are clamped.
	MaxPageSize int
	// ErrorStyle picks the error body shape: StyleSpec (default) or
	// StyleObserved.
	ErrorStyle ErrorStyle

	// MarketplaceURL is the base URL of the marketplace app whose custom
	// workflow triggers and actions the sandbox calls as GHL does
	// (workflows.go); MarketplaceSecret is the static header value (sent as
	// X-Rankr-Secret) the app's developer set for those calls.
	MarketplaceURL    string
	MarketplaceSecret string

	// OAuth is the marketplace app whose OAuth flow the sandbox plays GHL's
	// part in; zero fields are derived from Seed.
	OAuth OAuthApp

	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Logger receives the sandbox's logs (default: discarded).
	Logger *slog.Logger
}

// RetrySchedule is how webhook deliveries answered with 429 are retried.
type RetrySchedule struct {
	Retries  int           // redeliveries after the first attempt (default 6)
	Interval time.Duration // wait between attempts (default 10 minutes)
	Jitter   time.Duration // added at random to each wait (default Interval/10)
}

// RateLimit is a per-location request budget.
type RateLimit struct {
	Burst    int           // requests per Interval (default 100)
	Interval time.Duration // default 10 s
	Daily    int           // requests per UTC day (default 200,000)
}

// ErrorStyle selects how error bodies look.
type ErrorStyle string

// Error styles.
const (
	// StyleSpec answers as the spec documents: {statusCode, message, error},
	// with not-found as 400.
	StyleSpec ErrorStyle = "spec"
	// StyleObserved answers as GHL has been seen to: {status, message, name,
	// traceId}, with not-found as 404.
	StyleObserved ErrorStyle = "observed"
)

// Server is a running sandbox's state and HTTP handler.
type Server struct {
	cfg     Config
	clock   func() time.Time
	log     *slog.Logger
	key     ed25519.PrivateKey
	handler http.Handler

	mu        sync.RWMutex // guards locations, byID, tokens, limits
	locations []*location
	byID      map[string]*location
	tokens    map[string]*tokenGrant
	limits    RateLimit
	// companyLimits budgets company-level calls, created on first use.
	companyLimits map[string]*limiter
	companies     []*company
	companyByID   map[string]*company

	oauth *oauthState

	faults    faultState
	hooks     *dispatcher
	activity  *activityLoop
	stats     stats
	workflows workflowState
	seq       atomic.Uint64 // for trace ids
	baseURL   atomic.Pointer[string]
}

// LocationInfo is a seeded location and its token.
type LocationInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Token     string `json:"token"`
	CompanyID string `json:"companyId"`
	StoreID   string `json:"storeId,omitempty"` // the products API's store
	UserID    string `json:"userId,omitempty"`  // the location's user, who made its catalog
}

// company is an agency: the owner of some locations, and a resource with a
// rate budget of its own.
type company struct {
	id, name string
}

// New builds a sandbox and generates its data. Call Close when done.
func New(cfg Config) (*Server, error) {
	if cfg.Locations <= 0 {
		cfg.Locations = 1
	}
	if cfg.Orders < 0 {
		return nil, errors.New("sandbox: Orders must not be negative")
	}
	if cfg.Companies < 0 {
		return nil, errors.New("sandbox: Companies must not be negative")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Anchor.IsZero() {
		cfg.Anchor = cfg.Clock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 100
	}
	if cfg.ErrorStyle == "" {
		cfg.ErrorStyle = StyleSpec
	}
	if cfg.ErrorStyle != StyleSpec && cfg.ErrorStyle != StyleObserved {
		return nil, fmt.Errorf("sandbox: unknown error style %q", cfg.ErrorStyle)
	}
	cfg.RateLimit = cfg.RateLimit.withDefaults()
	cfg.WebhookRetry = cfg.WebhookRetry.withDefaults()
	if cfg.WebhookWorkers <= 0 {
		cfg.WebhookWorkers = 4
	}

	s := &Server{
		cfg:    cfg,
		clock:  cfg.Clock,
		log:    cfg.Logger,
		key:    ed25519.NewKeyFromSeed(seedBytes(cfg.Seed, "webhook-key")),
		byID:   map[string]*location{},
		tokens: map[string]*tokenGrant{},
		limits: cfg.RateLimit,
	}
	s.faults.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), 0xfa017))
	gen := newGenerator(cfg.Seed, cfg.Anchor)
	s.companyByID = map[string]*company{}
	for k := range cfg.Companies {
		c := &company{id: newDice(cfg.Seed, 1<<40+uint64(k)).ghlID(), name: agencyName(k)}
		s.companies = append(s.companies, c)
		s.companyByID[c.id] = c
	}
	for i := range cfg.Locations {
		loc := gen.location(i, cfg.Orders)
		loc.limiter = newLimiter()
		if cfg.Companies > 0 {
			loc.companyID = s.companies[i%cfg.Companies].id
		} else {
			c := &company{id: loc.companyID, name: loc.name}
			s.companies = append(s.companies, c)
			s.companyByID[c.id] = c
		}
		s.locations = append(s.locations, loc)
		s.byID[loc.id] = loc
		s.tokens[loc.token] = &tokenGrant{locations: map[string]bool{loc.id: true}, scopes: allScopes()}
	}
	oa, err := newOAuthState(cfg.Seed, cfg.OAuth)
	if err != nil {
		return nil, err
	}
	s.oauth = oa
	if cfg.Token != "" {
		s.tokens[cfg.Token] = &tokenGrant{scopes: allScopes()} // nil locations: all
	}
	s.workflows.triggers = map[string]*wfTrigger{}
	s.SetMarketplace(cfg.MarketplaceURL, cfg.MarketplaceSecret)
	s.hooks = newDispatcher(s, cfg.WebhookURL)
	s.activity = newActivityLoop(s)
	s.activity.setRate(cfg.ActivityPerSecond)
	s.handler = s.routes()
	return s, nil
}

func (r RateLimit) withDefaults() RateLimit {
	if r.Burst <= 0 {
		r.Burst = 100
	}
	if r.Interval <= 0 {
		r.Interval = 10 * time.Second
	}
	if r.Daily <= 0 {
		r.Daily = 200_000
	}
	return r
}

func (r RetrySchedule) withDefaults() RetrySchedule {
	if r.Retries <= 0 {
		r.Retries = 6
	}
	if r.Interval <= 0 {
		r.Interval = 10 * time.Minute
	}
	if r.Jitter < 0 {
		r.Jitter = 0
	} else if r.Jitter == 0 {
		r.Jitter = r.Interval / 10
	}
	return r
}

// seedBytes derives 32 reproducible bytes from the seed for one purpose.
func seedBytes(seed int64, purpose string) []byte {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(purpose))
	return h.Sum(nil)
}

// Handler serves the GHL API and the admin API.
func (s *Server) Handler() http.Handler { return s.handler }

// Locations returns the seeded locations with their tokens.
func (s *Server) Locations() []LocationInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]LocationInfo, 0, len(s.locations))
	for _, l := range s.locations {
		out = append(out, LocationInfo{ID: l.id, Name: l.name, Token: l.token, CompanyID: l.companyID, StoreID: l.storeID(), UserID: l.userID})
	}
	return out
}

// WebhookPublicKey returns the key webhooks are signed with, as base64 SPKI.
func (s *Server) WebhookPublicKey() string {
	return ghl.EncodeWebhookKey(s.key.Public().(ed25519.PublicKey))
}

// WebhookSigningKey returns the private key, so that tests can forge valid
// deliveries of their own.
func (s *Server) WebhookSigningKey() ed25519.PrivateKey { return s.key }

// SetBaseURL records the URL the sandbox is reachable at, for Info.
func (s *Server) SetBaseURL(u string) { s.baseURL.Store(&u) }

// Info is what `rankr sandbox` prints on start.
type Info struct {
	BaseURL          string         `json:"baseUrl"`
	Locations        []LocationInfo `json:"locations"`
	WebhookPublicKey string         `json:"webhookPublicKey"`
	// OAuth is the marketplace app a client authorizes against.
	OAuth OAuthAppInfo `json:"oauth"`
}

// Info describes the sandbox for a client.
func (s *Server) Info() Info {
	info := Info{Locations: s.Locations(), WebhookPublicKey: s.WebhookPublicKey()}
	if u := s.baseURL.Load(); u != nil {
		info.BaseURL = *u
	}
	info.OAuth = s.OAuthApp()
	if s.cfg.Token != "" {
		for i := range info.Locations {
			info.Locations[i].Token = s.cfg.Token
		}
	}
	return info
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.SetBaseURL("http://" + ln.Addr().String())
	// net/http's own complaints (a bad TLS hello, a panic) go to the
	// sandbox's logger too, not to the standard log's plain stderr lines.
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	return err
}

// Close stops live activity and webhook delivery.
func (s *Server) Close() {
	s.activity.stopLoop()
	s.hooks.close()
}

func (s *Server) location(id string) *location {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byID[id]
}

func (s *Server) allLocations() []*location {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*location(nil), s.locations...)
}

func (s *Server) traceID() string {
	n := s.seq.Add(1)
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%d", s.cfg.Seed, n))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

var agencyNames = []string{"Northstar Growth Agency", "Harbor Digital Partners", "Evergreen Marketing Group",
	"Peak Performance Media", "Bright Path Agency"}

// agencyName names the k-th seeded company.
func agencyName(k int) string {
	if k < len(agencyNames) {
		return agencyNames[k]
	}
	return fmt.Sprintf("%s %d", agencyNames[k%len(agencyNames)], k/len(agencyNames)+1)
}
