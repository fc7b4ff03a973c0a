package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
)

// Delivery is one webhook and what became of it.
type Delivery struct {
	WebhookID  string          `json:"webhookId"`
	Type       string          `json:"type"`
	LocationID string          `json:"locationId"`
	CompanyID  string          `json:"companyId,omitempty"` // set on app events
	CreatedAt  ghl.Time        `json:"createdAt"`
	State      DeliveryState   `json:"state"`
	Attempts   []Attempt       `json:"attempts"`
	Duplicate  bool            `json:"duplicate,omitempty"` // a second copy injected as a fault
	Reordered  bool            `json:"reordered,omitempty"` // held back behind the next webhook
	Body       json.RawMessage `json:"body"`
	Signature  string          `json:"signature"`
}

// Attempt is one POST of a delivery.
type Attempt struct {
	At     ghl.Time `json:"at"`
	Status int      `json:"status,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// DeliveryState is where a delivery stands.
type DeliveryState string

// Delivery states.
const (
	StatePending   DeliveryState = "pending"   // queued or waiting for a retry
	StateDelivered DeliveryState = "delivered" // answered 2xx
	StateFailed    DeliveryState = "failed"    // answered otherwise, or unreachable; GHL gives up
	StateLost      DeliveryState = "lost"      // dropped by the loss fault, never sent
	StateUnsent    DeliveryState = "unsent"    // no webhook URL was configured
)

// maxDeliveryLog bounds how many deliveries the sandbox remembers.
const maxDeliveryLog = 20_000

// dispatcher delivers webhooks like GHL: signed, one POST each, retried only
// when the receiver answers 429.
type dispatcher struct {
	s      *Server
	hc     *http.Client
	notify chan struct{}
	done   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	url     string
	queue   []*Delivery
	held    *Delivery // a reordered delivery waiting for the next one
	heldAt  time.Time
	log     []*Delivery
	timers  map[*time.Timer]bool
	closing bool
}

func newDispatcher(s *Server, url string) *dispatcher {
	d := &dispatcher{
		s: s, url: url, hc: &http.Client{Timeout: 10 * time.Second},
		notify: make(chan struct{}, 1), done: make(chan struct{}), timers: map[*time.Timer]bool{},
	}
	for range s.cfg.WebhookWorkers {
		d.wg.Add(1)
		go d.work()
	}
	// From now on, changes produce webhooks.
	for _, l := range s.locations {
		l.emit = d.emit
	}
	return d
}

func (d *dispatcher) setURL(u string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.url = u
}

// emit builds and queues a webhook. It is called with a location's lock
// held, so it never blocks on the network.
func (d *dispatcher) emit(typ, locationID string, payload any) {
	d.emitFor(typ, locationID, "", payload)
}

// emitFor is emit for an event that may concern a whole company: with no
// location, the body has no locationId, as GHL's company-level app events.
func (d *dispatcher) emitFor(typ, locationID, companyID string, payload any) {
	now := d.s.clock()
	del := &Delivery{
		WebhookID: newWebhookID(d.s), Type: typ, LocationID: locationID, CompanyID: companyID,
		CreatedAt: ghl.NewTime(now), State: StatePending,
	}
	body, err := envelope(typ, locationID, del.WebhookID, del.CreatedAt, payload)
	if err != nil {
		d.s.log.Error("sandbox: encoding webhook", "type", typ, "error", err)
		return
	}
	del.Body = body
	del.Signature = ghl.SignWebhook(d.s.key, body)
	d.queueNew(del)
}

// envelope adds the delivery fields to the payload's own fields: the event
// type and location first, the webhook id and timestamp last.
func envelope(typ, locationID, id string, at ghl.Time, payload any) ([]byte, error) {
	inner, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(struct {
		Type       string `json:"type"`
		LocationID string `json:"locationId,omitempty"`
	}{typ, locationID})
	if err != nil {
		return nil, err
	}
	tail, err := json.Marshal(struct {
		WebhookID string   `json:"webhookId"`
		Timestamp ghl.Time `json:"timestamp"`
	}{id, at})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(head[:len(head)-1])
	if inner = bytes.TrimSpace(inner); len(inner) > 2 {
		b.WriteByte(',')
		b.Write(inner[1 : len(inner)-1])
	}
	b.WriteByte(',')
	b.Write(tail[1:])
	return b.Bytes(), nil
}

func newWebhookID(s *Server) string {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return dice{s.faults.rng}.uuid()
}

func (d *dispatcher) queueNew(del *Delivery) {
	f := d.s.faults.get()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.remember(del)
	switch {
	case d.url == "":
		del.State = StateUnsent
		return
	case d.s.faults.roll(f.WebhookLossRate):
		del.State = StateLost
		d.s.stats.fault("webhook-lost")
		return
	}
	var copyOf *Delivery
	if d.s.faults.roll(f.WebhookDuplicateRate) {
		dup := *del
		dup.Duplicate, dup.Attempts = true, nil
		copyOf = &dup
		d.remember(copyOf)
		d.s.stats.fault("webhook-duplicate")
	}
	if d.held == nil && d.s.faults.roll(f.WebhookReorderRate) {
		del.Reordered = true
		d.held, d.heldAt = del, time.Now()
		d.s.stats.fault("webhook-reorder")
	} else {
		d.queue = append(d.queue, del)
		if d.held != nil {
			d.queue = append(d.queue, d.held)
			d.held = nil
		}
	}
	if copyOf != nil {
		d.queue = append(d.queue, copyOf)
	}
	d.wake()
}

func (d *dispatcher) remember(del *Delivery) {
	if len(d.log) >= maxDeliveryLog {
		d.log = append(d.log[:0], d.log[len(d.log)/2:]...)
	}
	d.log = append(d.log, del)
}

func (d *dispatcher) wake() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// next pops the next delivery, releasing a held one that waited long enough
// for a successor.
func (d *dispatcher) next() *Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) == 0 && d.held != nil && time.Since(d.heldAt) > time.Second {
		d.queue, d.held = append(d.queue, d.held), nil
	}
	if len(d.queue) == 0 {
		return nil
	}
	del := d.queue[0]
	d.queue = d.queue[1:]
	if len(d.queue) > 0 {
		d.wake()
	}
	return del
}

func (d *dispatcher) work() {
	defer d.wg.Done()
	for {
		del := d.next()
		if del == nil {
			select {
			case <-d.notify:
			case <-time.After(250 * time.Millisecond):
			case <-d.done:
				return
			}
			continue
		}
		d.send(del)
	}
}

func (d *dispatcher) send(del *Delivery) {
	d.mu.Lock()
	url := d.url
	d.mu.Unlock()
	at := ghl.NewTime(d.s.clock())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := Attempt{At: at}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(del.Body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(ghl.SignatureHeader, del.Signature)
		req.Header.Set("User-Agent", "rankr-ghl-sandbox")
		var resp *http.Response
		if resp, err = d.hc.Do(req); err == nil {
			a.Status = resp.StatusCode
			resp.Body.Close()
		}
	}
	if err != nil {
		a.Error = err.Error()
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	del.Attempts = append(del.Attempts, a)
	switch {
	case a.Status >= 200 && a.Status < 300:
		del.State = StateDelivered
	case a.Status == http.StatusTooManyRequests && len(del.Attempts) <= d.s.cfg.WebhookRetry.Retries && !d.closing:
		// The only answer GHL retries.
		del.State = StatePending
		wait := d.s.cfg.WebhookRetry.Interval + d.s.faults.jitter(d.s.cfg.WebhookRetry.Jitter)
		var t *time.Timer
		t = time.AfterFunc(wait, func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			delete(d.timers, t)
			if !d.closing {
				d.queue = append(d.queue, del)
				d.wake()
			}
		})
		d.timers[t] = true
	default:
		del.State = StateFailed
	}
}

// deliveries returns a copy of the delivery log.
func (d *dispatcher) deliveries() []Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Delivery, len(d.log))
	for i, del := range d.log {
		out[i] = *del
		out[i].Attempts = append([]Attempt(nil), del.Attempts...)
	}
	return out
}

func (d *dispatcher) close() {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return
	}
	d.closing = true
	for t := range d.timers {
		t.Stop()
	}
	d.mu.Unlock()
	close(d.done)
	d.wg.Wait()
}

// Deliveries returns every webhook the sandbox produced (the most recent
// 20,000) and what became of each.
func (s *Server) Deliveries() []Delivery { return s.hooks.deliveries() }

// SetWebhookURL changes where webhooks go; empty stops sending.
func (s *Server) SetWebhookURL(u string) { s.hooks.setURL(u) }

// SendAppEvent delivers an app lifecycle webhook (INSTALL or UNINSTALL) for
// a location, as GHL does when the app is installed or removed.
func (s *Server) SendAppEvent(typ, locationID string) error {
	l := s.location(locationID)
	if l == nil {
		return errUnknownLocation(locationID)
	}
	payload := map[string]any{"appId": s.OAuthApp().AppID, "companyId": l.companyID}
	if typ == ghl.EventInstall {
		payload["userId"] = "sandbox-user"
		payload["companyName"] = l.name
		payload["isWhitelabelCompany"] = false
	}
	s.hooks.emit(typ, locationID, payload)
	return nil
}
