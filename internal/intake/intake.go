// Package intake takes GHL's webhooks in. GHL redelivers a webhook only
// when the receiver answers 429, so the intake verifies the signature over
// the raw body, rejects stale events, stores every accepted event durably,
// and only then answers 200; when it cannot store (overload, shutdown,
// database down) it answers 429 with Retry-After so that GHL tries again.
//
// One writer stores the events: requests queue, and each database
// transaction commits every event that arrived while the previous one was
// committing, or within a millisecond of the first (group commit), so
// durability does not cost a transaction per request. Processing happens after, by a Processor the stored events are
// handed to in memory, or that claims them from the inbox.
//
// Package intake imports internal/rankr and internal/store of ours, and the
// public ghl package for the signature scheme.
package intake

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Config tunes the intake.
type Config struct {
	// Keys verify x-ghl-signature (Ed25519); several at once for rotation.
	Keys []ed25519.PublicKey
	// LegacyRSAKeys verify GHL's deprecated x-wh-signature (RSA-SHA256),
	// accepted only when set.
	LegacyRSAKeys []*rsa.PublicKey
	// MaxAge rejects events whose timestamp is older (default 5 min, as GHL
	// advises); events more than MaxAge in the future are rejected too.
	MaxAge time.Duration
	// MaxBody bounds a request body (default 1 MiB).
	MaxBody int64
	// QueueSize bounds the events waiting to be stored; beyond it the
	// intake answers 429 (default 16,384).
	QueueSize int
	// BatchSize bounds the events stored per transaction (default 1,024).
	BatchSize int
	// Linger is how long the writer waits for more events after the first
	// of a batch, unless the batch fills (default 1 ms; negative: not at
	// all). Every commit costs a sync to disk and the inbox's one
	// connection, whatever it holds; a millisecond of waiting turns a storm
	// into a few large commits instead of many small ones, and leaves the
	// cores to the requests.
	Linger time.Duration
	Now    func() time.Time
	Logger *slog.Logger
	// OnBadSignature, when set, hears of each webhook refused for its
	// signature, with the sender's address (for the audit log, which
	// counts them per minute).
	OnBadSignature func(remoteAddr string, err error)
	// OnAnswer, when set, hears of every answer the intake gives, with its
	// status and how long the request took from its first byte read to the
	// answer (for the intake latency histogram).
	OnAnswer func(status int, took time.Duration)
}

// Stats counts what the intake answered.
type Stats struct {
	Accepted     int64 `json:"accepted"`     // stored, 200
	Duplicates   int64 `json:"duplicates"`   // already stored, 200
	BadSignature int64 `json:"badSignature"` // 401
	Malformed    int64 `json:"malformed"`    // 400
	Stale        int64 `json:"stale"`        // 400
	TooLarge     int64 `json:"tooLarge"`     // 413
	Throttled    int64 `json:"throttled"`    // 429
}

type counters struct {
	accepted, duplicates, badSignature, malformed, stale, tooLarge, throttled atomic.Int64
}

// Intake is the webhook endpoint.
type Intake struct {
	store store.Store
	cfg   Config
	log   *slog.Logger
	stats counters

	queue   chan *pending
	proc    *Processor   // takes the stored events from memory
	mu      sync.RWMutex // guards closing against senders
	closing bool
	done    chan struct{}
}

// pending is one event waiting for the writer.
type pending struct {
	ev     rankr.InboxEvent
	result chan error // nil error: stored or already there
	seq    int64      // its inbox sequence number when new, else 0
}

// NewIntake returns an intake writing to st. Call Start before serving.
func NewIntake(st store.Store, cfg Config) *Intake {
	cfg.MaxAge = cmp.Or(cfg.MaxAge, 5*time.Minute)
	cfg.MaxBody = cmp.Or(cfg.MaxBody, 1<<20)
	cfg.QueueSize = cmp.Or(cfg.QueueSize, 16_384)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 1024)
	cfg.Linger = cmp.Or(cfg.Linger, time.Millisecond)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Intake{store: st, cfg: cfg, log: cfg.Logger, queue: make(chan *pending, cfg.QueueSize), done: make(chan struct{})}
}

// Feed hands every new event, once stored, to p, leased to it; when p has
// fallen behind, events are stored unleased and p is only woken to claim
// them. Call before Start.
func (in *Intake) Feed(p *Processor) { in.proc = p }

// Start runs the writer until Close.
func (in *Intake) Start() {
	go in.write()
}

