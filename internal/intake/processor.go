package intake

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// ApplyFunc does what a batch of webhooks asks, in order, and says what it
// did with each. Per webhook, an error matching rankr.ErrInvalid means it can
// never be applied (it is recorded as rejected). An error returned for the
// whole batch leaves every webhook of it to be retried.
type ApplyFunc func(context.Context, []rankr.InboxEvent) ([]Result, error)

// Result is what applying one webhook did.
type Result struct {
	Outcome string
	Err     error // a permanent refusal (rankr.ErrInvalid)
}

// Processor applies stored webhooks, each once, oldest first. Several
// processors (in several processes) can share one inbox: each claims its
// own webhooks for a lease.
//
// The webhooks its own process's intake stored come to it from memory,
// already leased to it (see Intake.Feed): reading them back from the
// database would cost about as much as storing them did. When it falls
// behind (more than MaxHanded waiting), the intake stores the next ones
// unleased; the processor applies what it holds, then claims those from the
// inbox in order, and only once it has caught up is it handed webhooks
// again. While busy with handed webhooks it still looks, every Idle, for
// older ones nobody holds (a dead process's, once their lease ran out).
type Processor struct {
	store store.Store
	apply ApplyFunc
	log   *slog.Logger
	wake  chan struct{}

	mu        sync.Mutex
	handed    []handed  // stored by this process and leased to it, by seq
	spilled   bool      // webhooks were stored unleased: claim them first
	lastClaim time.Time // when a claimed batch was last done

	// Batch is how many webhooks are applied at a time (default 500);
	// Lease how long a claim holds (default 15 s: a batch takes well
	// under a second, and the webhooks of a processor that died wait this
	// long before another takes them); Idle how often an empty inbox is
	// looked at again (default 250 ms).
	Batch int
	Lease time.Duration
	Idle  time.Duration
	// Linger is how long the processor lets webhooks gather after a batch
	// smaller than Batch (default 20 ms). A processor chasing every webhook
	// as it lands commits a transaction per handful of them, each holding
	// the inbox's one SQLite connection that the intake needs to
	// acknowledge the next ones; lingering trades a few milliseconds of
	// freshness for batches big enough to keep up with a storm.
	Linger time.Duration
	// MaxHanded bounds the webhooks handed to the processor and waiting
	// (default 4,096, well under a lease's worth of work).
	MaxHanded int
	// OnApplied, when set, hears of every batch once it is recorded as
	// processed, with the time it was (for the apply latency histogram:
	// from each webhook's ReceivedAt).
	OnApplied func(events []rankr.InboxEvent, at time.Time)
	// Applied, when set, is given the webhooks of a batch that were
	// applied (not rejected) before they are recorded as processed; when
	// it fails, the batch is left to be processed again. The automations'
	// runs for webhook triggers are created here.
	Applied func(ctx context.Context, events []rankr.InboxEvent) error
}

// handed is a webhook in memory and the end of its lease, on this
// process's monotonic clock (see Intake.storeBatch), only ever compared with
// time.Now() here.
type handed struct {
	ev    rankr.InboxEvent
	until time.Time
}

// NewProcessor returns a processor applying webhooks with apply.
func NewProcessor(st store.Store, apply ApplyFunc, log *slog.Logger) *Processor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Processor{store: st, apply: apply, log: log, wake: make(chan struct{}, 1)}
}

func (p *Processor) lease() time.Duration { return cmp.Or(p.Lease, 15*time.Second) }
func (p *Processor) batch() int           { return cmp.Or(p.Batch, 500) }
func (p *Processor) idle() time.Duration  { return cmp.Or(p.Idle, 250*time.Millisecond) }

// leaseFor returns the lease under which the intake stores a batch of n
// webhooks to hand over, or 0 when they are to be stored unleased: the
// processor holds too many already, or has not caught up since it did.
func (p *Processor) leaseFor(n int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.spilled || len(p.handed)+n > cmp.Or(p.MaxHanded, 4096) {
		p.spilled = true
		return 0
	}
	return p.lease()
}

// hand gives the processor stored webhooks leased to it until until.
func (p *Processor) hand(evs []rankr.InboxEvent, until time.Time) {
	p.mu.Lock()
	for _, ev := range evs {
		p.handed = append(p.handed, handed{ev, until})
	}
	p.mu.Unlock()
	p.Wake()
}

