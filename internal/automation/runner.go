package automation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// RunnerDeps are what the runner runs on.
type RunnerDeps struct {
	Store   store.Store
	Catalog *catalog.Registry
	// GHL is the GHL client of a location (nil when this process holds
	// no tokens: GHL steps then fail as unavailable, and are retried).
	GHL func(ctx context.Context, loc string) (catalog.Invoker, error)
	// Payload builds the payload of a change-feed event's trigger (the
	// record as it is now, with the event).
	Payload func(ctx context.Context, ev rankr.Event, triggerKey string) (json.RawMessage, error)
	// Paused is told when a location's automations are paused (to alert).
	Paused func(ctx context.Context, loc, reason string)
	Logger *slog.Logger
	// Workers run that many runs at once (default 32: a run mostly waits,
	// on GHL or the database, and 8 kept SQLite's one connection idle
	// between them, at a third of the throughput).
	Workers int
	// Lease is how long a claim holds a run (default 2 min); a runner that
	// dies leaves its runs to be claimed again when it ends.
	Lease time.Duration
	// Poll is how often an idle runner looks for queued runs (default
	// 20 ms: a run starts within that of its event's commit).
	Poll time.Duration
	// Observe, when set, hears of each run started: how long after its
	// creation (the benchmark's figure).
	Observe func(run rankr.AutomationRun, startedAfter time.Duration)
	// Ended, when set, hears of each go at a run that this process
	// recorded: how it ended (or queued again, or paused).
	Ended func(run rankr.AutomationRun, status rankr.RunStatus)
}

// Runner runs the queued runs of the automations, in every process that
// serves: they share the queue through the store's leases.
type Runner struct {
	d   RunnerDeps
	log *slog.Logger

	mu       sync.Mutex
	programs map[programKey]*Program
}

type programKey struct {
	id      string
	version int
}

// NewRunner returns a runner.
func NewRunner(d RunnerDeps) *Runner {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Workers <= 0 {
		d.Workers = 32
	}
	if d.Lease <= 0 {
		d.Lease = 2 * time.Minute
	}
	if d.Poll <= 0 {
		d.Poll = 20 * time.Millisecond
	}
	return &Runner{d: d, log: d.Logger, programs: map[programKey]*Program{}}
}

// Program returns the compiled program of an automation's version.
// Versions are immutable, so each is compiled once.
func (r *Runner) Program(ctx context.Context, id string, version int) (*Program, error) {
	k := programKey{id, version}
	r.mu.Lock()
	p := r.programs[k]
	r.mu.Unlock()
	if p != nil {
		return p, nil
	}
	v, err := r.d.Store.AutomationVersionGet(ctx, id, version)
	if err != nil {
		return nil, err
	}
	def, err := FromJSON(v.Definition)
	if err != nil {
		return nil, fmt.Errorf("automation %s version %d: %w", id, version, err)
	}
	if p, err = Compile(def, r.d.Catalog); err != nil {
		return nil, fmt.Errorf("automation %s version %d no longer compiles: %w", id, version, err)
	}
	r.mu.Lock()
	r.programs[k] = p
	r.mu.Unlock()
	return p, nil
}

// Run claims and runs queued runs until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	sem := make(chan struct{}, r.d.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	lastExpiry := time.Time{}
	for {
		if time.Since(lastExpiry) > r.d.Lease/4 {
			if n, err := r.d.Store.AutomationRunsExpired(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("automations: requeueing runs whose runner died", "error", err)
			} else if n > 0 {
				r.log.Info("automations: runs whose runner died are queued again", "runs", n)
			}
			lastExpiry = time.Now()
		}
		free := cap(sem) - len(sem)
		var runs []rankr.AutomationRun
		if free > 0 {
			var err error
			runs, err = r.d.Store.AutomationRunClaim(ctx, store.RunClaimParams{Limit: free, Lease: r.d.Lease})
			if err != nil && ctx.Err() == nil {
				r.log.Warn("automations: claiming runs", "error", err)
			}
		}
		for _, run := range runs {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				// A run once begun is carried to its next record even if
				// the process is stopping; its lease covers the rest.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.d.Lease*3/4)
				defer cancel()
				r.execute(rctx, run)
			}()
		}
		if len(runs) < free || free == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(r.d.Poll):
			}
		} else if ctx.Err() != nil {
			return nil
		}
	}
}

