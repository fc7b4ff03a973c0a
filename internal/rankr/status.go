package rankr

import "strings"

// Rankr order statuses: one word for where an order stands, from GHL's
// order status, the payment status Rankr derives from the order's
// transactions, and GHL's fulfillment status. See DeriveOrderStatus.
const (
	StatusAwaitingPayment    = "awaiting_payment"
	StatusPartiallyPaid      = "partially_paid"
	StatusPaid               = "paid" // paid in full, nothing shipped yet
	StatusPartiallyFulfilled = "partially_fulfilled"
	StatusFulfilled          = "fulfilled"
	StatusPartiallyRefunded  = "partially_refunded"
	StatusRefunded           = "refunded"
	StatusCancelled          = "cancelled"
	// StatusUnknown is for an order whose GHL status or fulfillment status
	// is a value Rankr does not know: it is kept as GHL sent it, and the
	// order waits for a person (or a newer rankr) rather than being guessed.
	StatusUnknown = "unknown"
)

// DeriveOrderStatus maps GHL's order status, Rankr's payment status and
// GHL's fulfillment status to Rankr's order status. The first rule that
// applies wins:
//
//  1. a GHL status or fulfillment status Rankr does not know: unknown
//  2. GHL status cancelled: cancelled
//  3. refunded in full (by payments or GHL status): refunded
//  4. refunded in part: partially_refunded
//  5. nothing paid: awaiting_payment; paid in part: partially_paid, except
//     that GHL's completed counts as paid in full, because GHL completes an
//     order when its payment succeeds, which Rankr may see before it pulls
//     the transaction (GHL sends no transaction webhooks)
//  6. paid in full: by fulfillment, paid (nothing shipped),
//     partially_fulfilled or fulfilled
//
// Payment comes before fulfillment on purpose: an order shipped but not
// paid is awaiting payment, which is what its owner must act on.
func DeriveOrderStatus(ghlStatus, paymentStatus, fulfillmentStatus string) string {
	// GHL documents none of these values; take them in any case, and both
	// spellings of cancelled.
	ghlStatus, fulfillmentStatus = strings.ToLower(ghlStatus), strings.ToLower(fulfillmentStatus)
	if ghlStatus == "canceled" {
		ghlStatus = "cancelled"
	}
	switch ghlStatus {
	case "pending", "completed", "cancelled", "refunded", "partially_refunded":
	default:
		return StatusUnknown
	}
	switch fulfillmentStatus {
	case "", "unfulfilled", "partially_fulfilled", "fulfilled":
	default:
		return StatusUnknown
	}
	switch {
	case ghlStatus == "cancelled":
		return StatusCancelled
	case paymentStatus == PaymentRefunded || ghlStatus == "refunded":
		return StatusRefunded
	case paymentStatus == PaymentPartiallyRefunded || ghlStatus == "partially_refunded":
		return StatusPartiallyRefunded
	case ghlStatus != "completed" && paymentStatus == PaymentPartiallyPaid:
		return StatusPartiallyPaid
	case ghlStatus != "completed" && paymentStatus != PaymentPaid:
		return StatusAwaitingPayment
	}
	switch fulfillmentStatus {
	case "fulfilled":
		return StatusFulfilled
	case "partially_fulfilled":
		return StatusPartiallyFulfilled
	}
	return StatusPaid
}
