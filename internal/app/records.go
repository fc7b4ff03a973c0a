package app

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// MaxLimit is the most records one page holds.
const MaxLimit = 1000

// RecordQuery selects a page of records. Empty fields do not filter.
type RecordQuery struct {
	Location string
	// Status is the record's GHL status (a push's or notice's state).
	Status string
	// Order keeps the fulfillments, transactions and pushes of an order.
	Order string
	// PaymentStatus, FulfillmentStatus, ToFulfill and Search filter
	// orders; ToFulfill is the fulfillment queue (paid, not shipped).
	PaymentStatus     string
	FulfillmentStatus string
	ToFulfill         bool
	Search            string
	// CreatedFrom and CreatedBefore bound the creation time: [from, before).
	CreatedFrom, CreatedBefore time.Time
	// AmountMin and AmountMax bound the amount (an invoice's total) in the
	// major unit of Currency, inclusive; they need Currency.
	Currency             string
	AmountMin, AmountMax string
	Deleted              bool
	// Oldest lists oldest first.
	Oldest bool
	Limit  int // default 50, at most MaxLimit
	// Cursor continues a list: a page's NextCursor.
	Cursor string
	// Offset skips records first (the CLI's --offset; the API pages by
	// cursor).
	Offset int
}

// Page is one page of a list. NextCursor, when set, gets the next page;
// it is absent on the last.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// params checks a query and turns it into the store's.
func (q RecordQuery) params(c Caller) (store.ListParams, error) {
	if err := c.location(q.Location); err != nil {
		return store.ListParams{}, err
	}
	p := store.ListParams{LocationID: q.Location, Locations: c.Locations, Status: q.Status, OrderID: q.Order,
		PaymentStatus: q.PaymentStatus, FulfillmentStatus: q.FulfillmentStatus, ToFulfill: q.ToFulfill, Search: q.Search,
		CreatedFrom: q.CreatedFrom, CreatedBefore: q.CreatedBefore, Deleted: q.Deleted, Oldest: q.Oldest, Offset: q.Offset}
	switch {
	case q.Limit < 0 || q.Limit > MaxLimit:
		return p, fieldErr("limit", "want 1 to %d, not %d", MaxLimit, q.Limit)
	case q.Offset < 0:
		return p, fieldErr("offset", "want 0 or more, not %d", q.Offset)
	case !q.CreatedFrom.IsZero() && !q.CreatedBefore.IsZero() && !q.CreatedBefore.After(q.CreatedFrom):
		return p, fieldErr("createdBefore", "is not after createdFrom")
	}
	p.Limit = q.Limit
	if p.Limit == 0 {
		p.Limit = 50
	}
	if q.Currency != "" {
		p.Currency = strings.ToUpper(q.Currency)
	}
	for _, a := range []struct {
		field, value string
		into         **int64
	}{{"amountMin", q.AmountMin, &p.AmountMin}, {"amountMax", q.AmountMax, &p.AmountMax}} {
		if a.value == "" {
			continue
		}
		if q.Currency == "" {
			return p, fieldErr(a.field, "give currency too: amounts are compared in one currency's units")
		}
		n, err := rankr.ParseMajor(a.value, q.Currency)
		if err != nil {
			return p, fieldErr(a.field, "%q is not an amount in %s", a.value, p.Currency)
		}
		*a.into = &n
	}
	if q.Cursor != "" {
		k, err := decodeCursor(q.Cursor)
		if err != nil {
			return p, fieldErr("cursor", "not a cursor this list gave: start again without it")
		}
		p.After = k
	}
	return p, nil
}

var errBadCursor = errors.New("bad cursor")

// cursorPrefix versions the cursors, so that a change of their form can
// refuse old ones by name.
const cursorPrefix = "c1."

// encodeCursor writes a record's place as an opaque cursor.
func encodeCursor(k store.ListKey) string {
	raw := strconv.FormatInt(k.CreatedAt.UnixMilli(), 10) + "\x00" + k.LocationID + "\x00" + k.ID
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (store.ListKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, cursorPrefix))
	if err != nil || !strings.HasPrefix(s, cursorPrefix) {
		return store.ListKey{}, errBadCursor
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 || parts[2] == "" {
		return store.ListKey{}, errBadCursor
	}
	ms, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return store.ListKey{}, errBadCursor
	}
	return store.ListKey{CreatedAt: time.UnixMilli(ms).UTC(), LocationID: parts[1], ID: parts[2]}, nil
}

