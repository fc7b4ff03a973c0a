package marketplace

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/catalog"
)

// GHL's own target URLs pass, and those under a configured prefix;
// anything else would be handed the location's token, so it is refused.
func TestCheckTarget(t *testing.T) {
	t.Parallel()
	s := New(Config{Secret: "x", TargetPrefixes: []string{"http://127.0.0.1:9/workflows-marketplace/triggers/execute/"}})
	for target, ok := range map[string]bool{
		"https://services.leadconnectorhq.com/workflows-marketplace/triggers/execute/abc/def":        true,
		"http://127.0.0.1:9/workflows-marketplace/triggers/execute/a/b":                              true,
		"http://services.leadconnectorhq.com/workflows-marketplace/triggers/execute/abc/def":         false,
		"https://services.leadconnectorhq.com.evil.example/workflows-marketplace/triggers/execute/a": false,
		"https://user@services.leadconnectorhq.com/workflows-marketplace/triggers/execute/a":         false,
		"https://services.leadconnectorhq.com/other/abc":                                             false,
		"http://127.0.0.1:10/workflows-marketplace/triggers/execute/a/b":                             false,
		"": false,
	} {
		if err := s.checkTarget(target); (err == nil) != ok {
			t.Errorf("checkTarget(%q) = %v, want ok %v", target, err, ok)
		}
	}
}

// The definitions are the catalog's: every derived and rankr trigger with
// its sample, none of GHL's webhooks; every action, its fields from its
// input schema's top-level properties.
func TestDefinitions(t *testing.T) {
	t.Parallel()
	reg := app.New(app.Deps{}).Catalog()
	defs := Definitions(reg)
	triggers := map[string]TriggerDefinition{}
	for _, d := range defs.Triggers {
		triggers[d.Key] = d
	}
	wantTriggers := 0
	for _, sp := range reg.List(catalog.KindTrigger) {
		if sp.Source == catalog.SourceDerived || sp.Source == catalog.SourceRankr {
			wantTriggers++
		} else if _, ok := triggers[Key(sp.Key)]; ok {
			t.Errorf("%s (%s) is a marketplace trigger", sp.Key, sp.Source)
		}
	}
	if len(defs.Triggers) != wantTriggers || wantTriggers == 0 {
		t.Fatalf("%d triggers, want %d", len(defs.Triggers), wantTriggers)
	}
	paid, ok := triggers["derived_order_paid"]
	if !ok || paid.CatalogID != "derived.order.paid@1" || !json.Valid(paid.SamplePayload) || len(paid.SamplePayload) < 10 {
		t.Fatalf("derived_order_paid: %+v", paid)
	}
	if len(defs.Actions) != len(reg.List(catalog.KindAction)) {
		t.Fatalf("%d actions, want %d", len(defs.Actions), len(reg.List(catalog.KindAction)))
	}
	i := slices.IndexFunc(defs.Actions, func(a ActionDefinition) bool { return a.Key == "rankr_fulfillment_push" })
	if i < 0 {
		t.Fatal("no rankr_fulfillment_push")
	}
	push := defs.Actions[i]
	byName := map[string]Field{}
	for _, f := range push.Fields {
		byName[f.Name] = f
	}
	if f := byName["orderId"]; f.Type != "String" || !f.Required {
		t.Errorf("orderId: %+v", f)
	}
	if f := byName["notifyCustomer"]; f.Type != "Toggle" || f.Required {
		t.Errorf("notifyCustomer: %+v", f)
	}
	if f := byName["trackings"]; f.Type != "Textarea" {
		t.Errorf("trackings: %+v", f)
	}
	if push.URL != "/ghl/actions/rankr_fulfillment_push" || !json.Valid(push.ResponseData) {
		t.Errorf("push: url %s response %s", push.URL, push.ResponseData)
	}
	// Enums are selects.
	sel := 0
	for _, a := range defs.Actions {
		for _, f := range a.Fields {
			if f.Type == "Select" {
				sel++
				if len(f.Options) == 0 {
					t.Errorf("%s.%s: a select without options", a.Key, f.Name)
				}
			}
		}
	}
	if sel == 0 {
		t.Error("no action has a Select field: enums are lost")
	}
}
