//go:build linux

package bench

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
)

// lifted are sandbox limits no sync reaches, so that a backfill measures
// rankr rather than GHL's rate limit.
var lifted = sandbox.RateLimit{Burst: 1_000_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}

// ghlLimits are GHL's real limits for one location.
var ghlLimits = sandbox.RateLimit{Burst: 100, Interval: 10 * time.Second, Daily: 200_000}

// BenchmarkBackfill10k backfills 10,000 orders on each store.
func BenchmarkBackfill10k(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) { backfill(b, 10_000, kind) })
	}
}

// BenchmarkBackfill100k backfills 100,000 orders on SQLite, to show that
// the sync's memory does not grow with the data. It takes minutes (about 3
// on 2 idle cores): it runs only when RANKR_BENCH_LARGE=1.
func BenchmarkBackfill100k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		if os.Getenv("RANKR_BENCH_LARGE") != "1" {
			report(b, "Backfill 100,000 orders, SQLite: not run (RANKR_BENCH_LARGE=1 runs it: 3 to 5 more minutes on 2 cores)")
			b.Skip("set RANKR_BENCH_LARGE=1 to run (3 to 5 minutes on 2 cores)")
		}
		backfill(b, 100_000, "sqlite")
	})
}

// backfill runs `rankr sync` to completion against a fresh sandbox process
// holding orders orders, with a fresh database of kind, b.N times. The
// timer runs only while `rankr sync` does (its database opening and
// migrations, the backfill, and the incremental pass it makes afterwards).
func backfill(b *testing.B, orders int, kind string) {
	b.StopTimer()
	bin := rankrBinary(b)
	var (
		wall, cpu              time.Duration
		records, ordersSynced  int64
		calls, throttled       int64
		peak                   int64
		lastSummary            summary
		lastCalls              callCounts
		lastFloor, lastSandbox int64
		label                  string
	)
	for range b.N {
		b.StopTimer()
		sb, info := startSandbox(b, bin, orders, lifted)
		loc := info.Locations[0]
		e := newSyncEnv(b, kind)
		label = e.label
		connect(b, bin, e, loc.ID, loc.Token, info.BaseURL)
		before := sandboxStats(b, info.BaseURL)

		b.StartTimer()
		p := startProc(b, "rankr sync", e.env(), bin, "sync")
		err := p.wait(b, time.Hour)
		b.StopTimer()

		out := p.stdout.String()
		if err != nil {
			b.Fatalf("rankr sync: %v\nstdout: %s\nstderr: %s", err, tail(out, 3000), tail(p.stderr.String(), 3000))
		}
		sum, err := parseSummary(out)
		if err != nil || sum.result != "ok" {
			b.Fatalf("rankr sync: %v %q\n%s", err, sum.result, tail(out, 3000))
		}
		cc := countCalls(before, sandboxStats(b, info.BaseURL), loc.ID)
		sb.stop(10 * time.Second)

		// What the design asks of GHL: every list page of 100, one detail
		// per order and per subscription, and the fulfillments of each
		// order whose fulfillment status is not "unfulfilled".
		floor := pages(sum.orders) + pages(sum.transactions) + pages(sum.subscriptions) + pages(sum.invoices) +
			sum.orders + sum.subscriptions + fulfillableOrders(b, e)

		wall += p.wall
		cpu += p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
		records += sum.records()
		ordersSynced += sum.orders
		calls += cc.total
		throttled += cc.throttled
		peak = max(peak, p.peakRSS())
		lastSummary, lastCalls, lastFloor, lastSandbox = sum, cc, floor, cc.total
		if sum.calls != cc.total {
			b.Logf("rankr counted %d GHL calls, the sandbox answered %d", sum.calls, cc.total)
		}
	}
	secs := wall.Seconds()
	b.ReportMetric(float64(records)/secs, "records/s")
	b.ReportMetric(float64(ordersSynced)/secs, "orders/s")
	b.ReportMetric(float64(calls)/float64(ordersSynced), "calls/order")
	b.ReportMetric(float64(throttled)/float64(b.N), "429s")
	b.ReportMetric(mb(peak), "peakRSS_MB")

	s := lastSummary
	report(b, "Backfill %s orders, %s: %s records/s (%s orders/s), %.3f GHL calls/order, %d 429s, peak RSS %.1f MB",
		commas(int64(orders)), label, commas(int64(math.Round(float64(records)/secs))), commas(int64(math.Round(float64(ordersSynced)/secs))),
		float64(calls)/float64(ordersSynced), throttled/int64(b.N), mb(peak))
	report(b, "    %s records in %.1f s of `rankr sync`, which used %.1f s of CPU (%s orders, %s fulfillments, %s transactions, %s subscriptions, %s invoices)",
		commas(s.records()), secs/float64(b.N), cpu.Seconds()/float64(b.N), commas(s.orders), commas(s.fulfillments), commas(s.transactions), commas(s.subscriptions), commas(s.invoices))
	report(b, "    %s requests answered by the sandbox; the design's floor for the backfill is %s (%.3f/order), and `rankr sync` makes an incremental pass after it",
		commas(lastSandbox), commas(lastFloor), float64(lastFloor)/float64(s.orders))
	report(b, "    by operation: %s", lastCalls)
}

