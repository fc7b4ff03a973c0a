package webhook

import (
	"cmp"
	"context"
	"log/slog"
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

// Processor applies stored webhooks, oldest first, each once. Several
// processors (in several processes) can share one inbox: each claims its
// own webhooks for a lease.
type Processor struct {
	store store.Store
	apply ApplyFunc
	log   *slog.Logger
	wake  chan struct{}
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
}

// NewProcessor returns a processor applying webhooks with apply.
func NewProcessor(st store.Store, apply ApplyFunc, log *slog.Logger) *Processor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Processor{store: st, apply: apply, log: log, wake: make(chan struct{}, 1)}
}

// Wake tells the processor that webhooks arrived.
func (p *Processor) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run processes until ctx ends.
func (p *Processor) Run(ctx context.Context) error {
	idle := cmp.Or(p.Idle, 250*time.Millisecond)
	linger := cmp.Or(p.Linger, 20*time.Millisecond)
	batch := cmp.Or(p.Batch, 500)
	t := time.NewTicker(idle)
	defer t.Stop()
	for {
		n, err := p.Drain(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Error("webhook processing", "error", err)
		}
		if n >= batch {
			continue
		}
		if n > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(linger):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.wake:
		case <-t.C:
		}
	}
}

// Drain processes one claimed batch and returns how many it processed.
func (p *Processor) Drain(ctx context.Context) (int, error) {
	events, err := p.store.InboxClaim(ctx, store.InboxClaimParams{Limit: cmp.Or(p.Batch, 500), Lease: cmp.Or(p.Lease, 15*time.Second)})
	if err != nil || len(events) == 0 {
		return 0, err
	}
	results, err := p.apply(ctx, events)
	if err != nil {
		// Left claimed: the lease ends and the batch is tried again.
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
	if err := p.store.InboxDone(ctx, done, time.Now()); err != nil {
		return 0, err
	}
	return len(events), nil
}
