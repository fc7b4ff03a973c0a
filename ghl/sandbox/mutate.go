package sandbox

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/rankr/rankr/ghl"
)

// The mutations below are the only way records change: the generator calls
// them with historic times, live activity and the API's writes with the
// current time. They run with the location's lock held and report webhook
// events through l.emit, which is nil while the history is generated.

// emitOrder sends an order webhook of the given type with the order as it is
// now.
func (l *location) emitOrder(typ string, o *orderRec) {
	if l.emit == nil {
		return
	}
	l.emit(typ, l.id, l.orderDetail(o))
}

// orderSpec is what a new order is made of.
type orderSpec struct {
	contact   *contact
	lines     []line
	live      bool
	src       source
	coupon    *couponRec
	createdBy string
}

func (l *location) createOrder(d dice, at time.Time, spec orderSpec) *orderRec {
	at = at.UTC().Truncate(time.Millisecond)
	o := &orderRec{
		id: d.objectID(at), contact: spec.contact, currency: l.currency, live: spec.live,
		lines: spec.lines, src: spec.src, status: ghl.OrderPending, fulfillment: ghl.Unfulfilled,
		payment: ghl.PaymentUnpaid, createdBy: spec.createdBy,
		trackingID: d.uuid(), fingerprint: d.uuid(), createdAt: at, updatedAt: at,
	}
	for _, ln := range o.lines {
		o.subtotal += ln.minor()
	}
	if c := spec.coupon; c != nil {
		o.couponID, o.couponCode = c.c.ID, c.c.Code
		v, _ := c.c.DiscountValue.Scaled(2)
		if c.c.DiscountType == ghl.DiscountPercentage {
			o.discount = o.subtotal * v / 10000
		} else {
			o.discount = min(v, o.subtotal/2)
		}
		c.c.UsageCount++
	}
	if d.chance(0.3) {
		o.tax = (o.subtotal - o.discount) / 10
	}
	if o.needsShipping() {
		o.shipping = pick(d, []int64{0, 599, 999})
	}
	l.orders = append(l.orders, o)
	l.orderByID[o.id] = o
	l.takeStock(o, at)
	l.emitOrder(ghl.EventOrderCreate, o)
	return o
}

// payment describes how money arrived.
type payment struct {
	provider  string // stripe, paypal, authorize-net, nmi or manual
	account   string
	cardBrand string
	last4     string
	mode      string // manual payments: cash, card, cheque, bank_transfer, other
}

func (l *location) randomPayment(d dice) payment {
	p := payment{provider: pick(d, []string{"stripe", "stripe", "stripe", "stripe", "stripe", "paypal", "paypal", "authorize-net", "nmi", "manual"})}
	switch p.provider {
	case "manual":
		p.mode = pick(d, []string{"cash", "cheque", "bank_transfer", "card", "other"})
		if p.mode == "card" {
			p.cardBrand, p.last4 = pick(d, []string{"visa", "mastercard"}), d.digits(4)
		}
	case "paypal":
		p.account = "paypal_" + d.alnum(13)
	default:
		p.account = "acct_" + d.alnum(16)
		p.cardBrand, p.last4 = pick(d, []string{"visa", "visa", "mastercard", "amex", "discover"}), d.digits(4)
	}
	return p
}

func (l *location) newTxn(d dice, at time.Time, c *contact, live bool, amount int64, status ghl.TransactionStatus, pay payment) *txnRec {
	at = at.UTC().Truncate(time.Millisecond)
	t := &txnRec{
		id: d.objectID(at), contact: c, currency: l.currency, live: live, amount: amount, status: status,
		provider: pay.provider, account: pay.account, cardBrand: pay.cardBrand, last4: pay.last4,
		manualMode: pay.mode, ip: "203.0.113." + d.digits(2),
		createdAt: at, updatedAt: at, fulfilledAt: at,
	}
	switch pay.provider {
	case "stripe":
		t.chargeID = "ch_" + d.alnum(24)
	case "paypal":
		t.chargeID = "PAYID-" + d.alnum(20)
	case "authorize-net", "nmi":
		t.chargeID = d.digits(11)
	}
	if status == ghl.TxnSucceeded {
		t.receiptID = d.objectID(at)
	}
	t.render()
	l.txns = append(l.txns, t)
	l.txnByID[t.id] = t
	return t
}

// charge records a payment attempt on an order and settles the order.
func (l *location) charge(d dice, o *orderRec, amount int64, at time.Time, status ghl.TransactionStatus, pay payment) *txnRec {
	t := l.newTxn(d, at, o.contact, o.live, amount, status, pay)
	t.entityType, t.entityID, t.src = "order", o.id, o.src
	if o.src.typ == ghl.SourceInvoice {
		t.invoiceID = o.src.id
	}
	o.txns = append(o.txns, t)
	touch(&o.updatedAt, at)
	l.settle(d, o, at)
	return t
}

