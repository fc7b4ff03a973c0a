package app

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// ReportRow is one line of the report: an order, an invoice, or a payment
// that belongs to neither (an orphan).
type ReportRow struct {
	LocationID    string    `json:"locationId"`
	RecordType    string    `json:"recordType"`
	ID            string    `json:"id"`
	CreatedAt     time.Time `json:"createdAt"`
	Currency      string    `json:"currency"`
	LiveMode      bool      `json:"liveMode"`
	Expected      Money     `json:"expected"`
	Collected     Money     `json:"collected"`
	Refunded      Money     `json:"refunded"`
	Balance       Money     `json:"balance"`
	Outcome       string    `json:"outcome"`
	PaymentStatus string    `json:"paymentStatus,omitempty"`
	Exceptions    []string  `json:"exceptions"`
	exceptions    []rankr.Exception
}

// ReportTotal sums the report's orders and orphan payments of one
// currency (invoices are counted in their exceptions only: one paid
// through its order would count twice).
type ReportTotal struct {
	Currency   string `json:"currency"`
	Records    int    `json:"records"`
	Expected   Money  `json:"expected"`
	Collected  Money  `json:"collected"`
	Refunded   Money  `json:"refunded"`
	Balance    Money  `json:"balance"`
	Exceptions int    `json:"openExceptions"`
}

// Exception is an open reconciliation exception, with its figures and what
// to do about it.
type Exception struct {
	ID         int64          `json:"id"`
	Kind       string         `json:"kind"`
	RecordType string         `json:"recordType"`
	RecordID   string         `json:"recordId"`
	EntityType string         `json:"entityType,omitempty"`
	EntityID   string         `json:"entityId,omitempty"`
	Amount     Money          `json:"amount"`
	Message    string         `json:"message"`
	Detail     map[string]any `json:"detail,omitempty"`
	OpenedAt   time.Time      `json:"openedAt"`
	ResolvedAt time.Time      `json:"resolvedAt,omitzero"`
	// Fix says what to do.
	Fix string `json:"fix"`
}

// reconcileRows builds the report's rows (newest first) and its totals
// per currency.
func reconcileRows(ctx context.Context, st store.Store, c Caller, loc string, since time.Time, exceptionsOnly bool) ([]ReportRow, []ReportTotal, error) {
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
	rows := make([]ReportRow, 0, len(balances))
	index := map[[3]string]int{}
	for _, b := range balances {
		index[[3]string{b.LocationID, b.RecordType, b.RecordID}] = len(rows)
		rows = append(rows, ReportRow{LocationID: b.LocationID, RecordType: b.RecordType, ID: b.RecordID, CreatedAt: b.RecordCreatedAt,
			Currency: b.Currency, LiveMode: b.LiveMode, Expected: Money{b.Expected, b.Currency}, Collected: Money{b.Collected, b.Currency},
			Refunded: Money{b.Refunded, b.Currency}, Balance: Money{b.Balance, b.Currency}, Outcome: b.Outcome, PaymentStatus: b.PaymentStatus})
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
			rows = append(rows, ReportRow{LocationID: e.LocationID, RecordType: e.RecordType, ID: e.RecordID, CreatedAt: e.RecordCreatedAt,
				Currency: e.Currency, Expected: Money{0, e.Currency}, Collected: Money{e.Amount, e.Currency}, Refunded: Money{0, e.Currency},
				Balance: Money{-e.Amount, e.Currency}, Outcome: e.Kind})
		}
		label := e.Kind
		if e.RecordType != rows[i].RecordType || e.RecordID != rows[i].ID {
			label += "(" + e.RecordType + " " + e.RecordID + ")"
		}
		rows[i].Exceptions = append(rows[i].Exceptions, label)
		rows[i].exceptions = append(rows[i].exceptions, e)
	}
	rows = slices.DeleteFunc(rows, func(r ReportRow) bool { return exceptionsOnly && len(r.Exceptions) == 0 || !c.Sees(r.LocationID) })
	slices.SortStableFunc(rows, func(a, b ReportRow) int { return b.CreatedAt.Compare(a.CreatedAt) })
	byCur := map[string]*ReportTotal{}
	for i := range rows {
		r := &rows[i]
		if r.Exceptions == nil {
			r.Exceptions = []string{}
		}
		t, ok := byCur[r.Currency]
		if !ok {
			t = &ReportTotal{Currency: r.Currency, Expected: Money{0, r.Currency}, Collected: Money{0, r.Currency},
				Refunded: Money{0, r.Currency}, Balance: Money{0, r.Currency}}
			byCur[r.Currency] = t
		}
		if r.RecordType == rankr.RecordInvoice {
			// An invoice paid through its order would count twice.
			t.Exceptions += len(r.exceptions)
			continue
		}
		t.Records++
		t.Expected.Minor += r.Expected.Minor
		t.Collected.Minor += r.Collected.Minor
		t.Refunded.Minor += r.Refunded.Minor
		t.Balance.Minor += r.Balance.Minor
		t.Exceptions += len(r.exceptions)
	}
	var totals []ReportTotal
	for _, cur := range slices.Sorted(maps.Keys(byCur)) {
		totals = append(totals, *byCur[cur])
	}
	return rows, totals, nil
}

// Report is the reconciliation report: per order and invoice (and orphan
// payment), expected, collected, refunded, balance, outcome and open
// exceptions, newest first, with totals per currency.
type Report struct {
	Rows       []ReportRow   `json:"rows"`
	Totals     []ReportTotal `json:"totals"`
	Exceptions []Exception   `json:"exceptions"`
}

