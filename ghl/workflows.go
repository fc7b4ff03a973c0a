package ghl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// OpExecuteWorkflowTrigger fires a marketplace custom trigger: a POST to
// the target URL GHL gave when a workflow subscribed to it. It is not in
// the API's specs (the marketplace docs describe it), so it is no part of
// Operations(). A POST GHL may count twice, so it is not idempotent: it is
// retried only when refused (429) or never written.
var OpExecuteWorkflowTrigger = Operation{Name: "ExecuteWorkflowTrigger", OperationID: "execute-workflow-trigger",
	Method: "POST", Path: "/workflows-marketplace/triggers/execute/{appId}/{triggerId}"}

// ExecuteWorkflowTrigger POSTs payload to a workflow trigger's target URL
// (absolute, as GHL gave it) with the location's token, inside the
// location's rate budget and through the client's retry rules.
func (c *Client) ExecuteWorkflowTrigger(ctx context.Context, locationID, targetURL string, payload json.RawMessage) error {
	u, err := url.Parse(targetURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &Error{Op: OpExecuteWorkflowTrigger.Name, Method: "POST", LocationID: locationID,
			Message: "the target URL is not an absolute http(s) URL", Err: fmt.Errorf("target URL %q: %w", targetURL, ErrInvalidRequest)}
	}
	if locationID == "" {
		return &Error{Op: OpExecuteWorkflowTrigger.Name, Method: "POST", Message: "locationId is required",
			Err: fmt.Errorf("%s: no location: %w", OpExecuteWorkflowTrigger.Name, ErrInvalidRequest)}
	}
	op := OpExecuteWorkflowTrigger
	op.Path = u.Path // what errors name; the call goes to u whole
	var body any = json.RawMessage("{}")
	if len(payload) > 0 {
		body = payload
	}
	return c.do(ctx, call{op: op, location: locationID, body: body, abs: u}, nil)
}
