package cli

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// span is a length of time written as a Go duration (36h, 90m) or in days
// (3d), which is how finance settings are thought of.
type span time.Duration

// UnmarshalText reads a span.
func (s *span) UnmarshalText(b []byte) error {
	d, err := parseSpan(string(b))
	*s = span(d)
	return err
}

// ReconcileFlags are reconciliation's grace periods, on every command that
// reconciles.
type ReconcileFlags struct {
	UnfulfilledAfter span `help:"A paid order with physical items not fulfilled after this is an exception." default:"3d" env:"RANKR_UNFULFILLED_AFTER"`
	UnderpaidAfter   span `help:"A partly paid order not paid in full this long after its last payment is an exception." default:"3d" env:"RANKR_UNDERPAID_AFTER"`
	SettleGrace      span `help:"How long a payment may wait for its order or invoice, and an invoice disagree with its payments, before it is an exception." default:"1h" env:"RANKR_SETTLE_GRACE"`
}

func (f ReconcileFlags) policy() rankr.ReconcilePolicy {
	return rankr.ReconcilePolicy{UnfulfilledAfter: time.Duration(f.UnfulfilledAfter), UnderpaidAfter: time.Duration(f.UnderpaidAfter),
		SettleAfter: time.Duration(f.SettleGrace)}
}

// ReconcileCmd groups the reconciliation commands.
type ReconcileCmd struct {
	Report ReconcileReportCmd `cmd:"" help:"Per order and invoice: expected, collected, refunded, balance, outcome and open exceptions."`
	Run    ReconcileRunCmd    `cmd:"" help:"Reconcile what changed (and what came due) now; rankr serve does it continuously."`
	DataFlags
}

// ReconcileRunCmd reconciles once.
type ReconcileRunCmd struct {
	ReconcileFlags `embed:""`
	Full           bool   `help:"Reconcile every record again (after changing the grace periods)."`
	Location       string `help:"With --full: only this location." env:"RANKR_LOCATION"`
}

// Run reconciles and says what changed.
func (c *ReconcileRunCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{Reconcile: c.policy()})
	if err != nil {
		return err
	}
	defer d.Close()
	d.Reconciler.Slice = 0 // all of it, now
	st, err := d.Reconciler.Run(ctx)
	if err != nil {
		return err
	}
	if c.Full {
		conns, err := d.Store.ConnectionList(ctx)
		if err != nil {
			return err
		}
		for _, conn := range conns {
			if c.Location != "" && conn.LocationID != c.Location {
				continue
			}
			full, err := d.Reconciler.Recompute(ctx, conn.LocationID)
			if err != nil {
				return err
			}
			st.Records += full.Records
			st.Opened += full.Opened
			st.Resolved += full.Resolved
			st.Renewals += full.Renewals
		}
	}
	_, err = fmt.Fprintf(g.stdout, "reconciled %d record(s) from %d change(s): %d exception(s) opened, %d resolved, %d renewal(s) recorded\n",
		st.Records, st.Events, st.Opened, st.Resolved, st.Renewals)
	return err
}

// ReconcileReportCmd prints the reconciliation report.
type ReconcileReportCmd struct {
	Location       string `help:"Only this location." env:"RANKR_LOCATION"`
	Since          string `help:"Only records created since: a span back from now (30d, 12h) or a date (2026-05-01)."`
	Format         string `help:"table, json or csv." enum:"table,json,csv" default:"table"`
	ExceptionsOnly bool   `help:"Only records with open exceptions."`
}

// reportRow is one line of the report: an order, an invoice, or a payment
// that belongs to neither (an orphan).
type reportRow struct {
	LocationID    string    `json:"locationId"`
	RecordType    string    `json:"recordType"`
	ID            string    `json:"id"`
	CreatedAt     time.Time `json:"createdAt"`
	Currency      string    `json:"currency"`
	LiveMode      bool      `json:"liveMode"`
	Expected      money     `json:"expected"`
	Collected     money     `json:"collected"`
	Refunded      money     `json:"refunded"`
	Balance       money     `json:"balance"`
	Outcome       string    `json:"outcome"`
	PaymentStatus string    `json:"paymentStatus,omitempty"`
	Exceptions    []string  `json:"exceptions"`
	exceptions    []rankr.Exception
}

type reportTotal struct {
	Currency   string `json:"currency"`
	Records    int    `json:"records"`
	Expected   money  `json:"expected"`
	Collected  money  `json:"collected"`
	Refunded   money  `json:"refunded"`
	Balance    money  `json:"balance"`
	Exceptions int    `json:"openExceptions"`
}

