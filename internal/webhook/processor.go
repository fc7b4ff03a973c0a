package webhook

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// ApplyFunc does what a webhook asks and says what it did. An error matching
// rankr.ErrInvalid means the webhook can never be applied (it is recorded as
// rejected); any other error leaves it to be retried.
type ApplyFunc func(context.Context, rankr.InboxEvent) (outcome string, err error)

// Processor applies stored webhooks, oldest first, each once. Several
// processors (in several processes) can share one inbox: each claims its
// own webhooks for a lease.
type Processor struct {
	store store.Store
	apply ApplyFunc
	log   *slog.Logger
	wake  chan struct{}
	// Batch is how many webhooks are claimed at a time (default 100); Lease
	// how long a claim holds (default 1 min); Idle how often an empty inbox
	// is looked at again (default 250 ms).
	Batch int
	Lease time.Duration
	Idle  time.Duration
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
	t := time.NewTicker(idle)
	defer t.Stop()
	for {
		n, err := p.Drain(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Error("webhook processing", "error", err)
		}
		if n > 0 {
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
	events, err := p.store.InboxClaim(ctx, store.InboxClaimParams{Limit: cmp.Or(p.Batch, 100), Lease: cmp.Or(p.Lease, time.Minute)})
	if err != nil {
		return 0, err
	}
	done := 0
	for _, ev := range events {
		outcome, err := p.apply(ctx, ev)
		switch {
		case errors.Is(err, rankr.ErrInvalid):
			outcome = "rejected: " + err.Error()
			p.log.Error("webhook rejected", "seq", ev.Seq, "type", ev.Type, "webhookId", ev.WebhookID, "error", err)
		case err != nil:
			// Left claimed: the lease ends and the webhook is tried again.
			p.log.Warn("webhook will be retried", "seq", ev.Seq, "type", ev.Type, "attempt", ev.Attempts, "error", err)
			continue
		}
		if err := p.store.InboxDone(ctx, ev.Seq, outcome, time.Now()); err != nil && !errors.Is(err, rankr.ErrConflict) {
			return done, err
		}
		done++
	}
	return done, nil
}
