// Package storetest is the conformance suite of store.Store: one set of
// tests that every implementation (SQLite, PostgreSQL) runs against a real
// database. Other packages' tests use its helpers too: a fresh store on
// SQLite or PostgreSQL to test against, and the change feed read whole.
package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Opener returns a new, empty store for one test; the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, store.Store){
		"Clock":                testClock,
		"Connections":          testConnections,
		"InstallEvents":        testConnectionInstallEvents,
		"OrderVersions":        testOrderVersions,
		"OrderTieBreak":        testOrderTieBreak,
		"DetailSurvivesTie":    testDetailSurvivesTie,
		"PaymentStatus":        testPaymentStatus,
		"PaymentRacesOrder":    testPaymentRacesOrder,
		"Fulfillments":         testFulfillments,
		"Subscriptions":        testSubscriptions,
		"Invoices":             testInvoices,
		"CheckpointIsAtomic":   testCheckpointIsAtomic,
		"EventFeed":            testEventFeed,
		"Deletion":             testDeletion,
		"Lists":                testLists,
		"Pages":                testPages,
		"ConcurrentWriters":    testConcurrentWriters,
		"RejectsBadInput":      testRejectsBadInput,
		"UnknownStatusesStick": testUnknownStatusesStick,
		"Inbox":                testInbox,
		"WebhookEndpoints":     testWebhookEndpoints,
		"WebhookFanOut":        testWebhookFanOut,
		"WebhookDeliveries":    testWebhookDeliveries,
		"DeliveryPrune":        testWebhookDeliveryPrune,
		"WebhookClaimersShare": testWebhookClaimersShare,
		"InboxClaimersShare":   testInboxClaimersShare,
		"InboxLeasedOnAppend":  testInboxLeasedOnAppend,
		"InboxDoneOutcomes":    testInboxDoneOutcomes,
		"InboxPrune":           testInboxPrune,
		"InboxRecent":          testInboxRecent,
		"InboxClaimBefore":     testInboxClaimBefore,
		"InboxSkewedClocks":    testInboxSkewedClocks,
		"WebhookSkewedClocks":  testWebhookSkewedClocks,
		"NoticeSkewedClocks":   testNoticeSkewedClocks,
		"FulfillmentPushes":    testFulfillmentPushes,
		"PushFencing":          testPushFencing,
		"PushClockSkew":        testPushClockSkew,
		"PushCreateAtomic":     testPushCreateAtomic,
		"PushRepeated":         testPushRepeated,
		"RankrStatus":          testRankrStatus,
		"Gauges":               testGauges,
		"CountsSnapshot":       testCountsSnapshot,

		"Notices":                  testNotices,
		"NoticeLeases":             testNoticeLeases,
		"NoticeOncePerFulfillment": testNoticeOncePerFulfillment,
		"NoticeClaimersShare":      testNoticeClaimersShare,
		"ReconcileLoad":            testReconcileLoad,
		"ReconcileApply":           testReconcileApply,
		"Renewals":                 testRenewals,
		"Upcoming":                 testUpcoming,
	}
	maps.Copy(tests, accessTests())
	maps.Copy(tests, sealedTests())
	maps.Copy(tests, productTests())
	maps.Copy(tests, automationTests())
	maps.Copy(tests, marketplaceTests())
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			fn(t, s)
		})
	}
}

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// The database's clock is the one leases are measured with; it must be a
// wall clock in milliseconds, not seconds or another epoch.
func testClock(t *testing.T, s store.Store) {
	before := time.Now()
	a, err := s.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if a.Before(before.Add(-5*time.Second)) || a.After(after.Add(5*time.Second)) {
		t.Fatalf("database clock %v, process clock %v..%v", a, before, after)
	}
	if a.Location() != time.UTC {
		t.Errorf("database clock in %v, want UTC", a.Location())
	}
	time.Sleep(20 * time.Millisecond)
	b, err := s.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := b.Sub(a); d < 10*time.Millisecond || d > 5*time.Second {
		t.Fatalf("database clock moved %v in 20 ms: it is not in milliseconds", d)
	}
}

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

func order(loc, id string, updated time.Time, status string) rankr.Order {
	return rankr.Order{
		ID: id, LocationID: loc, ContactID: "c-" + id, ContactName: "Ada Lovelace", ContactEmail: "ada@example.com",
		Amount: 1000, Currency: "USD", Status: status, FulfillmentStatus: "unfulfilled", LiveMode: true,
		Source:    rankr.Source{Type: "funnel", SubType: "upsell", ID: "f1", Name: "Funnel"},
		CreatedAt: t0, UpdatedAt: updated,
		RawSummary: json.RawMessage(fmt.Sprintf(`{"_id":%q,"status":%q,"updatedAt":%q}`, id, status, updated.Format(time.RFC3339Nano))),
	}
}

func withDetail(o rankr.Order) rankr.Order {
	o.RawSummary = nil
	o.RawDetail = json.RawMessage(fmt.Sprintf(`{"_id":%q,"status":%q,"items":[{"name":"Tee"}]}`, o.ID, o.Status))
	o.Items = []rankr.OrderItem{
		{ID: "i1", Name: "Tee - M", Qty: 2, PriceID: "p1", ProductID: "prod1", ProductType: "PHYSICAL", UnitAmount: 250, Currency: "USD"},
		{ID: "i2", Name: "Course", Qty: 1, PriceID: "p2", ProductID: "prod2", ProductType: "DIGITAL", UnitAmount: 500, Currency: "USD"},
	}
	return o
}

