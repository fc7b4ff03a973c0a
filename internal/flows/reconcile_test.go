package flows_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
)

// The reconciliation tests build each situation in the sandbox, sync it
// with the real syncer, and reconcile: the outcome and the exceptions must
// be right, fixing the data in "GHL" must resolve them (each opening and
// resolution an event, once), and running again must change nothing.

var policy = rankr.ReconcilePolicy{UnfulfilledAfter: 72 * time.Hour, UnderpaidAfter: 48 * time.Hour, SettleAfter: time.Hour}

type recRig struct {
	sb    *sandbox.Server
	st    store.Store
	sync  *syncer.Syncer
	rec   *flows.Reconciler
	loc   string
	shift time.Duration // how far the reconciler's clock runs ahead
}

func newRecRig(t *testing.T, open storetest.Opener) *recRig {
	t.Helper()
	// No history: each test builds exactly the records it is about.
	sb, st, s, loc := backfilled(t, open, sandbox.Config{Seed: 9, Orders: 0})
	r := &recRig{sb: sb, st: st, sync: s, loc: loc, rec: flows.NewReconciler(st, policy, nil)}
	r.rec.Now = func() time.Time { return time.Now().Add(r.shift) }
	return r
}

// step syncs what changed in the sandbox and reconciles it.
func (r *recRig) step(t *testing.T) flows.ReconcileStats {
	t.Helper()
	ctx := context.Background()
	if err := r.sync.Poll(ctx, r.loc); err != nil {
		t.Fatal(err)
	}
	st, err := r.rec.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.settled(t)
	return st
}

// settled checks that reconciling again changes nothing and appends no
// event, and that no exception was ever announced twice.
func (r *recRig) settled(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	before := r.events(t)
	st, err := r.rec.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Opened+st.Resolved+st.Renewals != 0 {
		t.Fatalf("reconciling again changed something: %+v", st)
	}
	after := r.events(t)
	if len(after) != len(before) {
		t.Fatalf("reconciling again appended %d events", len(after)-len(before))
	}
	opened, resolved := map[int64]int{}, map[int64]int{}
	for _, e := range after {
		var d rankr.ExceptionEvent
		switch e.Kind {
		case rankr.ExceptionOpened:
			_ = json.Unmarshal(e.Data, &d)
			opened[d.ExceptionID]++
		case rankr.ExceptionResolved:
			_ = json.Unmarshal(e.Data, &d)
			resolved[d.ExceptionID]++
		}
	}
	for id, n := range opened {
		if n != 1 || resolved[id] > 1 {
			t.Fatalf("exception %d opened %d times, resolved %d times", id, n, resolved[id])
		}
	}
}

func (r *recRig) events(t *testing.T) []rankr.Event { return storetest.Events(t, r.st, r.loc) }

// exceptionEvents returns the exception events about one record.
func (r *recRig) exceptionEvents(t *testing.T, recordID string) []string {
	t.Helper()
	var out []string
	for _, e := range r.events(t) {
		if e.RecordType != rankr.RecordException {
			continue
		}
		var d rankr.ExceptionEvent
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.RecordID == recordID {
			out = append(out, e.Kind+":"+d.Kind)
		}
	}
	return out
}

// open returns the kinds of the exceptions open on a record.
func (r *recRig) open(t *testing.T, recordID string) []string {
	t.Helper()
	es, err := r.st.ExceptionList(context.Background(), store.ExceptionListParams{LocationID: r.loc, RecordID: recordID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Message == "" || e.Currency == "" || e.Amount <= 0 {
			t.Errorf("exception without what an alert needs: %+v", e)
		}
		out = append(out, e.Kind)
	}
	slices.Sort(out)
	return out
}

func (r *recRig) balance(t *testing.T, recordType, id string) rankr.Balance {
	t.Helper()
	bs, err := r.st.BalanceList(context.Background(), store.BalanceListParams{LocationID: r.loc, RecordType: recordType, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.RecordID == id {
			return b
		}
	}
	t.Fatalf("no balance for %s %s", recordType, id)
	return rankr.Balance{}
}

func (r *recRig) wantOpen(t *testing.T, id string, kinds ...string) {
	t.Helper()
	if got := r.open(t, id); !slices.Equal(got, kinds) {
		t.Fatalf("open exceptions on %s: %v, want %v", id, got, kinds)
	}
}

func (r *recRig) wantOrder(t *testing.T, id, outcome string, balance int64) {
	t.Helper()
	if b := r.balance(t, rankr.RecordOrder, id); b.Outcome != outcome || b.Balance != balance {
		t.Fatalf("order %s: %s with balance %d, want %s with %d (%+v)", id, b.Outcome, b.Balance, outcome, balance, b)
	}
}

func (r *recRig) wantEvents(t *testing.T, id string, kinds ...string) {
	t.Helper()
	if got := r.exceptionEvents(t, id); !slices.Equal(got, kinds) {
		t.Fatalf("exception events about %s: %v, want %v", id, got, kinds)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eachStore runs a test on SQLite and, when configured, PostgreSQL.
func eachStore(t *testing.T, fn func(t *testing.T, r *recRig)) {
	t.Parallel()
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newRecRig(t, open))
		})
	}
}

