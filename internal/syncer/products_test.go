package syncer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/syncer/synctest"
)

// ghlClient is a client of the sandbox with a location's token, to change
// the catalog as someone in GHL would.
func (e *env) ghlClient(t *testing.T, token string) *ghl.Client {
	t.Helper()
	return ghl.NewClient(ghl.StaticToken(token), ghl.WithBaseURL(e.url),
		ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
}

func (e *env) fullWalk(t *testing.T, loc string) {
	t.Helper()
	for range 200 {
		done, err := e.s.FullWalk(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
	}
	t.Fatal("the full walk does not end")
}

func TestCatalogBackfillMatchesTruth(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 41, Locations: 2, Orders: 60}, syncer.Options{PageSize: 5})
		e.backfillAll(t)
		tr := e.truth(t)
		for _, lt := range tr.Locations {
			if lt.Catalog == nil || len(lt.Catalog.Products) < 2 {
				t.Fatalf("location %s has no catalog to sync", lt.ID)
			}
		}
		synctest.MatchesTruth(t, e.st, tr, synctest.Options{IgnoreDeleted: true, Catalog: true})
		if p := e.s.Progress(e.loc); p.Products.Load() == 0 || p.Prices.Load() == 0 {
			t.Fatalf("progress counted %d products, %d prices", p.Products.Load(), p.Prices.Load())
		}
		var created int
		for _, ev := range storetest.Events(t, e.st, e.loc) {
			if ev.Kind == rankr.ProductCreated {
				created++
			}
		}
		if want := len(tr.Locations[0].Catalog.Products); created != want {
			t.Fatalf("%d product.created events, want %d", created, want)
		}
		if conn, _ := e.st.ConnectionGet(context.Background(), e.loc); conn.LastError != "" {
			t.Fatalf("last sync error %q", conn.LastError)
		}
	})
}

