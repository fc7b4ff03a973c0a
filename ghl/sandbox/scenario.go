package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rankr/rankr/ghl"
)

// The scenario operations make one chosen change now, through the same
// mutations as live activity (so updatedAt, payment status, order status,
// subscriptions and webhooks follow as they do for any change). Tests and
// demos use them to build exactly the situation they need: an order paid in
// part or twice, a refund, a shipment, an invoice paid in part, a renewal.
// They are Go methods and, under the admin API, POST
// /_sandbox/locations/{id}/scenario.

// OrderSpec describes an order to create.
type OrderSpec struct {
	// Physical: one shippable product (else one digital product).
	Physical bool `json:"physical,omitempty"`
	// Recurring: one subscription product instead; its subscription starts
	// when the order is paid in full.
	Recurring bool `json:"recurring,omitempty"`
	// Test: a test-mode order (liveMode false).
	Test bool `json:"test,omitempty"`
	// FromInvoice: the order is an invoice's (its source), billing exactly
	// the invoice's total.
	FromInvoice bool `json:"fromInvoice,omitempty"`
}

// PaymentSpec is a payment as a payment provider may report it to GHL:
// against any entity (or none), in any currency and mode. Unlike a charge,
// it leaves its entity as it was. It is how GHL comes to hold the payments
// reconciliation must flag: for an order it does not have, test money on a
// live order, another currency.
type PaymentSpec struct {
	EntityType string `json:"entityType,omitempty"` // order, invoice, subscription, or empty for none
	EntityID   string `json:"entityId,omitempty"`
	Amount     int64  `json:"amount"`             // minor units
	Currency   string `json:"currency,omitempty"` // default: the location's
	Test       bool   `json:"test,omitempty"`     // a test-mode payment
}

