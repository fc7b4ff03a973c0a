package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
)

// TestGHLActionsAgainstTheSandbox runs every GHL action for real against
// the sandbox, through the registry (so that each input is validated
// against its generated schema and each answer against GHL's spec), in an
// order where every id comes from an earlier answer: a create is followed
// by a read that shows it, a delete by a read that no longer finds it. An
// action this test does not run fails it, so that a new operation cannot
// join the catalog untried.
func TestGHLActionsAgainstTheSandbox(t *testing.T) {
	t.Parallel()
	b := newGHLBed(t, sandbox.Config{Seed: 17, Locations: 1, Orders: 30})

	b.paymentsSteps(t)
	b.invoiceSteps(t)
	b.productSteps(t)
	b.storeSteps(t)

	var noStep, skipped []string
	for _, s := range b.reg.List(catalog.KindAction) {
		switch {
		case s.Source != catalog.SourceGHLAPI || b.ran[s.Key] > 0:
		case b.stepped[s.Key]:
			skipped = append(skipped, s.Key)
		default:
			noStep = append(noStep, s.Key+" ("+s.Operation+")")
		}
	}
	if len(noStep) > 0 {
		t.Errorf("%d GHL actions have no step here; give each one: %v", len(noStep), noStep)
	}
	if len(skipped) > 0 {
		t.Errorf("%d GHL actions did not run, for a step before them failed: %v", len(skipped), skipped)
	}
	if n := len(b.ran); n != len(ghl.Operations()) {
		t.Errorf("%d GHL actions ran, want all %d", n, len(ghl.Operations()))
	}
	// One line per operation whose answers broke GHL's spec, for the
	// record: each was already a failure where it happened.
	for _, op := range slices.Sorted(maps.Keys(b.warned)) {
		t.Errorf("%s warned: %s", op, strings.Join(b.warned[op], " | "))
	}
	b.webhookTriggersFired(t)
}

// webhookTriggersFired: the changes the actions made in the sandbox sent
// each of GHL's 15 commerce webhooks at least once; each names its
// catalog trigger (rankr.WebhookTrigger) and fits the trigger's payload
// schema.
func (b *ghlBed) webhookTriggersFired(t *testing.T) {
	fired := map[string]int{}
	for _, d := range b.sb.Deliveries() {
		key := rankr.WebhookTrigger(d.Type)
		if key == "" {
			continue
		}
		_, out, err := b.reg.Schemas(key)
		if err != nil {
			t.Errorf("%s: %v", d.Type, err)
			continue
		}
		if err := out.Validate(d.Body); err != nil {
			t.Errorf("a %s webhook does not fit %s: %v", d.Type, key, err)
		}
		fired[key]++
	}
	for _, s := range b.reg.List(catalog.KindTrigger) {
		if s.Source == catalog.SourceGHLWebhook && fired[s.Key] == 0 {
			t.Errorf("%s (%s) never fired from the sandbox's changes", s.Key, s.Fires[0])
		}
	}
}

