package rankr

import "time"

// PushState is where a fulfillment push stands.
type PushState string

// Push states. A push is pending until a pusher claims it (pushing); it ends
// done (GHL has the fulfillment) or failed (GHL refused it for good). unknown
// means GHL may or may not have applied the last attempt: the next attempt
// looks in GHL before sending anything.
const (
	PushPending PushState = "pending"
	PushPushing PushState = "pushing"
	PushUnknown PushState = "unknown"
	PushDone    PushState = "done"
	PushFailed  PushState = "failed"
)

// FulfillmentPush is a fulfillment Rankr sends to GHL: tracking for some of
// an order's items, and whether GHL should tell the customer.
type FulfillmentPush struct {
	ID             string     `json:"id"`
	LocationID     string     `json:"locationId"`
	OrderID        string     `json:"orderId"`
	Trackings      []Tracking `json:"trackings"`
	Items          []PushItem `json:"items"`
	NotifyCustomer bool       `json:"notifyCustomer"`
	State          PushState  `json:"state"`
	// FulfillmentID is GHL's id for the fulfillment, once it exists.
	FulfillmentID string    `json:"fulfillmentId,omitempty"`
	Attempts      int       `json:"attempts"`
	LastError     string    `json:"lastError,omitempty"`
	NextAttemptAt time.Time `json:"nextAttemptAt"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`

	// NotifyVia is who tells the customer, decided when the push is
	// requested; NotifyCustomer (what GHL is asked) is true only for GHL.
	NotifyVia NotifyVia `json:"notifyVia,omitempty"`
}

// PushItem is a quantity of one order item (by its price) to ship.
type PushItem struct {
	PriceID string `json:"priceId"`
	Qty     int64  `json:"qty"`
}

// Fulfillment push events.
const (
	FulfillmentPushRequested = "fulfillment.push_requested"
	FulfillmentPushed        = "fulfillment.pushed"
	FulfillmentPushFailed    = "fulfillment.push_failed"
)

// RecordFulfillmentPush names pushes in events.
const RecordFulfillmentPush = "fulfillment_push"
