package sandbox

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// generator builds each location's history from the seed. Everything it
// draws comes from a per-location stream, so location i is the same whatever
// the number of locations.
type generator struct {
	seed   int64
	anchor time.Time
}

func newGenerator(seed int64, anchor time.Time) *generator {
	return &generator{seed: seed, anchor: anchor.UTC().Truncate(time.Millisecond)}
}

var (
	businessNames = []string{"Northwind Outfitters", "Blue Harbor Coaching", "Cedar & Pine Studio", "Brightside Dental",
		"Summit Fitness Co", "Lumen Marketing", "Maple Street Bakery", "Atlas Home Services", "Orbit Academy", "Riverbend Yoga"}
	currencies = []string{"USD", "USD", "EUR", "GBP", "CAD", "AUD"}
	firstNames = []string{"Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Isla", "Lucas", "Chloe", "Mateo", "Aria", "Leo",
		"Nora", "Omar", "Priya", "Kenji", "Sofia", "Diego", "Hannah", "Yusuf", "Elena", "Jamal", "Grace", "Tariq", "Mei"}
	lastNames = []string{"Garcia", "Smith", "Nguyen", "Okafor", "Kowalski", "Haddad", "Rossi", "Tanaka", "Murphy", "Silva",
		"Schmidt", "Patel", "Johansson", "Dubois", "Kim", "Moreau", "Novak", "Reyes", "Fischer", "Mensah"}
	cities = []struct{ city, state, country, postal string }{
		{"Austin", "TX", "US", "73301"}, {"Denver", "CO", "US", "80202"}, {"Toronto", "ON", "CA", "M5H 2N2"},
		{"Manchester", "", "GB", "M1 1AE"}, {"Lyon", "", "FR", "69001"}, {"Melbourne", "VIC", "AU", "3000"},
		{"Portland", "OR", "US", "97201"}, {"Dublin", "", "IE", "D02 X285"},
	}
	emailDomains = []string{"example.com", "example.org", "example.net", "mail.test"}
)

// catalog is every location's product range; prices are in minor units.
var catalog = []struct {
	name, typ, description string
	variants               []string
	prices                 []int64
	interval               string // recurring interval, "" for one-time
	intervalCount          int
}{
	{"Classic Tee", "PHYSICAL", "Soft cotton tee", []string{"S", "M", "L", "XL"}, []int64{2499}, "", 0},
	{"Pullover Hoodie", "PHYSICAL", "Heavyweight fleece hoodie", []string{"S", "M", "L"}, []int64{5499}, "", 0},
	{"Ceramic Mug", "PHYSICAL", "12 oz stoneware mug", nil, []int64{1499}, "", 0},
	{"Sticker Pack", "PHYSICAL", "Six die-cut stickers", nil, []int64{599}, "", 0},
	{"Insulated Bottle", "PHYSICAL", "750 ml steel bottle", []string{"Black", "Sage"}, []int64{2299}, "", 0},
	{"Canvas Tote", "PHYSICAL", "Organic cotton tote", nil, []int64{1899}, "", 0},
	{"Online Course", "DIGITAL", "Eight self-paced modules", nil, []int64{19900}, "", 0},
	{"Growth Playbook (e-book)", "DIGITAL", "120-page PDF", nil, []int64{2900}, "", 0},
	{"Template Bundle", "DIGITAL", "40 editable templates", nil, []int64{4900}, "", 0},
	{"Strategy Session", "SERVICE", "60-minute call", nil, []int64{15000}, "", 0},
	{"Website Audit", "SERVICE", "Written audit within 5 days", nil, []int64{49900}, "", 0},
	{"Pro Membership", "SERVICE", "Members area and monthly live Q&A", []string{"Monthly", "Yearly"}, []int64{2900, 29000}, "month", 1},
	{"Coaching Club", "SERVICE", "Weekly group coaching", nil, []int64{9900}, "month", 1},
	{"Meal Kit Box", "PHYSICAL", "Weekly box of three meals", nil, []int64{6900}, "week", 1},
	{"Quarterly Care Plan", "SERVICE", "Maintenance every quarter", nil, []int64{24900}, "month", 3},
}

