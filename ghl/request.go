package ghl

import (
	"fmt"
	"net/http"
)

// requireLocation refuses a call without a location before it spends any of
// the rate budget; GHL would answer 422.
func requireLocation(op Operation, locationID string) error {
	if locationID == "" {
		return &Error{Op: op.Name, Method: op.Method, Path: op.Path,
			Message: "a location id is required", Err: fmt.Errorf("%s: LocationID is empty: %w", op.Name, ErrInvalidRequest)}
	}
	return nil
}

// successResponse is the {success} answer of several writes.
type successResponse struct {
	Success bool   `json:"success"`
	TraceID string `json:"traceId,omitempty"`
}

// check turns success=false into an error: GHL answered 2xx but said the
// write did not happen.
func (r successResponse) check(op Operation, locationID string) error {
	if r.Success {
		return nil
	}
	return &Error{Op: op.Name, Method: op.Method, Path: op.Path, LocationID: locationID,
		StatusCode: http.StatusOK, TraceID: r.TraceID, Message: "GHL answered success=false"}
}

// nonNil makes a nil slice marshal as [] for fields GHL requires.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
