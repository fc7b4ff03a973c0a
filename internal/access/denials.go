package access

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Denial is a refused request or webhook, for the audit log.
type Denial struct {
	Action string // request.denied, webhook.bad_signature
	Code   string
	KeyID  string
	IP     string
	PeerIP string
	Route  string
	UA     string
}

// Denials aggregates refusals per minute into audit records, so that a
// flood of bad requests costs one record per kind and source a minute, not
// one per request.
type Denials struct {
	st  store.Store
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	minute  time.Time
	pending map[denialKey]*denialCount
}

type denialKey struct {
	action, code, key, ip, peer, route string
}

type denialCount struct {
	n  int
	ua string
}

// maxDenialKinds bounds what one minute holds; beyond it, sources are
// pooled as "other".
const maxDenialKinds = 5000

// NewDenials returns an aggregator writing to st.
func NewDenials(st store.Store, log *slog.Logger) *Denials {
	return &Denials{st: st, log: cmp.Or(log, slog.New(slog.DiscardHandler)), now: time.Now, pending: map[denialKey]*denialCount{}}
}

// Add counts a refusal. On a nil Denials it does nothing.
func (d *Denials) Add(x Denial) {
	if d == nil {
		return
	}
	k := denialKey{action: x.Action, code: x.Code, key: x.KeyID, ip: x.IP, peer: x.PeerIP, route: x.Route}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.minute.IsZero() {
		d.minute = d.now().Truncate(time.Minute)
	}
	c, ok := d.pending[k]
	if !ok && len(d.pending) >= maxDenialKinds {
		k.ip, k.peer, k.key, k.route = "other", "other", "", ""
		c, ok = d.pending[k]
	}
	if !ok {
		c = &denialCount{ua: x.UA}
		d.pending[k] = c
	}
	c.n++
}

// Flush writes what was counted as audit records, one per kind and
// source. Counts that cannot be written are kept for the next flush.
func (d *Denials) Flush(ctx context.Context) error {
	d.mu.Lock()
	pending, minute := d.pending, d.minute
	d.pending, d.minute = map[denialKey]*denialCount{}, time.Time{}
	d.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	entries := make([]rankr.AuditEntry, 0, len(pending))
	for k, c := range pending {
		actor := rankr.AuditActor{Type: "anonymous"}
		if k.key != "" {
			actor = rankr.AuditActor{Type: rankr.ActorAPIKey, ID: k.key}
		}
		if k.action == "webhook.bad_signature" {
			actor = rankr.AuditActor{Type: rankr.ActorGHL}
		}
		changes, _ := json.Marshal(map[string]any{"route": k.route, "minute": minute})
		entries = append(entries, rankr.AuditEntry{At: minute, Actor: actor, Action: k.action, Outcome: rankr.AuditDenied,
			Code: k.code, Request: rankr.AuditRequest{IP: k.ip, PeerIP: k.peer, UA: c.ua}, Changes: changes, Count: c.n})
	}
	if err := d.st.AuditAppend(ctx, entries...); err != nil {
		d.mu.Lock()
		for k, c := range pending {
			if p, ok := d.pending[k]; ok {
				p.n += c.n
			} else {
				d.pending[k] = c
			}
		}
		if d.minute.IsZero() || minute.Before(d.minute) {
			d.minute = minute
		}
		d.mu.Unlock()
		return err
	}
	return nil
}

// Run flushes every minute until ctx ends, then once more.
func (d *Denials) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := d.Flush(fctx); err != nil {
				d.log.Error("recording refused requests in the audit log", "error", err)
			}
			cancel()
			return
		case <-t.C:
			if err := d.Flush(ctx); err != nil {
				d.log.Error("recording refused requests in the audit log; kept for the next minute", "error", err)
			}
		}
	}
}