func upsertOrders(t *testing.T, s store.Store, loc string, detail bool, orders ...rankr.Order) store.UpsertResult {
	t.Helper()
	p := store.OrderUpsertParams{LocationID: loc, Now: time.Now()}
	for _, o := range orders {
		p.Orders = append(p.Orders, store.OrderVersion{Order: o, Detail: detail})
	}
	res, err := s.OrderUpsert(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Events reads the whole change feed of one location, or of every
// location when loc is empty.
func Events(t testing.TB, s store.Store, loc string) []rankr.Event {
	t.Helper()
	var out []rankr.Event
	for after := int64(0); ; {
		page, err := s.EventList(context.Background(), store.EventListParams{AfterSeq: after, LocationID: loc, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

func kinds(es []rankr.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Kind
	}
	return out
}

func wantKinds(t *testing.T, got []rankr.Event, want ...string) {
	t.Helper()
	if !slices.Equal(kinds(got), want) {
		t.Fatalf("events %v, want %v", kinds(got), want)
	}
}

func getOrder(t *testing.T, s store.Store, loc, id string) rankr.Order {
	t.Helper()
	o, err := s.OrderGet(ctx, loc, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func work(t *testing.T, s store.Store, loc, id string) store.OrderWork {
	t.Helper()
	w, err := s.OrderWork(ctx, loc, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1 {
		t.Fatalf("order work for %s: %v", id, w)
	}
	return w[0]
}

func testConnections(t *testing.T, s store.Store) {
	if _, err := s.ConnectionGet(ctx, "L1"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing connection: %v", err)
	}
	c, err := s.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: "L1", Name: "Shop", BaseURL: "http://127.0.0.1:1",
		Credential: []byte{1, 2, 3}, CredentialKind: "pit", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != rankr.StateActive || c.Name != "Shop" || !slices.Equal(c.Credential, []byte{1, 2, 3}) || !c.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v", c)
	}
	if err := s.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: "L1", State: rankr.StateMissingScope,
		Message: "missing scope payments/orders.readonly"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ConnectionRecordSync(ctx, store.ConnectionRecordSyncParams{LocationID: "L1", At: at(5), Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	c, _ = s.ConnectionGet(ctx, "L1")
	if c.State != rankr.StateMissingScope || c.StateMessage == "" || !c.LastSyncAt.Equal(at(5)) || c.LastError != "boom" {
		t.Fatalf("after state and sync %+v", c)
	}
	// A new credential makes the connection active again.
	c, err = s.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: "L1", BaseURL: "http://127.0.0.1:2", Credential: []byte{9}})
	if err != nil || c.State != rankr.StateActive || c.StateMessage != "" || c.LastError != "" || !slices.Equal(c.Credential, []byte{9}) {
		t.Fatalf("re-upsert %+v, %v", c, err)
	}
	if _, err := s.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: "L2", BaseURL: "http://x", Credential: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ConnectionList(ctx)
	if err != nil || len(list) != 2 || list[0].LocationID != "L1" {
		t.Fatalf("list %v, %v", list, err)
	}
	if err := s.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: "nope", State: rankr.StateActive}); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("state of a missing connection: %v", err)
	}
}

// testConnectionInstallEvents: an uninstall suspends, an install resumes a
// suspended connection only, and an event older than one followed changes
// nothing, whichever order they come in.
func testConnectionInstallEvents(t *testing.T, s store.Store) {
	if _, err := s.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: "L", BaseURL: "http://x", Credential: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	event := func(installed bool, at time.Time) (rankr.ConnectionState, bool) {
		t.Helper()
		c, followed, err := s.ConnectionInstallEvent(ctx, store.ConnectionInstallEventParams{LocationID: "L", Installed: installed,
			At: at, Message: "uninstalled"})
		if err != nil {
			t.Fatal(err)
		}
		return c.State, followed
	}
	steps := []struct {
		installed bool
		at        time.Time
		state     rankr.ConnectionState
		followed  bool
	}{
		{false, at(2), rankr.StateSuspended, true},
		{true, at(1), rankr.StateSuspended, false}, // an install from before the uninstall
		{true, at(3), rankr.StateActive, true},
		{false, at(2), rankr.StateActive, false}, // the uninstall again, late
		{true, at(4), rankr.StateActive, true},
	}
	for i, st := range steps {
		if state, followed := event(st.installed, st.at); state != st.state || followed != st.followed {
			t.Fatalf("step %d: %s, followed %v; want %s, %v", i, state, followed, st.state, st.followed)
		}
	}
	if c, _ := s.ConnectionGet(ctx, "L"); c.StateMessage != "" {
		t.Fatalf("an installed connection still says %q", c.StateMessage)
	}
	// An install does not make a connection whose token GHL rejects active.
	if err := s.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: "L", State: rankr.StateTokenRejected}); err != nil {
		t.Fatal(err)
	}
	if state, followed := event(true, at(5)); state != rankr.StateTokenRejected || !followed {
		t.Fatalf("an install over a rejected token: %s, %v", state, followed)
	}
	if _, _, err := s.ConnectionInstallEvent(ctx, store.ConnectionInstallEventParams{LocationID: "nope", At: at(1)}); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("an install event of an unknown location: %v", err)
	}
	// A suspension stands against a late 401 of a sync that was under way.
	if state, _ := event(false, at(6)); state != rankr.StateSuspended {
		t.Fatalf("uninstalled: %s", state)
	}
	if err := s.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: "L", State: rankr.StateTokenRejected}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.ConnectionGet(ctx, "L"); c.State != rankr.StateSuspended {
		t.Fatalf("a late 401 over a suspension: %s", c.State)
	}
	if err := s.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: "nope", State: rankr.StateTokenRejected}); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("the state of an unknown location: %v", err)
	}
}

func testOrderVersions(t *testing.T, s store.Store) {
	const loc = "L"
	res := upsertOrders(t, s, loc, false, order(loc, "o1", at(1), "pending"))
	if len(res.Created) != 1 || res.Events != 1 {
		t.Fatalf("insert: %+v", res)
	}
	if w := work(t, s, loc, "o1"); !w.NeedsDetail || w.NeedsFulfillments {
		t.Fatalf("new order work %+v", w)
	}
	// The same version again: a no-op, no event.
	if res := upsertOrders(t, s, loc, false, order(loc, "o1", at(1), "pending")); res.Unchanged != 1 || res.Events != 0 {
		t.Fatalf("repeat: %+v", res)
	}
	// Its detail: items stored, no event, no more detail needed.
	if res := upsertOrders(t, s, loc, true, withDetail(order(loc, "o1", at(1), "pending"))); res.Events != 0 {
		t.Fatalf("detail: %+v", res)
	}
	got := getOrder(t, s, loc, "o1")
	if len(got.Items) != 2 || got.Items[0].Qty != 2 || len(got.RawDetail) == 0 || len(got.RawSummary) == 0 {
		t.Fatalf("after detail %+v", got)
	}
	if w := work(t, s, loc, "o1"); w.NeedsDetail {
		t.Fatal("detail still needed after storing it")
	}
	// A newer version changes the status: one event.
	res = upsertOrders(t, s, loc, false, order(loc, "o1", at(2), "completed"))
	if len(res.Changed) != 1 || res.Events != 1 {
		t.Fatalf("newer: %+v", res)
	}
	if w := work(t, s, loc, "o1"); !w.NeedsDetail {
		t.Fatal("a newer listed version does not ask for the detail again")
	}
	// An older version, from any path, never overwrites.
	if res := upsertOrders(t, s, loc, false, order(loc, "o1", at(1), "cancelled")); res.Stale != 1 || res.Events != 0 {
		t.Fatalf("older summary: %+v", res)
	}
	if res := upsertOrders(t, s, loc, true, withDetail(order(loc, "o1", at(1), "cancelled"))); res.Stale != 1 || res.Events != 0 {
		t.Fatalf("older detail: %+v", res)
	}
	if got := getOrder(t, s, loc, "o1"); got.Status != "completed" || !got.UpdatedAt.Equal(at(2)) {
		t.Fatalf("an older version overwrote: %+v", got)
	}
	// Fulfillment status changes have their own event.
	o := order(loc, "o1", at(3), "completed")
	o.FulfillmentStatus = "partially_fulfilled"
	upsertOrders(t, s, loc, false, o)
	// A change to untyped fields only is still an update.
	o = order(loc, "o1", at(4), "completed")
	o.FulfillmentStatus = "partially_fulfilled"
	upsertOrders(t, s, loc, false, o)
	wantKinds(t, Events(t, s, loc), rankr.OrderCreated, rankr.OrderStatusChanged, rankr.OrderFulfillmentStatusChanged, rankr.OrderUpdated)
	if _, err := s.OrderGet(ctx, loc, "nope"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing order: %v", err)
	}
}