// settle derives the order's payment status and status from its
// transactions, and starts its subscriptions once it is paid.
func (l *location) settle(d dice, o *orderRec, at time.Time) {
	paid, refunded := o.paid()
	before := o.status
	switch {
	case paid == 0:
		o.payment = ghl.PaymentUnpaid
	case refunded >= paid:
		o.payment, o.status = ghl.PaymentRefunded, ghl.OrderRefunded
	case refunded > 0:
		o.payment, o.status = "partially_refunded", ghl.OrderPartiallyRefunded
	case paid >= o.amount():
		o.payment = ghl.PaymentPaid
		if o.status == ghl.OrderPending {
			o.status = ghl.OrderCompleted
		}
	default:
		o.payment = ghl.PaymentPartiallyPaid
	}
	if o.payment == ghl.PaymentPaid && o.src.typ == ghl.SourceInvoice {
		if inv := l.invByID[o.src.id]; inv != nil && inv.status != ghl.InvoicePaid {
			inv.paid = min(paid, inv.total())
			inv.status = ghl.InvoicePaid
			touch(&inv.updatedAt, at)
			l.emitInvoice(ghl.EventInvoicePaid, inv)
		}
	}
	if o.payment == ghl.PaymentPaid && before == ghl.OrderPending {
		for _, ln := range o.lines {
			if ln.price.recurring() {
				l.startSubscription(d, o, ln, at)
			}
		}
	}
	if o.status != before {
		touch(&o.updatedAt, at)
		l.emitOrder(ghl.EventOrderStatusUpdate, o)
	}
}

// refund gives back amount of a collected transaction.
func (l *location) refund(d dice, t *txnRec, amount int64, at time.Time) {
	amount = min(amount, t.amount-t.refunded)
	if amount <= 0 || !t.collected() {
		return
	}
	t.refunded += amount
	if t.refunded >= t.amount {
		t.status = ghl.TxnRefunded
	} else {
		t.status = ghl.TxnPartiallyRefunded
	}
	t.render()
	touch(&t.updatedAt, at)
	if t.entityType == "order" {
		if o := l.orderByID[t.entityID]; o != nil {
			touch(&o.updatedAt, at)
			l.settle(d, o, at)
		}
	}
}

func (l *location) cancelOrder(o *orderRec, at time.Time) {
	if o.status != ghl.OrderPending {
		return
	}
	o.status = ghl.OrderCancelled
	touch(&o.updatedAt, at)
	l.emitOrder(ghl.EventOrderStatusUpdate, o)
}

// unshipped returns the quantities still to ship, per line.
func (o *orderRec) unshipped() []fulfilledLine {
	done := o.fulfilledQty()
	var out []fulfilledLine
	for _, ln := range o.lines {
		if !ln.price.physical() {
			continue
		}
		if left := ln.qty - done[ln.id]; left > 0 {
			out = append(out, fulfilledLine{lineID: ln.id, price: ln.price, qty: left})
		}
	}
	return out
}

// fulfill ships items and updates the order's fulfillment status.
func (l *location) fulfill(d dice, o *orderRec, items []fulfilledLine, trackings []ghl.Tracking, notify bool, at time.Time) *fulfillmentRec {
	at = at.UTC().Truncate(time.Millisecond)
	f := &fulfillmentRec{id: d.objectID(at), trackings: trackings, items: items, createdAt: at, notified: notify}
	o.fulfillments = append(o.fulfillments, f)
	if len(o.unshipped()) == 0 {
		o.fulfillment = ghl.Fulfilled
	} else {
		o.fulfillment = ghl.PartiallyFulfilled
	}
	touch(&o.updatedAt, at)
	if notify {
		n := Notice{LocationID: l.id, OrderID: o.id, FulfillmentID: f.id, ContactEmail: o.contact.email, At: ghl.NewTime(at)}
		for _, tr := range trackings {
			n.Trackings = append(n.Trackings, tr.TrackingNumber)
		}
		l.notices = append(l.notices, n)
	}
	return f
}

