// Package daemon wires rankr together: it picks the store and the job
// queue's driver from the database URL, opens the vault with the master key,
// builds the GHL clients and the syncer, and runs the job queue and the HTTP
// server until told to stop. It is the one place (with package cli) that
// knows the concrete drivers.
package daemon

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/marketplace"
	"github.com/rankr/rankr/internal/metrics"
	"github.com/rankr/rankr/internal/oauth"
	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/postgres"
	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/vault"
	"github.com/rankr/rankr/internal/web"
)

// Config says where rankr keeps its data and how it runs.
type Config struct {
	// DB is the database: "sqlite:PATH" (or a path) or "postgres://…".
	DB string
	// MasterKey seals credentials; see vault.
	MasterKey []byte
	// PreviousMasterKeys are keys being rotated out: the secrets they
	// sealed still open (each such open logs a warning) until rankr keys
	// master reseal has sealed them again with MasterKey.
	PreviousMasterKeys [][]byte
	// Addr is where serve listens for HTTP (empty: no HTTP server);
	// Listener, when set, is used instead.
	Addr     string
	Listener net.Listener
	// MetricsAddr, when set, also serves /metrics there without a key,
	// for a scraper (bind it to loopback or a private network).
	MetricsAddr string
	// Webhook configures the webhook intake (default key: GHL's).
	Webhook intake.Config
	// Sync tunes the syncer; Jobs the job queue.
	Sync syncer.Options
	Jobs jobs.Config
	// GHL are options for every GHL client (tests shorten timeouts).
	GHL []ghl.Option
	// Limits are the GHL limits the rate governor starts from.
	Limits ghl.Limits
	// Reconcile holds reconciliation's grace periods.
	Reconcile rankr.ReconcilePolicy
	// AlertEmails are mailed (through Mail) about each new reconciliation
	// exception, once.
	AlertEmails []string
	Logger      *slog.Logger
	// Mail is Rankr's own SMTP sender (empty URL: none). With one, a push
	// that notifies the customer is notified by Rankr, not GHL.
	Mail mailer.Config
	// PushLease is how long an attempt at a fulfillment push holds it
	// (zero: the pusher's default, 2 min).
	PushLease time.Duration

	// Outbound configures the webhooks Rankr sends to subscribers.
	Outbound outbound.Config
	// Access configures API keys, proxies and the audit log.
	Access AccessConfig
	// Marketplace configures GHL's marketplace workflow contract.
	Marketplace MarketplaceConfig
	// OAuthRefreshBefore is how long before expiry OAuth tokens are
	// refreshed (zero: the default, 10 minutes).
	OAuthRefreshBefore time.Duration

	// HTTP bounds the HTTP server's connections (zero fields: the
	// defaults, see HTTPTimeouts).
	HTTP HTTPTimeouts
	// ShutdownGrace bounds each waiting step of a stop: the HTTP server's
	// requests, then the job queue's running jobs, which are cancelled when
	// it runs out (default 15 s).
	ShutdownGrace time.Duration
	// StatusInterval is how long the status page's JSON is shared by every
	// open page before it is computed again (default 1 s, the page's own
	// refresh).
	StatusInterval time.Duration

	withoutVault bool // see OpenWithoutVault
}

// HTTPTimeouts bound the HTTP server's connections. The listener may face
// the internet (GHL's webhooks come to it), so a client that sends slowly,
// reads slowly or holds a connection idle must not hold it for ever.
type HTTPTimeouts struct {
	// ReadHeader bounds reading a request's headers (default 10 s).
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included (default 30 s; a
	// webhook's body is at most 1 MiB).
	Read time.Duration
	// Write bounds writing the response, from the end of the request's
	// headers (default 30 s). A streaming response must extend its own
	// deadline (http.ResponseController) as it writes.
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for its next
	// request (default 2 min).
	Idle time.Duration
}

func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	return HTTPTimeouts{
		ReadHeader: cmp.Or(t.ReadHeader, 10*time.Second),
		Read:       cmp.Or(t.Read, 30*time.Second),
		Write:      cmp.Or(t.Write, 30*time.Second),
		Idle:       cmp.Or(t.Idle, 2*time.Minute),
	}
}

