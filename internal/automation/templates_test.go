package automation_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/catalog"
)

// fullRegistry is the application's catalog. Items it does not register
// yet (the derived and rankr triggers, the schedule trigger) are added
// here, from the same specs, so that the templates are checked against
// the schemas they will meet.
func fullRegistry(t *testing.T) *catalog.Registry {
	t.Helper()
	reg := app.New(app.Deps{}).Catalog()
	for _, s := range app.TriggerSpecs() {
		if _, err := reg.Spec(s.ID()); err != nil {
			if err := reg.AddTrigger(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := reg.Spec(automation.ScheduleTrigger); err != nil {
		if err := reg.AddTrigger(catalog.Spec{Key: automation.ScheduleTrigger, Version: 1, Kind: catalog.KindTrigger,
			Source: catalog.SourceSchedule, Title: "Schedule", Summary: "Fires on a cron schedule.", Scopes: []string{},
			Output: json.RawMessage(`{"type":"object","additionalProperties":false,"required":["slot","schedule","timezone"],
			  "properties":{"slot":{"type":"string","format":"date-time"},"schedule":{"type":"string"},"timezone":{"type":"string"}}}`),
			Sample: json.RawMessage(`{"slot":"2026-12-04T08:00:00Z","schedule":"0 8 * * *","timezone":"UTC"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func decode(t *testing.T, b json.RawMessage) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// fits turn a trigger's sample into one the template's filter takes:
// the catalog's sample shows one case, a template may want another.
var fits = map[string]func(payload map[string]any){
	"ship-and-notify": func(p map[string]any) { delete(p["push"].(map[string]any), "notifyVia") },
	"subscription-renewal-failed": func(p map[string]any) {
		p["transaction"].(map[string]any)["subscriptionId"] = "sub_sample"
	},
	"unshipped-paid-order": func(p map[string]any) { p["exception"].(map[string]any)["kind"] = "paid_unfulfilled" },
}

// TestTemplates compiles every template against the full catalog, then
// runs it on paper: the trigger's sample as the payload, each action's
// sample as its output, and every resolved input validated against its
// action's input schema, as a run would.
func TestTemplates(t *testing.T) {
	// The app's catalog is built once per App; the registry is not
	// shared with other tests, but it is mutated above, so no t.Parallel.
	reg := fullRegistry(t)
	files, err := filepath.Glob("../../templates/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("templates: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			def, err := automation.Parse(filepath.Base(f), src)
			if err != nil {
				t.Fatal(err)
			}
			if def.ID+".yaml" != filepath.Base(f) {
				t.Errorf("id %q does not match the file name", def.ID)
			}
			p, err := automation.Compile(def, reg)
			if err != nil {
				t.Fatal(err)
			}
			payload := decode(t, p.Trigger.Sample)
			if fit := fits[def.ID]; fit != nil {
				fit(payload.(map[string]any))
			}
			env := automation.Env{Trigger: payload, Steps: map[string]automation.StepState{}, Location: "loc_sample"}
			env.Automation.ID, env.Automation.Version = def.ID, 1
			ok, verdict, err := p.Filter(env)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("filter: %s", verdict)
			if !ok {
				t.Fatalf("the filter refuses the sample: %s", verdict)
			}
			if _, err := p.ConcurrencyKey(env); err != nil {
				t.Fatal(err)
			}
			ran := 0
			for i, st := range def.Steps {
				run, err := p.StepIf(i, env)
				if err != nil {
					t.Fatalf("step %s: %v", st.ID, err)
				}
				if !run {
					env.Steps[st.ID] = automation.StepState{Status: "skipped"}
					continue
				}
				ran++
				in, err := p.StepInput(i, env)
				if err != nil {
					t.Fatalf("step %s: %v", st.ID, err)
				}
				schIn, _, err := reg.Schemas(p.Actions[i].ID())
				if err != nil {
					t.Fatal(err)
				}
				if err := schIn.Validate(in); err != nil {
					t.Errorf("step %s: input %s: %v", st.ID, in, err)
				}
				if bytes.Contains(in, []byte("${{")) || bytes.Contains(in, []byte("<nil>")) {
					t.Errorf("step %s: unresolved input %s", st.ID, in)
				}
				t.Logf("%s: %s", st.ID, in)
				env.Steps[st.ID] = automation.StepState{Status: "succeeded", Output: decode(t, p.Actions[i].Sample)}
			}
			if ran == 0 {
				t.Error("no step ran on the samples")
			}
			if strings.Contains(string(src), "\t") {
				t.Error("tabs in YAML")
			}
		})
	}
}

// TestTemplateErrorsNameThePath checks the message promised for a wrong
// path against the real catalog.
func TestTemplateErrorsNameThePath(t *testing.T) {
	reg := fullRegistry(t)
	def, err := automation.Parse("f.yaml", []byte(`apiVersion: rankr.dev/v1
kind: Automation
id: ship-notify
trigger:
  key: derived.order.fulfilled@1
  filter: trigger.order.currency == "USD" && trigger.order.amout >= 10
steps:
  - id: push
    action: rankr.fulfillment.push@1
    with:
      orderId: "${{ trigger.order.id }}"
      trackings: [{trackingNumber: "${{ trigger.order.fulfillments[0].trackings[0].trackingNumbr }}"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = automation.Compile(def, reg)
	if err == nil {
		t.Fatal("compiled")
	}
	for _, want := range []string{
		"line 6: trigger.filter: trigger.order.amout: no such field in the payload of derived.order.fulfilled@1 (order has amount,",
		"line 12: steps[0].with.trackings[0].trackingNumber: trigger.order.fulfillments[0].trackings[0].trackingNumbr: no such field in the payload of derived.order.fulfilled@1 (trackings[0] has trackingNumber,",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in\n%v", want, err)
		}
	}
}
