package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/testwait"
)

// TestMarketplaceWorkflows plays GHL's marketplace workflow contract end
// to end, with the sandbox as GHL and rankr serve as the app, each calling
// the other: a workflow subscribes to derived_order_paid, an order paid in
// the sandbox reaches the trigger's target URL once, with the order and
// the location's token; removing the trigger stops it; a target GHL calls
// inactive deactivates its subscription; custom actions run catalog
// actions, a repeat answering the first answer (one fulfillment in GHL);
// and GHL's calls are refused without the secret, for a location rankr
// does not know, or with a target URL elsewhere.
func TestMarketplaceWorkflows(t *testing.T) {
	t.Parallel()
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			marketplaceWorkflows(t, db(t))
		})
	}
}

func marketplaceWorkflows(t *testing.T, dsn string) {
	const secret = "s3cret-for-the-workflow-calls"
	sb, url := startSandbox(t, sandbox.Config{Seed: 61, Locations: 1, Orders: 3})
	sb.SetBaseURL(url)
	s := serveSandbox(t, dsn, sb, url, daemon.Config{
		Sync: syncer.Options{PollWindow: 400 * 24 * time.Hour, Slice: 50 * time.Millisecond},
		Jobs: jobs.Config{PollInterval: 200 * time.Millisecond, WalkInterval: time.Hour},
		GHL:  []ghl.Option{ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond})},
		Marketplace: daemon.MarketplaceConfig{Secret: secret, TargetPrefixes: []string{url + sandbox.ExecutePrefix},
			Interval: 20 * time.Millisecond, BaseDelay: 10 * time.Millisecond},
	})
	sb.SetMarketplace(s.base, secret)
	ctx := context.Background()
	l := sb.Locations()[0]
	st := s.d.Store

	paidOrder := func() string {
		t.Helper()
		id, amount, err := sb.NewOrder(l.ID, sandbox.OrderSpec{Physical: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sb.PayOrder(l.ID, id, amount); err != nil {
			t.Fatal(err)
		}
		return id
	}
	synced := func(order string) {
		t.Helper()
		testwait.Until(t, time.Minute, "order "+order+" paid in rankr", func() bool {
			o, err := st.OrderGet(ctx, l.ID, order)
			return err == nil && o.PaymentStatus == rankr.PaymentPaid
		})
	}

	// A workflow adds the trigger; an order paid fires it once.
	trig, err := sb.AddWorkflowTrigger(l.ID, "derived_order_paid")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := st.MarketplaceTriggerGet(ctx, trig)
	if err != nil || !sub.Active || sub.CatalogKey != rankr.TriggerOrderPaid || sub.LocationID != l.ID {
		t.Fatalf("subscription %+v, %v", sub, err)
	}
	order := paidOrder()
	testwait.Until(t, time.Minute, "one execution of the trigger", func() bool { return len(sb.TriggerExecutions(trig)) >= 1 })
	synced(order)
	var payload struct {
		Event struct {
			Kind string `json:"kind"`
		} `json:"event"`
		Order struct {
			ID            string `json:"id"`
			PaymentStatus string `json:"paymentStatus"`
		} `json:"order"`
	}
	ex := sb.TriggerExecutions(trig)
	if err := json.Unmarshal(ex[0].Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Order.ID != order {
		t.Fatalf("the execution's payload is about order %q, want %s: %s", payload.Order.ID, order, ex[0].Payload)
	}
	// A pass repeated from before its cursor moved (a crash between the
	// deliveries recorded and the cursor's commit) records nothing again.
	if err := st.CursorPut(ctx, rankr.Cursor{LocationID: l.ID, Name: "marketplace.triggers", Value: []byte("0"),
		UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.d.Marketplace.Follow(ctx); err != nil || n != 0 {
		t.Fatalf("a repeated pass recorded %d deliveries (%v), want 0", n, err)
	}
	ds, err := st.MarketplaceDeliveries(ctx, trig)
	if err != nil || len(ds) != 1 || ds[0].State != rankr.MarketplaceDelivered {
		t.Fatalf("deliveries %+v, %v: want one, delivered", ds, err)
	}
	if n := len(sb.TriggerExecutions(trig)); n != 1 {
		t.Fatalf("%d executions, want 1", n)
	}

	// A CREATED repeated is one subscription; audited once.
	recs, err := st.AuditList(ctx, store.AuditListParams{Action: "marketplace.trigger_subscribed"})
	if err != nil || len(recs) != 1 || recs[0].Actor.Type != "ghl" {
		t.Fatalf("audit: %+v %v", recs, err)
	}

	// The workflow removes it: inactive, and a later paid order executes
	// nothing.
	if err := sb.RemoveWorkflowTrigger(trig); err != nil {
		t.Fatal(err)
	}
	if sub, _ := st.MarketplaceTriggerGet(ctx, trig); sub.Active {
		t.Fatal("the subscription is active after DELETED")
	}
	// A second subscription sees the next order, so the first one's
	// silence is not a slow loop.
	trig2, err := sb.AddWorkflowTrigger(l.ID, "derived_order_paid")
	if err != nil {
		t.Fatal(err)
	}
	order2 := paidOrder()
	testwait.Until(t, time.Minute, "the second trigger's execution", func() bool { return len(sb.TriggerExecutions(trig2)) >= 1 })
	if n := len(sb.TriggerExecutions(trig)); n != 1 {
		t.Fatalf("the removed trigger executed %d times, want still 1", n)
	}
	_ = order2

	// GHL calls the second inactive without telling rankr: the next firing
	// deactivates the subscription.
	if err := sb.DeactivateWorkflowTrigger(trig2); err != nil {
		t.Fatal(err)
	}
	paidOrder()
	testwait.Until(t, time.Minute, "the subscription deactivated by GHL's answer", func() bool {
		sub, err := st.MarketplaceTriggerGet(ctx, trig2)
		return err == nil && !sub.Active && strings.Contains(sub.Reason, "inactive")
	})
	if recs, _ := st.AuditList(ctx, store.AuditListParams{Action: "marketplace.trigger_deactivated"}); len(recs) != 1 {
		t.Fatalf("deactivations audited: %d, want 1", len(recs))
	}

	// Custom actions: a read, and a push GHL gets once.
	status, body, err := sb.CallCustomAction(l.ID, "rankr_order_get", map[string]any{"orderId": order})
	if err != nil || status != http.StatusOK || !strings.Contains(string(body), order) {
		t.Fatalf("rankr_order_get: %d %s %v", status, body, err)
	}
	push := map[string]any{"orderId": order, "trackings": []any{map[string]any{"trackingNumber": "1Z999", "carrier": "UPS"}}}
	status, first, err := sb.CallCustomAction(l.ID, "rankr_fulfillment_push", push)
	if err != nil || status != http.StatusOK {
		t.Fatalf("rankr_fulfillment_push: %d %s %v", status, first, err)
	}
	status, again, err := sb.CallCustomAction(l.ID, "rankr_fulfillment_push", push)
	if err != nil || status != http.StatusOK || !bytes.Equal(first, again) {
		t.Fatalf("rankr_fulfillment_push again: %d %s %v, want the first answer %s", status, again, err, first)
	}
	testwait.Until(t, time.Minute, "the fulfillment in GHL", func() bool { return len(fulfillmentsOf(t, sb, l.ID, order)) >= 1 })
	if n := len(fulfillmentsOf(t, sb, l.ID, order)); n != 1 {
		t.Fatalf("GHL has %d fulfillments of the order, want 1", n)
	}
	status, body, _ = sb.CallCustomAction(l.ID, "rankr_order_get", map[string]any{"orderId": ""})
	if status != http.StatusBadRequest {
		t.Fatalf("a bad input: %d %s, want 400", status, body)
	}

	// A GHL action GHL refuses (no such order): 502, with GHL's status.
	status, body, _ = sb.CallCustomAction(l.ID, "ghl_payments_order_get", map[string]any{"orderId": "no-such-order"})
	if status != http.StatusBadGateway || !strings.Contains(string(body), "ghl_error") {
		t.Fatalf("GHL's refusal: %d %s, want 502", status, body)
	}
	// A GHL action that works answers GHL's answer.
	status, body, _ = sb.CallCustomAction(l.ID, "ghl_payments_order_get", map[string]any{"orderId": order})
	if status != http.StatusOK || !strings.Contains(string(body), order) {
		t.Fatalf("ghl_payments_order_get: %d %s", status, body)
	}

	// Refusals: a bad secret, an unknown location, a target elsewhere, a
	// trigger rankr does not have.
	sb.SetMarketplace(s.base, "wrong")
	if _, err := sb.AddWorkflowTrigger(l.ID, "derived_order_paid"); !statusIs(err, http.StatusUnauthorized) {
		t.Fatalf("a bad secret: %v, want 401", err)
	}
	sb.SetMarketplace(s.base, secret)
	sub3 := func(loc, key, target string) int {
		body := map[string]any{"triggerData": map[string]any{"id": "t-" + key, "key": key, "filters": []any{}, "eventType": "CREATED",
			"targetUrl": target}, "meta": map[string]any{"key": key, "version": "1.0"},
			"extras": map[string]any{"locationId": loc, "workflowId": "wf", "companyId": "co"}}
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.base+"/ghl/triggers/subscription", bytes.NewReader(b))
		req.Header.Set("X-Rankr-Secret", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := sub3("nowhere", "derived_order_paid", url+sandbox.ExecutePrefix+"a/b"); got != http.StatusForbidden {
		t.Fatalf("an unknown location: %d, want 403", got)
	}
	if got := sub3(l.ID, "derived_order_paid", "https://evil.example/workflows-marketplace/triggers/execute/a/b"); got != http.StatusBadRequest {
		t.Fatalf("a target on another host: %d, want 400", got)
	}
	if got := sub3(l.ID, "ghl_webhook_order_create", url+sandbox.ExecutePrefix+"a/b"); got != http.StatusBadRequest {
		t.Fatalf("a GHL webhook trigger: %d, want 400", got)
	}
	if got := sub3(l.ID, "derived_order_paid", "https://services.leadconnectorhq.com/workflows-marketplace/triggers/execute/a/b"); got != http.StatusOK {
		t.Fatalf("GHL's own target: %d, want 200", got)
	}
}

func statusIs(err error, status int) bool {
	var me *sandbox.MarketplaceError
	return errors.As(err, &me) && me.Status == status
}

func fulfillmentsOf(t *testing.T, sb *sandbox.Server, loc, order string) []ghl.Fulfillment {
	t.Helper()
	truth, err := sb.Truth(loc)
	if err != nil {
		t.Fatal(err)
	}
	for _, lt := range truth.Locations {
		for _, o := range lt.Orders {
			if o.Item.ID == order {
				return o.Fulfillments
			}
		}
	}
	return nil
}

// Without a secret the surface is off: GHL's routes are not there, with
// the secret or without, and a key holder finds nothing either.
func TestMarketplaceOffWithoutASecret(t *testing.T) {
	t.Parallel()
	d := openDaemon(t, databases["sqlite"](t), daemon.Config{})
	key := ownerKey(t, d)
	h := d.Handler()
	for _, path := range []string{"/ghl/triggers/subscription", "/ghl/actions/rankr_order_get"} {
		for _, withKey := range []bool{false, true} {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{}`))
			r.Header.Set("X-Rankr-Secret", "")
			if withKey {
				r.Header.Set("Authorization", "Bearer "+key)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusNotFound {
				t.Errorf("POST %s (key %v) with the surface off: %d %s, want 404", path, withKey, w.Code, w.Body)
			}
		}
	}
}
