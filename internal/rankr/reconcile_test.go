package rankr

import (
	"slices"
	"testing"
	"time"
)

var (
	day   = 24 * time.Hour
	rt0   = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	rpol  = ReconcilePolicy{UnfulfilledAfter: 3 * day, UnderpaidAfter: 2 * day, SettleAfter: time.Hour}
	tee   = OrderItem{ID: "i1", PriceID: "p1", ProductType: "PHYSICAL", Qty: 1, UnitAmount: 10000, Currency: "USD"}
	ebook = OrderItem{ID: "i2", PriceID: "p2", ProductType: "DIGITAL", Qty: 1, UnitAmount: 10000, Currency: "USD"}
)

func rorder(items ...OrderItem) Order {
	return Order{ID: "o1", LocationID: "L", Amount: 10000, Currency: "USD", Status: "completed",
		FulfillmentStatus: "unfulfilled", LiveMode: true, CreatedAt: rt0, UpdatedAt: rt0, Items: items}
}

func pay(id string, amount, refunded int64, at time.Time, mods ...func(*Transaction)) Transaction {
	x := Transaction{ID: id, LocationID: "L", EntityType: "order", EntityID: "o1", OrderID: "o1", Amount: amount,
		AmountRefunded: refunded, Currency: "USD", Status: "succeeded", LiveMode: true, CreatedAt: at, UpdatedAt: at}
	if refunded > 0 {
		x.Status = "partially_refunded"
		if refunded >= amount {
			x.Status = "refunded"
		}
	}
	for _, m := range mods {
		m(&x)
	}
	return x
}

func kindsOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

func TestReconcileOrder(t *testing.T) {
	t.Parallel()
	failed := func(x *Transaction) { x.Status = "failed" }
	test := func(x *Transaction) { x.LiveMode = false }
	eur := func(x *Transaction) { x.Currency = "EUR" }
	deleted := func(x *Transaction) { x.DeletedAt = rt0.Add(day) }
	cases := []struct {
		name     string
		order    Order
		txns     []Transaction
		now      time.Time
		outcome  string
		balance  int64
		findings []string
		recheck  time.Time
	}{
		{"nothing paid", rorder(tee), nil, rt0.Add(30 * day), OutcomeUnpaid, 10000, nil, time.Time{}},
		{"failed attempts pay nothing", rorder(tee), []Transaction{pay("t1", 10000, 0, rt0, failed)}, rt0.Add(30 * day), OutcomeUnpaid, 10000, nil, time.Time{}},
		{"paid and shipped", func() Order { o := rorder(tee); o.FulfillmentStatus = "fulfilled"; return o }(),
			[]Transaction{pay("t1", 10000, 0, rt0)}, rt0.Add(30 * day), OutcomeMatched, 0, nil, time.Time{}},
		{"paid in two parts", rorder(ebook), []Transaction{pay("t1", 4000, 0, rt0), pay("t2", 6000, 0, rt0.Add(day))},
			rt0.Add(30 * day), OutcomeMatched, 0, nil, time.Time{}},
		{"underpaid within grace", rorder(ebook), []Transaction{pay("t1", 4000, 0, rt0)}, rt0.Add(day),
			OutcomeUnderpaid, 6000, nil, rt0.Add(2 * day)},
		{"underpaid after grace", rorder(ebook), []Transaction{pay("t1", 4000, 0, rt0)}, rt0.Add(2 * day),
			OutcomeUnderpaid, 6000, []string{ExceptionUnderpaid}, time.Time{}},
		{"overpaid at once", rorder(ebook), []Transaction{pay("t1", 10000, 0, rt0), pay("t2", 2500, 0, rt0)}, rt0,
			OutcomeOverpaid, -2500, []string{ExceptionOverpaid}, time.Time{}},
		{"overpayment refunded", rorder(ebook), []Transaction{pay("t1", 10000, 0, rt0), pay("t2", 2500, 2500, rt0)}, rt0,
			OutcomeMatched, 0, nil, time.Time{}},
		{"refunded in full", rorder(tee), []Transaction{pay("t1", 10000, 10000, rt0)}, rt0.Add(30 * day), OutcomeRefunded, 10000, nil, time.Time{}},
		{"refunded in part", rorder(ebook), []Transaction{pay("t1", 10000, 3000, rt0)}, rt0.Add(30 * day),
			OutcomePartiallyRefunded, 3000, nil, time.Time{}},
		{"paid, unshipped, within N days", rorder(tee), []Transaction{pay("t1", 10000, 0, rt0)}, rt0.Add(2 * day),
			OutcomeMatched, 0, nil, rt0.Add(3 * day)},
		{"paid, unshipped, after N days", rorder(tee), []Transaction{pay("t1", 10000, 0, rt0)}, rt0.Add(3 * day),
			OutcomeMatched, 0, []string{ExceptionPaidUnfulfilled}, time.Time{}},
		{"paid, partly shipped, after N days", func() Order { o := rorder(tee); o.FulfillmentStatus = "partially_fulfilled"; return o }(),
			[]Transaction{pay("t1", 10000, 0, rt0)}, rt0.Add(4 * day), OutcomeMatched, 0, []string{ExceptionPaidUnfulfilled}, time.Time{}},
		{"digital goods need no shipping", rorder(ebook), []Transaction{pay("t1", 10000, 0, rt0)}, rt0.Add(30 * day),
			OutcomeMatched, 0, nil, time.Time{}},
		{"items not known yet", rorder(), []Transaction{pay("t1", 10000, 0, rt0)}, rt0.Add(30 * day), OutcomeMatched, 0, nil, time.Time{}},
		{"refunded orders need no shipping", rorder(tee), []Transaction{pay("t1", 10000, 10000, rt0)}, rt0.Add(30 * day),
			OutcomeRefunded, 10000, nil, time.Time{}},
		{"paid-at is when the total was reached", rorder(tee), []Transaction{pay("t1", 4000, 0, rt0), pay("t2", 6000, 0, rt0.Add(2*day))},
			rt0.Add(4 * day), OutcomeMatched, 0, nil, rt0.Add(5 * day)},
		{"test money does not pay a live order", rorder(ebook), []Transaction{pay("t1", 10000, 0, rt0, test)}, rt0.Add(30 * day),
			OutcomeUnpaid, 10000, nil, time.Time{}},
		{"foreign money does not pay the order", rorder(ebook), []Transaction{pay("t1", 10000, 0, rt0, eur)}, rt0.Add(30 * day),
			OutcomeUnpaid, 10000, nil, time.Time{}},
		{"deleted payments do not count", rorder(ebook), []Transaction{pay("t1", 10000, 0, rt0, deleted)}, rt0.Add(30 * day),
			OutcomeUnpaid, 10000, nil, time.Time{}},
		{"free order", func() Order { o := rorder(ebook); o.Amount = 0; return o }(), nil, rt0, OutcomeMatched, 0, nil, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := ReconcileOrder(c.order, c.txns, rpol, c.now)
			if res.Balance == nil {
				t.Fatal("no balance")
			}
			if res.Balance.Outcome != c.outcome || res.Balance.Balance != c.balance {
				t.Errorf("outcome %s balance %d, want %s %d", res.Balance.Outcome, res.Balance.Balance, c.outcome, c.balance)
			}
			if got := kindsOf(res.Findings); !slices.Equal(got, c.findings) {
				t.Errorf("findings %v, want %v", got, c.findings)
			}
			if !res.RecheckAt.Equal(c.recheck) {
				t.Errorf("recheck at %v, want %v", res.RecheckAt, c.recheck)
			}
			for _, f := range res.Findings {
				if f.Message == "" || f.Currency != "USD" || f.Amount <= 0 || f.RecordID != "o1" {
					t.Errorf("finding lacks what an alert needs: %+v", f)
				}
			}
		})
	}
	deletedOrder := rorder(tee)
	deletedOrder.DeletedAt = rt0
	if res := ReconcileOrder(deletedOrder, []Transaction{pay("t1", 10000, 0, rt0)}, rpol, rt0.Add(30*day)); res.Balance != nil || len(res.Findings) > 0 {
		t.Errorf("a deleted order was judged: %+v", res)
	}
}

