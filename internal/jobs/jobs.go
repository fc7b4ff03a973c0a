// Package jobs runs the sync on River: durable, retried jobs for backfills,
// polls, full walks and targeted refreshes, a periodic scheduler that keeps
// every active connection moving, and the fulfillment pushes. On PostgreSQL, several rankr
// processes share the jobs, and River's unique jobs make sure that no
// location is backfilled, polled or walked by two of them at once.
//
// Jobs call packages syncer and flows, which know nothing of jobs.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/syncer"
)

// QueueSync is the queue of the sync jobs.
const QueueSync = "sync"

// unique makes a job of one kind for one location run once at a time:
// completed and cancelled jobs do not block the next one.
var unique = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}}

// BackfillArgs backfills a location.
type BackfillArgs struct {
	LocationID string `json:"location_id"`
}

// Kind names the job.
func (BackfillArgs) Kind() string { return "sync.backfill" }

// InsertOpts runs backfills after everything else.
func (BackfillArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 4, UniqueOpts: unique}
}

// PollArgs polls a location.
type PollArgs struct {
	LocationID string `json:"location_id"`
}

// Kind names the job.
func (PollArgs) Kind() string { return "sync.poll" }

// InsertOpts runs polls before backfills and walks.
func (PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 2, UniqueOpts: unique}
}

// WalkArgs walks a location in full.
type WalkArgs struct {
	LocationID string `json:"location_id"`
}

// Kind names the job.
func (WalkArgs) Kind() string { return "sync.walk" }

// InsertOpts runs walks last.
func (WalkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 4, UniqueOpts: unique}
}

// RefreshArgs fetches one record now.
type RefreshArgs struct {
	LocationID string `json:"location_id"`
	RecordKind string `json:"kind"` // a syncer.Refresh* kind
	ID         string `json:"id"`
}

// Kind names the job.
func (RefreshArgs) Kind() string { return "sync.refresh" }

// InsertOpts runs refreshes first; the same refresh queued twice runs once.
func (RefreshArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 1, UniqueOpts: unique}
}

// The follow-ups of webhooks (syncer.FollowUp) are coalesced by when the
// changes they follow happened in GHL (syncer.FollowUp.Announced): the
// webhooks for changes made within one FollowUpWindow share one job per
// location (and per order, for per-order follow-ups), which runs once that
// window has closed, and ClockAllowance more, since a change is in GHL by
// the time it is stamped. So the job is unique while pending, running and
// after it has completed: a webhook of its window delivered late, even
// after the job ran, was seen by it. A burst costs one pass or two (when
// it straddles two windows) however slowly it is delivered, and its
// payments are applied within about FollowUpWindow + ClockAllowance (plus
// River's few seconds to start a scheduled job), well inside a poll
// interval.
const (
	FollowUpWindow = syncer.FollowUpWindow
	// ClockAllowance is how far behind ours GHL's clock (which stamps
	// webhooks) may be for the coalescing to hold. Polling heals the rest.
	ClockAllowance = 5 * time.Second
)

// followUpUnique keeps one job per arguments, until River's cleaner
// removes the completed ones (after a day), and then the next webhook
// makes a new one.
var followUpUnique = river.UniqueOpts{ByArgs: true, ByState: append(slices.Clone(unique.ByState), rivertype.JobStateCompleted)}

// PaymentsArgs reads a location's payments created since Since, in one
// pass over GHL's transactions list, for the webhooks GHL sent in the
// FollowUpWindow that begins at Announced.
type PaymentsArgs struct {
	LocationID string    `json:"location_id"`
	Since      time.Time `json:"since"`
	Announced  time.Time `json:"announced"`
}

// Kind names the job.
func (PaymentsArgs) Kind() string { return "sync.payments" }

// InsertOpts runs payments passes with the other targeted refreshes, before
// polls: a pass is a few pages that stand for many orders.
func (PaymentsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 1, UniqueOpts: followUpUnique}
}

// OrderFollowUpArgs refreshes what webhooks sent in the FollowUpWindow that
// begins at Announced said changed in one order: its fulfillments, or its
// payments when it is older than polling reaches.
type OrderFollowUpArgs struct {
	LocationID string    `json:"location_id"`
	RecordKind string    `json:"kind"` // syncer.RefreshOrderFulfillments or syncer.RefreshOrderTransactions
	ID         string    `json:"id"`
	Announced  time.Time `json:"announced"`
}

// Kind names the job.
func (OrderFollowUpArgs) Kind() string { return "sync.order_follow_up" }