func testOrderTieBreak(t *testing.T, s store.Store) {
	// Two versions with the same updatedAt but different content must end
	// the same way whichever arrives first.
	a, b := order("", "o1", at(1), "pending"), order("", "o1", at(1), "completed")
	for _, loc := range []string{"AB", "BA"} {
		first, second := a, b
		if loc == "BA" {
			first, second = b, a
		}
		first.LocationID, second.LocationID = loc, loc
		upsertOrders(t, s, loc, false, first)
		upsertOrders(t, s, loc, false, second)
	}
	ab, ba := getOrder(t, s, "AB", "o1"), getOrder(t, s, "BA", "o1")
	if ab.Status != ba.Status {
		t.Fatalf("arrival order decided the winner: %s vs %s", ab.Status, ba.Status)
	}
}

func testDetailSurvivesTie(t *testing.T, s store.Store) {
	const loc = "L"
	o := order(loc, "o1", at(1), "pending")
	upsertOrders(t, s, loc, false, o)
	// The detail disagrees on a typed field at the same version (it may lose
	// the tie), but its items must be kept, or the sync would refetch it
	// forever.
	d := withDetail(o)
	d.ContactName = "A. Lovelace"
	upsertOrders(t, s, loc, true, d)
	if w := work(t, s, loc, "o1"); w.NeedsDetail {
		t.Fatal("the detail was dropped on a tie")
	}
	if got := getOrder(t, s, loc, "o1"); len(got.Items) != 2 {
		t.Fatalf("items %v", got.Items)
	}
}

func txn(loc, id, orderID string, amount, refunded int64, status string, updated time.Time) rankr.Transaction {
	return rankr.Transaction{
		ID: id, LocationID: loc, EntityType: "order", EntityID: orderID, OrderID: orderID, Amount: amount,
		AmountRefunded: refunded, Currency: "USD", Status: status, LiveMode: true, Provider: "stripe", ChargeID: "ch_" + id,
		CreatedAt: updated, UpdatedAt: updated, Raw: json.RawMessage(fmt.Sprintf(`{"_id":%q}`, id)),
	}
}

