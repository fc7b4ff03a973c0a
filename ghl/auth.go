package ghl

import (
	"context"
	"errors"
	"fmt"
)

// TokenSource supplies the bearer token for a location. A Private Integration
// Token is a static token per location; an OAuth source refreshes its access
// tokens behind this same interface.
type TokenSource interface {
	Token(ctx context.Context, locationID string) (string, error)
}

// TokenRejecter is a TokenSource that can replace a token GHL refused with
// 401, as an OAuth source does by refreshing it (an access token can be
// revoked before it expires, when the app is reinstalled, say). A client
// whose source is one tells it of a 401 and, when it reports a new token,
// sends the request once more; a Private Integration Token is never
// replaced, and its 401 stands.
type TokenRejecter interface {
	TokenSource
	TokenRejected(ctx context.Context, locationID, token string) (replaced bool, err error)
}

// ErrNoToken is returned by token sources that hold no token for a location.
var ErrNoToken = errors.New("no token for location")

// StaticToken is one token used for every location, such as a sub-account
// Private Integration Token. It prints as [redacted] so that it cannot leak
// through a log line or an error message.
type StaticToken string

// Token returns the token.
func (t StaticToken) Token(context.Context, string) (string, error) {
	if t == "" {
		return "", ErrNoToken
	}
	return string(t), nil
}

func (StaticToken) String() string   { return "[redacted]" }
func (StaticToken) GoString() string { return "ghl.StaticToken([redacted])" }

// LocationTokens maps location ids to their Private Integration Tokens. It
// prints without its tokens.
type LocationTokens map[string]string

// Token returns the location's token, or ErrNoToken.
func (m LocationTokens) Token(_ context.Context, locationID string) (string, error) {
	if tok, ok := m[locationID]; ok && tok != "" {
		return tok, nil
	}
	return "", fmt.Errorf("location %s: %w", locationID, ErrNoToken)
}

func (m LocationTokens) String() string {
	return fmt.Sprintf("ghl.LocationTokens(%d locations)", len(m))
}
func (m LocationTokens) GoString() string { return m.String() }