// InsertOpts runs per-order follow-ups after polls and before backfills: a
// bulk change in GHL can make thousands of them, which must not keep the
// workers from polling.
func (OrderFollowUpArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 3, UniqueOpts: followUpUnique}
}

// FollowUps are the jobs that run the follow-ups of webhooks applied at
// now, each named once.
func FollowUps(follow []syncer.FollowUp, now time.Time) []river.InsertManyParams {
	seen := map[river.JobArgs]bool{}
	var out []river.InsertManyParams
	for _, f := range follow {
		window := f.Announced.UTC().Truncate(FollowUpWindow)
		var args river.JobArgs = OrderFollowUpArgs{LocationID: f.LocationID, RecordKind: f.Kind, ID: f.ID, Announced: window}
		if f.Kind == syncer.RefreshPayments {
			args = PaymentsArgs{LocationID: f.LocationID, Since: f.Since.UTC().Truncate(FollowUpWindow), Announced: window}
		}
		if seen[args] {
			continue
		}
		seen[args] = true
		due := window.Add(FollowUpWindow + ClockAllowance)
		if due.Before(now) {
			due = now
		}
		out = append(out, river.InsertManyParams{Args: args, InsertOpts: &river.InsertOpts{ScheduledAt: due}})
	}
	return out
}

type paymentsWorker struct {
	river.WorkerDefaults[PaymentsArgs]
	s *syncer.Syncer
}

func (w *paymentsWorker) Work(ctx context.Context, job *river.Job[PaymentsArgs]) error {
	return settle(w.s.FollowUp(ctx, syncer.FollowUp{LocationID: job.Args.LocationID, Kind: syncer.RefreshPayments, Since: job.Args.Since}))
}

type orderFollowUpWorker struct {
	river.WorkerDefaults[OrderFollowUpArgs]
	s *syncer.Syncer
}

func (w *orderFollowUpWorker) Work(ctx context.Context, job *river.Job[OrderFollowUpArgs]) error {
	return settle(w.s.FollowUp(ctx, syncer.FollowUp{LocationID: job.Args.LocationID, Kind: job.Args.RecordKind, ID: job.Args.ID}))
}

// ScheduleArgs is the periodic job that queues the others.
type ScheduleArgs struct{}

// Kind names the job.
func (ScheduleArgs) Kind() string { return "sync.schedule" }

// PushArgs is the periodic job that pushes due fulfillments to GHL.
type PushArgs struct{}

// Kind names the job.
func (PushArgs) Kind() string { return "flows.push" }

// InsertOpts runs pushes before anything else; one at a time.
func (PushArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 1, UniqueOpts: unique}
}

// ReconcileArgs is the periodic job that reconciles what changed and what
// came due.
type ReconcileArgs struct{}

// Kind names the job.
func (ReconcileArgs) Kind() string { return "flows.reconcile" }

// InsertOpts runs one reconciliation at a time.
func (ReconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 3, UniqueOpts: unique}
}

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	r   *flows.Reconciler
	log *slog.Logger
}

func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	if w.r == nil {
		return nil // not configured in this process
	}
	_, err := w.r.Run(ctx)
	return periodic(w.log, "reconciliation", err)
}

// PruneArgs is the periodic job that deletes old processed webhooks from
// the inbox.
type PruneArgs struct{}

// Kind names the job.
func (PruneArgs) Kind() string { return "inbox.prune" }

// InsertOpts runs one pruning at a time, after everything else.
func (PruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: river.QueueDefault, Priority: 4, UniqueOpts: unique}
}

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	st         store.Store
	retention  time.Duration // the inbox's; 0: kept
	deliveries time.Duration // the outbound deliveries'; 0: kept
	runs       time.Duration // the automations' ended runs'; 0: kept
	log        *slog.Logger
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	// The database's clock, as for leases: a host whose clock runs ahead
	// would prune webhooks GHL may still redeliver.
	now, err := w.st.Now(ctx)
	if err != nil {
		return periodic(w.log, "pruning the webhook inbox", err)
	}
	if w.retention > 0 {
		cutoff := now.Add(-w.retention)
		n, err := pruneInbox(ctx, w.st, cutoff)
		if n > 0 {
			w.log.Info("pruned processed webhooks from the inbox", "webhooks", n, "processedBefore", cutoff.Format(time.RFC3339))
		}
		if err != nil {
			return periodic(w.log, "pruning the webhook inbox", err)
		}
	}
	if w.deliveries > 0 {
		cutoff := now.Add(-w.deliveries)
		n, err := pruneDeliveries(ctx, w.st, cutoff)
		if n > 0 {
			w.log.Info("pruned ended outbound deliveries", "deliveries", n, "endedBefore", cutoff.Format(time.RFC3339))
		}
		if err != nil {
			return periodic(w.log, "pruning the outbound deliveries", err)
		}
	}
	if w.runs > 0 {
		cutoff := now.Add(-w.runs)
		n, err := pruneSlices(ctx, func(ctx context.Context, limit int) (int, error) {
			return w.st.AutomationRunsPrune(ctx, cutoff, limit)
		})
		if n > 0 {
			w.log.Info("pruned ended automation runs", "runs", n, "endedBefore", cutoff.Format(time.RFC3339))
		}
		return periodic(w.log, "pruning the automation runs", err)
	}
	return nil
}

