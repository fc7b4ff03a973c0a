package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// productTests are the catalog's: products and their prices.
func productTests() map[string]func(*testing.T, store.Store) {
	return map[string]func(*testing.T, store.Store){
		"Products":        testProducts,
		"Prices":          testPrices,
		"ProductDeletion": testProductDeletion,
		"ProductPages":    testProductPages,
	}
}

func product(loc, id, name string, updated time.Time) rankr.Product {
	return rankr.Product{ID: id, LocationID: loc, Name: name, Description: "A " + name, ProductType: "PHYSICAL",
		AvailableInStore: true, Image: "https://example.com/" + id + ".png", CreatedAt: t0, UpdatedAt: updated,
		Raw: json.RawMessage(`{"_id":"` + id + `","name":"` + name + `"}`)}
}

func price(loc, id, productID string, amount int64, updated time.Time) rankr.Price {
	return rankr.Price{ID: id, LocationID: loc, ProductID: productID, Name: "Standard", Type: rankr.PriceOneTime,
		Amount: amount, Currency: "USD", SKU: "SKU-" + id, CreatedAt: t0, UpdatedAt: updated,
		Raw: json.RawMessage(`{"_id":"` + id + `"}`)}
}

func upsertProducts(t *testing.T, s store.Store, loc string, xs ...rankr.Product) store.UpsertResult {
	t.Helper()
	res, err := s.ProductUpsert(ctx, store.ProductUpsertParams{LocationID: loc, Products: xs})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func upsertPrices(t *testing.T, s store.Store, loc string, xs ...rankr.Price) store.UpsertResult {
	t.Helper()
	res, err := s.PriceUpsert(ctx, store.PriceUpsertParams{LocationID: loc, Prices: xs})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Products upsert as every record does: idempotent, monotonic by
// updatedAt, one event per effective change, raw JSON kept.
func testProducts(t *testing.T, s store.Store) {
	const loc = "L"
	if res := upsertProducts(t, s, loc, product(loc, "p1", "Mug", at(1))); !slices.Equal(res.Created, []string{"p1"}) || res.Events != 1 {
		t.Fatalf("first upsert %+v", res)
	}
	if res := upsertProducts(t, s, loc, product(loc, "p1", "Mug", at(1))); res.Unchanged != 1 || res.Events != 0 {
		t.Fatalf("same version %+v", res)
	}
	if res := upsertProducts(t, s, loc, product(loc, "p1", "Big mug", at(2))); !slices.Equal(res.Changed, []string{"p1"}) {
		t.Fatalf("newer version %+v", res)
	}
	if res := upsertProducts(t, s, loc, product(loc, "p1", "Old mug", at(1))); res.Stale != 1 || res.Events != 0 {
		t.Fatalf("older version %+v", res)
	}
	got, err := s.ProductGet(ctx, loc, "p1")
	if err != nil {
		t.Fatal(err)
	}
	want := product(loc, "p1", "Big mug", at(2))
	if got.Name != want.Name || got.Description != want.Description || got.ProductType != "PHYSICAL" || !got.AvailableInStore ||
		got.Image != want.Image || !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(at(2)) || string(got.Raw) != string(want.Raw) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := s.ProductGet(ctx, "", "p1"); err != nil {
		t.Fatalf("get by id alone: %v", err)
	}
	if _, err := s.ProductGet(ctx, loc, "nope"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("unknown product: %v", err)
	}
	if _, err := s.ProductUpsert(ctx, store.ProductUpsertParams{LocationID: loc, Products: []rankr.Product{{ID: "p2"}}}); err == nil {
		t.Fatal("a product without updatedAt was stored")
	}
	evs := Events(t, s, loc)
	wantKinds(t, evs, rankr.ProductCreated, rankr.ProductUpdated)
	if evs[0].RecordType != rankr.RecordProduct || evs[0].RecordID != "p1" {
		t.Fatalf("event %+v", evs[0])
	}
}

// Prices keep their amounts exactly, in minor units, with their product,
// period and stock; ProductGet returns them with their product.
func testPrices(t *testing.T, s store.Store) {
	const loc = "L"
	upsertProducts(t, s, loc, product(loc, "p1", "Mug", at(1)))
	one := price(loc, "pr1", "p1", 1999, at(1))
	qty := int64(7)
	one.TrackInventory, one.AvailableQuantity = true, &qty
	rec := price(loc, "pr2", "p1", 900_000_000_001, at(1))
	rec.Type, rec.Interval, rec.IntervalCount, rec.CreatedAt = rankr.PriceRecurring, "month", 3, t0.Add(time.Minute)
	if res := upsertPrices(t, s, loc, one, rec); len(res.Created) != 2 || res.Events != 2 {
		t.Fatalf("first upsert %+v", res)
	}
	if res := upsertPrices(t, s, loc, one, rec); res.Unchanged != 2 {
		t.Fatalf("same versions %+v", res)
	}
	qty2 := int64(6)
	one2 := one
	one2.AvailableQuantity, one2.UpdatedAt = &qty2, at(2)
	if res := upsertPrices(t, s, loc, one2); !slices.Equal(res.Changed, []string{"pr1"}) {
		t.Fatalf("stock change %+v", res)
	}
	one3 := one2
	one3.Amount, one3.UpdatedAt = 2499, at(3)
	upsertPrices(t, s, loc, one3)
	upsertPrices(t, s, loc, one) // stale

	got, err := s.ProductGet(ctx, loc, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Prices) != 2 {
		t.Fatalf("prices %+v", got.Prices)
	}
	a, b := got.Prices[0], got.Prices[1]
	if a.ID != "pr1" || a.Amount != 2499 || a.Currency != "USD" || a.Type != rankr.PriceOneTime || !a.TrackInventory ||
		a.AvailableQuantity == nil || *a.AvailableQuantity != 6 || a.SKU != "SKU-pr1" || a.ProductID != "p1" || string(a.Raw) != `{"_id":"pr1"}` {
		t.Fatalf("one-time price %+v", a)
	}
	if b.ID != "pr2" || b.Amount != 900_000_000_001 || b.Type != rankr.PriceRecurring || b.Interval != "month" ||
		b.IntervalCount != 3 || b.AvailableQuantity != nil {
		t.Fatalf("recurring price %+v", b)
	}
	if p, err := s.PriceGet(ctx, loc, "pr2"); err != nil || p.ProductID != "p1" || p.Amount != 900_000_000_001 {
		t.Fatalf("price get %+v, %v", p, err)
	}
	if _, err := s.PriceGet(ctx, loc, "nope"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("unknown price: %v", err)
	}
	evs := Events(t, s, loc)
	wantKinds(t, evs, rankr.ProductCreated, rankr.PriceCreated, rankr.PriceCreated, rankr.PriceUpdated, rankr.PriceUpdated)
	var data struct {
		Changes map[string][2]any `json:"changes"`
	}
	if err := json.Unmarshal(evs[4].Data, &data); err != nil || data.Changes["amount"][1] != float64(2499) {
		t.Fatalf("amount change %s, %v", evs[4].Data, err)
	}
	if _, err := s.PriceUpsert(ctx, store.PriceUpsertParams{LocationID: loc,
		Prices: []rankr.Price{{ID: "x", UpdatedAt: at(1)}}}); err == nil {
		t.Fatal("a price without a product was stored")
	}
}

// A product vanishes with its prices, one event each, once; listed again,
// it comes back.
func testProductDeletion(t *testing.T, s store.Store) {
	const loc = "L"
	upsertProducts(t, s, loc, product(loc, "p1", "Mug", at(1)), product(loc, "p2", "Cap", at(1)))
	upsertPrices(t, s, loc, price(loc, "pr1", "p1", 100, at(1)), price(loc, "pr2", "p1", 200, at(1)), price(loc, "pr3", "p2", 300, at(1)))
	walk := time.Now().Add(time.Second)
	if _, err := s.ProductUpsert(ctx, store.ProductUpsertParams{LocationID: loc, SeenAt: walk.Add(time.Second),
		Products: []rankr.Product{product(loc, "p2", "Cap", at(1))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PriceUpsert(ctx, store.PriceUpsertParams{LocationID: loc, SeenAt: walk.Add(time.Second),
		Prices: []rankr.Price{price(loc, "pr1", "p1", 100, at(1))}}); err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string][]string{rankr.RecordProduct: {"p1"}, rankr.RecordPrice: {"pr2", "pr3"}} {
		ids, err := s.RecordsUnseenSince(ctx, store.UnseenParams{LocationID: loc, RecordType: typ, Since: walk})
		if err != nil || !slices.Equal(ids, want) {
			t.Fatalf("unseen %ss %v, %v", typ, ids, err)
		}
	}
	mark := store.MarkDeletedParams{LocationID: loc, RecordType: rankr.RecordProduct, ID: "p1", At: at(9)}
	for range 2 {
		if err := s.RecordMarkDeleted(ctx, mark); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ProductList(ctx, store.ListParams{LocationID: loc})
	if err != nil || len(list) != 1 || list[0].ID != "p2" {
		t.Fatalf("live products %v, %v", list, err)
	}
	got, err := s.ProductGet(ctx, loc, "p1")
	if err != nil || got.DeletedAt.IsZero() || len(got.Prices) != 0 {
		t.Fatalf("deleted product %+v, %v", got, err)
	}
	all, err := s.PriceList(ctx, store.PriceListParams{LocationID: loc, ProductID: "p1", Deleted: true})
	if err != nil || len(all) != 2 || all[0].DeletedAt.IsZero() || all[1].DeletedAt.IsZero() {
		t.Fatalf("deleted prices %+v, %v", all, err)
	}
	if err := s.RecordMarkDeleted(ctx, store.MarkDeletedParams{LocationID: loc, RecordType: rankr.RecordPrice, ID: "pr3", At: at(9)}); err != nil {
		t.Fatal(err)
	}
	upsertProducts(t, s, loc, product(loc, "p1", "Mug", at(1)))
	if got, _ := s.ProductGet(ctx, loc, "p1"); !got.DeletedAt.IsZero() {
		t.Fatal("a deleted product listed again stays deleted")
	}
	wantKinds(t, Events(t, s, loc), rankr.ProductCreated, rankr.ProductCreated, rankr.PriceCreated, rankr.PriceCreated,
		rankr.PriceCreated, rankr.ProductDeleted, rankr.PriceDeleted, rankr.PriceDeleted, rankr.PriceDeleted, rankr.ProductUpdated)
}

// Product lists page with After like every list, across locations too.
func testProductPages(t *testing.T, s store.Store) {
	var want []string
	for i := range 12 {
		loc := []string{"L", "M"}[i%2]
		p := product(loc, fmt.Sprintf("p%02d", i/2), "P", at(1))
		p.CreatedAt = at(12 - i/4)
		upsertProducts(t, s, loc, p)
		want = append(want, loc+"/"+p.ID)
	}
	all, err := s.ProductList(ctx, store.ListParams{Limit: 1000})
	if err != nil || len(all) != len(want) {
		t.Fatalf("list %d, %v", len(all), err)
	}
	var got []string
	p := store.ListParams{Limit: 5}
	for range 10 {
		page, err := s.ProductList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page {
			got = append(got, x.LocationID+"/"+x.ID)
		}
		if len(page) < p.Limit {
			break
		}
		last := page[len(page)-1]
		p.After = store.ListKey{CreatedAt: last.CreatedAt, LocationID: last.LocationID, ID: last.ID}
	}
	var whole []string
	for _, x := range all {
		whole = append(whole, x.LocationID+"/"+x.ID)
	}
	if !slices.Equal(got, whole) {
		t.Fatalf("pages %v\nwhole %v", got, whole)
	}
	for i := 1; i < len(all); i++ {
		if all[i].CreatedAt.After(all[i-1].CreatedAt) {
			t.Fatalf("not newest first: %v", whole)
		}
	}
	mine, err := s.ProductList(ctx, store.ListParams{LocationID: "M"})
	if err != nil || len(mine) != 6 {
		t.Fatalf("one location's %d, %v", len(mine), err)
	}
}