func newOrder(t *testing.T, r *recRig, spec sandbox.OrderSpec) (string, int64) {
	t.Helper()
	id, amount, err := r.sb.NewOrder(r.loc, spec)
	if err != nil {
		t.Fatal(err)
	}
	return id, amount
}

func TestReconcileMatched(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		shipped, amount := newOrder(t, r, sandbox.OrderSpec{Physical: true})
		must[string](t)(r.sb.PayOrder(r.loc, shipped, amount))
		ok(t, r.sb.FulfillOrder(r.loc, shipped))
		digital, amount2 := newOrder(t, r, sandbox.OrderSpec{})
		must[string](t)(r.sb.PayOrder(r.loc, digital, amount2/2))
		must[string](t)(r.sb.PayOrder(r.loc, digital, amount2-amount2/2))
		unpaid, amount3 := newOrder(t, r, sandbox.OrderSpec{Physical: true})
		r.step(t)
		r.shift = 30 * 24 * time.Hour // a month later: still nothing to look at
		r.step(t)
		r.wantOrder(t, shipped, rankr.OutcomeMatched, 0)
		r.wantOrder(t, digital, rankr.OutcomeMatched, 0)
		r.wantOrder(t, unpaid, rankr.OutcomeUnpaid, amount3)
		for _, id := range []string{shipped, digital, unpaid} {
			r.wantOpen(t, id)
		}
		if b := r.balance(t, rankr.RecordOrder, digital); b.Collected != amount2 || b.PaymentStatus != rankr.PaymentPaid {
			t.Fatalf("balance %+v", b)
		}
		// Incremental work and a full recompute agree.
		st, err := r.rec.Recompute(context.Background(), r.loc)
		if err != nil || st.Opened+st.Resolved != 0 || st.Records == 0 {
			t.Fatalf("recompute %+v, %v", st, err)
		}
	})
}

// The change feed also carries events reconciliation has nothing to do
// with, such as an API key's expiry warning, of no location: it passes
// them by and goes on (it used to stop at them, "a location id is
// required", every run).
func TestReconcilePassesOtherEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		ctx := context.Background()
		now := time.Now().UTC()
		key := rankr.APIKey{ID: "kexp", Hash: []byte("h"), Last4: "abcd", Role: "viewer", Scopes: []string{"orders:read"},
			CreatedBy: rankr.HostActor, CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour)}
		if err := r.st.KeyCreate(ctx, key, rankr.AuditEntry{At: now, Actor: rankr.AuditActor{Type: rankr.ActorHost, ID: "ops"},
			Action: "api_key.created", Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "api_key", ID: key.ID}}); err != nil {
			t.Fatal(err)
		}
		if warned, err := r.st.KeyWarnExpiring(ctx, now); err != nil || len(warned) != 1 {
			t.Fatalf("warned %v, %v", warned, err)
		}
		unpaid, amount := newOrder(t, r, sandbox.OrderSpec{Physical: true})
		r.step(t)
		r.wantOrder(t, unpaid, rankr.OutcomeUnpaid, amount)
		pos, err := r.st.ReconcilePosition(ctx)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := r.st.EventList(ctx, store.EventListParams{AfterSeq: pos.Seq})
		if err != nil || len(evs) != 0 {
			t.Fatalf("the feed was not consumed past the key's event: %d events left, %v", len(evs), err)
		}
	})
}

