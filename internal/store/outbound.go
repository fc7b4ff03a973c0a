package store

import (
	"context"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// Outbound is the part of Store that keeps outbound webhooks: the
// subscribers' endpoints and the deliveries of change-feed events to them.
//
// The rules:
//
//   - Fan-out is a consumer of the change feed with its own durable cursor:
//     it queues one delivery per matching (endpoint, event) and advances the
//     cursor in the same transaction, and a delivery is unique per (endpoint,
//     event). A crash loses nothing; a re-run queues nothing twice.
//   - A delivery is attempted under a lease: one claimer at a time, also
//     across processes, and only the claim that holds it may finish it.
//     Leases and due times are measured with the database's clock, never a
//     process's: hosts' clocks disagree.
type Outbound interface {
	// WebhookEndpointCreate adds an endpoint. It receives the events
	// appended after it was added (AfterSeq is set here).
	WebhookEndpointCreate(ctx context.Context, p WebhookEndpointCreateParams) (rankr.WebhookEndpoint, error)
	// WebhookEndpointGet returns an endpoint, or rankr.ErrNotFound.
	WebhookEndpointGet(ctx context.Context, id string) (rankr.WebhookEndpoint, error)
	// WebhookEndpointList lists endpoints, oldest first.
	WebhookEndpointList(ctx context.Context, p WebhookEndpointListParams) ([]rankr.WebhookEndpoint, error)
	// WebhookEndpointUpdate enables, disables or removes an endpoint. A
	// removed endpoint stays removed.
	WebhookEndpointUpdate(ctx context.Context, p WebhookEndpointUpdateParams) (rankr.WebhookEndpoint, error)
	// WebhookEndpointRotateSecret gives an endpoint a new signing secret;
	// the one it replaces keeps signing beside it for the grace, measured
	// with the database's clock (none: at once only the new one). It fails
	// with rankr.ErrNotFound for an unknown endpoint and rankr.ErrConflict
	// for a removed one.
	WebhookEndpointRotateSecret(ctx context.Context, p WebhookEndpointRotateParams) (rankr.WebhookEndpoint, error)

	// WebhookFanOut reads up to Limit events after the fan-out cursor,
	// queues a delivery for each endpoint that wants each one (see
	// rankr.WebhookEndpoint.Wants), and advances the cursor, all in one
	// transaction.
	WebhookFanOut(ctx context.Context, p WebhookFanOutParams) (WebhookFanOutResult, error)
	// WebhookDeliveryClaim leases up to Limit deliveries due for an attempt
	// (pending and due, or sending with an expired lease) of enabled
	// endpoints, counting the attempt and giving each a new claim. Other
	// claimers skip them until the lease ends.
	WebhookDeliveryClaim(ctx context.Context, p WebhookDeliveryClaimParams) ([]ClaimedDelivery, error)
	// WebhookDeliverySetPayloads fixes the bodies of deliveries held by a
	// claim (by delivery id), except those that have one already, in one
	// transaction, and returns the bodies they have. A delivery the claim
	// no longer holds is left out.
	WebhookDeliverySetPayloads(ctx context.Context, claim string, payloads map[string][]byte) (map[string][]byte, error)
	// WebhookDeliveryFinish records how an attempt ended. It fails with
	// rankr.ErrConflict when the claim no longer holds the delivery (its
	// lease ended and another claimer took it). A delivery that dies
	// appends a webhook.dead_lettered event.
	WebhookDeliveryFinish(ctx context.Context, p WebhookDeliveryFinishParams) error
	// WebhookDeliveryGet returns a delivery, or rankr.ErrNotFound.
	WebhookDeliveryGet(ctx context.Context, id string) (rankr.WebhookDelivery, error)
	// WebhookDeliveryList lists deliveries, newest first, without their
	// bodies (WebhookDeliveryGet has them).
	WebhookDeliveryList(ctx context.Context, p WebhookDeliveryListParams) ([]rankr.WebhookDelivery, error)
	// WebhookDeliveryPrune deletes up to Limit deliveries that ended
	// (delivered or dead) before Before, oldest first, and returns how
	// many; pending and sending ones are kept whatever their age.
	WebhookDeliveryPrune(ctx context.Context, p WebhookDeliveryPruneParams) (int, error)
	// WebhookDeliveryReplay makes delivered or dead deliveries pending
	// again, due at once by the database's clock, with their message id and
	// body; it returns how many. Deliveries pending or sending, and those of removed endpoints,
	// are left as they are.
	WebhookDeliveryReplay(ctx context.Context, p WebhookDeliveryReplayParams) (int, error)
}

// WebhookEndpointCreateParams adds an endpoint.
type WebhookEndpointCreateParams struct {
	ID          string
	URL         string
	Secret      []byte // sealed by the vault
	Events      []string
	LocationID  string
	Description string
	Now         time.Time
	// Audit, when set, is appended to the audit log in the transaction
	// that adds the endpoint: if it cannot be, the endpoint is not added.
	Audit *rankr.AuditEntry
}

// WebhookEndpointListParams selects endpoints.
type WebhookEndpointListParams struct {
	// Removed includes removed endpoints.
	Removed bool
}

// WebhookEndpointUpdateParams changes an endpoint. Nil fields stay.
type WebhookEndpointUpdateParams struct {
	ID      string
	Enabled *bool
	Remove  bool
	Now     time.Time
	// Audit, when set, is appended in the transaction of the change.
	Audit *rankr.AuditEntry
}

// WebhookEndpointRotateParams replaces an endpoint's signing secret.
type WebhookEndpointRotateParams struct {
	ID     string
	Secret []byte // the new one, sealed by the vault
	// Grace is how long the replaced secret keeps signing, from the
	// database's clock.
	Grace time.Duration
	Now   time.Time
	// Audit, when set, is appended in the transaction of the rotation.
	Audit *rankr.AuditEntry
}

// WebhookFanOutParams runs one fan-out step.
type WebhookFanOutParams struct {
	Limit int // events read, default 500, at most 5000
	// Now is the record time (created_at, message ids); the deliveries are
	// due at once by the database's clock.
	Now time.Time
}

// WebhookFanOutResult says what a fan-out step did. More is set when it
// stopped at Limit: there may be events left.
type WebhookFanOutResult struct {
	Events     int   // events read
	Deliveries int   // deliveries queued
	Cursor     int64 // the cursor after the step
	More       bool
}

// WebhookDeliveryClaimParams leases deliveries for attempts. Which are due,
// and the lease, are measured with the database's clock.
type WebhookDeliveryClaimParams struct {
	Limit int
	Lease time.Duration
	// Now is the record time (last_attempt_at, updated_at); it decides
	// nothing.
	Now time.Time
}

// ClaimedDelivery is a delivery leased for an attempt, with the event it
// carries.
type ClaimedDelivery struct {
	Delivery rankr.WebhookDelivery
	Event    rankr.Event
	// Endpoint is the delivery's endpoint as the claim read it: its URL
	// and secrets are current for the attempt.
	Endpoint rankr.WebhookEndpoint
}

// WebhookDeliveryPruneParams bounds a pruning of the deliveries.
type WebhookDeliveryPruneParams struct {
	Before time.Time
	Limit  int // default 1000, at most 10,000
}

// WebhookDeliveryFinishParams ends an attempt: State is delivered, pending
// (to try again after RetryIn) or dead.
type WebhookDeliveryFinishParams struct {
	ID       string
	Claim    string
	State    rankr.DeliveryState
	Status   int    // HTTP status, 0 when there was no answer
	Response string // the start of the answer's body
	Error    string
	// RetryIn is how long a pending delivery waits for its next attempt,
	// from the database's clock.
	RetryIn time.Duration
	// Now is the record time (delivered_at, updated_at, events); it
	// decides nothing.
	Now time.Time
}

// WebhookDeliveryListParams selects deliveries. Empty fields do not filter.
type WebhookDeliveryListParams struct {
	EndpointID string
	State      rankr.DeliveryState
	LocationID string
	Limit      int // default 50, at most 1000
	Offset     int
}

// WebhookDeliveryReplayParams selects deliveries to replay: those of IDs,
// or else all matching the other fields. At least one field must be set.
type WebhookDeliveryReplayParams struct {
	IDs        []string
	EndpointID string
	// State limits the replay to delivered or dead deliveries; empty
	// means both.
	State rankr.DeliveryState
	// Since limits the replay to deliveries queued at or after it.
	Since time.Time
	// Now is the record time (updated_at); it decides nothing.
	Now time.Time
	// Audit, when set, is appended in the transaction of the replay, with
	// "replayed" (how many) added to its changes.
	Audit *rankr.AuditEntry
}
