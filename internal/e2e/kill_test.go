package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/syncer/synctest"
	"github.com/rankr/rankr/internal/testwait"
)

// laterPhases are the operations of a backfill's phases after orders.
var laterPhases = []string{"ListTransactions", "ListSubscriptions", "GetSubscription", "ListInvoices"}

// TestSyncSurvivesSIGKILL kills `rankr sync` with SIGKILL at three moments
// of its backfill (early in the orders, in the middle, in a later phase),
// restarting it each time, then lets it finish. What it stored must be
// exactly the sandbox's truth, with one order.created per order: a kill
// loses nothing that a restart does not fetch again, and a restart
// duplicates nothing.
func TestSyncSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	for _, name := range databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testSyncSurvivesSIGKILL(t, name)
		})
	}
}

func testSyncSurvivesSIGKILL(t *testing.T, dbName string) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill points seeded with %d", seed)
	rnd := rand.New(rand.NewPCG(seed, seed>>32))

	const locations, orders = 2, 400
	sb, url := newSandbox(t, sandbox.Config{Seed: 7, Locations: locations, Orders: orders},
		sandbox.Faults{Latency: sandbox.Duration(2 * time.Millisecond), LatencyJitter: sandbox.Duration(2 * time.Millisecond)})
	dir := t.TempDir()
	db := openDatabase(t, dbName, dir)
	env := newRankrEnv(t, dir, db)
	connectAll(t, env, url, sb.Locations())

	// Where to kill, judged by what the sandbox answered: GetOrder calls
	// are the bulk of the orders phase (one per order); the later phases
	// list transactions, subscriptions and invoices.
	total := locations * orders
	before := sb.Stats()
	stages := []struct {
		name    string
		reached func(run, all sandbox.Stats) bool
	}{
		{"early in the orders", threshold(func(run, _ sandbox.Stats) int { return opCount(run, "GetOrder") }, 5+rnd.IntN(total/8))},
		{"mid-backfill", threshold(func(_, all sandbox.Stats) int { return opCount(all, "GetOrder") }, total/3+rnd.IntN(total/3))},
		{"in a later phase", threshold(func(run, _ sandbox.Stats) int { return opCount(run, laterPhases...) }, 1+rnd.IntN(12))},
	}
	began := time.Now()
	for i, stage := range stages {
		runStart := sb.Stats()
		p := start(t, env, "sync")
		testwait.UntilWhy(t, 45*time.Second, "reaching the kill point "+stage.name, func() (bool, string) {
			if !p.running() {
				t.Fatalf("sync %d ended (%s) before its kill point %s; stderr:\n%s", i+1, p.state(), stage.name, tail(p.stderr.String(), 4000))
			}
			now := sb.Stats()
			return stage.reached(diffStats(now, runStart), diffStats(now, before)), "sync still running"
		})
		if err := p.signal(syscall.SIGKILL); err != nil {
			t.Fatalf("killing sync %d: %v", i+1, err)
		}
		p.wait(t, 10*time.Second)
		if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("sync %d: %s, want killed by SIGKILL", i+1, p.state())
		}
		st := diffStats(sb.Stats(), before)
		t.Logf("killed sync %d %s after %s: GetOrder %d/%d, ListFulfillments %d, later phases %d; status: %s",
			i+1, stage.name, time.Since(began).Round(time.Millisecond), opCount(st, "GetOrder"), total,
			opCount(st, "ListFulfillments"), opCount(st, laterPhases...), backfillStatus(t, env))
	}

	p := start(t, env, "sync")
	p.succeed(t, 60*time.Second)
	st := diffStats(sb.Stats(), before)
	t.Logf("the last sync finished after %s in all; the sandbox answered %v", time.Since(began).Round(time.Millisecond), flatten(st))
	if !strings.Contains(p.stdout.String(), fmt.Sprintf("synced %d location(s)", locations)) {
		t.Errorf("sync output lacks its summary:\n%s", p.stdout.String())
	}
	// A restart fetches again at most the order details that were in
	// flight or not yet stored when the process died (a chunk of 16 per
	// location with the default 4 workers), not the orders already stored.
	if got, most := opCount(st, "GetOrder"), total+len(stages)*locations*2*16; got > most {
		t.Errorf("the sandbox answered %d GetOrder for %d orders and %d kills, want at most %d", got, total, len(stages), most)
	}

	compared := time.Now()
	s := db.open(t)
	tr := truth(t, sb)
	synctest.MatchesTruth(t, s, tr, synctest.Options{IgnoreDeleted: true})
	checkOneCreatedEach(t, s, tr)
	t.Logf("the store matches the sandbox's truth (checked in %s)", time.Since(compared).Round(time.Millisecond))
}

// threshold is a kill point: when count reaches n.
func threshold(count func(run, all sandbox.Stats) int, n int) func(run, all sandbox.Stats) bool {
	return func(run, all sandbox.Stats) bool { return count(run, all) >= n }
}

// diffStats is what the sandbox answered between two snapshots.
func diffStats(now, then sandbox.Stats) sandbox.Stats {
	out := sandbox.Stats{Requests: map[string]map[string]int{}}
	for loc, m := range now.Requests {
		out.Requests[loc] = map[string]int{}
		for k, v := range m {
			if d := v - then.Requests[loc][k]; d != 0 {
				out.Requests[loc][k] = d
			}
		}
	}
	return out
}

// flatten sums answers per operation and status over the locations.
func flatten(st sandbox.Stats) map[string]int {
	out := map[string]int{}
	for _, m := range st.Requests {
		for k, v := range m {
			out[k] += v
		}
	}
	return out
}

// backfillStatus asks `rankr status --json` where each backfill stands.
func backfillStatus(t *testing.T, env rankrEnv) string {
	t.Helper()
	var st []struct {
		Connection struct {
			LocationID string `json:"locationId"`
		} `json:"connection"`
		Counts struct {
			Orders int `json:"orders"`
		} `json:"counts"`
		Sync struct {
			BackfillDone  bool   `json:"backfillDone"`
			BackfillPhase string `json:"backfillPhase"`
		} `json:"sync"`
	}
	p := run(t, env, 30*time.Second, "status", "--json")
	if err := json.Unmarshal([]byte(p.stdout.String()), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, p.stdout.String())
	}
	var parts []string
	for _, s := range st {
		phase := "done"
		if !s.Sync.BackfillDone {
			phase = "at " + s.Sync.BackfillPhase
		}
		parts = append(parts, fmt.Sprintf("%s %s with %d orders", s.Connection.LocationID, phase, s.Counts.Orders))
	}
	return strings.Join(parts, "; ")
}