// Daemon is an open rankr: its store, vault and syncer.
type Daemon struct {
	cfg    Config
	Store  store.Store
	Vault  *vault.Vault
	Syncer *syncer.Syncer
	Pusher *flows.Pusher
	// Reconciler reconciles payments; Run runs it periodically.
	Reconciler *flows.Reconciler
	// Alerter queues alert mails about new reconciliation exceptions.
	Alerter *flows.Alerter
	// Notifier sends Rankr's own notices; it sends nothing without a
	// mailer (Config.Mail).
	Notifier *flows.Notifier
	kind     string // sqlite or postgres
	log      *slog.Logger
	intake   *intake.Intake

	// Webhooks manages and sends outbound webhooks.
	Webhooks *outbound.Webhooks
	// App holds the use cases the CLI and the API share.
	App *app.App
	// Runner runs the automations' queued runs (and their schedules) in
	// Run.
	Runner *automation.Runner
	// Marketplace serves GHL's workflow contract and fires its triggers.
	Marketplace *marketplace.Service
	// Metrics are served at /metrics (and on Config.MetricsAddr).
	Metrics *metrics.Metrics
	// Access authenticates and audits once OpenAccess has opened it.
	Access *Access
	// OAuth holds the GHL marketplace installs (nil without the master
	// key).
	OAuth    *oauth.Manager
	accessMu sync.Mutex      // guards Access while it is opened
	guards   []*access.Guard // to wait for their last writes at the end

	// jobsStopped is closed once this process's job queue has stopped
	// (nil while Run has not started it), for /readyz.
	jobsStopped atomic.Pointer[<-chan struct{}]
	schemaAt    int             // migrations recorded when the store was opened
	records     *sqlstore.Store // the store as SQL, for /readyz

	counts counter      // the records' counts, for Status
	shown  sharedStatus // the status page's JSON, for every open page
}

// Open opens the database (migrating it) and the vault.
func Open(ctx context.Context, cfg Config) (*Daemon, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := openVault(cfg)
	if err != nil {
		return nil, err
	}
	kind, target, err := ParseDB(cfg.DB)
	if err != nil {
		return nil, err
	}
	mail, err := openMailer(cfg.Mail)
	if err != nil {
		return nil, err
	}
	if len(cfg.AlertEmails) > 0 && mail == nil {
		return nil, errors.New("alert emails (--alert-email) need an SMTP server to send them: set --smtp-url and --mail-from too")
	}
	for _, a := range cfg.AlertEmails {
		if _, err := netmail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("--alert-email %q is not a mail address: %w", a, err)
		}
	}
	// River's migrations run under the store's migration lock, so that
	// processes starting together migrate once, and not at all on a
	// database newer than this binary.
	migrateJobs := func(ctx context.Context, db *sql.DB, tx *sql.Tx) error {
		return jobs.Migrate(ctx, riverDriver(kind, db), tx)
	}
	var st *sqlstore.Store
	switch kind {
	case "sqlite":
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return nil, err
		}
		st, err = sqlite.Open(ctx, target, migrateJobs)
	default:
		st, err = postgres.Open(ctx, target, migrateJobs)
	}
	if err != nil {
		return nil, err
	}
	cfg.Sync.Logger = cmp.Or(cfg.Sync.Logger, cfg.Logger)
	cfg.Jobs.Logger = cmp.Or(cfg.Jobs.Logger, cfg.Logger)
	limits := cfg.Limits
	if limits == (ghl.Limits{}) {
		limits = ghl.DefaultLimits
	}
	// The metrics hear of every GHL request, the sync's and OAuth's.
	d := &Daemon{}
	d.Metrics = d.newMetrics(st)
	cfg.GHL = append([]ghl.Option{ghl.WithObserver(d.Metrics)}, cfg.GHL...)
	clients := syncer.NewClients(st, v, ghl.NewGovernor(limits), append([]ghl.Option{ghl.WithLogger(cfg.Logger)}, cfg.GHL...)...)
	s := syncer.New(st, clients, cfg.Sync)
	pusher := flows.NewPusher(st, s, cfg.Logger)
	pusher.RankrNotices = mail != nil
	pusher.Lease = cfg.PushLease
	rec := flows.NewReconciler(st, cfg.Reconcile, cfg.Logger)
	rec.Slice = 2 * time.Second // per periodic run; the next run goes on
	cfg.Outbound.Logger = cmp.Or(cfg.Outbound.Logger, cfg.Logger)
	*d = Daemon{cfg: cfg, Store: st, Vault: v, Syncer: s, Pusher: pusher, Notifier: flows.NewNotifier(st, mail, cfg.Logger),
		Alerter:    flows.NewAlerter(st, cfg.AlertEmails, cfg.Logger),
		Reconciler: rec, Webhooks: outbound.New(st, v, cfg.Outbound), kind: kind, log: cfg.Logger, Metrics: d.Metrics}
	if v != nil {
		d.OAuth = oauth.New(oauth.Config{Store: st, Vault: v, Logger: cfg.Logger, GHL: cfg.GHL,
			RefreshBefore: cfg.OAuthRefreshBefore})
		clients.SetOAuth(d.OAuth)
		s.SetAppEvents(d.OAuth)
	}
	d.App = d.newApp()
	d.Runner = d.newRunner()
	d.Marketplace = d.newMarketplace()
	d.records = st
	applied, err := st.Migrations(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	d.schemaAt = len(applied)
	return d, nil
}

