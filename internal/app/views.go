package app

import (
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// Money is an amount in major units, written as a JSON number: 150.1 USD
// is 150.10, exactly.
type Money struct {
	Minor    int64
	Currency string
}

func (m Money) MarshalJSON() ([]byte, error) {
	return []byte(rankr.FormatMinor(m.Minor, m.Currency)), nil
}
func (m Money) String() string { return rankr.FormatMinor(m.Minor, m.Currency) + " " + m.Currency }

// The JSON views: GHL ids in id, typed fields in camelCase, amounts in major
// units.

// Order is an order as Rankr holds it; its page adds its fulfillments
// and payments.
type Order struct {
	ID                string        `json:"id"`
	LocationID        string        `json:"locationId"`
	ContactID         string        `json:"contactId,omitempty"`
	ContactName       string        `json:"contactName,omitempty"`
	ContactEmail      string        `json:"contactEmail,omitempty"`
	Amount            Money         `json:"amount"`
	Currency          string        `json:"currency"`
	Status            string        `json:"status"`
	FulfillmentStatus string        `json:"fulfillmentStatus"`
	PaymentStatus     string        `json:"paymentStatus"`
	RankrStatus       string        `json:"rankrStatus"`
	LiveMode          bool          `json:"liveMode"`
	Source            rankr.Source  `json:"source"`
	CreatedAt         time.Time     `json:"createdAt"`
	UpdatedAt         time.Time     `json:"updatedAt"`
	DeletedAt         time.Time     `json:"deletedAt,omitzero"`
	Items             []OrderItem   `json:"items,omitempty"`
	Fulfillments      []Fulfillment `json:"fulfillments,omitempty"`
	Transactions      []Transaction `json:"transactions,omitempty"`
}

// OrderItem is a line of an order.
type OrderItem struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Qty         int64  `json:"qty"`
	PriceID     string `json:"priceId"`
	ProductID   string `json:"productId"`
	ProductType string `json:"productType,omitempty"`
	UnitAmount  Money  `json:"unitAmount"`
	Recurring   bool   `json:"recurring,omitempty"`
}

// NewOrder is the view of an order (without its related records).
func NewOrder(o rankr.Order) Order {
	v := Order{ID: o.ID, LocationID: o.LocationID, ContactID: o.ContactID, ContactName: o.ContactName,
		ContactEmail: o.ContactEmail, Amount: Money{o.Amount, o.Currency}, Currency: o.Currency, Status: o.Status,
		FulfillmentStatus: o.FulfillmentStatus, PaymentStatus: o.PaymentStatus, RankrStatus: o.RankrStatus, LiveMode: o.LiveMode, Source: o.Source,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, DeletedAt: o.DeletedAt}
	for _, it := range o.Items {
		v.Items = append(v.Items, OrderItem{ID: it.ID, Name: it.Name, Qty: it.Qty, PriceID: it.PriceID, ProductID: it.ProductID,
			ProductType: it.ProductType, UnitAmount: Money{it.UnitAmount, it.Currency}, Recurring: it.Recurring})
	}
	return v
}

// Fulfillment is a shipment GHL records for an order.
type Fulfillment struct {
	ID         string                  `json:"id"`
	LocationID string                  `json:"locationId"`
	OrderID    string                  `json:"orderId"`
	Trackings  []rankr.Tracking        `json:"trackings"`
	Items      []rankr.FulfillmentItem `json:"items"`
	CreatedAt  time.Time               `json:"createdAt"`
}

// NewFulfillment is the view of a fulfillment.
func NewFulfillment(f rankr.Fulfillment) Fulfillment {
	return Fulfillment{ID: f.ID, LocationID: f.LocationID, OrderID: f.OrderID, Trackings: f.Trackings, Items: f.Items, CreatedAt: f.CreatedAt}
}

// Transaction is a payment (or its refunds).
type Transaction struct {
	ID             string    `json:"id"`
	LocationID     string    `json:"locationId"`
	EntityType     string    `json:"entityType"`
	EntityID       string    `json:"entityId"`
	OrderID        string    `json:"orderId,omitempty"`
	InvoiceID      string    `json:"invoiceId,omitempty"`
	SubscriptionID string    `json:"subscriptionId,omitempty"`
	ContactID      string    `json:"contactId,omitempty"`
	Amount         Money     `json:"amount"`
	AmountRefunded Money     `json:"amountRefunded"`
	Currency       string    `json:"currency"`
	Status         string    `json:"status"`
	LiveMode       bool      `json:"liveMode"`
	Provider       string    `json:"provider,omitempty"`
	ChargeID       string    `json:"chargeId,omitempty"`
	Timestamp      time.Time `json:"timestamp"`
	UpdatedAt      time.Time `json:"updatedAt"`
	DeletedAt      time.Time `json:"deletedAt,omitzero"`
}

// NewTransaction is the view of a transaction.
func NewTransaction(x rankr.Transaction) Transaction {
	return Transaction{ID: x.ID, LocationID: x.LocationID, EntityType: x.EntityType, EntityID: x.EntityID, OrderID: x.OrderID,
		InvoiceID: x.InvoiceID, SubscriptionID: x.SubscriptionID, ContactID: x.ContactID, Amount: Money{x.Amount, x.Currency},
		AmountRefunded: Money{x.AmountRefunded, x.Currency}, Currency: x.Currency, Status: x.Status, LiveMode: x.LiveMode,
		Provider: x.Provider, ChargeID: x.ChargeID, Timestamp: x.CreatedAt, UpdatedAt: x.UpdatedAt, DeletedAt: x.DeletedAt}
}

