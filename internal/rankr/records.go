package rankr

import (
	"encoding/json"
	"time"
)

// Source says where an order (or a payment's entity) came from in GHL: a
// funnel, the store, an invoice, a payment link...
type Source struct {
	Type    string `json:"type,omitempty"`
	SubType string `json:"subType,omitempty"`
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
}

// Order is a GHL order as Rankr keeps it.
type Order struct {
	ID           string `json:"id"`
	LocationID   string `json:"locationId"`
	ContactID    string `json:"contactId,omitempty"` // the customer
	ContactName  string `json:"contactName,omitempty"`
	ContactEmail string `json:"contactEmail,omitempty"`
	Amount       int64  `json:"amount"` // minor units of Currency
	Currency     string `json:"currency"`
	// Status and FulfillmentStatus are GHL's, as GHL sent them.
	Status            string `json:"status"`
	FulfillmentStatus string `json:"fulfillmentStatus"`
	// PaymentStatus is derived by Rankr from the order's transactions; see
	// DerivePaymentStatus.
	PaymentStatus string `json:"paymentStatus"`
	// RankrStatus is where the order stands for Rankr, from the three
	// statuses above; see DeriveOrderStatus.
	RankrStatus string    `json:"rankrStatus"`
	LiveMode    bool      `json:"liveMode"`
	Source      Source    `json:"source"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// DeletedAt is set when the order disappeared from GHL. Rankr never
	// hard-deletes.
	DeletedAt time.Time `json:"deletedAt,omitzero"`

	// Items is nil until the order's detail has been fetched.
	Items []OrderItem `json:"items,omitempty"`
	// RawSummary is the order as GHL lists it; RawDetail as GHL returns it
	// by id (or as a webhook carried it), with items.
	RawSummary json.RawMessage `json:"-"`
	RawDetail  json.RawMessage `json:"-"`
	// DetailUpdatedAt is the UpdatedAt of the detail Rankr holds.
	DetailUpdatedAt time.Time `json:"-"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Qty         int64  `json:"qty"`
	PriceID     string `json:"priceId"`
	ProductID   string `json:"productId"`
	ProductType string `json:"productType,omitempty"` // PHYSICAL, DIGITAL, SERVICE...
	UnitAmount  int64  `json:"unitAmount"`            // minor units
	Currency    string `json:"currency"`
	Recurring   bool   `json:"recurring,omitempty"`
}

// Fulfillment is one shipment of some of an order's items. GHL fulfillments
// never change once created.
type Fulfillment struct {
	ID         string            `json:"id"`
	LocationID string            `json:"locationId"`
	OrderID    string            `json:"orderId"`
	Trackings  []Tracking        `json:"trackings"`
	Items      []FulfillmentItem `json:"items"`
	CreatedAt  time.Time         `json:"createdAt"`
	UpdatedAt  time.Time         `json:"updatedAt"`
	Raw        json.RawMessage   `json:"-"`
}

// Tracking is one parcel's tracking.
type Tracking struct {
	Number  string `json:"trackingNumber,omitempty"`
	Carrier string `json:"carrier,omitempty"`
	URL     string `json:"url,omitempty"`
}

// FulfillmentItem is an order item shipped in a fulfillment.
type FulfillmentItem struct {
	ItemID  string `json:"itemId"` // the order item's id
	PriceID string `json:"priceId"`
	Name    string `json:"name"`
	Qty     int64  `json:"qty"`
}

// Transaction is a payment (or a failed attempt at one) in GHL.
type Transaction struct {
	ID         string `json:"id"`
	LocationID string `json:"locationId"`
	// EntityType and EntityID say what the payment is for: an order, an
	// invoice or a subscription renewal.
	EntityType string `json:"entityType"`
	EntityID   string `json:"entityId"`
	// OrderID is EntityID when the entity is an order.
	OrderID string `json:"orderId,omitempty"`
	// InvoiceID is the invoice paid, directly or through an order that an
	// invoice created.
	InvoiceID      string          `json:"invoiceId,omitempty"`
	SubscriptionID string          `json:"subscriptionId,omitempty"`
	ContactID      string          `json:"contactId,omitempty"`
	Amount         int64           `json:"amount"`
	AmountRefunded int64           `json:"amountRefunded"`
	Currency       string          `json:"currency"`
	Status         string          `json:"status"`
	LiveMode       bool            `json:"liveMode"`
	Provider       string          `json:"provider,omitempty"`
	ChargeID       string          `json:"chargeId,omitempty"`
	CreatedAt      time.Time       `json:"createdAt"` // when the payment happened
	UpdatedAt      time.Time       `json:"updatedAt"`
	DeletedAt      time.Time       `json:"deletedAt,omitzero"`
	Raw            json.RawMessage `json:"-"`
}

