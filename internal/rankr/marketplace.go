package rankr

import (
	"encoding/json"
	"time"
)

// MarketplaceTrigger is a GHL workflow's subscription to one of rankr's
// triggers, made through GHL's marketplace "Workflow Triggers" contract:
// GHL tells rankr when a workflow adds, edits or removes the trigger, and
// rankr fires it by POSTing to TargetURL.
type MarketplaceTrigger struct {
	TriggerID  string          `json:"triggerId"` // GHL's triggerData.id
	LocationID string          `json:"locationId"`
	WorkflowID string          `json:"workflowId"`
	CompanyID  string          `json:"companyId,omitempty"`
	Key        string          `json:"key"`        // the marketplace's (derived_order_paid)
	CatalogKey string          `json:"catalogKey"` // the catalog's (derived.order.paid)
	Version    string          `json:"version,omitempty"`
	Filters    json.RawMessage `json:"filters"`
	TargetURL  string          `json:"targetUrl"`
	Active     bool            `json:"active"`
	// Reason says why an inactive subscription is (GHL's DELETED, or its
	// answer to a firing).
	Reason string `json:"reason,omitempty"`
	// FromSeq is the newest change-feed event when the subscription was
	// made (or made active again): older events never fire it.
	FromSeq   int64     `json:"fromSeq"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// The states of a marketplace delivery.
const (
	MarketplacePending     = "pending"
	MarketplaceDelivered   = "delivered"
	MarketplaceFailed      = "failed"      // for good, with its error
	MarketplaceDeactivated = "deactivated" // GHL said the trigger is gone
)

// MarketplaceDelivery is one firing of one subscription by one event.
type MarketplaceDelivery struct {
	ID         int64           `json:"id"`
	TriggerID  string          `json:"triggerId"`
	EventSeq   int64           `json:"eventSeq"`
	LocationID string          `json:"locationId"`
	TriggerKey string          `json:"triggerKey"`
	Payload    json.RawMessage `json:"payload"`
	State      string          `json:"state"`
	Attempts   int             `json:"attempts"`
	LastError  string          `json:"lastError,omitempty"`
	Status     int             `json:"status,omitempty"`
	// TargetURL is the subscription's, read with a claim.
	TargetURL     string    `json:"targetUrl,omitempty"`
	Lease         string    `json:"-"`
	NextAttemptAt time.Time `json:"nextAttemptAt"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// MarketplaceActionCall is the remembered answer to one GHL custom action
// call.
type MarketplaceActionCall struct {
	Hash       string
	LocationID string
	WorkflowID string
	ActionKey  string
	Done       bool // false: a call is running it
	Status     int
	Body       []byte
	CreatedAt  time.Time
}
