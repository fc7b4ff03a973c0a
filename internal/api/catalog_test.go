package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/testwait"
)

// catalogRun is a run as the API answers it.
type catalogRun struct {
	Item    string          `json:"item"`
	DryRun  bool            `json:"dryRun"`
	Output  json.RawMessage `json:"output"`
	Request *struct {
		Method string          `json:"method"`
		Target string          `json:"target"`
		Body   json.RawMessage `json:"body"`
	} `json:"request"`
	Warnings []string `json:"warnings"`
}

// run runs a catalog action over the API (dry or for real) and wants 200.
func (c *client) run(item, loc string, input any, dry bool) catalogRun {
	c.t.Helper()
	path := "/api/v1/catalog/" + item + "/runs"
	if dry {
		path = "/api/v1/catalog/" + item + "/dry-runs"
	}
	var r catalogRun
	c.expect("POST", path, map[string]any{"locationId": loc, "input": input}, http.StatusOK, &r)
	if len(r.Warnings) > 0 {
		c.t.Errorf("%s: warnings %v", item, r.Warnings)
	}
	return r
}

// TestCatalogOverTheAPI runs every one of rankr's own actions for real
// through the API, against what a rankr serve synced from the sandbox,
// and checks what each did where it shows: the push reached GHL once, the
// jobs ran, the mails arrived once. It checks the API's refusals too: a
// bad input names the field before anything is sent, GHL's refusal is a
// 502 with GHL's status, a viewer may dry-run but not run.
func TestCatalogOverTheAPI(t *testing.T) {
	t.Parallel()
	cfg := worldConfig{DB: sqliteDB(t), Seed: 12, Locations: 1, Orders: 6}
	var mp mailtest.Mailpit
	mail := os.Getenv(mailtest.SMTPEnv) != ""
	if mail {
		mp = mailtest.Open(t)
		cfg.Mail = mailer.Config{URL: "smtp://" + mp.SMTP, From: "Shop <orders@catalog-test.example>"}
		cfg.AlertEmails = []string{"ops@catalog-test.example"}
	}
	w := newWorld(t, cfg)
	c := w.client(t, w.owner)
	loc := w.locations()[0]

	var list struct {
		Counts map[string]int `json:"counts"`
		Items  []struct {
			Key    string          `json:"key"`
			Kind   string          `json:"kind"`
			Sample json.RawMessage `json:"sample"`
		} `json:"items"`
	}
	c.getJSON("/api/v1/catalog", http.StatusOK, &list)
	if list.Counts["total"] < 126 || len(list.Items) != list.Counts["total"] {
		t.Errorf("%d items, counts %v", len(list.Items), list.Counts)
	}
	c.getJSON("/api/v1/catalog"+q("kind", "trigger"), http.StatusOK, &list)
	for _, it := range list.Items {
		if it.Kind != "trigger" || len(it.Sample) == 0 {
			t.Errorf("kind=trigger listed %s (%s), sample %s", it.Key, it.Kind, it.Sample)
		}
	}
	var spec struct {
		Key    string   `json:"key"`
		Scopes []string `json:"scopes"`
	}
	c.getJSON("/api/v1/catalog/ghl.payments.order_fulfillment.create@1", http.StatusOK, &spec)
	if spec.Key != "ghl.payments.order_fulfillment.create" || len(spec.Scopes) != 1 || spec.Scopes[0] != "payments/orders.write" {
		t.Errorf("order_fulfillment.create: %+v", spec)
	}
	c.wantError(c.do("GET", "/api/v1/catalog/ghl.payments.nothing", nil), http.StatusNotFound, "not_found", "")
	c.wantError(c.do("GET", "/api/v1/catalog/ghl.payments.order.get@0", nil), http.StatusBadRequest, "invalid", "")

	// A paid order with a shippable item, and a paid subscription order.
	order, amount, err := w.sb.NewOrder(loc, sandbox.OrderSpec{Physical: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sb.PayOrder(loc, order, amount); err != nil {
		t.Fatal(err)
	}
	subOrder, subAmount, err := w.sb.NewOrder(loc, sandbox.OrderSpec{Recurring: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sb.PayOrder(loc, subOrder, subAmount); err != nil {
		t.Fatal(err)
	}
	var detail struct {
		ID           string `json:"id"`
		ItemsFetched bool   `json:"itemsFetched"`
		Transactions []struct {
			ID string `json:"id"`
		} `json:"transactions"`
	}
	testwait.UntilWhy(t, 30*time.Second, "the paid order synced with its payment", func() (bool, string) {
		a := c.do("POST", "/api/v1/catalog/rankr.order.get/runs", map[string]any{"locationId": loc, "input": map[string]any{"orderId": order}})
		var r catalogRun
		if a.Status != http.StatusOK || json.Unmarshal(a.Body, &r) != nil || json.Unmarshal(r.Output, &detail) != nil {
			return false, string(a.Body)
		}
		return detail.ItemsFetched && len(detail.Transactions) > 0, string(r.Output)
	})
	if detail.ID != order {
		t.Errorf("rankr.order.get answered order %s, want %s", detail.ID, order)
	}
	var tx struct{ ID, OrderID string }
	json.Unmarshal(c.run("rankr.transaction.get", loc, map[string]any{"transactionId": detail.Transactions[0].ID}, false).Output, &tx)
	if tx.ID != detail.Transactions[0].ID || tx.OrderID != order {
		t.Errorf("rankr.transaction.get: %+v", tx)
	}

	// The push: asked twice, made once, and GHL has one fulfillment.
	push := map[string]any{"orderId": order, "trackings": []any{map[string]any{"trackingNumber": "1ZCATALOG0001", "carrier": "UPS"}}}
	var first, second struct {
		Push    struct{ ID, State, FulfillmentID string } `json:"push"`
		Created bool                                      `json:"created"`
	}
	json.Unmarshal(c.run("rankr.fulfillment.push", loc, push, false).Output, &first)
	json.Unmarshal(c.run("rankr.fulfillment.push", loc, push, false).Output, &second)
	if !first.Created || second.Created || first.Push.ID == "" || second.Push.ID != first.Push.ID {
		t.Fatalf("push twice: %+v then %+v", first, second)
	}
	var fulfillmentID string
	testwait.UntilWhy(t, 30*time.Second, "the push done and its fulfillment synced", func() (bool, string) {
		var p struct{ State, FulfillmentID string }
		c.getJSON("/api/v1/pushes/"+first.Push.ID, http.StatusOK, &p)
		if p.State != "done" {
			return false, "push " + p.State
		}
		fulfillmentID = p.FulfillmentID
		a := c.do("POST", "/api/v1/catalog/rankr.fulfillment.get/runs", map[string]any{"locationId": loc,
			"input": map[string]any{"fulfillmentId": fulfillmentID}})
		return a.Status == http.StatusOK, string(a.Body)
	})
	var ghlList struct {
		Data []struct {
			ID string `json:"_id"`
		} `json:"data"`
	}
	json.Unmarshal(c.run("ghl.payments.order_fulfillment.list", loc, map[string]any{"orderId": order}, false).Output, &ghlList)
	if len(ghlList.Data) != 1 || ghlList.Data[0].ID != fulfillmentID {
		t.Errorf("GHL has fulfillments %+v for the order, want just %s", ghlList.Data, fulfillmentID)
	}

	testwait.UntilWhy(t, 30*time.Second, "the subscription synced", func() (bool, string) {
		var subs struct {
			Items []struct{ ID, OrderID string } `json:"items"`
		}
		c.getJSON("/api/v1/subscriptions"+q("locationId", loc, "limit", "100"), http.StatusOK, &subs)
		for _, s := range subs.Items {
			if s.OrderID == subOrder {
				var got struct{ ID string }
				json.Unmarshal(c.run("rankr.subscription.get", loc, map[string]any{"subscriptionId": s.ID}, false).Output, &got)
				return got.ID == s.ID, got.ID
			}
		}
		return false, "not yet"
	})
	var invoices struct {
		Items []struct{ ID string } `json:"items"`
	}
	c.getJSON("/api/v1/invoices"+q("locationId", loc, "limit", "1"), http.StatusOK, &invoices)
	if len(invoices.Items) == 1 {
		var got struct{ ID string }
		json.Unmarshal(c.run("rankr.invoice.get", loc, map[string]any{"invoiceId": invoices.Items[0].ID}, false).Output, &got)
		if got.ID != invoices.Items[0].ID {
			t.Errorf("rankr.invoice.get answered %q", got.ID)
		}
	} else {
		t.Error("the sandbox seeded no invoice")
	}
	for _, item := range []string{"rankr.location.resync", "rankr.reconcile.run"} {
		var j struct{ ID string }
		json.Unmarshal(c.run(item, loc, map[string]any{}, false).Output, &j)
		testwait.UntilWhy(t, 30*time.Second, item+"'s job done", func() (bool, string) {
			var got job
			c.getJSON("/api/v1/jobs/"+j.ID, http.StatusOK, &got)
			return got.State == "succeeded", got.State
		})
	}

	var report struct {
		Rows []struct{ ID string } `json:"rows"`
	}
	json.Unmarshal(c.run("rankr.reconcile.report", loc, map[string]any{}, false).Output, &report)
	if len(report.Rows) == 0 {
		t.Error("rankr.reconcile.report has no rows")
	}
	c.run("rankr.reconcile.exceptions", loc, map[string]any{"resolved": true}, false)
	var due struct {
		Subscriptions []struct{ ID string } `json:"subscriptions"`
	}
	json.Unmarshal(c.run("rankr.subscription.renewals_due", loc, map[string]any{"withinHours": 24 * 40}, false).Output, &due)
	if len(due.Subscriptions) == 0 {
		t.Error("no renewal due within 40 days, though a monthly subscription just started")
	}
	var resynced struct{ ID string }
	json.Unmarshal(c.run("rankr.order.resync", loc, map[string]any{"orderId": order}, false).Output, &resynced)
	if resynced.ID != order {
		t.Errorf("rankr.order.resync answered %q", resynced.ID)
	}

	// rankr.webhook.send: an endpoint subscribed to automation.* gets the
	// event once, however often the step is run with its key.
	var mu sync.Mutex
	var delivered []string
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		delivered = append(delivered, string(b))
		mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	c.expect("POST", "/api/v1/webhooks/endpoints", map[string]any{"url": rcv.URL + "/hook", "events": []string{"automation.*"}, "locationId": loc},
		http.StatusCreated, nil)
	send := map[string]any{"type": "shipment.notified", "data": map[string]any{"orderId": order}, "dedupeKey": "k-" + order}
	var sent1, sent2 struct {
		Event   struct{ Seq int64 } `json:"event"`
		Created bool                `json:"created"`
	}
	json.Unmarshal(c.run("rankr.webhook.send", loc, send, false).Output, &sent1)
	json.Unmarshal(c.run("rankr.webhook.send", loc, send, false).Output, &sent2)
	if !sent1.Created || sent2.Created || sent1.Event.Seq == 0 || sent2.Event.Seq != sent1.Event.Seq {
		t.Errorf("sent twice: %+v then %+v", sent1, sent2)
	}
	testwait.UntilWhy(t, 30*time.Second, "the event delivered", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered) >= 1, ""
	})
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	if len(delivered) != 1 || !strings.Contains(delivered[0], `"type":"automation.shipment.notified"`) || !strings.Contains(delivered[0], order) {
		t.Errorf("deliveries: %v", delivered)
	}
	mu.Unlock()
	c.wantError(c.do("POST", "/api/v1/catalog/rankr.webhook.send/runs", map[string]any{"locationId": loc,
		"input": map[string]any{"type": "Order.Created!", "data": map[string]any{}}}), http.StatusBadRequest, "invalid", "")

	t.Run("mail", func(t *testing.T) {
		if !mail {
			t.Skipf("%s is not set: ./scripts/test starts mailpit", mailtest.SMTPEnv)
		}
		c := w.client(t, w.owner)
		to := "buyer-" + strings.ToLower(t.Name()[len(t.Name())-4:]) + "@catalog-test.example"
		email := map[string]any{"to": to, "subject": "Catalog mail " + order, "text": "Shipped.", "dedupeKey": "k1"}
		var out struct{ Created int }
		json.Unmarshal(c.run("rankr.notify.email", loc, email, false).Output, &out)
		if out.Created != 1 {
			t.Errorf("first email: created %d", out.Created)
		}
		json.Unmarshal(c.run("rankr.notify.email", loc, email, false).Output, &out)
		if out.Created != 0 {
			t.Errorf("the same email again: created %d, want 0", out.Created)
		}
		mp.WaitFor(t, `subject:"Catalog mail `+order+`"`, 1, 30*time.Second)
		c.run("rankr.alert.raise", loc, map[string]any{"severity": "critical", "text": "Catalog alert " + order}, false)
		mp.WaitFor(t, `to:"ops@catalog-test.example" subject:"Catalog alert `+order+`"`, 1, 30*time.Second)
		time.Sleep(500 * time.Millisecond) // a second mail would have been sent by now
		if got := mp.Search(t, `subject:"Catalog mail `+order+`"`); len(got) != 1 {
			t.Errorf("%d mails for one email asked twice", len(got))
		}
	})

	// A dry run of a write sends nothing, and answers what it would send.
	var coupons struct {
		Data []any `json:"data"`
	}
	json.Unmarshal(c.run("ghl.payments.coupon.list", loc, map[string]any{}, false).Output, &coupons)
	before := len(coupons.Data)
	var couponSpec struct {
		SampleInput json.RawMessage `json:"sampleInput"`
	}
	c.getJSON("/api/v1/catalog/ghl.payments.coupon.create", http.StatusOK, &couponSpec)
	dry := c.run("ghl.payments.coupon.create", loc, couponSpec.SampleInput, true)
	if !dry.DryRun || dry.Request == nil || dry.Request.Method != "POST" || dry.Request.Target != "/payments/coupon" {
		t.Errorf("dry run: %+v", dry)
	}
	json.Unmarshal(c.run("ghl.payments.coupon.list", loc, map[string]any{}, false).Output, &coupons)
	if len(coupons.Data) != before {
		t.Errorf("a dry run made a coupon: %d, then %d", before, len(coupons.Data))
	}

	// Refusals.
	viewer := w.client(t, w.key(access.KeyRequest{Role: "viewer"}))
	viewer.run("rankr.order.get", loc, map[string]any{"orderId": order}, true)
	viewer.wantError(viewer.do("POST", "/api/v1/catalog/rankr.order.get/runs", map[string]any{"locationId": loc,
		"input": map[string]any{"orderId": order}}), http.StatusForbidden, "insufficient_scope", "")
	a := c.do("POST", "/api/v1/catalog/ghl.payments.order.get/runs", map[string]any{"locationId": loc, "input": map[string]any{"orderId": "000000000000000000000000"}})
	c.wantError(a, http.StatusBadGateway, "ghl_error", "")
	// GHL answers an unknown order id 400 (see ghl.ErrNotFound).
	if st, _ := a.err().Error.Details["ghlStatus"].(float64); st < 400 || st >= 500 || a.err().Error.Details["operation"] != "GetOrder" {
		t.Errorf("GHL's refusal answered details %v", a.err().Error.Details)
	}
	a = c.do("POST", "/api/v1/catalog/ghl.payments.order.get/runs", map[string]any{"locationId": loc, "input": map[string]any{"orderID": order}})
	c.wantError(a, http.StatusBadRequest, "invalid", "")
	if m := a.err().Error.Message; !strings.Contains(m, "orderId") || !strings.Contains(m, "orderID") {
		t.Errorf("a missing orderId and an unknown orderID: %s", m)
	}
	c.wantError(c.do("POST", "/api/v1/catalog/ghl.webhook.order_create/runs", map[string]any{"locationId": loc}), http.StatusBadRequest, "invalid_field", "item")
	c.wantError(c.do("POST", "/api/v1/catalog/rankr.order.get/runs", map[string]any{"locationId": "elsewhere", "input": map[string]any{"orderId": order}}),
		http.StatusNotFound, "not_found", "")

	// What may have changed something is in the audit log.
	var audit struct {
		Items []struct {
			Action string `json:"action"`
			Target struct {
				ID string `json:"id"`
			} `json:"target"`
		} `json:"items"`
	}
	c.getJSON("/api/v1/audit"+q("newest", "true", "limit", "200"), http.StatusOK, &audit)
	runs := map[string]int{}
	for _, e := range audit.Items {
		if e.Action == "catalog.run" {
			runs[e.Target.ID]++
		}
	}
	if runs["rankr.fulfillment.push@1"] != 2 || runs["rankr.order.get@1"] != 0 || runs["ghl.payments.coupon.create@1"] != 0 {
		t.Errorf("catalog.run audit records: %v", runs)
	}
}
