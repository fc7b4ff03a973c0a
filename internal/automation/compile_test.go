package automation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rankr/rankr/internal/catalog"
)

// stubAction is an action known by its spec only: compiling never runs
// one.
type stubAction struct{ spec catalog.Spec }

func (a stubAction) Spec() catalog.Spec { return a.spec }
func (a stubAction) Run(context.Context, *catalog.RunCtx, json.RawMessage) (catalog.Result, error) {
	return catalog.Result{}, errors.New("not run in these tests")
}

const orderSchema = `{"type":"object","properties":{
  "event":{"type":"object","properties":{"kind":{"type":"string"},"data":{"type":"object"}}},
  "order":{"type":"object","additionalProperties":false,"properties":{
    "id":{"type":"string"},"amount":{"type":"number"},"currency":{"type":"string"},"contactEmail":{"type":"string"},
    "fulfillmentStatus":{"type":"string"},
    "items":{"type":"array","items":{"$ref":"#/$defs/item"}},
    "source":{"anyOf":[{"type":"object","properties":{"name":{"type":"string"}}},{"type":"null"}]}}}},
  "$defs":{"item":{"type":"object","properties":{"name":{"type":"string"},"qty":{"type":"integer"}}}}}`

// testRegistry holds GHL's items plus a derived trigger and rankr-like
// actions written here, so that these tests do not depend on internal/app.
func testRegistry(t *testing.T) *catalog.Registry {
	t.Helper()
	reg := catalog.NewRegistry()
	acts, trigs, err := catalog.GHL()
	if err != nil {
		t.Fatal(err)
	}
	reg.MustAdd(acts, trigs)
	push := catalog.Spec{Key: "test.fulfillment.push", Version: 1, Kind: catalog.KindAction, Source: catalog.SourceRankr,
		Title: "Push", Summary: "push", Scopes: []string{"payments/orders.write", "payments/orders.readonly"},
		Input: json.RawMessage(`{"type":"object","additionalProperties":false,"required":["orderId","trackings"],"properties":{
		  "orderId":{"type":"string","minLength":1},"notifyCustomer":{"type":"boolean"},
		  "trackings":{"type":"array","minItems":1,"items":{"type":"object","properties":{"trackingNumber":{"type":"string"}}}}}}`),
		SampleInput: json.RawMessage(`{"orderId":"o1","trackings":[{"trackingNumber":"1Z"}]}`),
		Output:      json.RawMessage(`{"type":"object","properties":{"push":{"type":"object","properties":{"id":{"type":"string"},"fulfillmentId":{"type":"string"}}},"created":{"type":"boolean"}}}`),
		Sample:      json.RawMessage(`{"push":{"id":"p1"},"created":true}`)}
	alert := catalog.Spec{Key: "test.alert.raise", Version: 1, Kind: catalog.KindAction, Source: catalog.SourceRankr,
		Title: "Alert", Summary: "alert", Scopes: []string{},
		Input: json.RawMessage(`{"type":"object","additionalProperties":false,"required":["severity","text"],"properties":{
		  "severity":{"enum":["info","warning","critical"]},"text":{"type":"string","minLength":1},"dedupeKey":{"type":"string"}}}`),
		SampleInput: json.RawMessage(`{"severity":"info","text":"x"}`),
		Output:      json.RawMessage(`{"type":"object","properties":{"created":{"type":"integer"}}}`),
		Sample:      json.RawMessage(`{"created":1}`)}
	fulfilled := catalog.Spec{Key: "test.order.fulfilled", Version: 1, Kind: catalog.KindTrigger, Source: catalog.SourceDerived,
		Title: "Fulfilled", Summary: "fulfilled", Scopes: []string{"payments/orders.readonly"},
		Output: json.RawMessage(orderSchema), Sample: json.RawMessage(`{}`)}
	cron := catalog.Spec{Key: "schedule.cron", Version: 1, Kind: catalog.KindTrigger, Source: catalog.SourceSchedule,
		Title: "Schedule", Summary: "schedule", Scopes: []string{},
		Output: json.RawMessage(`{"type":"object","properties":{"slot":{"type":"string"},"schedule":{"type":"string"}}}`), Sample: json.RawMessage(`{}`)}
	reg.MustAdd([]catalog.Action{stubAction{push}, stubAction{alert}}, []catalog.Spec{fulfilled, cron})
	return reg
}

