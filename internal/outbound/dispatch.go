package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// snippetSize is how much of an answer's body is kept with a delivery.
const snippetSize = 512

// Run fans the change feed out and attempts due deliveries until ctx ends.
// Several processes may run it on one database: leases keep every attempt
// to one of them. In-flight attempts are let finish (each within its
// timeout) and recorded before Run returns.
func (w *Webhooks) Run(ctx context.Context) error {
	tick := time.NewTicker(w.cfg.PollInterval)
	defer tick.Stop()
	finished := make(chan struct{}, w.cfg.Concurrency)
	inFlight := 0
	fanOut, backlog := true, false
	drain := func() error {
		for ; inFlight > 0; inFlight-- {
			<-finished
		}
		return nil
	}
	for {
		if fanOut || backlog {
			more, err := w.fanOutStep(ctx)
			if err != nil && ctx.Err() == nil {
				w.log.Error("fanning out webhooks; trying again", "error", err)
			}
			fanOut, backlog = false, more && err == nil
		}
		if free := w.cfg.Concurrency - inFlight; free > 0 && ctx.Err() == nil {
			claimed, err := w.store.WebhookDeliveryClaim(ctx, store.WebhookDeliveryClaimParams{Limit: free, Lease: w.lease, Now: w.now()})
			if err != nil && ctx.Err() == nil {
				w.log.Error("claiming webhook deliveries; trying again", "error", err)
			}
			for _, j := range w.prepare(ctx, claimed) {
				inFlight++
				go func() {
					// The attempt outlives a shutdown (within its timeout), so
					// that what was sent is recorded.
					w.attempt(context.WithoutCancel(ctx), j)
					finished <- struct{}{}
				}()
			}
			if len(claimed) == free {
				fanOut = true // busy: keep the feed moving between slots
			}
		}
		if backlog {
			// Events are waiting to be fanned out: no pause.
			select {
			case <-ctx.Done():
				return drain()
			case <-finished:
				inFlight--
			default:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return drain()
		case <-finished:
			inFlight--
		case <-tick.C:
			fanOut = true
		case <-w.wake:
			fanOut = true
		}
	}
}

// fanOutStep runs one fan-out step and reports whether events are left.
func (w *Webhooks) fanOutStep(ctx context.Context) (bool, error) {
	res, err := w.store.WebhookFanOut(ctx, store.WebhookFanOutParams{Now: w.now()})
	if err != nil {
		return false, err
	}
	if res.Deliveries > 0 {
		w.log.Debug("webhook deliveries queued", "events", res.Events, "deliveries", res.Deliveries, "cursor", res.Cursor)
	}
	return res.More, nil
}

// Round says what RunOnce did.
type Round struct {
	Attempts  int
	Delivered int
	Failed    int // to be retried
	Dead      int
}

// RunOnce fans out everything in the feed, then attempts every delivery due
// now (and those that fall due meanwhile) until none is left, and returns.
// It is what Run does, for commands and tests that want it over.
func (w *Webhooks) RunOnce(ctx context.Context) (Round, error) {
	var r Round
	for {
		more, err := w.fanOutStep(ctx)
		if err != nil {
			return r, err
		}
		if !more {
			break
		}
	}
	var mu sync.Mutex
	for {
		claimed, err := w.store.WebhookDeliveryClaim(ctx, store.WebhookDeliveryClaimParams{Limit: w.cfg.Concurrency, Lease: w.lease, Now: w.now()})
		if err != nil || len(claimed) == 0 {
			return r, err
		}
		var wg sync.WaitGroup
		for _, j := range w.prepare(ctx, claimed) {
			wg.Go(func() {
				state := w.attempt(ctx, j)
				mu.Lock()
				defer mu.Unlock()
				r.Attempts++
				switch state {
				case rankr.DeliveryDelivered:
					r.Delivered++
				case rankr.DeliveryDead:
					r.Dead++
				default:
					r.Failed++
				}
			})
		}
		wg.Wait()
	}
}

// job is a claimed delivery ready for its attempt: its body fixed, or the
// reason it could not be.
type job struct {
	d   rankr.WebhookDelivery
	e   rankr.WebhookEndpoint // as the claim read it
	err error
}

// prepare fixes the bodies of claimed deliveries that have none yet (their
// first attempt), all in one transaction. An event wanted by several
// endpoints is rendered once.
func (w *Webhooks) prepare(ctx context.Context, claimed []store.ClaimedDelivery) []job {
	jobs := make([]job, len(claimed))
	built := map[string][]byte{}
	bySeq := map[int64][]byte{}
	claim := ""
	for i, c := range claimed {
		jobs[i].d, jobs[i].e, claim = c.Delivery, c.Endpoint, c.Delivery.Claim
		if c.Delivery.Payload != nil {
			continue
		}
		b, ok := bySeq[c.Event.Seq]
		if !ok {
			var err error
			if b, err = w.payload(ctx, c.Event); err != nil {
				jobs[i].err = fmt.Errorf("building the message: %w", err)
				continue
			}
			bySeq[c.Event.Seq] = b
		}
		built[c.Delivery.ID] = b
	}
	if len(built) == 0 {
		return jobs
	}
	stored, err := w.store.WebhookDeliverySetPayloads(ctx, claim, built)
	for i := range jobs {
		if _, ok := built[jobs[i].d.ID]; !ok {
			continue
		}
		switch b, ok := stored[jobs[i].d.ID]; {
		case err != nil:
			jobs[i].err = fmt.Errorf("storing the message: %w", err)
		case !ok:
			jobs[i].err = fmt.Errorf("storing the message: another dispatcher holds the delivery: %w", rankr.ErrConflict)
		default:
			jobs[i].d.Payload = b
		}
	}
	return jobs
}

// attempt sends a claimed delivery once and records the outcome, returning
// the state it left the delivery in.
func (w *Webhooks) attempt(ctx context.Context, j job) rankr.DeliveryState {
	d := j.d
	log := w.log.With("delivery", d.ID, "endpoint", d.EndpointID, "kind", d.Kind, "attempt", d.Attempts)
	out := outcome{err: j.err}
	if j.err == nil {
		out = w.send(ctx, j)
	}
	fin := store.WebhookDeliveryFinishParams{ID: d.ID, Claim: d.Claim, Status: out.status, Response: out.snippet, Now: w.now()}
	switch {
	case out.err == nil:
		fin.State = rankr.DeliveryDelivered
		log.Debug("webhook delivered", "status", out.status, "took", out.took)
	case d.Attempts >= w.cfg.MaxAttempts:
		fin.State, fin.Error = rankr.DeliveryDead, out.err.Error()
		log.Warn("webhook dead after its last attempt; `rankr webhooks replay` sends it again", "status", out.status, "error", out.err)
	default:
		fin.State, fin.Error = rankr.DeliveryPending, out.err.Error()
		fin.RetryIn = w.backoff(d.Attempts, out.retryAfter)
		log.Info("webhook attempt failed; will retry", "status", out.status, "error", out.err, "in", fin.RetryIn)
	}
	if err := w.store.WebhookDeliveryFinish(context.WithoutCancel(ctx), fin); err != nil {
		// The lease ended before the attempt did (a very slow database):
		// another dispatcher owns the delivery now and records its own.
		log.Error("recording a webhook attempt", "error", err)
	}
	return fin.State
}

// backoff is the wait after the n-th failed attempt, jittered by ±20 %, and
// no shorter than what the receiver asked for with Retry-After (up to the
// longest wait of the schedule).
func (w *Webhooks) backoff(n int, retryAfter time.Duration) time.Duration {
	b := w.cfg.Backoff[min(max(n, 1), len(w.cfg.Backoff))-1]
	b = time.Duration(float64(b) * (0.8 + 0.4*rand.Float64()))
	return max(b, min(retryAfter, w.cfg.Backoff[len(w.cfg.Backoff)-1]))
}

type outcome struct {
	status     int
	snippet    string
	err        error
	retryAfter time.Duration
	took       time.Duration
}

// send makes one attempt: the body, signed with a fresh timestamp (by each
// of the endpoint's secrets), posted within the attempt timeout.
func (w *Webhooks) send(ctx context.Context, j job) outcome {
	d := j.d
	body := d.Payload
	target, keys, err := w.endpoint(j.e)
	if err != nil {
		return outcome{err: err}
	}
	actx, cancel := context.WithTimeout(ctx, w.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return outcome{err: err}
	}
	now := w.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.cfg.UserAgent)
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", SignAll(keys, d.ID, now, body))
	start := time.Now()
	resp, err := w.client.Do(req)
	took := time.Since(start)
	if err != nil {
		return outcome{err: describe(err, actx, w.cfg.AttemptTimeout), took: took}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, snippetSize))
	// Read a little more so the connection can be reused; never much.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	out := outcome{status: resp.StatusCode, snippet: clean(head), took: time.Since(start)}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		out.err = fmt.Errorf("answered %s with a redirect to %q, which is not followed: give the endpoint its final URL",
			resp.Status, resp.Header.Get("Location"))
	default:
		out.err = fmt.Errorf("answered %s", resp.Status)
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			out.retryAfter = time.Duration(s) * time.Second
		}
	}
	return out
}

