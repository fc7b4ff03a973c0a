package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCatalogCommands lists, shows and exports the catalog with no
// database, and runs a GHL action (a read for real, a write as a dry run
// that sends nothing) against the sandbox.
func TestCatalogCommands(t *testing.T) {
	t.Parallel()
	code, out, errOut := run(t, "catalog", "list", "--count")
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if code != 0 || err != nil || n < 126 {
		t.Fatalf("catalog list --count: %d %q %s", code, out, errOut)
	}
	_, out, _ = run(t, "catalog", "list", "--kind", "trigger", "--json")
	var exp struct {
		Counts map[string]int `json:"counts"`
		Items  []struct {
			Key    string          `json:"key"`
			Kind   string          `json:"kind"`
			Sample json.RawMessage `json:"sample"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.Items) != exp.Counts["trigger"] || exp.Counts["total"] != n {
		t.Errorf("%d triggers listed, counts %v", len(exp.Items), exp.Counts)
	}
	for _, it := range exp.Items {
		if it.Kind != "trigger" || len(it.Sample) == 0 {
			t.Errorf("%s: kind %s, sample %s", it.Key, it.Kind, it.Sample)
		}
	}
	code, out, _ = run(t, "catalog", "show", "ghl.payments.order_fulfillment.create@1")
	for _, want := range []string{"Create an order fulfillment", "payments/orders.write", "input schema:", "sample output:", "operation    CreateFulfillment"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("catalog show lacks %q: %s", want, out)
		}
	}
	if code, _, errOut := run(t, "catalog", "show", "ghl.nothing.here"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("an unknown item: %d %s", code, errOut)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "catalog.json")
	if code, out, errOut := run(t, "catalog", "export", "-o", file); code != 0 || !strings.Contains(out, "wrote "+strconv.Itoa(n)) {
		t.Fatalf("export: %d %s %s", code, out, errOut)
	}

	s := newSetup(t, "")
	l := s.sb.Locations()[0]
	s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url)
	out = s.must(t, "catalog", "run", "ghl.payments.coupon.list", "--location", l.ID, "--json")
	var listed struct {
		Output struct {
			Data []any `json:"data"`
		} `json:"output"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	in := filepath.Join(dir, "coupon.json")
	os.WriteFile(in, []byte(`{"body":{"name":"Spring","code":"SPRING10","discountType":"percentage","discountValue":10,"startDate":"2026-03-01T00:00:00Z"}}`), 0o600)
	out = s.must(t, "catalog", "run", "ghl.payments.coupon.create", "--location", l.ID, "--input", in, "--dry-run")
	if !strings.Contains(out, "dry run: nothing was sent") || !strings.Contains(out, "request: POST /payments/coupon") {
		t.Errorf("a dry run said: %s", out)
	}
	again := s.must(t, "catalog", "run", "ghl.payments.coupon.list", "--location", l.ID, "--json")
	var after struct {
		Output struct {
			Data []any `json:"data"`
		} `json:"output"`
	}
	json.Unmarshal([]byte(again), &after)
	if len(after.Output.Data) != len(listed.Output.Data) {
		t.Errorf("the dry run made a coupon: %d, then %d", len(listed.Output.Data), len(after.Output.Data))
	}
	if code, _, errOut := s.run(t, "catalog", "run", "ghl.payments.order.get", "--location", l.ID); code == 0 || !strings.Contains(errOut, "orderId") {
		t.Errorf("a missing orderId: %d %s", code, errOut)
	}
}

// TestAutomationsCommands validates, applies (dry run first), lists,
// shows and disables an automation from files.
func TestAutomationsCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(`apiVersion: rankr.dev/v1
kind: Automation
id: cli-orders
trigger:
  key: derived.order.created@1
steps:
  - id: order
    action: rankr.order.get@1
    with:
      orderId: "${{ trigger.order.id }}"
`), 0o600)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`apiVersion: rankr.dev/v1
kind: Automation
id: cli-bad
trigger:
  key: derived.order.created@1
steps:
  - id: order
    action: rankr.order.get@1
    with:
      orderId: "${{ trigger.order.idd }}"
`), 0o600)
	if code, out, _ := run(t, "automations", "validate", good); code != 0 || !strings.Contains(out, "cli-orders is valid") {
		t.Errorf("validate good: %d %s", code, out)
	}
	if code, out, _ := run(t, "automations", "validate", bad); code == 0 || !strings.Contains(out, "trigger.order.idd") || !strings.Contains(out, "line 10") {
		t.Errorf("validate bad: %d %s", code, out)
	}
	if code, out, _ := run(t, "automations", "schema"); code != 0 || !json.Valid([]byte(out)) {
		t.Errorf("schema: %d %.200s", code, out)
	}
	s := newSetup(t, "")
	out := s.must(t, "automations", "apply", "-f", dir, "--dry-run")
	if !strings.Contains(out, "would be saved as version 1") {
		t.Errorf("dry-run apply: %s", out)
	}
	if out := s.must(t, "automations", "list"); strings.Contains(out, "cli-orders") {
		t.Errorf("a dry run saved: %s", out)
	}
	if out := s.must(t, "automations", "apply", "-f", good); !strings.Contains(out, "saved as version 1") {
		t.Errorf("apply: %s", out)
	}
	if out := s.must(t, "automations", "apply", "-f", good); !strings.Contains(out, "unchanged at version 1") {
		t.Errorf("apply again: %s", out)
	}
	if code, _, errOut := s.run(t, "automations", "apply", "-f", bad); code == 0 || !strings.Contains(errOut, "trigger.order.idd") {
		t.Errorf("apply bad: %d %s", code, errOut)
	}
	if out := s.must(t, "automations", "disable", "cli-orders"); !strings.Contains(out, "disabled") {
		t.Errorf("disable: %s", out)
	}
	out = s.must(t, "automations", "show", "cli-orders")
	if !strings.Contains(out, "version 1 live, disabled") || !strings.Contains(out, "trigger.order.id") {
		t.Errorf("show: %s", out)
	}
	if out := s.must(t, "automations", "runs"); !strings.Contains(out, "RUN") {
		t.Errorf("runs: %s", out)
	}
	if out := s.must(t, "automations", "pauses"); !strings.Contains(out, "no location") {
		t.Errorf("pauses: %s", out)
	}
}