// page lists records with list and turns them into a page of views; a
// full page has a cursor to the next.
func page[R, V any](ctx context.Context, c Caller, q RecordQuery, list func(context.Context, store.ListParams) ([]R, error),
	key func(R) store.ListKey, view func(R) V) (Page[V], error) {
	p, err := q.params(c)
	if err != nil {
		return Page[V]{}, err
	}
	rs, err := list(ctx, p)
	if err != nil {
		return Page[V]{}, err
	}
	out := Page[V]{Items: make([]V, 0, len(rs))}
	for _, r := range rs {
		out.Items = append(out.Items, view(r))
	}
	if len(rs) == p.Limit {
		out.NextCursor = encodeCursor(key(rs[len(rs)-1]))
	}
	return out, nil
}

// Orders lists orders.
func (a *App) Orders(ctx context.Context, c Caller, q RecordQuery) (Page[Order], error) {
	return page(ctx, c, q, a.d.Store.OrderList, func(o rankr.Order) store.ListKey {
		return store.ListKey{CreatedAt: o.CreatedAt, LocationID: o.LocationID, ID: o.ID}
	}, NewOrder)
}

// Fulfillments lists fulfillments.
func (a *App) Fulfillments(ctx context.Context, c Caller, q RecordQuery) (Page[Fulfillment], error) {
	q.Status = "" // fulfillments have none
	return page(ctx, c, q, a.d.Store.FulfillmentList, func(f rankr.Fulfillment) store.ListKey {
		return store.ListKey{CreatedAt: f.CreatedAt, LocationID: f.LocationID, ID: f.ID}
	}, NewFulfillment)
}

// Transactions lists transactions.
func (a *App) Transactions(ctx context.Context, c Caller, q RecordQuery) (Page[Transaction], error) {
	return page(ctx, c, q, a.d.Store.TransactionList, func(x rankr.Transaction) store.ListKey {
		return store.ListKey{CreatedAt: x.CreatedAt, LocationID: x.LocationID, ID: x.ID}
	}, NewTransaction)
}

// Subscriptions lists subscriptions.
func (a *App) Subscriptions(ctx context.Context, c Caller, q RecordQuery) (Page[Subscription], error) {
	return page(ctx, c, q, a.d.Store.SubscriptionList, func(x rankr.Subscription) store.ListKey {
		return store.ListKey{CreatedAt: x.CreatedAt, LocationID: x.LocationID, ID: x.ID}
	}, NewSubscription)
}

// Invoices lists invoices.
func (a *App) Invoices(ctx context.Context, c Caller, q RecordQuery) (Page[Invoice], error) {
	return page(ctx, c, q, a.d.Store.InvoiceList, func(x rankr.Invoice) store.ListKey {
		return store.ListKey{CreatedAt: x.CreatedAt, LocationID: x.LocationID, ID: x.ID}
	}, NewInvoice)
}

// Products lists the catalog's products (without their prices), newest
// first.
func (a *App) Products(ctx context.Context, c Caller, q RecordQuery) (Page[Product], error) {
	// Refused rather than ignored: a filter that did nothing would list
	// every product as if it had matched.
	if q.Status != "" {
		return Page[Product]{}, fieldErr("status", "products have no status to filter by")
	}
	if q.Order != "" {
		return Page[Product]{}, fieldErr("order", "products belong to no order")
	}
	return page(ctx, c, q, a.d.Store.ProductList, func(x rankr.Product) store.ListKey {
		return store.ListKey{CreatedAt: x.CreatedAt, LocationID: x.LocationID, ID: x.ID}
	}, NewProduct)
}

// get reads one record by id, of a location the caller sees: one of
// another location is not found.
func get[R, V any](ctx context.Context, c Caller, what, loc, id string, read func(context.Context, string, string) (R, error),
	locOf func(R) string, view func(R) V) (V, error) {
	var zero V
	if err := c.location(loc); err != nil {
		return zero, err
	}
	r, err := read(ctx, loc, id)
	if err != nil {
		return zero, err
	}
	if err := c.visible(locOf(r), what+" "+id); err != nil {
		return zero, err
	}
	return view(r), nil
}

