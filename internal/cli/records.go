package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
)

// recordKind is one kind of record the list and show commands handle.
type recordKind interface {
	// list returns the records as JSON views and as table rows.
	list(ctx context.Context, a *app.App, q app.RecordQuery) (views []any, header string, rows []string, err error)
	// show returns one record as a JSON view and writes it for humans.
	show(ctx context.Context, a *app.App, loc, id string) (view any, text func(io.Writer), err error)
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
	views, header, rows, err := k.list(ctx, d.App, app.RecordQuery{Location: c.Location, Status: c.Status,
		Order: c.Order, Limit: pageLimit(c.Limit), Offset: max(c.Offset, 0), Deleted: c.Deleted})
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
	view, text, err := k.show(ctx, d.App, c.Location, c.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, view)
	}
	text(g.stdout)
	return nil
}

// pageLimit is a --limit as the use cases take it: the store reads at
// most app.MaxLimit records at once, and a negative --limit as none (its
// default), and so do the commands.
func pageLimit(n int) int { return min(max(n, 0), app.MaxLimit) }

// flagError names the flag behind a use case's bad field (flags maps the
// field to it), so that a refusal speaks of what the command took.
func flagError(err error, flags map[string]string) error {
	if fe, ok := app.AsFieldError(err); ok && flags[fe.Field] != "" {
		return fmt.Errorf("%s: %s", flags[fe.Field], fe.Message)
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

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

// listed turns a page of records into list output.
func listed[V any](p app.Page[V], err error, header string, row func(V) string) ([]any, string, []string, error) {
	views, rows := make([]any, 0, len(p.Items)), make([]string, 0, len(p.Items))
	for _, v := range p.Items {
		views, rows = append(views, v), append(rows, row(v))
	}
	return views, header, rows, err
}

// shown turns a record's view into show output, as field lines.
func shown[V any](v V, err error) (any, func(io.Writer), error) {
	if err != nil {
		return nil, nil, err
	}
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

func (orderKind) list(ctx context.Context, a *app.App, q app.RecordQuery) ([]any, string, []string, error) {
	p, err := a.Orders(ctx, host(), q)
	return listed(p, err, "ID\tCREATED\tRANKR\tGHL STATUS\tPAYMENT\tFULFILLMENT\tAMOUNT\tCUSTOMER",
		func(o app.Order) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", o.ID, when(o.CreatedAt), o.RankrStatus, o.Status, o.PaymentStatus,
				o.FulfillmentStatus, o.Amount, dash(o.ContactName))
		})
}

func (orderKind) show(ctx context.Context, a *app.App, loc, id string) (any, func(io.Writer), error) {
	d, err := a.OrderShow(ctx, host(), loc, id)
	if err != nil {
		return nil, nil, err
	}
	// The CLI shows the order with its items, fulfillments and payments.
	v := d.Order
	text := func(w io.Writer) {
		head := v
		head.Items, head.Fulfillments, head.Transactions = nil, nil, nil
		textOf(head)(w)
		if !d.ItemsFetched {
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

func (fulfillmentKind) list(ctx context.Context, a *app.App, q app.RecordQuery) ([]any, string, []string, error) {
	p, err := a.Fulfillments(ctx, host(), q)
	return listed(p, err, "ID\tCREATED\tORDER\tTRACKING\tITEMS",
		func(f app.Fulfillment) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%d", f.ID, when(f.CreatedAt), f.OrderID, trackingText(f.Trackings), len(f.Items))
		})
}

func (fulfillmentKind) show(ctx context.Context, a *app.App, loc, id string) (any, func(io.Writer), error) {
	v, err := a.Fulfillment(ctx, host(), loc, id)
	if err != nil {
		return nil, nil, err
	}
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

func (transactionKind) list(ctx context.Context, a *app.App, q app.RecordQuery) ([]any, string, []string, error) {
	p, err := a.Transactions(ctx, host(), q)
	return listed(p, err, "ID\tAT\tSTATUS\tAMOUNT\tREFUNDED\tFOR\tPROVIDER",
		func(x app.Transaction) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s %s\t%s", x.ID, when(x.Timestamp), x.Status,
				x.Amount, x.AmountRefunded, x.EntityType, x.EntityID, dash(x.Provider))
		})
}

func (transactionKind) show(ctx context.Context, a *app.App, loc, id string) (any, func(io.Writer), error) {
	return shown(a.Transaction(ctx, host(), loc, id))
}

type subscriptionKind struct{}

func (subscriptionKind) list(ctx context.Context, a *app.App, q app.RecordQuery) ([]any, string, []string, error) {
	p, err := a.Subscriptions(ctx, host(), q)
	return listed(p, err, "ID\tCREATED\tSTATUS\tAMOUNT\tEVERY\tNEXT RUN\tCUSTOMER",
		func(x app.Subscription) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", x.ID, when(x.CreatedAt), x.Status,
				x.Amount, every(x), when(x.NextRunAt), dash(x.ContactName))
		})
}