// ReportQuery selects the report's records.
type ReportQuery struct {
	Location       string
	Since          time.Time // records created since
	ExceptionsOnly bool
}

// ReconcileReport builds the report.
func (a *App) ReconcileReport(ctx context.Context, c Caller, q ReportQuery) (Report, error) {
	if err := c.location(q.Location); err != nil {
		return Report{}, err
	}
	rows, totals, err := reconcileRows(ctx, a.d.Store, c, q.Location, q.Since, q.ExceptionsOnly)
	if err != nil {
		return Report{}, err
	}
	r := Report{Rows: rows, Totals: totals, Exceptions: []Exception{}}
	if r.Rows == nil {
		r.Rows = []ReportRow{}
	}
	if r.Totals == nil {
		r.Totals = []ReportTotal{}
	}
	for _, row := range rows {
		for _, e := range row.exceptions {
			r.Exceptions = append(r.Exceptions, NewException(e))
		}
	}
	return r, nil
}

// NewException is the view of an exception.
func NewException(e rankr.Exception) Exception {
	return Exception{ID: e.ID, Kind: e.Kind, RecordType: e.RecordType, RecordID: e.RecordID, EntityType: e.EntityType,
		EntityID: e.EntityID, Amount: Money{e.Amount, e.Currency}, Message: e.Message, Detail: e.Detail, OpenedAt: e.OpenedAt,
		ResolvedAt: e.ResolvedAt, Fix: exceptionFixes[e.Kind]}
}

// exceptionFixes say, per kind, what an operator does about an exception.
// Each resolves itself once the data no longer shows it.
var exceptionFixes = map[string]string{
	rankr.ExceptionUnderpaid: "Collect the rest (GHL: the order or invoice, record or request a payment), or refund what was paid " +
		"and cancel the order; a payment plan still running needs nothing.",
	rankr.ExceptionOverpaid: "Refund the difference to the customer in GHL (Payments > Transactions > refund), or apply it " +
		"to another order of theirs.",
	rankr.ExceptionPaidUnfulfilled: "Ship it: push a fulfillment with its tracking number (rankr fulfill, or the dashboard's " +
		"fulfillment queue); if it will not ship, refund it in GHL.",
	rankr.ExceptionOrphan: "Find what the payment was for: attach it to its order or invoice in GHL, or refund it; if its " +
		"order was deleted in GHL on purpose, refund the payment.",
	rankr.ExceptionLiveTestMismatch: "A test payment on a live order (or the reverse): check the payment provider's mode in GHL " +
		"and take the payment again in the right mode.",
	rankr.ExceptionCurrencyMismatch: "The payment's currency is not its order's: refund it and charge again in the order's currency.",
	rankr.ExceptionInvoiceMismatch: "The invoice's paid amount or status disagrees with its payments: record the payment on the " +
		"invoice in GHL (or void the duplicate) so that both agree.",
}

// ExceptionQuery selects exceptions.
type ExceptionQuery struct {
	Location string
	Kind     string
	// Resolved includes resolved exceptions.
	Resolved bool
	Limit    int
	Cursor   string
}

// Exceptions lists reconciliation exceptions, newest first.
func (a *App) Exceptions(ctx context.Context, c Caller, q ExceptionQuery) (Page[Exception], error) {
	if err := c.location(q.Location); err != nil {
		return Page[Exception]{}, err
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return Page[Exception]{}, fieldErr("limit", "want 1 to %d, not %d", MaxLimit, q.Limit)
	}
	limit := cmp.Or(q.Limit, 50)
	offset := 0
	if q.Cursor != "" {
		var err error
		if offset, err = decodeOffset(q.Cursor); err != nil {
			return Page[Exception]{}, fieldErr("cursor", "not a cursor this list gave: start again without it")
		}
	}
	out := Page[Exception]{Items: []Exception{}}
	// A key bound to locations reads the list past the others'.
	for len(out.Items) < limit {
		es, err := a.d.Store.ExceptionList(ctx, store.ExceptionListParams{LocationID: q.Location, Kind: q.Kind, Resolved: q.Resolved,
			Limit: limit, Offset: offset})
		if err != nil {
			return Page[Exception]{}, err
		}
		for _, e := range es {
			offset++
			if c.Sees(e.LocationID) {
				out.Items = append(out.Items, NewException(e))
				if len(out.Items) == limit {
					break
				}
			}
		}
		if len(es) < limit {
			return out, nil
		}
	}
	out.NextCursor = encodeOffset(offset)
	return out, nil
}

// ReconcileRun reconciles what changed (and came due) now and, with full,
// every record again (of loc, or of every location): after the grace
// periods changed. rankr serve reconciles continuously; this is for now.
func (a *App) ReconcileRun(ctx context.Context, c Caller, full bool, loc string) (flows.ReconcileStats, error) {
	if a.d.Reconciler == nil {
		return flows.ReconcileStats{}, unavailable("reconciliation", "run rankr serve")
	}
	if err := c.location(loc); err != nil {
		return flows.ReconcileStats{}, err
	}
	st, err := a.d.Reconciler.Run(ctx)
	if err != nil || !full {
		return st, err
	}
	conns, err := a.d.Store.ConnectionList(ctx)
	if err != nil {
		return st, err
	}
	for _, conn := range conns {
		if loc != "" && conn.LocationID != loc || !c.Sees(conn.LocationID) {
			continue
		}
		more, err := a.d.Reconciler.Recompute(ctx, conn.LocationID)
		if err != nil {
			return st, err
		}
		st.Records += more.Records
		st.Opened += more.Opened
		st.Resolved += more.Resolved
		st.Renewals += more.Renewals
	}
	return st, nil
}
