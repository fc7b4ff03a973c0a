package ghl

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Targets for errors.Is. Every error the Client returns for a request is an
// *Error; these sentinels classify it.
var (
	// ErrNotFound: the record does not exist. GHL documents "not found" as a
	// 400 with a message, and has also been seen answering 404.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: GHL rejected the token itself (401).
	ErrUnauthorized = errors.New("token rejected")
	// ErrMissingScope: the token is valid but lacks the scope the operation
	// needs. Error.Scope names it.
	ErrMissingScope = errors.New("missing scope")
	// ErrForbidden: the token may not act on this location (403).
	ErrForbidden = errors.New("forbidden")
	// ErrRateLimited: GHL answered 429, or the daily budget is spent.
	ErrRateLimited = errors.New("rate limited")
	// ErrInvalidRequest: GHL refused the request as malformed (400 or 422).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrServer: GHL failed (5xx).
	ErrServer = errors.New("server error")
	// ErrOutcomeUnknown: a write may or may not have been applied (a timeout,
	// a dropped connection or a 5xx after the request reached GHL). It was not
	// retried; look at the current state before trying again.
	ErrOutcomeUnknown = errors.New("outcome unknown")

	// ErrInvalidGrant: the OAuth token endpoint refused the authorization
	// code or the refresh token as used, expired or unknown (400 "Invalid
	// grant: …"). GHL refresh tokens are single-use: a refresh token that
	// fails so will never work again.
	ErrInvalidGrant = errors.New("invalid grant")
	// ErrLocationInactive: the location is paused or its agency inactive
	// (400 "Location is not active"). Keep the refresh token: GHL accepts
	// the same one again once the location is active.
	ErrLocationInactive = errors.New("location is not active")
	// ErrInvalidParameter: the OAuth endpoint refused a parameter's value
	// (400 "Invalid parameter: clientSecret" and the like); Error.Message
	// names it.
	ErrInvalidParameter = errors.New("invalid parameter")
	// ErrMissingParameter: a required OAuth parameter was not sent (400
	// "Missing parameter: clientId" and the like).
	ErrMissingParameter = errors.New("missing parameter")
	// ErrTokenClass: the token is of a kind the endpoint does not take,
	// such as a location token or a Private Integration Token where GHL
	// needs a company (agency) OAuth token (401 "This authClass type is
	// not allowed…").
	ErrTokenClass = errors.New("wrong kind of token")
)

// Error describes a failed request. It never holds the token.
type Error struct {
	Op         string // operation name, e.g. "ListOrders"
	Method     string
	Path       string // URL path without the query
	LocationID string

	// StatusCode is GHL's HTTP status, or 0 when no response arrived.
	StatusCode int
	// Message is GHL's message; when GHL sent several (422), they are joined
	// with "; " here and kept one by one in Messages.
	Message  string
	Messages []string
	// Name is GHL's short error name ("Unauthorized", "HttpException").
	Name    string
	TraceID string
	// Scope is the scope the operation requires, set when GHL refused for
	// lack of it.
	Scope string
	// RetryAfter is how long GHL asked us to wait, when it said.
	RetryAfter time.Duration
	// Attempts is how many times the request was sent.
	Attempts int
	// OutcomeUnknown is set when the request was a write that may have been
	// applied; see ErrOutcomeUnknown.
	OutcomeUnknown bool
	// Err is the transport error when no response arrived.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ghl: %s %s", e.Method, e.Path)
	if e.LocationID != "" {
		fmt.Fprintf(&b, " (location %s)", e.LocationID)
	}
	b.WriteString(": ")
	if e.OutcomeUnknown {
		b.WriteString("outcome unknown, the request may have been applied; check before retrying: ")
	}
	switch {
	case e.StatusCode == 0 && e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	}
	if errors.Is(e, ErrMissingScope) && e.Scope != "" {
		fmt.Fprintf(&b, " (the token lacks scope %s)", e.Scope)
	}
	if e.TraceID != "" {
		fmt.Fprintf(&b, " [trace %s]", e.TraceID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the transport error, if any, so that errors.Is finds
// context.DeadlineExceeded and friends.
func (e *Error) Unwrap() error { return e.Err }

// Is classifies the error; see the Err* sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrOutcomeUnknown:
		return e.OutcomeUnknown
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound ||
			(e.StatusCode == http.StatusBadRequest && mentionsNotFound(e.Message))
	case ErrMissingScope:
		return (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden) &&
			strings.Contains(strings.ToLower(e.Message), "scope") && !e.Is(ErrTokenClass)
	case ErrTokenClass:
		return (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden) &&
			strings.Contains(strings.ToLower(e.Message), "authclass")
	case ErrInvalidGrant:
		return e.StatusCode == http.StatusBadRequest && strings.HasPrefix(strings.ToLower(e.Message), "invalid grant")
	case ErrLocationInactive:
		return e.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "location is not active")
	case ErrInvalidParameter:
		return e.StatusCode == http.StatusBadRequest && strings.HasPrefix(strings.ToLower(e.Message), "invalid parameter")
	case ErrMissingParameter:
		return e.StatusCode == http.StatusBadRequest && strings.HasPrefix(strings.ToLower(e.Message), "missing parameter")
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized && !e.Is(ErrMissingScope)
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden && !e.Is(ErrMissingScope)
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrInvalidRequest:
		return (e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity) &&
			!e.Is(ErrNotFound)
	case ErrServer:
		return e.StatusCode >= 500
	}
	return false
}

func mentionsNotFound(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "not found") || strings.Contains(m, "does not exist")
}

// errorBody covers the error shapes GHL is known to send: the documented
// {statusCode, message, error} with message a string or an array, and the
// observed {status, message, name, traceId}.
type errorBody struct {
	StatusCode int             `json:"statusCode"`
	Status     int             `json:"status"`
	Message    json.RawMessage `json:"message"`
	Error      string          `json:"error"`
	Name       string          `json:"name"`
	TraceID    string          `json:"traceId"`
}

// fillFromBody copies what GHL said into e. A body that is not JSON becomes
// the message (trimmed), so that nothing GHL said is hidden.
func (e *Error) fillFromBody(body []byte) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		e.Message = strings.TrimSpace(truncate(string(body), 500))
		return
	}
	e.Name = eb.Error
	if e.Name == "" {
		e.Name = eb.Name
	}
	e.TraceID = eb.TraceID
	var one string
	var many []string
	switch {
	case json.Unmarshal(eb.Message, &one) == nil:
		e.Message = one
	case json.Unmarshal(eb.Message, &many) == nil:
		e.Messages = many
		e.Message = strings.Join(many, "; ")
	}
	if e.Message == "" {
		e.Message = e.Name
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
