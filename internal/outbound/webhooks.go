package outbound

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/vault"
)

// DefaultBackoff is the wait after each failed attempt: roughly
// exponential, about 4 h 45 min from the first attempt to the eighth. Each
// wait is jittered by ±20 % so that a receiver coming back up is not hit by
// every retry at once.
var DefaultBackoff = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour,
}

// DefaultEvents are what an endpoint added without patterns receives.
var DefaultEvents = []string{"order.*", "fulfillment.*"}

// Config tunes outbound webhooks. The zero value is usable.
type Config struct {
	// Allow lets webhooks go to these ranges although they are loopback or
	// private; never to link-local or metadata addresses.
	Allow []netip.Prefix
	// AttemptTimeout bounds each attempt, from dialling to reading the
	// answer (default 10 s).
	AttemptTimeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is dead
	// (default 8).
	MaxAttempts int
	// Backoff is the wait after the 1st, 2nd… failed attempt; the last
	// applies to all later ones (default DefaultBackoff).
	Backoff []time.Duration
	// Concurrency is how many attempts run at once in this process
	// (default 8).
	Concurrency int
	// PollInterval is how often the feed and the due deliveries are looked
	// at when there is nothing to do (default 1 s).
	PollInterval time.Duration
	// UserAgent is sent with every request (default rankr-webhooks/1).
	UserAgent string
	Logger    *slog.Logger
}

// Webhooks manages endpoints and sends their deliveries.
type Webhooks struct {
	store  store.Store
	vault  *vault.Vault
	cfg    Config
	guard  *Guard
	client *http.Client
	log    *slog.Logger
	lease  time.Duration
	wake   chan struct{}
	now    func() time.Time

	mu        sync.Mutex
	endpoints map[string]cachedEndpoint
	// hashSecret names a secret in audit records (see HashSecretsWith).
	hashSecret func(string) string
}

// HashSecretsWith makes the audit records of new signing secrets name
// them by fn(secret), an HMAC (access.Hasher.Secret): without it they
// record that a secret was made, not which. Call it before use.
func (w *Webhooks) HashSecretsWith(fn func(string) string) { w.hashSecret = fn }

// MaxGrace is the longest a replaced signing secret keeps signing.
const MaxGrace = 7 * 24 * time.Hour

// New returns outbound webhooks over a store, with secrets sealed by v.
func New(st store.Store, v *vault.Vault, cfg Config) *Webhooks {
	cfg.AttemptTimeout = cmp.Or(cfg.AttemptTimeout, 10*time.Second)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 8)
	if len(cfg.Backoff) == 0 {
		cfg.Backoff = DefaultBackoff
	}
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 8)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, time.Second)
	cfg.UserAgent = cmp.Or(cfg.UserAgent, "rankr-webhooks/1")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := NewGuard(cfg.Allow)
	return &Webhooks{
		store: st, vault: v, cfg: cfg, guard: g, client: g.Client(), log: cfg.Logger,
		// An attempt always ends (or is abandoned) well within its lease,
		// so no other dispatcher claims a delivery while it is in flight.
		lease:     2*cfg.AttemptTimeout + 30*time.Second,
		wake:      make(chan struct{}, 1),
		now:       time.Now,
		endpoints: map[string]cachedEndpoint{},
	}
}

// Guard returns the guard outbound requests go through.
func (w *Webhooks) Guard() *Guard { return w.guard }

// AddParams describes an endpoint to add.
type AddParams struct {
	URL string
	// Events are kind patterns (default DefaultEvents).
	Events      []string
	LocationID  string
	Description string
	// Actor, when set, is who adds it, for the audit record written with
	// the endpoint.
	Actor rankr.AuditActor
}

// Add checks an endpoint (its URL against the guard, its patterns) and
// saves it with a new signing secret, sealed. It returns the secret in
// clear: the only time it is ever shown.
func (w *Webhooks) Add(ctx context.Context, p AddParams) (rankr.WebhookEndpoint, string, error) {
	if err := w.guard.CheckURL(ctx, p.URL); err != nil {
		return rankr.WebhookEndpoint{}, "", err
	}
	events := p.Events
	if len(events) == 0 {
		events = DefaultEvents
	}
	for _, e := range events {
		if err := rankr.ValidateEventPattern(e); err != nil {
			return rankr.WebhookEndpoint{}, "", err
		}
		if strings.HasPrefix(e, rankr.WebhookEventPrefix) {
			return rankr.WebhookEndpoint{}, "", fmt.Errorf("%w: event pattern %q: webhook.* events are never sent to endpoints", rankr.ErrInvalid, e)
		}
	}
	id := newEndpointID()
	secret := NewSecret()
	sealed, err := w.vault.Seal([]byte(secret), secretContext(id))
	if err != nil {
		return rankr.WebhookEndpoint{}, "", fmt.Errorf("sealing the signing secret: %w", err)
	}
	var audit *rankr.AuditEntry
	if p.Actor.Type != "" {
		audit = w.entry(p.Actor, "webhook_endpoint.created", id, p.LocationID, map[string]any{"url": redactURL(p.URL),
			"events": events, "locationId": p.LocationID, "description": p.Description})
		w.recordSecret(audit, "secret", secret)
	}
	e, err := w.store.WebhookEndpointCreate(ctx, store.WebhookEndpointCreateParams{ID: id, URL: p.URL, Secret: sealed,
		Events: events, LocationID: p.LocationID, Description: p.Description, Now: w.now(), Audit: audit})
	if err != nil {
		return rankr.WebhookEndpoint{}, "", err
	}
	w.log.Info("webhook endpoint added", "endpoint", e.ID, "events", strings.Join(events, ","), "location", p.LocationID)
	return e, secret, nil
}