// sourceKinds are where orders come from, with weights.
var sourceKinds = []struct {
	typ      ghl.SourceType
	subTypes []string
	name     string
	weight   float64
}{
	{ghl.SourceFunnel, []string{"one_step_order_form", "two_step_order_form", "upsell"}, "Spring Launch Funnel", 34},
	{ghl.SourceWebsite, []string{"store", "store_upsell"}, "Online Store", 24},
	{ghl.SourceInvoice, []string{""}, "Invoice", 7},
	{ghl.SourcePaymentLink, []string{"qr_code", ""}, "Payment Link", 8},
	{ghl.SourceCalendar, []string{"meeting", "service"}, "Discovery Call", 5},
	{ghl.SourceText2Pay, []string{"contact_view"}, "Text2Pay", 4},
	{ghl.SourceMembership, []string{"saas_subscription"}, "Members Area", 4},
	{ghl.SourceForm, []string{""}, "Order Form", 3},
	{ghl.SourceManual, []string{"payments_dashboard", "contact_view"}, "Manual", 3},
	{ghl.SourcePointOfSale, []string{"tap_to_pay", "card_payment"}, "Point of Sale", 3},
	{ghl.SourceMobileApp, []string{"tap_to_pay"}, "Mobile App", 1},
	{ghl.SourceCommunities, []string{""}, "Community", 1},
	{ghl.SourceSurvey, []string{""}, "Survey", 1},
	{ghl.SourceDocumentContracts, []string{""}, "Proposal", 1},
	{ghl.SourceExternal, []string{"shopify", "woocommerce"}, "External Store", 1},
}

var sourceWeights = func() []float64 {
	w := make([]float64, len(sourceKinds))
	for i, k := range sourceKinds {
		w[i] = k.weight
	}
	return w
}()

func (g *generator) location(i, orders int) *location {
	d := newDice(g.seed, uint64(i)+1)
	l := &location{
		id: d.ghlID(), name: businessNames[i%len(businessNames)], companyID: d.ghlID(),
		currency:  currencies[i%len(currencies)],
		orderByID: map[string]*orderRec{}, txnByID: map[string]*txnRec{}, subByID: map[string]*subRec{},
		invByID: map[string]*invoiceRec{}, nextInvNo: 1000,
	}
	if i >= len(businessNames) {
		l.name = fmt.Sprintf("%s %d", l.name, i/len(businessNames)+1)
	}
	l.token = "pit-" + d.uuid()
	start := g.anchor.AddDate(-1, 0, 0)

	for n := range max(12, orders/3) {
		c := cities[d.IntN(len(cities))]
		first, last := pick(d, firstNames), pick(d, lastNames)
		l.contacts = append(l.contacts, &contact{
			id: d.ghlID(), first: first, last: last, full: first + " " + last,
			email: fmt.Sprintf("%s.%s%d@%s", strings.ToLower(first), strings.ToLower(last), n, pick(d, emailDomains)),
			phone: "+1555" + d.digits(7), city: c.city, state: c.state, country: c.country, postal: c.postal,
			createdAt: start.Add(-d.duration(0, 365*24*time.Hour)),
		})
	}
	g.products(d, l, start)
	g.coupons(d, l, start)

	// Orders arrive at random moments over the past year, oldest first.
	times := make([]time.Time, orders)
	span := g.anchor.Sub(start) - time.Hour
	for k := range times {
		times[k] = start.Add(d.duration(0, span))
	}
	slices.SortFunc(times, time.Time.Compare)
	for _, at := range times {
		g.order(d, l, at)
	}
	for range orders / 6 {
		g.invoice(d, l, start.Add(d.duration(0, span)))
	}
	slices.SortFunc(l.txns, func(a, b *txnRec) int { return a.createdAt.Compare(b.createdAt) })
	slices.SortFunc(l.subs, func(a, b *subRec) int { return a.createdAt.Compare(b.createdAt) })
	slices.SortFunc(l.invoices, func(a, b *invoiceRec) int { return a.createdAt.Compare(b.createdAt) })
	g.seedInvoiceBook(newDice(g.seed, uint64(i)+4<<32), l, start)
	g.shippingSetup(newDice(g.seed, uint64(i)+2<<32), l, start)
	g.seedShop(newDice(g.seed, uint64(i)+3<<32), l, start)
	l.rng = newDice(g.seed, uint64(i)+1<<32).Rand
	return l
}

