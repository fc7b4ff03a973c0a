//go:build linux

package bench

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx"
	_ "modernc.org/sqlite"             // "sqlite"

	"github.com/rankr/rankr/ghl/sandbox"
)

// postgresEnv names the PostgreSQL URL the benchmarks use, as for the
// tests; ./scripts/bench starts a throwaway server and sets it.
const postgresEnv = "RANKR_TEST_POSTGRES"

// The rankr binary the benchmarks run, built once per test binary.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// rankrBinary returns the rankr binary to run: RANKR_BENCH_BIN when set,
// else one built from this module (once).
func rankrBinary(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("RANKR_BENCH_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "rankr-bench-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "rankr")
		// go test puts its own toolchain first on PATH.
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/rankr/rankr/cmd/rankr").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building rankr: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return binPath
}

// baseEnv is this process's environment without RANKR_* settings, so that
// nothing in the caller's shell changes what is measured.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RANKR_") {
			env = append(env, kv)
		}
	}
	return env
}

// syncedBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	// line is closed once the first newline has been written.
	line     chan struct{}
	lineOnce sync.Once
}

func newSyncedBuffer() *syncedBuffer { return &syncedBuffer{line: make(chan struct{})} }

func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.buf.Write(p)
	if bytes.IndexByte(s.buf.Bytes(), '\n') >= 0 {
		s.lineOnce.Do(func() { close(s.line) })
	}
	return n, err
}

func (s *syncedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// tail returns the last n bytes, for error messages.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// proc is a child process being measured.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout *syncedBuffer
	stderr *syncedBuffer
	start  time.Time
	done   chan struct{}
	err    error         // set when done is closed
	wall   time.Duration // set when done is closed
}

func startProc(b *testing.B, name string, env []string, bin string, args ...string) *proc {
	b.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), stdout: newSyncedBuffer(), stderr: newSyncedBuffer(), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.wall = time.Since(p.start)
		close(p.done)
	}()
	b.Cleanup(func() { p.stop(5 * time.Second) })
	return p
}

// wait waits for the process to exit on its own.
func (p *proc) wait(b *testing.B, timeout time.Duration) error {
	b.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.stop(5 * time.Second)
		b.Fatalf("%s did not finish within %s\nstdout: %s\nstderr: %s", p.name, timeout, tail(p.stdout.String(), 2000), tail(p.stderr.String(), 2000))
		return nil
	}
}

// stop interrupts the process as Ctrl-C would and kills it if it has not
// exited after grace.
func (p *proc) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// peakRSS is the process's peak resident set size in bytes (Linux reports
// ru_maxrss in KiB), once it has exited.
func (p *proc) peakRSS() int64 {
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}

// sandboxInfo is the JSON line `rankr sandbox` prints on start.
type sandboxInfo struct {
	BaseURL   string `json:"baseUrl"`
	Locations []struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	} `json:"locations"`
}

// startSandbox runs `rankr sandbox` as its own process with one location
// of orders orders, and waits for it to listen.
func startSandbox(b *testing.B, bin string, orders int, lim sandbox.RateLimit) (*proc, sandboxInfo) {
	b.Helper()
	p := startProc(b, "rankr sandbox", baseEnv(), bin, "sandbox", "--addr", "127.0.0.1:0", "--seed", "1", "--locations", "1",
		"--orders", strconv.Itoa(orders), "--rate-burst", strconv.Itoa(lim.Burst), "--rate-interval", lim.Interval.String(),
		"--rate-daily", strconv.Itoa(lim.Daily), "--log-level", "warn")
	select {
	case <-p.stdout.line:
	case <-p.done:
		b.Fatalf("rankr sandbox exited: %v\n%s", p.err, tail(p.stderr.String(), 2000))
	case <-time.After(5 * time.Minute):
		b.Fatalf("rankr sandbox printed nothing in 5 minutes\n%s", tail(p.stderr.String(), 2000))
	}
	var info sandboxInfo
	line, _, _ := strings.Cut(p.stdout.String(), "\n")
	if err := json.Unmarshal([]byte(line), &info); err != nil || len(info.Locations) != 1 {
		b.Fatalf("rankr sandbox printed %q: %v", line, err)
	}
	return p, info
}

// admin calls the sandbox's admin API and decodes its answer into out
// (when not nil).
func admin(b *testing.B, baseURL, method, path string, body, out any) {
	b.Helper()
	var rd *bytes.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, baseURL+sandbox.AdminPrefix+path, rd)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("sandbox %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		b.Fatalf("sandbox %s %s: %s %s", method, path, resp.Status, msg.String())
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			b.Fatalf("sandbox %s %s: decoding the answer: %v", method, path, err)
		}
	}
}

// sandboxStats reads the sandbox's answer counts through its admin API.
func sandboxStats(b *testing.B, baseURL string) sandbox.Stats {
	b.Helper()
	var st sandbox.Stats
	admin(b, baseURL, http.MethodGet, "/stats", nil, &st)
	return st
}

// callCounts sums a location's answers in after that were not yet in
// before: all of them, the 429s, and per "Operation status".
type callCounts struct {
	total, throttled int64
	byOp             map[string]int64
}