type exceptionView struct {
	ID         int64          `json:"id"`
	Kind       string         `json:"kind"`
	RecordType string         `json:"recordType"`
	RecordID   string         `json:"recordId"`
	EntityType string         `json:"entityType,omitempty"`
	EntityID   string         `json:"entityId,omitempty"`
	Amount     money          `json:"amount"`
	Message    string         `json:"message"`
	Detail     map[string]any `json:"detail,omitempty"`
	OpenedAt   time.Time      `json:"openedAt"`
}

// Run prints the report.
func (c *ReconcileReportCmd) Run(ctx context.Context, g *Globals) error {
	since, err := parseSince(c.Since, time.Now())
	if err != nil {
		return err
	}
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	rows, totals, err := reconcileReport(ctx, d.Store, c.Location, since, c.ExceptionsOnly)
	if err != nil {
		return err
	}
	switch c.Format {
	case "json":
		if rows == nil {
			rows = []reportRow{}
		}
		var exc []exceptionView
		for _, r := range rows {
			for _, e := range r.exceptions {
				exc = append(exc, exceptionView{ID: e.ID, Kind: e.Kind, RecordType: e.RecordType, RecordID: e.RecordID,
					EntityType: e.EntityType, EntityID: e.EntityID, Amount: money{e.Amount, e.Currency}, Message: e.Message,
					Detail: e.Detail, OpenedAt: e.OpenedAt})
			}
		}
		if totals == nil {
			totals = []reportTotal{}
		}
		if exc == nil {
			exc = []exceptionView{}
		}
		return writeJSON(g.stdout, map[string]any{"rows": rows, "totals": totals, "exceptions": exc})
	case "csv":
		return writeReportCSV(g.stdout, rows)
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(g.stdout, "nothing to report: no reconciled records (run `rankr reconcile run`, or keep `rankr serve` running)")
		return err
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "RECORD\tID\tCREATED\tCURRENCY\tEXPECTED\tCOLLECTED\tREFUNDED\tBALANCE\tOUTCOME\tEXCEPTIONS\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.RecordType, r.ID, when(r.CreatedAt), r.Currency,
			amount(r.Expected), amount(r.Collected), amount(r.Refunded), amount(r.Balance), r.Outcome, dash(strings.Join(r.Exceptions, ",")))
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t")
	for _, t := range totals {
		fmt.Fprintf(tw, "TOTAL\t%d record(s)\t\t%s\t%s\t%s\t%s\t%s\t\t%d open\t\n", t.Records, t.Currency, amount(t.Expected),
			amount(t.Collected), amount(t.Refunded), amount(t.Balance), t.Exceptions)
	}
	return tw.Flush()
}

func amount(m money) string { return rankr.FormatMinor(m.minor, m.currency) }

// reconcileReport builds the report's rows (newest first) and its totals
// per currency.
func reconcileReport(ctx context.Context, st store.Store, loc string, since time.Time, exceptionsOnly bool) ([]reportRow, []reportTotal, error) {
	var balances []rankr.Balance
	const page = 10000
	for offset := 0; ; offset += page {
		bs, err := st.BalanceList(ctx, store.BalanceListParams{LocationID: loc, Since: since, Limit: page, Offset: offset})
		if err != nil {
			return nil, nil, err
		}
		balances = append(balances, bs...)
		if len(bs) < page {
			break
		}
	}
	var open []rankr.Exception
	for offset := 0; ; offset += page {
		es, err := st.ExceptionList(ctx, store.ExceptionListParams{LocationID: loc, Since: since, Limit: page, Offset: offset})
		if err != nil {
			return nil, nil, err
		}
		open = append(open, es...)
		if len(es) < page {
			break
		}
	}
	rows := make([]reportRow, 0, len(balances))
	index := map[[3]string]int{}
	for _, b := range balances {
		index[[3]string{b.LocationID, b.RecordType, b.RecordID}] = len(rows)
		rows = append(rows, reportRow{LocationID: b.LocationID, RecordType: b.RecordType, ID: b.RecordID, CreatedAt: b.RecordCreatedAt,
			Currency: b.Currency, LiveMode: b.LiveMode, Expected: money{b.Expected, b.Currency}, Collected: money{b.Collected, b.Currency},
			Refunded: money{b.Refunded, b.Currency}, Balance: money{b.Balance, b.Currency}, Outcome: b.Outcome, PaymentStatus: b.PaymentStatus})
	}
	// Exceptions go on their order's or invoice's line; a payment whose
	// entity has no line gets its own.
	slices.SortFunc(open, func(a, b rankr.Exception) int { return cmp.Compare(a.ID, b.ID) })
	for _, e := range open {
		i, ok := index[[3]string{e.LocationID, e.EntityType, e.EntityID}]
		if !ok {
			i, ok = index[[3]string{e.LocationID, e.RecordType, e.RecordID}]
		}
		if !ok {
			i = len(rows)
			index[[3]string{e.LocationID, e.RecordType, e.RecordID}] = i
			rows = append(rows, reportRow{LocationID: e.LocationID, RecordType: e.RecordType, ID: e.RecordID, CreatedAt: e.RecordCreatedAt,
				Currency: e.Currency, Expected: money{0, e.Currency}, Collected: money{e.Amount, e.Currency}, Refunded: money{0, e.Currency},
				Balance: money{-e.Amount, e.Currency}, Outcome: e.Kind})
		}
		label := e.Kind
		if e.RecordType != rows[i].RecordType || e.RecordID != rows[i].ID {
			label += "(" + e.RecordType + " " + e.RecordID + ")"
		}
		rows[i].Exceptions = append(rows[i].Exceptions, label)
		rows[i].exceptions = append(rows[i].exceptions, e)
	}
	if exceptionsOnly {
		rows = slices.DeleteFunc(rows, func(r reportRow) bool { return len(r.Exceptions) == 0 })
	}
	slices.SortStableFunc(rows, func(a, b reportRow) int { return b.CreatedAt.Compare(a.CreatedAt) })
	byCur := map[string]*reportTotal{}
	for i := range rows {
		r := &rows[i]
		if r.Exceptions == nil {
			r.Exceptions = []string{}
		}
		t, ok := byCur[r.Currency]
		if !ok {
			t = &reportTotal{Currency: r.Currency, Expected: money{0, r.Currency}, Collected: money{0, r.Currency},
				Refunded: money{0, r.Currency}, Balance: money{0, r.Currency}}
			byCur[r.Currency] = t
		}
		if r.RecordType == rankr.RecordInvoice {
			// An invoice paid through its order would count twice.
			t.Exceptions += len(r.exceptions)
			continue
		}
		t.Records++
		t.Expected.minor += r.Expected.minor
		t.Collected.minor += r.Collected.minor
		t.Refunded.minor += r.Refunded.minor
		t.Balance.minor += r.Balance.minor
		t.Exceptions += len(r.exceptions)
	}
	var totals []reportTotal
	for _, cur := range slices.Sorted(maps.Keys(byCur)) {
		totals = append(totals, *byCur[cur])
	}
	return rows, totals, nil
}

