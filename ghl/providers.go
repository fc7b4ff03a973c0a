package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
)

// WhiteLabelProvider is a white-label payment integration provider (an
// Authorize.net or NMI gateway shown under the agency's own name).
type WhiteLabelProvider struct {
	ID          string `json:"_id"`
	AltID       string `json:"altId"`
	AltType     string `json:"altType"`
	Title       string `json:"title"`
	Route       string `json:"route"`
	Provider    string `json:"provider"` // authorize-net or nmi
	Description string `json:"description"`
	ImageURL    string `json:"imageUrl"`
	CreatedAt   Time   `json:"createdAt,omitzero"`
	UpdatedAt   Time   `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the provider and keeps the raw bytes.
func (p *WhiteLabelProvider) UnmarshalJSON(b []byte) error {
	type plain WhiteLabelProvider
	return decodeKeepRaw(b, (*plain)(p), &p.Raw)
}

// CustomProvider is a location's custom payment provider and, once connected,
// its configuration.
type CustomProvider struct {
	ID               string                 `json:"_id"`
	Name             string                 `json:"name"`
	Description      string                 `json:"description"`
	PaymentsURL      string                 `json:"paymentsUrl"`
	QueryURL         string                 `json:"queryUrl"`
	ImageURL         string                 `json:"imageUrl"`
	LocationID       string                 `json:"locationId"`
	MarketplaceAppID string                 `json:"marketplaceAppId"`
	PaymentProvider  *CustomProviderConfigs `json:"paymentProvider,omitempty"`
	Deleted          bool                   `json:"deleted"`
	CreatedAt        Time                   `json:"createdAt,omitzero"`
	UpdatedAt        Time                   `json:"updatedAt,omitzero"`
	TraceID          string                 `json:"traceId,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the provider and keeps the raw bytes.
func (p *CustomProvider) UnmarshalJSON(b []byte) error {
	type plain CustomProvider
	return decodeKeepRaw(b, (*plain)(p), &p.Raw)
}

// CustomProviderConfigs holds a custom provider's live and test
// configurations.
type CustomProviderConfigs struct {
	Live *CustomProviderConfig `json:"live,omitempty"`
	Test *CustomProviderConfig `json:"test,omitempty"`
}

// CustomProviderConfig is one mode's configuration. The keys are the
// provider's own credentials; treat them as secrets.
type CustomProviderConfig struct {
	LiveMode       bool   `json:"liveMode"`
	APIKey         string `json:"apiKey,omitempty"`
	PublishableKey string `json:"publishableKey,omitempty"`
}

// CustomProviderKeys are the credentials for one mode of a custom provider.
type CustomProviderKeys struct {
	APIKey         string `json:"apiKey"`
	PublishableKey string `json:"publishableKey"`
}

// WhiteLabelProviderParams describes a white-label provider to create.
type WhiteLabelProviderParams struct {
	LocationID  string
	UniqueName  string // lowercase, hyphenated, e.g. "easy-direct"
	Title       string
	Provider    string // authorize-net or nmi
	Description string
	ImageURL    string
}

// CreateWhiteLabelProvider creates a white-label payment provider.
func (c *Client) CreateWhiteLabelProvider(ctx context.Context, p WhiteLabelProviderParams) (*WhiteLabelProvider, error) {
	if err := requireLocation(OpCreateWhiteLabelProvider, p.LocationID); err != nil {
		return nil, err
	}
	body := struct {
		AltID       string `json:"altId"`
		AltType     string `json:"altType"`
		UniqueName  string `json:"uniqueName"`
		Title       string `json:"title"`
		Provider    string `json:"provider"`
		Description string `json:"description"`
		ImageURL    string `json:"imageUrl"`
	}{p.LocationID, "location", p.UniqueName, p.Title, p.Provider, p.Description, p.ImageURL}
	var wp WhiteLabelProvider
	if err := c.do(ctx, call{op: OpCreateWhiteLabelProvider, location: p.LocationID, body: body}, &wp); err != nil {
		return nil, err
	}
	return &wp, nil
}

// ListWhiteLabelProvidersParams selects white-label providers.
type ListWhiteLabelProvidersParams struct {
	LocationID    string
	Limit, Offset int
}

// ListWhiteLabelProviders returns the location's white-label providers.
func (c *Client) ListWhiteLabelProviders(ctx context.Context, p ListWhiteLabelProvidersParams) ([]WhiteLabelProvider, error) {
	if err := requireLocation(OpListWhiteLabelProviders, p.LocationID); err != nil {
		return nil, err
	}
	q := locationQuery(p.LocationID)
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	var resp struct {
		Providers oneOrMany[WhiteLabelProvider] `json:"providers"`
	}
	err := c.do(ctx, call{op: OpListWhiteLabelProviders, location: p.LocationID, query: q}, &resp)
	return resp.Providers, err
}

// oneOrMany decodes an array, or a single object as a one-element array: the
// spec types the white-label "providers" list as one object.
type oneOrMany[T any] []T

func (m *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var one T
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*m = []T{one}
		return nil
	}
	return json.Unmarshal(b, (*[]T)(m))
}

