package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// recordKind is one kind of record the list and show commands handle.
type recordKind interface {
	// list returns the records as JSON views and as table rows.
	list(ctx context.Context, st store.Store, p store.ListParams) (views []any, header string, rows []string, err error)
	// show returns one record as a JSON view and writes it for humans.
	show(ctx context.Context, st store.Store, loc, id string) (view any, text func(io.Writer), err error)
}

// RecordCmd lists or shows one kind of record.
type RecordCmd[K recordKind] struct {
	List RecordListCmd[K] `cmd:"" help:"List them, newest first."`
	Show RecordShowCmd[K] `cmd:"" help:"Show one in full."`
	DataFlags
}

// RecordListCmd lists records.
type RecordListCmd[K recordKind] struct {
	Location string `help:"Only this location." env:"RANKR_LOCATION"`
	Status   string `help:"Only this status, as GHL names it (completed, pending, succeeded...)."`
	Order    string `help:"Only those of this order (fulfillments and transactions)."`
	Limit    int    `help:"At most this many." default:"50"`
	Offset   int    `help:"Skip this many first."`
	Deleted  bool   `help:"Include records deleted in GHL."`
	JSON     bool   `help:"Print a JSON array." name:"json"`
}

// Run lists.
func (c *RecordListCmd[K]) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	var k K
	views, header, rows, err := k.list(ctx, d.Store, store.ListParams{LocationID: c.Location, Status: c.Status,
		OrderID: c.Order, Limit: c.Limit, Offset: c.Offset, Deleted: c.Deleted})
	if err != nil {
		return err
	}
	if c.JSON {
		if views == nil {
			views = []any{}
		}
		return writeJSON(g.stdout, views)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	return tw.Flush()
}

// RecordShowCmd shows one record.
type RecordShowCmd[K recordKind] struct {
	ID       string `arg:"" help:"The record's GHL id."`
	Location string `help:"Its location, when ids could clash across locations." env:"RANKR_LOCATION"`
	JSON     bool   `help:"Print JSON." name:"json"`
}

// Run shows.
func (c *RecordShowCmd[K]) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	var k K
	view, text, err := k.show(ctx, d.Store, c.Location, c.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, view)
	}
	text(g.stdout)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// money is an amount in major units, written as a JSON number: 150.1 USD
// is 150.10, exactly.
type money struct {
	minor    int64
	currency string
}

func (m money) MarshalJSON() ([]byte, error) {
	return []byte(rankr.FormatMinor(m.minor, m.currency)), nil
}
func (m money) String() string { return rankr.FormatMinor(m.minor, m.currency) + " " + m.currency }

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// The JSON views: GHL ids in id, typed fields in camelCase, amounts in major
// units.

type orderView struct {
	ID                string            `json:"id"`
	LocationID        string            `json:"locationId"`
	ContactID         string            `json:"contactId,omitempty"`
	ContactName       string            `json:"contactName,omitempty"`
	ContactEmail      string            `json:"contactEmail,omitempty"`
	Amount            money             `json:"amount"`
	Currency          string            `json:"currency"`
	Status            string            `json:"status"`
	FulfillmentStatus string            `json:"fulfillmentStatus"`
	PaymentStatus     string            `json:"paymentStatus"`
	RankrStatus       string            `json:"rankrStatus"`
	LiveMode          bool              `json:"liveMode"`
	Source            rankr.Source      `json:"source"`
	CreatedAt         time.Time         `json:"createdAt"`
	UpdatedAt         time.Time         `json:"updatedAt"`
	DeletedAt         time.Time         `json:"deletedAt,omitzero"`
	Items             []itemView        `json:"items,omitempty"`
	Fulfillments      []fulfillmentView `json:"fulfillments,omitempty"`
	Transactions      []txnView         `json:"transactions,omitempty"`
}

