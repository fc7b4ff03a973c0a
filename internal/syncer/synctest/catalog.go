package synctest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// catalogKeys differ between a record as the API serves it and as its
// webhook carries it (the envelope takes locationId; a price's type is
// "priceType" in a webhook, whose "type" is the event's), so the raw JSON is
// compared without them; the typed fields check what they hold.
var catalogKeys = []string{"locationId", "type", "priceType"}

func withoutKeys(b []byte, keys []string) []byte {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	for _, k := range keys {
		delete(m, k)
	}
	out, _ := json.Marshal(m)
	return out
}

func wantWithout(v any, keys []string) any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range keys {
		delete(m, k)
	}
	return m
}

// CatalogDiff lists how a location's stored products and prices differ
// from the sandbox's catalog: every product and price it serves is stored
// with its fields, and every one stored live is still served. It is empty
// when they agree.
func CatalogDiff(t testing.TB, st store.Store, lt sandbox.LocationTruth) []string {
	t.Helper()
	var d diff
	compareCatalog(context.Background(), t, st, lt, &d)
	return d.lines
}

func compareCatalog(ctx context.Context, t testing.TB, st store.Store, lt sandbox.LocationTruth, d *diff) {
	loc := lt.ID
	served := map[string]bool{}
	if lt.Catalog != nil {
		for _, pt := range lt.Catalog.Products {
			served[pt.Product.ID] = true
			compareProduct(ctx, t, st, loc, pt, d)
		}
	}
	stored, err := st.ProductList(ctx, store.ListParams{LocationID: loc, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stored {
		if !served[p.ID] {
			d.add("product %s is stored live, but the sandbox no longer serves it", p.ID)
		}
	}
}

func compareProduct(ctx context.Context, t testing.TB, st store.Store, loc string, pt sandbox.ProductTruth, d *diff) {
	want := pt.Product
	what := "product " + want.ID
	got, err := st.ProductGet(ctx, loc, want.ID)
	if err != nil {
		d.add("%s: %v", what, err)
		return
	}
	if !got.DeletedAt.IsZero() {
		d.add("%s is marked deleted, but the sandbox serves it", what)
	}
	d.eq(what+" name", got.Name, want.Name)
	d.eq(what+" description", got.Description, want.Description)
	d.eq(what+" productType", got.ProductType, want.ProductType)
	d.eq(what+" availableInStore", got.AvailableInStore, want.AvailableInStore)
	d.eq(what+" image", got.Image, want.Image)
	d.eq(what+" createdAt", got.CreatedAt, ms(want.CreatedAt))
	d.eq(what+" updatedAt", got.UpdatedAt, ms(want.UpdatedAt))
	d.jsonEq(what+" raw", withoutKeys(got.Raw, catalogKeys), wantWithout(want, catalogKeys))
	byID := map[string]rankr.Price{}
	for _, p := range got.Prices {
		byID[p.ID] = p
	}
	for _, wp := range pt.Prices {
		pw := what + " price " + wp.ID
		p, ok := byID[wp.ID]
		if !ok {
			d.add("%s is missing", pw)
			continue
		}
		delete(byID, wp.ID)
		d.eq(pw+" productId", p.ProductID, want.ID)
		d.eq(pw+" name", p.Name, wp.Name)
		d.eq(pw+" type", p.Type, string(wp.Type))
		d.eq(pw+" amount", p.Amount, cents(t, wp.Amount))
		d.eq(pw+" currency", p.Currency, wp.Currency)
		var interval string
		var count int
		if wp.Recurring != nil {
			interval, count = wp.Recurring.Interval, wp.Recurring.IntervalCount
		}
		d.eq(pw+" recurring", [2]any{p.Interval, p.IntervalCount}, [2]any{interval, count})
		d.eq(pw+" sku", p.SKU, wp.SKU)
		d.eq(pw+" trackInventory", p.TrackInventory, wp.TrackInventory)
		d.eq(pw+" availableQuantity", quantity(p.AvailableQuantity), quantityOf(t, wp.AvailableQuantity))
		d.eq(pw+" updatedAt", p.UpdatedAt, ms(wp.UpdatedAt))
		d.jsonEq(pw+" raw", withoutKeys(p.Raw, catalogKeys), wantWithout(wp, catalogKeys))
	}
	for id := range byID {
		d.add("%s price %s is stored live, but the sandbox no longer serves it", what, id)
	}
}

func quantity(q *int64) any {
	if q == nil {
		return nil
	}
	return *q
}

func quantityOf(t testing.TB, n ghl.Number) any {
	if n == "" {
		return nil
	}
	v, err := n.Scaled(0)
	if err != nil {
		t.Fatalf("quantity %q: %v", n, err)
	}
	return v
}