func TestReconcileUnderpaid(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		id, amount := newOrder(t, r, sandbox.OrderSpec{})
		must[string](t)(r.sb.PayOrder(r.loc, id, amount/4))
		r.step(t)
		// A deposit is normal for a while.
		r.wantOrder(t, id, rankr.OutcomeUnderpaid, amount-amount/4)
		r.wantOpen(t, id)
		r.shift = policy.UnderpaidAfter
		r.step(t)
		r.wantOpen(t, id, rankr.ExceptionUnderpaid)
		es, _ := r.st.ExceptionList(context.Background(), store.ExceptionListParams{RecordID: id})
		if es[0].Amount != amount-amount/4 {
			t.Fatalf("amount at stake %d", es[0].Amount)
		}
		// The customer pays the rest: resolved.
		must[string](t)(r.sb.PayOrder(r.loc, id, amount-amount/4))
		r.step(t)
		r.wantOrder(t, id, rankr.OutcomeMatched, 0)
		r.wantOpen(t, id)
		r.wantEvents(t, id, rankr.ExceptionOpened+":underpaid", rankr.ExceptionResolved+":underpaid")
	})
}

func TestReconcileOverpaid(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		id, amount := newOrder(t, r, sandbox.OrderSpec{})
		must[string](t)(r.sb.PayOrder(r.loc, id, amount))
		extra := must[string](t)(r.sb.PayOrder(r.loc, id, 1500)) // charged twice
		r.step(t)
		r.wantOrder(t, id, rankr.OutcomeOverpaid, -1500)
		r.wantOpen(t, id, rankr.ExceptionOverpaid)
		ok(t, r.sb.Refund(r.loc, extra, 1500))
		r.step(t)
		r.wantOrder(t, id, rankr.OutcomeMatched, 0)
		r.wantOpen(t, id)
		r.wantEvents(t, id, rankr.ExceptionOpened+":overpaid", rankr.ExceptionResolved+":overpaid")
	})
}

func TestReconcileRefunds(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		full, amount := newOrder(t, r, sandbox.OrderSpec{Physical: true})
		x := must[string](t)(r.sb.PayOrder(r.loc, full, amount))
		part, amount2 := newOrder(t, r, sandbox.OrderSpec{})
		y := must[string](t)(r.sb.PayOrder(r.loc, part, amount2))
		r.step(t)
		ok(t, r.sb.Refund(r.loc, x, amount))
		ok(t, r.sb.Refund(r.loc, y, 1000))
		// Long after: a refunded order owes no shipment; refunds are
		// decisions taken in GHL, not exceptions.
		r.shift = 30 * 24 * time.Hour
		r.step(t)
		r.wantOrder(t, full, rankr.OutcomeRefunded, amount)
		r.wantOrder(t, part, rankr.OutcomePartiallyRefunded, 1000)
		r.wantOpen(t, full)
		r.wantOpen(t, part)
		if b := r.balance(t, rankr.RecordOrder, part); b.Refunded != 1000 || b.Collected != amount2 {
			t.Fatalf("balance %+v", b)
		}
	})
}

func TestReconcilePaidUnfulfilled(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		id, amount := newOrder(t, r, sandbox.OrderSpec{Physical: true})
		must[string](t)(r.sb.PayOrder(r.loc, id, amount))
		r.step(t)
		r.wantOpen(t, id)
		// N days later, with no event at all: the sweep finds it.
		r.shift = policy.UnfulfilledAfter + time.Minute
		if st, err := r.rec.Run(context.Background()); err != nil || st.Opened != 1 {
			t.Fatalf("sweep %+v, %v", st, err)
		}
		r.wantOpen(t, id, rankr.ExceptionPaidUnfulfilled)
		ok(t, r.sb.FulfillOrder(r.loc, id))
		r.step(t)
		r.wantOpen(t, id)
		r.wantEvents(t, id, rankr.ExceptionOpened+":paid_unfulfilled", rankr.ExceptionResolved+":paid_unfulfilled")
	})
}

