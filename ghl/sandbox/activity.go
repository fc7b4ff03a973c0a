package sandbox

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
)

// Change is one live change the sandbox made.
type Change struct {
	Kind       string `json:"kind"`
	LocationID string `json:"locationId"`
	RecordID   string `json:"recordId"`
}

// The kinds of live change, with how often each happens.
var changeKinds = []struct {
	kind   string
	weight float64
}{
	{"order.created", 28}, {"order.paid", 10}, {"order.cancelled", 3}, {"payment.failed", 3},
	{"order.fulfilled", 14}, {"payment.refunded", 5}, {"subscription.renewed", 12},
	{"subscription.cancelled", 3}, {"invoice.created", 6}, {"invoice.sent", 5}, {"invoice.paid", 6},
	{"invoice.voided", 2}, {"invoice.deleted", 1}, {"product.updated", 1}, {"inventory.restocked", 2},
}

// ChangeKinds lists the kinds of change Step can make.
func ChangeKinds() []string {
	out := make([]string, len(changeKinds))
	for i, k := range changeKinds {
		out[i] = k.kind
	}
	return out
}

var changeWeights = func() []float64 {
	w := make([]float64, len(changeKinds))
	for i, k := range changeKinds {
		w[i] = k.weight
	}
	return w
}()

// recentWindow is how far back live changes look for records to change:
// activity happens to recent orders, as in a real shop.
const recentWindow = 400

