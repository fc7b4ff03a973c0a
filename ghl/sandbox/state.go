package sandbox

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
)

// location is one sub-account and everything it holds. Records are kept in
// compact internal forms and rendered to GHL's shapes on the way out, so
// that a location with 100,000 orders stays small.
type location struct {
	id, name, token string
	companyID       string
	userID          string // the sub-account user the seeded catalog is by
	currency        string

	mu       sync.RWMutex
	rng      *rand.Rand // drives this location's live activity
	contacts []*contact
	products []*productRec

	orders    []*orderRec // ascending by createdAt
	orderByID map[string]*orderRec
	txns      []*txnRec // ascending by createdAt
	txnByID   map[string]*txnRec
	subs      []*subRec
	subByID   map[string]*subRec
	invoices  []*invoiceRec
	invByID   map[string]*invoiceRec
	nextInvNo int
	// book holds the invoices API's other records (schedules); see
	// invoice_schedules.go.
	book invoiceBook

	// deleted counts deleted records; while it is zero, unfiltered lists
	// are served by slicing instead of scanning.
	deleted int

	coupons        []*couponRec
	whitelabel     []*ghl.WhiteLabelProvider
	customProvider *ghl.CustomProvider
	capabilities   *bool
	notices        []Notice
	store          storeState // shipping zones, carriers and settings
	shop           *shop      // the products API's catalog, collections, reviews and store

	limiter *limiter
	// emit queues a webhook; nil while the history is being generated.
	emit func(typ, locationID string, payload any)
}

type contact struct {
	id, first, last, full, email, phone string
	city, state, country, postal        string
	createdAt                           time.Time
}

func (c *contact) name() string { return c.full }

func (c *contact) snapshot(locationID string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"id": c.id, "locationId": locationID, "firstName": c.first, "lastName": c.last,
		"name": c.name(), "email": c.email, "phone": c.phone, "city": c.city, "state": c.state,
		"country": c.country, "postalCode": c.postal, "dnd": false, "tags": []string{},
		"dateAdded": ghl.NewTime(c.createdAt),
	})
	return b
}

type productRec struct {
	p      ghl.Product
	prices []*priceRec
}

type priceRec struct {
	p       ghl.Price
	product *productRec
	minor   int64 // amount in minor units
}

func (p *priceRec) recurring() bool { return p.p.Type == ghl.PriceRecurring }

// physical reports whether the product ships, and so needs fulfilling.
func (p *priceRec) physical() bool { return p.product.p.ProductType == "PHYSICAL" }

type source struct {
	typ     ghl.SourceType
	subType string
	id      string
	name    string
	meta    json.RawMessage
}

type line struct {
	id    string
	price *priceRec
	qty   int
}

func (l line) minor() int64 { return l.price.minor * int64(l.qty) }

type orderRec struct {
	id          string
	contact     *contact
	currency    string
	live        bool
	lines       []line
	subtotal    int64
	discount    int64
	tax         int64
	shipping    int64
	couponID    string
	couponCode  string
	src         source
	status      ghl.OrderStatus
	fulfillment ghl.FulfillmentStatus
	payment     ghl.PaymentStatus // GHL has no such field; the list filter needs it
	createdBy   string
	trackingID  string
	fingerprint string
	createdAt   time.Time
	updatedAt   time.Time
	deleted     bool

	fulfillments []*fulfillmentRec
	txns         []*txnRec
	subs         []*subRec
	notes        []note
}

func (o *orderRec) amount() int64 { return o.subtotal - o.discount + o.tax + o.shipping }

// paid and refunded sum the order's own successful transactions.
func (o *orderRec) paid() (paid, refunded int64) {
	for _, t := range o.txns {
		if t.entityType == "order" && t.collected() && !t.deleted {
			paid += t.amount
			refunded += t.refunded
		}
	}
	return paid, refunded
}

// fulfilledQty counts what the order's fulfillments shipped, per line.
func (o *orderRec) fulfilledQty() map[string]int {
	q := map[string]int{}
	for _, f := range o.fulfillments {
		for _, it := range f.items {
			q[it.lineID] += it.qty
		}
	}
	return q
}

func (o *orderRec) needsShipping() bool {
	for _, l := range o.lines {
		if l.price.physical() {
			return true
		}
	}
	return false
}

type note struct {
	id, text, by string
	at           time.Time
}

type fulfillmentRec struct {
	id        string
	trackings []ghl.Tracking
	items     []fulfilledLine
	createdAt time.Time
	notified  bool
}

type fulfilledLine struct {
	lineID string
	price  *priceRec
	qty    int
}

type txnRec struct {
	id         string
	contact    *contact
	currency   string
	live       bool
	amount     int64
	refunded   int64
	status     ghl.TransactionStatus
	entityType string // order, invoice or subscription
	entityID   string
	src        source
	subID      string // GHL subscription id
	invoiceID  string
	chargeID   string
	provider   string
	account    string
	cardBrand  string
	last4      string
	manualMode string
	ip         string
	receiptID  string
	// chargeJSON and methodJSON are rendered when the transaction changes,
	// not on every read.
	chargeJSON  json.RawMessage
	methodJSON  json.RawMessage
	createdAt   time.Time
	updatedAt   time.Time
	fulfilledAt time.Time
	deleted     bool
}

// collected reports whether the money arrived (a later refund included).
func (t *txnRec) collected() bool {
	switch t.status {
	case ghl.TxnSucceeded, ghl.TxnRefunded, ghl.TxnPartiallyRefunded:
		return true
	}
	return false
}

type subRec struct {
	id            string
	providerSubID string
	contact       *contact
	currency      string
	live          bool
	amount        int64
	status        ghl.SubscriptionStatus
	orderID       string
	src           source
	price         *priceRec
	intervalType  string // monthly, yearly, weekly, daily
	interval      int
	startDate     time.Time
	nextRun       time.Time
	canceledAt    time.Time
	canceledBy    string
	provider      string
	account       string
	createdAt     time.Time
	updatedAt     time.Time
	deleted       bool
}

type couponRec struct {
	c ghl.Coupon
}

// Notice is a customer notification GHL would have sent because a
// fulfillment was created with notifyCustomer.
type Notice struct {
	LocationID    string   `json:"locationId"`
	OrderID       string   `json:"orderId"`
	FulfillmentID string   `json:"fulfillmentId"`
	ContactEmail  string   `json:"contactEmail"`
	Trackings     []string `json:"trackingNumbers"`
	At            ghl.Time `json:"at"`
}

// touch moves a record's updatedAt to now, and always forward: two changes in
// the same millisecond still get distinct, increasing timestamps, as a
// client's "newer wins" rule needs.
func touch(at *time.Time, now time.Time) {
	now = now.UTC().Truncate(time.Millisecond)
	if !now.After(*at) {
		now = at.Add(time.Millisecond)
	}
	*at = now
}

func money(minor int64) ghl.Number { return ghl.NumberFromScaled(minor, 2) }