// pruneSlices calls prune a slice at a time until a slice comes back
// short, so that no transaction holds the database for long, and returns
// how many it deleted in all.
func pruneSlices(ctx context.Context, prune func(ctx context.Context, limit int) (int, error)) (int, error) {
	const slice = 2000
	total := 0
	for {
		n, err := prune(ctx, slice)
		total += n
		if err != nil || n < slice {
			return total, err
		}
	}
}

// pruneDeliveries deletes the deliveries that ended before cutoff, a slice
// at a time, and returns how many.
func pruneDeliveries(ctx context.Context, st store.Store, cutoff time.Time) (int, error) {
	return pruneSlices(ctx, func(ctx context.Context, limit int) (int, error) {
		return st.WebhookDeliveryPrune(ctx, store.WebhookDeliveryPruneParams{Before: cutoff, Limit: limit})
	})
}

// pruneInbox deletes the webhooks processed before cutoff, a slice at a time
// so that no transaction holds the inbox for long, and returns how many.
func pruneInbox(ctx context.Context, st store.Store, cutoff time.Time) (int, error) {
	return pruneSlices(ctx, func(ctx context.Context, limit int) (int, error) {
		return st.InboxPrune(ctx, store.InboxPruneParams{Before: cutoff, Limit: limit})
	})
}

type pushWorker struct {
	river.WorkerDefaults[PushArgs]
	p   *flows.Pusher
	log *slog.Logger
}

func (w *pushWorker) Work(ctx context.Context, _ *river.Job[PushArgs]) error {
	_, err := w.p.PushDue(ctx)
	return periodic(w.log, "fulfillment pushes", err)
}

// periodic ends a run of a periodic job. Its failure is logged, not
// returned: a failed job waits out River's retry backoff, and while it does,
// the uniqueness of the job keeps the next periodic run from being queued;
// the next period is the retry.
func periodic(log *slog.Logger, what string, err error) error {
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error(what+" failed; the next run tries again", "error", err)
	}
	return nil
}

// Config tunes the jobs.
type Config struct {
	// PollInterval is how often each location is polled (default 30 s).
	PollInterval time.Duration
	// WalkInterval is how often each location is walked in full
	// (default 6 h).
	WalkInterval time.Duration
	// Workers is how many sync jobs run at once in this process (default
	// 8): locations run in parallel, each paced by its own budget.
	Workers int
	// Reconciler, when set, reconciles every ReconcileInterval
	// (default 10 s).
	Reconciler        *flows.Reconciler
	ReconcileInterval time.Duration
	// ID names this process among those sharing the database.
	ID     string
	Logger *slog.Logger
	// Notifier, when it can send, gets a periodic job sending due notices;
	// before each run, Alerter queues the alerts of new exceptions.
	Notifier *flows.Notifier
	Alerter  *flows.Alerter
	// InboxRetention is how long processed webhooks stay in the inbox, for
	// looking into and for recognising redeliveries (default 7 days;
	// negative: forever). Pruning runs every PruneInterval (default 1 h).
	InboxRetention time.Duration
	// DeliveryRetention is how long outbound deliveries that ended
	// (delivered or dead) are kept, to look into and to replay (default 30
	// days; negative: forever).
	DeliveryRetention time.Duration
	// RunRetention is how long the automations' runs that ended are kept,
	// with their steps (default 30 days; negative: forever).
	RunRetention  time.Duration
	PruneInterval time.Duration
	// OAuth mints the location tokens of agency installs.
	OAuth LocationMinter
	// UseCases runs the API's background use cases (UseCaseArgs).
	UseCases UseCaseRunner
}

