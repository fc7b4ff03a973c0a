package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/postgres"
	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/vault"
)

// rankrBin is the binary under test, built once by TestMain.
var rankrBin string

// raceEnabled builds the binary under test with the race detector, so that
// a data race in a rankr process fails its test (exit code 66). It is off
// by default: a race-detecting rankr is several times slower, and the
// packages' own tests already run with -race.
var raceEnabled = os.Getenv("RANKR_E2E_RACE") == "1"

func TestMain(m *testing.M) { os.Exit(buildAndRun(m)) }

func buildAndRun(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "rankr-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		// go test may run us with GOROOT set and go off the PATH.
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, serr := os.Stat(goBin); os.Getenv("GOROOT") == "" || serr != nil {
			fmt.Fprintln(os.Stderr, "e2e: the go command is needed to build rankr:", err)
			return 1
		}
	}
	rankrBin = filepath.Join(dir, "rankr")
	args := []string{"build", "-o", rankrBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/rankr/rankr/cmd/rankr")
	build := exec.Command(goBin, args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building rankr:", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: built rankr (race=%v) in %s\n", raceEnabled, time.Since(start).Round(time.Millisecond))
	}
	return m.Run()
}

// lifted is a rate limit nothing reaches: the tests are about processes,
// not pacing, and the rankr processes learn it from the answers' headers.
var lifted = sandbox.RateLimit{Burst: 1_000_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}

// newSandbox serves a sandbox on 127.0.0.1 from the test process.
func newSandbox(t *testing.T, cfg sandbox.Config, faults sandbox.Faults) (*sandbox.Server, string) {
	t.Helper()
	if cfg.RateLimit == (sandbox.RateLimit{}) {
		cfg.RateLimit = lifted
	}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler()) // listens on 127.0.0.1
	t.Cleanup(func() { ts.Close(); sb.Close() })
	return sb, ts.URL
}

// database is where the rankr processes of a test keep their data.
type database struct {
	name string
	dsn  string // RANKR_DB
	// open opens the database in the test process, to compare it with the
	// truth once the processes are done.
	open func(t *testing.T) store.Store
}

func sqliteDB(t *testing.T, dir string) database {
	path := filepath.Join(dir, "rankr.db")
	return database{name: "sqlite", dsn: "sqlite:" + path, open: func(t *testing.T) store.Store {
		t.Helper()
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}}
}

// postgresDB is a fresh schema of the test server; it skips the test when
// there is none.
func postgresDB(t *testing.T) database {
	url := storetest.PostgresURL(t)
	return database{name: "postgres", dsn: url, open: func(t *testing.T) store.Store {
		t.Helper()
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}}
}

// databases lists the databases to run a test on: SQLite always,
// PostgreSQL when the test server is configured.
func databases() []string {
	if os.Getenv(storetest.PostgresEnv) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

func openDatabase(t *testing.T, name, dir string) database {
	if name == "postgres" {
		return postgresDB(t)
	}
	return sqliteDB(t, dir)
}

// rankrEnv is the whole environment of the rankr processes of a test:
// nothing of the test's own environment leaks in (no proxies, no HOME).
type rankrEnv struct {
	dir  string
	vars []string
}

func newRankrEnv(t *testing.T, dir string, db database, extra ...string) rankrEnv {
	t.Helper()
	vars := []string{
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"RANKR_DATA_DIR=" + dir,
		"RANKR_DB=" + db.dsn,
		"RANKR_MASTER_KEY=" + vault.NewKey(),
		"RANKR_LOG_FORMAT=json",
	}
	if raceEnabled {
		vars = append(vars, "GORACE=halt_on_error=1")
	}
	return rankrEnv{dir: dir, vars: append(vars, extra...)}
}

func (e rankrEnv) with(vars ...string) rankrEnv {
	return rankrEnv{dir: e.dir, vars: append(append([]string(nil), e.vars...), vars...)}
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// proc is a running rankr process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout lockedBuffer
	stderr lockedBuffer
	done   chan struct{} // closed once the process has ended
}

// start starts rankr with args. The process is killed when the test ends,
// and its output is logged when the test failed.
func start(t *testing.T, env rankrEnv, args ...string) *proc {
	t.Helper()
	p := &proc{name: strings.Join(args, " "), done: make(chan struct{})}
	p.cmd = exec.Command(rankrBin, args...)
	p.cmd.Env = env.vars
	p.cmd.Dir = env.dir
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting rankr %s: %v", p.name, err)
	}
	go func() {
		_ = p.cmd.Wait() // the exit status is in p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("rankr %s (pid %d, %s):\nstdout:\n%s\nstderr:\n%s", p.name, p.cmd.Process.Pid, p.state(),
				tail(p.stdout.String(), 4000), tail(p.stderr.String(), 8000))
		}
	})
	return p
}