// CustomProviderParams describes a custom payment provider to create.
type CustomProviderParams struct {
	Name                         string
	Description                  string
	PaymentsURL                  string
	QueryURL                     string
	ImageURL                     string
	SupportsSubscriptionSchedule bool
}

func customProviderQuery(locationID string) url.Values {
	return url.Values{"locationId": {locationID}}
}

// CreateCustomProvider creates the location's custom payment provider.
func (c *Client) CreateCustomProvider(ctx context.Context, locationID string, p CustomProviderParams) (*CustomProvider, error) {
	if err := requireLocation(OpCreateCustomProvider, locationID); err != nil {
		return nil, err
	}
	body := struct {
		Name                         string `json:"name"`
		Description                  string `json:"description"`
		PaymentsURL                  string `json:"paymentsUrl"`
		QueryURL                     string `json:"queryUrl"`
		ImageURL                     string `json:"imageUrl"`
		SupportsSubscriptionSchedule bool   `json:"supportsSubscriptionSchedule"`
	}{p.Name, p.Description, p.PaymentsURL, p.QueryURL, p.ImageURL, p.SupportsSubscriptionSchedule}
	var cp CustomProvider
	if err := c.do(ctx, call{op: OpCreateCustomProvider, location: locationID, query: customProviderQuery(locationID), body: body}, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// DeleteCustomProvider deletes the location's custom payment provider.
func (c *Client) DeleteCustomProvider(ctx context.Context, locationID string) error {
	if err := requireLocation(OpDeleteCustomProvider, locationID); err != nil {
		return err
	}
	var resp successResponse
	if err := c.do(ctx, call{op: OpDeleteCustomProvider, location: locationID, query: customProviderQuery(locationID)}, &resp); err != nil {
		return err
	}
	return resp.check(OpDeleteCustomProvider, locationID)
}

// GetCustomProviderConfig returns the location's custom provider and its
// configuration. GHL answers 400 when the location has none.
func (c *Client) GetCustomProviderConfig(ctx context.Context, locationID string) (*CustomProvider, error) {
	if err := requireLocation(OpGetCustomProviderConfig, locationID); err != nil {
		return nil, err
	}
	var cp CustomProvider
	if err := c.do(ctx, call{op: OpGetCustomProviderConfig, location: locationID, query: customProviderQuery(locationID)}, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// ConnectCustomProvider stores the provider's live and test keys.
func (c *Client) ConnectCustomProvider(ctx context.Context, locationID string, live, test CustomProviderKeys) (*CustomProvider, error) {
	if err := requireLocation(OpConnectCustomProvider, locationID); err != nil {
		return nil, err
	}
	body := struct {
		Live CustomProviderKeys `json:"live"`
		Test CustomProviderKeys `json:"test"`
	}{live, test}
	var cp CustomProvider
	if err := c.do(ctx, call{op: OpConnectCustomProvider, location: locationID, query: customProviderQuery(locationID), body: body}, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// DisconnectCustomProvider removes the live or the test configuration.
func (c *Client) DisconnectCustomProvider(ctx context.Context, locationID string, liveMode bool) error {
	if err := requireLocation(OpDisconnectCustomProvider, locationID); err != nil {
		return err
	}
	body := struct {
		LiveMode bool `json:"liveMode"`
	}{liveMode}
	var resp successResponse
	if err := c.do(ctx, call{op: OpDisconnectCustomProvider, location: locationID, query: customProviderQuery(locationID), body: body}, &resp); err != nil {
		return err
	}
	return resp.check(OpDisconnectCustomProvider, locationID)
}

// CapabilitiesParams says what a custom provider supports, for a location or
// for a whole company.
type CapabilitiesParams struct {
	LocationID                    string
	CompanyID                     string
	SupportsSubscriptionSchedules bool
}

// UpdateCustomProviderCapabilities updates what the custom provider supports.
func (c *Client) UpdateCustomProviderCapabilities(ctx context.Context, p CapabilitiesParams) error {
	body := struct {
		SupportsSubscriptionSchedules bool   `json:"supportsSubscriptionSchedules"`
		CompanyID                     string `json:"companyId,omitempty"`
		LocationID                    string `json:"locationId,omitempty"`
	}{p.SupportsSubscriptionSchedules, p.CompanyID, p.LocationID}
	var resp successResponse
	if err := c.do(ctx, call{op: OpUpdateCustomProviderCaps, location: p.LocationID, body: body}, &resp); err != nil {
		return err
	}
	return resp.check(OpUpdateCustomProviderCaps, p.LocationID)
}