// OpenWithoutVault opens the database (migrating it) without a master key,
// for commands that read and change records but never seal or open a secret
// (GHL tokens, outbound webhook secrets): listing, status, reports. The
// Daemon's Vault is nil, so it must not connect, sync, push or send webhooks.
func OpenWithoutVault(ctx context.Context, cfg Config) (*Daemon, error) {
	cfg.withoutVault = true
	return Open(ctx, cfg)
}

// ParseDB reads a database setting: "sqlite:PATH", "file:PATH", a bare path,
// or a postgres:// (postgresql://) URL.
func ParseDB(dsn string) (kind, target string, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres", dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		target = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
	case strings.HasPrefix(dsn, "file:"):
		target = strings.TrimPrefix(dsn, "file:")
	case strings.Contains(dsn, "://"):
		return "", "", fmt.Errorf("database %q: use sqlite:PATH or a postgres:// URL", redactDSN(dsn))
	default:
		target = dsn
	}
	if target == "" {
		return "", "", errors.New("database: empty SQLite path")
	}
	return "sqlite", target, nil
}

// redactDSN hides a password in a database URL, for messages.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			return dsn[:i+3] + "…@" + dsn[at+1:]
		}
	}
	return dsn
}

func riverDriver(kind string, db *sql.DB) riverdriver.Driver[*sql.Tx] {
	if kind == "sqlite" {
		return riversqlite.New(db)
	}
	return riverdatabasesql.New(db)
}

// Kind says which database the daemon uses: sqlite or postgres.
func (d *Daemon) Kind() string { return d.kind }

// Close closes the database.
func (d *Daemon) Close() error { return d.Store.Close() }

// Connect saves a connection, sealing its token, on behalf of rankr
// itself (the demo); see ConnectAs.
func (d *Daemon) Connect(ctx context.Context, locationID, name, baseURL, token string) (rankr.Connection, error) {
	return d.ConnectAs(ctx, rankr.AuditActor{Type: rankr.ActorSystem, ID: "rankr"}, locationID, name, baseURL, token)
}

