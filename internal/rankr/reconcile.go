package rankr

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Reconciliation matches the money GHL reports (transactions) against what
// it was for (orders and invoices) and says, per record, where the money
// stands and what a finance user must look at.
//
// The rules, in one place (ReconcileOrder, ReconcileInvoice and
// ReconcileTransaction apply them; they are pure, so that they can be
// table-tested and re-run at will):
//
//   - A transaction counts towards its order or invoice when its money
//     arrived (CollectedStatus), it is not deleted in GHL, and it is in the
//     record's currency and mode (live or test). One that is not is left out
//     of the balance and is an exception of its own: test money does not pay
//     a live order, and euros do not pay a dollar invoice.
//   - collected sums those transactions, refunded their refunds; balance is
//     expected - (collected - refunded): positive is still owed by the
//     customer, negative is owed to the customer.
//   - Outcomes of a balance, and whether they are exceptions:
//     unpaid (nothing collected yet: an open receivable, not an exception),
//     matched (the net collected equals what was expected), underpaid (an
//     exception once the shortfall has stood UnderpaidAfter since the last
//     payment: deposits and payment plans are normal for a while), overpaid
//     (an exception at once: money to give back), refunded and
//     partially_refunded (decisions taken in GHL: outcomes, not exceptions).
//   - paid_unfulfilled: an order paid in full, not refunded in full, with
//     physical items and not fulfilled UnfulfilledAfter after it was paid.
//     An order whose items are not known yet is not judged.
//   - orphan_transaction: money (collected, not refunded in full) whose
//     entity Rankr does not hold (or holds as deleted in GHL) SettleAfter
//     after the payment, or that names no entity at all (at once).
//     Transactions of entity types Rankr does not keep are not judged.
//   - live_test_mismatch and currency_mismatch: money whose mode or currency
//     differs from its order's, invoice's or subscription's, at once.
//   - invoice_mismatch: an invoice whose own amountPaid or status disagrees
//     with the transactions that paid it, once the disagreement has stood
//     SettleAfter (invoices and transactions come from different GHL lists,
//     so they may disagree for a moment). amountPaid is compared with the
//     gross collected: GHL keeps an invoice paid after a refund.
//
// An exception is open while its finding holds; it resolves itself when
// later data no longer produces it. Opening and resolving are events
// (ExceptionOpened, ExceptionResolved), which are what alerts are sent from.

// Balance outcomes.
const (
	OutcomeUnpaid            = "unpaid"
	OutcomeMatched           = "matched"
	OutcomeUnderpaid         = "underpaid"
	OutcomeOverpaid          = "overpaid"
	OutcomeRefunded          = "refunded"
	OutcomePartiallyRefunded = "partially_refunded"
)

// Exception kinds. Underpaid and overpaid share their outcome's name.
const (
	ExceptionUnderpaid        = OutcomeUnderpaid
	ExceptionOverpaid         = OutcomeOverpaid
	ExceptionPaidUnfulfilled  = "paid_unfulfilled"
	ExceptionOrphan           = "orphan_transaction"
	ExceptionLiveTestMismatch = "live_test_mismatch"
	ExceptionCurrencyMismatch = "currency_mismatch"
	ExceptionInvoiceMismatch  = "invoice_mismatch"
)

// Reconciliation events. Each carries an ExceptionEvent (or, for renewals,
// a RenewalEvent) as its data.
const (
	ExceptionOpened   = "reconcile.exception_opened"
	ExceptionResolved = "reconcile.exception_resolved"
	// SubscriptionInvoiced: a renewal was recorded and Rankr's invoicing
	// record for it created. (SubscriptionRenewed, earlier, says GHL charged.)
	SubscriptionInvoiced = "subscription.invoiced"
)

// RecordException names exceptions in events.
const RecordException = "reconcile_exception"

// ReconcilePolicy holds the time-based settings of reconciliation.
type ReconcilePolicy struct {
	// UnfulfilledAfter: how long a paid order may wait to be fulfilled
	// (default 3 days).
	UnfulfilledAfter time.Duration
	// UnderpaidAfter: how long a partly paid order may wait for the rest
	// (default 3 days).
	UnderpaidAfter time.Duration
	// SettleAfter: how long records from different GHL lists may disagree
	// before it is an exception (default 1 hour).
	SettleAfter time.Duration
}

// WithDefaults fills unset settings.
func (p ReconcilePolicy) WithDefaults() ReconcilePolicy {
	p.UnfulfilledAfter = cmp.Or(p.UnfulfilledAfter, 72*time.Hour)
	p.UnderpaidAfter = cmp.Or(p.UnderpaidAfter, 72*time.Hour)
	p.SettleAfter = cmp.Or(p.SettleAfter, time.Hour)
	return p
}

