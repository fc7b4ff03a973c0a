package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestProducts lists the catalog a sync copied and shows a product with its
// prices, as JSON and as text.
func TestProducts(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "")
	l := s.sb.Locations()[0]
	s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url)
	s.must(t, "sync")
	tr, err := s.sb.Truth(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	cat := tr.Locations[0].Catalog
	if cat == nil || len(cat.Products) == 0 {
		t.Fatal("the sandbox has no catalog")
	}

	var list []map[string]any
	if err := json.Unmarshal([]byte(s.must(t, "products", "list", "--location", l.ID, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != len(cat.Products) {
		t.Fatalf("%d products listed, the sandbox has %d", len(list), len(cat.Products))
	}
	for _, field := range []string{"id", "locationId", "name", "availableInStore", "createdAt", "updatedAt"} {
		if _, ok := list[0][field]; !ok {
			t.Errorf("product JSON lacks %q: %v", field, list[0])
		}
	}
	if _, ok := list[0]["prices"]; ok {
		t.Errorf("a listed product carries its prices: %v", list[0])
	}

	// The product with the most prices, shown in full.
	want := cat.Products[0]
	for _, p := range cat.Products {
		if len(p.Prices) > len(want.Prices) {
			want = p
		}
	}
	if len(want.Prices) == 0 {
		t.Fatal("no product of the sandbox has a price")
	}
	var shown struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Prices []struct {
			ID       string          `json:"id"`
			Amount   json.RawMessage `json:"amount"`
			Currency string          `json:"currency"`
			Type     string          `json:"type"`
		} `json:"prices"`
	}
	if err := json.Unmarshal([]byte(s.must(t, "products", "show", want.Product.ID, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.ID != want.Product.ID || shown.Name != want.Product.Name || len(shown.Prices) != len(want.Prices) {
		t.Fatalf("products show: %+v", shown)
	}
	amounts := map[string]string{}
	for _, p := range want.Prices {
		amounts[p.ID] = string(p.Amount)
	}
	for _, p := range shown.Prices {
		// Amounts are GHL's exact decimals, in major units.
		if got, sent := string(p.Amount), amounts[p.ID]; !sameDecimal(got, sent) || p.Currency == "" || p.Type == "" {
			t.Fatalf("price %s: amount %s %s (%s), GHL sent %s", p.ID, got, p.Currency, p.Type, sent)
		}
	}
	text := s.must(t, "products", "show", want.Product.ID)
	for _, w := range []string{want.Product.Name, "prices:", want.Prices[0].ID} {
		if !strings.Contains(text, w) {
			t.Errorf("products show text lacks %q:\n%s", w, text)
		}
	}
	if table := s.must(t, "products", "list"); !strings.Contains(table, want.Product.ID) || !strings.Contains(table, "NAME") {
		t.Fatalf("products list (table):\n%s", table)
	}
	if code, _, errOut := s.run(t, "products", "show", "no-such-product"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("show of a missing product: %d %s", code, errOut)
	}
	// A filter products do not have is refused, not ignored.
	if code, _, errOut := s.run(t, "products", "list", "--status", "active"); code == 0 || !strings.Contains(errOut, "status") {
		t.Fatalf("products list --status: %d %s", code, errOut)
	}
}
