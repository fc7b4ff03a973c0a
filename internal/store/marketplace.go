package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// Marketplace keeps GHL's marketplace workflow contract: the workflows'
// subscriptions to rankr's triggers, the deliveries that fire them, and
// the answers to GHL's custom action calls.
//
// One delivery per subscription and event: deliveries are recorded under
// the unique key (trigger id, event seq), so a pass over the change feed
// repeated (after a crash, or by another process) delivers nothing twice.
type Marketplace interface {
	// MarketplaceTriggerSave creates or updates a subscription (GHL's
	// CREATED or UPDATED) and makes it active, with its audit entry in the
	// same transaction. FromSeq is kept from before unless the
	// subscription is new or was inactive. changed is false when it was
	// active already with the same fields (a repeated CREATED), and then
	// nothing is written, audit included.
	MarketplaceTriggerSave(ctx context.Context, p MarketplaceTriggerSaveParams) (t rankr.MarketplaceTrigger, changed bool, err error)
	// MarketplaceTriggerDeactivate makes a subscription inactive, saying
	// why (rankr.ErrNotFound when there is none); changed is false when it
	// was inactive already.
	MarketplaceTriggerDeactivate(ctx context.Context, triggerID, reason string, audit *rankr.AuditEntry) (t rankr.MarketplaceTrigger, changed bool, err error)
	// MarketplaceTriggerGet returns a subscription, or rankr.ErrNotFound.
	MarketplaceTriggerGet(ctx context.Context, triggerID string) (rankr.MarketplaceTrigger, error)
	// MarketplaceTriggersActive returns every active subscription, by
	// location then trigger id.
	MarketplaceTriggersActive(ctx context.Context) ([]rankr.MarketplaceTrigger, error)

	// MarketplaceDeliveriesRecord records deliveries, pending and due at
	// once; those recorded before are left alone. It returns how many it
	// recorded.
	MarketplaceDeliveriesRecord(ctx context.Context, ds []rankr.MarketplaceDelivery) (int, error)
	// MarketplaceDeliveryClaim leases up to limit pending deliveries that
	// are due (or whose lease ran out) whose subscription is still active,
	// oldest first, each with its subscription's target URL and its
	// attempts counted; deliveries of inactive subscriptions become
	// deactivated instead.
	MarketplaceDeliveryClaim(ctx context.Context, limit int, lease time.Duration) ([]rankr.MarketplaceDelivery, error)
	// MarketplaceDeliveryFinish records how an attempt ended
	// (rankr.ErrConflict when the lease is no longer the delivery's).
	MarketplaceDeliveryFinish(ctx context.Context, p MarketplaceDeliveryFinishParams) error
	// MarketplaceDeliveries returns a subscription's deliveries, oldest
	// first.
	MarketplaceDeliveries(ctx context.Context, triggerID string) ([]rankr.MarketplaceDelivery, error)

	// MarketplaceActionClaim claims a custom action call by its hash: true
	// when the caller is to run it (no call with the hash within TTL, or
	// one whose claim ran out); otherwise the call there is returned: done
	// with its answer, or still running.
	MarketplaceActionClaim(ctx context.Context, p MarketplaceActionClaimParams) (rankr.MarketplaceActionCall, bool, error)
	// MarketplaceActionFinish remembers a claimed call's answer.
	MarketplaceActionFinish(ctx context.Context, hash string, status int, body []byte) error
	// MarketplaceActionRelease forgets a claimed call (its answer is not
	// one to repeat: GHL may try again).
	MarketplaceActionRelease(ctx context.Context, hash string) error
	// MarketplaceActionPrune deletes the calls made before before.
	MarketplaceActionPrune(ctx context.Context, before time.Time) (int, error)
}

// MarketplaceTriggerSaveParams are a subscription as GHL sent it.
type MarketplaceTriggerSaveParams struct {
	TriggerID, LocationID, WorkflowID, CompanyID string
	Key, CatalogKey, Version                     string
	Filters                                      json.RawMessage
	TargetURL                                    string
	// FromSeq is the newest event of the location's feed now.
	FromSeq int64
	Now     time.Time
	Audit   *rankr.AuditEntry
}

// MarketplaceDeliveryFinishParams end an attempt at a delivery.
type MarketplaceDeliveryFinishParams struct {
	ID    int64
	Lease string
	// State is pending (to try again after Retry), delivered, failed or
	// deactivated.
	State  string
	Status int
	Error  string
	Retry  time.Duration
	Now    time.Time
}

// MarketplaceActionClaimParams claim a custom action call.
type MarketplaceActionClaimParams struct {
	Hash, LocationID, WorkflowID, ActionKey string
	// TTL is how long an answer is repeated (24 h); Lease how long a
	// running call holds its claim.
	TTL, Lease time.Duration
}
