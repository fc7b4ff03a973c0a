package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/testwait"
)

// TestTemplatesEndToEnd applies every template of templates/ to a rankr
// serve synced from the sandbox, causes in the sandbox what each one is
// for, and checks that each ran and did what it says, where it shows: the
// customer's shipping mail, the operators' alerts, the reconciliation
// runs, the morning digest. No run of any template fails.
func TestTemplatesEndToEnd(t *testing.T) {
	t.Parallel()
	if os.Getenv(mailtest.SMTPEnv) == "" {
		exempt.Store("POST /api/v1/automations", true)
	}
	mp := mailtest.Open(t)
	ops := "ops-templates@templates-test.example"
	w := newWorld(t, worldConfig{DB: sqliteDB(t), Seed: 33, Locations: 1, Orders: 3,
		Mail:        mailer.Config{URL: "smtp://" + mp.SMTP, From: "Shop <orders@templates-test.example>"},
		AlertEmails: []string{ops},
		// A paid order is late to ship at once, so that its template can
		// be seen to work.
		Reconcile: rankr.ReconcilePolicy{UnfulfilledAfter: time.Millisecond}})
	c := w.client(t, w.owner)
	loc := w.locations()[0]

	files, err := filepath.Glob(filepath.Join("..", "..", "templates", "*.yaml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("templates: %v %v", files, err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c.expect("POST", "/api/v1/automations", map[string]any{"name": filepath.Base(f), "source": string(src)}, http.StatusCreated, nil)
	}
	succeeded := func(automation string, n int) []automationRun {
		t.Helper()
		var runs []automationRun
		testwait.UntilWhy(t, 60*time.Second, fmt.Sprintf("%d run(s) of %s succeeded", n, automation), func() (bool, string) {
			runs = c.runsOf(automation, "status", "succeeded")
			return len(runs) >= n, fmt.Sprint(c.runsOf(automation))
		})
		return runs
	}
	reconcile := func() {
		t.Helper()
		var j job
		c.expect("POST", "/api/v1/reconciliation/runs", map[string]any{"locationId": loc}, http.StatusAccepted, &j)
		testwait.UntilWhy(t, 30*time.Second, "reconciled", func() (bool, string) {
			c.getJSON("/api/v1/jobs/"+j.ID, http.StatusOK, &j)
			return j.State == "succeeded", j.State
		})
	}
	order := func(spec sandbox.OrderSpec, pay int64) (string, int64) {
		t.Helper()
		id, amount, err := w.sb.NewOrder(loc, spec)
		if err != nil {
			t.Fatal(err)
		}
		if pay < 0 {
			pay = amount
		}
		if _, err := w.sb.PayOrder(loc, id, pay); err != nil {
			t.Fatal(err)
		}
		return id, amount
	}
	synced := func(id string) (contactEmail string) {
		t.Helper()
		testwait.UntilWhy(t, 30*time.Second, "order "+id+" synced paid with its items", func() (bool, string) {
			var o struct {
				ItemsFetched  bool   `json:"itemsFetched"`
				PaymentStatus string `json:"paymentStatus"`
				ContactEmail  string `json:"contactEmail"`
			}
			a := c.do("GET", "/api/v1/orders/"+id, nil)
			json.Unmarshal(a.Body, &o)
			contactEmail = o.ContactEmail
			return o.ItemsFetched && o.PaymentStatus != "" && o.PaymentStatus != "unpaid", string(a.Body)
		})
		return contactEmail
	}

	// ship-and-notify: Rankr fulfills an order, nobody told the customer:
	// the automation mails them, once.
	shipped, _ := order(sandbox.OrderSpec{Physical: true}, -1)
	email := synced(shipped)
	// The tracking number is this run's: mailpit outlives test runs.
	tracking := fmt.Sprintf("1ZT%d", time.Now().UnixNano())
	c.expect("POST", "/api/v1/pushes", map[string]any{"orderId": shipped,
		"trackings": []any{map[string]any{"trackingNumber": tracking, "carrier": "UPS"}}}, http.StatusCreated, nil)
	succeeded("ship-and-notify", 1)
	if email != "" {
		mp.WaitFor(t, `to:"`+email+`" subject:"Your order has shipped" `+tracking, 1, 30*time.Second)
	} else {
		mp.WaitFor(t, `to:"`+ops+`" subject:"Order `+shipped+`: shipped, customer not told"`, 1, 30*time.Second)
	}

	// unshipped-paid-order and reconcile-alert: a paid order left
	// unshipped, another paid twice over; reconciliation opens their
	// exceptions and each template alerts.
	unshipped, _ := order(sandbox.OrderSpec{Physical: true}, -1)
	over, amount := order(sandbox.OrderSpec{}, -1)
	if _, err := w.sb.PayOrder(loc, over, amount); err != nil {
		t.Fatal(err)
	}
	synced(unshipped)
	testwait.UntilWhy(t, 30*time.Second, "the second payment synced", func() (bool, string) {
		var o struct{ Transactions []any }
		a := c.do("GET", "/api/v1/orders/"+over, nil)
		json.Unmarshal(a.Body, &o)
		return len(o.Transactions) == 2, string(a.Body)
	})
	reconcile()
	succeeded("unshipped-paid-order", 1)
	mp.WaitFor(t, `to:"`+ops+`" subject:"Paid order `+unshipped+` is not shipped"`, 1, 30*time.Second)
	succeeded("reconcile-alert", 1)
	mp.WaitFor(t, `to:"`+ops+`" subject:"Reconciliation:" subject:"`+over+`"`, 1, 30*time.Second)

	// invoice-paid-reconcile: an invoice paid in GHL.
	inv, total, err := w.sb.NewInvoice(loc, false)
	if err != nil {
		t.Fatal(err)
	}
	testwait.UntilWhy(t, 30*time.Second, "the invoice synced", func() (bool, string) {
		a := c.do("GET", "/api/v1/invoices/"+inv, nil)
		return a.Status == http.StatusOK, string(a.Body)
	})
	if _, err := w.sb.PayInvoice(loc, inv, total); err != nil {
		t.Fatal(err)
	}
	run := succeeded("invoice-paid-reconcile", 1)[0]
	var detail automationRun
	c.getJSON(fmt.Sprintf("/api/v1/automation-runs/%d", run.ID), http.StatusOK, &detail)
	if len(detail.Steps) != 2 || detail.Steps[0].Status != "succeeded" || detail.Steps[1].Status != "skipped" {
		t.Errorf("invoice-paid-reconcile's steps: %+v", detail.Steps)
	}

	// subscription-renewal and subscription-renewal-failed: a
	// subscription renews, then its next charge fails.
	subOrder, _ := order(sandbox.OrderSpec{Recurring: true}, -1)
	var sub string
	testwait.UntilWhy(t, 30*time.Second, "the subscription synced", func() (bool, string) {
		var subs struct {
			Items []struct{ ID, OrderID string } `json:"items"`
		}
		c.getJSON("/api/v1/subscriptions"+q("locationId", loc, "limit", "100"), http.StatusOK, &subs)
		for _, s := range subs.Items {
			if s.OrderID == subOrder {
				sub = s.ID
			}
		}
		return sub != "", "not yet"
	})
	if _, err := w.sb.Renew(loc, sub, true); err != nil {
		t.Fatal(err)
	}
	succeeded("subscription-renewal", 1)
	if _, err := w.sb.Renew(loc, sub, false); err != nil {
		t.Fatal(err)
	}
	succeeded("subscription-renewal-failed", 1)
	mp.WaitFor(t, `to:"`+ops+`" subject:"Renewal failed: subscription `+sub+`"`, 1, 30*time.Second)

	// daily-reconciliation-digest: the next 08:00 comes.
	now := time.Now().UTC()
	slot := time.Date(now.Year(), now.Month(), now.Day(), 8, 0, 0, 0, time.UTC)
	if !slot.After(now) {
		slot = slot.AddDate(0, 0, 1)
	}
	if n, err := w.d.Runner.ScheduleOnce(context.Background(), slot); err != nil || n != 1 {
		t.Fatalf("the 08:00 slot made %d run(s): %v", n, err)
	}
	if n, _ := w.d.Runner.ScheduleOnce(context.Background(), slot); n != 0 {
		t.Errorf("the same slot again made %d run(s)", n)
	}
	succeeded("daily-reconciliation-digest", 1)
	mp.WaitFor(t, `to:"finance@example.com" subject:"Reconciliation digest for `+loc+`"`, 1, 30*time.Second)

	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if failed := c.runsOf(id, "status", "failed"); len(failed) > 0 {
			t.Errorf("%s: %d failed run(s), the first: %s", id, len(failed), failed[0].Reason)
		}
	}
}
