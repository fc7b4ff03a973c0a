// Package app holds rankr's use cases, each written once for both of its
// adapters, the CLI (internal/cli) and the REST API (internal/api): the
// record views and lists, the reconciliation report, fulfillment pushes,
// notices, outbound endpoints and deliveries, connections, API keys and the
// audit log, and the long-running jobs the API answers 202 for.
//
// A use case takes a Caller (who asks: the locations they see and the actor
// the audit log records) and returns views: JSON-ready values with GHL's ids
// and camelCase fields, amounts in major units. Errors wrap the sentinels of
// internal/rankr (a bad input is a *FieldError naming the field), which each
// adapter maps once. The package knows no transport: it must not import
// internal/cli, internal/api, internal/web or internal/daemon.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Deps are what the use cases run on; the daemon fills them. A nil part
// (no mailer, no vault) makes the use cases that need it answer
// rankr.ErrUnavailable with what to configure.
type Deps struct {
	Store      store.Store
	Pusher     *flows.Pusher
	Reconciler *flows.Reconciler
	Notifier   *flows.Notifier
	Webhooks   *outbound.Webhooks
	// Sealing says the master key is here: new secrets (an endpoint's)
	// can be sealed.
	Sealing bool
	// Keys opens the API keys' use cases (they need the master key).
	Keys func(context.Context) (*access.Keys, error)
	// Status reports every connection and how its sync stands.
	Status func(context.Context) ([]LocationStatus, error)
	// Connect saves a location's Private Integration Token (sealed, and
	// audited as actor); nil without the master key.
	Connect func(ctx context.Context, actor rankr.AuditActor, locationID, name, baseURL, token string) (rankr.Connection, error)
	Logger  *slog.Logger
	// GHL is the GHL client of a connection (the daemon's, sharing its
	// rate governor); nil without the master key, and GHL actions then
	// say so.
	GHL func(rankr.Connection) catalog.Invoker
	// Refresh fetches one record again from GHL now (the syncer's).
	Refresh func(ctx context.Context, loc, recordType, id string) error
	// AlertTo are who rankr.alert.raise mails (serve's --alert-email).
	AlertTo []string
	// FeedPoll is how often live views' feed reads the store (default
	// 250 ms).
	FeedPoll time.Duration
}

// App runs the use cases.
type App struct {
	d    Deps
	log  *slog.Logger
	jobs *Jobs

	feedOnce sync.Once
	liveFeed *Feed

	overviews overviews

	catalogOnce sync.Once
	catalog     *catalog.Registry

	runnerOnce sync.Once
	runner     *automation.Runner
}

// New returns the use cases over d.
func New(d Deps) *App {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &App{d: d, log: log, jobs: &Jobs{}}
}

// Store is the store the use cases run on.
func (a *App) Store() store.Store { return a.d.Store }

// Caller is who asks.
type Caller struct {
	// Locations are those the caller sees; nil: every location.
	Locations []string
	// Actor is who the audit log records for a change.
	Actor rankr.AuditActor
	// Request is the HTTP request a change came in, for the audit log.
	Request rankr.AuditRequest
	// Access is the caller as the keys' use cases judge it.
	Access access.Actor
}

// Host is the caller of the CLI on the database's machine: it sees and may
// do everything.
func Host(user string) Caller {
	a := access.Host(user)
	return Caller{Access: a, Actor: rankr.AuditActor{Type: a.Type, ID: a.ID, Role: a.Role}}
}

// KeyHolder is the caller holding an API key: it sees its key's locations.
func KeyHolder(p *access.Principal) Caller {
	a := p.Actor()
	return Caller{Locations: p.Locations, Access: a, Actor: rankr.AuditActor{Type: a.Type, ID: a.ID, Role: a.Role}, Request: a.Request}
}

// Sees reports whether the caller sees a location.
func (c Caller) Sees(loc string) bool { return c.Locations == nil || slices.Contains(c.Locations, loc) }

// visible checks that the caller sees a record's location; a record of a
// location it does not see is not found, so that ids of other locations
// cannot be probed.
func (c Caller) visible(loc, what string) error {
	if c.Sees(loc) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, rankr.ErrNotFound)
}

// location checks a location filter: one the caller does not see finds
// nothing rather than everything, and says so as not found.
func (c Caller) location(loc string) error {
	if loc == "" || c.Sees(loc) {
		return nil
	}
	return fmt.Errorf("location %s: %w", loc, rankr.ErrNotFound)
}

// OneLocation narrows a request about one location, or about all of them
// when loc is empty, to what the caller sees: a caller bound to a single
// location is asked about it, one bound to several must name one, and one
// it does not see is not found.
func (c Caller) OneLocation(loc, field string) (string, error) {
	switch {
	case loc != "":
		return loc, c.location(loc)
	case c.Locations == nil:
		return "", nil
	case len(c.Locations) == 1:
		return c.Locations[0], nil
	}
	return "", fieldErr(field, "this key is bound to %d locations: name one", len(c.Locations))
}

// FieldError is a bad input: which field, and what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Is makes a FieldError a rankr.ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == rankr.ErrInvalid }

// fieldErr makes a FieldError.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// AsFieldError returns the FieldError in err's chain, if any.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}

// unavailable says a part of rankr this process was not given.
func unavailable(what, fix string) error {
	return fmt.Errorf("%s is not available here (%s): %w", what, fix, rankr.ErrUnavailable)
}