func (g *generator) products(d dice, l *location, start time.Time) {
	userID := d.ghlID()
	l.userID = userID // the location's user: the one who set up its catalog
	for _, item := range catalog {
		at := start.Add(-d.duration(24*time.Hour, 200*24*time.Hour)).Truncate(time.Millisecond)
		pr := &productRec{p: ghl.Product{
			ID: d.objectID(at), Name: item.name, Description: item.description, ProductType: item.typ,
			LocationID: l.id, AvailableInStore: true, IsTaxesEnabled: false,
			Slug:      strings.ReplaceAll(strings.ToLower(item.name), " ", "-"),
			CreatedAt: ghl.NewTime(at), UpdatedAt: ghl.NewTime(at),
		}}
		if len(item.variants) > 0 && item.interval == "" {
			v := ghl.ProductVariant{ID: d.alnum(11), Name: "Option"}
			for _, name := range item.variants {
				v.Options = append(v.Options, ghl.ProductVariantOption{ID: strings.ToLower(d.alnum(10)), Name: name})
			}
			pr.p.Variants = []ghl.ProductVariant{v}
		}
		names := item.variants
		if len(names) == 0 {
			names = []string{"Standard"}
		}
		for k, name := range names {
			minor := item.prices[min(k, len(item.prices)-1)]
			p := &priceRec{product: pr, minor: minor, p: ghl.Price{
				ID: d.objectID(at), Name: name, Type: ghl.PriceOneTime, Currency: l.currency, Amount: money(minor),
				LocationID: l.id, Product: pr.p.ID, UserID: userID,
				CreatedAt: ghl.NewTime(at), UpdatedAt: ghl.NewTime(at),
			}}
			if item.interval != "" {
				interval, count := item.interval, item.intervalCount
				if name == "Yearly" {
					interval, count = "year", 1
				}
				p.p.Type = ghl.PriceRecurring
				p.p.Recurring = &ghl.Recurring{Interval: interval, IntervalCount: count}
			} else if len(pr.p.Variants) > 0 {
				p.p.VariantOptionIDs = []string{pr.p.Variants[0].Options[k].ID}
			}
			if item.typ == "PHYSICAL" {
				p.p.TrackInventory = true
				p.p.AvailableQuantity = ghl.NumberFromInt(int64(d.between(20, 500)))
			}
			pr.prices = append(pr.prices, p)
		}
		l.products = append(l.products, pr)
	}
}

func (g *generator) coupons(d dice, l *location, start time.Time) {
	specs := []struct {
		code   string
		typ    ghl.DiscountType
		value  string
		from   time.Time
		to     time.Time
		future bool
	}{
		{"WELCOME10", ghl.DiscountPercentage, "10", start, time.Time{}, false},
		{"SPRING20", ghl.DiscountPercentage, "20", start, start.AddDate(0, 3, 0), false},
		{"SAVE5", ghl.DiscountAmount, "5", start.AddDate(0, 2, 0), time.Time{}, false},
		{"LOYAL15", ghl.DiscountPercentage, "15", start, time.Time{}, true},
		{"BLACKFRIDAY", ghl.DiscountPercentage, "30", start.AddDate(0, 7, 0), start.AddDate(0, 7, 5), false},
		{"NEXTSEASON", ghl.DiscountPercentage, "25", g.anchor.AddDate(0, 1, 0), g.anchor.AddDate(0, 2, 0), false},
	}
	userID := d.ghlID()
	for _, s := range specs {
		at := s.from.Add(-48 * time.Hour).UTC().Truncate(time.Millisecond)
		if at.After(g.anchor) {
			at = g.anchor.Add(-time.Hour)
		}
		cfg := &ghl.ApplyToFuturePaymentsConfig{Type: "forever"}
		if s.future {
			cfg = &ghl.ApplyToFuturePaymentsConfig{Type: "fixed", Duration: 3, DurationType: "months"}
		}
		c := &couponRec{c: ghl.Coupon{
			ID: d.objectID(at), LimitPerCustomer: ghl.NumberFromInt(0), AltID: l.id, AltType: "location",
			Name: s.code, Code: s.code, DiscountType: s.typ, DiscountValue: ghl.Number(s.value),
			StartDate: ghl.NewTime(s.from), EndDate: ghl.NewTime(s.to), ApplyToFuturePayments: s.future,
			ApplyToFuturePaymentsConfig: cfg, UserID: userID,
			CreatedAt: ghl.NewTime(at), UpdatedAt: ghl.NewTime(at),
		}}
		if s.to.IsZero() {
			c.c.EndDate = ghl.Time{}
		}
		l.coupons = append(l.coupons, c)
	}
}

