package catalog_test

import (
	"fmt"
	"slices"
	"testing"
)

func (b *ghlBed) productSteps(t *testing.T) {
	store := b.loc.StoreID
	var productID, priceID string
	b.step(t, "ListProducts", func(t *testing.T) {
		r := b.run(t, "ListProducts", obj{"limit": 100})
		list := ids(t, r, "products")
		if len(list) == 0 {
			t.Fatal("no seeded products listed")
		}
		wantEq(t, "total", int(atNum(t, r, "total.0.total")), len(list))
		productID = list[0]
		inStore := b.run(t, "ListProducts", obj{"storeId": store, "includedInStore": true, "limit": 100})
		if n := len(atList(t, inStore, "products")); n == 0 || n > len(list) {
			t.Errorf("%d products in the store of %d", n, len(list))
		}
	})

	b.step(t, "GetProduct", func(t *testing.T) {
		need(t, productID)
		p := b.run(t, "GetProduct", obj{"productId": productID})
		wantEq(t, "_id", atStr(t, p, "_id"), productID)
		wantEq(t, "locationId", atStr(t, p, "locationId"), b.loc.ID)
	})

	b.step(t, "ListPrices", func(t *testing.T) {
		need(t, productID)
		r := b.run(t, "ListPrices", obj{"productId": productID})
		list := ids(t, r, "prices")
		if len(list) == 0 {
			t.Fatalf("product %s has no prices", productID)
		}
		wantEq(t, "total", int(atNum(t, r, "total")), len(list))
		priceID = list[0]
		one := b.run(t, "ListPrices", obj{"productId": productID, "ids": priceID})
		if got := ids(t, one, "prices"); !slices.Equal(got, []string{priceID}) {
			t.Errorf("ids=%s lists %v", priceID, got)
		}
	})

	b.step(t, "GetPrice", func(t *testing.T) {
		need(t, productID, priceID)
		p := b.run(t, "GetPrice", obj{"productId": productID, "priceId": priceID})
		wantEq(t, "_id", atStr(t, p, "_id"), priceID)
	})

	b.step(t, "ListInventory", func(t *testing.T) {
		r := b.run(t, "ListInventory", obj{"limit": 100})
		if len(atList(t, r, "inventory")) == 0 {
			t.Error("no inventory: the seed tracks the stock of some prices")
		}
	})

	var collectionID string
	b.step(t, "ListCollections", func(t *testing.T) {
		r := b.run(t, "ListCollections", obj{"limit": 100})
		list := ids(t, r, "data")
		if len(list) == 0 {
			t.Fatal("no seeded collections")
		}
		wantEq(t, "total", int(atNum(t, r, "total")), len(list))
		collectionID = list[0]
	})

	b.step(t, "GetCollection", func(t *testing.T) {
		need(t, collectionID)
		r := b.run(t, "GetCollection", obj{"collectionId": collectionID})
		wantEq(t, "status", at(t, r, "status"), any(true))
		wantEq(t, "_id", atStr(t, r, "data._id"), collectionID)
	})

	var reviews []string
	var reviewProducts []string
	var reviewStores []string
	b.step(t, "ListReviews", func(t *testing.T) {
		r := b.run(t, "ListReviews", obj{"limit": 100})
		reviews = ids(t, r, "data")
		if len(reviews) < 3 {
			t.Fatalf("%d seeded reviews, want 3 at least", len(reviews))
		}
		wantEq(t, "total", int(atNum(t, r, "total")), len(reviews))
		for i := range reviews {
			reviewProducts = append(reviewProducts, atStr(t, r, fmt.Sprintf("data.%d.productId", i)))
			reviewStores = append(reviewStores, atStr(t, r, fmt.Sprintf("data.%d.storeId", i)))
		}
	})

	needReviews := func(t *testing.T, reviews []string) {
		t.Helper()
		if len(reviews) < 3 {
			t.Skip("an earlier step it depends on failed")
		}
	}
	reviewCounts := func(t *testing.T) map[string]int {
		r := b.run(t, "CountReviews", obj{})
		out := map[string]int{}
		for i := range atList(t, r, "data") {
			out[atStr(t, r, fmt.Sprintf("data.%d.status", i))] = int(atNum(t, r, fmt.Sprintf("data.%d.count", i)))
		}
		return out
	}
	b.step(t, "CountReviews", func(t *testing.T) {
		needReviews(t, reviews)
		sum := 0
		for _, n := range reviewCounts(t) {
			sum += n
		}
		wantEq(t, "the counts' sum", sum, len(reviews))
	})

	stats := func(t *testing.T) (included, excluded int) {
		r := b.run(t, "GetStoreStats", obj{"storeId": store})
		return int(atNum(t, r, "includedInStore")), int(atNum(t, r, "excludedFromStore"))
	}
	b.step(t, "GetStoreStats", func(t *testing.T) {
		r := b.run(t, "GetStoreStats", obj{"storeId": store})
		total := int(atNum(t, r, "totalProducts"))
		wantEq(t, "included + excluded", int(atNum(t, r, "includedInStore"))+int(atNum(t, r, "excludedFromStore")), total)
	})

	// --- Writes: a collection, a product in it and its price, through
	// their life.
	var newCollection string
	b.step(t, "CreateCollection", func(t *testing.T) {
		r := b.run(t, "CreateCollection", obj{"body": obj{"name": "Catalog Picks", "slug": "catalog-picks",
			"image": "https://example.com/p.png", "seo": obj{"title": "Picks"}}})
		wantEq(t, "slug", atStr(t, r, "data.slug"), "catalog-picks")
		newCollection = atStr(t, r, "data._id")
		g := b.run(t, "GetCollection", obj{"collectionId": newCollection})
		wantEq(t, "the name read back", atStr(t, g, "data.name"), "Catalog Picks")
	})

	b.step(t, "UpdateCollection", func(t *testing.T) {
		need(t, newCollection)
		r := b.run(t, "UpdateCollection", obj{"collectionId": newCollection, "body": obj{"name": "Catalog Picks 2"}})
		wantEq(t, "status", at(t, r, "status"), any(true))
		g := b.run(t, "GetCollection", obj{"collectionId": newCollection})
		wantEq(t, "the name read back", atStr(t, g, "data.name"), "Catalog Picks 2")
		wantEq(t, "the slug stays", atStr(t, g, "data.slug"), "catalog-picks")
	})

	variants := []any{obj{"id": "size", "name": "Size", "options": []any{obj{"id": "s", "name": "S"}, obj{"id": "m", "name": "M"}}}}
	var newProduct string
	b.step(t, "CreateProduct", func(t *testing.T) {
		need(t, newCollection)
		r := b.run(t, "CreateProduct", obj{"body": obj{"name": "Catalog Tee", "productType": "PHYSICAL", "description": "A tee",
			"availableInStore": true, "collectionIds": []any{newCollection}, "variants": variants}})
		wantEq(t, "name", atStr(t, r, "name"), "Catalog Tee")
		newProduct = atStr(t, r, "_id")
		l := b.run(t, "ListProducts", obj{"search": "Catalog Tee"})
		if !slices.Contains(ids(t, l, "products"), newProduct) {
			t.Errorf("search does not list the new product %s", newProduct)
		}
	})

	b.step(t, "UpdateProduct", func(t *testing.T) {
		need(t, newProduct)
		r := b.run(t, "UpdateProduct", obj{"productId": newProduct, "body": obj{"name": "Catalog Tee 2", "productType": "PHYSICAL",
			"description": "Still a tee", "collectionIds": []any{newCollection}, "variants": variants}})
		wantEq(t, "name", atStr(t, r, "name"), "Catalog Tee 2")
		g := b.run(t, "GetProduct", obj{"productId": newProduct})
		wantEq(t, "the description read back", atStr(t, g, "description"), "Still a tee")
	})

	var newPrice string
	price := func(t *testing.T) any {
		return b.run(t, "GetPrice", obj{"productId": newProduct, "priceId": newPrice})
	}
	b.step(t, "CreatePrice", func(t *testing.T) {
		need(t, newProduct)
		r := b.run(t, "CreatePrice", obj{"productId": newProduct, "body": obj{"name": "S", "type": "one_time", "currency": "USD",
			"amount": 19.99, "variantOptionIds": []any{"s"}, "trackInventory": true, "availableQuantity": 7, "sku": "CATALOG-S",
			"compareAtPrice": 24.99}})
		wantEq(t, "amount", atNum(t, r, "amount"), 19.99)
		newPrice = atStr(t, r, "_id")
		inv := b.run(t, "ListInventory", obj{"search": "CATALOG-S"})
		if got := ids(t, inv, "inventory"); !slices.Equal(got, []string{newPrice}) {
			t.Errorf("the inventory search lists %v, want the new price %s", got, newPrice)
		}
	})

	b.step(t, "UpdatePrice", func(t *testing.T) {
		need(t, newProduct, newPrice)
		r := b.run(t, "UpdatePrice", obj{"productId": newProduct, "priceId": newPrice, "body": obj{"name": "S", "type": "one_time",
			"currency": "USD", "amount": 17.5, "variantOptionIds": []any{"s"}, "trackInventory": true, "availableQuantity": 7, "sku": "CATALOG-S"}})
		wantEq(t, "amount", atNum(t, r, "amount"), 17.5)
		wantEq(t, "the amount read back", atNum(t, price(t), "amount"), 17.5)
	})

	b.step(t, "UpdateInventory", func(t *testing.T) {
		need(t, newPrice)
		r := b.run(t, "UpdateInventory", obj{"body": obj{"items": []any{obj{"priceId": newPrice, "availableQuantity": 3, "allowOutOfStockPurchases": false}}}})
		wantEq(t, "status", at(t, r, "status"), any(true))
		wantEq(t, "the stock read back", atNum(t, price(t), "availableQuantity"), 3)
	})

	b.step(t, "UpdateStoreStatus", func(t *testing.T) {
		need(t, newProduct)
		in0, ex0 := stats(t)
		r := b.run(t, "UpdateStoreStatus", obj{"storeId": store, "body": obj{"action": "exclude", "productIds": []any{newProduct}}})
		wantEq(t, "status", at(t, r, "status"), any(true))
		in1, ex1 := stats(t)
		wantEq(t, "excluded after exclude", ex1, ex0+1)
		b.run(t, "UpdateStoreStatus", obj{"storeId": store, "body": obj{"action": "include", "productIds": []any{newProduct}}})
		in2, _ := stats(t)
		wantEq(t, "included after include", in2, in1+1)
		wantEq(t, "included back where it was", in2, in0)
	})

	b.step(t, "UpdateDisplayPriority", func(t *testing.T) {
		need(t, newProduct)
		b.run(t, "UpdateDisplayPriority", obj{"storeId": store, "body": obj{"products": []any{obj{"_id": newProduct, "priority": 1}}}})
		r := b.run(t, "ListProducts", obj{"storeId": store, "limit": 5})
		wantEq(t, "the first product in the store", atStr(t, r, "products.0._id"), newProduct)
	})

	b.step(t, "BulkUpdateProducts", func(t *testing.T) {
		need(t, newProduct, newPrice)
		r := b.run(t, "BulkUpdateProducts", obj{"body": obj{"type": "bulk-update-price", "productIds": []any{newProduct},
			"price": obj{"type": "INCREASE_BY_AMOUNT", "value": 1}}})
		wantEq(t, "status", at(t, r, "status"), any(true))
		wantEq(t, "the amount read back", atNum(t, price(t), "amount"), 18.5)
	})

	b.step(t, "BulkEditProducts", func(t *testing.T) {
		need(t, newProduct, newPrice)
		r := b.run(t, "BulkEditProducts", obj{"body": obj{"products": []any{obj{"_id": newProduct, "name": "Catalog Tee 3",
			"prices": []any{obj{"_id": newPrice, "amount": 12.5}}}}}})
		wantEq(t, "updatedCount", atNum(t, r, "updatedCount"), 1)
		wantEq(t, "the amount read back", atNum(t, price(t), "amount"), 12.5)
		g := b.run(t, "GetProduct", obj{"productId": newProduct})
		wantEq(t, "the name read back", atStr(t, g, "name"), "Catalog Tee 3")
	})

	reviewStatus := func(t *testing.T, id string) string {
		r := b.run(t, "ListReviews", obj{"limit": 100})
		for i, x := range ids(t, r, "data") {
			if x == id {
				return atStr(t, r, fmt.Sprintf("data.%d.status", i))
			}
		}
		return ""
	}
	b.step(t, "UpdateReview", func(t *testing.T) {
		needReviews(t, reviews)
		reply := []any{obj{"headline": "Thanks", "comment": "Thank you for the review!", "user": obj{"name": "The Store", "email": "store@example.com"}}}
		r := b.run(t, "UpdateReview", obj{"reviewId": reviews[0], "body": obj{"productId": reviewProducts[0], "status": "approved", "reply": reply}})
		wantEq(t, "status", at(t, r, "status"), any(true))
		wantEq(t, "the review's status read back", reviewStatus(t, reviews[0]), "approved")
	})

	b.step(t, "BulkUpdateReviews", func(t *testing.T) {
		needReviews(t, reviews)
		var refs []any
		for i := 1; i <= 2; i++ {
			refs = append(refs, obj{"reviewId": reviews[i], "productId": reviewProducts[i], "storeId": reviewStores[i]})
		}
		r := b.run(t, "BulkUpdateReviews", obj{"body": obj{"status": "rejected", "reviews": refs}})
		wantEq(t, "status", at(t, r, "status"), any(true))
		for i := 1; i <= 2; i++ {
			wantEq(t, "a review's status read back", reviewStatus(t, reviews[i]), "rejected")
		}
	})

	b.step(t, "DeleteReview", func(t *testing.T) {
		needReviews(t, reviews)
		in := obj{"reviewId": reviews[0], "productId": reviewProducts[0]}
		r := b.run(t, "DeleteReview", in)
		wantEq(t, "status", at(t, r, "status"), any(true))
		if s := reviewStatus(t, reviews[0]); s != "" {
			t.Errorf("the deleted review is still listed, %s", s)
		}
		b.notFound(t, "DeleteReview", in)
	})

	b.step(t, "DeletePrice", func(t *testing.T) {
		need(t, newProduct, newPrice)
		r := b.run(t, "DeletePrice", obj{"productId": newProduct, "priceId": newPrice})
		wantEq(t, "status", at(t, r, "status"), any(true))
		b.notFound(t, "GetPrice", obj{"productId": newProduct, "priceId": newPrice})
	})

	b.step(t, "DeleteProduct", func(t *testing.T) {
		need(t, newProduct)
		r := b.run(t, "DeleteProduct", obj{"productId": newProduct})
		wantEq(t, "status", at(t, r, "status"), any(true))
		b.notFound(t, "GetProduct", obj{"productId": newProduct})
	})

	b.step(t, "DeleteCollection", func(t *testing.T) {
		need(t, newCollection)
		r := b.run(t, "DeleteCollection", obj{"collectionId": newCollection})
		wantEq(t, "status", at(t, r, "status"), any(true))
		b.notFound(t, "GetCollection", obj{"collectionId": newCollection})
	})
}

