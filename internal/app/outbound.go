package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Outbound endpoints belong to a location or to every location; a caller
// bound to locations sees and manages only the endpoints of those.

// webhooks returns the outbound sender; seal says the use case makes a
// secret, which needs the master key.
func (a *App) webhooks(seal bool) (*outbound.Webhooks, error) {
	if a.d.Webhooks == nil || seal && !a.d.Sealing {
		return nil, unavailable("outbound webhooks", "the master key seals their secrets: run with it")
	}
	return a.d.Webhooks, nil
}

func (c Caller) seesEndpoint(e rankr.WebhookEndpoint) bool {
	return c.Locations == nil || e.LocationID != "" && c.Sees(e.LocationID)
}

// Endpoints lists outbound endpoints, oldest first (removed ones too with
// removed).
func (a *App) Endpoints(ctx context.Context, c Caller, removed bool) ([]rankr.WebhookEndpoint, error) {
	list, err := a.d.Store.WebhookEndpointList(ctx, store.WebhookEndpointListParams{Removed: removed})
	if err != nil {
		return nil, err
	}
	list = slices.DeleteFunc(list, func(e rankr.WebhookEndpoint) bool { return !c.seesEndpoint(e) })
	if list == nil {
		list = []rankr.WebhookEndpoint{}
	}
	return list, nil
}

// Endpoint shows an endpoint.
func (a *App) Endpoint(ctx context.Context, c Caller, id string) (rankr.WebhookEndpoint, error) {
	e, err := a.d.Store.WebhookEndpointGet(ctx, id)
	if err != nil {
		return e, err
	}
	if !c.seesEndpoint(e) {
		return rankr.WebhookEndpoint{}, fmt.Errorf("endpoint %s: %w", id, rankr.ErrNotFound)
	}
	return e, nil
}

// EndpointRequest adds an endpoint.
type EndpointRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events,omitempty"`
	LocationID  string   `json:"locationId,omitempty"`
	Description string   `json:"description,omitempty"`
}

// AddEndpoint adds an endpoint and returns its signing secret, the only
// time it is shown.
func (a *App) AddEndpoint(ctx context.Context, c Caller, r EndpointRequest) (rankr.WebhookEndpoint, string, error) {
	w, err := a.webhooks(true)
	if err != nil {
		return rankr.WebhookEndpoint{}, "", err
	}
	switch {
	case r.URL == "":
		return rankr.WebhookEndpoint{}, "", fieldErr("url", "give the URL to send to")
	case c.Locations != nil && r.LocationID == "":
		return rankr.WebhookEndpoint{}, "", fieldErr("locationId", "your key is bound to locations: name the endpoint's")
	}
	if err := c.location(r.LocationID); err != nil {
		return rankr.WebhookEndpoint{}, "", err
	}
	e, secret, err := w.Add(ctx, outbound.AddParams{URL: r.URL, Events: r.Events, LocationID: r.LocationID,
		Description: r.Description, Actor: c.Actor})
	return e, secret, err
}

// SetEndpointEnabled enables or disables an endpoint.
func (a *App) SetEndpointEnabled(ctx context.Context, c Caller, id string, enabled bool) (rankr.WebhookEndpoint, error) {
	w, err := a.webhooks(false)
	if err != nil {
		return rankr.WebhookEndpoint{}, err
	}
	if _, err := a.Endpoint(ctx, c, id); err != nil {
		return rankr.WebhookEndpoint{}, err
	}
	return w.SetEnabled(ctx, c.Actor, id, enabled)
}

// RemoveEndpoint removes an endpoint for good; its deliveries stay.
func (a *App) RemoveEndpoint(ctx context.Context, c Caller, id string) (rankr.WebhookEndpoint, error) {
	w, err := a.webhooks(false)
	if err != nil {
		return rankr.WebhookEndpoint{}, err
	}
	if _, err := a.Endpoint(ctx, c, id); err != nil {
		return rankr.WebhookEndpoint{}, err
	}
	return w.Remove(ctx, c.Actor, id)
}

// RotateEndpointSecret gives an endpoint a new secret (returned, shown
// once); the old one signs beside it for grace.
func (a *App) RotateEndpointSecret(ctx context.Context, c Caller, id string, grace time.Duration) (rankr.WebhookEndpoint, string, error) {
	w, err := a.webhooks(true)
	if err != nil {
		return rankr.WebhookEndpoint{}, "", err
	}
	if _, err := a.Endpoint(ctx, c, id); err != nil {
		return rankr.WebhookEndpoint{}, "", err
	}
	if grace < 0 || grace > outbound.MaxGrace {
		return rankr.WebhookEndpoint{}, "", fieldErr("grace", "want 0 to %s, not %s", outbound.MaxGrace, grace)
	}
	return w.RotateSecret(ctx, c.Actor, id, grace)
}

// DeliveryQuery selects deliveries.
type DeliveryQuery struct {
	Endpoint string
	State    string
	Location string
	Limit    int
	Cursor   string
}

