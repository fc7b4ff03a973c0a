package rankr

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

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

	// Claim identifies the attempt holding the push while it is pushing:
	// only that attempt may record how it ended.
	Claim string `json:"-"`

	// RequestedBy, when set on a new push, is who asked for it: the store
	// records the request in the audit log with the push.
	RequestedBy *AuditActor `json:"-"`
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

// Unshipped counts, per price, what is left to ship of an order: what was
// ordered, less what its fulfillments shipped, less what its pushes not
// known to have failed will ship (a push whose fulfillment is among the
// fulfillments is counted once).
func Unshipped(items []OrderItem, fulfillments []Fulfillment, pushes []FulfillmentPush) map[string]int64 {
	left := map[string]int64{}
	for _, it := range items {
		left[it.PriceID] += it.Qty
	}
	counted := map[string]bool{}
	for _, f := range fulfillments {
		counted[f.ID] = true
		for _, it := range f.Items {
			left[it.PriceID] -= it.Qty
		}
	}
	for _, p := range pushes {
		if p.State == PushFailed || (p.FulfillmentID != "" && counted[p.FulfillmentID]) {
			continue
		}
		for _, it := range p.Items {
			left[it.PriceID] -= it.Qty
		}
	}
	return left
}

// PlanPush decides what a requested push of an order becomes, given the
// order (with its items), its fulfillments and its pushes as they stand. A
// push not known to have failed with the same tracking numbers is the
// answer when it ships the same items, or when want names none: operators
// repeat commands, and a repeated command must not ship twice. Otherwise
// want's items (or, when it names none, every physical item left) must
// still be unshipped. The result is want with its items, or the existing
// push (existing true), or an error wrapping ErrInvalid or ErrConflict that
// says why.
func PlanPush(o Order, fulfillments []Fulfillment, pushes []FulfillmentPush, want FulfillmentPush) (p FulfillmentPush, existing bool, err error) {
	if o.Items == nil {
		return p, false, fmt.Errorf("%w: order %s has no items yet; run `rankr sync` first", ErrConflict, o.ID)
	}
	numbers := trackingNumbers(want.Trackings)
	for _, q := range pushes {
		if q.State == PushFailed || trackingNumbers(q.Trackings) != numbers {
			continue
		}
		if len(want.Items) == 0 || itemsKey(q.Items) == itemsKey(want.Items) {
			return q, true, nil
		}
		return p, false, fmt.Errorf("%w: tracking %s of order %s is already on push %s (%s), which ships %s, not %s: give this parcel its own tracking number",
			ErrConflict, numbers, o.ID, q.ID, q.State, itemsKey(q.Items), itemsKey(want.Items))
	}
	left := Unshipped(o.Items, fulfillments, pushes)
	ordered := map[string]int64{}
	for _, it := range o.Items {
		ordered[it.PriceID] += it.Qty
	}
	if len(want.Items) == 0 {
		seen := map[string]bool{}
		for _, it := range o.Items {
			if n := left[it.PriceID]; n > 0 && it.ProductType == "PHYSICAL" && !seen[it.PriceID] {
				seen[it.PriceID] = true
				want.Items = append(want.Items, PushItem{PriceID: it.PriceID, Qty: n})
			}
		}
		if len(want.Items) == 0 {
			return p, false, fmt.Errorf("%w: order %s has nothing left to ship", ErrConflict, o.ID)
		}
		return want, false, nil
	}
	asked := map[string]int64{}
	for _, it := range want.Items {
		if it.Qty <= 0 {
			return p, false, fmt.Errorf("%w: a quantity to ship must be positive, not %d (price %s)", ErrInvalid, it.Qty, it.PriceID)
		}
		asked[it.PriceID] += it.Qty
	}
	for _, price := range slices.Sorted(maps.Keys(asked)) {
		n, ok := ordered[price]
		switch {
		case !ok:
			return p, false, fmt.Errorf("%w: order %s has no item with price %s", ErrInvalid, o.ID, price)
		case asked[price] > n:
			return p, false, fmt.Errorf("%w: order %s has %d of price %s, not %d", ErrInvalid, o.ID, n, price, asked[price])
		case asked[price] > left[price]:
			return p, false, fmt.Errorf("%w: order %s has %d of price %s left to ship, not %d: the rest is shipped or in other pushes",
				ErrConflict, o.ID, max(left[price], 0), price, asked[price])
		}
	}
	return want, false, nil
}

// trackingNumbers describes a push's parcels, independent of order.
func trackingNumbers(ts []Tracking) string {
	numbers := make([]string, 0, len(ts))
	for _, t := range ts {
		numbers = append(numbers, t.Number)
	}
	slices.Sort(numbers)
	return strings.Join(numbers, ",")
}

// itemsKey describes what a push ships, independent of order.
func itemsKey(items []PushItem) string {
	qty := map[string]int64{}
	for _, it := range items {
		qty[it.PriceID] += it.Qty
	}
	var out []string
	for _, id := range slices.Sorted(maps.Keys(qty)) {
		out = append(out, fmt.Sprintf("%s×%d", id, qty[id]))
	}
	return strings.Join(out, ", ")
}

// Shipment describes what a push (or a fulfillment read back as one)
// ships: its tracking numbers and items, independent of their order.
func (p FulfillmentPush) Shipment() string {
	return trackingNumbers(p.Trackings) + "|" + itemsKey(p.Items)
}
