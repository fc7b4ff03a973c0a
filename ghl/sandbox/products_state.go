package sandbox

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// shop is a location's catalog as the products API sees it: every product
// (l.products holds only those that can be sold, for the order generator),
// the collections, the customers' reviews, and the location's one store.
//
// A product or price edited through the API is replaced by a new record, not
// changed in place: orders and invoices keep pointing at the record they were
// made with, so their items stay the snapshot GHL keeps. Stock is the
// exception: it is one number per price, and it falls as orders are placed.
type shop struct {
	storeID     string
	products    []*productRec // oldest first
	collections []*collectionRec
	reviews     []*reviewRec
	inStore     map[string]bool // product ids included in the store
	priority    map[string]int  // display priority in the store, by product id
	userID      string
}

type collectionRec struct{ c ghl.Collection }

type reviewRec struct{ r ghl.Review }

// collectionSeeds group the catalog (by product name) into collections.
var collectionSeeds = []struct {
	name     string
	products []string
}{
	{"Apparel", []string{"Classic Tee", "Pullover Hoodie", "Canvas Tote"}},
	{"Drinkware", []string{"Ceramic Mug", "Insulated Bottle"}},
	{"Digital Downloads", []string{"Online Course", "Growth Playbook (e-book)", "Template Bundle"}},
	{"Services", []string{"Strategy Session", "Website Audit", "Quarterly Care Plan"}},
	{"Memberships", []string{"Pro Membership", "Coaching Club", "Meal Kit Box"}},
	{"Best Sellers", []string{"Classic Tee", "Ceramic Mug", "Online Course"}},
}

var reviewTexts = []struct {
	rating           int
	headline, detail string
}{
	{5, "Exactly what I hoped for", "Great quality and it arrived quickly. Would buy again."},
	{5, "Love it", "Better than the photos. Already recommended it to friends."},
	{4, "Very good", "Solid product; one small thing could be better, but I am happy."},
	{4, "Good value", "Does the job well for the price."},
	{3, "It is fine", "Works as described, nothing special."},
	{2, "Not for me", "The quality was lower than I expected."},
	{1, "Disappointed", "It did not match the description at all."},
}

// seedShop builds the location's store, collections, SKUs and reviews on its
// own random stream, so that adding it changed none of the other records. The
// reviews come from contacts who ordered the product.
func (g *generator) seedShop(d dice, l *location, start time.Time) {
	sh := &shop{storeID: d.ghlID(), inStore: map[string]bool{}, priority: map[string]int{}, userID: d.ghlID()}
	l.shop = sh
	byName := map[string]*productRec{}
	for i, pr := range l.products {
		sh.products = append(sh.products, pr)
		byName[pr.p.Name] = pr
		if pr.p.ProductType != ghl.ProductService {
			sh.inStore[pr.p.ID] = true
			sh.priority[pr.p.ID] = i + 1
		}
		for _, p := range pr.prices {
			if p.p.TrackInventory {
				p.p.SKU = skuOf(pr.p.Name, p.p.Name)
				p.p.AllowOutOfStockPurchases = false
			}
		}
	}
	for _, cs := range collectionSeeds {
		at := start.Add(-d.duration(24*time.Hour, 300*24*time.Hour)).Truncate(time.Millisecond)
		c := &collectionRec{c: ghl.Collection{ID: d.objectID(at), AltID: l.id, Name: cs.name, Slug: slugOf(cs.name),
			Image:     "https://storage.example.com/" + l.id + "/collections/" + slugOf(cs.name) + ".png",
			SEO:       ghl.SEO{Title: cs.name, Description: cs.name + " at " + l.name},
			CreatedAt: ghl.NewTime(at), UpdatedAt: ghl.NewTime(at)}}
		sh.collections = append(sh.collections, c)
		for _, name := range cs.products {
			if pr := byName[name]; pr != nil {
				pr.p.CollectionIDs = append(pr.p.CollectionIDs, c.c.ID)
			}
		}
	}
	slices.SortFunc(sh.collections, func(a, b *collectionRec) int { return a.c.CreatedAt.Compare(b.c.CreatedAt.Time) })

	const maxReviews = 400
	for _, o := range l.orders {
		if len(sh.reviews) >= maxReviews || !d.chance(0.3) {
			continue
		}
		pr := o.lines[0].price.product
		at := o.createdAt.Add(d.duration(24*time.Hour, 12*24*time.Hour))
		if !at.Before(g.anchor) {
			continue
		}
		txt := reviewTexts[d.weighted([]float64{30, 25, 18, 12, 8, 4, 3})]
		status := []ghl.ReviewStatus{ghl.ReviewApproved, ghl.ReviewPending, ghl.ReviewRejected}[d.weighted([]float64{75, 18, 7})]
		r := &reviewRec{r: ghl.Review{ID: d.objectID(at), AltID: l.id, AltType: "location", ProductID: pr.p.ID,
			StoreID: sh.storeID, Status: status, Rating: ghl.NumberFromInt(int64(txt.rating)),
			Headline: txt.headline, Detail: txt.detail,
			User:      ghl.ReviewUser{Name: o.contact.name(), Email: o.contact.email, Phone: o.contact.phone, IsCustomer: true},
			CreatedAt: ghl.NewTime(at), UpdatedAt: ghl.NewTime(at)}}
		sh.reviews = append(sh.reviews, r)
	}
	slices.SortFunc(sh.reviews, func(a, b *reviewRec) int { return a.r.CreatedAt.Compare(b.r.CreatedAt.Time) })
}