type itemView struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Qty         int64  `json:"qty"`
	PriceID     string `json:"priceId"`
	ProductID   string `json:"productId"`
	ProductType string `json:"productType,omitempty"`
	UnitAmount  money  `json:"unitAmount"`
	Recurring   bool   `json:"recurring,omitempty"`
}

func newOrderView(o rankr.Order) orderView {
	v := orderView{ID: o.ID, LocationID: o.LocationID, ContactID: o.ContactID, ContactName: o.ContactName,
		ContactEmail: o.ContactEmail, Amount: money{o.Amount, o.Currency}, Currency: o.Currency, Status: o.Status,
		FulfillmentStatus: o.FulfillmentStatus, PaymentStatus: o.PaymentStatus, RankrStatus: o.RankrStatus, LiveMode: o.LiveMode, Source: o.Source,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, DeletedAt: o.DeletedAt}
	for _, it := range o.Items {
		v.Items = append(v.Items, itemView{ID: it.ID, Name: it.Name, Qty: it.Qty, PriceID: it.PriceID, ProductID: it.ProductID,
			ProductType: it.ProductType, UnitAmount: money{it.UnitAmount, it.Currency}, Recurring: it.Recurring})
	}
	return v
}

type fulfillmentView struct {
	ID         string                  `json:"id"`
	LocationID string                  `json:"locationId"`
	OrderID    string                  `json:"orderId"`
	Trackings  []rankr.Tracking        `json:"trackings"`
	Items      []rankr.FulfillmentItem `json:"items"`
	CreatedAt  time.Time               `json:"createdAt"`
}

func newFulfillmentView(f rankr.Fulfillment) fulfillmentView {
	return fulfillmentView{ID: f.ID, LocationID: f.LocationID, OrderID: f.OrderID, Trackings: f.Trackings, Items: f.Items, CreatedAt: f.CreatedAt}
}

type txnView struct {
	ID             string    `json:"id"`
	LocationID     string    `json:"locationId"`
	EntityType     string    `json:"entityType"`
	EntityID       string    `json:"entityId"`
	OrderID        string    `json:"orderId,omitempty"`
	InvoiceID      string    `json:"invoiceId,omitempty"`
	SubscriptionID string    `json:"subscriptionId,omitempty"`
	ContactID      string    `json:"contactId,omitempty"`
	Amount         money     `json:"amount"`
	AmountRefunded money     `json:"amountRefunded"`
	Currency       string    `json:"currency"`
	Status         string    `json:"status"`
	LiveMode       bool      `json:"liveMode"`
	Provider       string    `json:"provider,omitempty"`
	ChargeID       string    `json:"chargeId,omitempty"`
	Timestamp      time.Time `json:"timestamp"`
	UpdatedAt      time.Time `json:"updatedAt"`
	DeletedAt      time.Time `json:"deletedAt,omitzero"`
}

func newTxnView(x rankr.Transaction) txnView {
	return txnView{ID: x.ID, LocationID: x.LocationID, EntityType: x.EntityType, EntityID: x.EntityID, OrderID: x.OrderID,
		InvoiceID: x.InvoiceID, SubscriptionID: x.SubscriptionID, ContactID: x.ContactID, Amount: money{x.Amount, x.Currency},
		AmountRefunded: money{x.AmountRefunded, x.Currency}, Currency: x.Currency, Status: x.Status, LiveMode: x.LiveMode,
		Provider: x.Provider, ChargeID: x.ChargeID, Timestamp: x.CreatedAt, UpdatedAt: x.UpdatedAt, DeletedAt: x.DeletedAt}
}

