package sandbox_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// productsEnv is a sandbox with its client for the products API.
func productsEnv(t *testing.T) (*sandbox.Server, *ghl.Client, string) {
	t.Helper()
	sb := newSandbox(t, sandbox.Config{Seed: 11, Locations: 1, Orders: 120, Anchor: anchor, RateLimit: sandbox.RateLimit{Burst: 100000}})
	loc := sb.Locations()[0]
	c := ghl.NewClient(ghl.StaticToken(loc.Token), ghl.WithBaseURL(serve(t, sb)),
		ghl.WithLimits(ghl.Limits{Burst: 100000, Interval: time.Second, Daily: 1000000}))
	return sb, c, loc.ID
}

func catalogOf(t *testing.T, sb *sandbox.Server, locationID string) *sandbox.CatalogTruth {
	t.Helper()
	tr, err := sb.Truth(locationID)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Locations[0].Catalog
}

// The seeded catalog agrees with the orders already generated: every order
// line is a price of the catalog, and every review is by a customer who
// ordered the product.
func TestCatalogSeedMatchesOrders(t *testing.T) {
	t.Parallel()
	sb, _, loc := productsEnv(t)
	tr, err := sb.Truth(loc)
	if err != nil {
		t.Fatal(err)
	}
	lt := tr.Locations[0]
	cat := lt.Catalog
	if cat.StoreID == "" || cat.StoreID != sb.Locations()[0].StoreID {
		t.Errorf("storeId %q, the location info says %q", cat.StoreID, sb.Locations()[0].StoreID)
	}
	prices := map[string]string{} // price id -> product id
	for _, p := range cat.Products {
		for _, pr := range p.Prices {
			prices[pr.ID] = p.Product.ID
		}
	}
	buyers := map[string]map[string]bool{} // product id -> contact emails
	for _, o := range lt.Orders {
		for _, it := range o.Detail.Items {
			if prices[it.Price.ID] != it.Product.ID {
				t.Fatalf("order %s: item price %s is not a price of product %s in the catalog", o.Item.ID, it.Price.ID, it.Product.ID)
			}
			if buyers[it.Product.ID] == nil {
				buyers[it.Product.ID] = map[string]bool{}
			}
			buyers[it.Product.ID][o.Item.ContactEmail] = true
		}
	}
	if len(cat.Reviews) == 0 || len(cat.Collections) == 0 {
		t.Fatalf("%d reviews and %d collections seeded", len(cat.Reviews), len(cat.Collections))
	}
	for _, r := range cat.Reviews {
		if !buyers[r.ProductID][r.User.Email] {
			t.Errorf("review %s of %s is by %s, who never ordered it", r.ID, r.ProductID, r.User.Email)
		}
		if r.StoreID != cat.StoreID || !r.User.IsCustomer {
			t.Errorf("review %s: store %q, isCustomer %v", r.ID, r.StoreID, r.User.IsCustomer)
		}
	}
}

// Placing an order lowers the stock of its tracked prices by the quantity
// ordered; the inventory list shows it.
func TestInventoryFallsAsOrdersArePlaced(t *testing.T) {
	t.Parallel()
	sb, c, loc := productsEnv(t)
	ctx := t.Context()
	stock := func() map[string]int {
		out := map[string]int{}
		for it, err := range c.Inventory(ctx, ghl.ListInventoryParams{LocationID: loc, Limit: 50}) {
			if err != nil {
				t.Fatal(err)
			}
			n, _ := it.AvailableQuantity.Int()
			out[it.ID] = n
		}
		return out
	}
	for range 30 {
		before := stock()
		changes, err := sb.Step(1, loc, "order.created")
		if err != nil || len(changes) != 1 {
			t.Fatalf("Step: %v, %v", changes, err)
		}
		o, err := c.GetOrder(ctx, loc, changes[0].RecordID)
		if err != nil {
			t.Fatal(err)
		}
		after := stock()
		tracked := false
		for _, it := range o.Items {
			q, _ := it.Qty.Int()
			if was, ok := before[it.Price.ID]; ok && was >= q {
				tracked = true
				if after[it.Price.ID] != was-q {
					t.Errorf("order %s of %d × %s: stock %d -> %d, want %d", o.ID, q, it.Price.ID, was, after[it.Price.ID], was-q)
				}
			}
		}
		if tracked {
			return
		}
	}
	t.Fatal("30 orders never held a price that tracks inventory")
}

