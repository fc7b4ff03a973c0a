package sandbox

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// --- Bulk product changes -----------------------------------------------------

var bulkTypes = []ghl.BulkUpdateType{ghl.BulkUpdatePrice, ghl.BulkUpdateAvailability, ghl.BulkUpdateCollection,
	ghl.BulkDeleteProducts, ghl.BulkUpdateCurrency}

var priceChanges = []string{ghl.IncreaseByAmount, ghl.ReduceByAmount, ghl.SetNewPrice, ghl.IncreaseByPercentage, ghl.ReduceByPercentage}

// changeAmount applies a bulk price change to an amount in minor units,
// exactly: percentages are taken in hundredths of a percent and rounded
// half up to the cent.
func changeAmount(minor int64, ch ghl.PriceChange) (int64, bool) {
	v, err := ch.Value.Scaled(2)
	if err != nil || v < 0 {
		return 0, false
	}
	var out int64
	switch ch.Type {
	case ghl.IncreaseByAmount:
		out = minor + v
	case ghl.ReduceByAmount:
		out = minor - v
	case ghl.SetNewPrice:
		out = v
	case ghl.IncreaseByPercentage:
		out = (minor*(10000+v) + 5000) / 10000
	case ghl.ReduceByPercentage:
		out = (minor*(10000-v) + 5000) / 10000
	default:
		return 0, false
	}
	if ch.RoundToWhole {
		out = (out + 50) / 100 * 100
	}
	return out, out >= 0
}