func tail(s string, n int) string {
	s = secrets.ReplaceAllString(s, "${1}[redacted]")
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// secrets are what a process prints once on purpose (a new API key, a new
// webhook signing secret, a sandbox token): kept out of a failure's
// output.
var secrets = regexp.MustCompile(`(rnkr_(?:live|test)_|whsec_|pit-)[A-Za-z0-9_+/=-]+`)

// kill ends the process with SIGKILL, if it still runs, and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// wait waits for the process to end, and fails the test if it takes longer
// than timeout (killing it).
func (p *proc) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		t.Fatalf("rankr %s did not end within %s", p.name, timeout)
	}
}

// state describes how the process ended, or that it runs.
func (p *proc) state() string {
	if p.running() {
		return "running"
	}
	return p.cmd.ProcessState.String()
}

// exitCode is the process's exit code: -1 when a signal ended it.
func (p *proc) exitCode() int { return p.cmd.ProcessState.ExitCode() }

// succeed waits for the process to exit 0.
func (p *proc) succeed(t *testing.T, timeout time.Duration) {
	t.Helper()
	p.wait(t, timeout)
	if p.exitCode() != 0 {
		t.Fatalf("rankr %s: %s, want exit 0; stderr:\n%s", p.name, p.state(), tail(p.stderr.String(), 8000))
	}
}

// run runs rankr to completion and wants exit 0.
func run(t *testing.T, env rankrEnv, timeout time.Duration, args ...string) *proc {
	t.Helper()
	p := start(t, env, args...)
	p.succeed(t, timeout)
	return p
}

// apiKey makes an API key with rankr keys create, as an operator does on
// the host, and returns it with the process that printed it.
func apiKey(t *testing.T, env rankrEnv, role string) (string, *proc) {
	t.Helper()
	p := run(t, env, 30*time.Second, "keys", "create", "--role", role, "--expires", "1d", "--name", "e2e", "--json")
	var out struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(p.stdout.String()), &out); err != nil || !strings.HasPrefix(out.Key, "rnkr_live_") {
		t.Fatalf("rankr keys create printed %q (%v)", p.stdout.String(), err)
	}
	return out.Key, p
}

// connectAll connects every sandbox location, in its own rankr connect,
// with the token in the environment as the help recommends.
func connectAll(t *testing.T, env rankrEnv, baseURL string, locs []sandbox.LocationInfo) []*proc {
	t.Helper()
	var procs []*proc
	for _, l := range locs {
		procs = append(procs, run(t, env.with("RANKR_GHL_TOKEN="+l.Token), 60*time.Second,
			"connect", "--location", l.ID, "--base-url", baseURL, "--name", l.Name))
	}
	return procs
}

// opCount counts the sandbox's answers to the given operations, over every
// location and status.
func opCount(st sandbox.Stats, ops ...string) int {
	n := 0
	for _, m := range st.Requests {
		for key, c := range m {
			op, _, _ := strings.Cut(key, " ")
			for _, want := range ops {
				if op == want {
					n += c
				}
			}
		}
	}
	return n
}

func truth(t *testing.T, sb *sandbox.Server) sandbox.Truth {
	t.Helper()
	tr, err := sb.Truth("")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// checkOneCreatedEach checks the change feed: every order of the truth has
// exactly one order.created, and no record of any type was created twice.
func checkOneCreatedEach(t *testing.T, st store.Store, tr sandbox.Truth) {
	t.Helper()
	events := storetest.Events(t, st, "")
	created := map[string]int{} // kind location record → count
	for _, e := range events {
		if strings.HasSuffix(e.Kind, ".created") {
			created[e.Kind+" "+e.LocationID+" "+e.RecordID]++
		}
	}
	var problems []string
	orders := 0
	for _, lt := range tr.Locations {
		for _, o := range lt.Orders {
			if o.Deleted {
				continue
			}
			orders++
			if n := created[rankr.OrderCreated+" "+lt.ID+" "+o.Item.ID]; n != 1 {
				problems = append(problems, fmt.Sprintf("order %s of %s has %d %s events", o.Item.ID, lt.ID, n, rankr.OrderCreated))
			}
		}
	}
	for key, n := range created {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("%s: %d events", key, n))
		}
	}
	if len(problems) > 0 {
		if len(problems) > 30 {
			problems = append(problems[:30], fmt.Sprintf("… and %d more", len(problems)-30))
		}
		t.Fatalf("the change feed is wrong:\n%s", strings.Join(problems, "\n"))
	}
	t.Logf("change feed: %d events, one %s for each of the %d orders", len(events), rankr.OrderCreated, orders)
}

// errNotRunning is what signalling an ended process gives.
var errNotRunning = errors.New("not running")

func (p *proc) signal(sig os.Signal) error {
	if !p.running() {
		return errNotRunning
	}
	return p.cmd.Process.Signal(sig)
}