// paymentsSteps: orders, transactions, subscriptions, coupons and the
// payment providers.
func (b *ghlBed) paymentsSteps(t *testing.T) {
	// The orders the steps work on are made now, so that their state is
	// known: one unpaid order of a shippable product (paid, then shipped,
	// below), and a recurring one paid in full, which starts a
	// subscription.
	orderID, amount, err := b.sb.NewOrder(b.loc.ID, sandbox.OrderSpec{Physical: true})
	if err != nil {
		t.Fatal(err)
	}
	recurringID, recurringAmount, err := b.sb.NewOrder(b.loc.ID, sandbox.OrderSpec{Recurring: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.sb.PayOrder(b.loc.ID, recurringID, recurringAmount); err != nil {
		t.Fatal(err)
	}

	b.step(t, "ListOrders", func(t *testing.T) {
		all := b.run(t, "ListOrders", obj{"limit": 100, "offset": 0})
		if !slices.Contains(ids(t, all, "data"), orderID) {
			t.Errorf("the new order %s is not listed", orderID)
		}
		wantEq(t, "totalCount", int(atNum(t, all, "totalCount")), len(atList(t, all, "data")))
		unpaid := b.run(t, "ListOrders", obj{"paymentStatus": "unpaid", "status": "pending", "limit": 100})
		if !slices.Contains(ids(t, unpaid, "data"), orderID) {
			t.Errorf("paymentStatus=unpaid&status=pending does not list the new order %s", orderID)
		}
		for i := range atList(t, unpaid, "data") {
			wantEq(t, "an unpaid order's status", atStr(t, unpaid, fmt.Sprintf("data.%d.status", i)), "pending")
		}
	})

	var priceID string
	b.step(t, "GetOrder", func(t *testing.T) {
		o := b.run(t, "GetOrder", obj{"orderId": orderID})
		wantEq(t, "_id", atStr(t, o, "_id"), orderID)
		wantEq(t, "altId", atStr(t, o, "altId"), b.loc.ID)
		wantEq(t, "amount", cents(atNum(t, o, "amount")), amount)
		wantEq(t, "items", len(atList(t, o, "items")), 1)
		wantEq(t, "the item's product type", atStr(t, o, "items.0.product.productType"), "PHYSICAL")
		priceID = atStr(t, o, "items.0.price._id")
	})

	var txnID string
	b.step(t, "ListTransactions", func(t *testing.T) {
		all := b.run(t, "ListTransactions", obj{"limit": 100})
		if len(atList(t, all, "data")) == 0 {
			t.Fatal("no transactions listed")
		}
		byOrder := b.run(t, "ListTransactions", obj{"entityId": recurringID, "limit": 100})
		wantEq(t, "the recurring order's transactions", len(atList(t, byOrder, "data")), 1)
		txnID = atStr(t, byOrder, "data.0._id")
		wantEq(t, "its amount", cents(atNum(t, byOrder, "data.0.amount")), recurringAmount)
	})

	b.step(t, "GetTransaction", func(t *testing.T) {
		need(t, txnID)
		tx := b.run(t, "GetTransaction", obj{"transactionId": txnID})
		wantEq(t, "_id", atStr(t, tx, "_id"), txnID)
		wantEq(t, "entityId", atStr(t, tx, "entityId"), recurringID)
	})

	var subID string
	b.step(t, "ListSubscriptions", func(t *testing.T) {
		all := b.run(t, "ListSubscriptions", obj{"limit": 100})
		if len(atList(t, all, "data")) == 0 {
			t.Fatal("no subscription listed, though the recurring order was paid in full")
		}
		subID = atStr(t, all, "data.0._id")
		one := b.run(t, "ListSubscriptions", obj{"id": subID})
		if got := ids(t, one, "data"); !slices.Equal(got, []string{subID}) {
			t.Errorf("id=%s lists %v", subID, got)
		}
	})

	b.step(t, "GetSubscription", func(t *testing.T) {
		need(t, subID)
		s := b.run(t, "GetSubscription", obj{"subscriptionId": subID})
		wantEq(t, "_id", atStr(t, s, "_id"), subID)
		wantEq(t, "altId", atStr(t, s, "altId"), b.loc.ID)
	})

	b.step(t, "RecordOrderPayment", func(t *testing.T) {
		half := amount / 2
		r := b.run(t, "RecordOrderPayment", obj{"orderId": orderID, "body": obj{
			"mode": "cash", "amount": float64(half) / 100, "isPartialPayment": true, "notes": "catalog test: first half"}})
		wantEq(t, "success", at(t, r, "success"), any(true))
		partial := b.run(t, "ListOrders", obj{"paymentStatus": "partially_paid", "limit": 100})
		if !slices.Contains(ids(t, partial, "data"), orderID) {
			t.Errorf("after half a payment, paymentStatus=partially_paid does not list order %s", orderID)
		}
		r = b.run(t, "RecordOrderPayment", obj{"orderId": orderID, "body": obj{
			"mode": "card", "card": obj{"type": "visa", "last4": "4242"}, "amount": float64(amount-half) / 100}})
		wantEq(t, "success", at(t, r, "success"), any(true))
		paid := b.run(t, "ListOrders", obj{"paymentStatus": "paid", "limit": 100})
		if !slices.Contains(ids(t, paid, "data"), orderID) {
			t.Errorf("after the rest, paymentStatus=paid does not list order %s", orderID)
		}
		txns := b.run(t, "ListTransactions", obj{"entityId": orderID, "limit": 100})
		var sum int64
		for i := range atList(t, txns, "data") {
			sum += cents(atNum(t, txns, fmt.Sprintf("data.%d.amount", i)))
		}
		wantEq(t, "the order's transactions", len(atList(t, txns, "data")), 2)
		wantEq(t, "their sum", sum, amount)
	})

	b.step(t, "ListOrderNotes", func(t *testing.T) {
		n := b.run(t, "ListOrderNotes", obj{"orderId": orderID})
		if _, ok := n.(map[string]any); !ok {
			t.Errorf("notes: %s, want an object", show(n))
		}
	})

	var fulfillmentID string
	tracking := obj{"trackingNumber": "1ZCATALOG0000001", "shippingCarrier": "UPS",
		"trackingUrl": "https://www.ups.com/track?tracknum=1ZCATALOG0000001"}
	b.step(t, "CreateFulfillment", func(t *testing.T) {
		need(t, priceID)
		r := b.run(t, "CreateFulfillment", obj{"orderId": orderID, "body": obj{
			"trackings": []any{tracking}, "items": []any{obj{"priceId": priceID, "qty": 1}}, "notifyCustomer": true}})
		wantEq(t, "status", at(t, r, "status"), any(true))
		wantEq(t, "altId", atStr(t, r, "data.altId"), b.loc.ID)
		wantEq(t, "the tracking number", atStr(t, r, "data.trackings.0.trackingNumber"), "1ZCATALOG0000001")
		wantEq(t, "the shipped price", atStr(t, r, "data.items.0.price._id"), priceID)
		fulfillmentID = atStr(t, r, "data._id")
		o := b.run(t, "GetOrder", obj{"orderId": orderID})
		wantEq(t, "the order's fulfillmentStatus", atStr(t, o, "fulfillmentStatus"), "fulfilled")
	})

	b.step(t, "ListFulfillments", func(t *testing.T) {
		need(t, fulfillmentID)
		r := b.run(t, "ListFulfillments", obj{"orderId": orderID})
		if got := ids(t, r, "data"); !slices.Equal(got, []string{fulfillmentID}) {
			t.Errorf("fulfillments %v, want [%s]", got, fulfillmentID)
		}
	})

	b.couponSteps(t)
	b.providerSteps(t)
}

func (b *ghlBed) couponSteps(t *testing.T) {
	b.step(t, "ListCoupons", func(t *testing.T) {
		r := b.run(t, "ListCoupons", obj{"limit": 100, "offset": 0})
		var codes []string
		for i := range atList(t, r, "data") {
			codes = append(codes, atStr(t, r, fmt.Sprintf("data.%d.code", i)))
		}
		if !slices.Contains(codes, "WELCOME10") {
			t.Errorf("the seeded coupon WELCOME10 is not listed: %v", codes)
		}
		wantEq(t, "totalCount", int(atNum(t, r, "totalCount")), len(codes))
	})

	now := time.Now().UTC()
	couponBody := obj{"name": "Catalog 15% off", "code": "CATALOG15", "discountType": "percentage", "discountValue": 15,
		"startDate": now.Add(-time.Minute).Format(time.RFC3339), "endDate": now.Add(30 * 24 * time.Hour).Format(time.RFC3339),
		"usageLimit": 100, "applyToFuturePayments": false, "limitPerCustomer": true}
	var couponID string
	b.step(t, "CreateCoupon", func(t *testing.T) {
		c := b.run(t, "CreateCoupon", obj{"body": couponBody})
		wantEq(t, "code", atStr(t, c, "code"), "CATALOG15")
		wantEq(t, "altId", atStr(t, c, "altId"), b.loc.ID)
		wantEq(t, "status", atStr(t, c, "status"), "active")
		couponID = atStr(t, c, "_id")
		l := b.run(t, "ListCoupons", obj{"search": "catalog"})
		if got := ids(t, l, "data"); !slices.Equal(got, []string{couponID}) {
			t.Errorf("search=catalog lists %v, want the new coupon %s", got, couponID)
		}
	})

	b.step(t, "GetCoupon", func(t *testing.T) {
		need(t, couponID)
		c := b.run(t, "GetCoupon", obj{"id": couponID, "code": "CATALOG15"})
		wantEq(t, "_id", atStr(t, c, "_id"), couponID)
		wantEq(t, "discountValue", atNum(t, c, "discountValue"), 15)
	})

	b.step(t, "UpdateCoupon", func(t *testing.T) {
		need(t, couponID)
		body := obj{"id": couponID}
		for k, v := range couponBody {
			body[k] = v
		}
		body["name"], body["discountValue"] = "Catalog 20% off", 20
		c := b.run(t, "UpdateCoupon", obj{"body": body})
		wantEq(t, "discountValue", atNum(t, c, "discountValue"), 20)
		g := b.run(t, "GetCoupon", obj{"id": couponID, "code": "CATALOG15"})
		wantEq(t, "discountValue read back", atNum(t, g, "discountValue"), 20)
		wantEq(t, "name read back", atStr(t, g, "name"), "Catalog 20% off")
	})

	b.step(t, "DeleteCoupon", func(t *testing.T) {
		need(t, couponID)
		r := b.run(t, "DeleteCoupon", obj{"body": obj{"id": couponID}})
		wantEq(t, "success", at(t, r, "success"), any(true))
		b.notFound(t, "GetCoupon", obj{"id": couponID, "code": "CATALOG15"})
	})
}

func (b *ghlBed) providerSteps(t *testing.T) {
	providerBody := obj{"name": "Catalog Pay", "description": "Custom provider made by the catalog test",
		"paymentsUrl": "https://pay.catalog.example/checkout", "queryUrl": "https://pay.catalog.example/query",
		"imageUrl": "https://pay.catalog.example/logo.png", "supportsSubscriptionSchedule": false}
	var providerID string
	b.step(t, "CreateCustomProvider", func(t *testing.T) {
		b.notFound(t, "GetCustomProviderConfig", obj{})
		p := b.run(t, "CreateCustomProvider", obj{"body": providerBody})
		wantEq(t, "name", atStr(t, p, "name"), "Catalog Pay")
		wantEq(t, "locationId", atStr(t, p, "locationId"), b.loc.ID)
		providerID = atStr(t, p, "_id")
	})

	b.step(t, "GetCustomProviderConfig", func(t *testing.T) {
		need(t, providerID)
		p := b.run(t, "GetCustomProviderConfig", obj{})
		wantEq(t, "_id", atStr(t, p, "_id"), providerID)
		wantEq(t, "paymentsUrl", atStr(t, p, "paymentsUrl"), "https://pay.catalog.example/checkout")
	})

	b.step(t, "ConnectCustomProvider", func(t *testing.T) {
		need(t, providerID)
		p := b.run(t, "ConnectCustomProvider", obj{"body": obj{
			"live": obj{"apiKey": "catalog_live_sk", "publishableKey": "catalog_live_pk"},
			"test": obj{"apiKey": "catalog_test_sk", "publishableKey": "catalog_test_pk"}}})
		wantEq(t, "_id", atStr(t, p, "_id"), providerID)
		// The keys GHL echoes are secrets: the run shows them redacted.
		wantEq(t, "live apiKey", atStr(t, p, "paymentProvider.live.apiKey"), "[redacted]")
		f := b.run(t, "GetCustomProviderConfig", obj{})
		wantEq(t, "live mode connected", at(t, f, "paymentProvider.live.liveMode"), any(true))
		wantEq(t, "test mode connected", at(t, f, "paymentProvider.test.liveMode"), any(false))
	})

	b.step(t, "DisconnectCustomProvider", func(t *testing.T) {
		need(t, providerID)
		r := b.run(t, "DisconnectCustomProvider", obj{"body": obj{"liveMode": true}})
		wantEq(t, "success", at(t, r, "success"), any(true))
		f := b.run(t, "GetCustomProviderConfig", obj{})
		if has(f, "paymentProvider.live") {
			t.Errorf("the live config is still there: %s", show(at(t, f, "paymentProvider")))
		}
		if !has(f, "paymentProvider.test") {
			t.Error("the test config is gone too")
		}
	})

	b.step(t, "UpdateCustomProviderCapabilities", func(t *testing.T) {
		need(t, providerID)
		r := b.run(t, "UpdateCustomProviderCapabilities", obj{"body": obj{"supportsSubscriptionSchedules": true}})
		wantEq(t, "success", at(t, r, "success"), any(true))
	})

	b.step(t, "DeleteCustomProvider", func(t *testing.T) {
		need(t, providerID)
		r := b.run(t, "DeleteCustomProvider", obj{})
		wantEq(t, "success", at(t, r, "success"), any(true))
		b.notFound(t, "GetCustomProviderConfig", obj{})
	})

	var wlID string
	b.step(t, "CreateWhiteLabelProvider", func(t *testing.T) {
		p := b.run(t, "CreateWhiteLabelProvider", obj{"body": obj{"uniqueName": "catalog-nmi", "title": "Catalog NMI",
			"provider": "nmi", "description": "White-label NMI provider made by the catalog test",
			"imageUrl": "https://pay.catalog.example/nmi.png"}})
		wantEq(t, "route", atStr(t, p, "route"), "catalog-nmi")
		wantEq(t, "altId", atStr(t, p, "altId"), b.loc.ID)
		wlID = atStr(t, p, "_id")
	})

	b.step(t, "ListWhiteLabelProviders", func(t *testing.T) {
		need(t, wlID)
		r := b.run(t, "ListWhiteLabelProviders", obj{})
		if got := ids(t, r, "providers"); !slices.Equal(got, []string{wlID}) {
			t.Errorf("providers %v, want [%s]", got, wlID)
		}
	})
}

// TestGHLActionsDryRunSendNothing runs every GHL action on its own sample
// input in a dry run: a write sends nothing (not one request reaches the
// sandbox, whose records stay as they were) and answers the request it
// would have sent and the spec's sample; a read runs for real, once.
func TestGHLActionsDryRunSendNothing(t *testing.T) {
	t.Parallel()
	b := newGHLBed(t, sandbox.Config{Seed: 23, Orders: 5})
	rc := *b.rc
	rc.DryRun = true
	before := truthJSON(t, b.sb)
	for _, s := range b.reg.List(catalog.KindAction) {
		if s.Source != catalog.SourceGHLAPI {
			continue
		}
		t.Run(s.Key, func(t *testing.T) {
			op := b.ops[s.Operation]
			n0 := b.sent.n.Load()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := b.reg.Run(ctx, s.Key, &rc, s.SampleInput)
			sent := b.sent.n.Load() - n0
			if s.Effect == catalog.EffectRead {
				// A read changes nothing, so a dry run runs it: its sample
				// ids name no record here, and GHL's "not found" is an
				// answer too.
				if sent != 1 {
					t.Errorf("a read sent %d requests in a dry run, want 1", sent)
				}
				if res.DryRun {
					t.Error("a read answered DryRun: it was not run")
				}
				var ge *ghl.Error
				if err != nil && (!errors.As(err, &ge) || ge.StatusCode == 0) {
					t.Errorf("the read did not reach GHL: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("dry run of %s: %v", s.SampleInput, err)
			}
			if sent != 0 {
				t.Errorf("a dry run of a %s action sent %d requests", s.Effect, sent)
			}
			if !res.DryRun {
				t.Error("the result does not say DryRun")
			}
			if len(res.Warnings) > 0 {
				t.Errorf("the spec's own sample breaks its output schema: %v", res.Warnings)
			}
			checkDryRequest(t, b, s, op, res.Request)
			if got, want := canonical(t, res.Output), canonical(t, catalog.Redact(s.Sample)); got != want {
				t.Errorf("output %.300s, want the spec's sample %.300s", got, want)
			}
		})
	}
	if after := truthJSON(t, b.sb); after != before {
		t.Error("the sandbox's records changed during the dry runs")
	}
}

// checkDryRequest holds the request a dry run shows to the operation: its
// method, its path filled from the input, its query and its body.
func checkDryRequest(t *testing.T, b *ghlBed, s catalog.Spec, op ghl.Operation, req *catalog.Request) {
	t.Helper()
	if req == nil {
		t.Fatal("no request")
	}
	var in map[string]any
	if err := json.Unmarshal(s.SampleInput, &in); err != nil {
		t.Fatal(err)
	}
	wantPath := op.Path
	for name, v := range in {
		if str, ok := v.(string); ok {
			wantPath = strings.ReplaceAll(wantPath, "{"+name+"}", url.PathEscape(str))
		}
	}
	path, rawQuery, _ := strings.Cut(req.Target, "?")
	if req.Method != op.Method || path != wantPath {
		t.Errorf("request %s %s, want %s %s", req.Method, path, op.Method, wantPath)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range in {
		if name == "body" || strings.Contains(op.Path, "{"+name+"}") {
			continue
		}
		var want string
		switch v := v.(type) {
		case string:
			want = v
		case float64, bool:
			want = fmt.Sprint(v)
		default:
			continue // lists are repeated parameters
		}
		if got := q.Get(name); got != want {
			t.Errorf("query %s=%q, want %q", name, got, want)
		}
	}
	// The location the run is for fills every location parameter.
	for _, name := range []string{"locationId", "altId"} {
		if q.Has(name) && q.Get(name) != b.loc.ID {
			t.Errorf("query %s=%q, want the run's location %s", name, q.Get(name), b.loc.ID)
		}
	}
	body, ok := in["body"]
	if !ok {
		return
	}
	var got map[string]any
	if err := json.Unmarshal(req.Body, &got); err != nil {
		t.Fatalf("request body %s: %v", req.Body, err)
	}
	var want map[string]any
	if err := json.Unmarshal(catalog.Redact(mustMarshal(t, body)), &want); err != nil {
		return // not an object: nothing more to compare
	}
	for k, v := range want {
		if canonical(t, mustMarshal(t, got[k])) != canonical(t, mustMarshal(t, v)) {
			t.Errorf("body %s = %s, want %s", k, show(got[k]), show(v))
		}
	}
	for _, name := range []string{"locationId", "altId"} {
		if v, ok := got[name]; ok && v != b.loc.ID {
			t.Errorf("body %s = %v, want the run's location %s", name, v, b.loc.ID)
		}
	}
}

// TestGHLActionInputErrors: an input its schema refuses, or one that
// names another location, is refused as invalid before anything is sent,
// and the error names the field.
func TestGHLActionInputErrors(t *testing.T) {
	t.Parallel()
	b := newGHLBed(t, sandbox.Config{Seed: 29, Orders: 3})
	for _, c := range []struct {
		name, op string
		input    string
		field    string
	}{
		{"a required path parameter missing", "GetOrder", `{}`, "orderId"},
		{"an unknown top-level field", "ListOrders", `{"limit": 10, "orderBy": "date"}`, "orderBy"},
		{"a parameter of the wrong type", "ListOrders", `{"limit": "ten"}`, "limit"},
		{"a body field of the wrong type", "CreateCoupon", `{"body": {"name": "X", "code": "X", "discountType": "amount", "discountValue": "ten", "startDate": "2026-01-01T00:00:00Z"}}`, "discountValue"},
		{"a body that is not an object", "CreateCoupon", `{"body": "CATALOG15"}`, "body"},
		{"a locationId naming another location", "ListOrders", `{"locationId": "anotherLocation000001"}`, "locationId"},
		{"an altId naming another location", "ListCoupons", `{"altId": "anotherLocation000001"}`, "altId"},
		{"a body altId naming another location", "CreateCoupon", `{"body": {"altId": "anotherLocation000001", "name": "X", "code": "X", "discountType": "amount", "discountValue": 10, "startDate": "2026-01-01T00:00:00Z"}}`, "altId"},
		{"a body locationId naming another location", "CreateProduct", `{"body": {"locationId": "anotherLocation000001", "name": "X", "productType": "DIGITAL"}}`, "locationId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n0 := b.sent.n.Load()
			res, err := b.reg.Run(context.Background(), b.key(t, c.op), b.rc, json.RawMessage(c.input))
			if !errors.Is(err, rankr.ErrInvalid) {
				t.Fatalf("%s %s: %v (%+v), want rankr.ErrInvalid", c.op, c.input, err, res)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("the error does not name %s: %v", c.field, err)
			}
			if n := b.sent.n.Load() - n0; n != 0 {
				t.Errorf("%d requests were sent for a refused input", n)
			}
		})
	}
}

// TestGHLActionSecretsRedacted: the API keys a custom payment provider is
// connected with are sent to GHL, and never kept or shown by the run:
// neither in the request it reports nor in GHL's answer, which echoes
// them.
func TestGHLActionSecretsRedacted(t *testing.T) {
	t.Parallel()
	b := newGHLBed(t, sandbox.Config{Seed: 31, Orders: 3})
	var connect catalog.Spec
	for _, s := range b.reg.List(catalog.KindAction) {
		if s.Operation == "ConnectCustomProvider" {
			connect = s
		}
	}
	if !strings.Contains(connect.Key, "custom_provider") || !strings.Contains(connect.Key, "connect") {
		t.Fatalf("the connect action is %q", connect.Key)
	}
	b.run(t, "CreateCustomProvider", obj{"body": obj{"name": "Secret Pay", "description": "Holds keys",
		"paymentsUrl": "https://pay.secret.example/checkout", "queryUrl": "https://pay.secret.example/query",
		"imageUrl": "https://pay.secret.example/logo.png", "supportsSubscriptionSchedule": false}})
	secrets := []string{"sk_live_catalogSECRET01", "pk_live_catalogSECRET02", "sk_test_catalogSECRET03", "pk_test_catalogSECRET04"}
	input := mustMarshal(t, obj{"body": obj{
		"live": obj{"apiKey": secrets[0], "publishableKey": secrets[1]},
		"test": obj{"apiKey": secrets[2], "publishableKey": secrets[3]}}})

	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dryRun=%v", dry), func(t *testing.T) {
			rc := *b.rc
			rc.DryRun = dry
			res, err := b.reg.Run(context.Background(), connect.Key, &rc, input)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) > 0 {
				t.Errorf("warnings: %v", res.Warnings)
			}
			if res.Request == nil {
				t.Fatal("no request")
			}
			var body any
			if err := json.Unmarshal(res.Request.Body, &body); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"live.apiKey", "live.publishableKey", "test.apiKey", "test.publishableKey"} {
				wantEq(t, "request body "+p, atStr(t, body, p), "[redacted]")
			}
			all, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if strings.Contains(string(all), s) {
					t.Errorf("the secret %s appears in the result: %s", s, all)
				}
			}
		})
	}
	// GHL has the keys: the redaction is of what rankr keeps, not of what
	// it sends.
	tr, err := b.sb.Truth(b.loc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if raw := string(mustMarshal(t, tr.Locations[0].CustomProvider)); !strings.Contains(raw, secrets[0]) || !strings.Contains(raw, secrets[3]) {
		t.Errorf("GHL did not receive the keys: %s", raw)
	}
}

func truthJSON(t *testing.T, sb *sandbox.Server) string {
	t.Helper()
	tr, err := sb.Truth("")
	if err != nil {
		t.Fatal(err)
	}
	return string(mustMarshal(t, tr))
}

func mustMarshal(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// canonical is a JSON document with its objects' keys sorted, for
// comparing documents whatever their spacing and key order.
func canonical(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	if len(raw) == 0 {
		return "null"
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
	return string(mustMarshal(t, v))
}