func TestReconcileOrphans(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		// A payment for nothing: at once.
		loose := must[string](t)(r.sb.InjectPayment(r.loc, sandbox.PaymentSpec{Amount: 2500}))
		// A payment for an order Rankr does not (yet) hold: after the grace.
		lost := must[string](t)(r.sb.InjectPayment(r.loc, sandbox.PaymentSpec{EntityType: "order", EntityID: "6650f1d2c1a4e2b3c4d5e6f7", Amount: 900}))
		r.step(t)
		r.wantOpen(t, loose, rankr.ExceptionOrphan)
		r.wantOpen(t, lost)
		// A payment whose order GHL deleted.
		id, amount := newOrder(t, r, sandbox.OrderSpec{})
		paid := must[string](t)(r.sb.PayOrder(r.loc, id, amount))
		r.step(t)
		ok(t, r.sb.Delete(r.loc, "order", id))
		for done := false; !done; {
			var err error
			if done, err = r.sync.FullWalk(context.Background(), r.loc); err != nil {
				t.Fatal(err)
			}
		}
		r.shift = policy.SettleAfter
		r.step(t)
		r.wantOpen(t, lost, rankr.ExceptionOrphan)
		r.wantOpen(t, paid, rankr.ExceptionOrphan)
		if _, err := r.st.BalanceList(context.Background(), store.BalanceListParams{LocationID: r.loc}); err != nil {
			t.Fatal(err)
		}
		// The money goes back: resolved.
		ok(t, r.sb.Refund(r.loc, loose, 2500))
		r.step(t)
		r.wantOpen(t, loose)
		r.wantEvents(t, loose, rankr.ExceptionOpened+":orphan_transaction", rankr.ExceptionResolved+":orphan_transaction")
	})
}

func TestReconcileLiveTestMismatch(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		id, amount := newOrder(t, r, sandbox.OrderSpec{})
		x := must[string](t)(r.sb.InjectPayment(r.loc, sandbox.PaymentSpec{EntityType: "order", EntityID: id, Amount: amount, Test: true}))
		r.step(t)
		r.wantOpen(t, x, rankr.ExceptionLiveTestMismatch)
		// Test money does not pay a live order.
		r.wantOrder(t, id, rankr.OutcomeUnpaid, amount)
		ok(t, r.sb.Refund(r.loc, x, amount))
		must[string](t)(r.sb.PayOrder(r.loc, id, amount))
		r.step(t)
		r.wantOpen(t, x)
		r.wantOrder(t, id, rankr.OutcomeMatched, 0)
		r.wantEvents(t, x, rankr.ExceptionOpened+":live_test_mismatch", rankr.ExceptionResolved+":live_test_mismatch")
	})
}

func TestReconcileCurrencyMismatch(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		id, amount := newOrder(t, r, sandbox.OrderSpec{})
		x := must[string](t)(r.sb.InjectPayment(r.loc, sandbox.PaymentSpec{EntityType: "order", EntityID: id, Amount: amount, Currency: "EUR"}))
		r.step(t)
		r.wantOpen(t, x, rankr.ExceptionCurrencyMismatch)
		r.wantOrder(t, id, rankr.OutcomeUnpaid, amount)
		es, _ := r.st.ExceptionList(context.Background(), store.ExceptionListParams{RecordID: x})
		if es[0].Currency != "EUR" || es[0].EntityID != id || es[0].Detail["entityCurrency"] != "USD" {
			t.Fatalf("exception %+v", es[0])
		}
		ok(t, r.sb.Refund(r.loc, x, amount))
		r.step(t)
		r.wantOpen(t, x)
		r.wantEvents(t, x, rankr.ExceptionOpened+":currency_mismatch", rankr.ExceptionResolved+":currency_mismatch")
	})
}

func TestReconcileInvoices(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		// Paid in part, then in full: reconciled each time, no exception.
		inv, total := must2(t)(r.sb.NewInvoice(r.loc, false))
		must[string](t)(r.sb.PayInvoice(r.loc, inv, total/2))
		r.step(t)
		if b := r.balance(t, rankr.RecordInvoice, inv); b.PaymentStatus != rankr.PaymentPartiallyPaid || b.Collected != total/2 {
			t.Fatalf("invoice paid in part: %+v", b)
		}
		r.wantOpen(t, inv)
		must[string](t)(r.sb.PayInvoice(r.loc, inv, total-total/2))
		r.step(t)
		if b := r.balance(t, rankr.RecordInvoice, inv); b.PaymentStatus != rankr.PaymentPaid || b.Outcome != rankr.OutcomeMatched {
			t.Fatalf("invoice paid: %+v", b)
		}

		// An order an invoice created, paid in part: GHL leaves the invoice
		// unpaid although money came for it.
		id, amount := newOrder(t, r, sandbox.OrderSpec{FromInvoice: true})
		must[string](t)(r.sb.PayOrder(r.loc, id, amount/2))
		r.step(t)
		o, err := r.st.OrderGet(context.Background(), r.loc, id)
		ok(t, err)
		billed := o.Source.ID
		r.wantOpen(t, billed) // GHL may catch up
		r.shift = policy.SettleAfter
		r.step(t)
		r.wantOpen(t, billed, rankr.ExceptionInvoiceMismatch)
		// Paid in full, GHL marks the invoice paid: resolved.
		r.shift = 0
		must[string](t)(r.sb.PayOrder(r.loc, id, amount-amount/2))
		r.step(t)
		r.wantOpen(t, billed)
		if b := r.balance(t, rankr.RecordInvoice, billed); b.PaymentStatus != rankr.PaymentPaid {
			t.Fatalf("invoice %+v", b)
		}
		r.wantEvents(t, billed, rankr.ExceptionOpened+":invoice_mismatch", rankr.ExceptionResolved+":invoice_mismatch")
	})
}

