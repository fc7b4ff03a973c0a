package store

import (
	"context"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// OAuth keeps GHL marketplace installs: the app's settings and client
// secrets, one-time install links and states, the installs' tokens, and
// INSTALL webhooks parked until their company's token exists.
//
// Tokens are single-use on GHL's side (each refresh returns a new pair and
// spends the old refresh token), so OAuthRefresh runs a refresh under a
// lock every process takes (a row lock on PostgreSQL) and stores the new
// pair only if the token's generation is still the one read.
type OAuth interface {
	// OAuthAppGet returns the app's settings, or rankr.ErrNotFound.
	OAuthAppGet(ctx context.Context) (rankr.OAuthApp, error)
	// OAuthAppPut saves the app's settings, and a client secret when one
	// is given, with its audit record.
	OAuthAppPut(ctx context.Context, app rankr.OAuthApp, secret *rankr.OAuthClientSecret, audit rankr.AuditEntry) error
	// OAuthSecrets returns the client secrets, newest first.
	OAuthSecrets(ctx context.Context) ([]rankr.OAuthClientSecret, error)
	// OAuthSecretRetire retires a client secret; it fails with
	// rankr.ErrConflict while a token still needs it.
	OAuthSecretRetire(ctx context.Context, id string, at time.Time, audit rankr.AuditEntry) error

	// OAuthOnceAdd stores a one-time value (an install link or a state) by
	// its hash.
	OAuthOnceAdd(ctx context.Context, o OAuthOnce) error
	// OAuthOnceTake spends a one-time value: it returns it and marks it
	// used, or fails with rankr.ErrNotFound when it is unknown, used or
	// expired (by the database's clock).
	OAuthOnceTake(ctx context.Context, kind string, hash []byte) (OAuthOnce, error)

	// OAuthTokenGet returns a token, or rankr.ErrNotFound.
	OAuthTokenGet(ctx context.Context, id string) (rankr.OAuthToken, error)
	// OAuthTokenList lists tokens (CompanyID, State and PendingID filter).
	OAuthTokenList(ctx context.Context, p OAuthTokenListParams) ([]rankr.OAuthToken, error)
	// OAuthTokenSave stores a token as a new install, or a token minted
	// anew (a location token from its company's), bumping its generation;
	// with Connection, the location's connection is upserted in the same
	// transaction, and with Audit, recorded.
	OAuthTokenSave(ctx context.Context, p OAuthTokenSaveParams) (rankr.OAuthToken, error)
	// OAuthRefresh runs fn on a token while holding its refresh lock, so
	// that one process at a time refreshes it, and stores what fn returns
	// (with the generation + 1) when fn returns a token; fn gets the
	// token as stored once the lock is held. fn's error is returned
	// unchanged, after its returned token, if any, is stored (a state
	// change, say).
	OAuthRefresh(ctx context.Context, id string, fn func(ctx context.Context, cur rankr.OAuthToken) (*rankr.OAuthToken, error)) (rankr.OAuthToken, error)
	// OAuthSetState sets a token's state (and the connection's, for a
	// location token), with an event and an audit record when the state
	// changes.
	OAuthSetState(ctx context.Context, p OAuthSetStateParams) (bool, error)
	// OAuthClaim activates a pending install's tokens and connections.
	OAuthClaim(ctx context.Context, pendingID string, audit rankr.AuditEntry) ([]rankr.OAuthToken, error)
	// OAuthUninstall deletes a location's token, or a company's and every
	// token derived from it, suspending their connections (the synced
	// records stay), and returns the locations suspended; rankr.ErrNotFound
	// when there is no such install.
	OAuthUninstall(ctx context.Context, p OAuthUninstallParams) ([]string, error)

	// OAuthPark keeps an INSTALL webhook of a company whose token is not
	// stored yet; OAuthParked returns and forgets a company's.
	OAuthPark(ctx context.Context, companyID, locationID string, at time.Time) error
	OAuthParked(ctx context.Context, companyID string) ([]string, error)
}

// OAuthOnce is a one-time value: an install link an admin made (kind
// "link"), or the state of an authorization under way (kind "state").
type OAuthOnce struct {
	Kind      string
	Hash      []byte
	Actor     rankr.AuditActor // who made the link (carried to the state)
	Company   bool             // an agency install
	ExpiresAt time.Time
}

// OAuthTokenListParams filters tokens.
type OAuthTokenListParams struct {
	CompanyID string
	State     string
	PendingID string
}

// OAuthTokenSaveParams stores a token.
type OAuthTokenSaveParams struct {
	Token rankr.OAuthToken
	// Connection, when set, is the location's connection, saved with it
	// (its credential is the token's; kind "oauth").
	Connection *ConnectionUpsertParams
	Audit      *rankr.AuditEntry
}

// OAuthSetStateParams changes a token's state.
type OAuthSetStateParams struct {
	ID      string
	State   string
	Message string
	RetryAt time.Time
	Audit   *rankr.AuditEntry
	Now     time.Time
}

// OAuthUninstallParams removes an install: a location's (LocationID) or a
// company's (CompanyID, with every token derived from it).
type OAuthUninstallParams struct {
	CompanyID  string
	LocationID string
	// PendingID, instead, drops a pending install's tokens, if it is still
	// pending.
	PendingID string
	Message   string
	Audit     rankr.AuditEntry
	Now       time.Time
}