// Step makes n live changes now and returns them. locationID limits them to
// one location and kind to one kind; empty means any.
func (s *Server) Step(n int, locationID, kind string) ([]Change, error) {
	locs := s.allLocations()
	if locationID != "" {
		l := s.location(locationID)
		if l == nil {
			return nil, errUnknownLocation(locationID)
		}
		locs = []*location{l}
	}
	if kind != "" && !validKind(kind) {
		return nil, fmt.Errorf("unknown change kind %q", kind)
	}
	var out []Change
	for range n {
		s.faults.mu.Lock()
		l := locs[s.faults.rng.IntN(len(locs))]
		s.faults.mu.Unlock()
		if c, ok := s.change(l, kind); ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func validKind(kind string) bool {
	for _, k := range changeKinds {
		if k.kind == kind {
			return true
		}
	}
	return false
}

// change makes one change in l: the requested kind, or a random one (falling
// back to a new order when nothing else applies).
func (s *Server) change(l *location, kind string) (Change, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := dice{l.rng}
	now := s.clock()
	for attempt := 0; attempt < 8; attempt++ {
		k := kind
		if k == "" {
			k = changeKinds[d.weighted(changeWeights)].kind
		}
		if id, ok := s.apply(l, d, k, now); ok {
			return Change{Kind: k, LocationID: l.id, RecordID: id}, true
		}
		if kind != "" {
			return Change{}, false
		}
	}
	id, _ := s.apply(l, d, "order.created", now)
	return Change{Kind: "order.created", LocationID: l.id, RecordID: id}, true
}

// recent returns a random record among the last recentWindow of recs that
// match, or false.
func recent[T any](d dice, recs []T, match func(T) bool) (T, bool) {
	var found []T
	for i := len(recs) - 1; i >= 0 && i >= len(recs)-recentWindow; i-- {
		if match(recs[i]) {
			found = append(found, recs[i])
		}
	}
	if len(found) == 0 {
		var zero T
		return zero, false
	}
	return pick(d, found), true
}

func (s *Server) apply(l *location, d dice, kind string, now time.Time) (string, bool) {
	switch kind {
	case "order.created":
		spec := orderSpec{contact: pick(d, l.contacts), live: d.chance(0.88), src: randomSource(d, l, now)}
		if spec.src.typ == ghl.SourceInvoice {
			spec.src.typ, spec.src.subType = ghl.SourcePaymentLink, ""
		}
		spec.lines = randomLines(d, l, now, d.chance(0.2))
		o := l.createOrder(d, now, spec)
		if d.chance(0.65) {
			l.charge(d, o, o.amount(), now, ghl.TxnSucceeded, l.randomPayment(d))
		}
		return o.id, true
	case "order.paid":
		o, ok := recent(d, l.orders, func(o *orderRec) bool {
			return !o.deleted && o.status == ghl.OrderPending
		})
		if !ok {
			return "", false
		}
		paid, _ := o.paid()
		due := o.amount() - paid
		if due > 1 && d.chance(0.2) {
			due /= 2
		}
		l.charge(d, o, due, now, ghl.TxnSucceeded, l.randomPayment(d))
		return o.id, true
	case "order.cancelled":
		o, ok := recent(d, l.orders, func(o *orderRec) bool {
			return !o.deleted && o.status == ghl.OrderPending && o.payment == ghl.PaymentUnpaid
		})
		if !ok {
			return "", false
		}
		l.cancelOrder(o, now)
		return o.id, true
	case "payment.failed":
		o, ok := recent(d, l.orders, func(o *orderRec) bool { return !o.deleted && o.status == ghl.OrderPending })
		if !ok {
			return "", false
		}
		paid, _ := o.paid()
		t := l.charge(d, o, o.amount()-paid, now, ghl.TxnFailed, l.randomPayment(d))
		return t.id, true
	case "order.fulfilled":
		o, ok := recent(d, l.orders, func(o *orderRec) bool {
			return !o.deleted && o.payment == ghl.PaymentPaid && len(o.unshipped()) > 0
		})
		if !ok {
			return "", false
		}
		items := o.unshipped()
		if len(items) > 1 && d.chance(0.25) {
			items = items[:1]
		}
		f := l.fulfill(d, o, items, []ghl.Tracking{randomTracking(d)}, d.chance(0.8), now)
		return f.id, true
	case "payment.refunded":
		t, ok := recent(d, l.txns, func(t *txnRec) bool {
			return !t.deleted && t.entityType == "order" && t.status == ghl.TxnSucceeded
		})
		if !ok {
			return "", false
		}
		amount := t.amount
		if d.chance(0.6) {
			amount = max(t.amount/int64(d.between(2, 5)), 1)
		}
		l.refund(d, t, amount, now)
		return t.id, true
	case "subscription.renewed":
		sub, ok := recent(d, l.subs, func(sub *subRec) bool {
			return !sub.deleted && (sub.status == ghl.SubActive || sub.status == ghl.SubPastDue)
		})
		if !ok {
			return "", false
		}
		t := l.renew(d, sub, now, d.chance(0.92))
		return t.id, true
	case "subscription.cancelled":
		sub, ok := recent(d, l.subs, func(sub *subRec) bool { return !sub.deleted && sub.status != ghl.SubCanceled })
		if !ok {
			return "", false
		}
		l.cancelSubscription(d, sub, now)
		return sub.id, true
	case "invoice.created":
		var lines []invoiceLine
		for range d.between(1, 3) {
			if p := pick(d, pick(d, l.products).prices); !p.recurring() {
				lines = append(lines, invoiceLine{id: d.objectID(now), price: p, qty: d.between(1, 2)})
			}
		}
		if len(lines) == 0 {
			return "", false
		}
		inv := l.createInvoice(d, now, pick(d, l.contacts), lines, d.chance(0.9))
		return inv.id, true
	case "invoice.sent":
		inv, ok := recent(d, l.invoices, func(inv *invoiceRec) bool { return !inv.deleted && inv.status == ghl.InvoiceDraft })
		if !ok {
			return "", false
		}
		l.sendInvoice(inv, now)
		return inv.id, true
	case "invoice.paid":
		inv, ok := recent(d, l.invoices, func(inv *invoiceRec) bool {
			return !inv.deleted && (inv.status == ghl.InvoiceSent || inv.status == ghl.InvoicePartiallyPaid)
		})
		if !ok {
			return "", false
		}
		amount := inv.total() - inv.paid
		if d.chance(0.2) && amount > 1 {
			amount /= 2
		}
		l.payInvoice(d, inv, amount, now, l.randomPayment(d))
		return inv.id, true
	case "invoice.voided":
		inv, ok := recent(d, l.invoices, func(inv *invoiceRec) bool {
			return !inv.deleted && (inv.status == ghl.InvoiceDraft || inv.status == ghl.InvoiceSent)
		})
		if !ok {
			return "", false
		}
		l.voidInvoice(inv, now)
		return inv.id, true
	case "invoice.deleted":
		inv, ok := recent(d, l.invoices, func(inv *invoiceRec) bool { return !inv.deleted && inv.status == ghl.InvoiceDraft })
		if !ok {
			return "", false
		}
		l.deleteInvoice(inv, now)
		return inv.id, true
	case "product.updated", "inventory.restocked":
		return l.productChange(d, kind, now)
	}
	return "", false
}

// activityLoop makes changes at a steady rate in the background.
type activityLoop struct {
	s    *Server
	mu   sync.Mutex
	rate float64
	done chan struct{}
}

func newActivityLoop(s *Server) *activityLoop { return &activityLoop{s: s} }

// setRate changes the rate of live changes per second; 0 stops them.
func (a *activityLoop) setRate(perSecond float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rate = max(perSecond, 0)
	if a.rate > 0 && a.done == nil {
		done := make(chan struct{})
		a.done = done
		go a.run(done)
	}
}

func (a *activityLoop) currentRate() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rate
}

func (a *activityLoop) run(done chan struct{}) {
	const tick = 20 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	var owed float64
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			owed += a.currentRate() * now.Sub(last).Seconds()
			last = now
			if n := math.Floor(owed); n >= 1 {
				owed -= n
				if _, err := a.s.Step(int(n), "", ""); err != nil {
					a.s.log.Error("sandbox: activity", "error", err)
				}
			}
		}
	}
}

func (a *activityLoop) stopLoop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done != nil {
		close(a.done)
		a.done = nil
	}
}

// SetActivity sets the rate of live changes per second; 0 holds the data
// still.
func (s *Server) SetActivity(perSecond float64) { s.activity.setRate(perSecond) }
