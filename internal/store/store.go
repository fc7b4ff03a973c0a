// Package store defines where Rankr keeps its records: the Store interface,
// its parameter types, and the rules every implementation follows. The
// implementations live in sqlite and postgres (both built on the engine in
// sqlstore), and storetest is the one conformance suite they must pass.
//
// The rules:
//
//   - Monotonic upserts. A record version older than the stored one (by
//     GHL's updatedAt) never replaces it, whichever path delivers it; two
//     versions with the same updatedAt are ordered by content, so that every
//     replica ends up with the same winner whatever the arrival order.
//   - One event per effective change, in the same transaction as the change,
//     in commit order; no event for a no-op.
//   - Checkpoints commit with the page they describe: a Checkpoint passed to
//     an upsert is written in the same transaction, so a crash leaves both or
//     neither.
//   - Nothing is hard-deleted: records that vanish from GHL are marked.
//
// Package store imports only internal/rankr of ours.
package store

import (
	"context"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// Store holds Rankr's records. Methods are safe for concurrent use, also
// from several processes sharing one database.
type Store interface {
	// Close releases the database.
	Close() error
	// Now returns the database's clock. Leases and due times are measured
	// with it, so that processes whose own clocks disagree share work
	// correctly.
	Now(ctx context.Context) (time.Time, error)
	// Outbound keeps the outbound webhooks (see outbound.go).
	Outbound
	// Gauger counts the outboxes for the metrics (see gauges.go).
	Gauger

	// ConnectionUpsert creates or updates the connection of a location.
	ConnectionUpsert(ctx context.Context, p ConnectionUpsertParams) (rankr.Connection, error)
	// ConnectionGet returns a connection, or rankr.ErrNotFound.
	ConnectionGet(ctx context.Context, locationID string) (rankr.Connection, error)
	// ConnectionList returns every connection, by location id.
	ConnectionList(ctx context.Context) ([]rankr.Connection, error)
	// ConnectionSetState records whether a connection may sync, and why not.
	ConnectionSetState(ctx context.Context, p ConnectionSetStateParams) error
	// ConnectionInstallEvent follows GHL's INSTALL and UNINSTALL webhooks:
	// an uninstall suspends the connection, an install resumes a suspended
	// one (and leaves any other state, such as a rejected token, as it is).
	// An event older than one already followed changes nothing, since the
	// two can arrive, or be applied, in either order. It returns the
	// connection as it is after, and whether the event was followed.
	ConnectionInstallEvent(ctx context.Context, p ConnectionInstallEventParams) (rankr.Connection, bool, error)
	// ConnectionRecordSync records the outcome of a sync pass.
	ConnectionRecordSync(ctx context.Context, p ConnectionRecordSyncParams) error

	// OrderUpsert stores orders as listed or as fetched (see OrderVersion).
	OrderUpsert(ctx context.Context, p OrderUpsertParams) (UpsertResult, error)
	// OrderGet returns an order with its items, or rankr.ErrNotFound.
	OrderGet(ctx context.Context, locationID, id string) (rankr.Order, error)
	// OrderList lists orders, newest first.
	OrderList(ctx context.Context, p ListParams) ([]rankr.Order, error)
	// OrderWork says, for the given orders, which need their detail or their
	// fulfillments fetched.
	OrderWork(ctx context.Context, locationID string, ids []string) ([]OrderWork, error)

	// FulfillmentSync stores the complete list of an order's fulfillments,
	// as GHL returned it, and records that the order's fulfillments are
	// synced for its current version.
	FulfillmentSync(ctx context.Context, p FulfillmentSyncParams) (UpsertResult, error)
	// FulfillmentList lists fulfillments, newest first.
	FulfillmentList(ctx context.Context, p ListParams) ([]rankr.Fulfillment, error)
	// FulfillmentGet returns a fulfillment, or rankr.ErrNotFound.
	FulfillmentGet(ctx context.Context, locationID, id string) (rankr.Fulfillment, error)

	// TransactionUpsert stores transactions and re-derives the payment
	// status of the orders they pay.
	TransactionUpsert(ctx context.Context, p TransactionUpsertParams) (UpsertResult, error)
	// TransactionGet returns a transaction, or rankr.ErrNotFound.
	TransactionGet(ctx context.Context, locationID, id string) (rankr.Transaction, error)
	// TransactionList lists transactions, newest first.
	TransactionList(ctx context.Context, p ListParams) ([]rankr.Transaction, error)

	// SubscriptionUpsert stores subscriptions as listed or as fetched.
	SubscriptionUpsert(ctx context.Context, p SubscriptionUpsertParams) (UpsertResult, error)
	// SubscriptionGet returns a subscription, or rankr.ErrNotFound.
	SubscriptionGet(ctx context.Context, locationID, id string) (rankr.Subscription, error)
	// SubscriptionList lists subscriptions, newest first.
	SubscriptionList(ctx context.Context, p ListParams) ([]rankr.Subscription, error)
	// SubscriptionsNeedingDetail returns up to limit subscriptions whose
	// detail is missing or older than what GHL listed, or that renewed since.
	SubscriptionsNeedingDetail(ctx context.Context, locationID string, limit int) ([]string, error)

	// InvoiceUpsert stores invoices.
	InvoiceUpsert(ctx context.Context, p InvoiceUpsertParams) (UpsertResult, error)
	// InvoiceGet returns an invoice, or rankr.ErrNotFound.
	InvoiceGet(ctx context.Context, locationID, id string) (rankr.Invoice, error)
	// InvoiceList lists invoices, newest first.
	InvoiceList(ctx context.Context, p ListParams) ([]rankr.Invoice, error)

	// ProductUpsert stores products (of a location's catalog).
	ProductUpsert(ctx context.Context, p ProductUpsertParams) (UpsertResult, error)
	// ProductGet returns a product with its prices not deleted, or
	// rankr.ErrNotFound. An empty location finds the id in any location.
	ProductGet(ctx context.Context, locationID, id string) (rankr.Product, error)
	// ProductList lists products, newest first (without their prices).
	ProductList(ctx context.Context, p ListParams) ([]rankr.Product, error)
	// PriceUpsert stores prices of products; each names its product.
	PriceUpsert(ctx context.Context, p PriceUpsertParams) (UpsertResult, error)
	// PriceGet returns a price, or rankr.ErrNotFound.
	PriceGet(ctx context.Context, locationID, id string) (rankr.Price, error)
	// PriceList lists a product's prices, oldest first.
	PriceList(ctx context.Context, p PriceListParams) ([]rankr.Price, error)

	// RecordsUnseenSince returns the ids of records of a kind that no list
	// page has shown since the given time, that existed before it, and that
	// are not yet marked deleted: the candidates for deletion after a full
	// walk.
	RecordsUnseenSince(ctx context.Context, p UnseenParams) ([]string, error)
	// RecordMarkDeleted marks a record as deleted in GHL, with an event; a
	// product's prices are marked with it (an event each).
	RecordMarkDeleted(ctx context.Context, p MarkDeletedParams) error

	// CursorGet returns a checkpoint, or rankr.ErrNotFound.
	CursorGet(ctx context.Context, locationID, name string) (rankr.Cursor, error)
	// CursorPut writes a checkpoint.
	CursorPut(ctx context.Context, c rankr.Cursor) error

	// InboxAppend stores received webhooks in one transaction and returns,
	// for each, its inbox sequence number when it was new, or 0 for a
	// redelivery already stored.
	InboxAppend(ctx context.Context, p InboxAppendParams) ([]int64, error)
	// InboxClaim leases up to Limit unprocessed webhooks, oldest first;
	// other processors skip them until the lease ends (by the database's
	// clock, as every lease and due time in the store).
	InboxClaim(ctx context.Context, p InboxClaimParams) ([]rankr.InboxEvent, error)
	// InboxDone records that claimed webhooks were processed (at is the
	// record time), and how, in one transaction. A webhook already marked
	// done is left as it was.
	InboxDone(ctx context.Context, done []InboxOutcome, at time.Time) error
	// InboxPending counts the webhooks not processed yet.
	InboxPending(ctx context.Context) (int, error)
	// InboxRecent returns up to Limit stored webhooks, newest first,
	// without their bodies: every location's, or LocationID's only (one
	// index probe per webhook, whatever the inbox's size).
	InboxRecent(ctx context.Context, p InboxRecentParams) ([]rankr.InboxEvent, error)
	// InboxPrune deletes up to Limit webhooks processed before Before,
	// oldest first, and returns how many; webhooks not processed yet are
	// kept whatever their age.
	InboxPrune(ctx context.Context, p InboxPruneParams) (int, error)

	// PushCreate records a fulfillment to push to GHL (state pending), as
	// rankr.PlanPush decides against the order, its fulfillments and its
	// pushes, read and written in one step: concurrent requests cannot
	// both take the same unshipped items. It returns the push as recorded
	// and true, or the push already recorded with the same tracking numbers
	// and items and false (a repeated request); it fails with
	// rankr.ErrNotFound for an unknown order, or with rankr.ErrInvalid or
	// rankr.ErrConflict saying why the push cannot be.
	PushCreate(ctx context.Context, p rankr.FulfillmentPush) (rankr.FulfillmentPush, bool, error)
	// PushGet returns a push, or rankr.ErrNotFound.
	PushGet(ctx context.Context, id string) (rankr.FulfillmentPush, error)
	// PushClaim takes a push that is due for an attempt (pending, unknown,
	// or pushing with an expired lease), marks it pushing for the lease
	// with a fresh claim token (FulfillmentPush.Claim) and counts the
	// attempt. Due times and leases are measured with the database's
	// clock. It fails with rankr.ErrConflict when the push is not due or
	// is held by someone else.
	PushClaim(ctx context.Context, p PushClaimParams) (rankr.FulfillmentPush, error)
	// PushFinish records how an attempt ended, with an event when the push
	// is done or failed, if the attempt still holds the push (its claim
	// token is the push's); otherwise it changes nothing and fails with
	// rankr.ErrConflict.
	PushFinish(ctx context.Context, p PushFinishParams) error
	// PushesDue lists pushes due for an attempt, by the database's clock.
	PushesDue(ctx context.Context, limit int) ([]string, error)
	// PushList lists pushes, newest first (Status filters by state).
	PushList(ctx context.Context, p ListParams) ([]rankr.FulfillmentPush, error)
	// PushOwning returns the push that created a GHL fulfillment, if any.
	PushOwning(ctx context.Context, locationID, fulfillmentID string) (string, error)

	// Notices is the outbox of Rankr's own mails (see notices.go).
	Notices
	// Automations keeps the no-code automations and their runs (see automations.go).
	Automations
	// Marketplace keeps GHL's workflow contract (marketplace.go).
	Marketplace

	// EventList returns events after a sequence number, in order.
	EventList(ctx context.Context, p EventListParams) ([]rankr.Event, error)
	// Counts returns how many records Rankr holds for a location.
	Counts(ctx context.Context, locationID string) (rankr.Counts, error)
	// CountsSince brings counts up to the newest event. From counts as of
	// an event it reads only the events after it, so keeping counts costs
	// what changed, not what is stored; from the zero AllCounts (or far
	// behind) it counts the records.
	CountsSince(ctx context.Context, from AllCounts) (AllCounts, error)
	// CountsSnapshot returns the counts last saved with CountsSave, and
	// when they were saved; rankr.ErrNotFound when none were.
	CountsSnapshot(ctx context.Context) (AllCounts, time.Time, error)
	// CountsSave saves counts for a process starting later to continue
	// from; counts older (by Seq) than those saved are not saved.
	CountsSave(ctx context.Context, c AllCounts, at time.Time) error

	// Reconciliation keeps balances, exceptions and renewals (reconcile.go).
	Reconciliation

	// Access keeps API keys, the installation's secrets and the audit log
	// (access.go).
	Access

	// Sealed counts and replaces the vault's secrets, for master-key
	// rotation (sealed.go).
	Sealed

	// OAuth keeps GHL marketplace installs and their tokens (oauth.go).
	OAuth
}

// ConnectionUpsertParams creates or updates a connection. A connection
// upserted with a new credential becomes active again.
type ConnectionUpsertParams struct {
	LocationID     string
	Name           string
	BaseURL        string
	Credential     []byte // sealed by the vault; none for "oauth", whose token is the location's OAuth token
	CredentialKind string // "pit" (default) or "oauth"
	Now            time.Time
	// Audit, when set, is recorded with the change.
	Audit *rankr.AuditEntry
}

// ConnectionSetStateParams sets a connection's state.
type ConnectionSetStateParams struct {
	LocationID string
	State      rankr.ConnectionState
	Message    string
	Now        time.Time
	// Audit, when set, is appended in the transaction of the change (a
	// person's pause or resume; the sync's own changes are not audited).
	Audit *rankr.AuditEntry
}

// ConnectionInstallEventParams is an INSTALL (Installed) or UNINSTALL
// webhook of a location.
type ConnectionInstallEventParams struct {
	LocationID string
	Installed  bool
	At         time.Time // when the event happened (or was received)
	Message    string    // what a suspension tells the operator
	Now        time.Time
}

// ConnectionRecordSyncParams records a sync pass: when it ended and its
// error, empty when it succeeded.
type ConnectionRecordSyncParams struct {
	LocationID string
	At         time.Time
	Error      string
}

// UpsertResult counts what an upsert did and names the records it created
// or changed.
type UpsertResult struct {
	Created   []string // ids of new records
	Changed   []string // ids of records that changed
	Unchanged int      // records equal to what was stored
	Stale     int      // records older than what was stored, ignored
	Events    int      // events appended
}

// OrderVersion is one version of an order. From a list page it carries no
// items (Detail false); from a detail fetch or a webhook it does.
type OrderVersion struct {
	Order  rankr.Order // PaymentStatus and DeletedAt are ignored: the store derives them
	Detail bool
}

// OrderUpsertParams stores a batch of orders.
type OrderUpsertParams struct {
	LocationID string
	Orders     []OrderVersion
	// SeenAt, when set, marks the orders as seen on a list page at that
	// time (for deletion detection).
	SeenAt time.Time
	// Checkpoint, when set, is written in the same transaction.
	Checkpoint *rankr.Cursor
	Now        time.Time
}

// OrderWork says what an order still needs from GHL.
type OrderWork struct {
	ID                string
	UpdatedAt         time.Time // the version stored: fulfillments fetched now are for it
	NeedsDetail       bool      // no detail yet, or older than the listed version
	NeedsFulfillments bool      // fulfilled in part or in full, and not fetched for this version
}

// FulfillmentSyncParams stores an order's fulfillments. OrderUpdatedAt is
// the order version the list was fetched for.
type FulfillmentSyncParams struct {
	LocationID     string
	OrderID        string
	OrderUpdatedAt time.Time
	Fulfillments   []rankr.Fulfillment
	Now            time.Time
}

// TransactionUpsertParams stores a batch of transactions.
type TransactionUpsertParams struct {
	LocationID   string
	Transactions []rankr.Transaction
	SeenAt       time.Time
	Checkpoint   *rankr.Cursor
	Now          time.Time
}

// SubscriptionVersion is one version of a subscription, listed (Detail
// false) or fetched by id.
type SubscriptionVersion struct {
	Subscription rankr.Subscription
	Detail       bool
}

// SubscriptionUpsertParams stores a batch of subscriptions.
type SubscriptionUpsertParams struct {
	LocationID    string
	Subscriptions []SubscriptionVersion
	SeenAt        time.Time
	Checkpoint    *rankr.Cursor
	Now           time.Time
}

// InvoiceUpsertParams stores a batch of invoices.
type InvoiceUpsertParams struct {
	LocationID string
	Invoices   []rankr.Invoice
	SeenAt     time.Time
	Checkpoint *rankr.Cursor
	Now        time.Time
}

// ProductUpsertParams stores a batch of products.
type ProductUpsertParams struct {
	LocationID string
	Products   []rankr.Product // Prices are ignored: see PriceUpsert
	SeenAt     time.Time
	Checkpoint *rankr.Cursor
	Now        time.Time
}

// PriceUpsertParams stores a batch of prices.
type PriceUpsertParams struct {
	LocationID string
	Prices     []rankr.Price
	SeenAt     time.Time
	Checkpoint *rankr.Cursor
	Now        time.Time
}

// PriceListParams selects a product's prices.
type PriceListParams struct {
	LocationID string
	ProductID  string
	Deleted    bool // include prices deleted in GHL
}

// ListParams selects records for a list. Empty fields do not filter.
// Lists are ordered by creation time, then id, then location, newest first
// unless Oldest: an order that does not change as records arrive, so that
// After can continue one page from the last record of the one before.
type ListParams struct {
	LocationID string
	// Locations, when not nil, keeps the list to these locations (those a
	// key is bound to); an empty, non-nil list matches nothing.
	Locations []string
	Status    string // the record's GHL status (an outbox's state)
	OrderID   string // fulfillments, transactions and pushes of one order
	// PaymentStatus and FulfillmentStatus filter orders.
	PaymentStatus     string
	FulfillmentStatus string
	// ToFulfill keeps orders paid in full and not fulfilled in full with
	// a physical item (or items not synced yet): the fulfillment queue.
	ToFulfill bool
	// CreatedFrom and CreatedBefore bound the creation time: [from, before).
	CreatedFrom, CreatedBefore time.Time
	// Currency keeps records in one currency (those with an amount).
	Currency string
	// AmountMin and AmountMax bound the amount in minor units (an
	// invoice's total), inclusive; nil does not filter.
	AmountMin, AmountMax *int64
	// Search finds orders by id, or by their contact's email or a part of
	// their name.
	Search string
	Limit  int // default 50, at most 1000
	Offset int
	// After continues the list past this record: the next page.
	After ListKey
	// Oldest lists oldest first.
	Oldest bool
	// Deleted includes records deleted in GHL.
	Deleted bool
}

// ListKey is a record's place in a list.
type ListKey struct {
	CreatedAt  time.Time
	LocationID string
	ID         string
}

// IsZero reports whether the key names no record (the list's start).
func (k ListKey) IsZero() bool { return k.ID == "" }

// UnseenParams selects deletion candidates.
type UnseenParams struct {
	LocationID string
	RecordType string // rankr.RecordOrder, RecordTransaction, RecordSubscription, RecordInvoice, RecordProduct or RecordPrice
	Since      time.Time
	Limit      int
}

// MarkDeletedParams marks a record deleted.
type MarkDeletedParams struct {
	LocationID string
	RecordType string
	ID         string
	At         time.Time
}

// EventListParams reads the change feed.
type EventListParams struct {
	AfterSeq   int64
	LocationID string // empty: every location
	// Locations, when not nil, keeps the feed to these locations.
	Locations []string
	// RecordIDs keeps the events of these records (with LocationID: an
	// order's page shows its own, its payments' and its fulfillments').
	RecordIDs []string
	Limit     int // default 100, at most 1000
	// Newest returns the Limit newest events after AfterSeq rather than
	// the oldest (still in order): where a live view starts.
	Newest bool
}

// InboxAppendParams stores received webhooks.
type InboxAppendParams struct {
	Events []rankr.InboxEvent
	// Lease, when set, stores the new webhooks already claimed for this
	// long from the database's clock, as InboxClaim would: the process that
	// received them processes them from memory, and another takes them
	// only if that has not happened when the lease ends.
	Lease time.Duration
	// Now is the record time of the webhooks without a ReceivedAt (default
	// time.Now()); it measures no lease.
	Now time.Time
}

// InboxPruneParams bounds a pruning of the inbox.
type InboxPruneParams struct {
	Before time.Time
	Limit  int // default 1000, at most 10,000
}

// InboxRecentParams picks the webhooks InboxRecent returns.
type InboxRecentParams struct {
	LocationID string // empty: every location's
	Limit      int    // default 1, at most 1000
}

// InboxClaimParams leases webhooks for processing. The lease is measured
// with the database's clock.
type InboxClaimParams struct {
	Limit int
	Lease time.Duration // how long others must wait before retrying them
	// BeforeSeq, when set, claims only webhooks stored before that one.
	BeforeSeq int64
}

// InboxOutcome says what processing a webhook did.
type InboxOutcome struct {
	Seq     int64
	Outcome string
}

// PushClaimParams claims a push for an attempt.
type PushClaimParams struct {
	ID string
	// Now is the process's time, for the record; the lease is measured
	// with the database's clock.
	Now   time.Time
	Lease time.Duration
}

// PushFinishParams ends an attempt: State is done (with FulfillmentID),
// failed, unknown or pending (to try again RetryIn from now, by the
// database's clock). Claim is the token PushClaim gave the attempt.
type PushFinishParams struct {
	ID            string
	Claim         string
	State         rankr.PushState
	FulfillmentID string
	Error         string
	RetryIn       time.Duration
	Now           time.Time
	// Notice is the customer notice of a push notified by Rankr, created
	// (once per fulfillment) in the transaction that marks it done. Such a
	// push cannot be marked done without one, or without NoNotice: why
	// the customer cannot be told (the order has no email any more), which
	// is recorded on the push and its event.
	Notice   *rankr.Notice
	NoNotice string
}