// cachedEndpoint is an endpoint's opened signing keys, kept while its
// sealed secrets are the ones the claim read: a rotation changes them, and
// the next claim reads the change, so no attempt signs with a stale set.
type cachedEndpoint struct {
	sealed, previous []byte
	keys             [][]byte
}

// endpoint returns an endpoint's URL and signing keys: the current
// secret's, then the previous one's while its grace lasts.
func (w *Webhooks) endpoint(e rankr.WebhookEndpoint) (string, [][]byte, error) {
	if e.ID == "" {
		return "", nil, errors.New("the delivery's endpoint is gone")
	}
	if _, err := ParseURL(e.URL); err != nil {
		return "", nil, err
	}
	w.mu.Lock()
	c, ok := w.endpoints[e.ID]
	w.mu.Unlock()
	if ok && bytes.Equal(c.sealed, e.Secret) && bytes.Equal(c.previous, e.PreviousSecret) {
		return e.URL, c.keys, nil
	}
	var keys [][]byte
	for _, sealed := range [][]byte{e.Secret, e.PreviousSecret} {
		if len(sealed) == 0 {
			continue
		}
		secret, err := w.vault.Open(sealed, secretContext(e.ID))
		if err != nil {
			return "", nil, fmt.Errorf("opening the endpoint's signing secret: %w", err)
		}
		key, err := secretKey(string(secret))
		if err != nil {
			return "", nil, err
		}
		keys = append(keys, key)
	}
	w.mu.Lock()
	w.endpoints[e.ID] = cachedEndpoint{sealed: e.Secret, previous: e.PreviousSecret, keys: keys}
	w.mu.Unlock()
	return e.URL, keys, nil
}