// Collected reports whether the transaction's money arrived (a later refund
// notwithstanding). Unknown statuses count as not collected.
func (t Transaction) Collected() bool { return CollectedStatus(t.Status) }

// CollectedStatus reports whether a transaction status means the money
// arrived.
func CollectedStatus(status string) bool {
	switch status {
	case "succeeded", "refunded", "partially_refunded", "paid":
		return true
	}
	return false
}

// Subscription is a recurring payment in GHL.
type Subscription struct {
	ID           string `json:"id"`
	LocationID   string `json:"locationId"`
	ContactID    string `json:"contactId,omitempty"`
	ContactName  string `json:"contactName,omitempty"`
	ContactEmail string `json:"contactEmail,omitempty"`
	Amount       int64  `json:"amount"`
	Currency     string `json:"currency"`
	Status       string `json:"status"`
	LiveMode     bool   `json:"liveMode"`
	// OrderID is the order that started the subscription.
	OrderID string `json:"orderId,omitempty"`
	// ProviderSubscriptionID is the payment provider's id (sub_…, I-…).
	ProviderSubscriptionID string `json:"providerSubscriptionId,omitempty"`
	// Interval and IntervalCount come from the subscription's detail:
	// monthly and 3 mean every three months.
	Interval      string    `json:"interval,omitempty"`
	IntervalCount int       `json:"intervalCount,omitempty"`
	NextRunAt     time.Time `json:"nextRunAt,omitzero"`
	CanceledAt    time.Time `json:"canceledAt,omitzero"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	DeletedAt     time.Time `json:"deletedAt,omitzero"`

	RawSummary      json.RawMessage `json:"-"`
	RawDetail       json.RawMessage `json:"-"`
	DetailUpdatedAt time.Time       `json:"-"`
}

// Invoice is a GHL invoice, kept for reconciliation.
type Invoice struct {
	ID           string          `json:"id"`
	LocationID   string          `json:"locationId"`
	Number       string          `json:"number"`
	Name         string          `json:"name,omitempty"`
	Status       string          `json:"status"`
	ContactID    string          `json:"contactId,omitempty"`
	ContactName  string          `json:"contactName,omitempty"`
	ContactEmail string          `json:"contactEmail,omitempty"`
	Currency     string          `json:"currency"`
	Total        int64           `json:"total"`
	AmountPaid   int64           `json:"amountPaid"`
	AmountDue    int64           `json:"amountDue"`
	LiveMode     bool            `json:"liveMode"`
	IssueDate    string          `json:"issueDate,omitempty"` // YYYY-MM-DD
	DueDate      string          `json:"dueDate,omitempty"`
	CreatedAt    time.Time       `json:"createdAt"`
	UpdatedAt    time.Time       `json:"updatedAt"`
	DeletedAt    time.Time       `json:"deletedAt,omitzero"`
	Raw          json.RawMessage `json:"-"`
}

// Payment statuses Rankr derives for orders.
const (
	PaymentUnpaid            = "unpaid"
	PaymentPartiallyPaid     = "partially_paid"
	PaymentPaid              = "paid"
	PaymentPartiallyRefunded = "partially_refunded"
	PaymentRefunded          = "refunded"
)

// DerivePaymentStatus says how far an order of amount is paid, from the sums
// of its collected transactions and their refunds.
func DerivePaymentStatus(amount, paid, refunded int64) string {
	switch {
	case paid <= 0:
		return PaymentUnpaid
	case refunded >= paid:
		return PaymentRefunded
	case refunded > 0:
		return PaymentPartiallyRefunded
	case paid >= amount:
		return PaymentPaid
	}
	return PaymentPartiallyPaid
}
