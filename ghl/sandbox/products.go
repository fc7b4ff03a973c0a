package sandbox

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// productRoutes serve the products API: products, prices, inventory,
// collections, reviews and the store's product settings.
func (s *Server) productRoutes() []route {
	q, b := "query", "body"
	return []route{
		{ghl.OpBulkUpdateProducts, b, "altId", true, 201, s.bulkUpdateProducts},
		{ghl.OpBulkEditProducts, b, "altId", true, 201, s.bulkEditProducts},
		{ghl.OpCreatePrice, b, "locationId", false, 201, s.createPrice},
		{ghl.OpListPrices, q, "locationId", false, 200, s.listPrices},
		{ghl.OpListInventory, q, "altId", true, 200, s.listInventory},
		{ghl.OpUpdateInventory, b, "altId", true, 201, s.updateInventory},
		{ghl.OpGetPrice, q, "locationId", false, 200, s.getPrice},
		{ghl.OpUpdatePrice, b, "locationId", false, 200, s.updatePrice},
		{ghl.OpDeletePrice, q, "locationId", false, 200, s.deletePrice},
		{ghl.OpGetStoreStats, q, "altId", true, 200, s.storeStats},
		{ghl.OpUpdateStoreStatus, b, "altId", true, 201, s.updateStoreStatus},
		{ghl.OpUpdateDisplayPriority, b, "altId", true, 200, s.updateDisplayPriority},
		{ghl.OpListCollections, q, "altId", true, 200, s.listCollections},
		{ghl.OpCreateCollection, b, "altId", true, 201, s.createCollection},
		{ghl.OpGetCollection, q, "altId", false, 200, s.getCollection},
		{ghl.OpUpdateCollection, b, "altId", true, 200, s.updateCollection},
		{ghl.OpDeleteCollection, q, "altId", true, 200, s.deleteCollection},
		{ghl.OpListReviews, q, "altId", true, 200, s.listReviews},
		{ghl.OpCountReviews, q, "altId", true, 200, s.countReviews},
		{ghl.OpUpdateReview, b, "altId", true, 200, s.updateReview},
		{ghl.OpDeleteReview, q, "altId", true, 200, s.deleteReview},
		{ghl.OpBulkUpdateReviews, b, "altId", true, 201, s.bulkUpdateReviews},
		{ghl.OpGetProduct, q, "locationId", false, 200, s.getProduct},
		{ghl.OpDeleteProduct, q, "locationId", false, 200, s.deleteProduct},
		{ghl.OpUpdateProduct, b, "locationId", false, 200, s.updateProduct},
		{ghl.OpCreateProduct, b, "locationId", false, 201, s.createProduct},
		{ghl.OpListProducts, q, "locationId", false, 200, s.listProducts},
	}
}

// statusBody is the {status, message} answer of the products API's writes.
type statusBody struct {
	Status  bool   `json:"status"`
	Message string `json:"message,omitempty"`
}

func done(msg string) statusBody { return statusBody{Status: true, Message: msg} }

var objectIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)