func slugOf(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func skuOf(product, price string) string {
	var b strings.Builder
	for _, w := range strings.Fields(product) {
		b.WriteString(strings.ToUpper(w[:min(3, len(w))]))
	}
	return b.String() + "-" + strings.ToUpper(strings.ReplaceAll(price, " ", ""))
}

// takeStock lowers the stock of the order's prices that track inventory. A
// price that does not allow out-of-stock purchases stops at zero: GHL's
// checkout refuses the rest. The price is replaced, not changed: the orders
// already placed keep the price as it was when they were placed.
func (l *location) takeStock(o *orderRec, at time.Time) {
	for _, ln := range o.lines {
		cur := l.livePrice(ln.price)
		if cur == nil || !cur.p.TrackInventory {
			continue
		}
		q, _ := cur.p.AvailableQuantity.Scaled(0)
		q -= int64(ln.qty)
		if q < 0 && !cur.p.AllowOutOfStockPurchases {
			q = 0
		}
		l.setStock(cur, q, at)
	}
}

// setStock gives a live price a new stock level, as a new record.
func (l *location) setStock(p *priceRec, qty int64, at time.Time) *priceRec {
	return l.replacePrice(p, func(n *priceRec) {
		n.p.AvailableQuantity = ghl.NumberFromInt(qty)
		touch(&n.p.UpdatedAt.Time, at)
	})
}

// livePrice is the catalog's current record of p, or nil once it is
// deleted. While the history is generated there is no shop yet, and no
// record has been replaced but by takeStock.
func (l *location) livePrice(p *priceRec) *priceRec {
	if l.shop != nil {
		return l.shop.price(p.p.ID)
	}
	return find(p.product.prices, func(x *priceRec) bool { return x.p.ID == p.p.ID })
}

// product finds a live product by id.
func (sh *shop) product(id string) *productRec {
	return find(sh.products, func(pr *productRec) bool { return pr.p.ID == id })
}

// price finds a live price by id, in any product.
func (sh *shop) price(id string) *priceRec {
	for _, pr := range sh.products {
		for _, p := range pr.prices {
			if p.p.ID == id {
				return p
			}
		}
	}
	return nil
}

func (sh *shop) collection(id string) *collectionRec {
	return find(sh.collections, func(c *collectionRec) bool { return c.c.ID == id })
}

func (sh *shop) review(id string) *reviewRec {
	return find(sh.reviews, func(r *reviewRec) bool { return r.r.ID == id })
}

// replaceProduct puts next where pr was, re-pointing pr's prices (cloned)
// at it, so that records made before keep pr as their snapshot.
func (l *location) replaceProduct(pr *productRec, edit func(next *productRec)) *productRec {
	next := &productRec{p: pr.p}
	next.p.CollectionIDs = slices.Clone(pr.p.CollectionIDs)
	for _, p := range pr.prices {
		np := *p
		np.product = next
		next.prices = append(next.prices, &np)
	}
	edit(next)
	sh := l.shop
	if i := slices.Index(sh.products, pr); i >= 0 {
		sh.products[i] = next
	}
	l.syncSellable()
	return next
}

// replacePrice puts a copy of p, edited, in its product's place for it.
func (l *location) replacePrice(p *priceRec, edit func(next *priceRec)) *priceRec {
	np := *p
	np.p.VariantOptionIDs = slices.Clone(p.p.VariantOptionIDs)
	edit(&np)
	pr := p.product
	if i := slices.Index(pr.prices, p); i >= 0 {
		pr.prices[i] = &np
	}
	return &np
}

// syncSellable points the order generator at the products that have a
// price. It keeps the old list when nothing is left to sell, so that live
// activity always has something to order.
func (l *location) syncSellable() {
	var sellable []*productRec
	for _, pr := range l.shop.products {
		if len(pr.prices) > 0 {
			sellable = append(sellable, pr)
		}
	}
	if len(sellable) > 0 {
		l.products = sellable
	}
}

func (l *location) removeProduct(pr *productRec, at time.Time) {
	sh := l.shop
	sh.products = slices.DeleteFunc(sh.products, func(x *productRec) bool { return x == pr })
	delete(sh.inStore, pr.p.ID)
	delete(sh.priority, pr.p.ID)
	l.syncSellable()
	gone := pr.p
	touch(&gone.UpdatedAt.Time, at)
	l.emitProduct(ghl.EventProductDelete, gone)
}

// emitProduct sends a product webhook. Call with the lock held.
func (l *location) emitProduct(typ string, p ghl.Product) {
	if m := l.payload(p); m != nil {
		l.emit(typ, l.id, m)
	}
}

// emitPrice sends a price webhook. The webhook names the price's type
// "priceType", where the REST API says "type".
func (l *location) emitPrice(typ string, p ghl.Price) {
	if m := l.payload(p); m != nil {
		m["priceType"] = m["type"]
		delete(m, "type")
		l.emit(typ, l.id, m)
	}
}

// payload renders a record as a webhook payload, or nil when no webhook is
// sent. The record's own locationId is left to the envelope, which puts it
// first: a body with the key twice is not JSON a receiver can trust.
func (l *location) payload(v any) map[string]json.RawMessage {
	if l.emit == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	delete(m, "locationId")
	return m
}

// ProductTruth is a product with its prices and its place in the store.
type ProductTruth struct {
	Product  ghl.Product `json:"product"`
	Prices   []ghl.Price `json:"prices"`
	InStore  bool        `json:"inStore"`
	Priority int         `json:"priority,omitempty"`
}

// CatalogTruth is a location's products API state: what /_sandbox/truth
// reports under "catalog".
type CatalogTruth struct {
	StoreID     string           `json:"storeId"`
	Products    []ProductTruth   `json:"products"`
	Collections []ghl.Collection `json:"collections"`
	Reviews     []ghl.Review     `json:"reviews"`
}

// catalogTruth renders the shop. Call with the lock held.
func (l *location) catalogTruth() *CatalogTruth {
	sh := l.shop
	if sh == nil {
		return nil
	}
	ct := &CatalogTruth{StoreID: sh.storeID, Products: []ProductTruth{}, Collections: []ghl.Collection{}, Reviews: []ghl.Review{}}
	for _, pr := range sh.products {
		pt := ProductTruth{Product: pr.p, Prices: []ghl.Price{}, InStore: sh.inStore[pr.p.ID], Priority: sh.priority[pr.p.ID]}
		for _, p := range pr.prices {
			pt.Prices = append(pt.Prices, p.p)
		}
		ct.Products = append(ct.Products, pt)
	}
	for _, c := range sh.collections {
		ct.Collections = append(ct.Collections, c.c)
	}
	for _, r := range sh.reviews {
		ct.Reviews = append(ct.Reviews, r.r)
	}
	return ct
}

// storeID is the id of the location's store; it is set when the location is
// generated and never changes.
func (l *location) storeID() string {
	if l.shop == nil {
		return ""
	}
	return l.shop.storeID
}
