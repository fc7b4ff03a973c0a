package app_test

import (
	"encoding/json"
	"testing"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/catalog"
)

// TestCatalogItemsAreWhole holds every item of the catalog to what the
// catalog promises: at least 126 of them, each with schemas that compile,
// a sample its output schema accepts and, for an action, a sample input
// its input schema accepts.
func TestCatalogItemsAreWhole(t *testing.T) {
	t.Parallel()
	a := app.New(app.Deps{})
	items, err := a.CatalogList(app.CatalogQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) < 126 {
		t.Errorf("%d items, want at least 126", len(items))
	}
	reg := a.Catalog()
	seen := map[string]bool{}
	for _, s := range items {
		if seen[s.ID()] {
			t.Errorf("%s is listed twice", s.ID())
		}
		seen[s.ID()] = true
		in, out, err := reg.Schemas(s.ID())
		if err != nil {
			t.Errorf("%s: %v", s.ID(), err)
			continue
		}
		if err := out.Validate(s.Sample); err != nil {
			t.Errorf("%s: its sample breaks its output schema: %v", s.ID(), err)
		}
		if s.Kind == catalog.KindAction {
			if err := in.Validate(s.SampleInput); err != nil {
				t.Errorf("%s: its sample input breaks its input schema: %v", s.ID(), err)
			}
			if s.Effect == "" || s.Idempotency == "" {
				t.Errorf("%s: an action must say its effect and idempotency", s.ID())
			}
		}
	}
}

// TestCatalogListFilters checks the filters against the whole list.
func TestCatalogListFilters(t *testing.T) {
	t.Parallel()
	a := app.New(app.Deps{})
	all, _ := a.CatalogList(app.CatalogQuery{})
	actions, _ := a.CatalogList(app.CatalogQuery{Kind: catalog.KindAction})
	triggers, _ := a.CatalogList(app.CatalogQuery{Kind: catalog.KindTrigger})
	if len(actions)+len(triggers) != len(all) || len(actions) == 0 || len(triggers) == 0 {
		t.Errorf("%d actions + %d triggers, %d in all", len(actions), len(triggers), len(all))
	}
	fulfill, _ := a.CatalogList(app.CatalogQuery{Search: "FULFILLMENT", Source: catalog.SourceGHLAPI})
	if len(fulfill) < 2 {
		t.Errorf("searching fulfillment among GHL's operations found %d", len(fulfill))
	}
	for _, s := range fulfill {
		if s.Source != catalog.SourceGHLAPI {
			t.Errorf("%s is not from the GHL API", s.ID())
		}
	}
	if _, err := a.CatalogList(app.CatalogQuery{Kind: "workflow"}); err == nil {
		t.Error("kind workflow was accepted")
	}
	exp := a.CatalogExport()
	if exp.Counts["total"] != len(all) || exp.Counts["action"] != len(actions) {
		t.Errorf("export counts %v", exp.Counts)
	}
	b, err := json.Marshal(exp)
	if err != nil || !json.Valid(b) {
		t.Fatal(err)
	}
}
