// Package metrics is rankr's Prometheus exposition: what a monitoring
// system needs to see that the connector keeps up and stays inside GHL's
// limits. Events (webhook answers, GHL requests, applied batches) are
// counted as they happen through the hooks the intake, the processor and
// the ghl client offer; levels (inbox depth, outboxes by state, open
// exceptions, budgets, sync lag, job counts, the database pool) are read
// from their sources at each scrape, so that every process of an
// installation reports the same database-wide figures and nothing is kept
// twice.
//
// Labels name locations, operations, states and reasons, never customers.
package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

const namespace = "rankr"

// Location is what the scrape reads about one connection.
type Location struct {
	ID    string
	State rankr.ConnectionState
	// LastSync is when the location was last known in step with GHL: its
	// last poll or walk (zero: never).
	LastSync time.Time
	// BackfillDone and BackfillTotal measure the first walk of its orders;
	// Backfilled says it is over.
	BackfillDone, BackfillTotal int64
	Backfilled                  bool
	// Budget is what the rate governor sees of the location's GHL budget.
	Budget ghl.Budget
}

// Sources are where the scrape reads levels. Any may be nil: its metrics
// are then left out.
type Sources struct {
	// Intake reports the webhook intake's answers so far.
	Intake func() intake.Stats
	// InboxDepth counts the stored webhooks not applied yet.
	InboxDepth func(ctx context.Context) (int, error)
	// Locations reports every connection.
	Locations func(ctx context.Context) ([]Location, error)
	// Gauges counts the outboxes and the open exceptions.
	Gauges func(ctx context.Context) (store.Gauges, error)
	// Jobs counts the background jobs by state.
	Jobs func(ctx context.Context) (map[string]int, error)
	// DB is the database pool.
	DB *sql.DB
	// Now is the clock sync lag is measured with (default time.Now).
	Now func() time.Time
	// Logger hears of sources that failed during a scrape.
	Logger *slog.Logger
}

// Metrics holds rankr's metrics. Its hooks are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	src Sources

	intakeSeconds *prometheus.HistogramVec
	applySeconds  prometheus.Histogram
	runStart      *prometheus.HistogramVec
	runsEnded     *prometheus.CounterVec
	ghlRequests   *prometheus.CounterVec
	ghlSeconds    *prometheus.HistogramVec
	ghlThrottled  *prometheus.CounterVec
	ghlWait       *prometheus.CounterVec
}

// New returns the metrics, reading levels from src.
func New(src Sources) *Metrics {
	if src.Now == nil {
		src.Now = time.Now
	}
	if src.Logger == nil {
		src.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), src: src}
	m.intakeSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "webhook_intake_seconds",
		Help:    "Time from a webhook's request read to its answer (200 once stored durably), by answer status.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"status"})
	m.applySeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "webhook_apply_seconds",
		Help:    "Time from a webhook's receipt to its change applied to the records.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)})
	m.runStart = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "automation_run_start_seconds",
		Help:    "Time from an automation run's creation (its trigger's event stored) to its start, by automation.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"automation"})
	m.runsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "automation_runs_total",
		Help: `Goes at automation runs this process recorded, by automation and how each went (succeeded, failed, skipped, paused; queued: to be tried again).`},
		[]string{"automation", "status"})
	m.ghlRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "ghl_requests_total",
		Help: `Requests sent to GHL, by operation and answer status ("none": no answer came).`}, []string{"operation", "status"})
	m.ghlSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "ghl_request_seconds",
		Help:    "Time GHL took to answer, by operation.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"operation"})
	m.ghlThrottled = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "ghl_throttled_total",
		Help: "429 answers from GHL, by location."}, []string{"location"})
	m.ghlWait = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "ghl_governor_wait_seconds_total",
		Help: "Time requests were held back by the rate governor to stay inside a location's GHL budget."}, []string{"location"})
	m.reg.MustRegister(m.intakeSeconds, m.applySeconds, m.runStart, m.runsEnded, m.ghlRequests, m.ghlSeconds, m.ghlThrottled, m.ghlWait,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), levels{m})
	if src.DB != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(src.DB, "rankr"))
	}
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the metrics are registered (for tests and for
// gathering them without HTTP).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveAnswer records a webhook's answer (intake.Config.OnAnswer).
func (m *Metrics) ObserveAnswer(status int, took time.Duration) {
	m.intakeSeconds.WithLabelValues(strconv.Itoa(status)).Observe(took.Seconds())
}

// ObserveApplied records a batch of webhooks applied at at
// (intake.Processor.OnApplied).
func (m *Metrics) ObserveApplied(events []rankr.InboxEvent, at time.Time) {
	for _, ev := range events {
		if !ev.ReceivedAt.IsZero() {
			m.applySeconds.Observe(max(at.Sub(ev.ReceivedAt), 0).Seconds())
		}
	}
}

// ObserveRunStarted records how long an automation's run waited to start
// (automation.RunnerDeps.Observe).
func (m *Metrics) ObserveRunStarted(run rankr.AutomationRun, after time.Duration) {
	m.runStart.WithLabelValues(run.AutomationID).Observe(max(after, 0).Seconds())
}

// ObserveRunEnded counts a go at an automation run
// (automation.RunnerDeps.Ended).
func (m *Metrics) ObserveRunEnded(run rankr.AutomationRun, status rankr.RunStatus) {
	m.runsEnded.WithLabelValues(run.AutomationID, string(status)).Inc()
}

// ObserveRequest records one attempt of a GHL request (ghl.Observer).
func (m *Metrics) ObserveRequest(r ghl.RequestReport) {
	status := "none"
	if r.Status != 0 {
		status = strconv.Itoa(r.Status)
		m.ghlSeconds.WithLabelValues(r.Op).Observe(r.Duration.Seconds())
	}
	m.ghlRequests.WithLabelValues(r.Op, status).Inc()
	if r.LocationID == "" {
		return
	}
	if r.Status == http.StatusTooManyRequests {
		m.ghlThrottled.WithLabelValues(r.LocationID).Inc()
	}
	if r.Waited > 0 {
		m.ghlWait.WithLabelValues(r.LocationID).Add(r.Waited.Seconds())
	}
}

var _ ghl.Observer = (*Metrics)(nil)
