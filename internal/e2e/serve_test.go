package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to read River's table

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer/synctest"
	"github.com/rankr/rankr/internal/testwait"
)

// TestTwoServeProcessesShareTheWork runs two `rankr serve` processes on one
// PostgreSQL database until every location is backfilled and polled. The
// store must then match the sandbox's truth; River's job table must show
// that both processes worked sync jobs and that no two jobs of one kind for
// one location ever ran at the same time; and both must stop cleanly on
// SIGTERM.
func TestTwoServeProcessesShareTheWork(t *testing.T) {
	t.Parallel()
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("two serve processes share their work only through PostgreSQL: set %s (./scripts/test starts a throwaway server and sets it)", storetest.PostgresEnv)
	}
	const locations, orders = 4, 200
	sb, url := newSandbox(t, sandbox.Config{Seed: 11, Locations: locations, Orders: orders},
		sandbox.Faults{Latency: sandbox.Duration(time.Millisecond), LatencyJitter: sandbox.Duration(time.Millisecond)})
	dir := t.TempDir()
	db := postgresDB(t)
	env := newRankrEnv(t, dir, db)
	connectAll(t, env, url, sb.Locations())

	rdb, err := sql.Open("pgx", db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })

	// Two workers each for four locations: neither process can take every
	// backfill, so the work has to be shared.
	ids := []string{"rankr-e2e-a", "rankr-e2e-b"}
	began := time.Now()
	var servers []*proc
	for _, id := range ids {
		servers = append(servers, start(t, env, "serve", "--addr", "127.0.0.1:0", "--id", id,
			"--poll-interval", "1s", "--workers", "2"))
	}
	statusURL := servingAddr(t, servers[0]) + "/api/status"
	key, _ := apiKey(t, env, "viewer")

	testwait.UntilWhy(t, 50*time.Second, "every location backfilled and polled, by both processes", func() (bool, string) {
		for _, p := range servers {
			if !p.running() {
				t.Fatalf("rankr %s ended: %s", p.name, p.state())
			}
		}
		st, err := serveStatus(statusURL, key)
		if err != nil {
			return false, err.Error()
		}
		if len(st) != locations {
			return false, fmt.Sprintf("status shows %d locations", len(st))
		}
		for _, s := range st {
			if !s.Sync.BackfillDone {
				return false, fmt.Sprintf("%s: backfill at %q, %d orders", s.Connection.LocationID, s.Sync.BackfillPhase, s.Counts.Orders)
			}
			if !s.Sync.LastPoll.After(s.Sync.BackfillFrom) {
				return false, fmt.Sprintf("%s: backfilled, not polled yet", s.Connection.LocationID)
			}
		}
		workers, err := jobWorkers(rdb)
		if err != nil {
			return false, err.Error()
		}
		for _, id := range ids {
			if workers[id] == 0 {
				return false, fmt.Sprintf("all done, but %s has worked no sync job (jobs per process: %v)", id, workers)
			}
		}
		return true, ""
	})
	t.Logf("backfilled and polled %d locations in %s", locations, time.Since(began).Round(time.Millisecond))

	compared := time.Now()
	s := db.open(t)
	tr := truth(t, sb)
	synctest.MatchesTruth(t, s, tr, synctest.Options{IgnoreDeleted: true})
	checkOneCreatedEach(t, s, tr)
	t.Logf("the store matches the sandbox's truth (checked in %s)", time.Since(compared).Round(time.Millisecond))

	// SIGTERM both at once: each finishes its running jobs and exits 0.
	stopped := time.Now()
	var wg sync.WaitGroup
	for _, p := range servers {
		if err := p.signal(syscall.SIGTERM); err != nil {
			t.Fatalf("rankr %s: %v", p.name, err)
		}
		wg.Go(func() {
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
			}
		})
	}
	wg.Wait()
	for _, p := range servers {
		if p.running() {
			t.Errorf("rankr %s did not stop within 20s of SIGTERM", p.name)
		} else if p.exitCode() != 0 {
			t.Errorf("rankr %s: %s after SIGTERM, want exit 0", p.name, p.state())
		}
	}
	t.Logf("both processes stopped in %s", time.Since(stopped).Round(time.Millisecond))

	checkJobsNeverOverlap(t, rdb, ids)
}

// servingAddr reads the status page's address from a serve process's log.
func servingAddr(t *testing.T, p *proc) string {
	t.Helper()
	var addr string
	testwait.UntilWhy(t, 30*time.Second, "rankr "+p.name+" serving HTTP", func() (bool, string) {
		if !p.running() {
			t.Fatalf("rankr %s ended: %s", p.name, p.state())
		}
		sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" && strings.HasPrefix(line.Addr, "http://127.0.0.1:") {
				addr = line.Addr
				return true, ""
			}
		}
		return false, "no \"serving\" line in its log yet"
	})
	return addr
}