// execute carries one claimed run as far as it goes now: to its end, a
// pause, or a retry later.
func (r *Runner) execute(ctx context.Context, run rankr.AutomationRun) {
	log := r.log.With("automation", run.AutomationID, "version", run.Version, "run", run.ID, "location", run.LocationID)
	if r.d.Observe != nil && run.Attempts == 1 {
		r.d.Observe(run, time.Since(run.CreatedAt))
	}
	var rec *storeRecorder
	finish := func(status rankr.RunStatus, reason string, retryAt time.Time, payload json.RawMessage) {
		p := store.RunFinishParams{ID: run.ID, Lease: run.Lease, Status: status, Reason: truncate(reason, 2000), RetryAt: retryAt, Payload: payload}
		if rec != nil {
			p.Steps = rec.pending
		}
		if err := r.d.Store.AutomationRunFinish(ctx, p); err != nil {
			log.Warn("automations: recording how a run ended", "status", status, "error", err)
			return
		}
		if r.d.Ended != nil {
			r.d.Ended(run, status)
		}
	}
	p, err := r.Program(ctx, run.AutomationID, run.Version)
	if err != nil {
		finish(rankr.RunFailed, err.Error(), time.Time{}, nil)
		return
	}
	payload, fresh := run.Payload, false
	if payload == nil {
		if payload, err = r.payload(ctx, run); err != nil {
			if errors.Is(err, rankr.ErrNotFound) {
				finish(rankr.RunFailed, "its event is gone: "+err.Error(), time.Time{}, nil)
				return
			}
			finish(rankr.RunQueued, "building the trigger's payload: "+err.Error(), time.Now().Add(time.Second), nil)
			return
		}
		fresh = true
	}
	keep := func() json.RawMessage { // the payload, for the record, when the run did not have it
		if fresh {
			return capped(payload)
		}
		return nil
	}
	env, err := newEnv(p, run, payload)
	if err != nil {
		finish(rankr.RunFailed, err.Error(), time.Time{}, keep())
		return
	}
	// The filter first: most events of a busy trigger are filtered out,
	// and a skipped run costs one write, its end.
	ok, verdict, err := p.Filter(env)
	switch {
	case err != nil:
		finish(rankr.RunFailed, "filter: "+err.Error(), time.Time{}, keep())
		return
	case !ok:
		finish(rankr.RunSkipped, "filter: "+verdict, time.Time{}, keep())
		return
	}
	if p.Def.Concurrency != nil {
		key, err := p.ConcurrencyKey(env)
		if err != nil {
			finish(rankr.RunFailed, "concurrency key: "+err.Error(), time.Time{}, keep())
			return
		}
		err = r.d.Store.AutomationRunStart(ctx, store.RunStartParams{ID: run.ID, Lease: run.Lease, Payload: keep(),
			ConcurrencyKey: key, Retry: 250 * time.Millisecond})
		if errors.Is(err, rankr.ErrConflict) {
			return // the key is held (the run is queued again) or the lease is gone
		}
		if err != nil {
			log.Warn("automations: starting a run", "error", err)
			return
		}
		fresh = false // recorded
	}
	rec = &storeRecorder{st: r.d.Store, lease: run.Lease, runID: run.ID, payload: keep()}
	if run.Attempts > 1 {
		// A run met before goes on from the step that did not succeed.
		_, rec.previous, err = r.d.Store.AutomationRunGet(ctx, run.ID)
		if err != nil {
			rec = nil
			finish(rankr.RunQueued, "reading its steps: "+err.Error(), time.Now().Add(time.Second), nil)
			return
		}
	}
	out := r.steps(ctx, p, run.LocationID, env, rec, false, run.ID)
	finish(out.status, out.reason, out.retryAt, rec.unrecordedPayload())
	if out.status == rankr.RunPaused && r.d.Paused != nil {
		r.d.Paused(ctx, run.LocationID, out.reason)
	}
}

