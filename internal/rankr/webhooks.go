package rankr

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// WebhookEndpoint is a subscriber's URL that Rankr sends change-feed events
// to (outbound webhooks, signed the Standard Webhooks way).
type WebhookEndpoint struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Secret is the signing secret (whsec_…), sealed by the vault. It is
	// never stored or logged in clear.
	Secret []byte `json:"-"`
	// Events are the event kinds the endpoint wants, as patterns
	// ("order.*", "fulfillment.created", "*"); see MatchEventKind.
	Events []string `json:"events"`
	// LocationID, when set, limits the endpoint to one location's events.
	LocationID  string `json:"locationId,omitempty"`
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
	// AfterSeq is the last event of the feed when the endpoint was added:
	// it receives only what happens after.
	AfterSeq  int64     `json:"afterSeq"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// RemovedAt is set when the endpoint was removed; its deliveries stay
	// for the record.
	RemovedAt time.Time `json:"removedAt,omitzero"`
	// PreviousSecret is the secret the last rotation replaced (sealed, as
	// Secret), set only while its grace lasts, until PreviousUntil by the
	// database's clock: meanwhile both sign every delivery.
	PreviousSecret []byte    `json:"-"`
	PreviousUntil  time.Time `json:"previousUntil,omitzero"`
}

// Wants reports whether the endpoint subscribes to an event. Events about
// webhooks themselves (webhook.*) are never sent to endpoints, whatever
// the patterns: a dead letter must not cause another delivery, which could
// die in turn.
func (e WebhookEndpoint) Wants(ev Event) bool {
	if !e.Enabled || !e.RemovedAt.IsZero() || ev.Seq <= e.AfterSeq || strings.HasPrefix(ev.Kind, WebhookEventPrefix) {
		return false
	}
	if e.LocationID != "" && e.LocationID != ev.LocationID {
		return false
	}
	for _, p := range e.Events {
		if MatchEventKind(p, ev.Kind) {
			return true
		}
	}
	return false
}

// MatchEventKind reports whether an event kind matches a subscription
// pattern: a kind ("order.created"), or a glob where * stands for any run
// of characters ("order.*", "*.deleted", "*").
func MatchEventKind(pattern, kind string) bool {
	ok, err := path.Match(pattern, kind)
	return err == nil && ok
}

// ValidateEventPattern checks a subscription pattern.
func ValidateEventPattern(pattern string) error {
	if strings.TrimSpace(pattern) == "" || strings.ContainsAny(pattern, "/ \t") {
		return fmt.Errorf("%w: event pattern %q: want a kind like order.created or a glob like order.* or *", ErrInvalid, pattern)
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return fmt.Errorf("%w: event pattern %q: %v", ErrInvalid, pattern, err)
	}
	return nil
}

// DeliveryState is where an outbound webhook delivery stands.
type DeliveryState string

// Delivery states. A delivery is pending until a dispatcher claims it
// (sending, under a lease); an attempt answered 2xx makes it delivered, a
// failed one makes it pending again (at its next attempt time) or, after
// the last attempt, dead. Replaying a delivered or dead delivery makes it
// pending again, with the same message id.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliverySending   DeliveryState = "sending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryDead      DeliveryState = "dead"
)

// WebhookDelivery is one change-feed event on its way to one endpoint.
type WebhookDelivery struct {
	// ID is the Standard Webhooks message id (msg_…), sent as webhook-id:
	// the same on every attempt and replay, so receivers can deduplicate.
	ID         string        `json:"id"`
	EndpointID string        `json:"endpointId"`
	EventSeq   int64         `json:"eventSeq"`
	LocationID string        `json:"locationId"`
	Kind       string        `json:"kind"`
	State      DeliveryState `json:"state"`
	// Attempts counts the attempts since the delivery was queued or last
	// replayed.
	Attempts      int       `json:"attempts"`
	Replays       int       `json:"replays"`
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	LastAttemptAt time.Time `json:"lastAttemptAt,omitzero"`
	// LastStatus is the HTTP status of the last attempt (0: no answer).
	LastStatus int `json:"lastStatus,omitempty"`
	// LastResponse is the start of the last answer's body.
	LastResponse string    `json:"lastResponse,omitempty"`
	LastError    string    `json:"lastError,omitempty"`
	DeliveredAt  time.Time `json:"deliveredAt,omitzero"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	// Payload is the body, fixed at the first attempt so that retries and
	// replays send the same bytes; nil before.
	Payload []byte `json:"-"`
	// Claim identifies the attempt holding the delivery while it is
	// sending; finishing the attempt must present it.
	Claim string `json:"-"`
}

// Outbound webhook events. They go to the change feed (for the record and
// for alerts), never to webhook endpoints.
const (
	WebhookEventPrefix    = "webhook."
	WebhookDeadLettered   = "webhook.dead_lettered"
	RecordWebhookDelivery = "webhook_delivery"
)