// Migrate brings River's tables up to date on the database: in tx when it
// is not nil (SQLite, where that transaction is the migration lock), else
// in transactions of River's own, one per migration (PostgreSQL, where some
// of River's migrations must commit before the next runs; the caller holds
// the lock). It refuses a database whose River schema is newer than this
// binary's River.
func Migrate(ctx context.Context, driver riverdriver.Driver[*sql.Tx], tx *sql.Tx) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	exec := driver.GetExecutor()
	if tx != nil {
		exec = driver.UnwrapExecutor(tx)
	}
	if err := riverNotNewer(ctx, exec, m.AllVersions()); err != nil {
		return err
	}
	if tx != nil {
		// River deprecates migrating in one transaction because some of
		// its PostgreSQL migrations cannot share one; its SQLite ones can.
		_, err = m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil)
	} else {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return fmt.Errorf("migrating the job queue: %w", err)
	}
	return nil
}

// riverNotNewer fails when the database has River migrations this River
// does not know: a newer rankr, with a newer River, migrated it.
func riverNotNewer(ctx context.Context, exec riverdriver.Executor, known []rivermigrate.Migration) error {
	exists, err := exec.TableExists(ctx, &riverdriver.TableExistsParams{Table: "river_migration"})
	if err != nil {
		return fmt.Errorf("reading the job queue's schema version: %w", err)
	}
	if !exists || len(known) == 0 {
		return nil
	}
	// rankr uses River's main migration line only.
	var applied int
	if err := exec.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM river_migration`).Scan(&applied); err != nil {
		return fmt.Errorf("reading the job queue's schema version: %w", err)
	}
	if last := known[len(known)-1]; applied > last.Version {
		return fmt.Errorf("the job queue's schema is at River version %d, this rankr's River knows up to %d (%s): upgrade rankr",
			applied, last.Version, last.Name)
	}
	return nil
}

// New returns a River client with the sync and push workers, not yet
// started.
func New(driver riverdriver.Driver[*sql.Tx], st store.Store, s *syncer.Syncer, pusher *flows.Pusher, cfg Config) (*river.Client[*sql.Tx], error) {
	cfg.PollInterval = cmp.Or(cfg.PollInterval, 30*time.Second)
	cfg.WalkInterval = cmp.Or(cfg.WalkInterval, 6*time.Hour)
	cfg.Workers = cmp.Or(cfg.Workers, 8)
	cfg.ReconcileInterval = cmp.Or(cfg.ReconcileInterval, 10*time.Second)
	cfg.InboxRetention = cmp.Or(cfg.InboxRetention, 7*24*time.Hour)
	cfg.DeliveryRetention = cmp.Or(cfg.DeliveryRetention, 30*24*time.Hour)
	cfg.RunRetention = cmp.Or(cfg.RunRetention, 30*24*time.Hour)
	cfg.PruneInterval = cmp.Or(cfg.PruneInterval, time.Hour)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &backfillWorker{s: s})
	river.AddWorker(workers, &pollWorker{s: s})
	river.AddWorker(workers, &walkWorker{s: s})
	river.AddWorker(workers, &refreshWorker{s: s})
	river.AddWorker(workers, &paymentsWorker{s: s})
	river.AddWorker(workers, &orderFollowUpWorker{s: s})
	sched := &scheduleWorker{st: st, s: s, cfg: cfg}
	river.AddWorker(workers, sched)
	river.AddWorker(workers, &pushWorker{p: pusher, log: cfg.Logger})
	river.AddWorker(workers, &noticeWorker{n: cfg.Notifier, a: cfg.Alerter, log: cfg.Logger})
	river.AddWorker(workers, &reconcileWorker{r: cfg.Reconciler, log: cfg.Logger})
	river.AddWorker(workers, &pruneWorker{st: st, retention: max(cfg.InboxRetention, 0), deliveries: max(cfg.DeliveryRetention, 0),
		runs: max(cfg.RunRetention, 0), log: cfg.Logger})
	river.AddWorker(workers, &locationTokenWorker{m: cfg.OAuth})
	river.AddWorker(workers, &useCaseWorker{run: cfg.UseCases})
	client, err := river.NewClient(driver, &river.Config{
		ID:      cfg.ID,
		Workers: workers,
		Queues: map[string]river.QueueConfig{
			QueueSync:          {MaxWorkers: cfg.Workers},
			river.QueueDefault: {MaxWorkers: 2},
		},
		PeriodicJobs: periodicJobs(cfg),
		// River's defaults pick jobs up within a second; a sync job is
		// expected within milliseconds.
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 100 * time.Millisecond,
		// Backfills and walks yield every slice, so a job never runs long;
		// a job left running by a killed process is rescued soon.
		JobTimeout:           10 * time.Minute,
		RescueStuckJobsAfter: 11 * time.Minute,
		MaxAttempts:          20,
		// River reports its routine (job counts every few seconds) at
		// info; rankr's own logs say what the jobs did.
		Logger: slog.New(atLeast{cfg.Logger.Handler(), slog.LevelWarn}),
	})
	if err != nil {
		return nil, err
	}
	sched.client = client
	addNoticeJob(client, cfg.Notifier)
	return client, nil
}

// periodicJobs are the jobs River queues on a timer (the elected leader
// among the processes sharing the database does).
func periodicJobs(cfg Config) []*river.PeriodicJob {
	jobs := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(cfg.PollInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		// Fulfillments are pushed within a second or two of being asked
		// for, and retried from the outbox.
		river.NewPeriodicJob(river.PeriodicInterval(time.Second),
			func() (river.JobArgs, *river.InsertOpts) { return PushArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		// Reconciliation follows the change feed and the grace periods.
		river.NewPeriodicJob(river.PeriodicInterval(cfg.ReconcileInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}
	if cfg.InboxRetention > 0 || cfg.DeliveryRetention > 0 || cfg.RunRetention > 0 {
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(cfg.PruneInterval),
			func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	return jobs
}

// settle turns a sync error into River's answer: a connection GHL refused
// stops for good (its state says why); anything else is retried.
func settle(err error) error {
	var cerr *syncer.ConnectionError
	if errors.As(err, &cerr) {
		return river.JobCancel(err)
	}
	if errors.Is(err, rankr.ErrNotFound) {
		return river.JobCancel(err) // the connection was removed
	}
	return err
}

type backfillWorker struct {
	river.WorkerDefaults[BackfillArgs]
	s *syncer.Syncer
}

func (w *backfillWorker) Work(ctx context.Context, job *river.Job[BackfillArgs]) error {
	done, err := w.s.Backfill(ctx, job.Args.LocationID)
	if err != nil {
		return settle(err)
	}
	if !done {
		return river.JobSnooze(0) // its slice is up: let other locations run
	}
	return nil
}

type walkWorker struct {
	river.WorkerDefaults[WalkArgs]
	s *syncer.Syncer
}

func (w *walkWorker) Work(ctx context.Context, job *river.Job[WalkArgs]) error {
	done, err := w.s.FullWalk(ctx, job.Args.LocationID)
	if err != nil {
		return settle(err)
	}
	if !done {
		return river.JobSnooze(0)
	}
	return nil
}

type pollWorker struct {
	river.WorkerDefaults[PollArgs]
	s *syncer.Syncer
}

func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	err := w.s.Poll(ctx, job.Args.LocationID)
	if errors.Is(err, syncer.ErrBackfillPending) {
		return river.JobCancel(err) // the scheduler queues the backfill
	}
	return settle(err)
}

type refreshWorker struct {
	river.WorkerDefaults[RefreshArgs]
	s *syncer.Syncer
}

func (w *refreshWorker) Work(ctx context.Context, job *river.Job[RefreshArgs]) error {
	return settle(w.s.Refresh(ctx, job.Args.LocationID, job.Args.RecordKind, job.Args.ID))
}

// scheduleWorker queues, for every active connection, a backfill until one
// has finished, then a poll each interval and a full walk now and then.
type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	st     store.Store
	s      *syncer.Syncer
	cfg    Config
	client *river.Client[*sql.Tx]
}

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	conns, err := w.st.ConnectionList(ctx)
	if err != nil {
		return err
	}
	var params []river.InsertManyParams
	for _, c := range conns {
		if c.State != rankr.StateActive {
			continue
		}
		st, err := w.s.State(ctx, c.LocationID)
		if err != nil {
			return err
		}
		switch {
		case !st.BackfillDone:
			params = append(params, river.InsertManyParams{Args: BackfillArgs{LocationID: c.LocationID}})
		default:
			params = append(params, river.InsertManyParams{Args: PollArgs{LocationID: c.LocationID}})
			if st.WalkRunning || time.Since(st.LastWalk) > w.cfg.WalkInterval && time.Since(st.BackfillFrom) > w.cfg.WalkInterval {
				params = append(params, river.InsertManyParams{Args: WalkArgs{LocationID: c.LocationID}})
			}
		}
	}
	if len(params) == 0 {
		return nil
	}
	_, err = w.client.InsertMany(ctx, params)
	return err
}

// atLeast passes on the records of at least a level.
type atLeast struct {
	slog.Handler
	min slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(as), h.min}
}

func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.min}
}