// BenchmarkRealLimitUtilization syncs one location of 5,000 orders (more
// than a minute's work) against a sandbox at GHL's real limits, 100
// requests per 10 s, for 60 s from the sync's first request, then stops the
// sync. It reports the share of the allowed requests GHL answered with 200
// in those 60 s (from an empty window: 100 × 6 = 600), and the 429s.
// RANKR_BENCH_WINDOW (a Go duration) shortens the window while developing.
func BenchmarkRealLimitUtilization(b *testing.B) {
	b.StopTimer()
	bin := rankrBinary(b)
	window := 60 * time.Second
	if v := os.Getenv("RANKR_BENCH_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("RANKR_BENCH_WINDOW=%q: want a positive duration", v)
		}
		window = d
	}
	slots := int((window + ghlLimits.Interval - 1) / ghlLimits.Interval)
	allowed := int64(ghlLimits.Burst * slots)

	var ok, throttled int64
	var lastSlots []int64
	var lastStartup time.Duration
	for range b.N {
		b.StopTimer()
		// The sandbox runs in this process, behind a recorder of when each
		// request arrived; the sync is its own process.
		sb, err := sandbox.New(sandbox.Config{Seed: 1, Orders: 5_000, RateLimit: ghlLimits})
		if err != nil {
			b.Fatal(err)
		}
		rec := &recorder{next: sb.Handler(), first: make(chan struct{})}
		ts := httptest.NewServer(rec) // 127.0.0.1
		closeSandbox := sync.OnceFunc(func() { ts.Close(); sb.Close() })
		b.Cleanup(closeSandbox)
		loc := sb.Locations()[0]
		e := newSyncEnv(b, "sqlite")
		connect(b, bin, e, loc.ID, loc.Token, ts.URL)

		b.StartTimer()
		p := startProc(b, "rankr sync", e.env(), bin, "sync")
		select {
		case <-rec.first:
		case <-p.done:
			b.Fatalf("rankr sync exited before its first request: %v\n%s", p.err, tail(p.stderr.String(), 2000))
		case <-time.After(2 * time.Minute):
			b.Fatal("rankr sync made no request in 2 minutes")
		}
		t0 := rec.earliest()
		// Stop a little after the window, once its last requests are
		// surely answered.
		select {
		case <-time.After(time.Until(t0.Add(window + 2*time.Second))):
		case <-p.done:
			b.Fatalf("rankr sync ended within the window (%v): the location is too small to measure\n%s", p.err, tail(p.stdout.String(), 2000))
		}
		p.stop(30 * time.Second)
		b.StopTimer()
		st := sb.Stats().Requests[loc.ID]
		closeSandbox()
		var th int64
		for k, n := range st {
			if strings.HasSuffix(k, " 429") {
				th += int64(n)
			}
		}
		perSlot := rec.okPerSlot(t0, ghlLimits.Interval, window)
		var n int64
		for _, c := range perSlot {
			n += c
		}
		ok += n
		throttled += th
		lastSlots, lastStartup = perSlot, t0.Sub(p.start)
	}
	util := 100 * float64(ok) / float64(allowed*int64(b.N))
	b.ReportMetric(util, "utilization_%")
	b.ReportMetric(float64(ok)/float64(b.N), "ok_in_window")
	b.ReportMetric(float64(throttled)/float64(b.N), "429s")

	report(b, "At GHL's limits (%d requests / %s, %s / day), 1 location, %s from the first request: %.1f%% of the allowed rate used (%s of %s requests answered 200), %d 429s",
		ghlLimits.Burst, ghlLimits.Interval, commas(int64(ghlLimits.Daily)), window, util,
		commas(ok/int64(b.N)), commas(allowed), throttled/int64(b.N))
	parts := make([]string, len(lastSlots))
	for i, c := range lastSlots {
		parts[i] = fmt.Sprint(c)
	}
	report(b, "    answered 200 per %s: %s; `rankr sync` started %.2f s before its first request (not counted)",
		ghlLimits.Interval, strings.Join(parts, ", "), lastStartup.Seconds())
}

// recorder notes when each GHL API request arrived and how it was answered.
type recorder struct {
	next http.Handler

	mu        sync.Mutex
	reqs      []recorded
	first     chan struct{}
	firstOnce sync.Once
}

type recorded struct {
	at     time.Time
	status int
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if strings.HasPrefix(req.URL.Path, sandbox.AdminPrefix) {
		r.next.ServeHTTP(w, req)
		return
	}
	at := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	r.next.ServeHTTP(sw, req)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{at: at, status: sw.status})
	r.mu.Unlock()
	r.firstOnce.Do(func() { close(r.first) })
}

// earliest is when the first request arrived.
func (r *recorder) earliest() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.MinFunc(r.reqs, func(a, b recorded) int { return a.at.Compare(b.at) }).at
}

// okPerSlot counts the requests answered 200 that arrived in [t0,
// t0+window), per interval.
func (r *recorder) okPerSlot(t0 time.Time, interval, window time.Duration) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int64, (window+interval-1)/interval)
	for _, q := range r.reqs {
		if d := q.at.Sub(t0); q.status == http.StatusOK && d >= 0 && d < window {
			out[d/interval]++
		}
	}
	return out
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
