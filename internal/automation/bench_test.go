package automation_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/postgres"
	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/store/storetest"
)

// benchAutomation filters out half the orders (those under 10.00) and
// reads each other one back, as a real automation's first step does.
const benchAutomation = `apiVersion: rankr.dev/v1
kind: Automation
id: bench
trigger:
  key: derived.order.created@1
  filter: trigger.order.amount >= 10
steps:
  - id: order
    action: rankr.order.get@1
    with:
      orderId: "${{ trigger.order.id }}"
`

// BenchmarkRunner measures the automation runner keeping up with the
// sync: orders stored at RANKR_BENCH_EVENTS_PER_S (default 1,000 a
// second, in transactions of 10 as the sync's pages store them) for
// RANKR_BENCH_SECONDS (default 10), each order.created event firing one
// enabled automation whose filter passes half of them; the runner (its
// default workers, in the process) filters and runs them. Figures: events/s
// stored, the start latency (from the run's creation, in the event's
// transaction, to its start) p50/p99, runs ended/s, and how long the
// queue took to drain after the last event. Every event must have
// exactly one run. Goal: p99 at most 100 ms at 1,000 events/s on 2
// cores.
func BenchmarkRunner(b *testing.B) {
	rate := envInt("RANKR_BENCH_EVENTS_PER_S", 1000)
	seconds := envInt("RANKR_BENCH_SECONDS", 10)
	dbs := map[string]func(b *testing.B) *sqlstore.Store{
		"sqlite": func(b *testing.B) *sqlstore.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "rankr.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"postgres": func(b *testing.B) *sqlstore.Store {
			s, err := postgres.Open(context.Background(), storetest.PostgresURL(b))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchRunner(b, dbs[name](b), rate, seconds)
			}
		})
	}
}

func benchRunner(b *testing.B, st *sqlstore.Store, rate, seconds int) {
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := app.New(app.Deps{Store: st})
	if _, err := a.AutomationApply(ctx, app.Host("bench"), app.AutomationFile{Name: "bench.yaml", Source: []byte(benchAutomation)}, false, ""); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var starts []time.Duration
	deps := a.RunnerDeps()
	deps.Observe = func(_ rankr.AutomationRun, after time.Duration) {
		mu.Lock()
		starts = append(starts, after)
		mu.Unlock()
	}
	deps.Workers = envInt("RANKR_BENCH_WORKERS", 0) // 0: the runner's default
	runner := automation.NewRunner(deps)
	done := make(chan struct{})
	go func() { defer close(done); _ = runner.Run(ctx) }()

	batch := envInt("RANKR_BENCH_BATCH", 10)
	tick := time.Second * time.Duration(batch) / time.Duration(rate)
	total := rate * seconds
	t0 := time.Now()
	var stored atomic.Int64
	loc := "L1"
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	next := time.Now()
	for i := 0; i < total; i += batch {
		var vs []store.OrderVersion
		for j := i; j < i+batch && j < total; j++ {
			id := "o" + strconv.Itoa(j)
			amount := int64(500)
			if j%2 == 0 {
				amount = 1500
			}
			vs = append(vs, store.OrderVersion{Order: rankr.Order{ID: id, LocationID: loc, Amount: amount, Currency: "USD",
				Status: "completed", CreatedAt: at, UpdatedAt: at, RawSummary: json.RawMessage(`{"_id":"` + id + `"}`)}})
		}
		if _, err := st.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, Now: at, Orders: vs}); err != nil {
			b.Fatal(err)
		}
		stored.Add(int64(len(vs)))
		next = next.Add(tick)
		time.Sleep(time.Until(next))
	}
	feedSecs := time.Since(t0).Seconds()
	drainFrom := time.Now()
	var ended int
	for {
		ended = 0
		for _, status := range []rankr.RunStatus{rankr.RunSucceeded, rankr.RunSkipped, rankr.RunFailed} {
			n, err := countRuns(ctx, st, status)
			if err != nil {
				b.Fatal(err)
			}
			if status == rankr.RunFailed && n > 0 {
				b.Fatalf("%d runs failed", n)
			}
			ended += n
		}
		if ended >= total || time.Since(drainFrom) > time.Minute {
			break
		}
		// Counting reads every run: now and then, so as not to slow the
		// runner it measures (SQLite has one connection).
		time.Sleep(250 * time.Millisecond)
	}
	drain := time.Since(drainFrom)
	cancel()
	<-done
	if ended != total {
		b.Fatalf("%d runs ended for %d events (exactly one each)", ended, total)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(starts)
	pct := func(p float64) float64 { return float64(starts[int(p*float64(len(starts)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(stored.Load())/feedSecs, "events/s")
	b.ReportMetric(pct(0.50), "start_p50_ms")
	b.ReportMetric(pct(0.99), "start_p99_ms")
	b.ReportMetric(float64(total)/(feedSecs+drain.Seconds()), "runs/s")
	b.ReportMetric(float64(drain.Milliseconds()), "drain_ms")
}

// countRuns counts the bench automation's runs in a state, a page at a
// time.
func countRuns(ctx context.Context, st store.Store, status rankr.RunStatus) (int, error) {
	n := 0
	var before int64
	for {
		runs, err := st.AutomationRunList(ctx, store.RunListParams{AutomationID: "bench", Status: status, BeforeID: before, Limit: 1000})
		if err != nil {
			return 0, err
		}
		n += len(runs)
		if len(runs) < 1000 {
			return n, nil
		}
		before = runs[len(runs)-1].ID
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
