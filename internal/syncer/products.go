package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// The catalog (products and their prices) is optional: it names what
// orders and fulfillments sell, and the sync of orders does not depend on
// it. A token without the products scopes syncs everything else; the scope
// it lacks is logged once and said in the connection's last sync error
// until a pass finds it granted.

// catalogGap is what a location's token lacks for the catalog.
type catalogGap struct {
	products, prices bool
}

// noteCatalogGap records that GHL refused the catalog for lack of a scope
// (err is that refusal), logging it the first time.
func (s *Syncer) noteCatalogGap(loc string, prices bool, err error) {
	s.mu.Lock()
	g := s.catalog[loc]
	first := !g.products && !g.prices
	if prices {
		g.prices = true
	} else {
		g.products = true
	}
	s.catalog[loc] = g
	s.mu.Unlock()
	if first {
		s.log.Warn("catalog not synced: the token lacks a products scope; the rest of the sync goes on",
			"location", loc, "error", err)
	}
}

// clearCatalogGap records that GHL served the catalog (prices too when
// prices is set).
func (s *Syncer) clearCatalogGap(loc string, prices bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.catalog[loc]
	if !ok {
		return
	}
	g.products = false
	if prices {
		g.prices = false
	}
	if !g.products && !g.prices {
		delete(s.catalog, loc)
		return
	}
	s.catalog[loc] = g
}

func (s *Syncer) catalogGapOf(loc string) catalogGap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.catalog[loc]
}

// catalogNote is what the connection's last sync error says of the
// catalog ("" when it syncs).
func (s *Syncer) catalogNote(loc string) string {
	switch g := s.catalogGapOf(loc); {
	case g.products:
		return fmt.Sprintf("products not synced: the token lacks scope %s (and %s for prices); add them to the Private Integration in GHL to sync the catalog",
			ghl.ScopeProductsRead, ghl.ScopePricesRead)
	case g.prices:
		return fmt.Sprintf("prices not synced: the token lacks scope %s; add it to the Private Integration in GHL to sync the catalog's prices",
			ghl.ScopePricesRead)
	}
	return ""
}

// product converts a product, listed, fetched or from a webhook.
func product(loc string, p ghl.Product, drop []string) rankr.Product {
	return rankr.Product{ID: p.ID, LocationID: loc, Name: p.Name, Description: p.Description, ProductType: p.ProductType,
		AvailableInStore: p.AvailableInStore, Image: p.Image, CreatedAt: p.CreatedAt.Time,
		UpdatedAt: cmpTime(p.UpdatedAt.Time, p.CreatedAt.Time), Raw: dropKeys(p.Raw, drop...)}
}

// price converts a price of productID.
func price(loc, productID string, p ghl.Price, drop []string) (rankr.Price, *amounts) {
	a := newAmounts(rankr.RecordPrice, p.ID)
	x := rankr.Price{ID: p.ID, LocationID: loc, ProductID: cmpString(p.Product, productID), Name: p.Name, Type: string(p.Type),
		Amount: a.minor("amount", p.Amount, p.Currency), Currency: p.Currency, SKU: p.SKU, TrackInventory: p.TrackInventory,
		CreatedAt: p.CreatedAt.Time, UpdatedAt: cmpTime(p.UpdatedAt.Time, p.CreatedAt.Time), Raw: dropKeys(p.Raw, drop...)}
	if r := p.Recurring; r != nil {
		x.Interval, x.IntervalCount = r.Interval, r.IntervalCount
	}
	if p.AvailableQuantity != "" {
		q := a.count("availableQuantity", p.AvailableQuantity)
		x.AvailableQuantity = &q
	}
	return x, a
}

func cmpTime(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}

