package rankr

import "testing"

func TestDeriveOrderStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ghl, payment, fulfillment, want string
	}{
		{"pending", PaymentUnpaid, "unfulfilled", StatusAwaitingPayment},
		{"pending", PaymentUnpaid, "", StatusAwaitingPayment},
		{"pending", PaymentPartiallyPaid, "unfulfilled", StatusPartiallyPaid},
		{"pending", PaymentPaid, "unfulfilled", StatusPaid},
		// GHL completes an order when it is paid; the transaction may not
		// be pulled yet.
		{"completed", PaymentUnpaid, "unfulfilled", StatusPaid},
		{"completed", PaymentPartiallyPaid, "partially_fulfilled", StatusPartiallyFulfilled},
		{"completed", PaymentPaid, "partially_fulfilled", StatusPartiallyFulfilled},
		{"completed", PaymentPaid, "fulfilled", StatusFulfilled},
		// Shipped but not paid: payment is what needs doing.
		{"pending", PaymentUnpaid, "fulfilled", StatusAwaitingPayment},
		{"completed", PaymentPartiallyRefunded, "fulfilled", StatusPartiallyRefunded},
		{"partially_refunded", PaymentPaid, "fulfilled", StatusPartiallyRefunded},
		{"completed", PaymentRefunded, "fulfilled", StatusRefunded},
		{"refunded", PaymentPaid, "unfulfilled", StatusRefunded},
		{"refunded", PaymentPartiallyRefunded, "unfulfilled", StatusRefunded},
		{"cancelled", PaymentUnpaid, "unfulfilled", StatusCancelled},
		{"cancelled", PaymentRefunded, "unfulfilled", StatusCancelled},
		{"canceled", PaymentUnpaid, "unfulfilled", StatusCancelled},
		{"Completed", PaymentPaid, "FULFILLED", StatusFulfilled},
		{"on_hold", PaymentPaid, "unfulfilled", StatusUnknown},
		{"", PaymentPaid, "unfulfilled", StatusUnknown},
		{"completed", PaymentPaid, "returned", StatusUnknown},
	}
	for _, tt := range tests {
		if got := DeriveOrderStatus(tt.ghl, tt.payment, tt.fulfillment); got != tt.want {
			t.Errorf("DeriveOrderStatus(%q, %q, %q) = %q, want %q", tt.ghl, tt.payment, tt.fulfillment, got, tt.want)
		}
	}
}