// RecordRef names a record of a location.
type RecordRef struct {
	LocationID string `json:"locationId"`
	Type       string `json:"recordType"`
	ID         string `json:"recordId"`
}

// Balance is where the money of an order or an invoice stands.
type Balance struct {
	LocationID string `json:"locationId"`
	RecordType string `json:"recordType"` // order or invoice
	RecordID   string `json:"recordId"`
	Currency   string `json:"currency"`
	LiveMode   bool   `json:"liveMode"`
	Expected   int64  `json:"expected"`
	Collected  int64  `json:"collected"`
	Refunded   int64  `json:"refunded"`
	// Balance is Expected - (Collected - Refunded).
	Balance int64  `json:"balance"`
	Outcome string `json:"outcome"`
	// PaymentStatus is the record's payment status derived from the
	// matching transactions (paid, partially_paid...).
	PaymentStatus string `json:"paymentStatus"`
	// RecordCreatedAt is when GHL created the order or invoice.
	RecordCreatedAt time.Time `json:"recordCreatedAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Finding is an exception that should be open now.
type Finding struct {
	LocationID string `json:"locationId"`
	Kind       string `json:"kind"`
	RecordType string `json:"recordType"` // order, invoice or transaction
	RecordID   string `json:"recordId"`
	// EntityType and EntityID name the order or invoice concerned: the
	// record itself, or a transaction's entity.
	EntityType string `json:"entityType,omitempty"`
	EntityID   string `json:"entityId,omitempty"`
	// Amount is the money at stake, in minor units of Currency.
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	// Message says what is wrong, for people.
	Message string `json:"message"`
	// Detail holds the figures behind it.
	Detail map[string]any `json:"detail,omitempty"`
	// RecordCreatedAt is when GHL created the record (for a transaction:
	// when the payment happened).
	RecordCreatedAt time.Time `json:"recordCreatedAt"`
}

// ReconcileResult is what reconciling one record found.
type ReconcileResult struct {
	Ref      RecordRef
	Balance  *Balance  // orders and invoices that Rankr holds; nil otherwise
	Findings []Finding // the exceptions that should be open for the record
	// RecheckAt is when the result changes with time alone (a grace period
	// ends); zero when it does not.
	RecheckAt time.Time
}

// Exception is a finding as Rankr keeps it: opened once, resolved once.
type Exception struct {
	ID int64 `json:"id"`
	Finding
	OpenedAt   time.Time `json:"openedAt"`
	ResolvedAt time.Time `json:"resolvedAt,omitzero"`
}

// ExceptionEvent is the data of ExceptionOpened and ExceptionResolved
// events: everything an alert needs.
type ExceptionEvent struct {
	ExceptionID int64 `json:"exceptionId"`
	Finding
	OpenedAt   time.Time `json:"openedAt"`
	ResolvedAt time.Time `json:"resolvedAt,omitzero"`
}

// Renewal is a subscription charged for another period.
type Renewal struct {
	LocationID     string    `json:"locationId"`
	TransactionID  string    `json:"transactionId"`
	SubscriptionID string    `json:"subscriptionId"`
	ContactID      string    `json:"contactId,omitempty"`
	Amount         int64     `json:"amount"`
	Currency       string    `json:"currency"`
	LiveMode       bool      `json:"liveMode"`
	PeriodStart    time.Time `json:"periodStart"`
	PeriodEnd      time.Time `json:"periodEnd,omitzero"` // zero when the interval is not known
	PaidAt         time.Time `json:"paidAt"`
	// InvoicingID is Rankr's invoicing record for the renewal.
	InvoicingID string    `json:"invoicingId"`
	CreatedAt   time.Time `json:"createdAt"`
}

// InvoicingIDOf names the invoicing record of the renewal paid by a
// transaction: one per renewal, whoever records it first.
func InvoicingIDOf(transactionID string) string { return "RI-" + transactionID }

// entityCurrencyMode is what a transaction is checked against.
type entityCurrencyMode struct {
	currency string
	live     bool
}

// counts reports whether a transaction's money counts towards a record in
// currency and mode.
func counts(x Transaction, e entityCurrencyMode) bool {
	return x.DeletedAt.IsZero() && x.Collected() && strings.EqualFold(x.Currency, e.currency) && x.LiveMode == e.live
}

// tally sums the transactions that count towards a record, and says when
// the record was first paid in full and when the last payment came.
func tally(txns []Transaction, e entityCurrencyMode, expected int64) (collected, refunded int64, paidAt, lastPaid time.Time, lastChange time.Time) {
	sorted := slices.Clone(txns)
	slices.SortFunc(sorted, func(a, b Transaction) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	for _, x := range sorted {
		if x.UpdatedAt.After(lastChange) {
			lastChange = x.UpdatedAt
		}
		if !counts(x, e) {
			continue
		}
		collected += x.Amount
		refunded += x.AmountRefunded
		lastPaid = x.CreatedAt
		if paidAt.IsZero() && collected >= expected {
			paidAt = x.CreatedAt
		}
	}
	return collected, refunded, paidAt, lastPaid, lastChange
}

// BalanceOutcome names where a balance stands; see the rules above.
func BalanceOutcome(expected, collected, refunded int64) string {
	net := collected - refunded
	switch {
	case collected == 0 && expected > 0:
		return OutcomeUnpaid
	case net > expected:
		return OutcomeOverpaid
	case net == expected:
		return OutcomeMatched
	case refunded >= collected:
		return OutcomeRefunded
	case refunded > 0:
		return OutcomePartiallyRefunded
	}
	return OutcomeUnderpaid
}

// due reports whether a grace period that started at from is over at now;
// when it is not, it returns when it will be.
func due(from time.Time, grace time.Duration, now time.Time) (bool, time.Time) {
	end := from.Add(grace)
	if !now.Before(end) {
		return true, time.Time{}
	}
	return false, end
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// ReconcileOrder reconciles an order that Rankr holds with its
// transactions (those whose entity is the order).
func ReconcileOrder(o Order, txns []Transaction, p ReconcilePolicy, now time.Time) ReconcileResult {
	p = p.WithDefaults()
	res := ReconcileResult{Ref: RecordRef{o.LocationID, RecordOrder, o.ID}}
	if !o.DeletedAt.IsZero() {
		return res // no longer in GHL: its transactions are orphans now
	}
	e := entityCurrencyMode{o.Currency, o.LiveMode}
	collected, refunded, paidAt, lastPaid, _ := tally(txns, e, o.Amount)
	b := Balance{LocationID: o.LocationID, RecordType: RecordOrder, RecordID: o.ID, Currency: o.Currency, LiveMode: o.LiveMode,
		Expected: o.Amount, Collected: collected, Refunded: refunded, Balance: o.Amount - (collected - refunded),
		Outcome: BalanceOutcome(o.Amount, collected, refunded), PaymentStatus: DerivePaymentStatus(o.Amount, collected, refunded),
		RecordCreatedAt: o.CreatedAt}
	res.Balance = &b
	finding := func(kind string, amount int64, msg string, detail map[string]any) Finding {
		d := map[string]any{"expected": o.Amount, "collected": collected, "refunded": refunded, "balance": b.Balance,
			"orderStatus": o.Status, "fulfillmentStatus": o.FulfillmentStatus, "contactId": o.ContactID, "contactEmail": o.ContactEmail}
		for k, v := range detail {
			d[k] = v
		}
		return Finding{LocationID: o.LocationID, Kind: kind, RecordType: RecordOrder, RecordID: o.ID, EntityType: RecordOrder,
			EntityID: o.ID, Amount: amount, Currency: o.Currency, Message: msg, Detail: d, RecordCreatedAt: o.CreatedAt}
	}
	money := func(v int64) string { return FormatMinor(v, o.Currency) + " " + o.Currency }
	switch b.Outcome {
	case OutcomeOverpaid:
		res.Findings = append(res.Findings, finding(ExceptionOverpaid, -b.Balance,
			"order "+o.ID+" is overpaid by "+money(-b.Balance)+": "+money(collected-refunded)+" net collected for "+money(o.Amount), nil))
	case OutcomeUnderpaid:
		if ok, at := due(lastPaid, p.UnderpaidAfter, now); ok {
			res.Findings = append(res.Findings, finding(ExceptionUnderpaid, b.Balance,
				"order "+o.ID+" is underpaid: "+money(collected)+" of "+money(o.Amount)+" collected, "+money(b.Balance)+" outstanding",
				map[string]any{"lastPaymentAt": lastPaid}))
		} else {
			res.RecheckAt = earliest(res.RecheckAt, at)
		}
	}
	if !paidAt.IsZero() && b.Outcome != OutcomeRefunded && needsShipping(o) && !strings.EqualFold(o.FulfillmentStatus, "fulfilled") &&
		!strings.EqualFold(o.Status, "cancelled") && !strings.EqualFold(o.Status, "canceled") {
		if ok, at := due(paidAt, p.UnfulfilledAfter, now); ok {
			res.Findings = append(res.Findings, finding(ExceptionPaidUnfulfilled, o.Amount,
				"order "+o.ID+" was paid on "+paidAt.UTC().Format(time.DateOnly)+" and is still "+cmp.Or(o.FulfillmentStatus, "unfulfilled"),
				map[string]any{"paidAt": paidAt, "unfulfilledAfter": p.UnfulfilledAfter.String()}))
		} else {
			res.RecheckAt = earliest(res.RecheckAt, at)
		}
	}
	return res
}

// needsShipping reports whether an order has physical items. An order whose
// items are unknown is not judged.
func needsShipping(o Order) bool {
	return slices.ContainsFunc(o.Items, func(it OrderItem) bool { return strings.EqualFold(it.ProductType, "PHYSICAL") })
}

// Invoice statuses the reconciliation understands; others are not judged
// on their status.
var invoiceStatusRule = map[string]func(collected, total int64) bool{
	"paid":               func(c, t int64) bool { return c >= t },
	"partially_paid":     func(c, t int64) bool { return c > 0 && c < t },
	"draft":              func(c, t int64) bool { return c == 0 },
	"sent":               func(c, t int64) bool { return c == 0 },
	"void":               func(c, t int64) bool { return c == 0 },
	"payment_processing": func(c, t int64) bool { return c < t },
}

// ReconcileInvoice reconciles an invoice that Rankr holds with the
// transactions that paid it (directly, or through an order it created).
func ReconcileInvoice(inv Invoice, txns []Transaction, p ReconcilePolicy, now time.Time) ReconcileResult {
	p = p.WithDefaults()
	res := ReconcileResult{Ref: RecordRef{inv.LocationID, RecordInvoice, inv.ID}}
	if !inv.DeletedAt.IsZero() {
		return res
	}
	e := entityCurrencyMode{inv.Currency, inv.LiveMode}
	collected, refunded, _, _, lastChange := tally(txns, e, inv.Total)
	b := Balance{LocationID: inv.LocationID, RecordType: RecordInvoice, RecordID: inv.ID, Currency: inv.Currency,
		LiveMode: inv.LiveMode, Expected: inv.Total, Collected: collected, Refunded: refunded,
		Balance: inv.Total - (collected - refunded), Outcome: BalanceOutcome(inv.Total, collected, refunded),
		PaymentStatus: DerivePaymentStatus(inv.Total, collected, refunded), RecordCreatedAt: inv.CreatedAt}
	res.Balance = &b
	rule, known := invoiceStatusRule[strings.ToLower(inv.Status)]
	statusOK := !known || rule(collected, inv.Total)
	if inv.AmountPaid == collected && statusOK {
		return res
	}
	if ok, at := due(later(inv.UpdatedAt, lastChange), p.SettleAfter, now); !ok {
		res.RecheckAt = at
		return res
	}
	money := func(v int64) string { return FormatMinor(v, inv.Currency) + " " + inv.Currency }
	msg := "invoice " + cmp.Or(inv.Number, inv.ID) + " says " + inv.Status + " with " + money(inv.AmountPaid) + " paid, but its transactions collected " + money(collected)
	res.Findings = append(res.Findings, Finding{LocationID: inv.LocationID, Kind: ExceptionInvoiceMismatch, RecordType: RecordInvoice,
		RecordID: inv.ID, EntityType: RecordInvoice, EntityID: inv.ID, Amount: abs(inv.AmountPaid - collected), Currency: inv.Currency,
		Message: msg, Detail: map[string]any{"invoiceNumber": inv.Number, "invoiceStatus": inv.Status, "total": inv.Total,
			"amountPaid": inv.AmountPaid, "collected": collected, "refunded": refunded, "contactId": inv.ContactID,
			"contactEmail": inv.ContactEmail}, RecordCreatedAt: inv.CreatedAt})
	return res
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Entity is what a transaction's entity looks like to reconciliation.
type Entity struct {
	Held     bool // Rankr holds it and GHL has not deleted it
	Currency string
	LiveMode bool
}

// Judged reports whether reconciliation checks transactions of an entity
// type: the ones Rankr keeps.
func Judged(entityType string) bool {
	switch entityType {
	case "", RecordOrder, RecordInvoice, RecordSubscription:
		return true
	}
	return false
}

// ReconcileTransaction checks a transaction against its entity: is there
// one, and are the currency and mode the same?
func ReconcileTransaction(x Transaction, e Entity, p ReconcilePolicy, now time.Time) ReconcileResult {
	p = p.WithDefaults()
	res := ReconcileResult{Ref: RecordRef{x.LocationID, RecordTransaction, x.ID}}
	net := x.Amount - x.AmountRefunded
	if !x.DeletedAt.IsZero() || !x.Collected() || net <= 0 || !Judged(x.EntityType) {
		return res
	}
	money := func(v int64) string { return FormatMinor(v, x.Currency) + " " + x.Currency }
	finding := func(kind, msg string, detail map[string]any) Finding {
		d := map[string]any{"transactionAmount": x.Amount, "amountRefunded": x.AmountRefunded, "transactionStatus": x.Status,
			"liveMode": x.LiveMode, "paidAt": x.CreatedAt, "contactId": x.ContactID, "chargeId": x.ChargeID,
			"provider": x.Provider, "subscriptionId": x.SubscriptionID}
		for k, v := range detail {
			d[k] = v
		}
		return Finding{LocationID: x.LocationID, Kind: kind, RecordType: RecordTransaction, RecordID: x.ID,
			EntityType: x.EntityType, EntityID: x.EntityID, Amount: net, Currency: x.Currency, Message: msg, Detail: d,
			RecordCreatedAt: x.CreatedAt}
	}
	switch {
	case x.EntityID == "":
		res.Findings = append(res.Findings, finding(ExceptionOrphan, "transaction "+x.ID+" collected "+money(net)+" for no order or invoice", nil))
		return res
	case !e.Held:
		if ok, at := due(x.CreatedAt, p.SettleAfter, now); !ok {
			res.RecheckAt = at
			return res
		}
		res.Findings = append(res.Findings, finding(ExceptionOrphan,
			"transaction "+x.ID+" collected "+money(net)+" for "+x.EntityType+" "+x.EntityID+", which Rankr does not hold", nil))
		return res
	}
	if x.LiveMode != e.LiveMode {
		mode := map[bool]string{true: "live", false: "test"}
		res.Findings = append(res.Findings, finding(ExceptionLiveTestMismatch,
			"transaction "+x.ID+" is a "+mode[x.LiveMode]+"-mode payment of "+money(net)+" on "+mode[e.LiveMode]+"-mode "+x.EntityType+" "+x.EntityID,
			map[string]any{"entityLiveMode": e.LiveMode}))
	}
	if !strings.EqualFold(x.Currency, e.Currency) {
		res.Findings = append(res.Findings, finding(ExceptionCurrencyMismatch,
			"transaction "+x.ID+" collected "+money(net)+" on "+x.EntityType+" "+x.EntityID+", which is in "+e.Currency,
			map[string]any{"entityCurrency": e.Currency}))
	}
	return res
}

// RenewalOf returns the renewal a transaction pays, if it is one: a
// collected charge of a subscription for a later period (the first period
// is paid by the order that started it). sub is the subscription when Rankr
// holds it, for the length of the period.
func RenewalOf(x Transaction, sub *Subscription) (Renewal, bool) {
	if x.EntityType != RecordSubscription || x.SubscriptionID == "" || !x.Collected() || !x.DeletedAt.IsZero() {
		return Renewal{}, false
	}
	r := Renewal{LocationID: x.LocationID, TransactionID: x.ID, SubscriptionID: x.SubscriptionID, ContactID: x.ContactID,
		Amount: x.Amount, Currency: x.Currency, LiveMode: x.LiveMode, PeriodStart: x.CreatedAt, PaidAt: x.CreatedAt,
		InvoicingID: InvoicingIDOf(x.ID)}
	if sub != nil {
		r.PeriodEnd = AdvancePeriod(x.CreatedAt, sub.Interval, sub.IntervalCount)
		if r.ContactID == "" {
			r.ContactID = sub.ContactID
		}
	}
	return r, true
}

// AdvancePeriod returns the end of a billing period of count intervals
// (GHL's rrule intervalType: daily, weekly, monthly, yearly) from start, or
// zero when the interval is not known.
func AdvancePeriod(start time.Time, interval string, count int) time.Time {
	count = max(count, 1)
	switch strings.ToLower(interval) {
	case "daily", "day":
		return start.AddDate(0, 0, count)
	case "weekly", "week":
		return start.AddDate(0, 0, 7*count)
	case "monthly", "month":
		return start.AddDate(0, count, 0)
	case "yearly", "year":
		return start.AddDate(count, 0, 0)
	}
	return time.Time{}
}