// listParam reads a list query parameter however a client sends it:
// repeated (k=a&k=b), with brackets (k[]=a), or comma-separated.
func (req *apiRequest) listParam(key string) []string {
	var out []string
	for _, v := range append(slices.Clone(req.query[key]), req.query[key+"[]"]...) {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// boolParam reads an optional boolean query parameter.
func (req *apiRequest) boolParam(key string) (*bool, *apiError) {
	v := req.query.Get(key)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, unprocessable(key + " must be a boolean value")
	}
	return &b, nil
}

// page returns recs[offset:offset+limit].
func pageOf[T any](recs []T, limit, offset int) []T {
	if offset >= len(recs) {
		return []T{}
	}
	return recs[offset:min(len(recs), offset+limit)]
}

// --- Products ---------------------------------------------------------------

var productTypes = []string{ghl.ProductDigital, ghl.ProductPhysical, ghl.ProductService, ghl.ProductPhysicalDigital}

type productBody struct {
	Name                   string               `json:"name"`
	ProductType            string               `json:"productType"`
	Description            *string              `json:"description"`
	Image                  *string              `json:"image"`
	StatementDescriptor    *string              `json:"statementDescriptor"`
	AvailableInStore       *bool                `json:"availableInStore"`
	Medias                 []ghl.ProductMedia   `json:"medias"`
	Variants               []ghl.ProductVariant `json:"variants"`
	CollectionIDs          []string             `json:"collectionIds"`
	IsTaxesEnabled         bool                 `json:"isTaxesEnabled"`
	Taxes                  []string             `json:"taxes"`
	AutomaticTaxCategoryID string               `json:"automaticTaxCategoryId"`
	IsLabelEnabled         bool                 `json:"isLabelEnabled"`
	Label                  *ghl.ProductLabel    `json:"label"`
	Slug                   string               `json:"slug"`
	SEO                    *ghl.SEO             `json:"seo"`
	TaxInclusive           bool                 `json:"taxInclusive"`
}

// applyTo validates the body as GHL's validators do and applies it to p.
func (b productBody) applyTo(sh *shop, p *ghl.Product) *apiError {
	var msgs []string
	if strings.TrimSpace(b.Name) == "" {
		msgs = append(msgs, "name should not be empty")
	}
	if !slices.Contains(productTypes, b.ProductType) {
		msgs = append(msgs, "productType must be one of the following values: "+strings.Join(productTypes, ", "))
	}
	for i, v := range b.Variants {
		if v.ID == "" || v.Name == "" || len(v.Options) == 0 {
			msgs = append(msgs, fmt.Sprintf("variants.%d must have an id, a name and options", i))
		}
	}
	for i, m := range b.Medias {
		if m.ID == "" || m.URL == "" || (m.Type != "image" && m.Type != "video") {
			msgs = append(msgs, fmt.Sprintf("medias.%d must have an id, a url and a type of image or video", i))
		}
	}
	if b.Label != nil && b.Label.Title == "" {
		msgs = append(msgs, "label.title should not be empty")
	}
	if len(msgs) > 0 {
		return unprocessable(msgs...)
	}
	for _, id := range b.CollectionIDs {
		if sh.collection(id) == nil {
			return notFound("Collection not found: " + id)
		}
	}
	p.Name, p.ProductType = b.Name, b.ProductType
	if b.Description != nil {
		p.Description = *b.Description
	}
	if b.Image != nil {
		p.Image = *b.Image
	}
	if b.StatementDescriptor != nil {
		p.StatementDescriptor = *b.StatementDescriptor
	}
	if b.AvailableInStore != nil {
		p.AvailableInStore = *b.AvailableInStore
	}
	p.Medias, p.Variants, p.CollectionIDs = b.Medias, b.Variants, b.CollectionIDs
	p.IsTaxesEnabled, p.AutomaticTaxCategoryID = b.IsTaxesEnabled, b.AutomaticTaxCategoryID
	p.Taxes = nil
	if len(b.Taxes) > 0 {
		p.Taxes = rawJSON(b.Taxes)
	}
	p.IsLabelEnabled, p.Label, p.SEO, p.TaxInclusive = b.IsLabelEnabled, b.Label, b.SEO, b.TaxInclusive
	p.Slug = b.Slug
	if p.Slug == "" {
		p.Slug = slugOf(b.Name)
	}
	return nil
}

func (s *Server) listProducts(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(0, false)
	if e != nil {
		return nil, e
	}
	included, e := req.boolParam("includedInStore")
	if e != nil {
		return nil, e
	}
	available, e := req.boolParam("availableInStore")
	if e != nil {
		return nil, e
	}
	sortOrder := req.query.Get("sortOrder")
	if sortOrder != "" && sortOrder != "asc" && sortOrder != "desc" {
		return nil, unprocessable("sortOrder must be one of the following values: asc, desc")
	}
	search, slug, storeID := req.query.Get("search"), req.query.Get("collectionSlug"), req.query.Get("storeId")
	collections, ids := req.listParam("collectionIds"), req.listParam("productIds")
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	sh := l.shop
	if storeID != "" && storeID != sh.storeID {
		return nil, notFound("Store not found")
	}
	if slug != "" {
		var c *collectionRec
		for _, x := range sh.collections {
			if x.c.Slug == slug {
				c = x
			}
		}
		if c == nil {
			return map[string]any{"products": []ghl.Product{}, "total": []map[string]int{{"total": 0}}}, nil
		}
		collections = append(collections, c.c.ID)
	}
	var match []*productRec
	for _, pr := range sh.products {
		if (search == "" || containsFold(search, pr.p.Name)) &&
			(len(collections) == 0 || slices.ContainsFunc(pr.p.CollectionIDs, func(id string) bool { return slices.Contains(collections, id) })) &&
			(len(ids) == 0 || slices.Contains(ids, pr.p.ID)) &&
			(included == nil || sh.inStore[pr.p.ID] == *included) &&
			(available == nil || pr.p.AvailableInStore == *available) {
			match = append(match, pr)
		}
	}
	// Newest first unless asked otherwise; a store's listing goes by its
	// display priority first.
	slices.SortStableFunc(match, func(a, b *productRec) int { return a.p.CreatedAt.Compare(b.p.CreatedAt.Time) })
	if sortOrder != "asc" {
		slices.Reverse(match)
	}
	if storeID != "" {
		slices.SortStableFunc(match, func(a, b *productRec) int {
			pa, pb := sh.priority[a.p.ID], sh.priority[b.p.ID]
			switch {
			case pa == pb:
				return 0
			case pa == 0:
				return 1
			case pb == 0:
				return -1
			}
			return pa - pb
		})
	}
	out := []ghl.Product{}
	for _, pr := range pageOf(match, limit, offset) {
		out = append(out, pr.p)
	}
	return map[string]any{"products": out, "total": []map[string]int{{"total": len(match)}}}, nil
}

func (req *apiRequest) productOf(id string) (*productRec, *apiError) {
	return found(req.loc.shop.product(id), "Product not found")
}

func (s *Server) getProduct(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	pr, e := req.productOf(req.r.PathValue("productId"))
	if e != nil {
		return nil, e
	}
	return pr.p, nil
}

func (s *Server) createProduct(req *apiRequest) (any, *apiError) {
	var b productBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sh := l.shop
	now := req.now.UTC().Truncate(time.Millisecond)
	pr := &productRec{p: ghl.Product{LocationID: l.id, AvailableInStore: true, UserID: sh.userID}}
	if e := b.applyTo(sh, &pr.p); e != nil {
		return nil, e
	}
	pr.p.ID = dice{l.rng}.objectID(now)
	pr.p.CreatedAt, pr.p.UpdatedAt = ghl.NewTime(now), ghl.NewTime(now)
	sh.products = append(sh.products, pr)
	if pr.p.AvailableInStore {
		sh.inStore[pr.p.ID] = true
	}
	l.emitProduct(ghl.EventProductCreate, pr.p)
	return pr.p, nil
}

func (s *Server) updateProduct(req *apiRequest) (any, *apiError) {
	var b productBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	pr, e := req.productOf(req.r.PathValue("productId"))
	if e != nil {
		return nil, e
	}
	next := pr.p
	if e := b.applyTo(l.shop, &next); e != nil {
		return nil, e
	}
	touch(&next.UpdatedAt.Time, req.now)
	np := l.replaceProduct(pr, func(n *productRec) { n.p = next })
	l.emitProduct(ghl.EventProductUpdate, np.p)
	return np.p, nil
}

func (s *Server) deleteProduct(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	pr, e := req.productOf(req.r.PathValue("productId"))
	if e != nil {
		return nil, e
	}
	l.removeProduct(pr, req.now)
	return statusBody{Status: true}, nil
}

// --- Prices -----------------------------------------------------------------

type priceBody struct {
	Name                     string                `json:"name"`
	Type                     ghl.PriceType         `json:"type"`
	Currency                 string                `json:"currency"`
	Amount                   *ghl.Number           `json:"amount"`
	Recurring                *ghl.Recurring        `json:"recurring"`
	Description              string                `json:"description"`
	MembershipOffers         []ghl.MembershipOffer `json:"membershipOffers"`
	TrialPeriod              ghl.Number            `json:"trialPeriod"`
	TotalCycles              ghl.Number            `json:"totalCycles"`
	SetupFee                 ghl.Number            `json:"setupFee"`
	VariantOptionIDs         []string              `json:"variantOptionIds"`
	CompareAtPrice           ghl.Number            `json:"compareAtPrice"`
	UserID                   string                `json:"userId"`
	TrackInventory           bool                  `json:"trackInventory"`
	AvailableQuantity        *ghl.Number           `json:"availableQuantity"`
	AllowOutOfStockPurchases bool                  `json:"allowOutOfStockPurchases"`
	SKU                      string                `json:"sku"`
}

var intervals = []string{"day", "month", "week", "year"}

// applyTo validates a create or update body and applies it to p.
func (b priceBody) applyTo(pr *productRec, p *priceRec) *apiError {
	var msgs []string
	if strings.TrimSpace(b.Name) == "" {
		msgs = append(msgs, "name should not be empty")
	}
	if b.Type != ghl.PriceOneTime && b.Type != ghl.PriceRecurring {
		msgs = append(msgs, "type must be one of the following values: one_time, recurring")
	}
	if len(b.Currency) != 3 {
		msgs = append(msgs, "currency must be a 3-letter ISO 4217 code")
	}
	var minor int64
	if b.Amount == nil {
		msgs = append(msgs, "amount must be a number conforming to the specified constraints")
	} else if v, err := b.Amount.Scaled(2); err != nil || v < 0 {
		msgs = append(msgs, "amount must be a positive number with at most 2 decimal places")
	} else {
		minor = v
	}
	if b.Type == ghl.PriceRecurring {
		if b.Recurring == nil || !slices.Contains(intervals, b.Recurring.Interval) || b.Recurring.IntervalCount < 1 {
			msgs = append(msgs, "recurring.interval must be one of the following values: day, month, week, year; recurring.intervalCount must be at least 1")
		}
	}
	if b.CompareAtPrice != "" {
		if v, err := b.CompareAtPrice.Scaled(2); err != nil || v < 0 {
			msgs = append(msgs, "compareAtPrice must be a positive number with at most 2 decimal places")
		}
	}
	qty := int64(0)
	if b.AvailableQuantity != nil {
		v, err := b.AvailableQuantity.Scaled(0)
		if err != nil {
			msgs = append(msgs, "availableQuantity must be an integer")
		}
		qty = v
	}
	if len(msgs) > 0 {
		return unprocessable(msgs...)
	}
	for _, id := range b.VariantOptionIDs {
		known := false
		for _, v := range pr.p.Variants {
			known = known || slices.ContainsFunc(v.Options, func(o ghl.ProductVariantOption) bool { return o.ID == id })
		}
		if !known {
			return unprocessable("variantOptionIds: " + id + " is not an option of the product's variants")
		}
	}
	cur := strings.ToUpper(b.Currency)
	p.minor = minor
	p.p.Name, p.p.Type, p.p.Currency, p.p.Amount = b.Name, b.Type, cur, ghl.NumberFromScaled(minor, 2)
	p.p.Recurring = nil
	if b.Type == ghl.PriceRecurring {
		p.p.Recurring = b.Recurring
	}
	p.p.MembershipOffers, p.p.VariantOptionIDs, p.p.CompareAtPrice = b.MembershipOffers, b.VariantOptionIDs, b.CompareAtPrice
	p.p.TrackInventory, p.p.AllowOutOfStockPurchases, p.p.SKU = b.TrackInventory, b.AllowOutOfStockPurchases, b.SKU
	p.p.AvailableQuantity = ""
	if b.TrackInventory || b.AvailableQuantity != nil {
		p.p.AvailableQuantity = ghl.NumberFromInt(qty)
	}
	if b.UserID != "" {
		p.p.UserID = b.UserID
	}
	return nil
}

func (s *Server) listPrices(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(0, false)
	if e != nil {
		return nil, e
	}
	ids := req.listParam("ids")
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	pr, e := req.productOf(req.r.PathValue("productId"))
	if e != nil {
		return nil, e
	}
	var match []ghl.Price
	for _, p := range pr.prices {
		if len(ids) == 0 || slices.Contains(ids, p.p.ID) {
			match = append(match, p.p)
		}
	}
	return map[string]any{"prices": append([]ghl.Price{}, pageOf(match, limit, offset)...), "total": len(match)}, nil
}

// priceOf finds the path's price of the path's product.
func (req *apiRequest) priceOf() (*priceRec, *apiError) {
	pr, e := req.productOf(req.r.PathValue("productId"))
	if e != nil {
		return nil, e
	}
	id := req.r.PathValue("priceId")
	return found(find(pr.prices, func(p *priceRec) bool { return p.p.ID == id }), "Price not found")
}

func (s *Server) getPrice(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, e := req.priceOf()
	if e != nil {
		return nil, e
	}
	return p.p, nil
}

func (s *Server) createPrice(req *apiRequest) (any, *apiError) {
	var b priceBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	pr, e := req.productOf(req.r.PathValue("productId"))
	if e != nil {
		return nil, e
	}
	now := req.now.UTC().Truncate(time.Millisecond)
	p := &priceRec{product: pr, p: ghl.Price{LocationID: l.id, Product: pr.p.ID, UserID: l.shop.userID}}
	if e := b.applyTo(pr, p); e != nil {
		return nil, e
	}
	p.p.ID = dice{l.rng}.objectID(now)
	p.p.CreatedAt, p.p.UpdatedAt = ghl.NewTime(now), ghl.NewTime(now)
	pr.prices = append(pr.prices, p)
	l.syncSellable()
	l.emitPrice(ghl.EventPriceCreate, p.p)
	return p.p, nil
}

func (s *Server) updatePrice(req *apiRequest) (any, *apiError) {
	var b priceBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	p, e := req.priceOf()
	if e != nil {
		return nil, e
	}
	var bad *apiError
	np := l.replacePrice(p, func(n *priceRec) {
		bad = b.applyTo(p.product, n)
		touch(&n.p.UpdatedAt.Time, req.now)
	})
	if bad != nil {
		// Put the old record back: a refused update changes nothing.
		l.replacePriceWith(np, p)
		return nil, bad
	}
	l.emitPrice(ghl.EventPriceUpdate, np.p)
	return np.p, nil
}

// replacePriceWith puts old back where cur is.
func (l *location) replacePriceWith(cur, old *priceRec) {
	pr := cur.product
	if i := slices.Index(pr.prices, cur); i >= 0 {
		pr.prices[i] = old
	}
}

func (s *Server) deletePrice(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	p, e := req.priceOf()
	if e != nil {
		return nil, e
	}
	pr := p.product
	pr.prices = slices.DeleteFunc(pr.prices, func(x *priceRec) bool { return x == p })
	l.syncSellable()
	gone := p.p
	touch(&gone.UpdatedAt.Time, req.now)
	l.emitPrice(ghl.EventPriceDelete, gone)
	return statusBody{Status: true}, nil
}

// --- Inventory --------------------------------------------------------------

func inventoryItem(p *priceRec) ghl.InventoryItem {
	pr := p.product
	return ghl.InventoryItem{ID: p.p.ID, Name: p.p.Name, AvailableQuantity: p.p.AvailableQuantity, SKU: p.p.SKU,
		AllowOutOfStockPurchases: p.p.AllowOutOfStockPurchases, Product: pr.p.ID, UpdatedAt: p.p.UpdatedAt,
		Image: pr.p.Image, ProductName: pr.p.Name}
}

func (s *Server) listInventory(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(0, false)
	if e != nil {
		return nil, e
	}
	search := req.query.Get("search")
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	var match []ghl.InventoryItem
	for _, pr := range l.shop.products {
		for _, p := range pr.prices {
			if p.p.TrackInventory && (search == "" || containsFold(search, pr.p.Name, p.p.Name, p.p.SKU)) {
				match = append(match, inventoryItem(p))
			}
		}
	}
	return map[string]any{"inventory": append([]ghl.InventoryItem{}, pageOf(match, limit, offset)...),
		"total": map[string]int{"total": len(match)}}, nil
}

func (s *Server) updateInventory(req *apiRequest) (any, *apiError) {
	var b struct {
		Items []struct {
			PriceID                  string      `json:"priceId"`
			AvailableQuantity        *ghl.Number `json:"availableQuantity"`
			AllowOutOfStockPurchases *bool       `json:"allowOutOfStockPurchases"`
		} `json:"items"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.Items == nil {
		return nil, unprocessable("items must be an array")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	// Check every item before changing any: GHL applies all or none.
	recs := make([]*priceRec, len(b.Items))
	qty := make([]int64, len(b.Items))
	for i, it := range b.Items {
		if it.PriceID == "" {
			return nil, unprocessable(fmt.Sprintf("items.%d.priceId should not be empty", i))
		}
		if recs[i] = l.shop.price(it.PriceID); recs[i] == nil {
			return nil, notFound("Price not found: " + it.PriceID)
		}
		if it.AvailableQuantity != nil {
			v, err := it.AvailableQuantity.Scaled(0)
			if err != nil || v < 0 {
				return nil, unprocessable(fmt.Sprintf("items.%d.availableQuantity must be a whole number, not negative", i))
			}
			qty[i] = v
		}
	}
	for i, it := range b.Items {
		np := l.replacePrice(recs[i], func(n *priceRec) {
			p := &n.p
			p.TrackInventory = true
			if it.AvailableQuantity != nil {
				p.AvailableQuantity = ghl.NumberFromInt(qty[i])
			} else if p.AvailableQuantity == "" {
				p.AvailableQuantity = ghl.NumberFromInt(0)
			}
			if it.AllowOutOfStockPurchases != nil {
				p.AllowOutOfStockPurchases = *it.AllowOutOfStockPurchases
			}
			touch(&p.UpdatedAt.Time, req.now)
		})
		l.emitPrice(ghl.EventPriceUpdate, np.p)
	}
	return done("Inventory updated successfully"), nil
}

// handMatched reports whether the mux cannot hold op's pattern: a product's
// price paths overlap the collections' and the store's.
func handMatched(op ghl.Operation) bool {
	return strings.HasPrefix(op.Path, "/products/{productId}/price")
}

// serveHandMatched serves a request for one of routes, matching its path
// template by hand and setting the path values as the mux would. It reports
// whether one matched.
func (s *Server) serveHandMatched(w http.ResponseWriter, r *http.Request, routes []route) bool {
	got := strings.Split(r.URL.Path, "/")
	for _, rt := range routes {
		want := strings.Split(rt.op.Path, "/")
		if r.Method != rt.op.Method || len(want) != len(got) {
			continue
		}
		vals := map[string]string{}
		ok := true
		for i, seg := range want {
			if name, isVar := strings.CutPrefix(seg, "{"); isVar {
				if got[i] == "" {
					ok = false
					break
				}
				vals[strings.TrimSuffix(name, "}")] = got[i]
			} else if seg != got[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		for k, v := range vals {
			r.SetPathValue(k, v)
		}
		s.serveAPI(rt).ServeHTTP(w, r)
		return true
	}
	return false
}
