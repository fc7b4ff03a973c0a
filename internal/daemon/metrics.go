package daemon

import (
	"context"
	"net/http"
	"net/http/pprof"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/metrics"
	"github.com/rankr/rankr/internal/store/sqlstore"
)

// newMetrics makes the metrics over what d holds; d's parts are read at
// each scrape, so it may be called before they are all set.
func (d *Daemon) newMetrics(st *sqlstore.Store) *metrics.Metrics {
	return metrics.New(metrics.Sources{
		Intake:     d.WebhookStats,
		InboxDepth: st.InboxPending,
		Locations:  d.metricLocations,
		Gauges:     st.Gauges,
		Jobs:       func(ctx context.Context) (map[string]int, error) { return jobs.Counts(ctx, st.DB()) },
		DB:         st.DB(),
		Logger:     d.log,
	})
}

// metricLocations reads every connection for the metrics: its state, when
// it was last in step with GHL, its backfill and its budget.
func (d *Daemon) metricLocations(ctx context.Context) ([]metrics.Location, error) {
	conns, err := d.Store.ConnectionList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]metrics.Location, 0, len(conns))
	for _, c := range conns {
		state, err := d.Syncer.State(ctx, c.LocationID)
		if err != nil {
			return out, err
		}
		p := d.Syncer.Progress(c.LocationID)
		l := metrics.Location{ID: c.LocationID, State: c.State, Backfilled: state.BackfillDone,
			BackfillDone: p.Orders.Load(), BackfillTotal: p.OrdersTotal.Load(),
			Budget: d.Syncer.Clients().Governor().Budget(c.LocationID)}
		if state.BackfillDone {
			// The counter goes on counting every order written since
			// (polls, walks): once the backfill is over, it walked all.
			l.BackfillDone = l.BackfillTotal
		}
		l.LastSync = state.LastPoll
		if state.LastWalk.After(l.LastSync) {
			l.LastSync = state.LastWalk
		}
		out = append(out, l)
	}
	return out, nil
}

// routeMetrics adds /metrics (behind any valid key) and Go's profiler
// (behind security:admin: a profile shows the process's memory) to rt.
func (d *Daemon) routeMetrics(rt *access.Router) {
	rt.Handle("GET /metrics", access.AnyKey(), d.Metrics.Handler())
	admin := access.Need("security:admin")
	rt.HandleFunc("GET /debug/pprof/", admin, pprof.Index)
	rt.HandleFunc("GET /debug/pprof/cmdline", admin, pprof.Cmdline)
	rt.HandleFunc("GET /debug/pprof/profile", admin, pprof.Profile)
	rt.HandleFunc("GET /debug/pprof/symbol", admin, pprof.Symbol)
	rt.HandleFunc("GET /debug/pprof/trace", admin, pprof.Trace)
}

// metricsServer serves /metrics alone, without a key, for a scraper on a
// listener of its own (Config.MetricsAddr, loopback unless told
// otherwise).
func (d *Daemon) metricsServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.Metrics.Handler())
	t := d.cfg.HTTP.withDefaults()
	return &http.Server{Handler: mux, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
}