func TestReconcileInvoice(t *testing.T) {
	t.Parallel()
	inv := func(status string, paid int64) Invoice {
		return Invoice{ID: "inv1", LocationID: "L", Number: "1001", Status: status, Currency: "USD", Total: 10000,
			AmountPaid: paid, LiveMode: true, CreatedAt: rt0, UpdatedAt: rt0}
	}
	ipay := func(id string, amount, refunded int64) Transaction {
		return pay(id, amount, refunded, rt0, func(x *Transaction) { x.EntityType, x.EntityID, x.OrderID, x.InvoiceID = "invoice", "inv1", "", "inv1" })
	}
	cases := []struct {
		name     string
		inv      Invoice
		txns     []Transaction
		now      time.Time
		payment  string
		mismatch bool
		recheck  time.Time
	}{
		{"sent, unpaid", inv("sent", 0), nil, rt0.Add(day), PaymentUnpaid, false, time.Time{}},
		{"partially paid", inv("partially_paid", 4000), []Transaction{ipay("t1", 4000, 0)}, rt0.Add(day), PaymentPartiallyPaid, false, time.Time{}},
		{"paid", inv("paid", 10000), []Transaction{ipay("t1", 4000, 0), ipay("t2", 6000, 0)}, rt0.Add(day), PaymentPaid, false, time.Time{}},
		{"paid then refunded keeps amountPaid", inv("paid", 10000), []Transaction{ipay("t1", 10000, 10000)}, rt0.Add(day), PaymentRefunded, false, time.Time{}},
		{"GHL lags, within grace", inv("sent", 0), []Transaction{ipay("t1", 4000, 0)}, rt0.Add(time.Minute), PaymentPartiallyPaid, false, rt0.Add(time.Hour)},
		{"GHL never recorded the payment", inv("sent", 0), []Transaction{ipay("t1", 4000, 0)}, rt0.Add(day), PaymentPartiallyPaid, true, time.Time{}},
		{"paid without money", inv("paid", 10000), nil, rt0.Add(day), PaymentUnpaid, true, time.Time{}},
		{"status says paid, money says part", inv("paid", 4000), []Transaction{ipay("t1", 4000, 0)}, rt0.Add(day), PaymentPartiallyPaid, true, time.Time{}},
		{"money on a void invoice", inv("void", 0), []Transaction{ipay("t1", 4000, 0)}, rt0.Add(day), PaymentPartiallyPaid, true, time.Time{}},
		{"unknown status judged on amounts only", inv("overdue", 4000), []Transaction{ipay("t1", 4000, 0)}, rt0.Add(day), PaymentPartiallyPaid, false, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := ReconcileInvoice(c.inv, c.txns, rpol, c.now)
			if res.Balance.PaymentStatus != c.payment {
				t.Errorf("payment status %s, want %s", res.Balance.PaymentStatus, c.payment)
			}
			if got := len(res.Findings) == 1 && res.Findings[0].Kind == ExceptionInvoiceMismatch; got != c.mismatch || len(res.Findings) > 1 {
				t.Errorf("findings %v, want mismatch %v", kindsOf(res.Findings), c.mismatch)
			}
			if !res.RecheckAt.Equal(c.recheck) {
				t.Errorf("recheck at %v, want %v", res.RecheckAt, c.recheck)
			}
		})
	}
}