type subView struct {
	ID                     string    `json:"id"`
	LocationID             string    `json:"locationId"`
	ContactID              string    `json:"contactId,omitempty"`
	ContactName            string    `json:"contactName,omitempty"`
	ContactEmail           string    `json:"contactEmail,omitempty"`
	Amount                 money     `json:"amount"`
	Currency               string    `json:"currency"`
	Status                 string    `json:"status"`
	LiveMode               bool      `json:"liveMode"`
	OrderID                string    `json:"orderId,omitempty"`
	ProviderSubscriptionID string    `json:"providerSubscriptionId,omitempty"`
	Interval               string    `json:"interval,omitempty"`
	IntervalCount          int       `json:"intervalCount,omitempty"`
	NextRunAt              time.Time `json:"nextRunAt,omitzero"`
	CanceledAt             time.Time `json:"canceledAt,omitzero"`
	CreatedAt              time.Time `json:"createdAt"`
	UpdatedAt              time.Time `json:"updatedAt"`
	DeletedAt              time.Time `json:"deletedAt,omitzero"`
}

func newSubView(x rankr.Subscription) subView {
	return subView{ID: x.ID, LocationID: x.LocationID, ContactID: x.ContactID, ContactName: x.ContactName,
		ContactEmail: x.ContactEmail, Amount: money{x.Amount, x.Currency}, Currency: x.Currency, Status: x.Status,
		LiveMode: x.LiveMode, OrderID: x.OrderID, ProviderSubscriptionID: x.ProviderSubscriptionID, Interval: x.Interval,
		IntervalCount: x.IntervalCount, NextRunAt: x.NextRunAt, CanceledAt: x.CanceledAt, CreatedAt: x.CreatedAt,
		UpdatedAt: x.UpdatedAt, DeletedAt: x.DeletedAt}
}

