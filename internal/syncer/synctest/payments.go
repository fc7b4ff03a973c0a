package synctest

import (
	"context"
	"testing"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/store"
)

// PaymentsDiff lists how the stored payments of some orders of a location
// differ from the truth: each order's payment status, and every field of
// each of its transactions. It is empty when they agree, so that a test can
// wait for payments to arrive as well as check them.
func PaymentsDiff(t testing.TB, st store.Store, lt sandbox.LocationTruth, orderIDs []string) []string {
	t.Helper()
	ctx := context.Background()
	want := make(map[string]bool, len(orderIDs))
	for _, id := range orderIDs {
		want[id] = true
	}
	var d diff
	for _, ot := range lt.Orders {
		if !want[ot.Item.ID] || ot.Deleted {
			continue
		}
		o, err := st.OrderGet(ctx, lt.ID, ot.Item.ID)
		if err != nil {
			d.add("order %s: %v", ot.Item.ID, err)
			continue
		}
		d.eq("order "+ot.Item.ID+" paymentStatus", o.PaymentStatus, ot.PaymentStatus)
	}
	for _, xt := range lt.Transactions {
		if xt.Item.EntityType == "order" && want[xt.Item.EntityID] {
			compareTxn(ctx, t, st, lt.ID, xt, Options{IgnoreDeleted: true}, &d)
		}
	}
	return d.lines
}