func countCalls(before, after sandbox.Stats, loc string) callCounts {
	c := callCounts{byOp: map[string]int64{}}
	for k, n := range after.Requests[loc] {
		d := int64(n - before.Requests[loc][k])
		if d == 0 {
			continue
		}
		c.byOp[k] = d
		c.total += d
		if strings.HasSuffix(k, " 429") {
			c.throttled += d
		}
	}
	return c
}

func (c callCounts) String() string {
	keys := make([]string, 0, len(c.byOp))
	for k := range c.byOp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %s", k, commas(c.byOp[k]))
	}
	return strings.Join(parts, ", ")
}

// syncEnv is a rankr installation: its data directory, database and key.
type syncEnv struct {
	kind  string // sqlite or postgres
	db    string // RANKR_DB
	dir   string
	key   string
	label string // for humans: "SQLite", "PostgreSQL (fsync=off)"
}

func newSyncEnv(b *testing.B, kind string) syncEnv {
	b.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	e := syncEnv{kind: kind, dir: b.TempDir(), key: base64.StdEncoding.EncodeToString(key)}
	switch kind {
	case "sqlite":
		e.db = "sqlite:" + filepath.Join(e.dir, "rankr.db")
		e.label = "SQLite"
	case "postgres":
		e.db = postgresSchema(b)
		e.label = "PostgreSQL (fsync=" + pgSetting(b, e.db, "fsync") + ")"
	default:
		b.Fatalf("unknown store %q", kind)
	}
	return e
}

func (e syncEnv) env() []string {
	return append(baseEnv(), "RANKR_DB="+e.db, "RANKR_DATA_DIR="+e.dir, "RANKR_MASTER_KEY="+e.key, "RANKR_LOG_LEVEL=warn")
}

// postgresSchema returns a URL to a fresh schema of the benchmark
// database, dropped when the benchmark ends. It skips the benchmark when
// RANKR_TEST_POSTGRES is unset.
func postgresSchema(b *testing.B) string {
	b.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		report(b, "%s: not run, no PostgreSQL (./scripts/bench starts one; or set %s)", b.Name(), postgresEnv)
		b.Skipf("%s is not set: ./scripts/bench starts a throwaway PostgreSQL, or point it at an empty database", postgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatalf("%s: %v", postgresEnv, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	var suffix [8]byte
	rand.Read(suffix[:])
	schema := fmt.Sprintf("bench_%x", suffix)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatalf("creating schema: %v", err)
	}
	b.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// pgSetting reads a server setting, to say what the figures were measured
// with.
func pgSetting(b *testing.B, url, name string) string {
	b.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("SHOW " + name).Scan(&v); err != nil {
		b.Fatalf("SHOW %s: %v", name, err)
	}
	return v
}

// connect runs `rankr connect` without the verifying calls, so that every
// request the sandbox sees afterwards is the sync's.
func connect(b *testing.B, bin string, e syncEnv, loc, token, baseURL string) {
	b.Helper()
	cmd := exec.Command(bin, "connect", "--location", loc, "--base-url", baseURL, "--no-verify")
	cmd.Env = append(e.env(), "RANKR_GHL_TOKEN="+token) // not in the process list
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("rankr connect: %v\n%s", err, out)
	}
}

// summary is the table `rankr sync` prints at the end, for one location.
type summary struct {
	orders, fulfillments, transactions, subscriptions, invoices, calls int64
	result                                                             string
}

func (s summary) records() int64 {
	return s.orders + s.fulfillments + s.transactions + s.subscriptions + s.invoices
}

func parseSummary(out string) (summary, error) {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "LOCATION") || !strings.Contains(l, "GHL CALLS") || i+1 >= len(lines) {
			continue
		}
		f := strings.Fields(lines[i+1])
		if len(f) < 9 {
			break
		}
		var n [6]int64
		for j := range n {
			v, err := strconv.ParseInt(f[1+j], 10, 64)
			if err != nil {
				return summary{}, fmt.Errorf("summary line %q: %w", lines[i+1], err)
			}
			n[j] = v
		}
		return summary{orders: n[0], fulfillments: n[1], transactions: n[2], subscriptions: n[3], invoices: n[4], calls: n[5],
			result: strings.Join(f[8:], " ")}, nil
	}
	return summary{}, fmt.Errorf("no summary table in the output of rankr sync")
}

// fulfillableOrders counts the stored orders whose fulfillment status is
// not "unfulfilled": by design, the only ones whose fulfillments are
// listed.
func fulfillableOrders(b *testing.B, e syncEnv) int64 {
	b.Helper()
	driver, dsn := "pgx", e.db
	if e.kind == "sqlite" {
		driver, dsn = "sqlite", strings.TrimPrefix(e.db, "sqlite:")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatalf("opening the database after the sync: %v", err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM orders WHERE fulfillment_status <> 'unfulfilled'").Scan(&n); err != nil {
		b.Fatalf("counting orders with fulfillments: %v", err)
	}
	return n
}

// pages is how many list pages of 100 hold n records.
func pages(n int64) int64 { return (n + 99) / 100 }

// report writes a figure to the benchmark's log and, when
// RANKR_BENCH_REPORT names a file, appends it there for ./scripts/bench to
// print at the end.
func report(b *testing.B, format string, args ...any) {
	b.Helper()
	line := fmt.Sprintf(format, args...)
	b.Log(line)
	path := os.Getenv("RANKR_BENCH_REPORT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		b.Errorf("writing the report: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

// commas formats n with thousands separators.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }
