package rankr

import "time"

// OAuthApp is the GHL marketplace app Rankr installs as.
type OAuthApp struct {
	ClientID    string `json:"clientId"`
	RedirectURI string `json:"redirectUri"` // rankr serve's /oauth/ghl/callback, as the app lists it
	// AuthorizeHost is where installs start: GHL's marketplace, its
	// white-label host, or a sandbox.
	AuthorizeHost string `json:"authorizeHost"`
	// BaseURL is GHL's API (the token endpoint and everything else).
	BaseURL string `json:"baseUrl"`
	// Push asks for payments/orders.write, which fulfillment pushes need.
	Push      bool      `json:"push"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// OAuthClientSecret is one of the app's client secrets, sealed. Several
// are kept during a rotation, until no token needs the old one.
type OAuthClientSecret struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"clientId"`
	Sealed    []byte    `json:"-"`
	CreatedAt time.Time `json:"createdAt"`
	RetiredAt time.Time `json:"retiredAt,omitzero"`
}

// OAuth token kinds and states.
const (
	TokenCompany  = "company"
	TokenLocation = "location"

	TokenActive         = "active"
	TokenPending        = "pending"         // installed from the Marketplace, waiting for an admin's claim
	TokenReauthRequired = "reauth_required" // the refresh token is spent or revoked: reinstall the app
	TokenInactive       = "location_inactive"
)

// OAuthToken is the token pair of one install: a company's (an agency
// install) or a location's, sealed by the vault.
type OAuthToken struct {
	ID         string    `json:"id"` // company:ID or location:ID
	Kind       string    `json:"kind"`
	CompanyID  string    `json:"companyId,omitempty"`
	LocationID string    `json:"locationId,omitempty"`
	SecretID   string    `json:"secretId"`
	Access     []byte    `json:"-"`
	Refresh    []byte    `json:"-"`
	ExpiresAt  time.Time `json:"expiresAt"`
	// Generation grows with every new pair; a refresh stores its pair only
	// if the generation it read is still the row's.
	Generation   int64     `json:"generation"`
	Scopes       []string  `json:"scopes"`
	UserID       string    `json:"userId,omitempty"`
	AppID        string    `json:"appId,omitempty"`
	VersionID    string    `json:"versionId,omitempty"`
	Bulk         bool      `json:"bulk,omitempty"`
	Derived      bool      `json:"derived,omitempty"`
	State        string    `json:"state"`
	StateMessage string    `json:"stateMessage,omitempty"`
	RetryAt      time.Time `json:"retryAt,omitzero"`
	PendingID    string    `json:"pendingId,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// CompanyTokenID and LocationTokenID name the token rows.
func CompanyTokenID(companyID string) string   { return TokenCompany + ":" + companyID }
func LocationTokenID(locationID string) string { return TokenLocation + ":" + locationID }
