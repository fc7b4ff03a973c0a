package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// TestScenarios builds each situation reconciliation must handle and reads
// it back through GHL's API, as a client sees it.
func TestScenarios(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, sandbox.Config{Seed: 5, Orders: 0, Anchor: anchor})
	base := serve(t, sb)
	loc := sb.Locations()[0]
	c := ghl.NewClient(ghl.StaticToken(loc.Token), ghl.WithBaseURL(base))
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	orderOf := func(id string) *ghl.OrderDetail {
		t.Helper()
		o, err := c.GetOrder(ctx, loc.ID, id)
		must(err)
		return o
	}
	txnOf := func(id string) *ghl.TransactionDetail {
		t.Helper()
		x, err := c.GetTransaction(ctx, loc.ID, id)
		must(err)
		return x
	}
	paymentStatus := func(id string) string {
		t.Helper()
		tr, err := sb.Truth(loc.ID)
		must(err)
		for _, o := range tr.Locations[0].Orders {
			if o.Item.ID == id {
				return o.PaymentStatus
			}
		}
		t.Fatalf("no order %s in the truth", id)
		return ""
	}

	// An order paid in part, then overpaid, refunded in part, shipped.
	id, amount, err := sb.NewOrder(loc.ID, sandbox.OrderSpec{Physical: true})
	must(err)
	if o := orderOf(id); o.Status != ghl.OrderPending || !o.LiveMode || len(o.Items) != 1 || o.Items[0].Product.ProductType != "PHYSICAL" {
		t.Fatalf("new order %+v", o)
	}
	t1, err := sb.PayOrder(loc.ID, id, amount/2)
	must(err)
	if got := paymentStatus(id); got != "partially_paid" {
		t.Fatalf("after half: %s", got)
	}
	t2, err := sb.PayOrder(loc.ID, id, amount-amount/2+500)
	must(err)
	if got := paymentStatus(id); got != "paid" || orderOf(id).Status != ghl.OrderCompleted {
		t.Fatalf("after the rest and more: %s", got)
	}
	must(sb.Refund(loc.ID, t2, 500))
	if x := txnOf(t2); x.Status != ghl.TxnPartiallyRefunded || x.AmountRefunded != ghl.NumberFromScaled(500, 2) {
		t.Fatalf("refunded %+v", x)
	}
	must(sb.FulfillOrder(loc.ID, id))
	if o := orderOf(id); o.FulfillmentStatus != ghl.Fulfilled {
		t.Fatalf("fulfilled %+v", o.FulfillmentStatus)
	}
	if x := txnOf(t1); x.EntityType != "order" || x.EntityID != id {
		t.Fatalf("payment %+v", x)
	}

	// An order an invoice created: GHL marks the invoice paid only when
	// the order is paid in full.
	id, amount, err = sb.NewOrder(loc.ID, sandbox.OrderSpec{FromInvoice: true})
	must(err)
	invID := orderOf(id).Source.ID
	inv, err := c.GetInvoice(ctx, loc.ID, invID)
	must(err)
	if inv.Status != ghl.InvoiceSent || inv.Total != ghl.NumberFromScaled(amount, 2) {
		t.Fatalf("invoice %+v for an order of %d", inv, amount)
	}
	_, err = sb.PayOrder(loc.ID, id, amount/2)
	must(err)
	if inv, _ = c.GetInvoice(ctx, loc.ID, invID); inv.Status != ghl.InvoiceSent {
		t.Fatalf("invoice after a part %s", inv.Status)
	}
	_, err = sb.PayOrder(loc.ID, id, amount-amount/2)
	must(err)
	if inv, _ = c.GetInvoice(ctx, loc.ID, invID); inv.Status != ghl.InvoicePaid || inv.AmountPaid != inv.Total {
		t.Fatalf("invoice after the rest %+v", inv)
	}

	// An invoice paid in part.
	invID, total, err := sb.NewInvoice(loc.ID, false)
	must(err)
	tx, err := sb.PayInvoice(loc.ID, invID, total/2)
	must(err)
	if inv, _ = c.GetInvoice(ctx, loc.ID, invID); inv.Status != ghl.InvoicePartiallyPaid || txnOf(tx).EntityID != invID {
		t.Fatalf("invoice paid in part %+v", inv)
	}

	// A subscription: started by its paid order, renewed, cancelled.
	id, amount, err = sb.NewOrder(loc.ID, sandbox.OrderSpec{Recurring: true})
	must(err)
	_, err = sb.PayOrder(loc.ID, id, amount)
	must(err)
	var subID string
	for s, err := range c.Subscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: loc.ID, EntityID: id}) {
		must(err)
		subID = s.ID
	}
	if subID == "" {
		t.Fatal("paying the order started no subscription")
	}
	tx, err = sb.Renew(loc.ID, subID, true)
	must(err)
	if x := txnOf(tx); x.EntityType != "subscription" || x.SubscriptionID != subID || x.Status != ghl.TxnSucceeded {
		t.Fatalf("renewal %+v", x)
	}
	must(sb.CancelSubscription(loc.ID, subID))
	if s, _ := c.GetSubscription(ctx, loc.ID, subID); s.Status != ghl.SubCanceled || s.CanceledAt.IsZero() {
		t.Fatalf("cancelled %+v", s)
	}
	if _, err := sb.Renew(loc.ID, subID, true); err == nil {
		t.Fatal("a cancelled subscription renewed")
	}

	// Payments attached wrongly leave their entity alone.
	id, _, err = sb.NewOrder(loc.ID, sandbox.OrderSpec{})
	must(err)
	tx, err = sb.InjectPayment(loc.ID, sandbox.PaymentSpec{EntityType: "order", EntityID: id, Amount: 700, Currency: "eur", Test: true})
	must(err)
	if x := txnOf(tx); x.Currency != "EUR" || x.LiveMode || x.EntityID != id || x.Status != ghl.TxnSucceeded {
		t.Fatalf("injected %+v", x)
	}
	if got := paymentStatus(id); got != "unpaid" {
		t.Fatalf("an injected payment changed its order: %s", got)
	}
	tx, err = sb.InjectPayment(loc.ID, sandbox.PaymentSpec{Amount: 700})
	must(err)
	if x := txnOf(tx); x.EntityID != "" || x.Currency != "USD" || !x.LiveMode {
		t.Fatalf("payment for nothing %+v", x)
	}

	// The same through the admin API.
	post := func(body string) (int, map[string]any) {
		resp, err := http.Post(base+sandbox.AdminPrefix+"/locations/"+loc.ID+"/scenario", "application/json", strings.NewReader(body))
		must(err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, out := post(`{"op":"order","physical":true}`)
	if code != http.StatusOK || out["id"] == "" || out["amount"].(float64) <= 0 {
		t.Fatalf("admin order: %d %v", code, out)
	}
	if code, out = post(`{"op":"pay","id":"` + out["id"].(string) + `","amount":100}`); code != http.StatusOK || out["transactionId"] == "" {
		t.Fatalf("admin pay: %d %v", code, out)
	}
	if code, out = post(`{"op":"explode"}`); code != http.StatusBadRequest {
		t.Fatalf("unknown op: %d %v", code, out)
	}
}