func TestReconcileTransaction(t *testing.T) {
	t.Parallel()
	live := Entity{Held: true, Currency: "USD", LiveMode: true}
	cases := []struct {
		name     string
		x        Transaction
		e        Entity
		now      time.Time
		findings []string
		recheck  time.Time
	}{
		{"its order is held", pay("t1", 100, 0, rt0), live, rt0, nil, time.Time{}},
		{"no entity at all", pay("t1", 100, 0, rt0, func(x *Transaction) { x.EntityType, x.EntityID, x.OrderID = "", "", "" }), Entity{}, rt0,
			[]string{ExceptionOrphan}, time.Time{}},
		{"entity not synced yet", pay("t1", 100, 0, rt0), Entity{}, rt0.Add(time.Minute), nil, rt0.Add(time.Hour)},
		{"entity missing after grace", pay("t1", 100, 0, rt0), Entity{}, rt0.Add(time.Hour), []string{ExceptionOrphan}, time.Time{}},
		{"refunded orphan is settled", pay("t1", 100, 100, rt0), Entity{}, rt0.Add(day), nil, time.Time{}},
		{"failed orphan moved no money", pay("t1", 100, 0, rt0, func(x *Transaction) { x.Status = "failed" }), Entity{}, rt0.Add(day), nil, time.Time{}},
		{"unknown entity types are not judged", pay("t1", 100, 0, rt0, func(x *Transaction) { x.EntityType = "payment_link" }), Entity{}, rt0.Add(day), nil, time.Time{}},
		{"test payment on a live order", pay("t1", 100, 0, rt0, func(x *Transaction) { x.LiveMode = false }), live, rt0,
			[]string{ExceptionLiveTestMismatch}, time.Time{}},
		{"euros on a dollar order", pay("t1", 100, 0, rt0, func(x *Transaction) { x.Currency = "EUR" }), live, rt0,
			[]string{ExceptionCurrencyMismatch}, time.Time{}},
		{"both", pay("t1", 100, 0, rt0, func(x *Transaction) { x.Currency, x.LiveMode = "EUR", false }), live, rt0,
			[]string{ExceptionLiveTestMismatch, ExceptionCurrencyMismatch}, time.Time{}},
		{"currency case does not matter", pay("t1", 100, 0, rt0, func(x *Transaction) { x.Currency = "usd" }), live, rt0, nil, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := ReconcileTransaction(c.x, c.e, rpol, c.now)
			if got := kindsOf(res.Findings); !slices.Equal(got, c.findings) {
				t.Errorf("findings %v, want %v", got, c.findings)
			}
			if !res.RecheckAt.Equal(c.recheck) {
				t.Errorf("recheck at %v, want %v", res.RecheckAt, c.recheck)
			}
		})
	}
}

func TestRenewalOf(t *testing.T) {
	t.Parallel()
	x := pay("t9", 2900, 0, rt0, func(x *Transaction) {
		x.EntityType, x.EntityID, x.OrderID, x.SubscriptionID = "subscription", "s1", "", "s1"
	})
	r, ok := RenewalOf(x, &Subscription{ID: "s1", Interval: "monthly", IntervalCount: 3})
	if !ok || r.PeriodEnd != rt0.AddDate(0, 3, 0) || r.InvoicingID != "RI-t9" || r.Amount != 2900 {
		t.Fatalf("renewal %+v %v", r, ok)
	}
	if r, _ := RenewalOf(x, nil); !r.PeriodEnd.IsZero() {
		t.Fatal("a period end without an interval")
	}
	first := pay("t1", 2900, 0, rt0, func(x *Transaction) { x.SubscriptionID = "s1" })
	failed := x
	failed.Status = "failed"
	for _, y := range []Transaction{first, failed} {
		if _, ok := RenewalOf(y, nil); ok {
			t.Errorf("%+v is not a renewal", y)
		}
	}
}
