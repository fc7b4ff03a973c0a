package metrics

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rankr/rankr/internal/rankr"
)

// scrapeTimeout bounds the reads of one scrape: a scrape that waits on a
// busy database reports what it has rather than hang the scraper.
const scrapeTimeout = 3 * time.Second

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

var (
	webhooksDesc = desc("webhooks_total",
		`Webhooks the intake answered, by outcome: accepted and duplicate (200), and the refusals by reason (bad_signature, malformed, stale, too_large, throttled).`,
		"outcome")
	inboxDesc      = desc("inbox_depth", "Webhooks stored and not applied yet, in the whole installation.")
	connStateDesc  = desc("connection_state", "1 for the state each connection is in.", "location", "state")
	syncLagDesc    = desc("sync_lag_seconds", "Seconds since a location was last in step with GHL (its last poll or walk).", "location")
	backfillDesc   = desc("backfill_orders", "Orders walked by a location's first backfill (all of them once it is over), and the total GHL reported.", "location", "of")
	backfilledDesc = desc("backfill_done", "1 once a location's first backfill is over.", "location")
	budgetDesc     = desc("ghl_budget_used", "Requests counted in a location's current GHL burst window.", "location")
	burstDesc      = desc("ghl_budget_burst", "Requests GHL allows a location per burst window.", "location")
	dailyDesc      = desc("ghl_daily_remaining", "Requests left in a location's GHL daily budget, as GHL last reported it.", "location")
	dailyLimitDesc = desc("ghl_daily_limit", "A location's GHL daily request budget.", "location")
	waitingDesc    = desc("ghl_requests_waiting", "Requests queued by the rate governor for a slot in a location's budget.", "location")
	pushesDesc     = desc("pushes", "Fulfillment pushes to GHL, by state.", "state")
	noticesDesc    = desc("notices", "Rankr's own customer notices, by state.", "state")
	deliveriesDesc = desc("deliveries", "Outbound webhook deliveries, by state.", "state")
	exceptionsDesc = desc("reconcile_exceptions_open", "Open reconciliation exceptions, by location and kind.", "location", "kind")
	jobsDesc       = desc("jobs", "Background jobs (River), by state.", "state")
	scrapeErrDesc  = desc("scrape_errors", "1 for each source that could not be read during this scrape.", "source")
)

// levels reads the levels at each scrape.
type levels struct{ m *Metrics }

func (l levels) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{webhooksDesc, inboxDesc, connStateDesc, syncLagDesc, backfillDesc, backfilledDesc,
		budgetDesc, burstDesc, dailyDesc, dailyLimitDesc, waitingDesc, pushesDesc, noticesDesc, deliveriesDesc,
		exceptionsDesc, jobsDesc, scrapeErrDesc} {
		ch <- d
	}
}

func (l levels) Collect(ch chan<- prometheus.Metric) {
	src := l.m.src
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	failed := func(source string, err error) {
		src.Logger.Warn("metrics: a source could not be read", "source", source, "error", err)
		gauge(scrapeErrDesc, 1, source)
	}
	if src.Intake != nil {
		s := src.Intake()
		for outcome, n := range map[string]int64{"accepted": s.Accepted, "duplicate": s.Duplicates, "bad_signature": s.BadSignature,
			"malformed": s.Malformed, "stale": s.Stale, "too_large": s.TooLarge, "throttled": s.Throttled} {
			ch <- prometheus.MustNewConstMetric(webhooksDesc, prometheus.CounterValue, float64(n), outcome)
		}
	}
	if src.InboxDepth != nil {
		if n, err := src.InboxDepth(ctx); err != nil {
			failed("inbox", err)
		} else {
			gauge(inboxDesc, float64(n))
		}
	}
	if src.Locations != nil {
		locs, err := src.Locations(ctx)
		if err != nil {
			failed("locations", err)
		}
		now := src.Now()
		for _, loc := range locs {
			gauge(connStateDesc, 1, loc.ID, string(loc.State))
			if !loc.LastSync.IsZero() {
				gauge(syncLagDesc, max(now.Sub(loc.LastSync), 0).Seconds(), loc.ID)
			}
			gauge(backfillDesc, float64(loc.BackfillDone), loc.ID, "done")
			gauge(backfillDesc, float64(loc.BackfillTotal), loc.ID, "total")
			gauge(backfilledDesc, boolean(loc.Backfilled), loc.ID)
			b := loc.Budget
			gauge(budgetDesc, float64(b.InWindow), loc.ID)
			gauge(burstDesc, float64(b.Burst), loc.ID)
			gauge(dailyDesc, float64(b.DailyRemaining), loc.ID)
			gauge(dailyLimitDesc, float64(b.DailyLimit), loc.ID)
			gauge(waitingDesc, float64(b.Waiting), loc.ID)
		}
	}
	if src.Gauges != nil {
		g, err := src.Gauges(ctx)
		if err != nil {
			failed("outboxes", err)
		}
		byState(ch, pushesDesc, g.Pushes, pushStates...)
		byState(ch, noticesDesc, g.Notices, noticeStates...)
		byState(ch, deliveriesDesc, g.Deliveries, deliveryStates...)
		for _, e := range g.OpenExceptions {
			gauge(exceptionsDesc, float64(e.Open), e.LocationID, e.Kind)
		}
	}
	if src.Jobs != nil {
		if j, err := src.Jobs(ctx); err != nil {
			failed("jobs", err)
		} else {
			byState(ch, jobsDesc, j, jobStates...)
		}
	}
}

// The states each outbox can be in, reported at 0 when empty: a series
// that vanished instead of falling to 0 would leave an alert on it firing
// (or never firing) on its last value.
var (
	pushStates     = strs(rankr.PushPending, rankr.PushPushing, rankr.PushUnknown, rankr.PushDone, rankr.PushFailed)
	noticeStates   = strs(rankr.NoticePending, rankr.NoticeSending, rankr.NoticeCommitting, rankr.NoticeSent, rankr.NoticeFailed, rankr.NoticeUnknown)
	deliveryStates = strs(rankr.DeliveryPending, rankr.DeliverySending, rankr.DeliveryDelivered, rankr.DeliveryDead)
	// River's job states.
	jobStates = []string{"available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled"}
)

func strs[S ~string](states ...S) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// byState reports counts by state, in a stable order: every known state,
// and any other the store holds.
func byState(ch chan<- prometheus.Metric, d *prometheus.Desc, m map[string]int, known ...string) {
	states := slices.Clone(known)
	for s := range m {
		if !slices.Contains(states, s) {
			states = append(states, s)
		}
	}
	sort.Strings(states)
	for _, s := range states {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(m[s]), s)
	}
}

func boolean(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
