package ghl_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// Every products operation is in Operations() once, with the scope its
// spec security block names.
func TestProductOperationsAreListed(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"list-invoices": ghl.ScopeProductsRead, "bulkEdit": "", "update-display-priority": "",
		"create-price-for-product": ghl.ScopePricesWrite, "get-list-inventory": ghl.ScopePricesRead,
		"get-product-collection": ghl.ScopeCollectionsRead, "bulk-update-product-review": ghl.ScopeProductsWrite,
	}
	n := 0
	for _, op := range ghl.Operations() {
		if len(op.Path) < 10 || op.Path[:10] != "/products/" {
			continue
		}
		n++
		if scope, ok := want[op.OperationID]; ok && op.Scope != scope {
			t.Errorf("%s: scope %q, want %q", op.Name, op.Scope, scope)
		}
	}
	if n != 27 {
		t.Errorf("%d products operations, want the spec's 27", n)
	}
}

// The iterators walk the whole catalog as the sandbox serves it, records
// keep their raw bytes, and money stays exact through a bulk change.
func TestProductsRoundTrip(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 5, Orders: 60, RateLimit: lifted})
	loc := sb.Locations()[0]
	c := newClient(url, loc.Token, ghl.WithPageSize(4))
	ctx := context.Background()
	cat := truthOf(t, sb, loc.ID).Catalog

	var got []string
	for p, err := range c.Products(ctx, ghl.ListProductsParams{LocationID: loc.ID}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Raw) == 0 {
			t.Fatalf("product %s kept no raw bytes", p.ID)
		}
		got = append(got, p.ID)
	}
	if len(got) != len(cat.Products) {
		t.Fatalf("Products yielded %d, the truth has %d", len(got), len(cat.Products))
	}
	var n int
	for _, err := range c.Collections(ctx, ghl.ListCollectionsParams{LocationID: loc.ID}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(cat.Collections) {
		t.Errorf("Collections yielded %d, want %d", n, len(cat.Collections))
	}
	n = 0
	for _, err := range c.Reviews(ctx, ghl.ListReviewsParams{ReviewFilter: ghl.ReviewFilter{LocationID: loc.ID}}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(cat.Reviews) {
		t.Errorf("Reviews yielded %d, want %d", n, len(cat.Reviews))
	}

	p, err := c.CreateProduct(ctx, ghl.ProductParams{LocationID: loc.ID, Name: "Exact", ProductType: ghl.ProductDigital})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := c.CreatePrice(ctx, p.ID, ghl.PriceParams{LocationID: loc.ID, Name: "One", Type: ghl.PriceOneTime,
		Currency: "USD", Amount: ghl.Number("0.10")})
	if err != nil {
		t.Fatal(err)
	}
	// 0.10 three times up by 0.20: floats would give 0.7000000000000001.
	for range 3 {
		if err := c.BulkUpdateProducts(ctx, ghl.BulkUpdateParams{LocationID: loc.ID, Type: ghl.BulkUpdatePrice,
			ProductIDs: []string{p.ID}, Price: &ghl.PriceChange{Type: ghl.IncreaseByAmount, Value: ghl.Number("0.2")}}); err != nil {
			t.Fatal(err)
		}
	}
	x, err := c.GetPrice(ctx, loc.ID, p.ID, pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cents, err := x.Amount.Scaled(2); err != nil || cents != 70 {
		t.Errorf("amount %s, want 0.7", x.Amount)
	}
	prices, err := c.ListPrices(ctx, ghl.ListPricesParams{LocationID: loc.ID, ProductID: p.ID, IDs: []string{pr.ID}})
	if err != nil || len(prices.Items) != 1 || prices.Items[0].ID != pr.ID {
		t.Errorf("ListPrices(ids): %+v, %v", prices, err)
	}
}

// A call without a location or an id fails before it spends any budget.
func TestProductCallsNeedTheirIDs(t *testing.T) {
	t.Parallel()
	c := newClient("http://127.0.0.1:1", "tok")
	ctx := context.Background()
	checks := []error{
		func() error { _, err := c.GetProduct(ctx, "", "p"); return err }(),
		func() error { _, err := c.GetProduct(ctx, "loc", ""); return err }(),
		func() error { _, err := c.GetPrice(ctx, "loc", "p", ""); return err }(),
		c.DeleteReview(ctx, "loc", "p", ""),
		func() error { _, err := c.GetStoreStats(ctx, ghl.StoreStatsParams{LocationID: "loc"}); return err }(),
	}
	for i, err := range checks {
		if !errors.Is(err, ghl.ErrInvalidRequest) {
			t.Errorf("check %d: %v, want ErrInvalidRequest", i, err)
		}
	}
}

// Creating a price has no natural key: a 5xx after GHL committed it is an
// unknown outcome, never a second price.
func TestCreatePriceIsNeverRetriedBlindly(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 6, Orders: 20, RateLimit: lifted})
	loc := sb.Locations()[0]
	product := truthOf(t, sb, loc.ID).Catalog.Products[0]
	if err := sb.SetFaults(sandbox.Faults{ErrorAfterRate: 1, Only: []string{"CreatePrice"}}); err != nil {
		t.Fatal(err)
	}
	c := newClient(url, loc.Token, fastRetries, ghl.WithAttemptTimeout(time.Second))
	_, err := c.CreatePrice(context.Background(), product.Product.ID, ghl.PriceParams{LocationID: loc.ID, Name: "Once",
		Type: ghl.PriceOneTime, Currency: "USD", Amount: ghl.NumberFromInt(3)})
	if !errors.Is(err, ghl.ErrOutcomeUnknown) {
		t.Fatalf("got %v, want ErrOutcomeUnknown", err)
	}
	after := truthOf(t, sb, loc.ID).Catalog.Products[0]
	if len(after.Prices) != len(product.Prices)+1 ||
		!slices.ContainsFunc(after.Prices, func(p ghl.Price) bool { return p.Name == "Once" }) {
		t.Errorf("%d prices, want %d with the new one", len(after.Prices), len(product.Prices)+1)
	}
}