// every is how often a subscription renews, as the tables write it.
func every(x app.Subscription) string {
	if x.Interval == "" {
		return "-"
	}
	return fmt.Sprintf("%s×%d", x.Interval, x.IntervalCount)
}

func (subscriptionKind) show(ctx context.Context, a *app.App, loc, id string) (any, func(io.Writer), error) {
	return shown(a.Subscription(ctx, host(), loc, id))
}

type invoiceKind struct{}

func (invoiceKind) list(ctx context.Context, a *app.App, q app.RecordQuery) ([]any, string, []string, error) {
	p, err := a.Invoices(ctx, host(), q)
	return listed(p, err, "ID\tNUMBER\tISSUED\tSTATUS\tTOTAL\tDUE\tCUSTOMER",
		func(x app.Invoice) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", x.ID, x.Number, dash(x.IssueDate), x.Status,
				x.Total, x.AmountDue, dash(x.ContactName))
		})
}

func (invoiceKind) show(ctx context.Context, a *app.App, loc, id string) (any, func(io.Writer), error) {
	return shown(a.Invoice(ctx, host(), loc, id))
}

type productKind struct{}

func (productKind) list(ctx context.Context, a *app.App, q app.RecordQuery) ([]any, string, []string, error) {
	p, err := a.Products(ctx, host(), q)
	return listed(p, err, "ID\tCREATED\tTYPE\tIN STORE\tNAME",
		func(x app.Product) string {
			return fmt.Sprintf("%s\t%s\t%s\t%t\t%s", x.ID, when(x.CreatedAt), dash(x.ProductType), x.AvailableInStore, x.Name)
		})
}

func (productKind) show(ctx context.Context, a *app.App, loc, id string) (any, func(io.Writer), error) {
	v, err := a.Product(ctx, host(), loc, id)
	if err != nil {
		return nil, nil, err
	}
	return v, func(w io.Writer) {
		fmt.Fprintf(w, "id\t%s\nlocationId\t%s\nname\t%s\nproductType\t%s\navailableInStore\t%t\ncreatedAt\t%s\nupdatedAt\t%s\n",
			v.ID, v.LocationID, v.Name, dash(v.ProductType), v.AvailableInStore, when(v.CreatedAt), when(v.UpdatedAt))
		if !v.DeletedAt.IsZero() {
			fmt.Fprintf(w, "deletedAt\t%s\n", when(v.DeletedAt))
		}
		if v.Description != "" {
			fmt.Fprintf(w, "description\t%s\n", v.Description)
		}
		section(w, "prices", "ID\tNAME\tTYPE\tAMOUNT\tEVERY\tSKU\tSTOCK", len(v.Prices), func(i int) string {
			p := v.Prices[i]
			every, stock := "-", "-"
			if p.Interval != "" {
				every = fmt.Sprintf("%s×%d", p.Interval, p.IntervalCount)
			}
			if p.AvailableQuantity != nil {
				stock = fmt.Sprint(*p.AvailableQuantity)
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", p.ID, p.Name, p.Type, p.Amount, every, dash(p.SKU), stock)
		})
	}, nil
}