type invoiceView struct {
	ID           string    `json:"id"`
	LocationID   string    `json:"locationId"`
	Number       string    `json:"number"`
	Name         string    `json:"name,omitempty"`
	Status       string    `json:"status"`
	ContactID    string    `json:"contactId,omitempty"`
	ContactName  string    `json:"contactName,omitempty"`
	ContactEmail string    `json:"contactEmail,omitempty"`
	Currency     string    `json:"currency"`
	Total        money     `json:"total"`
	AmountPaid   money     `json:"amountPaid"`
	AmountDue    money     `json:"amountDue"`
	LiveMode     bool      `json:"liveMode"`
	IssueDate    string    `json:"issueDate,omitempty"`
	DueDate      string    `json:"dueDate,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	DeletedAt    time.Time `json:"deletedAt,omitzero"`
}

func newInvoiceView(x rankr.Invoice) invoiceView {
	return invoiceView{ID: x.ID, LocationID: x.LocationID, Number: x.Number, Name: x.Name, Status: x.Status,
		ContactID: x.ContactID, ContactName: x.ContactName, ContactEmail: x.ContactEmail, Currency: x.Currency,
		Total: money{x.Total, x.Currency}, AmountPaid: money{x.AmountPaid, x.Currency}, AmountDue: money{x.AmountDue, x.Currency},
		LiveMode: x.LiveMode, IssueDate: x.IssueDate, DueDate: x.DueDate, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt, DeletedAt: x.DeletedAt}
}

// textOf writes a view as aligned "field  value" lines.
func textOf(v any) func(io.Writer) {
	return func(w io.Writer) {
		b, _ := json.Marshal(v)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		// Keys in the view's own order, not a map's.
		var keys []string
		dec := json.NewDecoder(strings.NewReader(string(b)))
		_, _ = dec.Token()
		for dec.More() {
			k, _ := dec.Token()
			var skip json.RawMessage
			_ = dec.Decode(&skip)
			keys = append(keys, k.(string))
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, k := range keys {
			val := string(m[k])
			var s string
			if json.Unmarshal(m[k], &s) == nil {
				val = s
			}
			fmt.Fprintf(tw, "%s\t%s\n", k, val)
		}
		tw.Flush()
	}
}

// listed turns fetched records into list output.
func listed[R any](rs []R, err error, header string, view func(R) any, row func(R) string) ([]any, string, []string, error) {
	views, rows := make([]any, 0, len(rs)), make([]string, 0, len(rs))
	for _, r := range rs {
		views, rows = append(views, view(r)), append(rows, row(r))
	}
	return views, header, rows, err
}

// shown turns a fetched record into show output, as field lines.
func shown[R, V any](r R, err error, view func(R) V) (any, func(io.Writer), error) {
	if err != nil {
		return nil, nil, err
	}
	v := view(r)
	return v, textOf(v), nil
}

func trackingText(ts []rankr.Tracking) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Carrier+" "+t.Number)
	}
	return dash(strings.Join(out, ", "))
}

type orderKind struct{}

func (orderKind) list(ctx context.Context, st store.Store, p store.ListParams) ([]any, string, []string, error) {
	os, err := st.OrderList(ctx, p)
	return listed(os, err, "ID\tCREATED\tRANKR\tGHL STATUS\tPAYMENT\tFULFILLMENT\tAMOUNT\tCUSTOMER",
		func(o rankr.Order) any { return newOrderView(o) },
		func(o rankr.Order) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", o.ID, when(o.CreatedAt), o.RankrStatus, o.Status, o.PaymentStatus,
				o.FulfillmentStatus, money{o.Amount, o.Currency}, dash(o.ContactName))
		})
}

func (orderKind) show(ctx context.Context, st store.Store, loc, id string) (any, func(io.Writer), error) {
	o, err := st.OrderGet(ctx, loc, id)
	if err != nil {
		return nil, nil, err
	}
	v := newOrderView(o)
	fs, err := st.FulfillmentList(ctx, store.ListParams{LocationID: o.LocationID, OrderID: o.ID, Limit: 1000})
	if err != nil {
		return nil, nil, err
	}
	for _, f := range fs {
		v.Fulfillments = append(v.Fulfillments, newFulfillmentView(f))
	}
	txns, err := st.TransactionList(ctx, store.ListParams{LocationID: o.LocationID, OrderID: o.ID, Limit: 1000, Deleted: true})
	if err != nil {
		return nil, nil, err
	}
	for _, x := range txns {
		v.Transactions = append(v.Transactions, newTxnView(x))
	}
	text := func(w io.Writer) {
		head := v
		head.Items, head.Fulfillments, head.Transactions = nil, nil, nil
		textOf(head)(w)
		if o.Items == nil {
			fmt.Fprintln(w, "\nitems: not fetched yet")
		}
		section(w, "items", "ID\tNAME\tQTY\tUNIT\tTYPE", len(v.Items), func(i int) string {
			it := v.Items[i]
			return fmt.Sprintf("%s\t%s\t%d\t%s\t%s", it.ID, it.Name, it.Qty, it.UnitAmount, dash(it.ProductType))
		})
		section(w, "fulfillments", "ID\tCREATED\tTRACKING\tITEMS", len(v.Fulfillments), func(i int) string {
			f := v.Fulfillments[i]
			return fmt.Sprintf("%s\t%s\t%s\t%d", f.ID, when(f.CreatedAt), trackingText(f.Trackings), len(f.Items))
		})
		section(w, "transactions", "ID\tAT\tSTATUS\tAMOUNT\tREFUNDED\tPROVIDER", len(v.Transactions), func(i int) string {
			x := v.Transactions[i]
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", x.ID, when(x.Timestamp), x.Status, x.Amount, x.AmountRefunded, dash(x.Provider))
		})
	}
	return v, text, nil
}

func section(w io.Writer, title, header string, n int, row func(int) string) {
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for i := range n {
		fmt.Fprintln(tw, row(i))
	}
	tw.Flush()
}

type fulfillmentKind struct{}

func (fulfillmentKind) list(ctx context.Context, st store.Store, p store.ListParams) ([]any, string, []string, error) {
	fs, err := st.FulfillmentList(ctx, p)
	return listed(fs, err, "ID\tCREATED\tORDER\tTRACKING\tITEMS",
		func(f rankr.Fulfillment) any { return newFulfillmentView(f) },
		func(f rankr.Fulfillment) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%d", f.ID, when(f.CreatedAt), f.OrderID, trackingText(f.Trackings), len(f.Items))
		})
}

func (fulfillmentKind) show(ctx context.Context, st store.Store, loc, id string) (any, func(io.Writer), error) {
	f, err := st.FulfillmentGet(ctx, loc, id)
	if err != nil {
		return nil, nil, err
	}
	v := newFulfillmentView(f)
	return v, func(w io.Writer) {
		fmt.Fprintf(w, "id\t%s\norderId\t%s\ncreatedAt\t%s\n", v.ID, v.OrderID, when(v.CreatedAt))
		section(w, "trackings", "CARRIER\tNUMBER\tURL", len(v.Trackings), func(i int) string {
			t := v.Trackings[i]
			return fmt.Sprintf("%s\t%s\t%s", dash(t.Carrier), dash(t.Number), dash(t.URL))
		})
		section(w, "items", "ITEM\tPRICE\tNAME\tQTY", len(v.Items), func(i int) string {
			it := v.Items[i]
			return fmt.Sprintf("%s\t%s\t%s\t%d", it.ItemID, it.PriceID, it.Name, it.Qty)
		})
	}, nil
}

type transactionKind struct{}

func (transactionKind) list(ctx context.Context, st store.Store, p store.ListParams) ([]any, string, []string, error) {
	xs, err := st.TransactionList(ctx, p)
	return listed(xs, err, "ID\tAT\tSTATUS\tAMOUNT\tREFUNDED\tFOR\tPROVIDER",
		func(x rankr.Transaction) any { return newTxnView(x) },
		func(x rankr.Transaction) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s %s\t%s", x.ID, when(x.CreatedAt), x.Status,
				money{x.Amount, x.Currency}, money{x.AmountRefunded, x.Currency}, x.EntityType, x.EntityID, dash(x.Provider))
		})
}

func (transactionKind) show(ctx context.Context, st store.Store, loc, id string) (any, func(io.Writer), error) {
	x, err := st.TransactionGet(ctx, loc, id)
	return shown(x, err, newTxnView)
}

type subscriptionKind struct{}

func (subscriptionKind) list(ctx context.Context, st store.Store, p store.ListParams) ([]any, string, []string, error) {
	xs, err := st.SubscriptionList(ctx, p)
	return listed(xs, err, "ID\tCREATED\tSTATUS\tAMOUNT\tEVERY\tNEXT RUN\tCUSTOMER",
		func(x rankr.Subscription) any { return newSubView(x) },
		func(x rankr.Subscription) string {
			every := "-"
			if x.Interval != "" {
				every = fmt.Sprintf("%s×%d", x.Interval, x.IntervalCount)
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", x.ID, when(x.CreatedAt), x.Status,
				money{x.Amount, x.Currency}, every, when(x.NextRunAt), dash(x.ContactName))
		})
}

func (subscriptionKind) show(ctx context.Context, st store.Store, loc, id string) (any, func(io.Writer), error) {
	x, err := st.SubscriptionGet(ctx, loc, id)
	return shown(x, err, newSubView)
}

type invoiceKind struct{}

func (invoiceKind) list(ctx context.Context, st store.Store, p store.ListParams) ([]any, string, []string, error) {
	xs, err := st.InvoiceList(ctx, p)
	return listed(xs, err, "ID\tNUMBER\tISSUED\tSTATUS\tTOTAL\tDUE\tCUSTOMER",
		func(x rankr.Invoice) any { return newInvoiceView(x) },
		func(x rankr.Invoice) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", x.ID, x.Number, dash(x.IssueDate), x.Status,
				money{x.Total, x.Currency}, money{x.AmountDue, x.Currency}, dash(x.ContactName))
		})
}

func (invoiceKind) show(ctx context.Context, st store.Store, loc, id string) (any, func(io.Writer), error) {
	x, err := st.InvoiceGet(ctx, loc, id)
	return shown(x, err, newInvoiceView)
}