const goodFile = `apiVersion: rankr.dev/v1
kind: Automation
id: ship-notify
description: test
trigger:
  key: test.order.fulfilled@1
  filter: trigger.order.currency == "USD" && trigger.order.amount >= 10
steps:
  - id: push
    action: test.fulfillment.push@1
    if: trigger.order.fulfillmentStatus == "fulfilled"
    with:
      orderId: ${{ trigger.order.id }}
      trackings: "${{ [{trackingNumber: 'T-' + trigger.order.id}] }}"
      notifyCustomer: true
    retry: { max: 6, backoff: exponential, initial: 2s, cap: 10m }
  - id: alert
    if: steps.push.status == "failed"
    action: test.alert.raise
    with: { severity: warning, text: "Push failed for ${{ trigger.order.id }} (${{ trigger.order.amount }} ${{ trigger.order.currency }})" }
concurrency: { key: "${{ trigger.order.id }}", limit: 1 }
`

func mustCompile(t *testing.T, src string) *Program {
	t.Helper()
	def, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(def, testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseFillsDefaultsAndRoundTrips(t *testing.T) {
	t.Parallel()
	def, err := Parse("test.yaml", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if !def.Enabled || def.Locations != nil || len(def.Steps) != 2 {
		t.Fatalf("defaults: %+v", def)
	}
	if r := def.Steps[0].Retry; r.Max != 6 || r.Initial.String() != "2s" || r.Cap.String() != "10m0s" {
		t.Errorf("retry of push: %+v", r)
	}
	if r := def.Steps[1].Retry; r != (RetryPolicy{Max: 3, Backoff: "exponential", Initial: DefaultRetryInitial, Cap: DefaultRetryCap}) {
		t.Errorf("default retry: %+v", r)
	}
	if def.Concurrency == nil || def.Concurrency.Key != "${{ trigger.order.id }}" || def.Concurrency.Limit != 1 {
		t.Errorf("concurrency: %+v", def.Concurrency)
	}
	stored := def.JSON()
	back, err := FromJSON(stored)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.JSON()) != string(stored) {
		t.Errorf("not stable:\n%s\n%s", stored, back.JSON())
	}
	if !strings.Contains(string(stored), `"locations":["*"]`) || !strings.Contains(string(stored), `"initial":"1s"`) {
		t.Errorf("defaults not in the stored form: %s", stored)
	}
	// The same file as JSON parses to the same definition.
	asJSON, err := Parse("test.json", stored)
	if err != nil {
		t.Fatal(err)
	}
	if string(asJSON.JSON()) != string(stored) {
		t.Errorf("JSON input differs: %s", asJSON.JSON())
	}
}

// problems returns the problems of a failed parse or compile, as lines.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *CompileError, got %v", err)
	}
	var out []string
	for _, p := range ce.Problems {
		out = append(out, p.String())
	}
	return out
}

func wantProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	got := problems(t, err)
	for _, w := range want {
		found := false
		for _, g := range got {
			if strings.Contains(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem holds %q; got:\n  %s", w, strings.Join(got, "\n  "))
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	header := "apiVersion: rankr.dev/v1\nkind: Automation\nid: x\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{"yaml syntax", header + "trigger:\n  key: a.b\n   bad: indent\nsteps: []\n", []string{"line 6"}},
		{"unquoted expression in flow mapping", header + "trigger: {key: a.b}\nsteps:\n  - id: s\n    action: a.b\n    with: { orderId: ${{ trigger.id }} }\n",
			[]string{"line 8", `quote`}},
		{"expression without its dollar read as a mapping", header + "trigger: {key: a.b}\nsteps:\n  - id: s\n    action: a.b\n    with:\n      orderId: {{ trigger.id }}\n",
			[]string{"line 9: steps[0].with.orderId: a value in { } braces was read as a YAML mapping; quote expressions"}},
		{"unknown field", header + "trigger:\n  key: a.b\n  filtr: x\nsteps:\n  - id: s\n    action: a.b\n    retries: 3\n",
			[]string{"line 6: trigger.filtr: unknown field", "line 10: steps[0].retries: unknown field"}},
		{"bad id and step id", "apiVersion: rankr.dev/v1\nkind: Automation\nid: Bad_ID\ntrigger: {key: a.b}\nsteps:\n  - id: 1s\n    action: a.b\n",
			[]string{"line 3: id:", "line 6: steps[0].id:"}},
		{"wrong apiVersion and missing steps", "apiVersion: v2\nkind: Automation\nid: x\ntrigger: {key: a.b}\n",
			[]string{"line 1: apiVersion", "missing property 'steps'"}},
		{"retry out of range", header + "trigger: {key: a.b}\nsteps:\n  - id: s\n    action: a.b\n    retry: {max: 21, initial: soon}\n",
			[]string{"line 8: steps[0].retry.max", "steps[0].retry.initial"}},
		{"duplicate step", header + "trigger: {key: a.b}\nsteps:\n  - {id: s, action: a.b}\n  - {id: s, action: a.b}\n",
			[]string{"line 7: steps[1].id: step id \"s\" is already used by steps[0]"}},
		{"bad cron", header + "trigger: {key: schedule.cron, schedule: \"0 8 * *\"}\nsteps:\n  - {id: s, action: a.b}\n",
			[]string{"line 4: trigger.schedule", "want 5 fields"}},
		{"too many steps", header + "trigger: {key: a.b}\nsteps:\n" + strings.Repeat("  - {id: s, action: a.b}\n", 21),
			[]string{"steps: maxItems"}},
		{"limit", header + "trigger: {key: a.b}\nsteps:\n  - {id: s, action: a.b}\nconcurrency: {key: x, limit: 2}\n",
			[]string{"concurrency.limit"}},
		{"empty", "", []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("f.yaml", []byte(tt.src))
			if err == nil {
				t.Fatal("parsed")
			}
			wantProblems(t, err, tt.want...)
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	tests := []struct {
		name string
		body string // after the header
		want []string
	}{
		{"wrong trigger path", `trigger:
  key: test.order.fulfilled@1
  filter: trigger.order.amout > 1 && trigger.ordr.id == ""
steps:
  - {id: a, action: test.alert.raise, with: {severity: info, text: x}}
`, []string{"line 6: trigger.filter: trigger.order.amout: no such field in the payload of test.order.fulfilled@1 (order has amount,",
			"trigger.ordr.id: no such field in the payload of test.order.fulfilled@1 (trigger has order, event"}},
		{"array items and refs", `trigger:
  key: test.order.fulfilled@1
  filter: trigger.order.items[0].qty > 1 && trigger.order.items[0].qyt > 1 && trigger.order.id[0] == "x" && trigger.order.source.nam == ""
steps:
  - {id: a, action: test.alert.raise, with: {severity: info, text: x}}
`, []string{"trigger.order.items[0].qyt: no such field", "(items[0] has qty, name)", "trigger.order.id[0]: trigger.order.id is a string, not an array",
			"trigger.order.source.nam: no such field"}},
		{"open object accepts anything", `trigger:
  key: test.order.fulfilled@1
  filter: trigger.event.data.anything.deep == 1 && trigger.event.kind != ""
steps:
  - {id: a, action: test.alert.raise, with: {severity: info, text: x}}
`, nil},
		{"step paths", `trigger: {key: test.order.fulfilled}
steps:
  - id: first
    action: test.alert.raise
    if: steps.later.status == "failed" || steps.first.status == "x"
    with: {severity: info, text: x}
  - id: later
    action: test.fulfillment.push
    if: steps.first.output.creatd == 1 || steps.first.stat == "" || steps.nope.status == ""
    with: {orderId: "${{ steps.first.output.created }}", trackings: "${{ steps.first.output.push.id }}"}
`, []string{`line 8: steps[0].if: steps.later.status: step "later" runs at or after this one`,
			`steps[0].if: steps.first.status: step "first" runs at or after this one`,
			"steps[1].if: steps.first.output.creatd: no such field in the output of test.alert.raise (output has created)",
			"steps.first.stat: no such field (a step has status, output, error)",
			`steps.nope.status: no step "nope" (earlier steps: first)`,
			"steps[1].with.trackings: steps.first.output.push.id: no such field"}},
		{"filter cannot read steps", `trigger: {key: test.order.fulfilled, filter: 'steps.a.status == "x"'}
steps:
  - {id: a, action: test.alert.raise, with: {severity: info, text: x}}
`, []string{"trigger.filter: steps.a.status: no step has run yet here"}},
		{"inputs", `trigger: {key: test.order.fulfilled}
steps:
  - id: push
    action: test.fulfillment.push
    with:
      notifyCustomer: "yes"
      tracking: x
  - id: alert
    action: test.alert.raise
    with: {severity: urgent, text: "${{ trigger.order.id }}"}
`, []string{"line 8: steps[0].with: orderId is required by test.fulfillment.push@1",
			"steps[0].with: trackings is required", `line 9: steps[0].with.notifyCustomer: got string, want boolean`,
			`line 10: steps[0].with.tracking: test.fulfillment.push@1 takes no field "tracking"`,
			"line 13: steps[1].with.severity: value must be one of"}},
		{"unknown items", `trigger: {key: test.order.fulfiled}
steps:
  - {id: a, action: test.alert.rise, with: {}}
  - {id: b, action: test.order.fulfilled}
  - {id: c, action: test.alert.raise@2}
`, []string{"trigger.key: no trigger test.order.fulfiled in the catalog (did you mean test.order.fulfilled?)",
			"steps[0].action: no action test.alert.rise in the catalog (did you mean test.alert.raise?)",
			"steps[1].action: test.order.fulfilled@1 is a trigger, not an action",
			"steps[2].action: no action test.alert.raise@2"}},
		{"bad expressions", `trigger: {key: test.order.fulfilled, filter: "trigger.order.id +"}
steps:
  - {id: a, action: test.alert.raise, if: "trigger.order.id", with: {severity: info, text: "${{ trigger.order.id"}}
`, []string{"trigger.filter: unexpected token", "steps[0].with.text:", "without its }}"}},
		{"schedule on a non-schedule trigger", `trigger: {key: test.order.fulfilled, schedule: "0 8 * * *"}
steps:
  - {id: a, action: test.alert.raise, with: {severity: info, text: x}}
`, []string{"trigger.schedule: only schedule triggers take a schedule"}},
		{"schedule trigger without a schedule", `trigger: {key: schedule.cron}
steps:
  - {id: a, action: test.alert.raise, with: {severity: info, text: "${{ trigger.slot }} ${{ trigger.slott }}"}}
`, []string{"trigger.schedule: schedule.cron@1 needs a schedule", "trigger.slott: no such field"}},
		{"concurrency key", `trigger: {key: test.order.fulfilled}
steps:
  - {id: a, action: test.alert.raise, with: {severity: info, text: x}}
concurrency: {key: "${{ trigger.order.idd }}"}
`, []string{"line 7: concurrency.key: trigger.order.idd: no such field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			def, err := Parse("f.yaml", []byte("apiVersion: rankr.dev/v1\nkind: Automation\nid: x\n"+tt.body))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile(def, reg)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("compiled")
			}
			wantProblems(t, err, tt.want...)
		})
	}
}

func orderEnv(currency string, amount float64) Env {
	var env Env
	env.Trigger = map[string]any{"order": map[string]any{"id": "o1", "currency": currency, "amount": amount,
		"fulfillmentStatus": "fulfilled", "items": []any{map[string]any{"name": "Mug", "qty": 2.0}}}}
	env.Steps = map[string]StepState{}
	env.Location = "loc1"
	return env
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	p := mustCompile(t, goodFile)
	if got := p.Scopes(); strings.Join(got, " ") != "payments/orders.readonly payments/orders.write" {
		t.Errorf("scopes: %v", got)
	}

	ok, verdict, err := p.Filter(orderEnv("EUR", 49))
	if err != nil || ok {
		t.Fatalf("filter on EUR: %v %v", ok, err)
	}
	want := `trigger.order.currency == "USD" && trigger.order.amount >= 10 → false (trigger.order.currency = "EUR", trigger.order.amount = 49)`
	if verdict != want {
		t.Errorf("verdict:\n got %s\nwant %s", verdict, want)
	}
	env := orderEnv("USD", 49)
	if ok, _, err := p.Filter(env); err != nil || !ok {
		t.Fatalf("filter on USD: %v %v", ok, err)
	}

	if run, err := p.StepIf(0, env); err != nil || !run {
		t.Fatalf("if of push: %v %v", run, err)
	}
	in, err := p.StepInput(0, env)
	if err != nil {
		t.Fatal(err)
	}
	if string(in) != `{"notifyCustomer":true,"orderId":"o1","trackings":[{"trackingNumber":"T-o1"}]}` {
		t.Errorf("push input: %s", in)
	}

	if run, _ := p.StepIf(1, env); run {
		t.Error("alert runs though push has not failed")
	}
	env.Steps["push"] = StepState{Status: "failed", Error: "GHL 404"}
	if run, err := p.StepIf(1, env); err != nil || !run {
		t.Fatalf("alert after a failed push: %v %v", run, err)
	}
	in, err = p.StepInput(1, env)
	if err != nil {
		t.Fatal(err)
	}
	if string(in) != `{"severity":"warning","text":"Push failed for o1 (49 USD)"}` {
		t.Errorf("alert input: %s", in)
	}
	if k, err := p.ConcurrencyKey(env); err != nil || k != "o1" {
		t.Errorf("concurrency key: %q %v", k, err)
	}
}

func TestStepInputTypes(t *testing.T) {
	t.Parallel()
	p := mustCompile(t, `apiVersion: rankr.dev/v1
kind: Automation
id: types
trigger: {key: test.order.fulfilled}
steps:
  - id: push
    action: test.fulfillment.push
    with:
      orderId: "${{ trigger.order.id }}"
      trackings: "${{ [{trackingNumber: trigger.order.items[0].name}] }}"
  - id: alert
    action: test.alert.raise
    with:
      severity: info
      text: "${{ trigger.order.items }} / ${{ trigger.order.amount * 2 }} / ${{ steps.push.output.created }} / ${{ location }}"
      dedupeKey: "${{ steps.push.output.push.id ?? 'none' }}"
`)
	env := orderEnv("USD", 12.5)
	in, err := p.StepInput(0, env)
	if err != nil {
		t.Fatal(err)
	}
	if string(in) != `{"orderId":"o1","trackings":[{"trackingNumber":"Mug"}]}` {
		t.Errorf("push input: %s", in)
	}
	env.Steps["push"] = StepState{Status: "succeeded", Output: map[string]any{"created": true, "push": map[string]any{"id": "p9"}}}
	in, err = p.StepInput(1, env)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(in, &got); err != nil {
		t.Fatal(err)
	}
	if got["text"] != `[{"name":"Mug","qty":2}] / 25 / true / loc1` || got["dedupeKey"] != "p9" {
		t.Errorf("alert input: %s", in)
	}
}

func TestExpressionsAreBounded(t *testing.T) {
	t.Parallel()
	// A huge range is stopped by the memory budget, not the heap.
	p := mustCompile(t, `apiVersion: rankr.dev/v1
kind: Automation
id: big
trigger: {key: test.order.fulfilled, filter: "len(map(1..100000000, # * 2)) > 0"}
steps:
  - {id: a, action: test.alert.raise, with: {severity: info, text: x}}
`)
	if _, _, err := p.Filter(orderEnv("USD", 1)); err == nil || !strings.Contains(err.Error(), "memory budget") {
		t.Errorf("want a memory budget error, got %v", err)
	}
	_, err := compileExpr(strings.Repeat("1 + ", 1000)+"1", false)
	if err == nil {
		t.Error("an expression of 2,000 nodes compiled")
	}
}