// Product and price writes send ProductCreate/Update/Delete and
// PriceCreate/Update/Delete webhooks, signed as every webhook is, each
// payload the record as the API answers it (a price's type as priceType).
func TestProductWebhooks(t *testing.T) {
	t.Parallel()
	sb, c, loc := productsEnv(t)
	ctx := t.Context()
	p, err := c.CreateProduct(ctx, ghl.ProductParams{LocationID: loc, Name: "Hook Tee", ProductType: ghl.ProductPhysical})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := c.CreatePrice(ctx, p.ID, ghl.PriceParams{LocationID: loc, Name: "One", Type: ghl.PriceOneTime,
		Currency: "USD", Amount: ghl.NumberFromScaled(1050, 2)})
	if err != nil {
		t.Fatal(err)
	}
	p2 := ghl.ProductParams{LocationID: loc, Name: "Hook Tee 2", ProductType: ghl.ProductPhysical}
	if _, err := c.UpdateProduct(ctx, p.ID, p2); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateInventory(ctx, loc, []ghl.InventoryUpdate{{PriceID: pr.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePrice(ctx, loc, p.ID, pr.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteProduct(ctx, loc, p.ID); err != nil {
		t.Fatal(err)
	}
	key, err := ghl.ParseWebhookKey(sb.WebhookPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, d := range sb.Deliveries() {
		if err := ghl.VerifyWebhook(d.Body, d.Signature, key); err != nil {
			t.Errorf("%s: %v", d.Type, err)
		}
		var body map[string]any
		if err := json.Unmarshal(d.Body, &body); err != nil {
			t.Fatal(err)
		}
		switch d.Type {
		case ghl.EventProductCreate, ghl.EventProductUpdate, ghl.EventProductDelete:
			if body["_id"] != p.ID || body["locationId"] != loc {
				t.Errorf("%s body: %s", d.Type, d.Body)
			}
		case ghl.EventPriceCreate, ghl.EventPriceUpdate, ghl.EventPriceDelete:
			if body["_id"] != pr.ID || body["priceType"] != "one_time" || body["type"] != d.Type || body["amount"] != 10.5 {
				t.Errorf("%s body: %s", d.Type, d.Body)
			}
		default:
			continue
		}
		seen[d.Type]++
	}
	for _, typ := range []string{ghl.EventProductCreate, ghl.EventProductUpdate, ghl.EventProductDelete,
		ghl.EventPriceCreate, ghl.EventPriceUpdate, ghl.EventPriceDelete} {
		if seen[typ] != 1 {
			t.Errorf("%d %s webhooks, want 1 (all: %v)", seen[typ], typ, seen)
		}
	}
	if cat := catalogOf(t, sb, loc); len(cat.Products) != 15 {
		t.Errorf("the truth has %d products after the delete, want the 15 seeded", len(cat.Products))
	}
}

// The activity generator changes the catalog too, and says so by webhook.
func TestActivityChangesTheCatalog(t *testing.T) {
	t.Parallel()
	sb, _, loc := productsEnv(t)
	before := catalogOf(t, sb, loc)
	for _, kind := range []string{"product.updated", "inventory.restocked"} {
		changes, err := sb.Step(1, loc, kind)
		if err != nil || len(changes) != 1 {
			t.Fatalf("Step(%s): %v, %v", kind, changes, err)
		}
	}
	after := catalogOf(t, sb, loc)
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	if string(a) == string(b) {
		t.Error("the catalog did not change")
	}
	var types []string
	for _, d := range sb.Deliveries() {
		types = append(types, d.Type)
	}
	if len(types) != 2 || types[0] != ghl.EventProductUpdate || types[1] != ghl.EventPriceUpdate {
		t.Errorf("webhooks %v, want ProductUpdate then PriceUpdate", types)
	}
}
