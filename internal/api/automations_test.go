package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/testwait"
)

// paidOrderPush is an automation pushing a tracking number to each paid
// order (the sandbox's physical ones), reading the order first.
const paidOrderPush = `apiVersion: rankr.dev/v1
kind: Automation
id: api-paid-push
description: push a tracking number to each paid order
trigger:
  key: derived.order.paid@1
  filter: trigger.order.currency != "XXX"
steps:
  - id: order
    action: rankr.order.get@1
    with:
      orderId: "${{ trigger.order.id }}"
  - id: push
    action: rankr.fulfillment.push@1
    with:
      orderId: "${{ steps.order.output.id }}"
      trackings:
        - trackingNumber: "AUTO-${{ trigger.order.id }}"
          carrier: UPS
concurrency: { key: "${{ trigger.order.id }}", limit: 1 }
`

// automationRun is a run as the API shows it.
type automationRun struct {
	ID           int64  `json:"id"`
	AutomationID string `json:"automationId"`
	Version      int    `json:"version"`
	EventID      string `json:"eventId"`
	Status       string `json:"status"`
	Reason       string `json:"reason"`
	Steps        []struct {
		StepID  string          `json:"stepId"`
		Status  string          `json:"status"`
		Output  json.RawMessage `json:"output"`
		Request json.RawMessage `json:"request"`
		Error   string          `json:"error"`
	} `json:"steps"`
}

// runsOf lists an automation's runs.
func (c *client) runsOf(automation string, extra ...string) []automationRun {
	c.t.Helper()
	var page struct {
		Items []automationRun `json:"items"`
	}
	c.getJSON("/api/v1/automation-runs"+q(append([]string{"automation", automation, "limit", "200"}, extra...)...), http.StatusOK, &page)
	return page.Items
}

