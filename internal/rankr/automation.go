package rankr

import (
	"encoding/json"
	"time"
)

// Automation is a no-code automation: one trigger wired to steps, kept as
// immutable versions of the file that defines it. Version is the one that
// is live: new runs start on it; a run already started stays on its own.
type Automation struct {
	ID          string `json:"id"`
	Version     int    `json:"version"`
	Enabled     bool   `json:"enabled"`
	Description string `json:"description,omitempty"`
	// TriggerKey is the catalog key of the trigger, without its version
	// ("derived.order.fulfilled").
	TriggerKey string `json:"triggerKey"`
	// Locations are those it runs for; nil: every location.
	Locations []string  `json:"locations"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// RunsFor reports whether the automation runs for a location.
func (a Automation) RunsFor(loc string) bool {
	if a.Locations == nil {
		return true
	}
	for _, l := range a.Locations {
		if l == loc {
			return true
		}
	}
	return false
}

// AutomationVersion is one saved version of an automation: the file as it
// was given, and its definition as rankr understood it (JSON).
type AutomationVersion struct {
	AutomationID string          `json:"automationId"`
	Version      int             `json:"version"`
	Source       string          `json:"source"`
	Definition   json.RawMessage `json:"definition,omitempty"`
	Checksum     string          `json:"checksum"`
	Author       AuditActor      `json:"author"`
	Note         string          `json:"note,omitempty"`
	CreatedAt    time.Time       `json:"createdAt"`
}

// RunStatus is where a run of an automation stands.
type RunStatus string

// Run statuses. A run is queued until a runner starts it, and queued again
// (with a due time) between the attempts of a step that failed in a way
// worth retrying. skipped: the trigger's filter said no (the run records
// why). paused: GHL refused the location's credential; the run waits for
// the location to be reconnected, then goes on from its step.
const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunSkipped   RunStatus = "skipped"
	RunPaused    RunStatus = "paused"
	RunCanceled  RunStatus = "canceled"
)

// Ended reports whether a run is over (retry makes a failed one queued
// again).
func (s RunStatus) Ended() bool {
	return s == RunSucceeded || s == RunFailed || s == RunSkipped || s == RunCanceled
}

// AutomationRun is one run of an automation for one trigger event. At most
// one exists per automation and event id.
type AutomationRun struct {
	ID           int64  `json:"id"`
	AutomationID string `json:"automationId"`
	Version      int    `json:"version"`
	// EventID identifies what fired it: "feed:<seq>" for a change-feed
	// event, "webhook:<webhookId>" for a GHL webhook,
	// "schedule:<slot>" for a schedule, "manual:<id>" for one asked for.
	EventID    string `json:"eventId"`
	EventSeq   int64  `json:"eventSeq,omitempty"`
	LocationID string `json:"locationId"`
	TriggerKey string `json:"triggerKey"`
	// Payload is the trigger's payload, kept when the run starts (or when
	// it is created, for a webhook's, which carries it).
	Payload json.RawMessage `json:"payload,omitempty"`
	Status  RunStatus       `json:"status"`
	// Reason says why it is where it is: the filter's verdict, the error
	// that failed or paused it.
	Reason string `json:"reason,omitempty"`
	// Attempts counts the times a runner started it.
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	// ConcurrencyKey is the run's value of the automation's concurrency
	// key while it runs: two runs of one automation with the same value
	// never run at once.
	ConcurrencyKey string `json:"concurrencyKey,omitempty"`
	// Event is the change-feed event of EventSeq, as a claim reads it with
	// the run (its payload is built from it).
	Event      *Event    `json:"-"`
	Lease      string    `json:"-"`
	CreatedAt  time.Time `json:"createdAt"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// StepStatus is how a step's attempt ended.
type StepStatus string

// Step statuses. unknown: a write was sent and its answer lost, and the
// action cannot tell by itself whether it was applied; the run fails
// rather than send it again blindly.
const (
	StepSucceeded StepStatus = "succeeded"
	StepFailed    StepStatus = "failed"
	StepSkipped   StepStatus = "skipped"
	StepUnknown   StepStatus = "unknown"
)

// Step error classes.
const (
	ErrorRetryable      = "retryable"       // 429, 5xx, network: tried again with backoff
	ErrorPermanent      = "permanent"       // 4xx, a bad input: fails the step
	ErrorAuth           = "auth"            // GHL refused the credential: pauses the location
	ErrorOutcomeUnknown = "outcome_unknown" // the write may have happened
)

// AutomationStep is one attempt at one step of a run, as it was: its
// input, the request it sent, what came back (each cut at 64 KB).
type AutomationStep struct {
	RunID      int64           `json:"runId"`
	StepID     string          `json:"stepId"`
	Attempt    int             `json:"attempt"`
	Status     StepStatus      `json:"status"`
	ErrorClass string          `json:"errorClass,omitempty"`
	Error      string          `json:"error,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Request    json.RawMessage `json:"request,omitempty"`
	Millis     int64           `json:"ms"`
	StartedAt  time.Time       `json:"startedAt"`
}

// AutomationPause holds a location's automations: GHL refused its
// credential. It ends when the location is connected again (or an
// operator ends it).
type AutomationPause struct {
	LocationID string    `json:"locationId"`
	Reason     string    `json:"reason"`
	Since      time.Time `json:"since"`
}

// Automation events, in the change feed.
const (
	AutomationSaved  = "automation.saved"
	AutomationPaused = "automation.paused" // a location's automations, on an auth failure
)

// RecordAutomation and RecordRun are the record types of automation events;
// RecordMessage is that of the events automations send (their kinds are
// AutomationEventPrefix and the type the automation names).
const (
	RecordAutomation      = "automation"
	RecordRun             = "automation_run"
	RecordMessage         = "automation_message"
	AutomationEventPrefix = "automation."
)