func writeReportCSV(w io.Writer, rows []reportRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"location_id", "record_type", "id", "created_at", "currency", "live_mode", "expected", "collected",
		"refunded", "balance", "outcome", "payment_status", "exceptions"})
	for _, r := range rows {
		_ = cw.Write([]string{r.LocationID, r.RecordType, r.ID, r.CreatedAt.UTC().Format(time.RFC3339), r.Currency,
			strconv.FormatBool(r.LiveMode), amount(r.Expected), amount(r.Collected), amount(r.Refunded), amount(r.Balance),
			r.Outcome, r.PaymentStatus, strings.Join(r.Exceptions, ";")})
	}
	cw.Flush()
	return cw.Error()
}

// SubscriptionsCmd lists or shows subscriptions, and the renewals due.
type SubscriptionsCmd struct {
	RecordCmd[subscriptionKind] `embed:""`
	Upcoming                    SubscriptionsUpcomingCmd `cmd:"" help:"Subscriptions due to renew soon (and overdue ones), soonest first."`
}

// SubscriptionsUpcomingCmd lists renewals due.
type SubscriptionsUpcomingCmd struct {
	Within   span   `help:"How far ahead to look (7d, 36h)." default:"7d"`
	Location string `help:"Only this location." env:"RANKR_LOCATION"`
	Limit    int    `help:"At most this many." default:"100"`
	JSON     bool   `help:"Print a JSON array." name:"json"`
}

// Run lists the upcoming renewals.
func (c *SubscriptionsUpcomingCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	now := time.Now()
	subs, err := d.Store.SubscriptionsUpcoming(ctx, store.UpcomingParams{LocationID: c.Location, Before: now.Add(time.Duration(c.Within)), Limit: c.Limit})
	if err != nil {
		return err
	}
	if c.JSON {
		views := make([]subView, 0, len(subs))
		for _, s := range subs {
			views = append(views, newSubView(s))
		}
		return writeJSON(g.stdout, views)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNEXT RUN\tDUE\tSTATUS\tAMOUNT\tEVERY\tCUSTOMER")
	for _, s := range subs {
		due := "in " + roundDays(s.NextRunAt.Sub(now))
		if s.NextRunAt.Before(now) {
			due = "overdue " + roundDays(now.Sub(s.NextRunAt))
		}
		every := "-"
		if s.Interval != "" {
			every = fmt.Sprintf("%s×%d", s.Interval, s.IntervalCount)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, when(s.NextRunAt), due, s.Status, money{s.Amount, s.Currency}, every, dash(s.ContactName))
	}
	return tw.Flush()
}

func roundDays(d time.Duration) string {
	if d < 24*time.Hour {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
