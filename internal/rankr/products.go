package rankr

import (
	"encoding/json"
	"time"
)

// Product is a GHL product (of a location's catalog) as Rankr keeps it:
// fulfillment items and order lines name their products and prices by id.
type Product struct {
	ID               string    `json:"id"`
	LocationID       string    `json:"locationId"`
	Name             string    `json:"name"`
	Description      string    `json:"description,omitempty"`
	ProductType      string    `json:"productType,omitempty"` // PHYSICAL, DIGITAL, SERVICE, PHYSICAL/DIGITAL
	AvailableInStore bool      `json:"availableInStore"`
	Image            string    `json:"image,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	DeletedAt        time.Time `json:"deletedAt,omitzero"`
	// Prices are the product's prices not deleted, filled by the store's
	// ProductGet only.
	Prices []Price         `json:"prices,omitempty"`
	Raw    json.RawMessage `json:"-"`
}

// Price is one price of a product.
type Price struct {
	ID         string `json:"id"`
	LocationID string `json:"locationId"`
	ProductID  string `json:"productId"`
	Name       string `json:"name"`
	Type       string `json:"type"`   // one_time or recurring, as GHL sent it
	Amount     int64  `json:"amount"` // minor units of Currency
	Currency   string `json:"currency"`
	// Interval and IntervalCount are a recurring price's period.
	Interval      string `json:"interval,omitempty"` // day, week, month, year
	IntervalCount int    `json:"intervalCount,omitempty"`
	SKU           string `json:"sku,omitempty"`
	// TrackInventory says whether GHL counts the stock; AvailableQuantity
	// is the stock, nil when GHL sent none.
	TrackInventory    bool            `json:"trackInventory"`
	AvailableQuantity *int64          `json:"availableQuantity,omitempty"`
	CreatedAt         time.Time       `json:"createdAt"`
	UpdatedAt         time.Time       `json:"updatedAt"`
	DeletedAt         time.Time       `json:"deletedAt,omitzero"`
	Raw               json.RawMessage `json:"-"`
}

// Price types.
const (
	PriceOneTime   = "one_time"
	PriceRecurring = "recurring"
)
