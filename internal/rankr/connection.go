package rankr

import "time"

// ConnectionState says whether Rankr may sync a location.
type ConnectionState string

// Connection states. Only an active connection is synced; the others wait
// for someone to fix what StateMessage says.
const (
	StateActive        ConnectionState = "active"
	StateTokenRejected ConnectionState = "token_rejected" // GHL answered 401
	StateMissingScope  ConnectionState = "missing_scope"  // the token lacks a scope sync needs
	StateForbidden     ConnectionState = "forbidden"      // the token may not act on the location
	StateSuspended     ConnectionState = "suspended"      // the app was uninstalled
	// StatePaused: an operator paused the sync; webhooks meanwhile are
	// kept as ignored, and resuming polls what changed.
	StatePaused ConnectionState = "paused"
	// StateReauthRequired: the OAuth install's refresh token was spent or
	// revoked; reinstall the app on the location.
	StateReauthRequired ConnectionState = "reauth_required"
	// StateLocationInactive: GHL says the location is not active (paused
	// or cancelled); its token is kept and tried again hourly.
	StateLocationInactive ConnectionState = "location_inactive"
)

// Connection links Rankr to one GHL location (sub-account).
type Connection struct {
	LocationID string `json:"locationId"`
	Name       string `json:"name,omitempty"`
	BaseURL    string `json:"baseUrl"`
	// Credential is the token, sealed by the vault. It is never stored or
	// logged in clear.
	Credential     []byte          `json:"-"`
	CredentialKind string          `json:"credentialKind"` // "pit" for a Private Integration Token
	State          ConnectionState `json:"state"`
	StateMessage   string          `json:"stateMessage,omitempty"`
	LastSyncAt     time.Time       `json:"lastSyncAt,omitzero"`
	LastError      string          `json:"lastError,omitempty"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
}

// Cursor is a named checkpoint of the sync for a location. Value is opaque
// to the store (JSON chosen by the sync).
type Cursor struct {
	LocationID string
	Name       string
	Value      []byte
	UpdatedAt  time.Time
}

// Counts summarises what Rankr holds for a location.
type Counts struct {
	Orders        int `json:"orders"`
	Fulfillments  int `json:"fulfillments"`
	Transactions  int `json:"transactions"`
	Subscriptions int `json:"subscriptions"`
	Invoices      int `json:"invoices"`
	Events        int `json:"events"`
}