func must2(t *testing.T) func(string, int64, error) (string, int64) {
	return func(s string, n int64, err error) (string, int64) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s, n
	}
}

func TestReconcileRenewals(t *testing.T) {
	eachStore(t, func(t *testing.T, r *recRig) {
		ctx := context.Background()
		id, amount := newOrder(t, r, sandbox.OrderSpec{Recurring: true})
		must[string](t)(r.sb.PayOrder(r.loc, id, amount))
		r.step(t)
		subs, err := r.st.SubscriptionList(ctx, store.ListParams{LocationID: r.loc})
		ok(t, err)
		if len(subs) != 1 || subs[0].OrderID != id || subs[0].NextRunAt.IsZero() {
			t.Fatalf("subscriptions %+v", subs)
		}
		sub := subs[0]
		up, err := r.st.SubscriptionsUpcoming(ctx, store.UpcomingParams{LocationID: r.loc, Before: sub.NextRunAt})
		if err != nil || len(up) != 1 || up[0].ID != sub.ID {
			t.Fatalf("upcoming %+v, %v", up, err)
		}
		// The first charge is the order's: no renewal yet.
		if rs, _ := r.st.RenewalList(ctx, store.ListParams{LocationID: r.loc}); len(rs) != 0 {
			t.Fatalf("renewals before any renewal: %+v", rs)
		}
		x := must[string](t)(r.sb.Renew(r.loc, sub.ID, true))
		must[string](t)(r.sb.Renew(r.loc, sub.ID, false)) // a failed attempt is no renewal
		if st := r.step(t); st.Renewals != 1 {
			t.Fatalf("stats %+v", st)
		}
		rs, err := r.st.RenewalList(ctx, store.ListParams{LocationID: r.loc})
		ok(t, err)
		if len(rs) != 1 || rs[0].TransactionID != x || rs[0].SubscriptionID != sub.ID || rs[0].InvoicingID != rankr.InvoicingIDOf(x) ||
			rs[0].Amount != sub.Amount || !rs[0].PeriodEnd.Equal(rankr.AdvancePeriod(rs[0].PeriodStart, sub.Interval, sub.IntervalCount)) {
			t.Fatalf("renewals %+v (subscription %+v)", rs, sub)
		}
		var invoiced, renewed int
		for _, e := range r.events(t) {
			switch {
			case e.Kind == rankr.SubscriptionInvoiced && e.RecordID == sub.ID:
				invoiced++
			case e.Kind == rankr.SubscriptionRenewed && e.RecordID == sub.ID:
				renewed++
			}
		}
		if invoiced != 1 || renewed != 1 {
			t.Fatalf("%d renewed and %d invoiced events", renewed, invoiced)
		}
		// Cancellation is an event too, and the subscription is no longer
		// upcoming.
		ok(t, r.sb.CancelSubscription(r.loc, sub.ID))
		r.step(t)
		var cancelled bool
		for _, e := range r.events(t) {
			var d struct {
				Changes map[string][2]string `json:"changes"`
			}
			_ = json.Unmarshal(e.Data, &d)
			if e.Kind == rankr.SubscriptionStatusChanged && e.RecordID == sub.ID && d.Changes["status"][1] == string(ghl.SubCanceled) {
				cancelled = true
			}
		}
		if !cancelled {
			t.Fatal("no status change event for the cancellation")
		}
		if up, _ := r.st.SubscriptionsUpcoming(ctx, store.UpcomingParams{LocationID: r.loc, Before: time.Now().AddDate(1, 0, 0)}); len(up) != 0 {
			t.Fatalf("a cancelled subscription is upcoming: %+v", up)
		}
	})
}