// locked runs fn with the location's lock held and its dice.
func (s *Server) locked(locationID string, fn func(l *location, d dice) error) error {
	l := s.location(locationID)
	if l == nil {
		return errUnknownLocation(locationID)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return fn(l, dice{l.rng})
}

// scenarioPrice picks the catalog price an order spec asks for.
func (l *location) scenarioPrice(spec OrderSpec) *priceRec {
	for _, pr := range l.products {
		for _, p := range pr.prices {
			switch {
			case spec.Recurring:
				if p.recurring() {
					return p
				}
			case p.recurring():
			case spec.Physical == p.physical():
				return p
			}
		}
	}
	return l.products[0].prices[0]
}

// NewOrder creates an order now and returns its id and amount (minor
// units).
func (s *Server) NewOrder(locationID string, spec OrderSpec) (id string, amount int64, err error) {
	err = s.locked(locationID, func(l *location, d dice) error {
		now := s.clock()
		os := orderSpec{contact: pick(d, l.contacts), live: !spec.Test, src: randomSource(d, l, now)}
		if os.src.typ == ghl.SourceInvoice {
			os.src.typ, os.src.subType = ghl.SourceFunnel, "one_step_order_form"
		}
		p := l.scenarioPrice(spec)
		os.lines = []line{{id: d.objectID(now), price: p, qty: 1}}
		var inv *invoiceRec
		if spec.FromInvoice {
			inv = l.createInvoice(d, now, os.contact, []invoiceLine{{id: d.objectID(now), price: p, qty: 1}}, os.live)
			l.sendInvoice(inv, now)
			os.src = source{typ: ghl.SourceInvoice, id: inv.id, name: fmt.Sprintf("Invoice #%d", inv.number)}
		}
		o := l.createOrder(d, now, os)
		if inv != nil {
			o.tax, o.shipping, inv.discount = 0, 0, o.discount
		}
		id, amount = o.id, o.amount()
		return nil
	})
	return id, amount, err
}

// PayOrder charges an order amount (minor units) as its payment provider
// would: more than is due is taken too (an overpayment), unlike GHL's
// record-payment. It returns the transaction's id.
func (s *Server) PayOrder(locationID, orderID string, amount int64) (string, error) {
	var id string
	err := s.locked(locationID, func(l *location, d dice) error {
		o := l.orderByID[orderID]
		if o == nil || o.deleted {
			return fmt.Errorf("no order %s", orderID)
		}
		if amount <= 0 {
			return errors.New("the amount must be positive")
		}
		id = l.charge(d, o, amount, s.clock(), ghl.TxnSucceeded, l.randomPayment(d)).id
		return nil
	})
	return id, err
}

// Refund gives back amount (minor units) of a collected transaction.
func (s *Server) Refund(locationID, transactionID string, amount int64) error {
	return s.locked(locationID, func(l *location, d dice) error {
		t := l.txnByID[transactionID]
		if t == nil || t.deleted || !t.collected() || t.refunded >= t.amount {
			return fmt.Errorf("no refundable transaction %s", transactionID)
		}
		l.refund(d, t, amount, s.clock())
		return nil
	})
}

// FulfillOrder ships everything left to ship of an order, in one parcel.
func (s *Server) FulfillOrder(locationID, orderID string) error {
	return s.locked(locationID, func(l *location, d dice) error {
		o := l.orderByID[orderID]
		if o == nil || o.deleted {
			return fmt.Errorf("no order %s", orderID)
		}
		left := o.unshipped()
		if len(left) == 0 {
			return fmt.Errorf("order %s has nothing left to ship", orderID)
		}
		l.fulfill(d, o, left, []ghl.Tracking{randomTracking(d)}, false, s.clock())
		return nil
	})
}

// NewInvoice creates and sends an invoice for one digital product, and
// returns its id and total (minor units).
func (s *Server) NewInvoice(locationID string, test bool) (id string, total int64, err error) {
	err = s.locked(locationID, func(l *location, d dice) error {
		now := s.clock()
		p := l.scenarioPrice(OrderSpec{})
		inv := l.createInvoice(d, now, pick(d, l.contacts), []invoiceLine{{id: d.objectID(now), price: p, qty: 1}}, !test)
		l.sendInvoice(inv, now)
		id, total = inv.id, inv.total()
		return nil
	})
	return id, total, err
}

// PayInvoice pays amount (minor units) of an invoice, at most what is due.
func (s *Server) PayInvoice(locationID, invoiceID string, amount int64) (string, error) {
	var id string
	err := s.locked(locationID, func(l *location, d dice) error {
		inv := l.invByID[invoiceID]
		if inv == nil || inv.deleted {
			return fmt.Errorf("no invoice %s", invoiceID)
		}
		t := l.payInvoice(d, inv, amount, s.clock(), l.randomPayment(d))
		if t == nil {
			return fmt.Errorf("invoice %s has nothing due", invoiceID)
		}
		id = t.id
		return nil
	})
	return id, err
}

// Renew charges a subscription for its next period (a failed attempt when
// succeeded is false) and returns the transaction's id.
func (s *Server) Renew(locationID, subscriptionID string, succeeded bool) (string, error) {
	var id string
	err := s.locked(locationID, func(l *location, d dice) error {
		sub := l.subByID[subscriptionID]
		if sub == nil || sub.deleted || sub.status == ghl.SubCanceled {
			return fmt.Errorf("no renewable subscription %s", subscriptionID)
		}
		id = l.renew(d, sub, s.clock(), succeeded).id
		return nil
	})
	return id, err
}

// CancelSubscription cancels a subscription.
func (s *Server) CancelSubscription(locationID, subscriptionID string) error {
	return s.locked(locationID, func(l *location, d dice) error {
		sub := l.subByID[subscriptionID]
		if sub == nil || sub.deleted {
			return fmt.Errorf("no subscription %s", subscriptionID)
		}
		l.cancelSubscription(d, sub, s.clock())
		return nil
	})
}

// InjectPayment records a payment as a provider reported it; see
// PaymentSpec. It returns the transaction's id.
func (s *Server) InjectPayment(locationID string, p PaymentSpec) (string, error) {
	var id string
	err := s.locked(locationID, func(l *location, d dice) error {
		if p.Amount <= 0 {
			return errors.New("the amount must be positive")
		}
		now := s.clock()
		c := pick(d, l.contacts)
		src := source{typ: ghl.SourceManual, subType: "payments_dashboard", name: "Manual"}
		switch p.EntityType {
		case "order":
			if o := l.orderByID[p.EntityID]; o != nil {
				c, src = o.contact, o.src
			}
		case "invoice":
			if inv := l.invByID[p.EntityID]; inv != nil {
				c, src = inv.contact, source{typ: ghl.SourceInvoice, id: inv.id, name: inv.name}
			}
		case "subscription":
			if sub := l.subByID[p.EntityID]; sub != nil {
				c, src = sub.contact, sub.src
			}
		case "":
			if p.EntityID != "" {
				return errors.New("an entity id needs an entity type")
			}
		default:
			return fmt.Errorf("unknown entity type %q", p.EntityType)
		}
		t := l.newTxn(d, now, c, !p.Test, p.Amount, ghl.TxnSucceeded, l.randomPayment(d))
		t.entityType, t.entityID, t.src = p.EntityType, p.EntityID, src
		switch p.EntityType {
		case "invoice":
			t.invoiceID = p.EntityID
		case "subscription":
			t.subID = p.EntityID
		}
		if p.Currency != "" {
			t.currency = strings.ToUpper(p.Currency)
		}
		t.render()
		id = t.id
		return nil
	})
	return id, err
}

// scenarioBody is the admin API's scenario request: an op and its fields.
type scenarioBody struct {
	Op          string `json:"op"`           // order, pay, refund, fulfill, invoice, payInvoice, renew, cancelSubscription, payment
	ID          string `json:"id,omitempty"` // the order, transaction, invoice or subscription
	Physical    bool   `json:"physical,omitempty"`
	Recurring   bool   `json:"recurring,omitempty"`
	Test        bool   `json:"test,omitempty"`
	FromInvoice bool   `json:"fromInvoice,omitempty"`
	EntityType  string `json:"entityType,omitempty"`
	EntityID    string `json:"entityId,omitempty"`
	Amount      int64  `json:"amount,omitempty"` // minor units
	Currency    string `json:"currency,omitempty"`
	Failed      bool   `json:"failed,omitempty"` // a failed renewal
}

func (s *Server) scenarioRoute(mux *http.ServeMux) {
	mux.HandleFunc("POST "+AdminPrefix+"/locations/{locationId}/scenario", func(w http.ResponseWriter, r *http.Request) {
		var b scenarioBody
		if !adminDecode(w, r, &b) {
			return
		}
		loc := r.PathValue("locationId")
		out := map[string]any{}
		var err error
		switch b.Op {
		case "order":
			var id string
			var amount int64
			id, amount, err = s.NewOrder(loc, OrderSpec{Physical: b.Physical, Recurring: b.Recurring, Test: b.Test, FromInvoice: b.FromInvoice})
			out["id"], out["amount"] = id, amount
		case "pay":
			out["transactionId"], err = s.PayOrder(loc, b.ID, b.Amount)
		case "refund":
			err = s.Refund(loc, b.ID, b.Amount)
		case "fulfill":
			err = s.FulfillOrder(loc, b.ID)
		case "invoice":
			var id string
			var total int64
			id, total, err = s.NewInvoice(loc, b.Test)
			out["id"], out["total"] = id, total
		case "payInvoice":
			out["transactionId"], err = s.PayInvoice(loc, b.ID, b.Amount)
		case "renew":
			out["transactionId"], err = s.Renew(loc, b.ID, !b.Failed)
		case "cancelSubscription":
			err = s.CancelSubscription(loc, b.ID)
		case "payment":
			out["transactionId"], err = s.InjectPayment(loc, PaymentSpec{EntityType: b.EntityType, EntityID: b.EntityID,
				Amount: b.Amount, Currency: b.Currency, Test: b.Test})
		default:
			err = fmt.Errorf("unknown op %q (want order, pay, refund, fulfill, invoice, payInvoice, renew, cancelSubscription or payment)", b.Op)
		}
		adminAnswer(w, out, err)
	})
}