func (b *ghlBed) storeSteps(t *testing.T) {
	var domestic, domesticRate, currency, home, carrierID string
	b.step(t, "ListShippingZones", func(t *testing.T) {
		r := b.run(t, "ListShippingZones", obj{"withShippingRate": true})
		for i := range atList(t, r, "data") {
			if atStr(t, r, fmt.Sprintf("data.%d.name", i)) == "Domestic" {
				domestic = atStr(t, r, fmt.Sprintf("data.%d._id", i))
				home = atStr(t, r, fmt.Sprintf("data.%d.countries.0.code", i))
				domesticRate = atStr(t, r, fmt.Sprintf("data.%d.shippingRates.0._id", i))
				currency = atStr(t, r, fmt.Sprintf("data.%d.shippingRates.0.currency", i))
			}
		}
		if domestic == "" {
			t.Fatalf("no seeded Domestic zone in %s", show(r))
		}
		wantEq(t, "total", int(atNum(t, r, "total")), len(atList(t, r, "data")))
	})

	b.step(t, "GetShippingZone", func(t *testing.T) {
		need(t, domestic)
		r := b.run(t, "GetShippingZone", obj{"shippingZoneId": domestic, "withShippingRate": true})
		wantEq(t, "_id", atStr(t, r, "data._id"), domestic)
		wantEq(t, "name", atStr(t, r, "data.name"), "Domestic")
	})

	b.step(t, "ListShippingRates", func(t *testing.T) {
		need(t, domestic)
		r := b.run(t, "ListShippingRates", obj{"shippingZoneId": domestic})
		if !slices.Contains(ids(t, r, "data"), domesticRate) {
			t.Errorf("rate %s is not listed", domesticRate)
		}
	})

	b.step(t, "GetShippingRate", func(t *testing.T) {
		need(t, domestic, domesticRate)
		r := b.run(t, "GetShippingRate", obj{"shippingZoneId": domestic, "shippingRateId": domesticRate})
		wantEq(t, "_id", atStr(t, r, "data._id"), domesticRate)
		wantEq(t, "shippingZoneId", atStr(t, r, "data.shippingZoneId"), domestic)
	})

	b.step(t, "ListShippingCarriers", func(t *testing.T) {
		r := b.run(t, "ListShippingCarriers", obj{})
		if len(atList(t, r, "data")) == 0 {
			t.Fatal("no seeded carrier")
		}
		carrierID = atStr(t, r, "data.0._id")
	})

	b.step(t, "GetShippingCarrier", func(t *testing.T) {
		need(t, carrierID)
		r := b.run(t, "GetShippingCarrier", obj{"shippingCarrierId": carrierID})
		wantEq(t, "_id", atStr(t, r, "data._id"), carrierID)
	})

	var settings map[string]any
	b.step(t, "GetStoreSettings", func(t *testing.T) {
		r := b.run(t, "GetStoreSettings", obj{})
		wantEq(t, "altId", atStr(t, r, "data.altId"), b.loc.ID)
		settings = atObj(t, r, "data")
	})

	quote := func(t *testing.T, extra obj) []string {
		// No amountAvailable: GHL's spec types it as a country code (a
		// mistake for the boolean GHL takes), and with no products GHL
		// uses the total given anyway.
		body := obj{"country": home, "totalOrderAmount": 20, "weightAvailable": true,
			"totalOrderWeight": 1, "source": obj{"type": "website", "subType": "store"}, "products": []any{}}
		for k, v := range extra {
			body[k] = v
		}
		r := b.run(t, "AvailableShippingRates", obj{"body": body})
		var out []string
		for i := range atList(t, r, "data") {
			out = append(out, fmt.Sprintf("%s %.2f", atStr(t, r, fmt.Sprintf("data.%d.name", i)), atNum(t, r, fmt.Sprintf("data.%d.amount", i))))
		}
		return out
	}
	b.step(t, "AvailableShippingRates", func(t *testing.T) {
		need(t, home)
		if got, want := quote(t, nil), []string{"Standard 5.99", "Express 9.99"}; !slices.Equal(got, want) {
			t.Errorf("rates for 20.00 at home: %v, want %v", got, want)
		}
		if got, want := quote(t, obj{"totalOrderAmount": 50}), []string{"Free shipping 0.00", "Express 9.99"}; !slices.Equal(got, want) {
			t.Errorf("rates for 50.00 at home: %v, want %v", got, want)
		}
	})

	var carrier, zone, rate string
	services := []any{obj{"name": "Economy", "value": "economy"}, obj{"name": "Priority", "value": "priority"}}
	b.step(t, "CreateShippingCarrier", func(t *testing.T) {
		r := b.run(t, "CreateShippingCarrier", obj{"body": obj{"name": "Catalog Freight", "callbackUrl": "https://freight.example.com/rates",
			"services": services, "allowsMultipleServiceSelection": true}})
		carrier = atStr(t, r, "data._id")
		l := b.run(t, "ListShippingCarriers", obj{})
		if !slices.Contains(ids(t, l, "data"), carrier) {
			t.Errorf("the new carrier %s is not listed", carrier)
		}
	})

	b.step(t, "UpdateShippingCarrier", func(t *testing.T) {
		need(t, carrier)
		r := b.run(t, "UpdateShippingCarrier", obj{"shippingCarrierId": carrier, "body": obj{"name": "Catalog Freight Co"}})
		wantEq(t, "name", atStr(t, r, "data.name"), "Catalog Freight Co")
		g := b.run(t, "GetShippingCarrier", obj{"shippingCarrierId": carrier})
		wantEq(t, "the name read back", atStr(t, g, "data.name"), "Catalog Freight Co")
		wantEq(t, "the services stay", len(atList(t, g, "data.services")), 2)
	})

	b.step(t, "CreateShippingZone", func(t *testing.T) {
		need(t, home)
		r := b.run(t, "CreateShippingZone", obj{"body": obj{"name": "Catalog California",
			"countries": []any{obj{"code": home, "states": []any{obj{"code": "CA"}}}}}})
		zone = atStr(t, r, "data._id")
		g := b.run(t, "GetShippingZone", obj{"shippingZoneId": zone})
		wantEq(t, "the state read back", atStr(t, g, "data.countries.0.states.0.code"), "CA")
	})

	b.step(t, "CreateShippingRate", func(t *testing.T) {
		need(t, zone)
		r := b.run(t, "CreateShippingRate", obj{"shippingZoneId": zone, "body": obj{"name": "Catalog courier", "currency": currency,
			"amount": 4.5, "conditionType": "price", "minCondition": 0, "maxCondition": 0, "shippingCarrierId": ""}})
		rate = atStr(t, r, "data._id")
		wantEq(t, "shippingZoneId", atStr(t, r, "data.shippingZoneId"), zone)
		if got, want := quote(t, obj{"address": obj{"country": home, "state": "CA"}}), []string{"Catalog courier 4.50"}; !slices.Equal(got, want) {
			t.Errorf("rates in CA: %v, want %v", got, want)
		}
	})

	b.step(t, "UpdateShippingRate", func(t *testing.T) {
		need(t, zone, rate)
		r := b.run(t, "UpdateShippingRate", obj{"shippingZoneId": zone, "shippingRateId": rate, "body": obj{"amount": 3.25}})
		wantEq(t, "amount", atNum(t, r, "data.amount"), 3.25)
		g := b.run(t, "GetShippingRate", obj{"shippingZoneId": zone, "shippingRateId": rate})
		wantEq(t, "the amount read back", atNum(t, g, "data.amount"), 3.25)
		wantEq(t, "the name stays", atStr(t, g, "data.name"), "Catalog courier")
	})

	b.step(t, "UpdateShippingZone", func(t *testing.T) {
		need(t, zone)
		r := b.run(t, "UpdateShippingZone", obj{"shippingZoneId": zone, "body": obj{"name": "Catalog West"}})
		wantEq(t, "name", atStr(t, r, "data.name"), "Catalog West")
		g := b.run(t, "GetShippingZone", obj{"shippingZoneId": zone})
		wantEq(t, "the name read back", atStr(t, g, "data.name"), "Catalog West")
		wantEq(t, "the state stays", atStr(t, g, "data.countries.0.states.0.code"), "CA")
	})

	b.step(t, "SaveStoreSettings", func(t *testing.T) {
		if settings == nil {
			t.Skip("an earlier step it depends on failed")
		}
		origin := with(atObj(t, settings, "shippingOrigin"), "street2", "Dock 4")
		r := b.run(t, "SaveStoreSettings", obj{"body": obj{"shippingOrigin": origin}})
		wantEq(t, "_id (one record per location)", atStr(t, r, "data._id"), atStr(t, settings, "_id"))
		g := b.run(t, "GetStoreSettings", obj{})
		wantEq(t, "street2 read back", atStr(t, g, "data.shippingOrigin.street2"), "Dock 4")
	})

	b.step(t, "DeleteShippingRate", func(t *testing.T) {
		need(t, zone, rate)
		r := b.run(t, "DeleteShippingRate", obj{"shippingZoneId": zone, "shippingRateId": rate})
		wantEq(t, "status", at(t, r, "status"), any(true))
		b.notFound(t, "GetShippingRate", obj{"shippingZoneId": zone, "shippingRateId": rate})
	})

	b.step(t, "DeleteShippingCarrier", func(t *testing.T) {
		need(t, carrier)
		r := b.run(t, "DeleteShippingCarrier", obj{"shippingCarrierId": carrier})
		wantEq(t, "status", at(t, r, "status"), any(true))
		b.notFound(t, "GetShippingCarrier", obj{"shippingCarrierId": carrier})
	})

	b.step(t, "DeleteShippingZone", func(t *testing.T) {
		need(t, zone)
		r := b.run(t, "DeleteShippingZone", obj{"shippingZoneId": zone})
		wantEq(t, "status", at(t, r, "status"), any(true))
		b.notFound(t, "GetShippingZone", obj{"shippingZoneId": zone})
	})
}