func (s *Server) bulkUpdateProducts(req *apiRequest) (any, *apiError) {
	var b struct {
		Type           ghl.BulkUpdateType     `json:"type"`
		ProductIDs     []string               `json:"productIds"`
		Filters        *ghl.BulkUpdateFilters `json:"filters"`
		Price          *ghl.PriceChange       `json:"price"`
		CompareAtPrice *ghl.PriceChange       `json:"compareAtPrice"`
		Availability   *bool                  `json:"availability"`
		CollectionIDs  []string               `json:"collectionIds"`
		Currency       string                 `json:"currency"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if !slices.Contains(bulkTypes, b.Type) {
		return nil, unprocessable("type must be one of the following values: bulk-update-price, bulk-update-availability, bulk-update-product-collection, bulk-delete-products, bulk-update-currency")
	}
	if b.ProductIDs == nil {
		return nil, unprocessable("productIds must be an array")
	}
	if len(b.ProductIDs) == 0 && b.Filters == nil {
		return nil, unprocessable("productIds should not be empty unless filters are given")
	}
	for _, ch := range []*ghl.PriceChange{b.Price, b.CompareAtPrice} {
		if ch != nil && !slices.Contains(priceChanges, ch.Type) {
			return nil, unprocessable("price.type must be one of the following values: " + strings.Join(priceChanges, ", "))
		}
	}
	switch {
	case b.Type == ghl.BulkUpdatePrice && b.Price == nil && b.CompareAtPrice == nil:
		return nil, unprocessable("price or compareAtPrice is required for bulk-update-price")
	case b.Type == ghl.BulkUpdateAvailability && b.Availability == nil:
		return nil, unprocessable("availability must be a boolean value")
	case b.Type == ghl.BulkUpdateCollection && len(b.CollectionIDs) == 0:
		return nil, unprocessable("collectionIds should not be empty")
	case b.Type == ghl.BulkUpdateCurrency && len(b.Currency) != 3:
		return nil, unprocessable("currency must be a 3-letter ISO 4217 code")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sh := l.shop
	var targets []*productRec
	for _, id := range b.ProductIDs {
		pr := sh.product(id)
		if pr == nil {
			return nil, notFound("Product not found: " + id)
		}
		targets = append(targets, pr)
	}
	if len(b.ProductIDs) == 0 {
		f := b.Filters
		for _, pr := range sh.products {
			if (len(f.CollectionIDs) == 0 || slices.ContainsFunc(pr.p.CollectionIDs, func(id string) bool { return slices.Contains(f.CollectionIDs, id) })) &&
				(f.ProductType == "" || strings.EqualFold(f.ProductType, pr.p.ProductType)) &&
				(f.AvailableInStore == nil || *f.AvailableInStore == pr.p.AvailableInStore) &&
				(f.Search == "" || containsFold(f.Search, pr.p.Name)) {
				targets = append(targets, pr)
			}
		}
	}
	for _, id := range b.CollectionIDs {
		if sh.collection(id) == nil {
			return nil, notFound("Collection not found: " + id)
		}
	}
	if b.Type == ghl.BulkUpdatePrice {
		// Refuse the whole change if any price would go below zero.
		for _, pr := range targets {
			for _, p := range pr.prices {
				if _, ok := changeAmount(p.minor, orZero(b.Price)); b.Price != nil && !ok {
					return nil, unprocessable("price change would make the price of " + p.p.ID + " negative")
				}
			}
		}
	}
	for _, pr := range targets {
		if b.Type == ghl.BulkDeleteProducts {
			l.removeProduct(pr, req.now)
			continue
		}
		np := l.replaceProduct(pr, func(n *productRec) {
			switch b.Type {
			case ghl.BulkUpdateAvailability:
				n.p.AvailableInStore = *b.Availability
			case ghl.BulkUpdateCollection:
				n.p.CollectionIDs = slices.Clone(b.CollectionIDs)
			}
			for _, p := range n.prices {
				switch b.Type {
				case ghl.BulkUpdatePrice:
					if b.Price != nil {
						p.minor, _ = changeAmount(p.minor, *b.Price)
						p.p.Amount = money(p.minor)
					}
					if b.CompareAtPrice != nil {
						base, _ := p.p.CompareAtPrice.Scaled(2)
						if v, ok := changeAmount(base, *b.CompareAtPrice); ok {
							p.p.CompareAtPrice = money(v)
						}
					}
				case ghl.BulkUpdateCurrency:
					p.p.Currency = strings.ToUpper(b.Currency)
				}
				touch(&p.p.UpdatedAt.Time, req.now)
			}
			touch(&n.p.UpdatedAt.Time, req.now)
		})
		l.emitProduct(ghl.EventProductUpdate, np.p)
		if b.Type == ghl.BulkUpdatePrice || b.Type == ghl.BulkUpdateCurrency {
			for _, p := range np.prices {
				l.emitPrice(ghl.EventPriceUpdate, p.p)
			}
		}
	}
	return done(fmt.Sprintf("%d products updated successfully", len(targets))), nil
}

func orZero(ch *ghl.PriceChange) ghl.PriceChange {
	if ch == nil {
		return ghl.PriceChange{}
	}
	return *ch
}

// maxBulkEdit is GHL's limit on one bulk edit.
const maxBulkEdit = 30

func (s *Server) bulkEditProducts(req *apiRequest) (any, *apiError) {
	var b struct {
		Products []ghl.BulkEditProduct `json:"products"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if len(b.Products) == 0 {
		return nil, unprocessable("products should not be empty")
	}
	if len(b.Products) > maxBulkEdit {
		return nil, unprocessable(fmt.Sprintf("products must contain no more than %d elements", maxBulkEdit))
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sh := l.shop
	recs := make([]*productRec, len(b.Products))
	for i, ed := range b.Products {
		if recs[i] = sh.product(ed.ID); recs[i] == nil {
			return nil, notFound("Product not found: " + ed.ID)
		}
		for _, pe := range ed.Prices {
			if !slices.ContainsFunc(recs[i].prices, func(p *priceRec) bool { return p.p.ID == pe.ID }) {
				return nil, notFound("Price not found: " + pe.ID)
			}
			if pe.Amount != "" {
				if v, err := pe.Amount.Scaled(2); err != nil || v < 0 {
					return nil, unprocessable("prices.amount must be a positive number with at most 2 decimal places")
				}
			}
		}
		for _, id := range ed.CollectionIDs {
			if sh.collection(id) == nil {
				return nil, notFound("Collection not found: " + id)
			}
		}
	}
	for i, ed := range b.Products {
		np := l.replaceProduct(recs[i], func(n *productRec) {
			if ed.Name != "" {
				n.p.Name = ed.Name
			}
			if ed.Description != "" {
				n.p.Description = ed.Description
			}
			if ed.Image != "" {
				n.p.Image = ed.Image
			}
			if ed.AvailableInStore != nil {
				n.p.AvailableInStore = *ed.AvailableInStore
			}
			if ed.CollectionIDs != nil {
				n.p.CollectionIDs = slices.Clone(ed.CollectionIDs)
			}
			if ed.IsTaxesEnabled != nil {
				n.p.IsTaxesEnabled = *ed.IsTaxesEnabled
			}
			if ed.SEO != nil {
				n.p.SEO = ed.SEO
			}
			if ed.Slug != "" {
				n.p.Slug = ed.Slug
			}
			touch(&n.p.UpdatedAt.Time, req.now)
			for _, pe := range ed.Prices {
				for _, p := range n.prices {
					if p.p.ID == pe.ID {
						editPrice(p, pe, req.now)
					}
				}
			}
		})
		l.emitProduct(ghl.EventProductUpdate, np.p)
		for _, pe := range ed.Prices {
			for _, p := range np.prices {
				if p.p.ID == pe.ID {
					l.emitPrice(ghl.EventPriceUpdate, p.p)
				}
			}
		}
	}
	return map[string]any{"message": "Products updated successfully", "status": true, "updatedCount": len(recs)}, nil
}

func editPrice(p *priceRec, pe ghl.BulkEditPrice, now time.Time) {
	if pe.Name != "" {
		p.p.Name = pe.Name
	}
	if pe.Amount != "" {
		p.minor, _ = pe.Amount.Scaled(2)
		p.p.Amount = money(p.minor)
	}
	if pe.Currency != "" {
		p.p.Currency = strings.ToUpper(pe.Currency)
	}
	if pe.CompareAtPrice != "" {
		p.p.CompareAtPrice = pe.CompareAtPrice
	}
	if pe.TrackInventory != nil {
		p.p.TrackInventory = *pe.TrackInventory
	}
	if pe.AvailableQuantity != nil {
		p.p.AvailableQuantity = ghl.NumberFromInt(int64(*pe.AvailableQuantity))
	}
	if pe.AllowOutOfStockPurchases != nil {
		p.p.AllowOutOfStockPurchases = *pe.AllowOutOfStockPurchases
	}
	if pe.SKU != "" {
		p.p.SKU = pe.SKU
	}
	if pe.Recurring != nil && p.recurring() {
		p.p.Recurring = pe.Recurring
	}
	touch(&p.p.UpdatedAt.Time, now)
}

// --- The store's product settings ---------------------------------------------

// store checks the path's store id against the location's one store.
func (req *apiRequest) store() *apiError {
	if req.r.PathValue("storeId") != req.loc.shop.storeID {
		return notFound("Store not found")
	}
	return nil
}

func (s *Server) storeStats(req *apiRequest) (any, *apiError) {
	search, collections := req.query.Get("search"), req.listParam("collectionIds")
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	if e := req.store(); e != nil {
		return nil, e
	}
	var st ghl.StoreStats
	for _, pr := range l.shop.products {
		if (search == "" || containsFold(search, pr.p.Name)) &&
			(len(collections) == 0 || slices.ContainsFunc(pr.p.CollectionIDs, func(id string) bool { return slices.Contains(collections, id) })) {
			st.TotalProducts++
			if l.shop.inStore[pr.p.ID] {
				st.IncludedInStore++
			}
		}
	}
	st.ExcludedFromStore = st.TotalProducts - st.IncludedInStore
	return st, nil
}

func (s *Server) updateStoreStatus(req *apiRequest) (any, *apiError) {
	var b struct {
		Action     ghl.StoreAction `json:"action"`
		ProductIDs []string        `json:"productIds"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.Action != ghl.StoreInclude && b.Action != ghl.StoreExclude {
		return nil, unprocessable("action must be one of the following values: include, exclude")
	}
	if len(b.ProductIDs) == 0 {
		return nil, unprocessable("productIds should not be empty")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := req.store(); e != nil {
		return nil, e
	}
	sh := l.shop
	for _, id := range b.ProductIDs {
		if sh.product(id) == nil {
			return nil, notFound("Product not found: " + id)
		}
	}
	for _, id := range b.ProductIDs {
		if b.Action == ghl.StoreInclude {
			sh.inStore[id] = true
		} else {
			delete(sh.inStore, id)
		}
	}
	return done(fmt.Sprintf("%d products %sd", len(b.ProductIDs), b.Action)), nil
}

func (s *Server) updateDisplayPriority(req *apiRequest) (any, *apiError) {
	var b struct {
		Products []struct {
			ID       string      `json:"_id"`
			Priority *ghl.Number `json:"priority"`
		} `json:"products"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.Products == nil {
		return nil, badRequest("products must be an array")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := req.store(); e != nil {
		return nil, e
	}
	sh := l.shop
	prio := make([]int, len(b.Products))
	for i, p := range b.Products {
		if sh.product(p.ID) == nil {
			return nil, notFound("Product not found: " + p.ID)
		}
		if p.Priority == nil {
			return nil, badRequest(fmt.Sprintf("products.%d.priority must be a number", i))
		}
		n, ok := p.Priority.Int()
		if !ok || n < 0 {
			return nil, badRequest(fmt.Sprintf("products.%d.priority must be a whole number, not negative", i))
		}
		prio[i] = n
	}
	for i, p := range b.Products {
		if prio[i] == 0 {
			delete(sh.priority, p.ID)
		} else {
			sh.priority[p.ID] = prio[i]
		}
	}
	return done("Display priorities updated successfully"), nil
}

// --- Live activity ------------------------------------------------------------

// productChange makes one live catalog change: a product's label toggled,
// or a price restocked. Call with the lock held.
func (l *location) productChange(d dice, kind string, now time.Time) (string, bool) {
	sh := l.shop
	if sh == nil || len(sh.products) == 0 {
		return "", false
	}
	switch kind {
	case "product.updated":
		pr := pick(d, sh.products)
		np := l.replaceProduct(pr, func(n *productRec) {
			if n.p.Label == nil {
				n.p.IsLabelEnabled, n.p.Label = true, &ghl.ProductLabel{Title: pick(d, []string{"Featured", "New", "Sale"})}
			} else {
				n.p.IsLabelEnabled, n.p.Label = false, nil
			}
			touch(&n.p.UpdatedAt.Time, now)
		})
		l.emitProduct(ghl.EventProductUpdate, np.p)
		return np.p.ID, true
	case "inventory.restocked":
		var low *priceRec
		var lowQty int64
		for _, pr := range sh.products {
			for _, p := range pr.prices {
				if !p.p.TrackInventory {
					continue
				}
				if q, _ := p.p.AvailableQuantity.Scaled(0); low == nil || q < lowQty {
					low, lowQty = p, q
				}
			}
		}
		if low == nil {
			return "", false
		}
		np := l.setStock(low, lowQty+int64(d.between(20, 100)), now)
		l.emitPrice(ghl.EventPriceUpdate, np.p)
		return np.p.ID, true
	}
	return "", false
}
