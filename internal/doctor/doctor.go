package doctor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Status is how a check came out.
type Status string

// The statuses. Only Fail makes the report fail: Warn is something to look
// at before production, Skip a check that could not or need not run.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn"
	Skip Status = "skip"
)

// worse reports whether s is worse than t (fail, warn, pass, skip).
func (s Status) worse(t Status) bool { return s.rank() > t.rank() }

func (s Status) rank() int {
	switch s {
	case Fail:
		return 3
	case Warn:
		return 2
	case Pass:
		return 1
	}
	return 0
}

// The checks' ids. They are stable: scripts and the API's clients key on
// them. Checks of one location share the id and differ by Location.
const (
	IDOpen        = "open" // the CLI could not open the database or the vault; see Unopened
	IDDatabase    = "database"
	IDMigrations  = "migrations"
	IDConnections = "connections" // none to check, or they could not be read
	IDConnection  = "connection"
	IDToken       = "token"
	IDScopes      = "scopes"
	IDGHLAPI      = "ghl_api"
	IDClock       = "clock"
	IDWebhookKey  = "webhook_key"
	IDWebhookTest = "webhook_test"
	IDSMTP        = "smtp"
	IDOutbound    = "outbound_endpoints"
	IDTestOrder   = "test_order"
)

// Check is one finding: what was looked at, how it came out, what was
// found, what that means, and (when it is not a pass) what to do.
type Check struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Status   Status `json:"status"`
	Detail   string `json:"detail"`
	Meaning  string `json:"meaning"`
	Fix      string `json:"fix,omitempty"`
	Location string `json:"location,omitempty"`
}

// Report is the outcome of a run: its checks in a fixed order (the
// database, each location, then what is shared), and their tally.
type Report struct {
	// OK is false when any check failed.
	OK        bool      `json:"ok"`
	StartedAt time.Time `json:"startedAt"`
	TookMS    int64     `json:"tookMs"`
	Summary   Summary   `json:"summary"`
	Checks    []Check   `json:"checks"`
}

// Summary counts the checks by status.
type Summary struct {
	Pass int `json:"pass"`
	Fail int `json:"fail"`
	Warn int `json:"warn"`
	Skip int `json:"skip"`
}

// Failed returns the checks that failed.
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Find returns the first check with the id (and the location, when given).
func (r Report) Find(id, location string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id && (location == "" || c.Location == location) {
			return c, true
		}
	}
	return Check{}, false
}

func (r *Report) finish(took time.Duration) {
	r.Summary = Summary{}
	for _, c := range r.Checks {
		switch c.Status {
		case Pass:
			r.Summary.Pass++
		case Fail:
			r.Summary.Fail++
		case Warn:
			r.Summary.Warn++
		default:
			r.Summary.Skip++
		}
	}
	r.OK = r.Summary.Fail == 0
	r.TookMS = took.Milliseconds()
	if r.Checks == nil {
		r.Checks = []Check{}
	}
}

// Unopened is the report of a doctor that could not even open rankr's
// database or vault (the CLI's case: the API runs in a process that has
// them open): one failing check, with the reason.
func Unopened(err error, now time.Time) Report {
	r := Report{StartedAt: now, Checks: []Check{{ID: IDOpen, Title: "Database and master key", Status: Fail,
		Detail:  err.Error(),
		Meaning: "rankr cannot open its database (or the master key that seals the GHL tokens), so it can neither sync nor take webhooks; no other check could run.",
		Fix:     "Fix the setting the message names (--db / RANKR_DB, RANKR_MASTER_KEY or --master-key-file) and run rankr doctor again."}}}
	r.finish(0)
	return r
}

// Deps are what the checks use, taken from a running or an opened rankr
// (daemon.DoctorDeps fills them). Nil fields turn their checks into skips,
// saying why.
type Deps struct {
	// Store is rankr's store: connections, OAuth tokens, endpoints, and
	// the orders and pushes of the test order.
	Store store.Store
	// GHL returns a GHL client for a connection: its base URL, its token
	// (a PIT opened by the vault, or the OAuth install's, refreshed as
	// due), the process's rate governor; the options are the doctor's own
	// (its HTTP client, which reads GHL's headers, and short retries).
	GHL func(conn rankr.Connection, opts ...ghl.Option) *ghl.Client
	// Webhook is the webhook intake's configuration, as serve uses it
	// (the keys filled in: GHL's published key by default).
	Webhook intake.Config
	// SignWebhook signs a body as GHL does (Ed25519, the value of
	// x-ghl-signature). Only a sandbox's key can: nil for GHL itself.
	SignWebhook func(body []byte) string
	// WebhookStats are serve's intake counters (nil outside serve).
	WebhookStats func() intake.Stats
	// Schema checks that the database's migrations are this rankr's; its
	// error says how they differ.
	Schema func(ctx context.Context) (Schema, error)
	// Mail is Rankr's own SMTP server (empty URL: none configured).
	Mail mailer.Config
	// Outbound is the HTTP client outbound webhooks are sent with (its
	// guard decides which addresses may be reached).
	Outbound *http.Client
	// Pusher and SyncOrder are the fulfillment push flow and the order
	// refresh the test order goes through (nil: no --test-order).
	Pusher    Pusher
	SyncOrder func(ctx context.Context, locationID, orderID string) error
	// HTTP asks a sandbox's admin API what it is (default: a client of
	// its own).
	HTTP *http.Client
	// Now is the local clock (default time.Now); tests skew it.
	Now func() time.Time
	// Timeout bounds each network step (default 10 s).
	Timeout time.Duration
}