func upsertTxns(t *testing.T, s store.Store, loc string, txns ...rankr.Transaction) store.UpsertResult {
	t.Helper()
	res, err := s.TransactionUpsert(ctx, store.TransactionUpsertParams{LocationID: loc, Transactions: txns})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func testPaymentStatus(t *testing.T, s store.Store) {
	const loc = "L"
	upsertOrders(t, s, loc, false, order(loc, "o1", at(1), "pending")) // amount 1000
	steps := []struct {
		txn  rankr.Transaction
		want string
	}{
		{txn(loc, "t0", "o1", 1000, 0, "failed", at(2)), rankr.PaymentUnpaid},
		{txn(loc, "t1", "o1", 400, 0, "succeeded", at(3)), rankr.PaymentPartiallyPaid},
		{txn(loc, "t2", "o1", 600, 0, "succeeded", at(4)), rankr.PaymentPaid},
		{txn(loc, "t2", "o1", 600, 100, "partially_refunded", at(5)), rankr.PaymentPartiallyRefunded},
		{txn(loc, "t1", "o1", 400, 400, "refunded", at(6)), rankr.PaymentPartiallyRefunded},
		{txn(loc, "t2", "o1", 600, 600, "refunded", at(7)), rankr.PaymentRefunded},
	}
	for i, st := range steps {
		upsertTxns(t, s, loc, st.txn)
		if got := getOrder(t, s, loc, "o1").PaymentStatus; got != st.want {
			t.Fatalf("step %d: payment status %s, want %s", i, got, st.want)
		}
	}
	got := kinds(Events(t, s, loc))
	if n := countOf(got, rankr.OrderPaymentStatusChanged); n != 4 {
		t.Fatalf("%d payment status events in %v, want 4", n, got)
	}
	if n := countOf(got, rankr.TransactionStatusChanged); n != 3 {
		t.Fatalf("%d transaction status events in %v, want 3", n, got)
	}
	// A payment synced before its order: the order is born paid.
	upsertTxns(t, s, loc, txn(loc, "t9", "o9", 1000, 0, "succeeded", at(1)))
	upsertOrders(t, s, loc, false, order(loc, "o9", at(2), "completed"))
	if got := getOrder(t, s, loc, "o9").PaymentStatus; got != rankr.PaymentPaid {
		t.Fatalf("order synced after its payment: %s", got)
	}
	list, err := s.TransactionList(ctx, store.ListParams{LocationID: loc, OrderID: "o1"})
	if err != nil || len(list) != 3 {
		t.Fatalf("transactions of o1: %d, %v", len(list), err)
	}
}

// testPaymentRacesOrder: an order and its payment stored at the same moment
// by two writers (a webhook and a poll, say) still make a paid order,
// whichever commits first.
func testPaymentRacesOrder(t *testing.T, s store.Store) {
	const loc = "L"
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("race%03d", i)
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc,
				Orders: []store.OrderVersion{{Order: order(loc, id, at(2), "completed")}}}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.TransactionUpsert(ctx, store.TransactionUpsertParams{LocationID: loc,
				Transactions: []rankr.Transaction{txn(loc, "t-"+id, id, 1000, 0, "succeeded", at(1))}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var unpaid []string
	for i := range n {
		id := fmt.Sprintf("race%03d", i)
		if o := getOrder(t, s, loc, id); o.PaymentStatus != rankr.PaymentPaid {
			unpaid = append(unpaid, id+" "+o.PaymentStatus)
		}
	}
	if len(unpaid) > 0 {
		t.Fatalf("%d of %d orders stored beside their payment are not paid: %v", len(unpaid), n, unpaid)
	}
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func fulfillment(loc, id, orderID string, created time.Time) rankr.Fulfillment {
	return rankr.Fulfillment{ID: id, LocationID: loc, OrderID: orderID, CreatedAt: created, UpdatedAt: created,
		Trackings: []rankr.Tracking{{Number: "1Z" + id, Carrier: "UPS", URL: "https://ups.example/" + id}},
		Items:     []rankr.FulfillmentItem{{ItemID: "i1", PriceID: "p1", Name: "Tee - M", Qty: 1}},
		Raw:       json.RawMessage(fmt.Sprintf(`{"_id":%q}`, id))}
}

func testFulfillments(t *testing.T, s store.Store) {
	const loc = "L"
	o := order(loc, "o1", at(1), "completed")
	upsertOrders(t, s, loc, false, o)
	if work(t, s, loc, "o1").NeedsFulfillments {
		t.Fatal("an unfulfilled order needs fulfillments")
	}
	o.FulfillmentStatus, o.UpdatedAt = "partially_fulfilled", at(2)
	upsertOrders(t, s, loc, false, o)
	if !work(t, s, loc, "o1").NeedsFulfillments {
		t.Fatal("a partially fulfilled order does not need its fulfillments")
	}
	sync := func(fs ...rankr.Fulfillment) store.UpsertResult {
		res, err := s.FulfillmentSync(ctx, store.FulfillmentSyncParams{LocationID: loc, OrderID: "o1", OrderUpdatedAt: o.UpdatedAt, Fulfillments: fs})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := sync(fulfillment(loc, "f1", "o1", at(2))); len(res.Created) != 1 || res.Events != 1 {
		t.Fatalf("first sync %+v", res)
	}
	if work(t, s, loc, "o1").NeedsFulfillments {
		t.Fatal("fulfillments still needed after syncing them")
	}
	// A later change to a partially fulfilled order may be a new parcel.
	o.UpdatedAt = at(3)
	upsertOrders(t, s, loc, false, o)
	if !work(t, s, loc, "o1").NeedsFulfillments {
		t.Fatal("a changed partially fulfilled order does not need its fulfillments")
	}
	if res := sync(fulfillment(loc, "f1", "o1", at(2)), fulfillment(loc, "f2", "o1", at(3))); len(res.Created) != 1 || res.Unchanged != 1 {
		t.Fatalf("second sync %+v", res)
	}
	o.FulfillmentStatus, o.UpdatedAt = "fulfilled", at(4)
	upsertOrders(t, s, loc, false, o)
	if !work(t, s, loc, "o1").NeedsFulfillments {
		t.Fatal("a newly fulfilled order does not need its fulfillments")
	}
	sync(fulfillment(loc, "f1", "o1", at(2)), fulfillment(loc, "f2", "o1", at(3)))
	o.Status, o.UpdatedAt = "refunded", at(5)
	upsertOrders(t, s, loc, false, o)
	if work(t, s, loc, "o1").NeedsFulfillments {
		t.Fatal("a fulfilled order needs its fulfillments again after an unrelated change")
	}
	list, err := s.FulfillmentList(ctx, store.ListParams{LocationID: loc, OrderID: "o1"})
	if err != nil || len(list) != 2 || list[0].ID != "f2" {
		t.Fatalf("list %+v, %v", list, err)
	}
	f, err := s.FulfillmentGet(ctx, loc, "f1")
	if err != nil || f.Trackings[0].Number != "1Zf1" || f.Items[0].Qty != 1 || string(f.Raw) != `{"_id":"f1"}` {
		t.Fatalf("get %+v, %v", f, err)
	}
	if n := countOf(kinds(Events(t, s, loc)), rankr.FulfillmentCreated); n != 2 {
		t.Fatalf("%d fulfillment.created events, want 2", n)
	}
}

func sub(loc, id string, updated time.Time, status string) rankr.Subscription {
	return rankr.Subscription{ID: id, LocationID: loc, ContactID: "c1", ContactName: "Ada", Amount: 2900, Currency: "USD",
		Status: status, LiveMode: true, OrderID: "o1", ProviderSubscriptionID: "sub_1", CreatedAt: t0, UpdatedAt: updated,
		RawSummary: json.RawMessage(`{"_id":"` + id + `"}`)}
}

func subDetail(x rankr.Subscription, next time.Time) rankr.Subscription {
	x.RawSummary, x.RawDetail = nil, json.RawMessage(`{"_id":"`+x.ID+`","schedule":{}}`)
	x.Interval, x.IntervalCount, x.NextRunAt = "monthly", 1, next
	return x
}

func testSubscriptions(t *testing.T, s store.Store) {
	const loc = "L"
	upsert := func(detail bool, x rankr.Subscription) store.UpsertResult {
		res, err := s.SubscriptionUpsert(ctx, store.SubscriptionUpsertParams{LocationID: loc,
			Subscriptions: []store.SubscriptionVersion{{Subscription: x, Detail: detail}}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	needing := func() []string {
		ids, err := s.SubscriptionsNeedingDetail(ctx, loc, 10)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	upsert(false, sub(loc, "s1", at(1), "active"))
	if ids := needing(); !slices.Equal(ids, []string{"s1"}) {
		t.Fatalf("needing detail %v", ids)
	}
	upsert(true, subDetail(sub(loc, "s1", at(1), "active"), at(100)))
	if ids := needing(); len(ids) != 0 {
		t.Fatalf("needing detail after it was stored %v", ids)
	}
	got, err := s.SubscriptionGet(ctx, loc, "s1")
	if err != nil || got.Interval != "monthly" || !got.NextRunAt.Equal(at(100)) || len(got.RawDetail) == 0 || len(got.RawSummary) == 0 {
		t.Fatalf("get %+v, %v", got, err)
	}
	// A renewal: a collected charge on the subscription itself.
	renewal := txn(loc, "r1", "", 2900, 0, "succeeded", at(100))
	renewal.EntityType, renewal.EntityID, renewal.OrderID, renewal.SubscriptionID = "subscription", "s1", "", "s1"
	upsertTxns(t, s, loc, renewal)
	if ids := needing(); !slices.Equal(ids, []string{"s1"}) {
		t.Fatalf("a renewal does not ask for the detail (next run) again: %v", ids)
	}
	upsert(true, subDetail(sub(loc, "s1", at(1), "active"), at(200)))
	if ids := needing(); len(ids) != 0 {
		t.Fatalf("still needing detail %v", ids)
	}
	c := sub(loc, "s1", at(300), "canceled")
	upsert(false, c)
	wantKinds(t, Events(t, s, loc), rankr.SubscriptionCreated, rankr.TransactionCreated, rankr.SubscriptionRenewed, rankr.SubscriptionStatusChanged)
}

func invoice(loc, id, status string, paid int64, updated time.Time) rankr.Invoice {
	return rankr.Invoice{ID: id, LocationID: loc, Number: "1001", Name: "Invoice", Status: status, ContactID: "c1",
		Currency: "USD", Total: 5000, AmountPaid: paid, AmountDue: 5000 - paid, LiveMode: true, IssueDate: "2026-03-01",
		DueDate: "2026-03-15", CreatedAt: t0, UpdatedAt: updated, Raw: json.RawMessage(`{"_id":"` + id + `"}`)}
}

func testInvoices(t *testing.T, s store.Store) {
	const loc = "L"
	up := func(x rankr.Invoice) store.UpsertResult {
		res, err := s.InvoiceUpsert(ctx, store.InvoiceUpsertParams{LocationID: loc, Invoices: []rankr.Invoice{x}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	up(invoice(loc, "v1", "draft", 0, at(1)))
	up(invoice(loc, "v1", "draft", 0, at(1)))
	up(invoice(loc, "v1", "sent", 0, at(2)))
	up(invoice(loc, "v1", "partially_paid", 2000, at(3)))
	up(invoice(loc, "v1", "draft", 0, at(2))) // stale
	got, err := s.InvoiceGet(ctx, loc, "v1")
	if err != nil || got.Status != "partially_paid" || got.AmountDue != 3000 {
		t.Fatalf("get %+v, %v", got, err)
	}
	wantKinds(t, Events(t, s, loc), rankr.InvoiceCreated, rankr.InvoiceStatusChanged, rankr.InvoiceStatusChanged)
}

func testCheckpointIsAtomic(t *testing.T, s store.Store) {
	const loc = "L"
	cp := &rankr.Cursor{LocationID: loc, Name: "backfill", Value: []byte(`{"offset":100}`)}
	bad := order(loc, "", at(1), "pending") // no id
	_, err := s.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, Checkpoint: cp,
		Orders: []store.OrderVersion{{Order: order(loc, "o1", at(1), "pending")}, {Order: bad}}})
	if !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("bad batch: %v", err)
	}
	if _, err := s.CursorGet(ctx, loc, "backfill"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("the checkpoint of a failed batch was written: %v", err)
	}
	if _, err := s.OrderGet(ctx, loc, "o1"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatal("part of a failed batch was written")
	}
	// A failure after the records were written (the checkpoint itself is
	// bad) rolls the records back too.
	_, err = s.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, Checkpoint: &rankr.Cursor{LocationID: loc},
		Orders: []store.OrderVersion{{Order: order(loc, "o1", at(1), "pending")}}})
	if !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("batch with a bad checkpoint: %v", err)
	}
	if _, err := s.OrderGet(ctx, loc, "o1"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatal("records of a batch whose checkpoint failed were kept")
	}
	if _, err := s.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, Checkpoint: cp,
		Orders: []store.OrderVersion{{Order: order(loc, "o1", at(1), "pending")}}}); err != nil {
		t.Fatal(err)
	}
	c, err := s.CursorGet(ctx, loc, "backfill")
	if err != nil || string(c.Value) != `{"offset":100}` {
		t.Fatalf("checkpoint %+v, %v", c, err)
	}
	if err := s.CursorPut(ctx, rankr.Cursor{LocationID: loc, Name: "backfill", Value: []byte(`{"offset":200}`)}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.CursorGet(ctx, loc, "backfill"); string(c.Value) != `{"offset":200}` {
		t.Fatalf("overwritten checkpoint %s", c.Value)
	}
}

func testEventFeed(t *testing.T, s store.Store) {
	for i := range 30 {
		loc := []string{"A", "B"}[i%2]
		upsertOrders(t, s, loc, false, order(loc, fmt.Sprintf("o%d", i), at(i), "pending"))
	}
	all, err := s.EventList(ctx, store.EventListParams{Limit: 1000})
	if err != nil || len(all) != 30 {
		t.Fatalf("%d events, %v", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("events out of order at %d", i)
		}
	}
	page, _ := s.EventList(ctx, store.EventListParams{AfterSeq: all[9].Seq, Limit: 5})
	if len(page) != 5 || page[0].Seq != all[10].Seq {
		t.Fatalf("paging after %d: %v", all[9].Seq, page)
	}
	newest, _ := s.EventList(ctx, store.EventListParams{AfterSeq: all[2].Seq, Limit: 4, Newest: true})
	if len(newest) != 4 || newest[0].Seq != all[26].Seq || newest[3].Seq != all[29].Seq {
		t.Fatalf("the 4 newest: %v", newest)
	}
	if a := Events(t, s, "A"); len(a) != 15 || a[0].LocationID != "A" || a[0].RecordType != rankr.RecordOrder {
		t.Fatalf("location filter: %d events", len(a))
	}
	var data map[string]any
	if err := json.Unmarshal(all[0].Data, &data); err != nil || data["status"] != "pending" {
		t.Fatalf("event data %s, %v", all[0].Data, err)
	}
}

func testDeletion(t *testing.T, s store.Store) {
	const loc = "L"
	upsertOrders(t, s, loc, false, order(loc, "o1", at(1), "pending"), order(loc, "o2", at(1), "pending"))
	walk := time.Now().Add(time.Second) // a full walk starting after both were stored
	if _, err := s.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, SeenAt: walk.Add(time.Second),
		Orders: []store.OrderVersion{{Order: order(loc, "o1", at(1), "pending")}}}); err != nil {
		t.Fatal(err)
	}
	ids, err := s.RecordsUnseenSince(ctx, store.UnseenParams{LocationID: loc, RecordType: rankr.RecordOrder, Since: walk})
	if err != nil || !slices.Equal(ids, []string{"o2"}) {
		t.Fatalf("unseen %v, %v", ids, err)
	}
	mark := store.MarkDeletedParams{LocationID: loc, RecordType: rankr.RecordOrder, ID: "o2", At: at(9)}
	if err := s.RecordMarkDeleted(ctx, mark); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordMarkDeleted(ctx, mark); err != nil { // twice: no second event
		t.Fatal(err)
	}
	list, _ := s.OrderList(ctx, store.ListParams{LocationID: loc})
	if len(list) != 1 || list[0].ID != "o1" {
		t.Fatalf("live orders %v", list)
	}
	if got := getOrder(t, s, loc, "o2"); got.DeletedAt.IsZero() {
		t.Fatal("a deleted order lost its mark, or was removed")
	}
	// Listed again by GHL (the deletion was a false alarm): restored.
	upsertOrders(t, s, loc, false, order(loc, "o2", at(1), "pending"))
	if got := getOrder(t, s, loc, "o2"); !got.DeletedAt.IsZero() {
		t.Fatal("a deleted order listed again stays deleted")
	}
	wantKinds(t, Events(t, s, loc), rankr.OrderCreated, rankr.OrderCreated, rankr.OrderDeleted, rankr.OrderUpdated)
}

func testLists(t *testing.T, s store.Store) {
	for i := range 12 {
		status := []string{"pending", "completed", "cancelled"}[i%3]
		o := order("L", fmt.Sprintf("o%02d", i), at(i), status)
		o.CreatedAt = at(i)
		upsertOrders(t, s, "L", false, o)
	}
	upsertOrders(t, s, "M", false, order("M", "m1", at(1), "pending"))
	page, err := s.OrderList(ctx, store.ListParams{LocationID: "L", Limit: 5, Offset: 5})
	if err != nil || len(page) != 5 || page[0].ID != "o06" {
		t.Fatalf("page %v, %v", ids(page), err)
	}
	done, _ := s.OrderList(ctx, store.ListParams{LocationID: "L", Status: "completed"})
	if len(done) != 4 {
		t.Fatalf("completed: %v", ids(done))
	}
	all, _ := s.OrderList(ctx, store.ListParams{})
	if len(all) != 13 {
		t.Fatalf("all locations: %d", len(all))
	}
	c, err := s.Counts(ctx, "L")
	if err != nil || c.Orders != 12 || c.Events != 12 {
		t.Fatalf("counts %+v, %v", c, err)
	}
}

func ids(os []rankr.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

// testConcurrentWriters has several writers deliver shuffled versions of the
// same orders at once, as a poll, a webhook and a detail fetch would.
func testConcurrentWriters(t *testing.T, s store.Store) {
	const loc, orders, versions, writers = "L", 20, 6, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var batch []store.OrderVersion
			for i := range orders {
				for v := range versions {
					o := order(loc, fmt.Sprintf("o%d", i), at(v), fmt.Sprintf("status-%d", v))
					batch = append(batch, store.OrderVersion{Order: o, Detail: rng.IntN(2) == 0})
				}
			}
			rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			for len(batch) > 0 {
				n := min(len(batch), 1+rng.IntN(10))
				if _, err := s.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, Orders: batch[:n]}); err != nil {
					errs <- err
					return
				}
				batch = batch[n:]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	created := map[string]int{}
	last := map[string]string{}
	for _, e := range Events(t, s, loc) {
		if e.Kind == rankr.OrderCreated {
			created[e.RecordID]++
		}
		var d struct {
			UpdatedAt time.Time `json:"updatedAt"`
		}
		_ = json.Unmarshal(e.Data, &d)
		if prev := last[e.RecordID]; prev != "" && d.UpdatedAt.Format(time.RFC3339) <= prev {
			t.Fatalf("order %s went back or stood still in the feed: %s after %s", e.RecordID, d.UpdatedAt, prev)
		}
		last[e.RecordID] = d.UpdatedAt.Format(time.RFC3339)
	}
	for i := range orders {
		id := fmt.Sprintf("o%d", i)
		if created[id] != 1 {
			t.Fatalf("order %s created %d times", id, created[id])
		}
		if got := getOrder(t, s, loc, id); got.Status != fmt.Sprintf("status-%d", versions-1) {
			t.Fatalf("order %s ended at %s, not the newest version", id, got.Status)
		}
	}
}

func testRejectsBadInput(t *testing.T, s store.Store) {
	cases := map[string]error{}
	_, cases["no location"] = s.OrderUpsert(ctx, store.OrderUpsertParams{Orders: []store.OrderVersion{{Order: order("", "o1", at(1), "x")}}})
	noTime := order("L", "o1", time.Time{}, "x")
	_, cases["no updatedAt"] = s.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: "L", Orders: []store.OrderVersion{{Order: noTime}}})
	_, cases["transaction without id"] = s.TransactionUpsert(ctx, store.TransactionUpsertParams{LocationID: "L",
		Transactions: []rankr.Transaction{txn("L", "", "o1", 1, 0, "succeeded", at(1))}})
	cases["connection without credential"] = func() error {
		_, err := s.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: "L", BaseURL: "http://x"})
		return err
	}()
	cases["unknown record type"] = s.RecordMarkDeleted(ctx, store.MarkDeletedParams{LocationID: "L", RecordType: "coupon", ID: "x"})
	for name, err := range cases {
		if !errors.Is(err, rankr.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func testUnknownStatusesStick(t *testing.T, s store.Store) {
	// GHL does not fix its enums: whatever it sends is kept as sent.
	o := order("L", "o1", at(1), "awaiting_confirmation_v2")
	o.FulfillmentStatus = "in_transit"
	upsertOrders(t, s, "L", false, o)
	got := getOrder(t, s, "L", "o1")
	if got.Status != "awaiting_confirmation_v2" || got.FulfillmentStatus != "in_transit" {
		t.Fatalf("statuses %s / %s", got.Status, got.FulfillmentStatus)
	}
	upsertTxns(t, s, "L", txn("L", "t1", "o1", 1000, 0, "chargeback_pending", at(2)))
	if got := getOrder(t, s, "L", "o1").PaymentStatus; got != rankr.PaymentUnpaid {
		t.Fatalf("an unknown transaction status counted as collected: %s", got)
	}
	if x, _ := s.TransactionGet(ctx, "L", "t1"); x.Status != "chargeback_pending" {
		t.Fatalf("transaction status %s", x.Status)
	}
}

func inboxEvent(id string) rankr.InboxEvent {
	return rankr.InboxEvent{WebhookID: id, Type: "OrderCreate", LocationID: "L", ReceivedAt: t0, EventAt: t0,
		Body: json.RawMessage(`{"type":"OrderCreate","webhookId":"` + id + `"}`)}
}

func testInbox(t *testing.T, s store.Store) {
	seqs, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: []rankr.InboxEvent{inboxEvent("w1"), inboxEvent("w2"), inboxEvent("w1")}})
	if err != nil || len(seqs) != 3 || seqs[0] == 0 || seqs[1] <= seqs[0] || seqs[2] != 0 {
		t.Fatalf("append: %v, %v", seqs, err)
	}
	if again, _ := s.InboxAppend(ctx, store.InboxAppendParams{Events: []rankr.InboxEvent{inboxEvent("w2")}}); again[0] != 0 {
		t.Fatal("a redelivery was stored again")
	}
	if n, _ := s.InboxPending(ctx); n != 2 {
		t.Fatalf("pending %d", n)
	}
	got, err := s.InboxClaim(ctx, store.InboxClaimParams{Limit: 1, Lease: time.Minute})
	if err != nil || len(got) != 1 || got[0].WebhookID != "w1" || got[0].Attempts != 1 || string(got[0].Body) != string(inboxEvent("w1").Body) {
		t.Fatalf("claim %+v, %v", got, err)
	}
	// w1 is held; w2 is taken for a lease short enough to run out.
	short, err := s.InboxClaim(ctx, store.InboxClaimParams{Limit: 10, Lease: 100 * time.Millisecond})
	if err != nil || len(short) != 1 || short[0].WebhookID != "w2" {
		t.Fatalf("a leased webhook was claimed again: %+v, %v", short, err)
	}
	now := time.Now()
	done := []store.InboxOutcome{{Seq: got[0].Seq, Outcome: "order stored"}}
	if err := s.InboxDone(ctx, done, now); err != nil {
		t.Fatal(err)
	}
	// Marking it again changes nothing: its first outcome stays.
	if err := s.InboxDone(ctx, []store.InboxOutcome{{Seq: got[0].Seq, Outcome: "again"}}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// An expired lease (a processor died) makes the webhook claimable again.
	later := claimInboxWhen(t, s, "w2's lease has run out", store.InboxClaimParams{Limit: 10, Lease: time.Minute})
	if len(later) != 1 || later[0].WebhookID != "w2" || later[0].Attempts != 2 {
		t.Fatalf("after the lease: %+v", later)
	}
	if n, _ := s.InboxPending(ctx); n != 1 {
		t.Fatalf("pending %d", n)
	}
}

// testInboxRecent: the newest webhooks come first, of every location or
// of one, without their bodies, processed or not.
func testInboxRecent(t *testing.T, s store.Store) {
	if got, err := s.InboxRecent(ctx, store.InboxRecentParams{}); err != nil || len(got) != 0 {
		t.Fatalf("an empty inbox: %+v, %v", got, err)
	}
	var evs []rankr.InboxEvent
	for i, loc := range []string{"A", "B", "A", "B", "B"} {
		e := inboxEvent(fmt.Sprintf("r%d", i))
		e.LocationID, e.ReceivedAt = loc, t0.Add(time.Duration(i)*time.Minute)
		if i == 4 {
			e.EventAt = time.Time{} // a body without a timestamp
		}
		evs = append(evs, e)
	}
	seqs, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InboxDone(ctx, []store.InboxOutcome{{Seq: seqs[3], Outcome: "order stored"}}, t0); err != nil {
		t.Fatal(err)
	}
	ids := func(es []rankr.InboxEvent) (out []string) {
		for _, e := range es {
			out = append(out, e.WebhookID)
			if len(e.Body) != 0 {
				t.Errorf("%s came with its body", e.WebhookID)
			}
		}
		return out
	}
	for _, c := range []struct {
		p    store.InboxRecentParams
		want []string
	}{
		{store.InboxRecentParams{}, []string{"r4"}},
		{store.InboxRecentParams{Limit: 3}, []string{"r4", "r3", "r2"}},
		{store.InboxRecentParams{LocationID: "A", Limit: 10}, []string{"r2", "r0"}},
		{store.InboxRecentParams{LocationID: "B", Limit: 2}, []string{"r4", "r3"}},
		{store.InboxRecentParams{LocationID: "C", Limit: 2}, nil},
	} {
		got, err := s.InboxRecent(ctx, c.p)
		if err != nil || !slices.Equal(ids(got), c.want) {
			t.Errorf("%+v: %v, %v; want %v", c.p, ids(got), err, c.want)
		}
	}
	got, _ := s.InboxRecent(ctx, store.InboxRecentParams{LocationID: "B", Limit: 2})
	if len(got) == 2 {
		if !got[0].EventAt.IsZero() || !got[0].ReceivedAt.Equal(evs[4].ReceivedAt) || got[0].Type != "OrderCreate" || got[0].LocationID != "B" {
			t.Errorf("r4 read back as %+v", got[0])
		}
		if !got[1].EventAt.Equal(t0) || got[1].Outcome != "order stored" || got[1].Seq != seqs[3] {
			t.Errorf("r3 read back as %+v", got[1])
		}
	}
}

// testInboxLeasedOnAppend: webhooks stored leased to their receiver are
// not claimable until the lease ends, and then count a second attempt; a
// redelivery does not renew the lease.
func testInboxLeasedOnAppend(t *testing.T, s store.Store) {
	seqs, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: []rankr.InboxEvent{inboxEvent("l1")}, Lease: time.Minute})
	if err != nil || seqs[0] == 0 {
		t.Fatalf("append: %v, %v", seqs, err)
	}
	short, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: []rankr.InboxEvent{inboxEvent("l2")}, Lease: 100 * time.Millisecond})
	if err != nil || short[0] == 0 {
		t.Fatalf("append: %v, %v", short, err)
	}
	if again, _ := s.InboxAppend(ctx, store.InboxAppendParams{Events: []rankr.InboxEvent{inboxEvent("l2")}, Lease: time.Hour}); again[0] != 0 {
		t.Fatal("a redelivery was stored again")
	}
	got := claimInboxWhen(t, s, "l2's lease has run out", store.InboxClaimParams{Limit: 10, Lease: time.Minute})
	if len(got) != 1 || got[0].Seq != short[0] || got[0].Attempts != 2 {
		t.Fatalf("after the lease (l1's still runs; l2's redelivery must not renew it): %+v", got)
	}
	if err := s.InboxDone(ctx, []store.InboxOutcome{{Seq: seqs[0], Outcome: "order stored"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.InboxPending(ctx); n != 1 {
		t.Fatalf("pending %d, want l2's", n)
	}
}

// testInboxClaimBefore: a claim bounded by a sequence number takes only the
// webhooks stored before it, oldest first.
func testInboxClaimBefore(t *testing.T, s store.Store) {
	var batch []rankr.InboxEvent
	for i := range 6 {
		batch = append(batch, inboxEvent(fmt.Sprintf("b%d", i)))
	}
	seqs, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: batch})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.InboxClaim(ctx, store.InboxClaimParams{Limit: 10, Lease: time.Minute, BeforeSeq: seqs[3]})
	if err != nil || len(got) != 3 || got[0].Seq != seqs[0] || got[2].Seq != seqs[2] {
		t.Fatalf("claimed before %d: %+v, %v", seqs[3], got, err)
	}
	if rest, _ := s.InboxClaim(ctx, store.InboxClaimParams{Limit: 10, Lease: time.Minute}); len(rest) != 3 || rest[0].Seq != seqs[3] {
		t.Fatalf("then without a bound: %+v", rest)
	}
}