// Subscription is a recurring payment plan.
type Subscription struct {
	ID                     string    `json:"id"`
	LocationID             string    `json:"locationId"`
	ContactID              string    `json:"contactId,omitempty"`
	ContactName            string    `json:"contactName,omitempty"`
	ContactEmail           string    `json:"contactEmail,omitempty"`
	Amount                 Money     `json:"amount"`
	Currency               string    `json:"currency"`
	Status                 string    `json:"status"`
	LiveMode               bool      `json:"liveMode"`
	OrderID                string    `json:"orderId,omitempty"`
	ProviderSubscriptionID string    `json:"providerSubscriptionId,omitempty"`
	Interval               string    `json:"interval,omitempty"`
	IntervalCount          int       `json:"intervalCount,omitempty"`
	NextRunAt              time.Time `json:"nextRunAt,omitzero"`
	CanceledAt             time.Time `json:"canceledAt,omitzero"`
	CreatedAt              time.Time `json:"createdAt"`
	UpdatedAt              time.Time `json:"updatedAt"`
	DeletedAt              time.Time `json:"deletedAt,omitzero"`
}

// NewSubscription is the view of a subscription.
func NewSubscription(x rankr.Subscription) Subscription {
	return Subscription{ID: x.ID, LocationID: x.LocationID, ContactID: x.ContactID, ContactName: x.ContactName,
		ContactEmail: x.ContactEmail, Amount: Money{x.Amount, x.Currency}, Currency: x.Currency, Status: x.Status,
		LiveMode: x.LiveMode, OrderID: x.OrderID, ProviderSubscriptionID: x.ProviderSubscriptionID, Interval: x.Interval,
		IntervalCount: x.IntervalCount, NextRunAt: x.NextRunAt, CanceledAt: x.CanceledAt, CreatedAt: x.CreatedAt,
		UpdatedAt: x.UpdatedAt, DeletedAt: x.DeletedAt}
}

// Invoice is a GHL invoice.
type Invoice struct {
	ID           string    `json:"id"`
	LocationID   string    `json:"locationId"`
	Number       string    `json:"number"`
	Name         string    `json:"name,omitempty"`
	Status       string    `json:"status"`
	ContactID    string    `json:"contactId,omitempty"`
	ContactName  string    `json:"contactName,omitempty"`
	ContactEmail string    `json:"contactEmail,omitempty"`
	Currency     string    `json:"currency"`
	Total        Money     `json:"total"`
	AmountPaid   Money     `json:"amountPaid"`
	AmountDue    Money     `json:"amountDue"`
	LiveMode     bool      `json:"liveMode"`
	IssueDate    string    `json:"issueDate,omitempty"`
	DueDate      string    `json:"dueDate,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	DeletedAt    time.Time `json:"deletedAt,omitzero"`
}

// NewInvoice is the view of an invoice.
func NewInvoice(x rankr.Invoice) Invoice {
	return Invoice{ID: x.ID, LocationID: x.LocationID, Number: x.Number, Name: x.Name, Status: x.Status,
		ContactID: x.ContactID, ContactName: x.ContactName, ContactEmail: x.ContactEmail, Currency: x.Currency,
		Total: Money{x.Total, x.Currency}, AmountPaid: Money{x.AmountPaid, x.Currency}, AmountDue: Money{x.AmountDue, x.Currency},
		LiveMode: x.LiveMode, IssueDate: x.IssueDate, DueDate: x.DueDate, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt, DeletedAt: x.DeletedAt}
}

// Product is a product of a location's catalog; shown alone, it has its
// prices.
type Product struct {
	ID               string    `json:"id"`
	LocationID       string    `json:"locationId"`
	Name             string    `json:"name"`
	Description      string    `json:"description,omitempty"`
	ProductType      string    `json:"productType,omitempty"`
	AvailableInStore bool      `json:"availableInStore"`
	Image            string    `json:"image,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	DeletedAt        time.Time `json:"deletedAt,omitzero"`
	Prices           []Price   `json:"prices,omitempty"`
}

// Price is a price of a product.
type Price struct {
	ID                string    `json:"id"`
	ProductID         string    `json:"productId"`
	Name              string    `json:"name"`
	Type              string    `json:"type"` // one_time or recurring
	Amount            Money     `json:"amount"`
	Currency          string    `json:"currency"`
	Interval          string    `json:"interval,omitempty"`
	IntervalCount     int       `json:"intervalCount,omitempty"`
	SKU               string    `json:"sku,omitempty"`
	TrackInventory    bool      `json:"trackInventory"`
	AvailableQuantity *int64    `json:"availableQuantity,omitempty"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
}

// NewProduct is the view of a product, with the prices it holds.
func NewProduct(x rankr.Product) Product {
	p := Product{ID: x.ID, LocationID: x.LocationID, Name: x.Name, Description: x.Description, ProductType: x.ProductType,
		AvailableInStore: x.AvailableInStore, Image: x.Image, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt, DeletedAt: x.DeletedAt}
	for _, pr := range x.Prices {
		p.Prices = append(p.Prices, NewPrice(pr))
	}
	return p
}

// NewPrice is the view of a price.
func NewPrice(x rankr.Price) Price {
	return Price{ID: x.ID, ProductID: x.ProductID, Name: x.Name, Type: x.Type, Amount: Money{x.Amount, x.Currency},
		Currency: x.Currency, Interval: x.Interval, IntervalCount: x.IntervalCount, SKU: x.SKU, TrackInventory: x.TrackInventory,
		AvailableQuantity: x.AvailableQuantity, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
}