// Fulfillment shows a fulfillment.
func (a *App) Fulfillment(ctx context.Context, c Caller, loc, id string) (Fulfillment, error) {
	return get(ctx, c, "fulfillment", loc, id, a.d.Store.FulfillmentGet, func(f rankr.Fulfillment) string { return f.LocationID }, NewFulfillment)
}

// Transaction shows a transaction.
func (a *App) Transaction(ctx context.Context, c Caller, loc, id string) (Transaction, error) {
	return get(ctx, c, "transaction", loc, id, a.d.Store.TransactionGet, func(x rankr.Transaction) string { return x.LocationID }, NewTransaction)
}

// Subscription shows a subscription.
func (a *App) Subscription(ctx context.Context, c Caller, loc, id string) (Subscription, error) {
	return get(ctx, c, "subscription", loc, id, a.d.Store.SubscriptionGet, func(x rankr.Subscription) string { return x.LocationID }, NewSubscription)
}

// Invoice shows an invoice.
func (a *App) Invoice(ctx context.Context, c Caller, loc, id string) (Invoice, error) {
	return get(ctx, c, "invoice", loc, id, a.d.Store.InvoiceGet, func(x rankr.Invoice) string { return x.LocationID }, NewInvoice)
}

// Product shows a product with its prices.
func (a *App) Product(ctx context.Context, c Caller, loc, id string) (Product, error) {
	p, err := get(ctx, c, "product", loc, id, a.d.Store.ProductGet, func(x rankr.Product) string { return x.LocationID }, NewProduct)
	if err == nil && p.Prices == nil {
		p.Prices = []Price{} // shown alone, a product says it has none
	}
	return p, err
}

// OrderDetail is an order with everything related to it: its items,
// payments, fulfillments, the pushes Rankr made or is making, the notices
// it sent about them, and the order's events.
type OrderDetail struct {
	Order
	// ItemsFetched is false until GHL's detail of the order is synced.
	ItemsFetched bool                    `json:"itemsFetched"`
	Pushes       []rankr.FulfillmentPush `json:"pushes"`
	Notices      []rankr.Notice          `json:"notices"`
	Events       []rankr.Event           `json:"events"`
}

// relatedLimit bounds each list of an order's page.
const relatedLimit = 200

// OrderShow shows an order with what relates to it.
func (a *App) OrderShow(ctx context.Context, c Caller, loc, id string) (OrderDetail, error) {
	if err := c.location(loc); err != nil {
		return OrderDetail{}, err
	}
	st := a.d.Store
	o, err := st.OrderGet(ctx, loc, id)
	if err != nil {
		return OrderDetail{}, err
	}
	if err := c.visible(o.LocationID, "order "+id); err != nil {
		return OrderDetail{}, err
	}
	d := OrderDetail{Order: NewOrder(o), ItemsFetched: o.Items != nil, Pushes: []rankr.FulfillmentPush{}, Notices: []rankr.Notice{}}
	related := store.ListParams{LocationID: o.LocationID, OrderID: o.ID, Limit: relatedLimit}
	fs, err := st.FulfillmentList(ctx, related)
	if err != nil {
		return OrderDetail{}, err
	}
	records := []string{o.ID}
	for _, f := range fs {
		d.Fulfillments = append(d.Fulfillments, NewFulfillment(f))
		records = append(records, f.ID)
		// A fulfillment's notice is keyed by the fulfillment: one lookup.
		n, err := st.NoticeGet(ctx, rankr.NoticeID(rankr.NoticeFulfillment, f.ID))
		switch {
		case err == nil:
			d.Notices = append(d.Notices, n)
		case !errors.Is(err, rankr.ErrNotFound):
			return OrderDetail{}, err
		}
	}
	withDeleted := related
	withDeleted.Deleted = true
	txns, err := st.TransactionList(ctx, withDeleted)
	if err != nil {
		return OrderDetail{}, err
	}
	for _, x := range txns {
		d.Transactions = append(d.Transactions, NewTransaction(x))
		records = append(records, x.ID)
	}
	pushes, err := st.PushList(ctx, related)
	if err != nil {
		return OrderDetail{}, err
	}
	d.Pushes = append(d.Pushes, pushes...)
	d.Events, err = st.EventList(ctx, store.EventListParams{LocationID: o.LocationID, RecordIDs: records, Limit: relatedLimit, Newest: true})
	if err != nil {
		return OrderDetail{}, err
	}
	if d.Events == nil {
		d.Events = []rankr.Event{}
	}
	return d, nil
}