// Pusher is the fulfillment push flow (*flows.Pusher).
type Pusher interface {
	Request(ctx context.Context, r flows.Request) (rankr.FulfillmentPush, bool, error)
	Push(ctx context.Context, id string) (rankr.FulfillmentPush, error)
}

// Schema describes the database's migrations.
type Schema struct {
	Kind    string // sqlite or postgres
	Applied int    // migrations applied to the records' database
	Newest  string // the newest of them
}

// Options choose what to check.
type Options struct {
	// Location checks only this connection (default: every one).
	Location string
	// TestOrder adds the test order: on a sandbox, an order created and
	// paid in test mode; on GHL, a test-mode order of the location. It is
	// synced and a test fulfillment pushed to it. Live-mode orders are
	// never touched.
	TestOrder bool
	// By is who asks, for the audit record of the test push.
	By *rankr.AuditActor
}

func (d Deps) withDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	d.Timeout = cmp.Or(d.Timeout, 10*time.Second)
	return d
}

// run is one doctor run.
type run struct {
	deps Deps
	opts Options

	hc      *http.Client // GHL and the sandboxes' admin API
	mu      sync.Mutex
	sandbox map[string]*sandboxInfo // by base URL; nil entry: not a sandbox
}

// Run runs the checks. Its error is not a failed check (those are in the
// report) but a report that cannot be made: an unknown Options.Location
// (rankr.ErrNotFound), or ctx ending.
func Run(ctx context.Context, deps Deps, opts Options) (Report, error) {
	if deps.Store == nil || deps.GHL == nil {
		return Report{}, errors.New("doctor: no store or GHL clients to check")
	}
	deps = deps.withDefaults()
	start, began := deps.Now(), time.Now()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	r := &run{deps: deps, opts: opts, hc: &http.Client{Transport: transport}, sandbox: map[string]*sandboxInfo{}}
	if deps.HTTP == nil {
		r.deps.HTTP = &http.Client{Transport: transport, Timeout: deps.Timeout}
	}

	report := Report{StartedAt: start}
	dbChecks, dbOK := r.database(ctx)
	report.Checks = append(report.Checks, dbChecks...)

	var conns []rankr.Connection
	if dbOK {
		var err error
		if conns, err = r.connections(ctx); err != nil {
			return Report{}, err
		}
	}
	if len(conns) == 0 {
		c := Check{ID: IDConnections, Title: "GHL connections", Status: Skip,
			Meaning: "Without a connection, rankr syncs nothing; the GHL checks need one.",
			Fix:     "Connect a location: rankr connect --location ID --token - (a Private Integration Token), or install the app (rankr oauth link)."}
		if dbOK {
			c.Detail = "no location is connected"
		} else {
			c.Detail = "not read: the database did not answer"
			c.Fix = "Fix the database first (see above)."
		}
		report.Checks = append(report.Checks, c)
	}

	// The locations, the SMTP server and the endpoints are independent:
	// checked at once, each bounded by its timeouts, reported in order.
	locs := make([]locResult, len(conns))
	var smtp, out Check
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { locs[i] = r.location(ctx, c) })
	}
	wg.Go(func() { smtp = r.smtp(ctx) })
	wg.Go(func() { out = r.outbound(ctx) })
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	for _, l := range locs {
		report.Checks = append(report.Checks, l.checks...)
	}

	var tests []Check
	if opts.TestOrder {
		for _, l := range locs {
			tests = append(tests, r.testOrder(ctx, l))
		}
	}
	report.Checks = append(report.Checks, r.clock(ctx, locs))
	report.Checks = append(report.Checks, r.webhookKey(ctx, locs))
	report.Checks = append(report.Checks, r.webhookTest(ctx, locs))
	report.Checks = append(report.Checks, smtp, out)
	report.Checks = append(report.Checks, tests...)
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	report.finish(time.Since(began))
	return report, nil
}

// connections returns the connections to check.
func (r *run) connections(ctx context.Context) ([]rankr.Connection, error) {
	all, err := r.deps.Store.ConnectionList(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the connections: %w", err)
	}
	if r.opts.Location == "" {
		return all, nil
	}
	i := slices.IndexFunc(all, func(c rankr.Connection) bool { return c.LocationID == r.opts.Location })
	if i < 0 {
		return nil, fmt.Errorf("location %s is not connected: %w", r.opts.Location, rankr.ErrNotFound)
	}
	return all[i : i+1], nil
}

// step bounds one network step.
func (r *run) step(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.deps.Timeout)
}

// worst returns the worst of statuses (skip when there are none).
func worst(ss ...Status) Status {
	w := Skip
	for _, s := range ss {
		if s.worse(w) {
			w = s
		}
	}
	return w
}

// round shows a duration to a sensible precision.
func round(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return -round(-d)
	case d < time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