// Close stops taking events (they get 429), stores those already queued,
// and stops the writer.
func (in *Intake) Close() {
	in.mu.Lock()
	if in.closing {
		in.mu.Unlock()
		return
	}
	in.closing = true
	close(in.queue)
	in.mu.Unlock()
	<-in.done
}

// Queued returns how many events wait for the writer.
func (in *Intake) Queued() int { return len(in.queue) }

// Stats returns the intake's counters.
func (in *Intake) Stats() Stats {
	c := &in.stats
	return Stats{Accepted: c.accepted.Load(), Duplicates: c.duplicates.Load(), BadSignature: c.badSignature.Load(),
		Malformed: c.malformed.Load(), Stale: c.stale.Load(), TooLarge: c.tooLarge.Load(), Throttled: c.throttled.Load()}
}

// write stores queued events, as many per transaction as are waiting.
func (in *Intake) write() {
	defer close(in.done)
	batch := make([]*pending, 0, in.cfg.BatchSize)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for first := range in.queue {
		batch = append(batch[:0], first)
		wait := linger.C
		if in.cfg.Linger > 0 {
			linger.Reset(in.cfg.Linger)
		} else {
			wait = nil // take what is queued, no more
		}
	fill:
		for len(batch) < in.cfg.BatchSize {
			var p *pending
			var ok bool
			if wait == nil {
				select {
				case p, ok = <-in.queue:
				default:
					break fill
				}
			} else {
				select {
				case p, ok = <-in.queue:
				case <-wait:
					break fill
				}
			}
			if !ok {
				break fill
			}
			batch = append(batch, p)
		}
		linger.Stop()
		in.storeBatch(batch)
	}
}

// storeBatch stores one batch, hands it to the processor, and tells its
// senders (handing first: a sender told "stored" may stop the process, and
// a graceful stop applies what was handed).
func (in *Intake) storeBatch(batch []*pending) {
	events := make([]rankr.InboxEvent, len(batch))
	for i, p := range batch {
		events[i] = p.ev
	}
	var lease time.Duration
	if in.proc != nil {
		lease = in.proc.leaseFor(len(batch))
	}
	// The request's own context may end; the batch must still commit or
	// fail as a whole.
	//
	// The store leases the batch from the database's clock, which other
	// processes measure it with too. This process measures its own hold
	// from before the append on its monotonic clock: that ends no later
	// than the lease does, whatever the hosts' wall clocks say.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	seqs, err := in.store.InboxAppend(ctx, store.InboxAppendParams{Events: events, Lease: lease, Now: in.cfg.Now()})
	cancel()
	switch {
	case err != nil:
		in.log.Error("webhook intake: storing a batch failed; GHL will redeliver (429)", "events", len(batch), "error", err)
	case in.proc == nil:
	case lease == 0:
		in.proc.Wake()
	default:
		var fresh []rankr.InboxEvent
		for i, ev := range events {
			if seqs[i] != 0 {
				ev.Seq, ev.Attempts = seqs[i], 1
				fresh = append(fresh, ev)
			}
		}
		in.proc.hand(fresh, start.Add(lease))
	}
	for i, p := range batch {
		if err == nil {
			p.seq = seqs[i]
		}
		p.result <- err
	}
}

// statusWriter remembers the status an answer was given.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// answer writes a JSON status answer.
func answer(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}{msg, http.StatusText(status)})
	w.Write(b)
}

func (in *Intake) throttle(w http.ResponseWriter, msg string) {
	in.stats.throttled.Add(1)
	w.Header().Set("Retry-After", "5")
	answer(w, http.StatusTooManyRequests, msg)
}