// randomLines draws one to four order lines. recurring chooses whether a
// recurring price may be among them.
func randomLines(d dice, l *location, at time.Time, allowRecurring bool) []line {
	n := d.weighted([]float64{0, 55, 28, 12, 5})
	lines := make([]line, 0, n)
	used := map[*priceRec]bool{}
	for len(lines) < n {
		pr := pick(d, l.products)
		p := pick(d, pr.prices)
		if used[p] || (p.recurring() && (!allowRecurring || len(lines) > 0)) {
			if len(used) > 30 {
				break
			}
			used[p] = true
			continue
		}
		used[p] = true
		qty := 1
		if p.physical() && !p.recurring() {
			qty = d.weighted([]float64{0, 70, 20, 10})
		}
		lines = append(lines, line{id: d.objectID(at), price: p, qty: qty})
		if p.recurring() {
			break // a subscription order carries one recurring line
		}
	}
	if len(lines) == 0 {
		p := l.products[0].prices[0]
		lines = append(lines, line{id: d.objectID(at), price: p, qty: 1})
	}
	return lines
}

func randomSource(d dice, l *location, at time.Time) source {
	k := sourceKinds[d.weighted(sourceWeights)]
	s := source{typ: k.typ, subType: pick(d, k.subTypes), id: d.ghlID(), name: k.name}
	if k.typ == ghl.SourceFunnel || k.typ == ghl.SourceWebsite {
		s.meta = rawJSON(map[string]string{
			"domain": strings.ToLower(strings.ReplaceAll(l.name, " ", "")) + ".example.com",
			"pageId": d.ghlID(), "pageUrl": "/checkout", "stepId": d.uuid(),
		})
	}
	return s
}

// order generates one historic order and everything that happened to it
// until the anchor.
func (g *generator) order(d dice, l *location, at time.Time) {
	spec := orderSpec{contact: pick(d, l.contacts), live: d.chance(0.88), src: randomSource(d, l, at)}
	spec.lines = randomLines(d, l, at, d.chance(0.2))
	if d.chance(0.12) {
		c := pick(d, l.coupons)
		if !at.Before(c.c.StartDate.Time) && (c.c.EndDate.IsZero() || at.Before(c.c.EndDate.Time)) {
			spec.coupon = c
		}
	}
	if spec.src.typ == ghl.SourceManual || spec.src.typ == ghl.SourcePointOfSale {
		spec.createdBy = d.ghlID()
	}
	var inv *invoiceRec
	if spec.src.typ == ghl.SourceInvoice {
		var lines []invoiceLine
		for _, ln := range spec.lines {
			lines = append(lines, invoiceLine{id: d.objectID(at), price: ln.price, qty: ln.qty})
		}
		inv = l.createInvoice(d, at.Add(-d.duration(time.Hour, 72*time.Hour)), spec.contact, lines, spec.live)
		l.sendInvoice(inv, inv.createdAt.Add(time.Minute))
		spec.src.id, spec.src.name, spec.src.subType = inv.id, fmt.Sprintf("Invoice #%d", inv.number), ""
	}
	o := l.createOrder(d, at, spec)
	if inv != nil {
		// The invoice bills exactly what the order charges.
		o.tax, o.shipping, inv.discount = 0, 0, o.discount
	}
	pay := l.randomPayment(d)
	clock := at

	later := func(lo, hi time.Duration) (time.Time, bool) {
		t := clock.Add(d.duration(lo, hi))
		if t.After(g.anchor) {
			return time.Time{}, false
		}
		clock = t
		return t, true
	}

	switch outcome := d.weighted([]float64{70, 6, 8, 5, 6, 5}); outcome {
	case 0, 4, 5: // paid in full; refunded fully (4) or partly (5) afterwards
		if d.chance(0.08) {
			if t, ok := later(time.Second, 10*time.Minute); ok {
				l.charge(d, o, o.amount(), t, ghl.TxnFailed, pay)
			}
		}
		t, ok := later(time.Second, 5*time.Minute)
		if !ok {
			return
		}
		txn := l.charge(d, o, o.amount(), t, ghl.TxnSucceeded, pay)
		g.ship(d, l, o, later)
		switch outcome {
		case 4:
			if t, ok := later(24*time.Hour, 20*24*time.Hour); ok {
				l.refund(d, txn, txn.amount, t)
			}
		case 5:
			if t, ok := later(24*time.Hour, 20*24*time.Hour); ok {
				l.refund(d, txn, max(txn.amount/int64(d.between(3, 5)), 1), t)
			}
		}
		g.subscriptionHistory(d, l, o)
	case 1: // partially paid, the balance still open
		if t, ok := later(time.Second, 5*time.Minute); ok {
			l.charge(d, o, o.amount()/2, t, ghl.TxnSucceeded, pay)
		}
	case 2: // unpaid; some attempts failed
		if d.chance(0.4) {
			if t, ok := later(time.Second, 10*time.Minute); ok {
				l.charge(d, o, o.amount(), t, ghl.TxnFailed, pay)
			}
		}
	case 3: // abandoned and cancelled
		if t, ok := later(time.Hour, 7*24*time.Hour); ok {
			l.cancelOrder(o, t)
		}
	}
}