// randomTracking invents a plausible parcel for a carrier.
func randomTracking(d dice) ghl.Tracking {
	switch pick(d, []string{"UPS", "FedEx", "USPS", "DHL"}) {
	case "UPS":
		n := "1Z" + upperAlnum(d, 6) + "03" + d.digits(8)
		return ghl.Tracking{TrackingNumber: n, ShippingCarrier: "UPS", TrackingURL: "https://www.ups.com/track?tracknum=" + n}
	case "FedEx":
		n := d.digits(12)
		return ghl.Tracking{TrackingNumber: n, ShippingCarrier: "FedEx", TrackingURL: "https://www.fedex.com/fedextrack/?trknbr=" + n}
	case "USPS":
		n := "9400" + d.digits(18)
		return ghl.Tracking{TrackingNumber: n, ShippingCarrier: "USPS", TrackingURL: "https://tools.usps.com/go/TrackConfirmAction?tLabels=" + n}
	default:
		n := d.digits(10)
		return ghl.Tracking{TrackingNumber: n, ShippingCarrier: "DHL", TrackingURL: "https://www.dhl.com/en/express/tracking.html?AWB=" + n}
	}
}

func upperAlnum(d dice, n int) string {
	const chars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[d.IntN(len(chars))]
	}
	return string(b)
}

var intervalTypes = map[string]string{"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}

func (l *location) startSubscription(d dice, o *orderRec, ln line, at time.Time) *subRec {
	at = at.UTC().Truncate(time.Millisecond)
	rec := ln.price.p.Recurring
	s := &subRec{
		id: d.objectID(at), contact: o.contact, currency: o.currency, live: o.live,
		amount: ln.minor(), status: ghl.SubActive, orderID: o.id, src: o.src, price: ln.price,
		intervalType: intervalTypes[rec.Interval], interval: max(rec.IntervalCount, 1),
		startDate: at, createdAt: at, updatedAt: at,
	}
	pay := payment{provider: "stripe", account: "acct_" + d.alnum(16)}
	s.providerSubID = "sub_" + d.alnum(24)
	if o.txns != nil {
		last := o.txns[len(o.txns)-1]
		pay.provider, pay.account = last.provider, last.account
		last.subID = s.id
		if last.provider == "paypal" {
			s.providerSubID = "I-" + upperAlnum(d, 12)
		}
	}
	s.provider, s.account = pay.provider, pay.account
	s.nextRun = s.advance(at)
	l.subs = append(l.subs, s)
	l.subByID[s.id] = s
	o.subs = append(o.subs, s)
	return s
}

// advance returns the run after t.
func (s *subRec) advance(t time.Time) time.Time {
	switch s.intervalType {
	case "daily":
		return t.AddDate(0, 0, s.interval)
	case "weekly":
		return t.AddDate(0, 0, 7*s.interval)
	case "yearly":
		return t.AddDate(s.interval, 0, 0)
	default:
		return t.AddDate(0, s.interval, 0)
	}
}

// renew charges a subscription for its next period.
func (l *location) renew(d dice, s *subRec, at time.Time, succeeded bool) *txnRec {
	status := ghl.TxnSucceeded
	if !succeeded {
		status = ghl.TxnFailed
	}
	t := l.newTxn(d, at, s.contact, s.live, s.amount, status, payment{provider: s.provider, account: s.account,
		cardBrand: "visa", last4: d.digits(4)})
	t.entityType, t.entityID, t.subID, t.src = "subscription", s.id, s.id, s.src
	if succeeded {
		s.status = ghl.SubActive
		s.nextRun = s.advance(s.nextRun)
	} else {
		s.status = ghl.SubPastDue
	}
	touch(&s.updatedAt, at)
	return t
}

func (l *location) cancelSubscription(d dice, s *subRec, at time.Time) {
	if s.status == ghl.SubCanceled {
		return
	}
	s.status = ghl.SubCanceled
	s.canceledAt = at.UTC().Truncate(time.Millisecond)
	s.canceledBy = pick(d, []string{s.contact.id, "system"})
	touch(&s.updatedAt, at)
}

// deleteOrder removes an order from GHL's lists, as an operator deleting a
// test order would. The sandbox remembers it as deleted in its truth.
func (l *location) deleteOrder(o *orderRec, at time.Time) {
	o.deleted = true
	l.deleted++
	touch(&o.updatedAt, at)
}

// insertSorted keeps a record slice ordered by creation time when a record
// is created with an older timestamp than the newest one (rare: history).
func insertSorted[T any](xs []T, x T, created func(T) time.Time) []T {
	i, _ := slices.BinarySearchFunc(xs, created(x), func(e T, t time.Time) int { return created(e).Compare(t) })
	return slices.Insert(xs, i, x)
}

// couponOf renders a coupon with its current status.
func couponOf(c *couponRec, now time.Time) ghl.Coupon {
	out := c.c
	out.Status = ghl.CouponActive
	switch {
	case now.Before(c.c.StartDate.Time):
		out.Status = ghl.CouponScheduled
	case !c.c.EndDate.IsZero() && now.After(c.c.EndDate.Time):
		out.Status = ghl.CouponExpired
	}
	return out
}

// rawJSON marshals v, which cannot fail for the maps the sandbox builds.
func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
