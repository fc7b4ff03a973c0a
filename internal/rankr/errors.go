package rankr

import "errors"

// Sentinel errors. Wrap them with fmt.Errorf("…: %w", err); the API maps them
// to status codes in one place.
var (
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input breaks a rule of the domain.
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the change conflicts with the current state.
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the actor may not do this (a scope, a role or a
	// location it does not hold).
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: a dependency (database, GHL) cannot serve now; retry
	// later.
	ErrUnavailable = errors.New("unavailable")
)