// Deliveries lists outbound deliveries, newest first.
func (a *App) Deliveries(ctx context.Context, c Caller, q DeliveryQuery) (Page[rankr.WebhookDelivery], error) {
	if err := c.location(q.Location); err != nil {
		return Page[rankr.WebhookDelivery]{}, err
	}
	switch rankr.DeliveryState(q.State) {
	case "", rankr.DeliveryPending, rankr.DeliverySending, rankr.DeliveryDelivered, rankr.DeliveryDead:
	default:
		return Page[rankr.WebhookDelivery]{}, fieldErr("state", "want pending, sending, delivered or dead, not %q", q.State)
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return Page[rankr.WebhookDelivery]{}, fieldErr("limit", "want 1 to %d, not %d", MaxLimit, q.Limit)
	}
	if q.Endpoint != "" {
		if _, err := a.Endpoint(ctx, c, q.Endpoint); err != nil {
			return Page[rankr.WebhookDelivery]{}, err
		}
	}
	limit, offset := max(q.Limit, 0), 0
	if limit == 0 {
		limit = 50
	}
	if q.Cursor != "" {
		var err error
		if offset, err = decodeOffset(q.Cursor); err != nil {
			return Page[rankr.WebhookDelivery]{}, fieldErr("cursor", "not a cursor this list gave: start again without it")
		}
	}
	out := Page[rankr.WebhookDelivery]{Items: []rankr.WebhookDelivery{}}
	for len(out.Items) < limit {
		list, err := a.d.Store.WebhookDeliveryList(ctx, store.WebhookDeliveryListParams{EndpointID: q.Endpoint,
			State: rankr.DeliveryState(q.State), LocationID: q.Location, Limit: limit, Offset: offset})
		if err != nil {
			return out, err
		}
		for _, d := range list {
			offset++
			if c.Sees(d.LocationID) {
				out.Items = append(out.Items, d)
				if len(out.Items) == limit {
					break
				}
			}
		}
		if len(list) < limit {
			return out, nil
		}
	}
	out.NextCursor = encodeOffset(offset)
	return out, nil
}

// ReplayRequest selects deliveries to send again: these ids, or else all
// of an endpoint, a state (dead; default dead and delivered) and a time.
type ReplayRequest struct {
	IDs      []string  `json:"ids,omitempty"`
	Endpoint string    `json:"endpointId,omitempty"`
	DeadOnly bool      `json:"deadOnly,omitempty"`
	Since    time.Time `json:"since,omitzero"`
}

// ReplayResult says how many deliveries were queued again.
type ReplayResult struct {
	Replayed int `json:"replayed"`
}

// check refuses a replay that names nothing, and one a bound caller may not
// make.
func (r ReplayRequest) check(ctx context.Context, a *App, c Caller) error {
	if len(r.IDs) == 0 && r.Endpoint == "" && !r.DeadOnly && r.Since.IsZero() {
		return fieldErr("ids", "say what to replay: ids, endpointId, deadOnly and/or since")
	}
	if r.Endpoint != "" {
		if _, err := a.Endpoint(ctx, c, r.Endpoint); err != nil {
			return err
		}
	}
	if c.Locations == nil {
		return nil
	}
	if r.Endpoint == "" && len(r.IDs) == 0 {
		return fieldErr("endpointId", "your key is bound to locations: name the endpoint or the deliveries")
	}
	for _, id := range r.IDs {
		d, err := a.d.Store.WebhookDeliveryGet(ctx, id)
		if err != nil {
			return err
		}
		if !c.Sees(d.LocationID) {
			return fmt.Errorf("delivery %s: %w", id, rankr.ErrNotFound)
		}
	}
	return nil
}

// Replay sends delivered or dead deliveries again, with their webhook-id
// and body, now.
func (a *App) Replay(ctx context.Context, c Caller, r ReplayRequest) (ReplayResult, error) {
	w, err := a.webhooks(false)
	if err != nil {
		return ReplayResult{}, err
	}
	if err := r.check(ctx, a, c); err != nil {
		return ReplayResult{}, err
	}
	p := store.WebhookDeliveryReplayParams{IDs: r.IDs, EndpointID: r.Endpoint, Since: r.Since}
	if r.DeadOnly {
		p.State = rankr.DeliveryDead
	}
	n, err := w.Replay(ctx, c.Actor, p)
	return ReplayResult{Replayed: n}, err
}

// StartReplay queues a replay as a job.
func (a *App) StartReplay(ctx context.Context, c Caller, r ReplayRequest) (Job, error) {
	if err := r.check(ctx, a, c); err != nil {
		return Job{}, err
	}
	return a.enqueue(ctx, c, JobRequest{Kind: JobReplay, Replay: &r}, "webhook_delivery.replay_requested",
		rankr.AuditTarget{Type: "webhook_delivery", ID: r.Endpoint})
}

// RunJob does a job's work: the queue's workers call it, in whichever
// process takes the job, as the caller who asked.
func (a *App) RunJob(ctx context.Context, r JobRequest) (any, error) {
	c := Caller{Actor: r.Actor, Request: r.Request}
	switch r.Kind {
	case JobReconcile:
		return a.ReconcileRun(ctx, c, r.Full, r.LocationID)
	case JobReplay:
		if r.Replay == nil {
			return nil, fmt.Errorf("a replay job without its selection: %w", rankr.ErrInvalid)
		}
		return a.Replay(ctx, c, *r.Replay)
	}
	return nil, fmt.Errorf("job kind %q is not run by the use cases: %w", r.Kind, rankr.ErrInvalid)
}