// testInboxDoneOutcomes: many webhooks with a few outcomes are each marked
// with their own.
func testInboxDoneOutcomes(t *testing.T, s store.Store) {
	var batch []rankr.InboxEvent
	for i := range 1200 {
		batch = append(batch, inboxEvent(fmt.Sprintf("d%04d", i)))
	}
	// The first one again at the end: a redelivery within one batch, too
	// large for one statement.
	seqs, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: append(batch, batch[0])})
	if err != nil {
		t.Fatal(err)
	}
	if seqs[0] == 0 || seqs[len(seqs)-1] != 0 {
		t.Fatalf("a webhook twice in a batch of %d: seqs %d and %d", len(seqs), seqs[0], seqs[len(seqs)-1])
	}
	seqs = seqs[:len(batch)]
	done := make([]store.InboxOutcome, len(seqs))
	for i, seq := range seqs {
		done[i] = store.InboxOutcome{Seq: seq, Outcome: fmt.Sprintf("outcome %d", i%3)}
	}
	if err := s.InboxDone(ctx, done[:1100], time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.InboxPending(ctx); n != 100 {
		t.Fatalf("pending %d, want 100", n)
	}
	for _, i := range []int{0, 1, 2, 700, 1099} {
		if got := inboxOutcome(t, s, seqs[i]); got != done[i].Outcome {
			t.Fatalf("webhook %d: outcome %q, want %q", i, got, done[i].Outcome)
		}
	}
}

