package sandbox_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/rankr/rankr/ghl"
)

// itemsOf returns an erratum patch that gives an array its real items: the
// products spec writes several arrays as arrays of arrays (NestJS's
// `type: [Array]`), while their descriptions, examples and GHL's answers
// hold objects or ids.
func itemsOf(items *openapi3.SchemaRef) func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
	return func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
		return withType(old, openapi3.TypeArray, items)
	}
}

// anObject is an object schema with no constraints on its properties.
func anObject() *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}})
}

// aString is a string schema.
func aString() *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}})
}

// exerciseProducts drives every operation of the products API through the
// client: the seeded catalog first, then a product's whole life (prices,
// stock, collections, store, bulk changes), then the seeded reviews.
func exerciseProducts(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	cat := e.truth.Catalog
	if cat == nil || len(cat.Products) == 0 || len(cat.Collections) == 0 || len(cat.Reviews) == 0 {
		t.Fatalf("the sandbox seeded no catalog: %+v", cat)
	}
	yes, no := true, false

	// Reads of the seeded catalog.
	page := oaMust(e.c.ListProducts(ctx, ghl.ListProductsParams{LocationID: e.loc, Limit: 5}))(t)
	if len(page.Items) == 0 || page.TotalCount < len(cat.Products) {
		t.Fatalf("ListProducts: %d items of %d, the truth has %d", len(page.Items), page.TotalCount, len(cat.Products))
	}
	oaMust(e.c.ListProducts(ctx, ghl.ListProductsParams{LocationID: e.loc, Search: "tee", SortOrder: "asc",
		CollectionIDs: []string{cat.Collections[0].ID}, AvailableInStore: &yes, Expand: []string{"prices"}}))(t)
	inStore := oaMust(e.c.ListProducts(ctx, ghl.ListProductsParams{LocationID: e.loc, StoreID: cat.StoreID, IncludedInStore: &yes,
		ProductIDs: []string{cat.Products[0].Product.ID, cat.Products[1].Product.ID}}))(t)
	if len(inStore.Items) == 0 {
		t.Errorf("ListProducts(storeId, includedInStore, productIds) found nothing")
	}
	seeded := cat.Products[0]
	got := oaMust(e.c.GetProduct(ctx, e.loc, seeded.Product.ID))(t)
	if got.Name != seeded.Product.Name || len(got.Raw) == 0 {
		t.Errorf("GetProduct: %q (raw %d bytes), want %q", got.Name, len(got.Raw), seeded.Product.Name)
	}
	prices := oaMust(e.c.ListPrices(ctx, ghl.ListPricesParams{LocationID: e.loc, ProductID: seeded.Product.ID}))(t)
	if prices.TotalCount != len(seeded.Prices) {
		t.Errorf("ListPrices: total %d, want %d", prices.TotalCount, len(seeded.Prices))
	}
	oaMust(e.c.ListPrices(ctx, ghl.ListPricesParams{LocationID: e.loc, ProductID: seeded.Product.ID,
		IDs: []string{seeded.Prices[0].ID}, Limit: 1}))(t)
	oaMust(e.c.GetPrice(ctx, e.loc, seeded.Product.ID, seeded.Prices[0].ID))(t)
	inv := oaMust(e.c.ListInventory(ctx, ghl.ListInventoryParams{LocationID: e.loc, Limit: 50}))(t)
	if len(inv.Items) == 0 {
		t.Fatal("ListInventory: no item tracks inventory")
	}
	oaMust(e.c.ListInventory(ctx, ghl.ListInventoryParams{LocationID: e.loc, Search: "mug"}))(t)
	oaMust(e.c.ListCollections(ctx, ghl.ListCollectionsParams{LocationID: e.loc}))(t)
	oaMust(e.c.ListCollections(ctx, ghl.ListCollectionsParams{LocationID: e.loc, Name: "apparel",
		IDs: []string{cat.Collections[0].ID}, Limit: 5}))(t)
	stats := oaMust(e.c.GetStoreStats(ctx, ghl.StoreStatsParams{LocationID: e.loc, StoreID: cat.StoreID}))(t)
	if stats.TotalProducts != stats.IncludedInStore+stats.ExcludedFromStore || stats.TotalProducts == 0 {
		t.Errorf("GetStoreStats: %+v", stats)
	}
	oaMust(e.c.GetStoreStats(ctx, ghl.StoreStatsParams{LocationID: e.loc, StoreID: cat.StoreID, Search: "e",
		CollectionIDs: []string{cat.Collections[0].ID}}))(t)

	// A product's life.
	col := oaMust(e.c.CreateCollection(ctx, ghl.CollectionParams{LocationID: e.loc, Name: "Spec Check",
		Slug: "spec-check", Image: "https://example.com/c.png", SEO: &ghl.SEO{Title: "Spec", Description: "Check"}}))(t)
	if _, err := e.c.CreateCollection(ctx, ghl.CollectionParams{LocationID: e.loc, Name: "Again", Slug: "spec-check"}); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("a second collection with the same slug: %v, want a 422", err)
	}
	if err := e.c.UpdateCollection(ctx, col.ID, ghl.CollectionParams{LocationID: e.loc, Name: "Spec Check 2"}); err != nil {
		t.Fatal(err)
	}
	if c := oaMust(e.c.GetCollection(ctx, e.loc, col.ID))(t); c.Name != "Spec Check 2" || c.Slug != "spec-check" {
		t.Errorf("GetCollection after the update: %+v", c)
	}
	p := ghl.ProductParams{LocationID: e.loc, Name: "Spec Check Tee", ProductType: ghl.ProductPhysical,
		Description: "A tee", Image: "https://example.com/t.png", AvailableInStore: &yes,
		Medias:        []ghl.ProductMedia{{ID: "m1", URL: "https://example.com/t.png", Type: "image", IsFeatured: true}},
		Variants:      []ghl.ProductVariant{{ID: "size", Name: "Size", Options: []ghl.ProductVariantOption{{ID: "s", Name: "S"}, {ID: "m", Name: "M"}}}},
		CollectionIDs: []string{col.ID}, IsLabelEnabled: true, Label: &ghl.ProductLabel{Title: "New"},
		Slug: "spec-check-tee", SEO: &ghl.SEO{Title: "Tee"}}
	prod := oaMust(e.c.CreateProduct(ctx, p))(t)
	p.Name, p.Medias[0].PriceIDs = "Spec Check Tee 2", nil
	if up := oaMust(e.c.UpdateProduct(ctx, prod.ID, p))(t); up.Name != "Spec Check Tee 2" {
		t.Errorf("UpdateProduct: name %q", up.Name)
	}
	qty := 10
	pp := ghl.PriceParams{LocationID: e.loc, Name: "S", Type: ghl.PriceOneTime, Currency: "USD",
		Amount: ghl.NumberFromScaled(1999, 2), CompareAtPrice: ghl.NumberFromScaled(2499, 2),
		VariantOptionIDs: []string{"s"}, TrackInventory: true, AvailableQuantity: &qty, SKU: "SPEC-S"}
	price := oaMust(e.c.CreatePrice(ctx, prod.ID, pp))(t)
	if price.Amount != "19.99" {
		t.Errorf("CreatePrice: amount %s, want 19.99", price.Amount)
	}
	bad := pp
	bad.VariantOptionIDs = []string{"xl"}
	if _, err := e.c.CreatePrice(ctx, prod.ID, bad); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("a price for an unknown variant option: %v, want a 422", err)
	}
	monthly := oaMust(e.c.CreatePrice(ctx, prod.ID, ghl.PriceParams{LocationID: e.loc, Name: "Club", Type: ghl.PriceRecurring,
		Currency: "USD", Amount: ghl.NumberFromInt(5), Recurring: &ghl.Recurring{Interval: "month", IntervalCount: 1},
		MembershipOffers: []ghl.MembershipOffer{{Label: "top", Value: "50", ID: "655b33aa2209e60b6adb87a7"}}}))(t)
	pp.Amount = ghl.NumberFromScaled(1799, 2)
	oaMust(e.c.UpdatePrice(ctx, prod.ID, price.ID, pp))(t)
	five, out := 5, false
	if err := e.c.UpdateInventory(ctx, e.loc, []ghl.InventoryUpdate{{PriceID: price.ID, AvailableQuantity: &five, AllowOutOfStockPurchases: &out}}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.UpdateInventory(ctx, e.loc, []ghl.InventoryUpdate{{PriceID: "000000000000000000000000"}}); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("stock of an unknown price: %v, want not found", err)
	}
	if x := oaMust(e.c.GetPrice(ctx, e.loc, prod.ID, price.ID))(t); x.AvailableQuantity != "5" || x.Amount != "17.99" {
		t.Errorf("GetPrice after the updates: quantity %s amount %s, want 5 and 17.99", x.AvailableQuantity, x.Amount)
	}
	if err := e.c.UpdateStoreStatus(ctx, e.loc, cat.StoreID, ghl.StoreExclude, []string{prod.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.UpdateStoreStatus(ctx, e.loc, "nosuchstore", ghl.StoreInclude, []string{prod.ID}); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("UpdateStoreStatus on an unknown store: %v, want not found", err)
	}
	if err := e.c.UpdateDisplayPriority(ctx, e.loc, cat.StoreID, []ghl.DisplayPriority{{ProductID: prod.ID, Priority: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.BulkUpdateProducts(ctx, ghl.BulkUpdateParams{LocationID: e.loc, Type: ghl.BulkUpdatePrice,
		ProductIDs: []string{prod.ID}, Price: &ghl.PriceChange{Type: ghl.IncreaseByPercentage, Value: ghl.NumberFromInt(10)},
		CompareAtPrice: &ghl.PriceChange{Type: ghl.SetNewPrice, Value: ghl.NumberFromInt(30), RoundToWhole: true}}); err != nil {
		t.Fatal(err)
	}
	if x := oaMust(e.c.GetPrice(ctx, e.loc, prod.ID, price.ID))(t); x.Amount != "19.79" {
		t.Errorf("17.99 + 10%%: %s, want 19.79", x.Amount)
	}
	if err := e.c.BulkUpdateProducts(ctx, ghl.BulkUpdateParams{LocationID: e.loc, Type: ghl.BulkUpdateAvailability,
		ProductIDs: []string{}, Filters: &ghl.BulkUpdateFilters{Search: "Spec Check Tee", ProductType: ghl.ProductPhysical}, Availability: &no}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.BulkUpdateProducts(ctx, ghl.BulkUpdateParams{LocationID: e.loc, Type: ghl.BulkUpdatePrice, ProductIDs: []string{prod.ID}}); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("a bulk price update without a price change: %v, want a 422", err)
	}
	n := oaMust(e.c.BulkEditProducts(ctx, e.loc, []ghl.BulkEditProduct{{ID: prod.ID, Name: "Spec Check Tee 3",
		AvailableInStore: &yes, SEO: &ghl.SEO{Title: "Tee 3"},
		Prices: []ghl.BulkEditPrice{{ID: price.ID, Amount: ghl.NumberFromScaled(2100, 2), SKU: "SPEC-S2", AvailableQuantity: &qty}}}}))(t)
	if n != 1 {
		t.Errorf("BulkEditProducts updated %d, want 1", n)
	}
	if err := e.c.DeletePrice(ctx, e.loc, prod.ID, monthly.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetPrice(ctx, e.loc, prod.ID, monthly.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetPrice of a deleted price: %v, want not found", err)
	}
	if err := e.c.DeleteProduct(ctx, e.loc, prod.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetProduct(ctx, e.loc, prod.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetProduct of a deleted product: %v, want not found", err)
	}
	if err := e.c.DeleteCollection(ctx, e.loc, col.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetCollection(ctx, e.loc, col.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetCollection of a deleted collection: %v, want not found", err)
	}
	if _, err := e.c.CreateProduct(ctx, ghl.ProductParams{LocationID: e.loc, Name: " ", ProductType: ghl.ProductDigital}); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("a product without a name: %v, want a 422", err)
	}

	// The seeded reviews.
	reviews := oaMust(e.c.ListReviews(ctx, ghl.ListReviewsParams{ReviewFilter: ghl.ReviewFilter{LocationID: e.loc}, Limit: 20}))(t)
	if len(reviews.Items) == 0 {
		t.Fatal("ListReviews: none")
	}
	r := reviews.Items[0]
	oaMust(e.c.ListReviews(ctx, ghl.ListReviewsParams{ReviewFilter: ghl.ReviewFilter{LocationID: e.loc,
		ProductIDs: []string{r.ProductID}, StoreIDs: []string{cat.StoreID}, Rating: 5,
		StartDate: time.Now().AddDate(-2, 0, 0), EndDate: time.Now()}, SortField: "rating", SortOrder: "asc"}))(t)
	counts := oaMust(e.c.CountReviews(ctx, ghl.ReviewFilter{LocationID: e.loc}))(t)
	total := 0
	for _, c := range counts {
		total += c.Count
	}
	if total != reviews.TotalCount {
		t.Errorf("CountReviews sums to %d, ListReviews says %d", total, reviews.TotalCount)
	}
	oaMust(e.c.CountReviews(ctx, ghl.ReviewFilter{LocationID: e.loc, ProductIDs: []string{r.ProductID}, Rating: 4}))(t)
	if err := e.c.UpdateReview(ctx, r.ID, ghl.ReviewUpdate{LocationID: e.loc, ProductID: r.ProductID, Status: ghl.ReviewApproved,
		Rating: ghl.NumberFromScaled(45, 1), Headline: "Edited", Detail: "Edited detail",
		Reply: []ghl.ReviewReply{{Headline: "Thanks", Comment: "Thank you!", User: ghl.ReviewUser{Name: "Store", Email: "store@example.com"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.UpdateReview(ctx, r.ID, ghl.ReviewUpdate{LocationID: e.loc, ProductID: r.ProductID, Status: "great"}); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("a review status outside the enum: %v, want a 422", err)
	}
	refs := []ghl.ReviewRef{}
	for _, x := range reviews.Items[1:min(4, len(reviews.Items))] {
		refs = append(refs, ghl.ReviewRef{ReviewID: x.ID, ProductID: x.ProductID, StoreID: x.StoreID})
	}
	if err := e.c.BulkUpdateReviews(ctx, e.loc, ghl.ReviewRejected, refs); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteReview(ctx, e.loc, r.ProductID, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteReview(ctx, e.loc, r.ProductID, r.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("deleting a deleted review: %v, want not found", err)
	}
	after := oaMust(e.c.ListReviews(ctx, ghl.ListReviewsParams{ReviewFilter: ghl.ReviewFilter{LocationID: e.loc}}))(t)
	if after.TotalCount != reviews.TotalCount-1 || slices.ContainsFunc(after.Items, func(x ghl.Review) bool { return x.ID == r.ID }) {
		t.Errorf("after the delete: %d reviews, want %d without %s", after.TotalCount, reviews.TotalCount-1, r.ID)
	}
	_, err := e.bad.ListProducts(ctx, ghl.ListProductsParams{LocationID: e.loc})
	if !errors.Is(err, ghl.ErrUnauthorized) {
		t.Errorf("ListProducts with a bad token: %v, want unauthorized", err)
	}
}

// arrayOfComponent is retype with itemsOf a component schema of the same
// document.
func arrayOfComponent(schema, property, official, component string) func(*openapi3.T) error {
	return func(doc *openapi3.T) error {
		ref := doc.Components.Schemas[component]
		if ref == nil {
			return errors.New("the spec has no schema " + component)
		}
		return retype(schema, property, official, itemsOf(ref))(doc)
	}
}