// ServeHTTP takes one webhook.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// MaxBytesReader is given the server's own writer: through it, an
	// oversized body also closes the connection.
	raw := w
	if in.cfg.OnAnswer != nil {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() { in.cfg.OnAnswer(sw.status, time.Since(start)) }()
		w = sw
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(w, http.StatusMethodNotAllowed, "webhooks are POSTed")
		return
	}
	body, err := readBody(http.MaxBytesReader(raw, r.Body, in.cfg.MaxBody), r.ContentLength, in.cfg.MaxBody)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		in.stats.tooLarge.Add(1)
		answer(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", in.cfg.MaxBody))
		return
	case err != nil:
		// The sender went away mid-body: nothing to store, nobody to tell.
		in.stats.malformed.Add(1)
		answer(w, http.StatusBadRequest, "the body could not be read")
		return
	}
	if err := in.verify(r.Header, body); err != nil {
		in.stats.badSignature.Add(1)
		// Logged without the body: an unsigned request may carry anything.
		in.log.WarnContext(r.Context(), "webhook refused: bad signature", "remote", r.RemoteAddr, "bytes", len(body), "reason", err)
		if in.cfg.OnBadSignature != nil {
			in.cfg.OnBadSignature(r.RemoteAddr, err)
		}
		answer(w, http.StatusUnauthorized, err.Error())
		return
	}
	ev, err := in.parse(body)
	if err != nil {
		in.stats.malformed.Add(1)
		answer(w, http.StatusBadRequest, err.Error())
		return
	}
	if age := in.cfg.Now().Sub(ev.EventAt); !ev.EventAt.IsZero() && (age > in.cfg.MaxAge || age < -in.cfg.MaxAge) {
		in.stats.stale.Add(1)
		in.log.WarnContext(r.Context(), "webhook refused: stale or replayed", "type", ev.Type, "webhookId", ev.WebhookID, "timestamp", ev.EventAt)
		answer(w, http.StatusBadRequest, fmt.Sprintf("the event's timestamp %s is more than %s from now: stale or replayed",
			ev.EventAt.Format(time.RFC3339), in.cfg.MaxAge))
		return
	}

	p := &pending{ev: ev, result: make(chan error, 1)}
	in.mu.RLock()
	if in.closing {
		in.mu.RUnlock()
		in.throttle(w, "shutting down: retry")
		return
	}
	select {
	case in.queue <- p:
		in.mu.RUnlock()
	default:
		in.mu.RUnlock()
		in.throttle(w, "overloaded: retry")
		return
	}
	// Once queued, the event is stored or refused as a whole batch; wait
	// for the verdict even if the sender gives up, so it is counted right.
	if err := <-p.result; err != nil {
		in.throttle(w, "could not store the event: retry")
		return
	}
	if p.seq != 0 {
		in.stats.accepted.Add(1)
		answer(w, http.StatusOK, "stored")
		return
	}
	in.stats.duplicates.Add(1)
	answer(w, http.StatusOK, "already received")
}

// readBody reads a body into a buffer sized from its announced length (when
// known and within the limit) rather than grown step by step.
func readBody(r io.Reader, announced, limit int64) ([]byte, error) {
	if announced < 0 || announced > limit {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, announced+1) // +1: room to see EOF
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		case len(buf) == cap(buf):
			buf = slices.Grow(buf, 512)
		}
	}
}

// verify checks the Ed25519 signature, or with legacy keys configured the
// RSA one.
func (in *Intake) verify(h http.Header, body []byte) error {
	if sig := h.Get(ghl.SignatureHeader); sig != "" || len(in.cfg.LegacyRSAKeys) == 0 {
		return ghl.VerifyWebhook(body, sig, in.cfg.Keys...)
	}
	sig, err := base64.StdEncoding.DecodeString(h.Get("X-Wh-Signature"))
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("%w: no %s or x-wh-signature header", ghl.ErrBadSignature, ghl.SignatureHeader)
	}
	digest := sha256.Sum256(body)
	for _, k := range in.cfg.LegacyRSAKeys {
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w (legacy RSA)", ghl.ErrBadSignature)
}

// parse reads what the inbox keeps of an event: its id, type, location and
// timestamp.
func (in *Intake) parse(body []byte) (rankr.InboxEvent, error) {
	// Decoding validates the whole body; the prefix check only turns
	// arrays and scalars away with a clearer message.
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return rankr.InboxEvent{}, errors.New("the body is not a JSON object")
	}
	env, err := ghl.ParseWebhookEvent(body)
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return rankr.InboxEvent{}, fmt.Errorf("the body is not a JSON object: %w", err)
	case err != nil:
		return rankr.InboxEvent{}, fmt.Errorf("the body is not a GHL webhook: %w", err)
	}
	ev := rankr.InboxEvent{WebhookID: env.WebhookID, Type: env.Type, LocationID: env.LocationID,
		ReceivedAt: in.cfg.Now().UTC(), EventAt: env.Timestamp.Time, Body: body}
	if ev.WebhookID == "" {
		// GHL's documents promise a webhookId; when one is missing, the body
		// itself identifies the delivery.
		sum := sha256.Sum256(body)
		ev.WebhookID = "sha256:" + hex.EncodeToString(sum[:])
	}
	if ev.Type == "" {
		ev.Type = "unknown"
	}
	return ev, nil
}
