package marketplace

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// The routes GHL calls.
const (
	SubscriptionPath = "/ghl/triggers/subscription"
	ActionsPath      = "/ghl/actions/{key}"
)

// SecretHeader carries the shared secret: GHL lets the app's developer
// set static headers on its calls, and documents no signature.
const SecretHeader = "X-Rankr-Secret"

// GHLTargetPrefix is where GHL's own target URLs point.
const GHLTargetPrefix = "https://services.leadconnectorhq.com/workflows-marketplace/triggers/execute/"

// Executor fires a workflow trigger for a location: a *ghl.Client.
type Executor interface {
	ExecuteWorkflowTrigger(ctx context.Context, locationID, targetURL string, payload json.RawMessage) error
}

// Config configures the marketplace surface.
type Config struct {
	// Secret is what GHL sends in SecretHeader. Empty turns the surface
	// off: its routes answer 404 and nothing fires.
	Secret string
	// TargetPrefixes are target URL prefixes accepted besides GHL's own
	// (a sandbox's, for tests and demos).
	TargetPrefixes []string

	Store store.Store
	App   *app.App
	// Clients gives the GHL client of a location's connection.
	Clients func(rankr.Connection) Executor
	Logger  *slog.Logger

	// Interval is how often the loop looks at the change feed and the due
	// deliveries (default 250 ms).
	Interval time.Duration
	// BaseDelay is the first backoff of a delivery retried (default 5 s,
	// doubled each attempt up to 10 min); MaxAttempts bounds its attempts
	// (default 10).
	BaseDelay   time.Duration
	MaxAttempts int
	// ActionTimeout bounds a custom action's run (default 10 s: GHL's
	// limit is undocumented, and a workflow step waits on it).
	ActionTimeout time.Duration
}

// Service is the marketplace surface.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns the surface for cfg.
func New(cfg Config) *Service {
	cfg.Interval = cmp.Or(cfg.Interval, 250*time.Millisecond)
	cfg.BaseDelay = cmp.Or(cfg.BaseDelay, 5*time.Second)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 10)
	cfg.ActionTimeout = cmp.Or(cfg.ActionTimeout, 10*time.Second)
	return &Service{cfg: cfg, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))}
}

// Enabled reports whether the surface is on (a secret is configured).
func (s *Service) Enabled() bool { return s != nil && s.cfg.Secret != "" }

// Key is the marketplace key of a catalog key: GHL's keys are one word
// of letters, digits and underscores.
func Key(catalogKey string) string { return strings.ReplaceAll(catalogKey, ".", "_") }

// firable reports whether a catalog trigger may be subscribed to from
// GHL: rankr's derived and own triggers. GHL's webhooks have native
// workflow triggers of GHL's own, and a schedule is GHL's too.
func firable(sp catalog.Spec) bool {
	return sp.Kind == catalog.KindTrigger && (sp.Source == catalog.SourceDerived || sp.Source == catalog.SourceRankr)
}

// triggerKey is the catalog key of a marketplace trigger key.
func (s *Service) triggerKey(key string) (string, bool) {
	for _, sp := range s.cfg.App.Catalog().List(catalog.KindTrigger) {
		if firable(sp) && Key(sp.Key) == key {
			return sp.Key, true
		}
	}
	return "", false
}

// actionKey is the catalog key of a marketplace action key.
func (s *Service) actionKey(key string) (string, bool) {
	for _, sp := range s.cfg.App.Catalog().List(catalog.KindAction) {
		if Key(sp.Key) == key {
			return sp.Key, true
		}
	}
	return "", false
}

// authorized compares the secret in constant time (of hashes, so that
// the length leaks nothing either).
func (s *Service) authorized(r *http.Request) bool {
	got := sha256.Sum256([]byte(r.Header.Get(SecretHeader)))
	want := sha256.Sum256([]byte(s.cfg.Secret))
	return s.cfg.Secret != "" && subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// guard answers what every call of GHL's must pass: the surface on, the
// secret right. It reports whether the call may go on.
func (s *Service) guard(w http.ResponseWriter, r *http.Request) bool {
	if !s.Enabled() {
		access.WriteError(w, http.StatusNotFound, "not_found", "no such route")
		return false
	}
	if !s.authorized(r) {
		access.WriteError(w, http.StatusUnauthorized, "unauthorized", "the "+SecretHeader+" header is missing or wrong")
		return false
	}
	return true
}

// connected answers 403 unless the location is connected to rankr.
func (s *Service) connected(w http.ResponseWriter, r *http.Request, loc string) bool {
	_, err := s.cfg.Store.ConnectionGet(r.Context(), loc)
	switch {
	case err == nil:
		return true
	case isNotFound(err):
		access.WriteErrorDetails(w, http.StatusForbidden, "unknown_location",
			"location "+loc+" is not connected to rankr", map[string]any{"field": "extras.locationId"})
	default:
		s.log.Error("marketplace: reading a connection", "location", loc, "error", err)
		access.WriteError(w, http.StatusServiceUnavailable, "unavailable", "rankr cannot read its connections now; try again")
	}
	return false
}

func badField(w http.ResponseWriter, field, msg string) {
	access.WriteErrorDetails(w, http.StatusBadRequest, "invalid", msg, map[string]any{"field": field})
}

func isNotFound(err error) bool { return err != nil && errorsIs(err, rankr.ErrNotFound) }

// Handlers are the routes GHL calls, by pattern.
func (s *Service) Handlers() map[string]http.Handler {
	return map[string]http.Handler{
		"POST " + SubscriptionPath: http.HandlerFunc(s.subscription),
		"POST " + ActionsPath:      http.HandlerFunc(s.action),
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