type locationStatus struct {
	Connection struct {
		LocationID string `json:"locationId"`
	} `json:"connection"`
	Counts struct {
		Orders int `json:"orders"`
	} `json:"counts"`
	Sync struct {
		BackfillDone  bool      `json:"backfillDone"`
		BackfillPhase string    `json:"backfillPhase"`
		BackfillFrom  time.Time `json:"backfillStartedAt"`
		LastPoll      time.Time `json:"lastPollStartedAt"`
	} `json:"sync"`
}

func serveStatus(url, key string) ([]locationStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var body struct {
		Locations []locationStatus `json:"locations"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return body.Locations, nil
}

// syncJobKinds are the jobs that sync a location (the scheduler's job only
// queues them).
const syncJobKinds = `kind IN ('sync.backfill', 'sync.poll', 'sync.walk', 'sync.refresh')`

// jobWorkers counts, per process id, the sync jobs it attempted.
func jobWorkers(db *sql.DB) (map[string]int, error) {
	rows, err := db.Query(`SELECT w, count(*) FROM river_job, unnest(attempted_by) AS w WHERE ` + syncJobKinds + ` GROUP BY w`)
	if err != nil {
		return nil, fmt.Errorf("reading river_job: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// checkJobsNeverOverlap reads River's job table once every process has
// stopped: both processes must appear among the sync jobs' workers, and
// for each location and kind the jobs' running intervals (from the last
// attempt's start to the job's end) must not overlap.
func checkJobsNeverOverlap(t *testing.T, db *sql.DB, ids []string) {
	t.Helper()
	// A job's end: when it was finalized; for one snoozed or retried
	// after its last attempt (and so not final), when that attempt ended
	// (the snooze's scheduled time, or the last error's time). A job still
	// marked running has no end: it runs on forever as far as overlaps go.
	rows, err := db.Query(`
		SELECT id, kind, args->>'location_id', state, array_to_string(attempted_by, ','), attempted_at,
		       COALESCE(finalized_at,
		                CASE WHEN state = 'retryable' THEN (errors[cardinality(errors)]->>'at')::timestamptz END,
		                CASE WHEN state IN ('available', 'scheduled') AND scheduled_at >= attempted_at THEN scheduled_at END)
		FROM river_job
		WHERE ` + syncJobKinds + ` AND attempted_at IS NOT NULL
		ORDER BY attempted_at, id`)
	if err != nil {
		t.Fatalf("reading river_job: %v", err)
	}
	defer rows.Close()
	type run struct {
		id         int64
		state, by  string
		start, end time.Time // end zero: open
	}
	runs := map[string][]run{} // location kind → runs, by start
	perWorker := map[string]map[string]int{}
	total := 0
	for rows.Next() {
		var r run
		var kind, by string
		var loc sql.NullString
		var end sql.NullTime
		if err := rows.Scan(&r.id, &kind, &loc, &r.state, &by, &r.start, &end); err != nil {
			t.Fatal(err)
		}
		if !loc.Valid || loc.String == "" {
			t.Errorf("job %d (%s) names no location", r.id, kind)
			continue
		}
		r.by, r.end = by, end.Time
		if !end.Valid {
			t.Errorf("job %d (%s of %s) is %s with no end after every process stopped", r.id, kind, loc.String, r.state)
		}
		runs[loc.String+" "+kind] = append(runs[loc.String+" "+kind], r)
		for _, w := range strings.Split(by, ",") {
			if perWorker[w] == nil {
				perWorker[w] = map[string]int{}
			}
			perWorker[w][kind]++
		}
		total++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d sync jobs ran; attempts per process and kind: %v", total, perWorker)
	for _, id := range ids {
		if len(perWorker[id]) == 0 {
			t.Errorf("process %s worked no sync job: the work was not shared", id)
		}
	}
	for w := range perWorker {
		if !slices.Contains(ids, w) {
			t.Errorf("a sync job was worked by %q, not one of the processes %v", w, ids)
		}
	}
	keys := make([]string, 0, len(runs))
	for k := range runs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	overlaps := 0
	for _, key := range keys {
		rs := runs[key]
		// The job that ends last so far: any later start before its end
		// overlaps it.
		last := rs[0]
		for _, cur := range rs[1:] {
			if last.end.IsZero() || cur.start.Before(last.end) {
				overlaps++
				if overlaps <= 20 {
					t.Errorf("%s: job %d (by %s, %s–%s) overlaps job %d (by %s, %s–%s)", key,
						last.id, last.by, stamp(last.start), stamp(last.end), cur.id, cur.by, stamp(cur.start), stamp(cur.end))
				}
			}
			if !last.end.IsZero() && (cur.end.IsZero() || cur.end.After(last.end)) {
				last = cur
			}
		}
	}
	if overlaps == 0 {
		t.Logf("no two jobs of one kind for one location overlapped (%d location/kind pairs)", len(keys))
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(running)"
	}
	return t.Format("15:04:05.000000")
}
