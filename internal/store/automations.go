package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// Automations keeps the no-code automations, their immutable versions and
// their runs.
//
// Exactly one run per automation and event: runs are inserted under the
// unique key (automation id, event id), and a run for a change-feed event
// is inserted in the very transaction that appends the event, for every
// enabled automation whose trigger the event fires (rankr.Triggers) and
// that runs for its location, on the automation's live version. A
// version swap is one row's update, so an event is run on the old version
// or the new one, never both or neither.
type Automations interface {
	// AutomationSave stores a version of an automation and makes it the
	// live one, atomically, with an automation.saved event. A source whose
	// checksum is the live version's saves nothing and answers created
	// false (enabled still applies). Saving an automation that does not
	// exist creates it.
	AutomationSave(ctx context.Context, p AutomationSaveParams) (a rankr.Automation, created bool, err error)
	// AutomationGet returns an automation, or rankr.ErrNotFound.
	AutomationGet(ctx context.Context, id string) (rankr.Automation, error)
	// AutomationList returns every automation, by id.
	AutomationList(ctx context.Context) ([]rankr.Automation, error)
	// AutomationVersionGet returns one version, or rankr.ErrNotFound.
	AutomationVersionGet(ctx context.Context, id string, version int) (rankr.AutomationVersion, error)
	// AutomationVersions returns an automation's versions, newest first.
	AutomationVersions(ctx context.Context, id string) ([]rankr.AutomationVersion, error)
	// AutomationSetEnabled switches an automation on or off (rankr.ErrNotFound
	// when there is none).
	AutomationSetEnabled(ctx context.Context, id string, enabled bool) (rankr.Automation, error)

	// AutomationRunsForWebhooks creates the runs the stored webhooks fire
	// (rankr.WebhookTrigger of their type), event id "webhook:<webhookId>",
	// their body as the payload; webhooks run before create nothing more.
	// It returns how many runs it created.
	AutomationRunsForWebhooks(ctx context.Context, events []rankr.InboxEvent) (int, error)
	// AutomationRunCreate creates one run (a schedule's slot, a manual
	// run), or answers the one that exists for its automation and event id
	// with created false.
	AutomationRunCreate(ctx context.Context, p RunCreateParams) (rankr.AutomationRun, bool, error)
	// AutomationRunClaim leases up to Limit queued runs that are due, oldest
	// first, skipping the locations whose automations are paused; each
	// becomes running, its attempts counted, its lease set.
	AutomationRunClaim(ctx context.Context, p RunClaimParams) ([]rankr.AutomationRun, error)
	// AutomationRunStart records what a claimed run starts with: its
	// payload and its concurrency key. rankr.ErrConflict when another run of
	// the automation holds the key (the run is then queued again, due after
	// Retry), or when the lease is no longer the run's.
	AutomationRunStart(ctx context.Context, p RunStartParams) error
	// AutomationStepRecord records one attempt at a step of a running run
	// (rankr.ErrConflict when the lease is no longer the run's).
	AutomationStepRecord(ctx context.Context, lease string, s rankr.AutomationStep) error
	// AutomationRunFinish ends a claimed run (succeeded, failed, skipped,
	// canceled), pauses it (paused, with the location's pause), or queues
	// it again (queued, due at RetryAt); rankr.ErrConflict when the lease is
	// no longer the run's.
	AutomationRunFinish(ctx context.Context, p RunFinishParams) error
	// AutomationRunGet returns a run with its steps' attempts, in order, or
	// rankr.ErrNotFound.
	AutomationRunGet(ctx context.Context, id int64) (rankr.AutomationRun, []rankr.AutomationStep, error)
	// AutomationRunList lists runs, newest first.
	AutomationRunList(ctx context.Context, p RunListParams) ([]rankr.AutomationRun, error)
	// AutomationRunRetry queues a failed or paused run again, due now, to go
	// on from the step that did not succeed (rankr.ErrConflict for a run in
	// another state).
	AutomationRunRetry(ctx context.Context, id int64) (rankr.AutomationRun, error)
	// AutomationRunsExpired queues again the running runs whose lease ended
	// (their runner died); it returns how many.
	AutomationRunsExpired(ctx context.Context) (int, error)

	// AutomationEventAppend appends an event an automation composed
	// (rankr.webhook.send) to the change feed, where the outbound webhooks
	// deliver it like any other; the same kind and record id at a location
	// appends nothing more and answers the first, created false.
	AutomationEventAppend(ctx context.Context, p AutomationEventParams) (rankr.Event, bool, error)

	// AutomationRunsPrune deletes up to Limit runs that ended before Before,
	// with their steps, oldest first; it returns how many.
	AutomationRunsPrune(ctx context.Context, before time.Time, limit int) (int, error)

	// AutomationPauses lists the locations whose automations are paused.
	AutomationPauses(ctx context.Context) ([]rankr.AutomationPause, error)
	// AutomationResume ends a location's pause (its paused runs are queued
	// again); false when it was not paused.
	AutomationResume(ctx context.Context, locationID string) (bool, error)
}

// AutomationSaveParams is a version to save.
type AutomationSaveParams struct {
	ID          string
	Enabled     bool
	Description string
	TriggerKey  string   // without its version
	Locations   []string // nil: every location
	Source      string
	Definition  json.RawMessage
	Checksum    string
	Author      rankr.AuditActor
	Note        string
}

// AutomationEventParams is an event to append.
type AutomationEventParams struct {
	LocationID string
	Kind       string // "automation.<type>"
	RecordID   string // the dedupe key
	Data       json.RawMessage
}

// RunCreateParams is one run to create.
type RunCreateParams struct {
	AutomationID string
	EventID      string
	LocationID   string
	TriggerKey   string
	Payload      json.RawMessage
}

// RunClaimParams leases runs.
type RunClaimParams struct {
	Limit int
	Lease time.Duration
}

// RunStartParams is what a run starts with.
type RunStartParams struct {
	ID             int64
	Lease          string
	Payload        json.RawMessage
	ConcurrencyKey string        // "" for none
	Retry          time.Duration // when the key is held: how long until it is due again
}

// RunFinishParams ends or requeues a run.
type RunFinishParams struct {
	ID     int64
	Lease  string
	Status rankr.RunStatus
	Reason string
	// RetryAt is when a requeued run is due.
	RetryAt time.Time
	// Payload, when set, is recorded as the run's (a run that was not
	// started, such as one its filter skipped, records it here).
	Payload json.RawMessage
	// Steps are attempts recorded with the end, in its transaction: the
	// runner keeps those of reads until a write must be recorded first,
	// or the run ends.
	Steps []rankr.AutomationStep
}

// RunListParams selects runs.
type RunListParams struct {
	AutomationID string
	Status       rankr.RunStatus
	LocationID   string
	// BeforeID pages: runs older than this one.
	BeforeID int64
	Limit    int
}