// SetEnabled enables or disables an endpoint, audited as actor's. A
// disabled endpoint receives nothing of what happens while it is disabled;
// its queued deliveries wait.
func (w *Webhooks) SetEnabled(ctx context.Context, actor rankr.AuditActor, id string, enabled bool) (rankr.WebhookEndpoint, error) {
	action := "webhook_endpoint.disabled"
	if enabled {
		action = "webhook_endpoint.enabled"
	}
	return w.store.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: id, Enabled: &enabled, Now: w.now(),
		Audit: w.entry(actor, action, id, "", map[string]any{"enabled": enabled})})
}

// Remove removes an endpoint for good, audited as actor's; its deliveries
// stay for the record and are not attempted again.
func (w *Webhooks) Remove(ctx context.Context, actor rankr.AuditActor, id string) (rankr.WebhookEndpoint, error) {
	return w.store.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: id, Remove: true, Now: w.now(),
		Audit: w.entry(actor, "webhook_endpoint.removed", id, "", nil)})
}

// RotateSecret gives an endpoint a new signing secret, audited as actor's,
// and returns it in clear: the only time it is shown. The replaced secret
// keeps signing beside it for grace (at most MaxGrace; 0: not at all), so
// that the receiver can switch to the new one meanwhile: every delivery
// carries a signature by each.
func (w *Webhooks) RotateSecret(ctx context.Context, actor rankr.AuditActor, id string, grace time.Duration) (rankr.WebhookEndpoint, string, error) {
	if grace < 0 || grace > MaxGrace {
		return rankr.WebhookEndpoint{}, "", fmt.Errorf("%w: the grace is 0 to %s, not %s", rankr.ErrInvalid, MaxGrace, grace)
	}
	secret := NewSecret()
	sealed, err := w.vault.Seal([]byte(secret), secretContext(id))
	if err != nil {
		return rankr.WebhookEndpoint{}, "", fmt.Errorf("sealing the signing secret: %w", err)
	}
	audit := w.entry(actor, "webhook_endpoint.secret_rotated", id, "", map[string]any{"grace": grace.String()})
	w.recordSecret(audit, "secret", secret)
	e, err := w.store.WebhookEndpointRotateSecret(ctx, store.WebhookEndpointRotateParams{ID: id, Secret: sealed, Grace: grace,
		Now: w.now(), Audit: audit})
	if err != nil {
		return rankr.WebhookEndpoint{}, "", err
	}
	w.mu.Lock()
	delete(w.endpoints, id)
	w.mu.Unlock()
	w.log.Info("webhook endpoint secret rotated", "endpoint", id, "grace", grace)
	return e, secret, nil
}

// entry is the audit record of a change to an endpoint.
func (w *Webhooks) entry(actor rankr.AuditActor, action, id, loc string, changes map[string]any) *rankr.AuditEntry {
	e := &rankr.AuditEntry{At: w.now(), Actor: actor, Action: action, Outcome: rankr.AuditSuccess,
		Target: rankr.AuditTarget{Type: "webhook_endpoint", ID: id, LocationID: loc}}
	if changes != nil {
		e.Changes, _ = json.Marshal(changes)
	}
	return e
}

// recordSecret names a new secret in an audit record by its HMAC, when
// there is a hasher.
func (w *Webhooks) recordSecret(e *rankr.AuditEntry, field, secret string) {
	if w.hashSecret != nil {
		e.Secrets = map[string]string{field: w.hashSecret(secret)}
	}
}

// redactURL keeps a URL's scheme, host and path for the record: a query
// may carry a token.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Replay queues delivered or dead deliveries again, with their message id
// and body, audited as actor's, and returns how many.
func (w *Webhooks) Replay(ctx context.Context, actor rankr.AuditActor, p store.WebhookDeliveryReplayParams) (int, error) {
	p.Now = cmp.Or(p.Now, w.now())
	sel := map[string]any{"ids": p.IDs, "endpointId": p.EndpointID, "state": p.State}
	if !p.Since.IsZero() {
		sel["since"] = p.Since
	}
	p.Audit = w.entry(actor, "webhook_delivery.replayed", p.EndpointID, "", sel)
	if p.EndpointID == "" {
		p.Audit.Target.Type = "webhook_delivery" // deliveries of every endpoint
	}
	n, err := w.store.WebhookDeliveryReplay(ctx, p)
	if err == nil && n > 0 {
		w.Wake()
	}
	return n, err
}

// Wake makes a running dispatcher look at the feed and the due deliveries
// now rather than at its next poll.
func (w *Webhooks) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// secretContext binds a sealed secret to its endpoint: copied to another
// row, it does not open.
func secretContext(endpointID string) string { return "webhook-endpoint:" + endpointID }

func newEndpointID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "ep_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
