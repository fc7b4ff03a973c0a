package webhook

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

// Processor applies stored webhooks, each once. Several processors (in
// several processes) can share one inbox: each claims its own webhooks for
// a lease.
//
// The webhooks its own process's intake stored come to it from memory,
// already leased to it (see Intake.Feed): reading them back from the
// database would cost about as much as storing them did. Those it is not
// handed (another process's, or ones whose lease ran
// out) it claims from the inbox, at least every Idle while it is busy with
// handed ones, so that none waits for a quiet moment.
type Processor struct {
	store store.Store
	apply ApplyFunc
	log   *slog.Logger
	wake  chan struct{}

	mu        sync.Mutex
	handed    []rankr.InboxEvent // stored by this process and leased to it
	lastClaim time.Time          // used by Drain's one caller only
	// Batch is how many webhooks are claimed at a time (default 500); Lease
	// how long a claim holds (default 15 s: a batch takes well under a
	// second, and the webhooks of a processor that died wait this long
	// before another takes them; one that outlives its lease only costs
	// work done twice, since applying is idempotent); Idle how often an
	// empty inbox is looked at again (default 250 ms).
	Batch int
	Lease time.Duration
	Idle  time.Duration
	// Linger is how long the processor lets webhooks gather after a batch
	// smaller than Batch (default 20 ms). A processor chasing every webhook
	// as it lands commits several transactions per handful of them, and on
	// SQLite each commit holds the one connection the intake needs to
	// acknowledge the next ones; lingering trades a few milliseconds of
	// freshness for batches big enough to keep up with a storm.
	Linger time.Duration
	// MaxHanded bounds the webhooks handed to the processor and waiting
	// (default 4,096, well under a lease's worth of work); beyond it the
	// intake stores webhooks unleased and the processor claims them.
	MaxHanded int
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

// room is how many more webhooks can be handed over.
func (p *Processor) room() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cmp.Or(p.MaxHanded, 4096) - len(p.handed)
}

// hand gives the processor stored webhooks leased to it.
func (p *Processor) hand(evs []rankr.InboxEvent) {
	p.mu.Lock()
	p.handed = append(p.handed, evs...)
	p.mu.Unlock()
	p.Wake()
}

// take removes up to n handed webhooks, oldest first.
func (p *Processor) take(n int) []rankr.InboxEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	n = min(n, len(p.handed))
	out := make([]rankr.InboxEvent, n)
	copy(out, p.handed)
	p.handed = append(p.handed[:0], p.handed[n:]...)
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
	for {
		evs := p.take(p.batch())
		if len(evs) == 0 {
			return ctx.Err()
		}
		if _, err := p.process(fctx, evs); err != nil {
			p.log.Warn("webhooks left to their lease at shutdown", "error", err)
			return ctx.Err()
		}
	}
}

// Drain processes one batch, handed or claimed, and returns how many it
// processed.
func (p *Processor) Drain(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var events []rankr.InboxEvent
	if time.Since(p.lastClaim) < p.idle() {
		events = p.take(p.batch())
	}
	if len(events) == 0 {
		p.lastClaim = time.Now()
		var err error
		if events, err = p.store.InboxClaim(ctx, store.InboxClaimParams{Limit: p.batch(), Lease: p.lease()}); err != nil {
			return 0, err
		}
		if len(events) == 0 {
			events = p.take(p.batch())
		}
		if len(events) == 0 {
			return 0, nil
		}
	}
	return p.process(ctx, events)
}

// process applies leased webhooks and records their outcomes.
func (p *Processor) process(ctx context.Context, events []rankr.InboxEvent) (int, error) {
	results, err := p.apply(ctx, events)
	if err != nil {
		// Left leased: the lease ends and the batch is claimed again.
		p.log.Warn("webhooks will be retried", "count", len(events), "from", events[0].Seq, "error", err)
		return 0, nil
	}
	done := make([]store.InboxOutcome, len(events))
	for i, ev := range events {
		r := results[i]
		if r.Err != nil {
			r.Outcome = "rejected: " + r.Err.Error()
			p.log.Error("webhook rejected", "seq", ev.Seq, "type", ev.Type, "webhookId", ev.WebhookID, "error", r.Err)
		}
		done[i] = store.InboxOutcome{Seq: ev.Seq, Outcome: r.Outcome}
	}
	// Applied is applied: a stop arriving now must not cost the record of
	// it (the batch would be applied again when its lease ends).
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.store.InboxDone(dctx, done, time.Now()); err != nil {
		return 0, err
	}
	return len(events), nil
}
