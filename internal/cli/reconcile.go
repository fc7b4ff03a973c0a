package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
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
	st, err := d.App.ReconcileRun(ctx, host(), c.Full, c.Location)
	if err != nil {
		return err
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

// reportException is an exception as the report's JSON has it: the
// use case's view without its fix, which the CLI's report leaves out.
type reportException struct {
	app.Exception
	Fix struct{} `json:"fix,omitzero"`
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
	rep, err := d.App.ReconcileReport(ctx, host(), app.ReportQuery{Location: c.Location, Since: since, ExceptionsOnly: c.ExceptionsOnly})
	if err != nil {
		return err
	}
	rows, totals := rep.Rows, rep.Totals
	switch c.Format {
	case "json":
		exc := make([]reportException, len(rep.Exceptions))
		for i, e := range rep.Exceptions {
			exc[i].Exception = e
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

func amount(m app.Money) string { return rankr.FormatMinor(m.Minor, m.Currency) }

func writeReportCSV(w io.Writer, rows []app.ReportRow) error {
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
	subs, err := d.App.UpcomingRenewals(ctx, host(), app.RenewalQuery{Location: c.Location, Within: time.Duration(c.Within),
		Limit: pageLimit(c.Limit)})
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, subs)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNEXT RUN\tDUE\tSTATUS\tAMOUNT\tEVERY\tCUSTOMER")
	for _, s := range subs {
		due := "in " + roundDays(s.NextRunAt.Sub(now))
		if s.NextRunAt.Before(now) {
			due = "overdue " + roundDays(now.Sub(s.NextRunAt))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, when(s.NextRunAt), due, s.Status, s.Amount, every(s), dash(s.ContactName))
	}
	return tw.Flush()
}

func roundDays(d time.Duration) string {
	if d < 24*time.Hour {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