func cmpString(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

// productsPage walks one page of the catalog: the products and every price
// of each.
func (w *walker) productsPage(ctx context.Context) error {
	page, err := w.client.ListProducts(ctx, ghl.ListProductsParams{LocationID: w.loc, Limit: w.s.opts.PageSize, Offset: w.cur.Offset})
	if errors.Is(err, ghl.ErrMissingScope) {
		w.s.noteCatalogGap(w.loc, false, err)
		return w.next(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("listing products at offset %d: %w", w.cur.Offset, err)
	}
	w.s.clearCatalogGap(w.loc, false)
	if err := w.s.storeProducts(ctx, w.client, w.loc, page.Items, w.s.opts.Now()); err != nil {
		return err
	}
	return w.s.store.CursorPut(ctx, *w.moved(len(page.Items), page.TotalCount))
}

// storeProducts stores listed products (marked seen at seen, when set),
// then lists and stores each one's prices.
func (s *Syncer) storeProducts(ctx context.Context, client *ghl.Client, loc string, items []ghl.Product, seen time.Time) error {
	if len(items) == 0 {
		return nil
	}
	p := store.ProductUpsertParams{LocationID: loc, SeenAt: seen, Now: s.opts.Now()}
	for _, x := range items {
		p.Products = append(p.Products, product(loc, x, responseKeys))
	}
	if _, err := s.store.ProductUpsert(ctx, p); err != nil {
		return fmt.Errorf("storing products: %w", err)
	}
	s.Progress(loc).Products.Add(int64(len(p.Products)))
	var mu sync.Mutex
	missing := false
	err := parallel(ctx, s.opts.Workers, items, func(ctx context.Context, x ghl.Product) error {
		err := s.syncPrices(ctx, client, loc, x.ID, seen)
		if errors.Is(err, ghl.ErrMissingScope) {
			mu.Lock()
			defer mu.Unlock()
			if !missing {
				missing = true
				s.noteCatalogGap(loc, true, err)
			}
			return nil
		}
		return err
	})
	if err == nil && !missing {
		s.clearCatalogGap(loc, true)
	}
	return err
}

// syncPrices lists every price of a product and stores them.
func (s *Syncer) syncPrices(ctx context.Context, client *ghl.Client, loc, productID string, seen time.Time) error {
	p := store.PriceUpsertParams{LocationID: loc, SeenAt: seen, Now: s.opts.Now()}
	for x, err := range client.Prices(ctx, ghl.ListPricesParams{LocationID: loc, ProductID: productID, Limit: s.opts.PageSize}) {
		if errors.Is(err, ghl.ErrNotFound) {
			return nil // deleted since it was listed: the next full walk confirms it
		}
		if err != nil {
			return fmt.Errorf("listing the prices of product %s: %w", productID, err)
		}
		if v, a := price(loc, productID, x, responseKeys); s.admit(loc, a) {
			p.Prices = append(p.Prices, v)
		}
	}
	if len(p.Prices) == 0 {
		return nil
	}
	if _, err := s.store.PriceUpsert(ctx, p); err != nil {
		return fmt.Errorf("storing the prices of product %s: %w", productID, err)
	}
	s.Progress(loc).Prices.Add(int64(len(p.Prices)))
	return nil
}

// refetchProduct fetches a product and lists its prices again; GHL answers
// ghl.ErrNotFound when it no longer has the product.
func (s *Syncer) refetchProduct(ctx context.Context, client *ghl.Client, loc, id string, seen time.Time) error {
	d, err := client.GetProduct(ctx, loc, id)
	if err != nil {
		return err
	}
	if _, err := s.store.ProductUpsert(ctx, store.ProductUpsertParams{LocationID: loc, SeenAt: seen, Now: s.opts.Now(),
		Products: []rankr.Product{product(loc, *d, responseKeys)}}); err != nil {
		return err
	}
	err = s.syncPrices(ctx, client, loc, id, seen)
	if errors.Is(err, ghl.ErrMissingScope) {
		s.noteCatalogGap(loc, true, err)
		return nil
	}
	return err
}

// refetchPrice fetches one price, whose product the store knows.
func (s *Syncer) refetchPrice(ctx context.Context, client *ghl.Client, loc, id string, seen time.Time) error {
	have, err := s.store.PriceGet(ctx, loc, id)
	if err != nil {
		return err
	}
	d, err := client.GetPrice(ctx, loc, have.ProductID, id)
	if err != nil {
		return err
	}
	if x, a := price(loc, have.ProductID, *d, responseKeys); s.admit(loc, a) {
		_, err = s.store.PriceUpsert(ctx, store.PriceUpsertParams{LocationID: loc, SeenAt: seen, Now: s.opts.Now(), Prices: []rankr.Price{x}})
	}
	return err
}

// webhookPrice decodes a Price* webhook's price. The webhook names the
// price's type "priceType": its "type" is the event's.
func webhookPrice(env *ghl.WebhookEvent) (*ghl.Price, error) {
	var p ghl.Price
	if err := p.UnmarshalJSON(env.Raw); err != nil {
		return nil, fmt.Errorf("ghl: %s payload: %w", env.Type, err)
	}
	var typ struct {
		PriceType ghl.PriceType `json:"priceType"`
	}
	if err := json.Unmarshal(env.Raw, &typ); err != nil {
		return nil, fmt.Errorf("ghl: %s payload: %w", env.Type, err)
	}
	p.Type = typ.PriceType
	return &p, nil
}

// webhookProduct decodes a Product* webhook's product.
func webhookProduct(env *ghl.WebhookEvent) (*ghl.Product, error) {
	var p ghl.Product
	if err := p.UnmarshalJSON(env.Raw); err != nil {
		return nil, fmt.Errorf("ghl: %s payload: %w", env.Type, err)
	}
	return &p, nil
}
