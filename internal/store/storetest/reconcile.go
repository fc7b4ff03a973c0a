package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// The reconciliation tests: what ReconcileLoad reads, and that
// ReconcileApply opens and resolves each exception once, with one event
// each, changes nothing when nothing changed, and refuses stale results.

func position(t *testing.T, s store.Store) store.ReconcilePosition {
	t.Helper()
	p, err := s.ReconcilePosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func apply(t *testing.T, s store.Store, p store.ReconcileApplyParams) store.ReconcileApplied {
	t.Helper()
	p.Version = position(t, s).Version
	out, err := s.ReconcileApply(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func openExceptions(t *testing.T, s store.Store, loc string) []rankr.Exception {
	t.Helper()
	es, err := s.ExceptionList(ctx, store.ExceptionListParams{LocationID: loc})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func testReconcileLoad(t *testing.T, s store.Store) {
	const loc = "L"
	o1 := withDetail(order(loc, "o1", at(1), "completed"))
	upsertOrders(t, s, loc, true, o1)
	upsertOrders(t, s, loc, false, order(loc, "o2", at(1), "pending")) // no detail yet
	inv := invoice(loc, "inv1", "paid", 5000, at(1))
	if _, err := s.InvoiceUpsert(ctx, store.InvoiceUpsertParams{LocationID: loc, Invoices: []rankr.Invoice{inv}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SubscriptionUpsert(ctx, store.SubscriptionUpsertParams{LocationID: loc,
		Subscriptions: []store.SubscriptionVersion{{Subscription: subDetail(sub(loc, "s1", at(1), "active"), at(100)), Detail: true}}}); err != nil {
		t.Fatal(err)
	}
	invPay := txn(loc, "ti", "", 5000, 0, "succeeded", at(2))
	invPay.EntityType, invPay.EntityID, invPay.OrderID, invPay.InvoiceID = "invoice", "inv1", "", "inv1"
	renewal := txn(loc, "tr", "", 2900, 0, "succeeded", at(3))
	renewal.EntityType, renewal.EntityID, renewal.OrderID, renewal.SubscriptionID = "subscription", "s1", "", "s1"
	// An order an invoice created: paid through the order, for the invoice.
	viaOrder := txn(loc, "tv", "o9", 1000, 0, "succeeded", at(2))
	viaOrder.InvoiceID = "inv1"
	upsertTxns(t, s, loc, txn(loc, "t1", "o1", 600, 0, "succeeded", at(2)), txn(loc, "t2", "o1", 400, 0, "succeeded", at(3)),
		txn(loc, "tx", "gone", 100, 0, "succeeded", at(2)), invPay, renewal, viaOrder)

	d, err := s.ReconcileLoad(ctx, store.ReconcileLoadParams{LocationID: loc, Transactions: []string{"t2", "ti"}, Subscriptions: []string{"s1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Orders, []string{"o1"}) || !slices.Equal(d.Invoices, []string{"inv1"}) {
		t.Fatalf("reconciled in full: orders %v, invoices %v", d.Orders, d.Invoices)
	}
	var ids []string
	for _, x := range d.Transactions {
		ids = append(ids, x.ID)
	}
	// t1 as o1's, tv as inv1's, tr as s1's renewal; not the orphan tx.
	if !slices.Equal(ids, []string{"t1", "t2", "ti", "tr", "tv"}) {
		t.Fatalf("transactions %v", ids)
	}
	if o := d.OrderByID["o1"]; len(o.Items) != 2 || o.Amount != 1000 {
		t.Fatalf("order o1 %+v", o)
	}
	if _, ok := d.OrderByID["o9"]; ok {
		t.Fatal("an order Rankr does not hold was found")
	}
	if d.InvoiceByID["inv1"].Total != 5000 || d.SubscriptionByID["s1"].Interval != "monthly" {
		t.Fatalf("entities %+v %+v", d.InvoiceByID, d.SubscriptionByID)
	}
	// Items not fetched yet are nil, not empty: "not known".
	d, err = s.ReconcileLoad(ctx, store.ReconcileLoadParams{LocationID: loc, Orders: []string{"o2", "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := d.OrderByID["o2"]; !ok || o.Items != nil || !slices.Equal(d.Orders, []string{"missing", "o2"}) {
		t.Fatalf("o2 %+v, orders %v", o, d.Orders)
	}
}

func finding(kind, recordType, id string, amount int64) rankr.Finding {
	return rankr.Finding{Kind: kind, RecordType: recordType, RecordID: id, EntityType: "order", EntityID: id, Amount: amount,
		Currency: "USD", Message: kind + " " + id, Detail: map[string]any{"expected": 1000, "paidAt": t0}, RecordCreatedAt: t0}
}

func testReconcileApply(t *testing.T, s store.Store) {
	const loc = "L"
	ref := rankr.RecordRef{LocationID: loc, Type: rankr.RecordOrder, ID: "o1"}
	bal := &rankr.Balance{Currency: "USD", LiveMode: true, Expected: 1000, Collected: 400, Balance: 600,
		Outcome: rankr.OutcomeUnderpaid, PaymentStatus: rankr.PaymentPartiallyPaid, RecordCreatedAt: t0}
	under := finding(rankr.ExceptionUnderpaid, rankr.RecordOrder, "o1", 600)
	late := finding(rankr.ExceptionPaidUnfulfilled, rankr.RecordOrder, "o1", 1000)
	res := rankr.ReconcileResult{Ref: ref, Balance: bal, Findings: []rankr.Finding{under, late}, RecheckAt: at(60)}

	out := apply(t, s, store.ReconcileApplyParams{Results: []rankr.ReconcileResult{res}, FeedTo: 7, Now: at(1)})
	if out.Opened != 2 || out.Balances != 1 || out.Events != 2 {
		t.Fatalf("first apply %+v", out)
	}
	evs := Events(t, s, loc)
	wantKinds(t, evs, rankr.ExceptionOpened, rankr.ExceptionOpened)
	var ev rankr.ExceptionEvent
	if err := json.Unmarshal(evs[1].Data, &ev); err != nil {
		t.Fatal(err)
	}
	// The event carries what an alert needs.
	if ev.ExceptionID == 0 || ev.Kind != rankr.ExceptionUnderpaid || ev.RecordID != "o1" || ev.Amount != 600 || ev.Currency != "USD" ||
		ev.Message == "" || ev.Detail["expected"] != float64(1000) || !ev.OpenedAt.Equal(at(1)) || evs[1].RecordType != rankr.RecordException {
		t.Fatalf("opened event %+v (%s)", ev, evs[1].Data)
	}
	pos := position(t, s)
	if pos.Seq != 7 {
		t.Fatalf("feed position %+v", pos)
	}

	// The same results again: nothing changes, no event, same version.
	if out := apply(t, s, store.ReconcileApplyParams{Results: []rankr.ReconcileResult{res}, Now: at(2)}); out != (store.ReconcileApplied{}) {
		t.Fatalf("repeat changed %+v", out)
	}
	if p := position(t, s); p != pos {
		t.Fatalf("a no-op moved the position: %+v then %+v", pos, p)
	}

	// New figures for the same exception: updated in place, no new alert.
	under2 := finding(rankr.ExceptionUnderpaid, rankr.RecordOrder, "o1", 500)
	res.Findings = []rankr.Finding{under2, late}
	if out := apply(t, s, store.ReconcileApplyParams{Results: []rankr.ReconcileResult{res}, Now: at(3)}); out.Updated != 1 || out.Events != 0 {
		t.Fatalf("update %+v", out)
	}
	es := openExceptions(t, s, loc)
	if len(es) != 2 || !es[0].OpenedAt.Equal(at(1)) || !es[1].OpenedAt.Equal(at(1)) {
		t.Fatalf("open %+v", es)
	}

	// Stale results (computed before another apply) are refused.
	if _, err := s.ReconcileApply(ctx, store.ReconcileApplyParams{Version: pos.Version, Results: []rankr.ReconcileResult{{Ref: ref}}}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("stale apply: %v", err)
	}
	if len(openExceptions(t, s, loc)) != 2 {
		t.Fatal("a refused apply changed something")
	}

	// The order was paid: underpaid resolves, with an event carrying the
	// exception as it last stood.
	bal2 := *bal
	bal2.Collected, bal2.Balance, bal2.Outcome, bal2.PaymentStatus = 1000, 0, rankr.OutcomeMatched, rankr.PaymentPaid
	res = rankr.ReconcileResult{Ref: ref, Balance: &bal2, Findings: []rankr.Finding{late}}
	if out := apply(t, s, store.ReconcileApplyParams{Results: []rankr.ReconcileResult{res}, Now: at(4)}); out.Resolved != 1 || out.Opened != 0 || out.Events != 1 {
		t.Fatalf("resolve %+v", out)
	}
	evs = Events(t, s, loc)
	wantKinds(t, evs, rankr.ExceptionOpened, rankr.ExceptionOpened, rankr.ExceptionResolved)
	var resolved rankr.ExceptionEvent
	_ = json.Unmarshal(evs[2].Data, &resolved)
	if resolved.ExceptionID != ev.ExceptionID || resolved.Amount != 500 || !resolved.ResolvedAt.Equal(at(4)) || !resolved.OpenedAt.Equal(at(1)) {
		t.Fatalf("resolved event %+v", resolved)
	}
	all, _ := s.ExceptionList(ctx, store.ExceptionListParams{LocationID: loc, Resolved: true})
	if len(all) != 2 || len(openExceptions(t, s, loc)) != 1 {
		t.Fatalf("history %+v", all)
	}
	b, err := s.BalanceList(ctx, store.BalanceListParams{LocationID: loc})
	if err != nil || len(b) != 1 || b[0].Outcome != rankr.OutcomeMatched || b[0].Collected != 1000 || !b[0].RecordCreatedAt.Equal(t0) {
		t.Fatalf("balances %+v, %v", b, err)
	}

	// The same finding after it resolved is a new exception.
	res.Findings = []rankr.Finding{late, under2}
	if out := apply(t, s, store.ReconcileApplyParams{Results: []rankr.ReconcileResult{res}, Now: at(5)}); out.Opened != 1 {
		t.Fatalf("reopen %+v", out)
	}

	// Rechecks come due; a record no longer held loses its balance.
	due, err := s.ReconcileDue(ctx, at(59), 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("due early %v, %v", due, err)
	}
	res = rankr.ReconcileResult{Ref: ref, RecheckAt: at(60)}
	apply(t, s, store.ReconcileApplyParams{Results: []rankr.ReconcileResult{res}, Now: at(6)})
	if due, _ := s.ReconcileDue(ctx, at(60), 10); !slices.Equal(due, []rankr.RecordRef{ref}) {
		t.Fatalf("due %v", due)
	}
	if b, _ := s.BalanceList(ctx, store.BalanceListParams{LocationID: loc}); len(b) != 0 || len(openExceptions(t, s, loc)) != 0 {
		t.Fatalf("after the order vanished: balances %v", b)
	}
	apply(t, s, store.ReconcileApplyParams{Results: []rankr.ReconcileResult{{Ref: ref}}, Now: at(7)})
	if due, _ := s.ReconcileDue(ctx, at(600), 10); len(due) != 0 {
		t.Fatalf("recheck kept %v", due)
	}

	// The feed position only moves forward.
	apply(t, s, store.ReconcileApplyParams{FeedTo: 3})
	if p := position(t, s); p.Seq != 7 {
		t.Fatalf("position went back to %d", p.Seq)
	}
}

func testRenewals(t *testing.T, s store.Store) {
	const loc = "L"
	r := rankr.Renewal{LocationID: loc, TransactionID: "tr1", SubscriptionID: "s1", ContactID: "c1", Amount: 2900, Currency: "USD",
		LiveMode: true, PeriodStart: at(10), PeriodEnd: at(10).AddDate(0, 1, 0), PaidAt: at(10), InvoicingID: rankr.InvoicingIDOf("tr1")}
	// First seen before the subscription's interval was known.
	early := r
	early.PeriodEnd = time.Time{}
	if out := apply(t, s, store.ReconcileApplyParams{Renewals: []rankr.Renewal{early}, Now: at(11)}); out.Renewals != 1 || out.Events != 1 {
		t.Fatalf("renewal %+v", out)
	}
	if out := apply(t, s, store.ReconcileApplyParams{Renewals: []rankr.Renewal{r}, Now: at(12)}); out.Renewals != 0 || out.Events != 0 {
		t.Fatalf("renewal again %+v", out)
	}
	evs := Events(t, s, loc)
	wantKinds(t, evs, rankr.SubscriptionInvoiced)
	var got rankr.Renewal
	if err := json.Unmarshal(evs[0].Data, &got); err != nil || got.InvoicingID != "RI-tr1" || got.Amount != 2900 || evs[0].RecordID != "s1" {
		t.Fatalf("event %+v (%s), %v", got, evs[0].Data, err)
	}
	list, err := s.RenewalList(ctx, store.ListParams{LocationID: loc})
	if err != nil || len(list) != 1 || !list[0].PeriodEnd.Equal(r.PeriodEnd) || list[0].InvoicingID != "RI-tr1" {
		t.Fatalf("renewals %+v, %v", list, err)
	}
}

func testUpcoming(t *testing.T, s store.Store) {
	const loc = "L"
	var subs []store.SubscriptionVersion
	for i, st := range []struct {
		status string
		next   time.Duration
	}{{"active", 48 * time.Hour}, {"active", 24 * time.Hour}, {"past_due", time.Hour}, {"canceled", time.Hour}, {"active", 30 * 24 * time.Hour}} {
		x := subDetail(sub(loc, "s"+string(rune('a'+i)), at(1), st.status), t0.Add(st.next))
		subs = append(subs, store.SubscriptionVersion{Subscription: x, Detail: true})
	}
	if _, err := s.SubscriptionUpsert(ctx, store.SubscriptionUpsertParams{LocationID: loc, Subscriptions: subs}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SubscriptionsUpcoming(ctx, store.UpcomingParams{LocationID: loc, Before: t0.Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range got {
		ids = append(ids, x.ID)
	}
	if !slices.Equal(ids, []string{"sc", "sb", "sa"}) {
		t.Fatalf("upcoming %v", ids)
	}
}