// take removes up to n handed webhooks, oldest first. Those with less than a
// third of their lease left are dropped instead: another processor may claim
// them before this one is done, so they are left to be claimed when their
// lease ends, by this processor or another, and applied once.
func (p *Processor) take(n int) []rankr.InboxEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	margin := time.Now().Add(p.lease() / 3)
	var out []rankr.InboxEvent
	i := 0
	for ; i < len(p.handed) && len(out) < n; i++ {
		if h := p.handed[i]; h.until.After(margin) {
			out = append(out, h.ev)
		}
	}
	if dropped := i - len(out); dropped > 0 {
		p.log.Warn("webhooks held past most of their lease are left to be claimed when it ends", "count", dropped)
	}
	p.handed = append(p.handed[:0], p.handed[i:]...)
	return out
}

// Wake tells the processor that webhooks arrived.
func (p *Processor) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run processes until ctx ends, then applies what it was handed already
// (for up to 5 s), so that a graceful stop leaves no webhook waiting for
// its lease to end.
func (p *Processor) Run(ctx context.Context) error {
	linger := cmp.Or(p.Linger, 20*time.Millisecond)
	t := time.NewTicker(p.idle())
	defer t.Stop()
	for {
		n, err := p.Drain(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Error("webhook processing", "error", err)
		}
		if n >= p.batch() && ctx.Err() == nil {
			continue
		}
		if n > 0 {
			select {
			case <-ctx.Done():
				return p.finish(ctx)
			case <-time.After(linger):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return p.finish(ctx)
		case <-p.wake:
		case <-t.C:
		}
	}
}

// finish applies the handed webhooks left when ctx ended.
func (p *Processor) finish(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for fctx.Err() == nil {
		evs := p.take(p.batch())
		if len(evs) == 0 {
			break
		}
		if _, err := p.process(fctx, evs); err != nil {
			p.log.Warn("webhooks left to their lease at shutdown", "error", err)
			break
		}
	}
	return ctx.Err()
}

// Drain processes one batch and returns how many webhooks it processed. It
// must not be called concurrently.
//
// The batch is, by priority: webhooks older than those handed over that
// nobody holds (looked for at most every Idle while webhooks are handed);
// the handed ones; then those the intake stored unleased, in order.
func (p *Processor) Drain(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p.mu.Lock()
	var before int64 // 0: no bound
	if len(p.handed) > 0 {
		before = p.handed[0].ev.Seq
	}
	claim := before == 0 || time.Since(p.lastClaim) >= p.idle()
	p.mu.Unlock()
	if claim {
		events, err := p.store.InboxClaim(ctx, store.InboxClaimParams{Limit: p.batch(), Lease: p.lease(), BeforeSeq: before})
		if err != nil {
			return 0, err
		}
		p.mu.Lock()
		if before == 0 && len(events) < p.batch() {
			p.spilled = false // caught up: the intake may hand webhooks over again
		}
		p.mu.Unlock()
		if len(events) > 0 {
			n, err := p.process(ctx, events)
			p.mu.Lock()
			p.lastClaim = time.Now()
			p.mu.Unlock()
			return n, err
		}
		p.mu.Lock()
		p.lastClaim = time.Now()
		p.mu.Unlock()
	}
	events := p.take(p.batch())
	if len(events) == 0 {
		return 0, nil
	}
	return p.process(ctx, events)
}

// process applies leased webhooks and records their outcomes. A batch once
// begun is finished even when ctx ends (within 30 s): stopping halfway would
// leave its webhooks to wait out their lease.
func (p *Processor) process(ctx context.Context, events []rankr.InboxEvent) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	results, err := p.apply(ctx, events)
	if err != nil {
		// Left leased: the lease ends and the batch is claimed again.
		p.log.Warn("webhooks will be retried", "count", len(events), "from", events[0].Seq, "error", err)
		return 0, nil
	}
	done := make([]store.InboxOutcome, len(events))
	accepted := make([]rankr.InboxEvent, 0, len(events))
	for i, ev := range events {
		r := results[i]
		if r.Err != nil {
			r.Outcome = "rejected: " + r.Err.Error()
			p.log.Error("webhook rejected", "seq", ev.Seq, "type", ev.Type, "webhookId", ev.WebhookID, "error", r.Err)
		} else {
			accepted = append(accepted, ev)
		}
		done[i] = store.InboxOutcome{Seq: ev.Seq, Outcome: r.Outcome}
	}
	if p.Applied != nil && len(accepted) > 0 {
		// Before the webhooks are marked done: a crash between the two
		// hands them over again, and Applied must be idempotent (the
		// automations' runs are keyed by webhook id).
		if err := p.Applied(ctx, accepted); err != nil {
			p.log.Warn("webhooks will be retried: what they start could not be recorded", "count", len(events), "error", err)
			return 0, nil
		}
	}
	at := time.Now()
	if err := p.store.InboxDone(ctx, done, at); err != nil {
		return 0, err
	}
	if p.OnApplied != nil {
		p.OnApplied(events, at)
	}
	return len(events), nil
}
