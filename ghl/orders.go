package ghl

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strings"
	"time"
)

// OrderStatus is an order's status. GHL does not publish the set; unknown
// values pass through unchanged.
type OrderStatus string

// Order statuses seen in GHL's documents and examples.
const (
	OrderPending           OrderStatus = "pending"
	OrderCompleted         OrderStatus = "completed"
	OrderCancelled         OrderStatus = "cancelled"
	OrderRefunded          OrderStatus = "refunded"
	OrderPartiallyRefunded OrderStatus = "partially_refunded"
)

// FulfillmentStatus is an order's fulfillment status; unknown values pass
// through unchanged.
type FulfillmentStatus string

// Fulfillment statuses.
const (
	Unfulfilled        FulfillmentStatus = "unfulfilled"
	PartiallyFulfilled FulfillmentStatus = "partially_fulfilled"
	Fulfilled          FulfillmentStatus = "fulfilled"
)

// PaymentStatus is the payment-status filter of ListOrders. It is not a field
// of the order object.
type PaymentStatus string

// Payment statuses accepted by the ListOrders filter.
const (
	PaymentPaid          PaymentStatus = "paid"
	PaymentUnpaid        PaymentStatus = "unpaid"
	PaymentRefunded      PaymentStatus = "refunded"
	PaymentPartiallyPaid PaymentStatus = "partially_paid"
)

// PaymentMode selects live or test records in list filters.
type PaymentMode string

// Payment modes.
const (
	ModeLive PaymentMode = "live"
	ModeTest PaymentMode = "test"
)

// SourceType is where an order came from (OrderSource.type in the spec).
type SourceType string

// Source types listed by the spec.
const (
	SourceFunnel            SourceType = "funnel"
	SourceWebsite           SourceType = "website"
	SourceInvoice           SourceType = "invoice"
	SourceCalendar          SourceType = "calendar"
	SourceText2Pay          SourceType = "text2Pay"
	SourceDocumentContracts SourceType = "document_contracts"
	SourceMembership        SourceType = "membership"
	SourceMobileApp         SourceType = "mobile_app"
	SourceCommunities       SourceType = "communities"
	SourcePointOfSale       SourceType = "point_of_sale"
	SourceManual            SourceType = "manual"
	SourceForm              SourceType = "form"
	SourceSurvey            SourceType = "survey"
	SourcePaymentLink       SourceType = "payment_link"
	SourceExternal          SourceType = "external"
)

