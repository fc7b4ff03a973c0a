package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// catalog export --marketplace writes GHL marketplace definitions made
// from the catalog: custom triggers with samples, custom actions with
// fields.
func TestCatalogExportMarketplace(t *testing.T) {
	t.Parallel()
	code, out, errOut := run(t, "catalog", "export", "--marketplace")
	if code != 0 {
		t.Fatalf("export --marketplace: %d %s", code, errOut)
	}
	var defs struct {
		Triggers []struct {
			Key           string          `json:"key"`
			SamplePayload json.RawMessage `json:"samplePayload"`
		} `json:"triggers"`
		Actions []struct {
			Key    string `json:"key"`
			Fields []struct {
				Name, Type string
			} `json:"fields"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(out), &defs); err != nil {
		t.Fatalf("%v: %.300s", err, out)
	}
	keys := map[string]bool{}
	for _, tr := range defs.Triggers {
		keys[tr.Key] = true
		if strings.HasPrefix(tr.Key, "ghl_") || len(tr.SamplePayload) == 0 {
			t.Errorf("trigger %s: a GHL webhook, or no sample", tr.Key)
		}
	}
	for _, a := range defs.Actions {
		keys[a.Key] = true
	}
	for _, k := range []string{"derived_order_paid", "rankr_fulfillment_push", "rankr_order_get"} {
		if !keys[k] {
			t.Errorf("no %s in the definitions", k)
		}
	}
}