// TestAutomationsOverTheAPI takes an automation through its life over the
// API against a rankr serve synced from the sandbox: validation that names
// the wrong path and its line, a dry-run apply that saves nothing, a run
// per paid order that pushes to GHL exactly once, versions and their
// diff, disabling, a test that reads for real and sends nothing, a failed
// run retried, the filter's verdict kept for a skipped run.
func TestAutomationsOverTheAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldConfig{DB: sqliteDB(t), Seed: 21, Locations: 1, Orders: 4})
	c := w.client(t, w.owner)
	loc := w.locations()[0]

	var schema map[string]any
	c.getJSON("/api/v1/automations/schema", http.StatusOK, &schema)
	if schema["$schema"] == nil {
		t.Errorf("the file schema has no $schema: %v", schema)
	}
	bad := strings.Replace(paidOrderPush, `trigger.order.currency != "XXX"`, `trigger.order.amout > 1`, 1)
	a := c.do("POST", "/api/v1/automations/validate", map[string]any{"name": "paid.yaml", "source": bad})
	c.wantError(a, http.StatusBadRequest, "invalid_automation", "")
	if m := a.err().Error.Message; !strings.Contains(m, "trigger.order.amout") || !strings.Contains(m, "line 7") {
		t.Errorf("a wrong path: %s", m)
	}
	problems, _ := a.err().Error.Details["problems"].([]any)
	if len(problems) != 1 || problems[0].(map[string]any)["line"] != float64(7) {
		t.Errorf("problems %v, want one at line 7", problems)
	}
	var res struct {
		ID      string   `json:"id"`
		Version int      `json:"version"`
		Changed bool     `json:"changed"`
		New     bool     `json:"new"`
		Diff    []string `json:"diff"`
		Scopes  []string `json:"scopes"`
	}
	c.expect("POST", "/api/v1/automations/validate", map[string]any{"source": paidOrderPush}, http.StatusOK, &res)
	if !slices.Contains(res.Scopes, "payments/orders.write") {
		t.Errorf("validate: scopes %v", res.Scopes)
	}
	c.expect("POST", "/api/v1/automations", map[string]any{"source": paidOrderPush, "dryRun": true}, http.StatusOK, &res)
	if !res.New || !res.Changed || len(res.Diff) == 0 || !strings.HasPrefix(res.Diff[0], "+ ") {
		t.Errorf("dry-run apply: %+v", res)
	}
	var list struct {
		Items []struct{ ID string } `json:"items"`
	}
	c.getJSON("/api/v1/automations", http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a dry run saved %v", list.Items)
	}
	c.expect("POST", "/api/v1/automations", map[string]any{"name": "paid.yaml", "source": paidOrderPush}, http.StatusCreated, &res)
	if res.Version != 1 || !res.New {
		t.Errorf("apply: %+v", res)
	}
	c.expect("POST", "/api/v1/automations", map[string]any{"source": paidOrderPush}, http.StatusOK, &res)
	if res.Version != 1 || res.Changed {
		t.Errorf("the same file again made %+v", res)
	}

	// A paid order: one run, which reads it and pushes to GHL once.
	paid := func() string {
		t.Helper()
		id, amount, err := w.sb.NewOrder(loc, sandbox.OrderSpec{Physical: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.sb.PayOrder(loc, id, amount); err != nil {
			t.Fatal(err)
		}
		return id
	}
	order := paid()
	var run automationRun
	testwait.UntilWhy(t, 45*time.Second, "the paid order's run succeeded", func() (bool, string) {
		for _, r := range c.runsOf("api-paid-push") {
			if r.EventID != "" && r.Status == "succeeded" {
				c.getJSON(fmt.Sprintf("/api/v1/automation-runs/%d", r.ID), http.StatusOK, &run)
				if strings.Contains(string(run.Steps[0].Output), order) {
					return true, ""
				}
			}
		}
		return false, fmt.Sprint(c.runsOf("api-paid-push"))
	})
	if len(run.Steps) != 2 || run.Steps[1].StepID != "push" || !strings.Contains(string(run.Steps[1].Output), `"created":true`) {
		t.Errorf("the run's steps: %+v", run.Steps)
	}
	testwait.UntilWhy(t, 30*time.Second, "the order's fulfillment in GHL", func() (bool, string) {
		var ghlList struct {
			Data []any `json:"data"`
		}
		json.Unmarshal(c.run("ghl.payments.order_fulfillment.list", loc, map[string]any{"orderId": order}, false).Output, &ghlList)
		if len(ghlList.Data) > 1 {
			t.Fatalf("GHL has %d fulfillments for the order", len(ghlList.Data))
		}
		return len(ghlList.Data) == 1, fmt.Sprint(len(ghlList.Data))
	})
	runs := 0
	for _, r := range c.runsOf("api-paid-push") {
		if r.Status == "succeeded" && r.ID == run.ID {
			runs++
		}
	}
	if runs != 1 {
		t.Errorf("%d runs for the paid order", runs)
	}

	// A second version: the diff, both versions kept, the old file shown.
	v2 := strings.Replace(paidOrderPush, "carrier: UPS", "carrier: FedEx", 1)
	c.expect("POST", "/api/v1/automations", map[string]any{"source": v2, "note": "FedEx now"}, http.StatusOK, &res)
	if res.Version != 2 || !res.Changed || !slices.Contains(res.Diff, "-           carrier: UPS") || !slices.Contains(res.Diff, "+           carrier: FedEx") {
		t.Errorf("version 2: %+v", res)
	}
	var detail struct {
		Version  int    `json:"version"`
		Shown    int    `json:"shown"`
		Source   string `json:"source"`
		Versions []struct {
			Version int    `json:"version"`
			Note    string `json:"note"`
		} `json:"versions"`
	}
	c.getJSON("/api/v1/automations/api-paid-push"+q("version", "1"), http.StatusOK, &detail)
	if detail.Version != 2 || detail.Shown != 1 || !strings.Contains(detail.Source, "UPS") || len(detail.Versions) != 2 ||
		detail.Versions[0].Version != 2 || detail.Versions[0].Note != "FedEx now" {
		t.Errorf("the automation: %+v", detail)
	}

	// A test on the last event: the read runs, the push is only shown.
	var rep struct {
		Status string `json:"status"`
		Steps  []struct {
			StepID  string `json:"stepId"`
			Status  string `json:"status"`
			Request *struct {
				Method string `json:"method"`
				Target string `json:"target"`
			} `json:"request"`
			Output json.RawMessage `json:"output"`
		} `json:"steps"`
	}
	c.expect("POST", "/api/v1/automations/tests", map[string]any{"id": "api-paid-push", "locationId": loc, "event": "last"}, http.StatusOK, &rep)
	if rep.Status != "succeeded" || len(rep.Steps) != 2 || rep.Steps[1].Request == nil ||
		!strings.HasSuffix(rep.Steps[1].Request.Target, "/fulfillments") || !strings.Contains(string(rep.Steps[0].Output), `"id"`) {
		t.Errorf("test: %+v", rep)
	}
	c.expect("POST", "/api/v1/automations/tests", map[string]any{"source": v2, "locationId": loc}, http.StatusOK, &rep)
	if rep.Status == "" || len(rep.Steps) == 0 {
		t.Errorf("a test of a file on the sample: %+v", rep)
	}

	// Off: a paid order starts no run; on again.
	var auto struct{ Enabled bool }
	c.expect("POST", "/api/v1/automations/api-paid-push/disable", nil, http.StatusOK, &auto)
	if auto.Enabled {
		t.Error("disable left it enabled")
	}
	before := len(c.runsOf("api-paid-push"))
	quiet := paid()
	testwait.UntilWhy(t, 30*time.Second, "the quiet order synced", func() (bool, string) {
		a := c.do("GET", "/api/v1/orders/"+quiet, nil)
		return a.Status == http.StatusOK && strings.Contains(string(a.Body), `"paymentStatus":"paid"`), string(a.Body)
	})
	time.Sleep(300 * time.Millisecond) // the runner polls every 20 ms
	if n := len(c.runsOf("api-paid-push")); n != before {
		t.Errorf("a disabled automation ran: %d runs, then %d", before, n)
	}
	c.expect("POST", "/api/v1/automations/api-paid-push/enable", nil, http.StatusOK, &auto)

	// A run that fails for good keeps why; retry queues it again; a
	// filtered-out event is a skipped run with the verdict.
	failing := strings.NewReplacer("id: api-paid-push", "id: api-failing", `orderId: "${{ steps.order.output.id }}"`, `orderId: "no-such-order"`,
		`filter: trigger.order.currency != "XXX"`, `filter: trigger.order.currency != "XXX"`).Replace(paidOrderPush)
	c.expect("POST", "/api/v1/automations", map[string]any{"source": failing}, http.StatusCreated, &res)
	skipping := strings.NewReplacer("id: api-paid-push", "id: api-skipping", `!= "XXX"`, `== "XXX"`).Replace(paidOrderPush)
	c.expect("POST", "/api/v1/automations", map[string]any{"source": skipping}, http.StatusCreated, &res)
	paid()
	var failed automationRun
	testwait.UntilWhy(t, 45*time.Second, "a failed run and a skipped one", func() (bool, string) {
		fs, ss := c.runsOf("api-failing", "status", "failed"), c.runsOf("api-skipping", "status", "skipped")
		if len(fs) > 0 {
			failed = fs[0]
		}
		return len(fs) > 0 && len(ss) > 0, fmt.Sprint(c.runsOf("api-failing"), c.runsOf("api-skipping"))
	})
	if !strings.Contains(failed.Reason, "no-such-order") {
		t.Errorf("failed run's reason: %q", failed.Reason)
	}
	if ss := c.runsOf("api-skipping", "status", "skipped"); !strings.Contains(ss[0].Reason, "false") {
		t.Errorf("skipped run's reason: %q", ss[0].Reason)
	}
	var retried automationRun
	c.expect("POST", fmt.Sprintf("/api/v1/automation-runs/%d/retry", failed.ID), nil, http.StatusOK, &retried)
	if retried.Status != "queued" {
		t.Errorf("retried run: %+v", retried)
	}
	c.wantError(c.do("POST", fmt.Sprintf("/api/v1/automation-runs/%d/retry", run.ID), nil), http.StatusConflict, "conflict", "")
	c.wantError(c.do("GET", "/api/v1/automation-runs/x1", nil), http.StatusNotFound, "not_found", "")

	var pauses struct {
		Items []any `json:"items"`
	}
	c.getJSON("/api/v1/automation-pauses", http.StatusOK, &pauses)
	if len(pauses.Items) != 0 {
		t.Errorf("pauses %v", pauses.Items)
	}
	var resumed struct{ Resumed bool }
	c.expect("DELETE", "/api/v1/automation-pauses/"+loc, nil, http.StatusOK, &resumed)
	if resumed.Resumed {
		t.Error("resumed a location that was not paused")
	}

	// The metrics saw the runs.
	families, err := w.d.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := ""
			for _, l := range m.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + ","
			}
			switch f.GetName() {
			case "rankr_automation_runs_total":
				seen[f.GetName()+"{"+labels+"}"] = m.GetCounter().GetValue()
			case "rankr_automation_run_start_seconds":
				seen[f.GetName()+"{"+labels+"}"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	if seen["rankr_automation_runs_total{automation=api-paid-push,status=succeeded,}"] < 1 ||
		seen["rankr_automation_runs_total{automation=api-skipping,status=skipped,}"] < 1 ||
		seen["rankr_automation_run_start_seconds{automation=api-paid-push,}"] < 1 {
		t.Errorf("automation metrics: %v", seen)
	}
}

// TestExactlyOneRunPerEvent: GHL's webhook delivered ten times makes one
// run of an automation on its trigger; an automation re-applied (new
// versions, live at once) during a burst of orders runs once for each
// order.created event after it went live, none lost, none twice.
func TestExactlyOneRunPerEvent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldConfig{DB: sqliteDB(t), Seed: 23, Locations: 1, Orders: 2})
	c := w.client(t, w.owner)
	loc := w.locations()[0]
	onWebhook := `apiVersion: rankr.dev/v1
kind: Automation
id: on-webhook
trigger:
  key: ghl.webhook.order_create@1
steps:
  - id: order
    action: rankr.order.get@1
    with:
      orderId: "${{ trigger._id }}"
    continueOnError: true
`
	c.expect("POST", "/api/v1/automations", map[string]any{"source": onWebhook}, http.StatusCreated, nil)
	order, _, err := w.sb.NewOrder(loc, sandbox.OrderSpec{Physical: true})
	if err != nil {
		t.Fatal(err)
	}
	var hook sandbox.Delivery
	testwait.UntilWhy(t, 30*time.Second, "the OrderCreate webhook delivered", func() (bool, string) {
		for _, d := range w.sb.Deliveries() {
			if d.Type == "OrderCreate" && strings.Contains(string(d.Body), order) && d.State == sandbox.StateDelivered {
				hook = d
				return true, ""
			}
		}
		return false, fmt.Sprint(len(w.sb.Deliveries()))
	})
	for range 9 {
		req, _ := http.NewRequest("POST", w.base+"/webhooks/ghl", strings.NewReader(string(hook.Body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Ghl-Signature", hook.Signature)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the webhook again: %d", resp.StatusCode)
		}
	}
	testwait.UntilWhy(t, 30*time.Second, "the webhook's run ended", func() (bool, string) {
		runs := c.runsOf("on-webhook")
		return len(runs) >= 1 && runs[0].Status == "succeeded", fmt.Sprint(runs)
	})
	time.Sleep(300 * time.Millisecond) // a second run would be there by now
	if runs := c.runsOf("on-webhook"); len(runs) != 1 || runs[0].EventID != "webhook:"+hook.WebhookID {
		t.Errorf("one webhook delivered ten times made runs %+v", runs)
	}

	// A burst of orders while the automation gets new versions.
	onCreated := func(v int) string {
		return fmt.Sprintf(`apiVersion: rankr.dev/v1
kind: Automation
id: on-created
description: version %d
trigger:
  key: derived.order.created@1
steps:
  - id: order
    action: rankr.order.get@1
    with:
      orderId: "${{ trigger.order.id }}"
`, v)
	}
	c.expect("POST", "/api/v1/automations", map[string]any{"source": onCreated(1)}, http.StatusCreated, nil)
	var live struct{ UpdatedAt time.Time }
	c.getJSON("/api/v1/automations/on-created", http.StatusOK, &live)
	const burst = 30
	done := make(chan struct{})
	go func() {
		defer close(done)
		for v := 2; v <= 8; v++ {
			c.do("POST", "/api/v1/automations", map[string]any{"source": onCreated(v)})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var orders []string
	for range burst {
		id, _, err := w.sb.NewOrder(loc, sandbox.OrderSpec{})
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, id)
		time.Sleep(5 * time.Millisecond)
	}
	<-done
	testwait.UntilWhy(t, 60*time.Second, "a run for each order of the burst", func() (bool, string) {
		seen := map[string]int{}
		for _, r := range c.runsOf("on-created") {
			if r.Status != "succeeded" {
				return false, fmt.Sprintf("run %d %s", r.ID, r.Status)
			}
			c.getJSON(fmt.Sprintf("/api/v1/automation-runs/%d", r.ID), http.StatusOK, &r)
			var out struct{ ID string }
			json.Unmarshal(r.Steps[0].Output, &out)
			seen[out.ID]++
		}
		for _, id := range orders {
			if seen[id] != 1 {
				return seen[id] > 1, fmt.Sprintf("order %s has %d runs", id, seen[id])
			}
		}
		return true, ""
	})
	seen := map[string]int{}
	versions := map[int]bool{}
	for _, r := range c.runsOf("on-created") {
		c.getJSON(fmt.Sprintf("/api/v1/automation-runs/%d", r.ID), http.StatusOK, &r)
		var out struct{ ID string }
		json.Unmarshal(r.Steps[0].Output, &out)
		seen[out.ID]++
		versions[r.Version] = true
	}
	for _, id := range orders {
		if seen[id] != 1 {
			t.Errorf("order %s of the burst has %d runs, want 1", id, seen[id])
		}
	}
	t.Logf("the burst's runs ran on versions %v", versions)
}

// TestAuthFailurePausesTheLocation: GHL refusing the location's token
// (here for a scope it lacks, which the sync does not need, so that the
// sync goes on) pauses its automations (the run waits, the pause says why,
// the operators are mailed), and connecting the location again with a
// good token resumes them: the run goes on and succeeds, nothing lost.
func TestAuthFailurePausesTheLocation(t *testing.T) {
	t.Parallel()
	cfg := worldConfig{DB: sqliteDB(t), Seed: 25, Locations: 1, Orders: 2}
	var mp mailtest.Mailpit
	mail := os.Getenv(mailtest.SMTPEnv) != ""
	ops := "ops-pause@automations-test.example"
	if mail {
		mp = mailtest.Open(t)
		cfg.Mail = mailer.Config{URL: "smtp://" + mp.SMTP, From: "Shop <orders@automations-test.example>"}
		cfg.AlertEmails = []string{ops}
	}
	w := newWorld(t, cfg)
	c := w.client(t, w.owner)
	l := w.sb.Locations()[0]
	var scopes []string
	for _, sc := range ghl.Scopes() {
		if sc != ghl.ScopeCouponsRead && sc != ghl.ScopeCouponsWrite {
			scopes = append(scopes, sc)
		}
	}
	narrow := "pit-no-coupons-" + l.ID
	if err := w.sb.AddToken(l.ID, narrow, scopes...); err != nil {
		t.Fatal(err)
	}
	c.expect("PUT", "/api/v1/connections/"+l.ID+"/token", map[string]any{"token": narrow}, http.StatusOK, nil)
	src := `apiVersion: rankr.dev/v1
kind: Automation
id: reads-ghl
trigger:
  key: derived.order.created@1
steps:
  - id: coupons
    action: ghl.payments.coupon.list@1
    with: {}
`
	c.expect("POST", "/api/v1/automations", map[string]any{"source": src}, http.StatusCreated, nil)
	if _, _, err := w.sb.NewOrder(l.ID, sandbox.OrderSpec{}); err != nil {
		t.Fatal(err)
	}
	var pauses struct {
		Items []struct{ LocationID, Reason string } `json:"items"`
	}
	testwait.UntilWhy(t, 45*time.Second, "the location's automations paused", func() (bool, string) {
		c.getJSON("/api/v1/automation-pauses", http.StatusOK, &pauses)
		return len(pauses.Items) == 1, fmt.Sprint(c.runsOf("reads-ghl"))
	})
	if pauses.Items[0].LocationID != l.ID || !strings.Contains(pauses.Items[0].Reason, "reconnect") ||
		!strings.Contains(pauses.Items[0].Reason, ghl.ScopeCouponsRead) {
		t.Errorf("the pause: %+v", pauses.Items[0])
	}
	runs := c.runsOf("reads-ghl", "status", "paused")
	if len(runs) != 1 {
		t.Fatalf("paused runs %+v", c.runsOf("reads-ghl"))
	}
	if mail {
		mp.WaitFor(t, `to:"`+ops+`" subject:"Automations paused for location `+l.ID+`"`, 1, 30*time.Second)
	}
	// A good token again: the pause ends, the run goes on.
	fresh := "pit-fresh-" + l.ID
	if err := w.sb.AddToken(l.ID, fresh, ghl.Scopes()...); err != nil {
		t.Fatal(err)
	}
	c.expect("PUT", "/api/v1/connections/"+l.ID+"/token", map[string]any{"token": fresh}, http.StatusOK, nil)
	testwait.UntilWhy(t, 45*time.Second, "the paused run succeeded", func() (bool, string) {
		var r automationRun
		c.getJSON(fmt.Sprintf("/api/v1/automation-runs/%d", runs[0].ID), http.StatusOK, &r)
		return r.Status == "succeeded", r.Status + " " + r.Reason
	})
	var r automationRun
	c.getJSON(fmt.Sprintf("/api/v1/automation-runs/%d", runs[0].ID), http.StatusOK, &r)
	last := r.Steps[len(r.Steps)-1]
	if len(r.Steps) != 2 || r.Steps[0].Status != "failed" || last.Status != "succeeded" || !strings.Contains(string(last.Output), `"data"`) {
		t.Errorf("the run's attempts: %+v", r.Steps)
	}
	c.getJSON("/api/v1/automation-pauses", http.StatusOK, &pauses)
	if len(pauses.Items) != 0 {
		t.Errorf("still paused: %+v", pauses.Items)
	}
}
