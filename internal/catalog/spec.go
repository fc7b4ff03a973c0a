package catalog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Kind is what an item is.
type Kind string

// The kinds of items.
const (
	KindAction  Kind = "action"
	KindTrigger Kind = "trigger"
)

// Source is where an item comes from.
type Source string

// The sources of items.
const (
	SourceGHLAPI     Source = "ghl-api"     // one GHL API operation
	SourceGHLWebhook Source = "ghl-webhook" // a webhook GHL sends
	SourceDerived    Source = "derived"     // a change rankr sees in what it syncs, where GHL sends no webhook
	SourceRankr      Source = "rankr"       // rankr's own: composite actions, its flows' events
	SourceSchedule   Source = "schedule"    // a clock
)

// Effect is what running an action does to the world, so that a dry run
// knows what it may run for real and a reviewer what a step risks.
type Effect string

// The effects of actions.
const (
	EffectRead        Effect = "read"        // changes nothing: runs for real even in a dry run
	EffectWrite       Effect = "write"       // creates or changes records
	EffectDestructive Effect = "destructive" // deletes, voids or cancels: cannot be undone
	EffectNotify      Effect = "notify"      // sends something to a customer or a person
)

// Idempotency is how running an action twice is kept from doing twice
// what it does once.
type Idempotency string

// The ways an action is made idempotent.
const (
	// IdemNatural: repeating it changes nothing more (a read, a PUT, a
	// DELETE, a write keyed by its own path).
	IdemNatural Idempotency = "natural"
	// IdemKey: the run's idempotency key makes a repeat a no-op (rankr
	// keeps the key with what it did).
	IdemKey Idempotency = "key"
	// IdemCheckBeforeCreate: it reads what exists first and creates only
	// what is missing (GHL's fulfillments have no idempotency key).
	IdemCheckBeforeCreate Idempotency = "check-before-create"
	// IdemNone: GHL offers no way; a write whose answer was lost is
	// reported as of unknown outcome and never sent again blindly.
	IdemNone Idempotency = "none"
)

// Spec describes an item. Everything but the code that runs an action is
// here, as data: the CLI, the API, the docs and GHL's marketplace
// definitions are all made from it.
type Spec struct {
	// Key is stable and never reused, e.g. "ghl.payments.order.list".
	Key string `json:"key"`
	// Version grows on a change that breaks the schemas; the old version
	// stays registered.
	Version int    `json:"version"`
	Kind    Kind   `json:"kind"`
	Source  Source `json:"source"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
	// Input is the JSON Schema of an action's input (none for a trigger).
	Input json.RawMessage `json:"input,omitempty"`
	// Output is the JSON Schema of an action's result or a trigger's
	// payload.
	Output json.RawMessage `json:"output"`
	// SampleInput is an input the action accepts.
	SampleInput json.RawMessage `json:"sampleInput,omitempty"`
	// Sample is an output (or payload) as the item produces it; a dry run
	// of a write answers with it.
	Sample json.RawMessage `json:"sample"`
	// Scopes are the GHL scopes the location's token needs.
	Scopes      []string    `json:"scopes"`
	Effect      Effect      `json:"effect,omitempty"`
	Idempotency Idempotency `json:"idempotency,omitempty"`
	// Operation is the GHL operation a ghl-api action sends
	// ("CreateFulfillment").
	Operation string `json:"operation,omitempty"`
	// Fires names, for a trigger, what fires it: the GHL webhook type, or
	// the change-feed event kinds it is derived from.
	Fires []string `json:"fires,omitempty"`
}

// ID is the key with its version: "ghl.payments.order.list@1".
func (s Spec) ID() string { return s.Key + "@" + strconv.Itoa(s.Version) }

// ParseID splits "key@N" (or a bare key, version 0: the newest).
func ParseID(id string) (key string, version int, err error) {
	key, v, ok := strings.Cut(id, "@")
	if !ok {
		return key, 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("catalog: %q: the version after @ must be a positive number", id)
	}
	return key, n, nil
}