// testInboxPrune: processed webhooks older than the cutoff go, oldest
// first and no more than asked; unprocessed ones stay whatever their age.
func testInboxPrune(t *testing.T, s store.Store) {
	var batch []rankr.InboxEvent
	for i := range 10 {
		batch = append(batch, inboxEvent(fmt.Sprintf("p%02d", i)))
	}
	seqs, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: batch})
	if err != nil {
		t.Fatal(err)
	}
	old, recent := t0, t0.Add(48*time.Hour)
	var done []store.InboxOutcome
	for _, seq := range seqs[:6] {
		done = append(done, store.InboxOutcome{Seq: seq, Outcome: "order created"})
	}
	if err := s.InboxDone(ctx, done[:4], old); err != nil {
		t.Fatal(err)
	}
	if err := s.InboxDone(ctx, done[4:], recent); err != nil {
		t.Fatal(err)
	}
	cutoff := t0.Add(24 * time.Hour)
	if n, err := s.InboxPrune(ctx, store.InboxPruneParams{Before: cutoff, Limit: 3}); err != nil || n != 3 {
		t.Fatalf("first prune: %d, %v; want 3 (its limit)", n, err)
	}
	if n, err := s.InboxPrune(ctx, store.InboxPruneParams{Before: cutoff, Limit: 3}); err != nil || n != 1 {
		t.Fatalf("second prune: %d, %v; want the 1 old processed webhook left", n, err)
	}
	if n, err := s.InboxPrune(ctx, store.InboxPruneParams{Before: recent.Add(time.Hour)}); err != nil || n != 2 {
		t.Fatalf("prune after the recent ones: %d, %v; want 2", n, err)
	}
	if n, _ := s.InboxPending(ctx); n != 4 {
		t.Fatalf("%d unprocessed webhooks left, want all 4", n)
	}
	// A redelivery of a pruned webhook is stored again: pruning keeps what
	// is recent enough to be redelivered, and no more.
	if again, _ := s.InboxAppend(ctx, store.InboxAppendParams{Events: batch[:1]}); again[0] == 0 {
		t.Fatal("a pruned webhook is still known")
	}
	if _, err := s.InboxPrune(ctx, store.InboxPruneParams{}); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("a prune without a cutoff: %v", err)
	}
}

