package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/testwait"
	"github.com/rankr/rankr/internal/vault"
)

// openDaemon opens a daemon on db with cfg (its database and key filled
// in), closed when the test ends.
func openDaemon(t *testing.T, db string, cfg daemon.Config) *daemon.Daemon {
	t.Helper()
	cfg.DB = db
	cfg.MasterKey, _ = vault.ParseKey(vault.NewKey())
	d, err := daemon.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// ownerKey makes an owner key on d, as `rankr keys create` does.
func ownerKey(t *testing.T, d *daemon.Daemon) string {
	t.Helper()
	acc, err := d.OpenAccess(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	k, err := acc.Keys.Create(context.Background(), access.Host("test"), access.KeyRequest{Role: "owner", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return k.Token
}

// authed is a request signed with key.
func authed(method, path, key string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("Authorization", "Bearer "+key)
	return r
}

// A taken port stops serve before anything starts: no job queue, no
// webhook processor, no outbound sender left running on a store that the
// caller is about to close.
func TestRunWithATakenPortStartsNothing(t *testing.T) {
	// Not parallel: it looks at every goroutine of the process.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	d := openDaemon(t, "sqlite:"+filepath.Join(t.TempDir(), "rankr.db"), daemon.Config{Addr: taken.Addr().String()})
	before := ourGoroutines()
	err = d.Run(context.Background())
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !strings.Contains(err.Error(), "listening on "+taken.Addr().String()) {
		t.Fatalf("Run on a taken port: %v", err)
	}
	// Right away: Run must not leave anything to finish after it returns.
	for id, stack := range ourGoroutines() {
		if _, ok := before[id]; !ok {
			t.Errorf("Run returned with a goroutine of its own still running:\n%s", stack)
		}
	}
	// The job queue never started: a started River has registered its
	// queues.
	var queues int
	if err := d.Store.(*sqlstore.Store).DB().QueryRow(`SELECT COUNT(*) FROM river_queue`).Scan(&queues); err != nil {
		t.Fatal(err)
	}
	if queues != 0 {
		t.Errorf("the job queue started (%d queues registered) though serve could not listen", queues)
	}
}

// ourGoroutines returns the goroutines running rankr's code (other than
// the tests') or River's, by id.
func ourGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		ours := false
		for _, line := range strings.Split(g, "\n") {
			if (strings.Contains(line, "github.com/rankr/rankr/") && !strings.Contains(line, "daemon_test.")) ||
				strings.Contains(line, "github.com/riverqueue/river") {
				ours = true
			}
		}
		if id, _, ok := strings.Cut(strings.TrimPrefix(g, "goroutine "), " "); ok && ours {
			out[id] = g
		}
	}
	return out
}

// The HTTP server bounds its connections: a client trickling a body is cut
// off by the read timeout, and a kept-alive connection left idle is closed.
func TestHTTPTimeouts(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := openDaemon(t, "sqlite:"+filepath.Join(t.TempDir(), "rankr.db"), daemon.Config{Listener: ln,
		HTTP: daemon.HTTPTimeouts{Read: 300 * time.Millisecond, Idle: 300 * time.Millisecond},
		Jobs: jobs.Config{PollInterval: time.Hour, WalkInterval: time.Hour}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("trickled body", func(t *testing.T) {
		c := dial()
		if _, err := io.WriteString(c, "POST "+daemon.WebhookPath+" HTTP/1.1\r\nHost: rankr\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() { defer close(closed); _, _ = io.Copy(io.Discard, c) }()
		// A byte every 20 ms would take half an hour to send the body.
		deadline := time.Now().Add(20 * time.Second)
		for {
			select {
			case <-closed:
				return
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("a client trickling its body still holds its connection after 20 s")
			}
			_, _ = c.Write([]byte(" ")) // fails once the server has hung up
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: rankr\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("healthz: %d, close %v", resp.StatusCode, resp.Close)
		}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("an idle kept-alive connection is still open after 20 s (%v)", err)
		}
	})
}

// gate stands in front of the sandbox; armed, it holds the next request
// until released, as a slow GHL would, so that a job is running when serve
// is told to stop.
type gate struct {
	next    http.Handler
	mu      sync.Mutex
	armed   bool
	held    chan context.Context // the held request's context
	release chan struct{}
	served  chan error // the held request's context's error once answered
}

func newGate(next http.Handler) *gate {
	return &gate{next: next, held: make(chan context.Context, 1), release: make(chan struct{}), served: make(chan error, 1)}
}

func (g *gate) arm() {
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	hold := g.armed
	g.armed = false
	g.mu.Unlock()
	if !hold {
		g.next.ServeHTTP(w, r)
		return
	}
	g.held <- r.Context()
	select {
	case <-g.release:
	case <-r.Context().Done():
	}
	g.next.ServeHTTP(w, r)
	g.served <- r.Context().Err()
}

// gated is a daemon running with GHL behind a gate that holds a running
// job's request.
type gated struct {
	d      *daemon.Daemon
	addr   string // where it serves HTTP
	g      *gate
	held   context.Context // the held request's
	cancel func()          // the signal
	done   chan error      // Run's error
}

// gatedServe runs a backfilled daemon whose GHL is behind a gate, and holds
// the next job's request.
func gatedServe(t *testing.T, db string, cfg daemon.Config) gated {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{Seed: 71, Locations: 1, Orders: 5,
		RateLimit: sandbox.RateLimit{Burst: 1_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	g := newGate(sb.Handler())
	ts := httptest.NewServer(g)
	t.Cleanup(func() { ts.Close(); sb.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	cfg.Sync = syncer.Options{PollWindow: 400 * 24 * time.Hour}
	cfg.Jobs = jobs.Config{PollInterval: 100 * time.Millisecond, WalkInterval: time.Hour}
	d := openDaemon(t, db, cfg)
	connectAll(t, d, sb, ts.URL)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitBackfilled(t, d, sb)
	g.arm() // the next poll's request
	out := gated{d: d, addr: ln.Addr().String(), g: g, cancel: cancel, done: done}
	select {
	case out.held = <-g.held:
	case <-time.After(time.Minute):
		t.Fatal("no job called GHL within a minute")
	}
	return out
}

// On a signal, serve stops in order: the webhook intake and the HTTP server
// first, then the processor and the outbound sender, and the job queue
// last. A job running meanwhile goes on (it is not cancelled with the
// signal) and ends normally, recorded as done.
func TestShutdownLetsRunningJobsFinish(t *testing.T) {
	t.Parallel()
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := gatedServe(t, db(t), daemon.Config{})
			d, g, held, done, addr := r.d, r.g, r.held, r.done, r.addr
			r.cancel()
			// The HTTP server stops (the intake before it)...
			testwait.Until(t, time.Minute, "the HTTP server closed its port", func() bool {
				c, err := net.Dial("tcp", addr)
				if err == nil {
					c.Close()
				}
				return err != nil
			})
			// ...while the job that was running still runs.
			select {
			case err := <-done:
				t.Fatalf("Run returned (%v) while a job was running", err)
			default:
			}
			if held.Err() != nil {
				t.Fatal("the running job was cancelled as soon as the signal came")
			}
			close(g.release)
			if err := <-g.served; err != nil {
				t.Fatalf("the running job gave up its request: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			// Every job that ran is recorded as done: none was cut off.
			var cut int
			if err := d.Store.(*sqlstore.Store).DB().QueryRow(`SELECT COUNT(*) FROM river_job WHERE state IN ('running', 'retryable')`).Scan(&cut); err != nil {
				t.Fatal(err)
			}
			if cut != 0 {
				t.Fatalf("%d jobs were cut off by the stop", cut)
			}
		})
	}
}

// A job still running when the grace period is over is cancelled, and
// serve says so in its log.
func TestShutdownCancelsJobsAfterTheGrace(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	r := gatedServe(t, "sqlite:"+filepath.Join(t.TempDir(), "rankr.db"),
		daemon.Config{ShutdownGrace: 300 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	if r.held.Err() == nil {
		t.Fatal("the job still runs after serve stopped")
	}
	if !strings.Contains(logs.String(), "stopping the job queue: jobs still running after the grace period are cancelled") {
		t.Fatalf("the stop's log does not tell of the cancelled jobs:\n%s", logs)
	}
}

// The daemon's status page logs through the daemon's logger.
func TestStatusPageLogsThroughTheDaemonsLogger(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	d := openDaemon(t, "sqlite:"+filepath.Join(t.TempDir(), "rankr.db"), daemon.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	key := ownerKey(t, d)
	h := d.Handler()
	d.Close() // neither the key nor the status can be read now
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, authed("GET", "/api/status", key))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(logs.String(), `"msg":"checking a request's key"`) ||
		!strings.Contains(logs.String(), "database is closed") {
		t.Fatalf("status %d; the daemon's log got:\n%s", rec.Code, logs)
	}
}

// syncBuffer is a bytes.Buffer that goroutines may write at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