// payload builds a change-feed run's trigger payload.
func (r *Runner) payload(ctx context.Context, run rankr.AutomationRun) (json.RawMessage, error) {
	if run.EventSeq == 0 || r.d.Payload == nil {
		return nil, fmt.Errorf("run %d has no payload and no event to build one from: %w", run.ID, rankr.ErrNotFound)
	}
	if run.Event != nil && run.Event.Seq == run.EventSeq {
		return r.d.Payload(ctx, *run.Event, run.TriggerKey) // the claim read it
	}
	evs, err := r.d.Store.EventList(ctx, store.EventListParams{AfterSeq: run.EventSeq - 1, LocationID: run.LocationID, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 || evs[0].Seq != run.EventSeq {
		return nil, fmt.Errorf("event %d of run %d: %w", run.EventSeq, run.ID, rankr.ErrNotFound)
	}
	return r.d.Payload(ctx, evs[0], run.TriggerKey)
}

func newEnv(p *Program, run rankr.AutomationRun, payload json.RawMessage) (Env, error) {
	env := Env{Steps: map[string]StepState{}, Location: run.LocationID}
	env.Automation.ID, env.Automation.Version = run.AutomationID, run.Version
	if err := json.Unmarshal(payload, &env.Trigger); err != nil {
		return env, fmt.Errorf("the trigger's payload is not JSON: %w", err)
	}
	return env, nil
}

// outcome is how far the steps went.
type outcome struct {
	status  rankr.RunStatus
	reason  string
	retryAt time.Time
}

// recorder keeps each step's attempt: in the store for a run, in memory
// for a test.
type recorder interface {
	// done returns the step's succeeded (or skipped) attempt from an
	// earlier go at the run, if any, and how many attempts it had.
	done(stepID string) (prior *rankr.AutomationStep, attempts int)
	// record keeps an attempt; it may hold it until flush or the run's end.
	record(ctx context.Context, s rankr.AutomationStep) error
	// flush records what record held: before a step that changes
	// something runs, so that a crash never repeats a step recorded as
	// done, nor forgets one that was.
	flush(ctx context.Context) error
}

// steps runs the program's steps from the first that has not succeeded.
// The filter has passed.
func (r *Runner) steps(ctx context.Context, p *Program, loc string, env Env, rec recorder, dry bool, runID int64) outcome {
	var ghlClient catalog.Invoker
	for i, step := range p.Def.Steps {
		prior, attempts := rec.done(step.ID)
		if prior != nil {
			env.Steps[step.ID] = stateOf(*prior)
			continue
		}
		started := time.Now()
		s := rankr.AutomationStep{RunID: runID, StepID: step.ID, Attempt: attempts + 1, StartedAt: started.UTC()}
		run, err := p.StepIf(i, env)
		if err != nil {
			s.Status, s.ErrorClass, s.Error = rankr.StepFailed, rankr.ErrorPermanent, "if: "+err.Error()
			if o, stop := r.failed(ctx, rec, s, step, env, "step "+step.ID+": "+s.Error); stop {
				return o
			}
			continue
		}
		if !run {
			s.Status = rankr.StepSkipped
			if err := rec.record(ctx, s); err != nil {
				return outcome{status: rankr.RunQueued, reason: err.Error(), retryAt: time.Now().Add(time.Second)}
			}
			env.Steps[step.ID] = StepState{Status: string(rankr.StepSkipped)}
			continue
		}
		input, err := p.StepInput(i, env)
		if err != nil {
			s.Status, s.ErrorClass, s.Error = rankr.StepFailed, rankr.ErrorPermanent, "with: "+err.Error()
			if o, stop := r.failed(ctx, rec, s, step, env, "step "+step.ID+": "+s.Error); stop {
				return o
			}
			continue
		}
		s.Input = capped(catalog.Redact(input))
		spec := p.Actions[i]
		if spec.Effect != catalog.EffectRead {
			if err := rec.flush(ctx); err != nil {
				return outcome{status: rankr.RunQueued, reason: "recording the steps before " + step.ID + ": " + err.Error(), retryAt: time.Now().Add(time.Second)}
			}
		}
		rc := &catalog.RunCtx{Location: loc, DryRun: dry, IdemKey: fmt.Sprintf("automation:%s:run:%d:%s", env.Automation.ID, runID, step.ID),
			Actor: rankr.AuditActor{Type: "automation", ID: env.Automation.ID}}
		if dry {
			rc.IdemKey = "test:" + newToken()
		}
		if spec.Source == catalog.SourceGHLAPI {
			if ghlClient == nil && r.d.GHL != nil {
				ghlClient, err = r.d.GHL(ctx, loc)
			}
			if ghlClient == nil && err == nil {
				err = fmt.Errorf("this process holds no GHL tokens: %w", rankr.ErrUnavailable)
			}
			if err != nil {
				s.Status, s.ErrorClass, s.Error = rankr.StepFailed, rankr.ErrorRetryable, err.Error()
				if o, stop := r.retry(ctx, rec, s, step, env); stop {
					return o
				}
				continue
			}
			rc.GHL = ghlClient
		}
		res, err := r.d.Catalog.Run(ctx, spec.ID(), rc, input)
		s.Millis = time.Since(started).Milliseconds()
		if res.Request != nil {
			s.Request = capped(mustJSON(res.Request))
		}
		if err == nil {
			s.Status, s.Output = rankr.StepSucceeded, capped(res.Output)
			if err := rec.record(ctx, s); err != nil {
				// The step happened; its record did not: the run is left to
				// its lease, and the action's idempotency covers the repeat.
				return outcome{status: rankr.RunQueued, reason: "recording step " + step.ID + ": " + err.Error(), retryAt: time.Now().Add(time.Second)}
			}
			var out any
			_ = json.Unmarshal(res.Output, &out)
			env.Steps[step.ID] = StepState{Status: string(rankr.StepSucceeded), Output: out}
			continue
		}
		s.Error = truncate(err.Error(), 4000)
		switch class := Classify(err, spec); class {
		case rankr.ErrorAuth:
			s.Status, s.ErrorClass = rankr.StepFailed, class
			_ = rec.record(ctx, s)
			return outcome{status: rankr.RunPaused, reason: "GHL refused the location's credential at step " + step.ID + ": " + s.Error +
				"; reconnect the location (rankr connect, or reinstall the app), and its automations go on"}
		case rankr.ErrorRetryable:
			s.Status, s.ErrorClass = rankr.StepFailed, class
			if o, stop := r.retry(ctx, rec, s, step, env); stop {
				return o
			}
		case rankr.ErrorOutcomeUnknown:
			s.Status, s.ErrorClass = rankr.StepUnknown, class
			_ = rec.record(ctx, s)
			return outcome{status: rankr.RunFailed, reason: "step " + step.ID + ": GHL may have applied " + spec.ID() +
				" (its answer was lost, and the action cannot check by itself): check GHL, then retry the run, which sends it again"}
		default:
			s.Status, s.ErrorClass = rankr.StepFailed, rankr.ErrorPermanent
			if o, stop := r.failed(ctx, rec, s, step, env, "step "+step.ID+": "+s.Error); stop {
				return o
			}
			continue
		}
	}
	return outcome{status: rankr.RunSucceeded}
}

// failed records a step that failed for good: the run fails, unless the
// step may fail (continueOnError) and the run goes on.
// It reports whether the run stops.
func (r *Runner) failed(ctx context.Context, rec recorder, s rankr.AutomationStep, step StepDef, env Env, reason string) (outcome, bool) {
	if err := rec.record(ctx, s); err != nil {
		return outcome{status: rankr.RunQueued, reason: err.Error(), retryAt: time.Now().Add(time.Second)}, true
	}
	if step.ContinueOnError {
		env.Steps[step.ID] = StepState{Status: string(rankr.StepFailed), Error: s.Error}
		return outcome{}, false
	}
	return outcome{status: rankr.RunFailed, reason: reason}, true
}

// retry records a step that failed in a way worth trying again, and
// queues the run for its next attempt, or fails it when its retries are
// spent. It reports whether the run stops here (for now).
func (r *Runner) retry(ctx context.Context, rec recorder, s rankr.AutomationStep, step StepDef, env Env) (outcome, bool) {
	if err := rec.record(ctx, s); err != nil {
		return outcome{status: rankr.RunQueued, reason: err.Error(), retryAt: time.Now().Add(time.Second)}, true
	}
	// Each go at the run (the first, and each retry an operator asks for)
	// has Max+1 attempts at the step: attempts are numbered across them.
	if used := (s.Attempt-1)%(step.Retry.Max+1) + 1; used > step.Retry.Max {
		if step.ContinueOnError {
			env.Steps[step.ID] = StepState{Status: string(rankr.StepFailed), Error: s.Error}
			return outcome{}, false
		}
		return outcome{status: rankr.RunFailed, reason: fmt.Sprintf("step %s failed %d time(s), the last: %s", step.ID, s.Attempt, s.Error)}, true
	}
	wait := backoff(step.Retry, s.Attempt)
	return outcome{status: rankr.RunQueued, retryAt: time.Now().Add(wait),
		reason: fmt.Sprintf("step %s: attempt %d failed (%s); trying again in %s", step.ID, s.Attempt, s.Error, wait.Round(time.Millisecond))}, true
}

// Classify sorts a step's error: what GHL refused for the credential
// pauses the location; what may pass later is retried; a write whose
// answer was lost is retried only by an action that checks first; the
// rest fails the step.
func Classify(err error, spec catalog.Spec) string {
	switch {
	case errors.Is(err, ghl.ErrUnauthorized) || errors.Is(err, ghl.ErrMissingScope) || errors.Is(err, ghl.ErrForbidden) ||
		errors.Is(err, ghl.ErrTokenClass) || errors.Is(err, ghl.ErrNoToken):
		return rankr.ErrorAuth
	case errors.Is(err, ghl.ErrOutcomeUnknown):
		if spec.Idempotency == catalog.IdemNone {
			return rankr.ErrorOutcomeUnknown
		}
		return rankr.ErrorRetryable
	case errors.Is(err, ghl.ErrRateLimited) || errors.Is(err, ghl.ErrServer) || errors.Is(err, rankr.ErrUnavailable) ||
		errors.Is(err, context.DeadlineExceeded):
		return rankr.ErrorRetryable
	}
	var ge *ghl.Error
	if errors.As(err, &ge) && ge.StatusCode == 0 {
		return rankr.ErrorRetryable // no answer, and not a write that may have happened
	}
	return rankr.ErrorPermanent
}

// backoff is the wait before attempt n+1 (n ≥ 1): exponential with full
// jitter above half, or fixed, capped.
func backoff(p RetryPolicy, n int) time.Duration {
	d := p.Initial
	if p.Backoff != "fixed" {
		d = time.Duration(float64(p.Initial) * math.Pow(2, float64(min(n-1, 30))))
	}
	if p.Cap > 0 && (d > p.Cap || d <= 0) {
		d = p.Cap
	}
	if d <= 0 {
		return 0
	}
	return d/2 + mrand.N(d/2+1)
}

func stateOf(s rankr.AutomationStep) StepState {
	st := StepState{Status: string(s.Status), Error: s.Error}
	if len(s.Output) > 0 {
		_ = json.Unmarshal(s.Output, &st.Output)
	}
	return st
}

// storeRecorder records a run's steps in the store: the attempts of
// reads are held and written with the next write's record or the run's
// end, so that a run of reads costs one write.
type storeRecorder struct {
	st       store.Store
	lease    string
	runID    int64
	previous []rankr.AutomationStep
	pending  []rankr.AutomationStep
	// payload is recorded with the run's end, or its requeue.
	payload json.RawMessage
}

func (s *storeRecorder) done(stepID string) (*rankr.AutomationStep, int) {
	attempts := 0
	for i := range s.previous {
		p := &s.previous[i]
		if p.StepID != stepID {
			continue
		}
		attempts = max(attempts, p.Attempt)
		if p.Status == rankr.StepSucceeded || p.Status == rankr.StepSkipped {
			return p, attempts
		}
	}
	return nil, attempts
}

func (s *storeRecorder) record(_ context.Context, step rankr.AutomationStep) error {
	s.pending = append(s.pending, step)
	return nil
}

func (s *storeRecorder) flush(ctx context.Context) error {
	for len(s.pending) > 0 {
		if err := s.st.AutomationStepRecord(ctx, s.lease, s.pending[0]); err != nil {
			return err
		}
		s.pending = s.pending[1:]
	}
	return nil
}

// unrecordedPayload is the payload when no write recorded it yet.
func (s *storeRecorder) unrecordedPayload() json.RawMessage { return s.payload }

// maxStepBytes caps what a step keeps of its input, request and output.
const maxStepBytes = 64 << 10

// capped keeps a document whole up to 64 KB; a longer one is kept as a
// note with its size, start and hash, so that huge answers cannot fill
// the database.
func capped(doc json.RawMessage) json.RawMessage {
	if len(doc) <= maxStepBytes {
		return doc
	}
	return mustJSON(map[string]any{"truncated": true, "bytes": len(doc), "sha256": sha256Hex(doc),
		"start": string(doc[:maxStepBytes/2])})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`"[unencodable]"`)
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