// ConnectAs saves a connection, sealing its token; a token given for a
// location connected already replaces the old one in place. The change is
// audited with the token only as its HMAC (when the installation's pepper
// opens with this master key; a database whose secrets an earlier master
// key sealed still takes a new token, with the HMAC left out).
func (d *Daemon) ConnectAs(ctx context.Context, actor rankr.AuditActor, locationID, name, baseURL, token string) (rankr.Connection, error) {
	sealed, err := d.Vault.Seal([]byte(token), syncer.CredentialContext(locationID))
	if err != nil {
		return rankr.Connection{}, err
	}
	action := "connection.connected"
	if prev, err := d.Store.ConnectionGet(ctx, locationID); err == nil {
		action = "connection.token_replaced"
		if prev.CredentialKind == "oauth" {
			action = "connection.oauth_replaced_by_pit"
		}
	}
	audit := rankr.AuditEntry{At: time.Now(), Actor: actor, Action: action, Outcome: rankr.AuditSuccess,
		Target: rankr.AuditTarget{Type: "connection", ID: locationID, LocationID: locationID}}
	if acc, err := d.OpenAccess(ctx); err == nil {
		audit.Secrets = map[string]string{"token": acc.Hasher.Secret(token)}
	} else {
		d.log.Warn("recording a connection without its token's HMAC: the API key pepper does not open", "error", err)
	}
	return d.Store.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: locationID, Name: name,
		BaseURL: cmp.Or(baseURL, ghl.DefaultBaseURL), Credential: sealed, CredentialKind: "pit", Audit: &audit})
}

// WebhookPath is where serve takes GHL's webhooks.
const WebhookPath = "/webhooks/ghl"