func testInboxClaimersShare(t *testing.T, s store.Store) {
	var batch []rankr.InboxEvent
	for i := range 200 {
		batch = append(batch, inboxEvent(fmt.Sprintf("w%03d", i)))
	}
	if _, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: batch}); err != nil {
		t.Fatal(err)
	}
	claimedOnce(t, "webhook", 200, func() ([]string, error) {
		got, err := s.InboxClaim(ctx, store.InboxClaimParams{Limit: 7, Lease: time.Hour})
		ids := make([]string, len(got))
		for i, e := range got {
			ids[i] = e.WebhookID
		}
		return ids, err
	})
}

// claimedOnce has 4 claimers call claim until it returns nothing, and
// checks that they got want distinct records (of the kind what), each once.
func claimedOnce(t *testing.T, what string, want int, claim func() ([]string, error)) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				got, err := claim()
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, id := range got {
					seen[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != want {
		t.Fatalf("%d %ss claimed, want %d", len(seen), what, want)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s %s claimed %d times under one lease", what, id, n)
		}
	}
}

func testFulfillmentPushes(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	shippable(t, s, "L", "o1")
	p := rankr.FulfillmentPush{ID: "fp1", LocationID: "L", OrderID: "o1", NotifyCustomer: true, CreatedAt: now,
		Trackings: []rankr.Tracking{{Number: "1Z1", Carrier: "UPS"}}, Items: []rankr.PushItem{{PriceID: "p1", Qty: 2}}}
	newPush(t, s, p)
	if _, created, err := s.PushCreate(ctx, p); err != nil || created {
		t.Fatalf("the same push was recorded twice: created %v, %v", created, err)
	}
	if due, _ := s.PushesDue(ctx, 10); !slices.Equal(due, []string{"fp1"}) {
		t.Fatalf("due %v", due)
	}
	got, err := s.PushClaim(ctx, store.PushClaimParams{ID: "fp1", Now: now, Lease: time.Minute})
	if err != nil || got.State != rankr.PushPushing || got.Attempts != 1 || got.Items[0].Qty != 2 || got.Trackings[0].Number != "1Z1" {
		t.Fatalf("claim %+v, %v", got, err)
	}
	if _, err := s.PushClaim(ctx, store.PushClaimParams{ID: "fp1", Now: now, Lease: time.Minute}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a held push was claimed again: %v", err)
	}
	// The outcome is unknown: the next attempt may come at once.
	if err := s.PushFinish(ctx, store.PushFinishParams{ID: "fp1", Claim: got.Claim, State: rankr.PushUnknown, Error: "timeout", Now: now}); err != nil {
		t.Fatal(err)
	}
	got, err = s.PushClaim(ctx, store.PushClaimParams{ID: "fp1", Now: now, Lease: 50 * time.Millisecond})
	if err != nil || got.Attempts != 2 || got.LastError != "timeout" {
		t.Fatalf("second claim %+v, %v", got, err)
	}
	// A pusher that dies leaves it pushing; after its lease, it is due again.
	got = claimAfterLease(t, s, "fp1", time.Minute)
	if err := s.PushFinish(ctx, store.PushFinishParams{ID: "fp1", Claim: got.Claim, State: rankr.PushDone, FulfillmentID: "f9", Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PushClaim(ctx, store.PushClaimParams{ID: "fp1", Now: now.Add(time.Hour)}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a done push was claimed: %v", err)
	}
	if owner, _ := s.PushOwning(ctx, "L", "f9"); owner != "fp1" {
		t.Fatalf("owner of f9: %q", owner)
	}
	if owner, _ := s.PushOwning(ctx, "L", "f0"); owner != "" {
		t.Fatalf("owner of f0: %q", owner)
	}
	list, err := s.PushList(ctx, store.ListParams{LocationID: "L", Status: string(rankr.PushDone)})
	if err != nil || len(list) != 1 || list[0].FulfillmentID != "f9" || list[0].Attempts != 3 {
		t.Fatalf("list %+v, %v", list, err)
	}
	wantKinds(t, Events(t, s, "L"), rankr.OrderCreated, rankr.FulfillmentPushRequested, rankr.FulfillmentPushed)
	if _, err := s.PushGet(ctx, "nope"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing push: %v", err)
	}
}

// inboxOutcome reads a webhook's recorded outcome. The Store interface has
// no reader for it (only operators look, in the database), so this asks the
// SQL both implementations share.
func inboxOutcome(t *testing.T, s store.Store, seq int64) string {
	t.Helper()
	db, ok := s.(interface{ InboxDB() *sql.DB })
	if !ok {
		t.Skip("the store does not expose its database")
	}
	var outcome string
	if err := db.InboxDB().QueryRowContext(ctx, fmt.Sprintf(`SELECT outcome FROM webhook_inbox WHERE seq = %d`, seq)).Scan(&outcome); err != nil {
		t.Fatal(err)
	}
	return outcome
}