// ship fulfills a paid order that has something to ship, in one or two
// parcels, or leaves it waiting.
func (g *generator) ship(d dice, l *location, o *orderRec, later func(lo, hi time.Duration) (time.Time, bool)) {
	if !o.needsShipping() || d.chance(0.15) {
		return
	}
	left := o.unshipped()
	if len(left) > 1 && d.chance(0.2) {
		t, ok := later(12*time.Hour, 4*24*time.Hour)
		if !ok {
			return
		}
		l.fulfill(d, o, left[:1], []ghl.Tracking{randomTracking(d)}, true, t)
		if d.chance(0.3) {
			return // the rest is still to ship
		}
		left = o.unshipped()
	}
	if t, ok := later(12*time.Hour, 5*24*time.Hour); ok {
		l.fulfill(d, o, left, []ghl.Tracking{randomTracking(d)}, d.chance(0.8), t)
	}
}

// subscriptionHistory renews, lapses or cancels the subscriptions an order
// started, up to the anchor.
func (g *generator) subscriptionHistory(d dice, l *location, o *orderRec) {
	for _, s := range o.subs {
		if o.status == ghl.OrderRefunded {
			l.cancelSubscription(d, s, o.updatedAt)
			continue
		}
		cancelAfter := -1
		if d.chance(0.2) {
			cancelAfter = d.between(0, 8)
		}
		for n := 0; n < 24 && s.nextRun.Before(g.anchor); n++ {
			if n == cancelAfter {
				l.cancelSubscription(d, s, s.nextRun.Add(-d.duration(time.Hour, 72*time.Hour)))
				break
			}
			ok := d.chance(0.95)
			l.renew(d, s, s.nextRun.Add(d.duration(0, time.Hour)), ok)
			if !ok {
				if d.chance(0.5) {
					break // still past due
				}
				l.renew(d, s, s.nextRun.Add(d.duration(24*time.Hour, 72*time.Hour)), true)
			}
		}
	}
}

// invoice generates a standalone invoice and its payments.
func (g *generator) invoice(d dice, l *location, at time.Time) {
	c := pick(d, l.contacts)
	var lines []invoiceLine
	for range d.between(1, 3) {
		p := pick(d, pick(d, l.products).prices)
		if p.recurring() {
			continue
		}
		lines = append(lines, invoiceLine{id: d.objectID(at), price: p, qty: d.between(1, 2)})
	}
	if len(lines) == 0 {
		return
	}
	inv := l.createInvoice(d, at, c, lines, d.chance(0.9))
	step := func(lo, hi time.Duration) (time.Time, bool) {
		t := at.Add(d.duration(lo, hi))
		at = t
		return t, !t.After(g.anchor)
	}
	switch outcome := d.weighted([]float64{10, 20, 50, 8, 7, 5}); outcome {
	case 0: // draft
	case 1: // sent, unpaid
		if t, ok := step(time.Hour, 48*time.Hour); ok {
			l.sendInvoice(inv, t)
		}
	case 2, 3: // paid in full (2) or in part (3)
		if t, ok := step(time.Hour, 48*time.Hour); ok {
			l.sendInvoice(inv, t)
		}
		if t, ok := step(time.Hour, 20*24*time.Hour); ok {
			amount := inv.total()
			if outcome == 3 {
				amount /= 2
			}
			l.payInvoice(d, inv, amount, t, l.randomPayment(d))
		}
	case 4: // voided
		if t, ok := step(time.Hour, 10*24*time.Hour); ok {
			l.voidInvoice(inv, t)
		}
	case 5: // awaiting a payment being processed
		if t, ok := step(time.Hour, 48*time.Hour); ok {
			l.sendInvoice(inv, t)
			inv.status = ghl.InvoicePaymentProcessing
		}
	}
}
