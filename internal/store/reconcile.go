package store

import (
	"context"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// Reconciliation is what the store keeps for reconciling payments (see
// rankr.ReconcileOrder): each order's and invoice's balance and outcome, the
// exceptions (one open per location, kind and record; each opened and
// resolved once, with an event each time), when a record must be looked at
// again because a grace period ends, subscription renewals with Rankr's
// invoicing records, and how far reconciliation has read the change feed.
//
// The rules:
//
//   - Idempotent: applying the same results twice changes nothing and
//     appends no event; an open exception whose figures moved is updated in
//     place, without an event (an alert is sent once per exception).
//   - Serialised: every ReconcileApply states the reconciliation version it
//     read before loading its data; when another apply committed since, it
//     fails with rankr.ErrConflict and changes nothing, so that results
//     computed from older data never overwrite newer ones.
type Reconciliation interface {
	// ReconcilePosition returns how far reconciliation has consumed the
	// change feed, and the version of its state.
	ReconcilePosition(ctx context.Context) (ReconcilePosition, error)
	// ReconcileLoad reads what reconciling some records needs.
	ReconcileLoad(ctx context.Context, p ReconcileLoadParams) (ReconcileData, error)
	// ReconcileApply writes reconciliation results in one transaction.
	ReconcileApply(ctx context.Context, p ReconcileApplyParams) (ReconcileApplied, error)
	// ReconcileDue lists up to limit records whose grace period is over at
	// now, oldest first.
	ReconcileDue(ctx context.Context, now time.Time, limit int) ([]rankr.RecordRef, error)
	// ReconcileRecords returns up to limit ids of a location's records of
	// one type (order, invoice or transaction) after the given id, in id
	// order: for recomputing everything.
	ReconcileRecords(ctx context.Context, locationID, recordType, afterID string, limit int) ([]string, error)

	// BalanceList lists balances, newest record first.
	BalanceList(ctx context.Context, p BalanceListParams) ([]rankr.Balance, error)
	// ExceptionList lists exceptions, newest first.
	ExceptionList(ctx context.Context, p ExceptionListParams) ([]rankr.Exception, error)
	// RenewalList lists renewals, newest first.
	RenewalList(ctx context.Context, p ListParams) ([]rankr.Renewal, error)
	// SubscriptionsUpcoming lists subscriptions that are not cancelled and
	// renew before a time, soonest first.
	SubscriptionsUpcoming(ctx context.Context, p UpcomingParams) ([]rankr.Subscription, error)
}

// ReconcilePosition is where reconciliation stands.
type ReconcilePosition struct {
	Seq     int64 // the last change-feed event consumed
	Version int64 // increases with every apply
}

// ReconcileLoadParams names records to reconcile. The store adds what they
// touch: the orders, invoices and subscriptions of the named transactions,
// every transaction of those orders and invoices (and the renewals of those
// subscriptions), and the entities of all of them.
type ReconcileLoadParams struct {
	LocationID    string
	Orders        []string
	Invoices      []string
	Transactions  []string
	Subscriptions []string
}

// ReconcileData is what ReconcileLoad read.
type ReconcileData struct {
	// Orders and Invoices are the records to reconcile in full: every
	// transaction of theirs is in Transactions. A named record Rankr does
	// not hold is listed too (and absent from the maps below).
	Orders   []string
	Invoices []string
	// Transactions are every transaction loaded, deleted ones included;
	// each has its entity in the maps when Rankr holds it.
	Transactions []rankr.Transaction
	// OrderByID, InvoiceByID and SubscriptionByID hold the records read,
	// deleted ones included (DeletedAt set); orders with their items.
	OrderByID        map[string]rankr.Order
	InvoiceByID      map[string]rankr.Invoice
	SubscriptionByID map[string]rankr.Subscription
}

// ReconcileApplyParams writes the results of reconciling some records.
type ReconcileApplyParams struct {
	// Version is the ReconcilePosition.Version read before loading.
	Version int64
	// FeedTo, when above the current position, moves reconciliation's
	// position in the change feed to it.
	FeedTo int64
	// Results replace what the store holds for each record: its balance
	// (none when Balance is nil), its open exceptions, when to look again.
	Results []rankr.ReconcileResult
	// Renewals are recorded, with their invoicing records, unless they
	// already are.
	Renewals []rankr.Renewal
	Now      time.Time
}

// ReconcileApplied counts what an apply changed.
type ReconcileApplied struct {
	Opened, Resolved, Updated int // exceptions
	Balances                  int // balances written or removed
	Renewals                  int // renewals recorded
	Events                    int
}

// BalanceListParams selects balances.
type BalanceListParams struct {
	LocationID string
	RecordType string    // order or invoice; empty: both
	Since      time.Time // records created since
	Outcome    string
	Limit      int // default 1000, at most 10000
	Offset     int
}

// ExceptionListParams selects exceptions.
type ExceptionListParams struct {
	LocationID string
	Kind       string
	RecordType string
	RecordID   string
	// Resolved includes resolved exceptions.
	Resolved bool
	Since    time.Time // records created since
	Limit    int       // default 1000, at most 10000
	Offset   int
}

// UpcomingParams selects subscriptions due to renew.
type UpcomingParams struct {
	LocationID string
	Before     time.Time
	Limit      int // default 100, at most 1000
}