// describe turns a failed request into a message without the URL (which
// may carry a token) and that says what happened.
func describe(err error, actx context.Context, timeout time.Duration) error {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s (attempt timed out)", timeout)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(err, ErrDenied) {
		return fmt.Errorf("not sent: %w", err)
	}
	return err
}

// clean makes an answer's snippet safe to store as text.
func clean(b []byte) string {
	return strings.ToValidUTF8(strings.ReplaceAll(string(b), "\x00", ""), "\uFFFD")
}

// message is the body of a webhook: Standard Webhooks' suggested envelope.
type message struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// payload builds the body for an event: data holds the event's fields as
// the change feed recorded them (e.g. changes, status, amount), its seq,
// location and record, and the record as Rankr holds it now, when it is a
// record Rankr keeps (recordAsOf says when it was read).
func (w *Webhooks) payload(ctx context.Context, ev rankr.Event) ([]byte, error) {
	data := map[string]any{}
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return nil, fmt.Errorf("event %d: %w", ev.Seq, err)
		}
	}
	data["seq"], data["locationId"], data["recordType"], data["recordId"] = ev.Seq, ev.LocationID, ev.RecordType, ev.RecordID
	rec, err := w.record(ctx, ev)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		data["record"], data["recordAsOf"] = rec, w.now().UTC().Truncate(time.Millisecond)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(message{Type: ev.Kind, Timestamp: ev.At.UTC(), Data: b})
}

// record reads the record an event is about, or nil when Rankr keeps no
// such record (or no longer has it).
func (w *Webhooks) record(ctx context.Context, ev rankr.Event) (any, error) {
	var rec any
	var err error
	switch ev.RecordType {
	case rankr.RecordOrder:
		rec, err = w.store.OrderGet(ctx, ev.LocationID, ev.RecordID)
	case rankr.RecordFulfillment:
		rec, err = w.store.FulfillmentGet(ctx, ev.LocationID, ev.RecordID)
	case rankr.RecordTransaction:
		rec, err = w.store.TransactionGet(ctx, ev.LocationID, ev.RecordID)
	case rankr.RecordSubscription:
		rec, err = w.store.SubscriptionGet(ctx, ev.LocationID, ev.RecordID)
	case rankr.RecordInvoice:
		rec, err = w.store.InvoiceGet(ctx, ev.LocationID, ev.RecordID)
	case rankr.RecordProduct:
		rec, err = w.store.ProductGet(ctx, ev.LocationID, ev.RecordID)
	case rankr.RecordPrice:
		rec, err = w.store.PriceGet(ctx, ev.LocationID, ev.RecordID)
	case rankr.RecordFulfillmentPush:
		rec, err = w.store.PushGet(ctx, ev.RecordID)
	default:
		return nil, nil
	}
	if errors.Is(err, rankr.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", ev.RecordType, ev.RecordID, err)
	}
	return rec, nil
}