// Order is an order as GHL lists it (OrderResponseSchema): no line items, the
// source flattened into source* fields.
type Order struct {
	ID                string            `json:"_id"`
	AltID             string            `json:"altId"`
	AltType           string            `json:"altType"`
	ContactID         string            `json:"contactId,omitempty"`
	ContactName       string            `json:"contactName,omitempty"`
	ContactEmail      string            `json:"contactEmail,omitempty"`
	Currency          string            `json:"currency,omitempty"`
	Amount            Number            `json:"amount,omitempty"`
	Subtotal          Number            `json:"subtotal,omitempty"`
	Discount          Number            `json:"discount,omitempty"`
	Status            OrderStatus       `json:"status"`
	LiveMode          bool              `json:"liveMode"`
	FulfillmentStatus FulfillmentStatus `json:"fulfillmentStatus,omitempty"`
	TotalProducts     Number            `json:"totalProducts,omitempty"`
	OnetimeProducts   Number            `json:"onetimeProducts,omitempty"`
	RecurringProducts Number            `json:"recurringProducts,omitempty"`
	SourceType        SourceType        `json:"sourceType"`
	SourceSubType     string            `json:"sourceSubType,omitempty"`
	SourceName        string            `json:"sourceName,omitempty"`
	SourceID          string            `json:"sourceId,omitempty"`
	SourceMeta        json.RawMessage   `json:"sourceMeta,omitempty"`
	CouponCode        string            `json:"couponCode,omitempty"`
	CreatedBy         string            `json:"createdBy,omitempty"`
	CreatedAt         Time              `json:"createdAt,omitzero"`
	UpdatedAt         Time              `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; it holds the fields not modelled
	// above. It is not written when the struct is marshalled.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the order and keeps the raw bytes.
func (o *Order) UnmarshalJSON(b []byte) error {
	type plain Order
	return decodeKeepRaw(b, (*plain)(o), &o.Raw)
}

// OrderDetail is one order as GetOrder returns it and as the OrderCreate and
// OrderStatusUpdate webhooks carry it, line items included.
type OrderDetail struct {
	ID                       string            `json:"_id"`
	AltID                    string            `json:"altId"`
	AltType                  string            `json:"altType"`
	ContactID                string            `json:"contactId,omitempty"`
	ContactSnapshot          json.RawMessage   `json:"contactSnapshot,omitempty"`
	Currency                 string            `json:"currency,omitempty"`
	Amount                   Number            `json:"amount,omitempty"`
	Status                   OrderStatus       `json:"status"`
	LiveMode                 bool              `json:"liveMode"`
	FulfillmentStatus        FulfillmentStatus `json:"fulfillmentStatus,omitempty"`
	AmountSummary            *AmountSummary    `json:"amountSummary,omitempty"`
	TaxSummary               []TaxLine         `json:"taxSummary,omitempty"`
	Source                   *OrderSource      `json:"source,omitempty"`
	Items                    []OrderItem       `json:"items,omitempty"`
	Coupon                   *CouponRef        `json:"coupon,omitempty"`
	TrackingID               string            `json:"trackingId,omitempty"`
	Fingerprint              string            `json:"fingerprint,omitempty"`
	Meta                     json.RawMessage   `json:"meta,omitempty"`
	MarkAsTest               bool              `json:"markAsTest,omitempty"`
	AutomaticTaxesCalculated bool              `json:"automaticTaxesCalculated,omitempty"`
	TaxCalculationProvider   json.RawMessage   `json:"taxCalculationProvider,omitempty"`
	TraceID                  string            `json:"traceId,omitempty"`
	CreatedBy                string            `json:"createdBy,omitempty"`
	CreatedAt                Time              `json:"createdAt,omitzero"`
	UpdatedAt                Time              `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the order and keeps the raw bytes.
func (o *OrderDetail) UnmarshalJSON(b []byte) error {
	type plain OrderDetail
	return decodeKeepRaw(b, (*plain)(o), &o.Raw)
}

// AmountSummary splits an order's amount.
type AmountSummary struct {
	Subtotal Number `json:"subtotal"`
	Discount Number `json:"discount,omitempty"`
	Tax      Number `json:"tax,omitempty"`
	Shipping Number `json:"shipping,omitempty"`
}

// TaxLine is one tax applied to an order.
type TaxLine struct {
	ID          string `json:"_id,omitempty"`
	Name        string `json:"name,omitempty"`
	Calculation string `json:"calculation,omitempty"`
	Rate        Number `json:"rate,omitempty"`
	Amount      Number `json:"amount,omitempty"`
}

// OrderSource says where an order (or a transaction's entity) came from.
type OrderSource struct {
	Type    SourceType      `json:"type"`
	SubType string          `json:"subType,omitempty"`
	ID      string          `json:"id"`
	Name    string          `json:"name,omitempty"`
	Meta    json.RawMessage `json:"meta,omitempty"`
}

// CouponRef is the coupon applied to an order or a subscription.
type CouponRef struct {
	ID   string `json:"_id,omitempty"`
	Code string `json:"code,omitempty"`
}

// OrderItem is one line of an order. The spec types items as strings, but
// GHL's examples and webhooks carry objects; this is their shape.
type OrderItem struct {
	ID              string  `json:"_id,omitempty"`
	LocationID      string  `json:"locationId,omitempty"`
	Name            string  `json:"name"`
	Qty             Number  `json:"qty"`
	AuthorizeAmount Number  `json:"authorizeAmount,omitempty"`
	Product         Product `json:"product"`
	Price           Price   `json:"price"`
}

// Product is a product as embedded in order items and fulfillments.
type Product struct {
	ID                     string           `json:"_id"`
	Name                   string           `json:"name"`
	Description            string           `json:"description,omitempty"`
	ProductType            string           `json:"productType,omitempty"`
	LocationID             string           `json:"locationId,omitempty"`
	Variants               []ProductVariant `json:"variants,omitempty"`
	AvailableInStore       bool             `json:"availableInStore,omitempty"`
	Image                  string           `json:"image,omitempty"`
	CollectionIDs          []string         `json:"collectionIds,omitempty"`
	IsTaxesEnabled         bool             `json:"isTaxesEnabled,omitempty"`
	Taxes                  json.RawMessage  `json:"taxes,omitempty"` // ids in the spec, objects in webhooks
	AutomaticTaxCategoryID string           `json:"automaticTaxCategoryId,omitempty"`
	Label                  *ProductLabel    `json:"label,omitempty"`
	Slug                   string           `json:"slug,omitempty"`
	StatementDescriptor    string           `json:"statementDescriptor,omitempty"`
	Medias                 []ProductMedia   `json:"medias,omitempty"`
	IsLabelEnabled         bool             `json:"isLabelEnabled,omitempty"`
	SEO                    *SEO             `json:"seo,omitempty"`
	TaxInclusive           bool             `json:"taxInclusive,omitempty"`
	UserID                 string           `json:"userId,omitempty"`
	CreatedAt              Time             `json:"createdAt,omitzero"`
	UpdatedAt              Time             `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the product and keeps the raw bytes.
func (p *Product) UnmarshalJSON(b []byte) error {
	type plain Product
	return decodeKeepRaw(b, (*plain)(p), &p.Raw)
}

// ProductVariant is a product option axis such as Size.
type ProductVariant struct {
	ID      string                 `json:"id"`
	Name    string                 `json:"name"`
	Options []ProductVariantOption `json:"options"`
}

// ProductVariantOption is one value of a variant, such as XL.
type ProductVariantOption struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ProductLabel is a product's promotional label.
type ProductLabel struct {
	Title     string `json:"title"`
	StartDate string `json:"startDate,omitempty"`
	EndDate   string `json:"endDate,omitempty"`
}

// PriceType says whether a price is charged once or repeatedly.
type PriceType string

// Price types.
const (
	PriceOneTime   PriceType = "one_time"
	PriceRecurring PriceType = "recurring"
)

// Price is a product price as embedded in order items and fulfillments. Its
// id is the priceId that fulfillment items refer to.
type Price struct {
	ID                       string            `json:"_id"`
	Name                     string            `json:"name"`
	Type                     PriceType         `json:"type"`
	Currency                 string            `json:"currency"`
	Amount                   Number            `json:"amount"`
	Recurring                *Recurring        `json:"recurring,omitempty"`
	VariantOptionIDs         []string          `json:"variantOptionIds,omitempty"`
	MembershipOffers         []MembershipOffer `json:"membershipOffers,omitempty"`
	LocationID               string            `json:"locationId,omitempty"`
	Product                  string            `json:"product,omitempty"`
	UserID                   string            `json:"userId,omitempty"`
	CompareAtPrice           Number            `json:"compareAtPrice,omitempty"`
	TrackInventory           bool              `json:"trackInventory,omitempty"`
	AvailableQuantity        Number            `json:"availableQuantity,omitempty"`
	AllowOutOfStockPurchases bool              `json:"allowOutOfStockPurchases,omitempty"`
	SKU                      string            `json:"sku,omitempty"`
	CreatedAt                Time              `json:"createdAt,omitzero"`
	UpdatedAt                Time              `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the price and keeps the raw bytes.
func (p *Price) UnmarshalJSON(b []byte) error {
	type plain Price
	return decodeKeepRaw(b, (*plain)(p), &p.Raw)
}

// Recurring is a recurring price's period.
type Recurring struct {
	Interval      string `json:"interval"` // day, week, month or year
	IntervalCount int    `json:"intervalCount"`
}

// MembershipOffer links a price to a membership offer.
type MembershipOffer struct {
	Label string `json:"label"`
	Value string `json:"value"`
	ID    string `json:"_id"`
}

// Fulfillment is one shipment of some of an order's items. GHL has no status
// and no update for fulfillments: once created, it stays as it is.
type Fulfillment struct {
	ID        string          `json:"_id"`
	AltID     string          `json:"altId"`
	AltType   string          `json:"altType"`
	Trackings []Tracking      `json:"trackings"`
	Items     []FulfilledItem `json:"items"`
	CreatedAt Time            `json:"createdAt,omitzero"`
	UpdatedAt Time            `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the fulfillment and keeps the raw bytes.
func (f *Fulfillment) UnmarshalJSON(b []byte) error {
	type plain Fulfillment
	return decodeKeepRaw(b, (*plain)(f), &f.Raw)
}

// Tracking is one parcel's tracking information.
type Tracking struct {
	TrackingNumber  string `json:"trackingNumber,omitempty"`
	ShippingCarrier string `json:"shippingCarrier,omitempty"`
	TrackingURL     string `json:"trackingUrl,omitempty"`
}

// FulfilledItem is an order item included in a fulfillment.
type FulfilledItem struct {
	ID      string  `json:"_id"`
	Name    string  `json:"name"`
	Product Product `json:"product"`
	Price   Price   `json:"price"`
	Qty     Number  `json:"qty"`
}

// FulfillmentItem names the items a new fulfillment ships: a price id (the
// order item's price) and a quantity.
type FulfillmentItem struct {
	PriceID string `json:"priceId"`
	Qty     Number `json:"qty"`
}

// ListOrdersParams selects orders. LocationID is required; every other field
// is an optional filter. StartAt and EndAt are whole days (UTC), inclusive.
type ListOrdersParams struct {
	LocationID       string
	Status           OrderStatus
	PaymentStatus    PaymentStatus
	PaymentMode      PaymentMode
	StartAt, EndAt   time.Time
	Search           string
	ContactID        string
	FunnelProductIDs []string
	SourceID         string
	Limit, Offset    int
}

func (p ListOrdersParams) query() url.Values {
	// listOrders takes no altType; locationId is sent as well because the
	// official SDK's OAuth token lookup keys on it.
	q := url.Values{"altId": {p.LocationID}, "locationId": {p.LocationID}}
	setIf(q, "status", string(p.Status))
	setIf(q, "paymentStatus", string(p.PaymentStatus))
	setIf(q, "paymentMode", string(p.PaymentMode))
	setDateIf(q, "startAt", p.StartAt)
	setDateIf(q, "endAt", p.EndAt)
	setIf(q, "search", p.Search)
	setIf(q, "contactId", p.ContactID)
	setIf(q, "funnelProductIds", strings.Join(p.FunnelProductIDs, ","))
	setIf(q, "sourceId", p.SourceID)
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	return q
}

// ListOrders returns one page of orders, newest first. List items carry no
// line items; GetOrder has them.
func (c *Client) ListOrders(ctx context.Context, p ListOrdersParams) (Page[Order], error) {
	if err := requireLocation(OpListOrders, p.LocationID); err != nil {
		return Page[Order]{}, err
	}
	var resp listResponse[Order]
	err := c.do(ctx, call{op: OpListOrders, location: p.LocationID, query: p.query()}, &resp)
	return resp.page(), err
}

// Orders iterates over every order matching p, fetching pages as needed.
func (c *Client) Orders(ctx context.Context, p ListOrdersParams) iter.Seq2[Order, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Order], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListOrders(ctx, p)
	})
}

// GetOrder returns one order with its line items.
func (c *Client) GetOrder(ctx context.Context, locationID, orderID string) (*OrderDetail, error) {
	if err := requireLocation(OpGetOrder, locationID); err != nil {
		return nil, err
	}
	q := url.Values{"altId": {locationID}, "locationId": {locationID}}
	var o OrderDetail
	if err := c.do(ctx, call{op: OpGetOrder, location: locationID, pathArgs: []string{orderID}, query: q}, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// PaymentMethod is how a manually recorded payment was made.
type PaymentMethod string

// Payment methods accepted by RecordOrderPayment.
const (
	PayCash         PaymentMethod = "cash"
	PayCard         PaymentMethod = "card"
	PayCheque       PaymentMethod = "cheque"
	PayBankTransfer PaymentMethod = "bank_transfer"
	PayOther        PaymentMethod = "other"
)

// RecordPaymentParams describes a payment collected outside GHL. Amount empty
// means the order's balance.
type RecordPaymentParams struct {
	Mode             PaymentMethod
	Card             *CardDetails
	Cheque           *ChequeDetails
	Notes            string
	Amount           Number
	Meta             map[string]any
	IsPartialPayment bool
}

// CardDetails identifies the card of a card payment.
type CardDetails struct {
	Type  string `json:"type"` // visa, mastercard or other
	Last4 string `json:"last4"`
}

// ChequeDetails identifies a cheque.
type ChequeDetails struct {
	Number string `json:"number"`
}

// RecordOrderPayment records a manual payment against an order. It is a
// write: when it fails with ErrOutcomeUnknown, check the order's transactions
// before recording again.
func (c *Client) RecordOrderPayment(ctx context.Context, locationID, orderID string, p RecordPaymentParams) error {
	if err := requireLocation(OpRecordOrderPayment, locationID); err != nil {
		return err
	}
	body := struct {
		AltID            string         `json:"altId"`
		AltType          string         `json:"altType"`
		Mode             PaymentMethod  `json:"mode"`
		Card             *CardDetails   `json:"card,omitempty"`
		Cheque           *ChequeDetails `json:"cheque,omitempty"`
		Notes            string         `json:"notes,omitempty"`
		Amount           Number         `json:"amount,omitempty"`
		Meta             map[string]any `json:"meta,omitempty"`
		IsPartialPayment bool           `json:"isPartialPayment,omitempty"`
	}{locationID, "location", p.Mode, p.Card, p.Cheque, p.Notes, p.Amount, p.Meta, p.IsPartialPayment}
	var resp successResponse
	if err := c.do(ctx, call{op: OpRecordOrderPayment, location: locationID, pathArgs: []string{orderID}, body: body}, &resp); err != nil {
		return err
	}
	return resp.check(OpRecordOrderPayment, locationID)
}

// CreateFulfillmentParams describes a shipment: its parcels, the items in it
// and whether GHL should notify the customer.
type CreateFulfillmentParams struct {
	Trackings      []Tracking
	Items          []FulfillmentItem
	NotifyCustomer bool
}

// CreateFulfillment records a shipment of some of an order's items.
//
// GHL offers no idempotency key and no way to update a fulfillment, so this
// call is never retried once the request may have reached GHL. When it fails
// with ErrOutcomeUnknown, list the order's fulfillments and look for this one
// (by tracking number and items) before creating it again.
func (c *Client) CreateFulfillment(ctx context.Context, locationID, orderID string, p CreateFulfillmentParams) (*Fulfillment, error) {
	if err := requireLocation(OpCreateFulfillment, locationID); err != nil {
		return nil, err
	}
	body := struct {
		AltID          string            `json:"altId"`
		AltType        string            `json:"altType"`
		Trackings      []Tracking        `json:"trackings"`
		Items          []FulfillmentItem `json:"items"`
		NotifyCustomer bool              `json:"notifyCustomer"`
	}{locationID, "location", nonNil(p.Trackings), nonNil(p.Items), p.NotifyCustomer}
	var resp struct {
		Status bool        `json:"status"`
		Data   Fulfillment `json:"data"`
	}
	if err := c.do(ctx, call{op: OpCreateFulfillment, location: locationID, pathArgs: []string{orderID}, body: body}, &resp); err != nil {
		return nil, err
	}
	return &resp.Data, nil
}

// ListFulfillments returns every fulfillment of an order.
func (c *Client) ListFulfillments(ctx context.Context, locationID, orderID string) ([]Fulfillment, error) {
	if err := requireLocation(OpListFulfillments, locationID); err != nil {
		return nil, err
	}
	var resp struct {
		Status bool          `json:"status"`
		Data   []Fulfillment `json:"data"`
	}
	err := c.do(ctx, call{op: OpListFulfillments, location: locationID, pathArgs: []string{orderID}, query: locationQuery(locationID)}, &resp)
	return resp.Data, err
}

// ListOrderNotes returns an order's notes as GHL sends them; the spec
// documents no shape for them.
func (c *Client) ListOrderNotes(ctx context.Context, locationID, orderID string) (json.RawMessage, error) {
	if err := requireLocation(OpListOrderNotes, locationID); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	err := c.do(ctx, call{op: OpListOrderNotes, location: locationID, pathArgs: []string{orderID}, query: locationQuery(locationID)}, &raw)
	return raw, err
}
