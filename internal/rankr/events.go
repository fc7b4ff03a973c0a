package rankr

import (
	"encoding/json"
	"time"
)

// Event is one entry of the change feed: every effective change to a record
// appends exactly one, in commit order; a no-op appends none.
type Event struct {
	Seq        int64           `json:"seq"`
	LocationID string          `json:"locationId"`
	Kind       string          `json:"kind"`
	RecordType string          `json:"recordType"` // order, fulfillment, transaction, subscription, invoice, product, price
	RecordID   string          `json:"recordId"`
	At         time.Time       `json:"at"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// Event kinds.
const (
	OrderCreated                  = "order.created"
	OrderUpdated                  = "order.updated"
	OrderStatusChanged            = "order.status_changed"
	OrderFulfillmentStatusChanged = "order.fulfillment_status_changed"
	OrderPaymentStatusChanged     = "order.payment_status_changed"
	OrderDeleted                  = "order.deleted"
	FulfillmentCreated            = "fulfillment.created"
	TransactionCreated            = "transaction.created"
	TransactionUpdated            = "transaction.updated"
	TransactionStatusChanged      = "transaction.status_changed"
	TransactionDeleted            = "transaction.deleted"
	SubscriptionCreated           = "subscription.created"
	SubscriptionUpdated           = "subscription.updated"
	SubscriptionStatusChanged     = "subscription.status_changed"
	SubscriptionRenewed           = "subscription.renewed"
	SubscriptionDeleted           = "subscription.deleted"
	InvoiceCreated                = "invoice.created"
	InvoiceUpdated                = "invoice.updated"
	InvoiceStatusChanged          = "invoice.status_changed"
	InvoiceDeleted                = "invoice.deleted"
	ProductCreated                = "product.created"
	ProductUpdated                = "product.updated"
	ProductDeleted                = "product.deleted"
	PriceCreated                  = "price.created"
	PriceUpdated                  = "price.updated"
	PriceDeleted                  = "price.deleted"
)

// Record types named by events and by deletion marks.
const (
	RecordOrder        = "order"
	RecordFulfillment  = "fulfillment"
	RecordTransaction  = "transaction"
	RecordSubscription = "subscription"
	RecordInvoice      = "invoice"
	RecordProduct      = "product"
	RecordPrice        = "price"
)

// InboxEvent is a webhook as received, kept durably until processed.
type InboxEvent struct {
	Seq        int64
	WebhookID  string // GHL's webhookId, or a hash of the body when it has none
	Type       string
	LocationID string
	ReceivedAt time.Time
	EventAt    time.Time // the body's timestamp, when it had one
	Body       []byte    // exactly as received (its signature verified)
	Attempts   int
	Outcome    string
}