// Run binds its port, starts the job queue, the webhook processor, the
// outbound sender and (when Addr or Listener is set) the HTTP server, and
// blocks until ctx ends. Then it stops them in the order that loses
// nothing: the webhook intake first (new deliveries get 429, so GHL
// redelivers them; queued ones are stored), then the HTTP server, then the
// processor (its last batch may still queue follow-up jobs), then the
// outbound sender, and the job queue last, whose running jobs get a grace
// period before they are cancelled.
func (d *Daemon) Run(ctx context.Context) error {
	// The port first: when it is taken, nothing has started that would need
	// stopping, and the caller may close the store at once.
	ln := d.cfg.Listener
	if ln == nil && d.cfg.Addr != "" {
		var err error
		if ln, err = net.Listen("tcp", d.cfg.Addr); err != nil {
			return fmt.Errorf("listening on %s: %w", d.cfg.Addr, err)
		}
	}
	var metricsLn net.Listener
	if d.cfg.MetricsAddr != "" {
		var err error
		if metricsLn, err = net.Listen("tcp", d.cfg.MetricsAddr); err != nil {
			if ln != nil && d.cfg.Listener == nil {
				ln.Close()
			}
			return fmt.Errorf("listening for metrics on %s: %w", d.cfg.MetricsAddr, err)
		}
		defer metricsLn.Close()
	}
	if ln != nil {
		defer ln.Close() // when the server never took it
		if _, err := d.OpenAccess(ctx); err != nil {
			return err
		}
		if err := d.checkListen(ctx, ln.Addr()); err != nil {
			return err
		}
	}
	jobsCfg := d.cfg.Jobs
	jobsCfg.Notifier = d.Notifier
	jobsCfg.Alerter = d.Alerter
	jobsCfg.Reconciler = d.Reconciler
	jobsCfg.UseCases = d.App.RunJob
	if d.OAuth != nil {
		jobsCfg.OAuth = d.OAuth
	}
	client, err := jobs.New(riverDriver(d.kind, d.Store.(*sqlstore.Store).DB()), d.Store, d.Syncer, d.Pusher, jobsCfg)
	if err != nil {
		return err
	}
	d.App.SetJobQueue(jobs.NewQueue(client))
	if d.OAuth != nil {
		d.OAuth.SetEnqueue(func(ctx context.Context, companyID string, locs []string) error {
			_, err := client.InsertMany(ctx, jobs.LocationTokens(companyID, locs))
			return err
		})
	}
	// The job queue stops when Run says so, last, not when ctx ends:
	// cancelling its start context would cancel the running jobs at once.
	runCtx := context.WithoutCancel(ctx)
	if err := client.Start(runCtx); err != nil {
		return fmt.Errorf("starting the job queue: %w", err)
	}
	stopped := client.Stopped()
	d.jobsStopped.Store(&stopped)
	defer d.jobsStopped.Store(nil)
	inCfg := d.webhookConfig()
	if d.Access != nil {
		denials := d.Access.Denials
		inCfg.OnBadSignature = func(remote string, err error) {
			peer := remote
			if host, _, serr := net.SplitHostPort(remote); serr == nil {
				peer = host
			}
			denials.Add(access.Denial{Action: "webhook.bad_signature", Code: "bad_signature", IP: peer, PeerIP: peer,
				Route: "POST " + WebhookPath})
		}
	}
	inCfg.OnAnswer = d.Metrics.ObserveAnswer
	in := intake.NewIntake(d.Store, inCfg)
	proc := intake.NewProcessor(d.Store, d.applyWebhooks(client), d.log)
	proc.OnApplied = d.Metrics.ObserveApplied
	proc.Applied = func(ctx context.Context, events []rankr.InboxEvent) error {
		_, err := d.Store.AutomationRunsForWebhooks(ctx, events)
		return err
	}
	in.Feed(proc)
	in.Start()
	procCtx, stopProc := context.WithCancel(runCtx)
	procDone := make(chan struct{})
	go func() {
		defer close(procDone)
		if err := proc.Run(procCtx); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("stopping the webhook processor", "error", err)
		}
	}()
	d.intake = in
	// Outbound webhooks run in every process; leases share the deliveries.
	outCtx, stopOut := context.WithCancel(runCtx)
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		if err := d.Webhooks.Run(outCtx); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("stopping the outbound webhooks", "error", err)
		}
	}()

	// Automations run in every process; leases share the runs, and a
	// schedule's slot makes one run whoever creates it.
	autoCtx, stopAuto := context.WithCancel(runCtx)
	autoDone := make(chan struct{}, 2)
	go func() {
		defer func() { autoDone <- struct{}{} }()
		if err := d.Runner.Run(autoCtx); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("stopping the automations", "error", err)
		}
	}()
	go func() {
		defer func() { autoDone <- struct{}{} }()
		_ = d.Runner.Schedules(autoCtx, 10*time.Second)
	}()

	// The marketplace's firings run in every process: deliveries are
	// unique per subscription and event, and leased to one sender.
	mpCtx, stopMP := context.WithCancel(runCtx)
	mpDone := make(chan struct{})
	go func() {
		defer close(mpDone)
		if d.runsMarketplace() {
			_ = d.Marketplace.Run(mpCtx)
		}
	}()

	accessCtx, stopAccess := context.WithCancel(runCtx)
	accessDone := make(chan struct{})
	go func() {
		defer close(accessDone)
		if d.Access != nil {
			d.runAccess(accessCtx)
		}
	}()

	var srv *http.Server
	errc := make(chan error, 1)
	if ln != nil {
		if router, rerr := d.Router(in); rerr != nil {
			errc <- rerr
		} else {
			t := d.cfg.HTTP.withDefaults()
			srv = &http.Server{Handler: router, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write,
				IdleTimeout: t.Idle, ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}
			d.log.Info("serving", "addr", "http://"+ln.Addr().String(), "webhooks", "http://"+ln.Addr().String()+WebhookPath, "db", d.kind)
			go func() { errc <- srv.Serve(ln) }()
		}
	}
	var metricsSrv *http.Server
	if metricsLn != nil {
		metricsSrv = d.metricsServer()
		d.log.Info("serving metrics without a key", "addr", "http://"+metricsLn.Addr().String()+"/metrics")
		go func() {
			if err := metricsSrv.Serve(metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				select {
				case errc <- fmt.Errorf("serving metrics: %w", err):
				default: // stopping already, for another reason
				}
			}
		}()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	if metricsSrv != nil {
		_ = metricsSrv.Close() // a scrape in flight is worth nothing once the process stops
	}
	grace := cmp.Or(d.cfg.ShutdownGrace, 15*time.Second)
	in.Close()
	if srv != nil {
		httpCtx, cancel := context.WithTimeout(runCtx, grace)
		if serr := srv.Shutdown(httpCtx); serr != nil {
			d.log.Warn("stopping the HTTP server: closing the connections still open", "error", serr)
			_ = srv.Close() // its error is Shutdown's, logged above
		}
		cancel()
	}
	stopProc()
	<-procDone
	stopOut() // in-flight attempts finish (each within its timeout) and are recorded
	<-outDone
	stopAuto() // runs in flight are carried to their next record
	<-autoDone
	<-autoDone
	stopMP() // a firing in flight is recorded
	<-mpDone
	stopAccess() // the refused requests counted so far are recorded
	<-accessDone
	d.accessMu.Lock()
	guards := d.guards
	d.accessMu.Unlock()
	for _, g := range guards {
		g.Close()
	}
	jobsCtx, cancel := context.WithTimeout(runCtx, grace)
	defer cancel()
	if serr := client.Stop(jobsCtx); serr != nil {
		d.log.Warn("stopping the job queue: jobs still running after the grace period are cancelled", "grace", grace, "error", serr)
		if serr := client.StopAndCancel(runCtx); serr != nil {
			d.log.Error("cancelling the running jobs", "error", serr)
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (d *Daemon) webhookConfig() intake.Config {
	cfg := d.cfg.Webhook
	if len(cfg.Keys) == 0 {
		key, err := ghl.ParseWebhookKey(ghl.WebhookPublicKey)
		if err == nil {
			cfg.Keys = []ed25519.PublicKey{key}
		}
	}
	cfg.Logger = cmp.Or(cfg.Logger, d.log)
	return cfg
}

// applyWebhooks applies stored webhooks and queues the refreshes they call
// for. A refresh that cannot be queued is logged: polling will get there.
func (d *Daemon) applyWebhooks(client *river.Client[*sql.Tx]) intake.ApplyFunc {
	return func(ctx context.Context, evs []rankr.InboxEvent) ([]intake.Result, error) {
		applied, follow, err := d.Syncer.ApplyWebhooks(ctx, evs)
		if err != nil {
			return nil, err
		}
		if len(follow) > 0 {
			params := jobs.FollowUps(follow, time.Now())
			if _, err := client.InsertMany(ctx, params); err != nil {
				d.log.Error("queueing refreshes after webhooks; the next poll will catch up", "refreshes", len(params), "error", err)
			}
		}
		out := make([]intake.Result, len(applied))
		for i, a := range applied {
			out[i] = intake.Result{Outcome: a.Outcome, Err: a.Err}
		}
		return out, nil
	}
}

// WebhookStats returns the intake's counters while Run runs.
func (d *Daemon) WebhookStats() intake.Stats {
	if d.intake == nil {
		return intake.Stats{}
	}
	return d.intake.Stats()
}

// Handler serves every route of serve but GHL's webhooks, behind the API
// keys (see Router). Every open status page shares one status, computed at
// most once per StatusInterval.
func (d *Daemon) Handler() http.Handler {
	rt, err := d.Router(nil)
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			access.WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		})
	}
	return rt
}