// Changes made in GHL reach the store by their webhooks alone; a full walk
// finds what no webhook said (a deletion missed) and changes nothing else.
func TestCatalogWebhooksAndWalk(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 42, Orders: 30}, syncer.Options{})
		e.backfillAll(t)
		ctx := context.Background()
		c := e.ghlClient(t, e.locs[0].Token)
		before := len(e.sb.Deliveries())

		made, err := c.CreateProduct(ctx, ghl.ProductParams{LocationID: e.loc, Name: "Rankr mug", ProductType: ghl.ProductPhysical,
			Description: "A mug"})
		if err != nil {
			t.Fatal(err)
		}
		qty := 12
		one, err := c.CreatePrice(ctx, made.ID, ghl.PriceParams{LocationID: e.loc, Name: "Standard", Type: ghl.PriceOneTime,
			Currency: "USD", Amount: "12.34", TrackInventory: true, AvailableQuantity: &qty, SKU: "MUG-1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreatePrice(ctx, made.ID, ghl.PriceParams{LocationID: e.loc, Name: "Club", Type: ghl.PriceRecurring,
			Currency: "USD", Amount: "5", Recurring: &ghl.Recurring{Interval: "month", IntervalCount: 1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UpdatePrice(ctx, made.ID, one.ID, ghl.PriceParams{LocationID: e.loc, Name: "Standard", Type: ghl.PriceOneTime,
			Currency: "USD", Amount: "13.00", TrackInventory: true, AvailableQuantity: &qty, SKU: "MUG-1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UpdateProduct(ctx, made.ID, ghl.ProductParams{LocationID: e.loc, Name: "Rankr mug XL",
			ProductType: ghl.ProductPhysical, Description: "A bigger mug"}); err != nil {
			t.Fatal(err)
		}
		lt := e.truth(t).Locations[0]
		old := lt.Catalog.Products[0].Product.ID
		if err := c.DeleteProduct(ctx, e.loc, old); err != nil {
			t.Fatal(err)
		}

		var evs []rankr.InboxEvent
		for _, del := range e.sb.Deliveries()[before:] {
			evs = append(evs, rankr.InboxEvent{WebhookID: del.WebhookID, Type: del.Type, LocationID: del.LocationID, Body: del.Body})
		}
		applied, _, err := e.s.ApplyWebhooks(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		types := map[string]bool{}
		for i, a := range applied {
			types[evs[i].Type] = true
			if a.Err != nil || strings.HasPrefix(a.Outcome, "ignored") || strings.HasPrefix(a.Outcome, "not applied") {
				t.Fatalf("webhook %d (%s): %q, %v", i, evs[i].Type, a.Outcome, a.Err)
			}
		}
		for _, typ := range []string{ghl.EventProductCreate, ghl.EventProductUpdate, ghl.EventProductDelete, ghl.EventPriceCreate, ghl.EventPriceUpdate} {
			if !types[typ] {
				t.Fatalf("the sandbox sent no %s (sent %v)", typ, types)
			}
		}
		lt = e.truth(t).Locations[0]
		if d := synctest.CatalogDiff(t, e.st, lt); len(d) > 0 {
			t.Fatalf("after the webhooks:\n%s", strings.Join(d, "\n"))
		}
		got, err := e.st.ProductGet(ctx, e.loc, made.ID)
		if err != nil || got.Name != "Rankr mug XL" || len(got.Prices) != 2 {
			t.Fatalf("the new product %+v, %v", got, err)
		}
		for _, p := range got.Prices {
			if p.ID == one.ID && (p.Amount != 1300 || p.AvailableQuantity == nil || *p.AvailableQuantity != 12) {
				t.Fatalf("the updated price: %d, %v", p.Amount, p.AvailableQuantity)
			}
		}
		if gone, _ := e.st.ProductGet(ctx, e.loc, old); gone.DeletedAt.IsZero() || len(gone.Prices) != 0 {
			t.Fatalf("the deleted product %+v", gone)
		}

		// A deletion whose webhook is lost: the next full walk finds it.
		victim := lt.Catalog.Products[0].Product.ID
		if err := c.DeleteProduct(ctx, e.loc, victim); err != nil {
			t.Fatal(err)
		}
		e.fullWalk(t, e.loc)
		synctest.MatchesTruth(t, e.st, e.truth(t), synctest.Options{Catalog: true})
		if gone, _ := e.st.ProductGet(ctx, e.loc, victim); gone.DeletedAt.IsZero() {
			t.Fatal("the full walk did not mark the deleted product")
		}
	})
}

// A token without the products scopes syncs everything else, and says what
// it lacks; once the scopes are granted, the next walk syncs the catalog.
func TestCatalogWithoutScopes(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 43, Orders: 40}, syncer.Options{})
		ctx := context.Background()
		payments := []string{ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead, ghl.ScopeSubscriptionsRead, ghl.ScopeInvoicesRead}
		if err := e.sb.AddToken(e.loc, "pit-no-catalog", payments...); err != nil {
			t.Fatal(err)
		}
		e.connect(t, e.loc, "pit-no-catalog")
		e.backfillAll(t)
		synctest.MatchesTruth(t, e.st, e.truth(t), synctest.Options{IgnoreDeleted: true})
		conn, err := e.st.ConnectionGet(ctx, e.loc)
		if err != nil {
			t.Fatal(err)
		}
		if conn.State != rankr.StateActive || !strings.Contains(conn.LastError, ghl.ScopeProductsRead) {
			t.Fatalf("connection %s, last sync error %q", conn.State, conn.LastError)
		}
		if ps, _ := e.st.ProductList(ctx, store.ListParams{LocationID: e.loc}); len(ps) != 0 {
			t.Fatalf("%d products stored without the scope", len(ps))
		}
		// A full walk (with its deletion sweep) runs through as well.
		e.fullWalk(t, e.loc)

		// Products granted, prices not: products sync, prices wait.
		if err := e.sb.AddToken(e.loc, "pit-products", append(payments, ghl.ScopeProductsRead)...); err != nil {
			t.Fatal(err)
		}
		e.connect(t, e.loc, "pit-products")
		e.fullWalk(t, e.loc)
		conn, _ = e.st.ConnectionGet(ctx, e.loc)
		if !strings.Contains(conn.LastError, ghl.ScopePricesRead) || strings.Contains(conn.LastError, ghl.ScopeProductsRead+" ") {
			t.Fatalf("last sync error %q", conn.LastError)
		}
		if ps, _ := e.st.ProductList(ctx, store.ListParams{LocationID: e.loc}); len(ps) == 0 {
			t.Fatal("no products with the products scope")
		}

		// Every scope: the catalog syncs in full and the note goes.
		e.connect(t, e.loc, e.locs[0].Token)
		e.fullWalk(t, e.loc)
		synctest.MatchesTruth(t, e.st, e.truth(t), synctest.Options{Catalog: true})
		conn, _ = e.st.ConnectionGet(ctx, e.loc)
		if conn.LastError != "" {
			t.Fatalf("last sync error %q with every scope", conn.LastError)
		}
	})
}