// Status reports every connection and its sync. The records' counts are
// kept from the change feed (see counter), not counted at every call.
func (d *Daemon) Status(ctx context.Context) ([]web.LocationStatus, error) {
	conns, err := d.Store.ConnectionList(ctx)
	if err != nil {
		return nil, err
	}
	all, err := d.counts.update(ctx, d.Store)
	if err != nil {
		return nil, err
	}
	out := make([]web.LocationStatus, 0, len(conns))
	for _, c := range conns {
		state, err := d.Syncer.State(ctx, c.LocationID)
		if err != nil {
			return nil, err
		}
		notices, err := d.Store.NoticeCounts(ctx, c.LocationID)
		if err != nil {
			return nil, err
		}
		p := d.Syncer.Progress(c.LocationID)
		b := d.Syncer.Clients().Governor().Budget(c.LocationID)
		out = append(out, web.LocationStatus{
			Connection: c, Counts: all[c.LocationID], Sync: state, Phase: p.PhaseName(), Notices: notices,
			APICalls: d.Syncer.Clients().Calls(c.LocationID),
			Budget:   web.Budget{Burst: b.Burst, IntervalMS: b.Interval.Milliseconds(), InWindow: b.InWindow, DailyRemaining: b.DailyRemaining, Waiting: b.Waiting, Throttled: b.Throttled},
		})
	}
	return out, nil
}
