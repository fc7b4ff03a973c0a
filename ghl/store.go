package ghl

import (
	"context"
	"encoding/json"
	"iter"
)

// The operations of the store API, in the spec's order. The spec's security
// blocks name no scope for any of them (Location-Access only, and none at
// all for the available-rates quote), so a sub-account token is enough.
var (
	OpCreateShippingZone     = Operation{"CreateShippingZone", "create-shipping-zone", "POST", "/store/shipping-zone", ""}
	OpListShippingZones      = Operation{"ListShippingZones", "list-shipping-zones", "GET", "/store/shipping-zone", ""}
	OpGetShippingZone        = Operation{"GetShippingZone", "get-shipping-zones", "GET", "/store/shipping-zone/{shippingZoneId}", ""}
	OpUpdateShippingZone     = Operation{"UpdateShippingZone", "update-shipping-zone", "PUT", "/store/shipping-zone/{shippingZoneId}", ""}
	OpDeleteShippingZone     = Operation{"DeleteShippingZone", "delete-shipping-zone", "DELETE", "/store/shipping-zone/{shippingZoneId}", ""}
	OpAvailableShippingRates = Operation{"AvailableShippingRates", "get-available-shipping-zones", "POST", "/store/shipping-zone/shipping-rates", ""}
	OpCreateShippingRate     = Operation{"CreateShippingRate", "create-shipping-rate", "POST", "/store/shipping-zone/{shippingZoneId}/shipping-rate", ""}
	OpListShippingRates      = Operation{"ListShippingRates", "list-shipping-rates", "GET", "/store/shipping-zone/{shippingZoneId}/shipping-rate", ""}
	OpGetShippingRate        = Operation{"GetShippingRate", "get-shipping-rates", "GET", "/store/shipping-zone/{shippingZoneId}/shipping-rate/{shippingRateId}", ""}
	OpUpdateShippingRate     = Operation{"UpdateShippingRate", "update-shipping-rate", "PUT", "/store/shipping-zone/{shippingZoneId}/shipping-rate/{shippingRateId}", ""}
	OpDeleteShippingRate     = Operation{"DeleteShippingRate", "delete-shipping-rate", "DELETE", "/store/shipping-zone/{shippingZoneId}/shipping-rate/{shippingRateId}", ""}
	OpCreateShippingCarrier  = Operation{"CreateShippingCarrier", "create-shipping-carrier", "POST", "/store/shipping-carrier", ""}
	OpListShippingCarriers   = Operation{"ListShippingCarriers", "list-shipping-carriers", "GET", "/store/shipping-carrier", ""}
	OpGetShippingCarrier     = Operation{"GetShippingCarrier", "get-shipping-carriers", "GET", "/store/shipping-carrier/{shippingCarrierId}", ""}
	OpUpdateShippingCarrier  = Operation{"UpdateShippingCarrier", "update-shipping-carrier", "PUT", "/store/shipping-carrier/{shippingCarrierId}", ""}
	OpDeleteShippingCarrier  = Operation{"DeleteShippingCarrier", "delete-shipping-carrier", "DELETE", "/store/shipping-carrier/{shippingCarrierId}", ""}
	OpSaveStoreSettings      = Operation{"SaveStoreSettings", "create-store-setting", "POST", "/store/store-setting", ""}
	OpGetStoreSettings       = Operation{"GetStoreSettings", "get-store-settings", "GET", "/store/store-setting", ""}
)

// storeOperations are the operations of the store API (apps/store.json)
// the client implements: shipping zones and rates, carriers and the
// store's settings.
var storeOperations = []Operation{
	OpCreateShippingZone, OpListShippingZones, OpGetShippingZone, OpUpdateShippingZone, OpDeleteShippingZone,
	OpAvailableShippingRates,
	OpCreateShippingRate, OpListShippingRates, OpGetShippingRate, OpUpdateShippingRate, OpDeleteShippingRate,
	OpCreateShippingCarrier, OpListShippingCarriers, OpGetShippingCarrier, OpUpdateShippingCarrier, OpDeleteShippingCarrier,
	OpSaveStoreSettings, OpGetStoreSettings,
}

// storeIdempotentPosts are the store's POSTs that may be repeated: the rate
// quote reads, and the settings are one record per location, replaced
// whole. Zones, rates and carriers have no natural key, so a repeated
// create would make a second one.
var storeIdempotentPosts = []string{OpAvailableShippingRates.OperationID, OpSaveStoreSettings.OperationID}

// ShippingZone is a set of destinations that share shipping rates
// (ShippingZoneSchema).
type ShippingZone struct {
	ID        string                `json:"_id"`
	AltID     string                `json:"altId"`
	AltType   string                `json:"altType"`
	Name      string                `json:"name"`
	Countries []ShippingZoneCountry `json:"countries"`
	// ShippingRates are present only when asked for (WithShippingRates).
	ShippingRates []ShippingRate `json:"shippingRates,omitzero"`
	CreatedAt     Time           `json:"createdAt,omitzero"`
	UpdatedAt     Time           `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the zone and keeps the raw bytes.
func (z *ShippingZone) UnmarshalJSON(b []byte) error {
	type plain ShippingZone
	return decodeKeepRaw(b, (*plain)(z), &z.Raw)
}

// ShippingZoneCountry is a country of a zone, by ISO 3166-1 alpha-2 code.
// A country without States covers the whole country.
type ShippingZoneCountry struct {
	Code   string              `json:"code"`
	States []ShippingZoneState `json:"states,omitempty"`
}

// ShippingZoneState is a state or province of a zone's country, by GHL's
// code for it ("TX", "ON", "NSW").
type ShippingZoneState struct {
	Code string `json:"code"`
}

// RateCondition says what a shipping rate's MinCondition and MaxCondition
// bound.
type RateCondition string

// Rate conditions.
const (
	ConditionNone   RateCondition = "none"   // the rate always applies
	ConditionPrice  RateCondition = "price"  // bounds on the order amount
	ConditionWeight RateCondition = "weight" // bounds on the order weight, in kg
)

// ShippingRate is a price for shipping to a zone (ShippingRateSchema). A
// carrier rate asks the carrier for its price and adds Amount as a fixed
// handling fee and PercentageOfRateFee of the carrier's price.
type ShippingRate struct {
	ID             string        `json:"_id"`
	AltID          string        `json:"altId"`
	AltType        string        `json:"altType"`
	ShippingZoneID string        `json:"shippingZoneId"`
	Name           string        `json:"name"`
	Description    string        `json:"description,omitempty"`
	Currency       string        `json:"currency"`
	Amount         Number        `json:"amount"` // 0 is free shipping
	ConditionType  RateCondition `json:"conditionType"`
	// MinCondition and MaxCondition bound the order amount or weight; 0
	// (or absent) means no bound.
	MinCondition            Number           `json:"minCondition"`
	MaxCondition            Number           `json:"maxCondition"`
	IsCarrierRate           bool             `json:"isCarrierRate"`
	ShippingCarrierID       string           `json:"shippingCarrierId"`
	PercentageOfRateFee     Number           `json:"percentageOfRateFee,omitempty"`
	ShippingCarrierServices []CarrierService `json:"shippingCarrierServices,omitempty"`
	CreatedAt               Time             `json:"createdAt,omitzero"`
	UpdatedAt               Time             `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the rate and keeps the raw bytes.
func (r *ShippingRate) UnmarshalJSON(b []byte) error {
	type plain ShippingRate
	return decodeKeepRaw(b, (*plain)(r), &r.Raw)
}

// CarrierService is one service a shipping carrier offers ("Priority Mail
// Express International").
type CarrierService struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ShippingCarrier is a carrier GHL asks for live rates at CallbackURL
// (ShippingCarrierSchema).
type ShippingCarrier struct {
	ID                             string           `json:"_id"`
	AltID                          string           `json:"altId"`
	AltType                        string           `json:"altType"`
	Name                           string           `json:"name"`
	CallbackURL                    string           `json:"callbackUrl"`
	Services                       []CarrierService `json:"services,omitempty"`
	AllowsMultipleServiceSelection bool             `json:"allowsMultipleServiceSelection"`
	MarketplaceAppID               string           `json:"marketplaceAppId"`
	CreatedAt                      Time             `json:"createdAt,omitzero"`
	UpdatedAt                      Time             `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the carrier and keeps the raw bytes.
func (sc *ShippingCarrier) UnmarshalJSON(b []byte) error {
	type plain ShippingCarrier
	return decodeKeepRaw(b, (*plain)(sc), &sc.Raw)
}

// StoreSettings are a location's store settings (StoreSettingSchema): where
// parcels ship from and the emails the store sends.
type StoreSettings struct {
	ID                                string             `json:"_id"`
	AltID                             string             `json:"altId"`
	AltType                           string             `json:"altType"`
	ShippingOrigin                    ShippingOrigin     `json:"shippingOrigin"`
	StoreOrderNotification            *StoreNotification `json:"storeOrderNotification,omitempty"`
	StoreOrderFulfillmentNotification *StoreNotification `json:"storeOrderFulfillmentNotification,omitempty"`
	CreatedAt                         Time               `json:"createdAt,omitzero"`
	UpdatedAt                         Time               `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the settings and keeps the raw bytes.
func (s *StoreSettings) UnmarshalJSON(b []byte) error {
	type plain StoreSettings
	return decodeKeepRaw(b, (*plain)(s), &s.Raw)
}

// ShippingOrigin is the address parcels ship from. Name, Country, City,
// Street1 and Zip are required.
type ShippingOrigin struct {
	Name    string `json:"name"`
	Country string `json:"country"`
	State   string `json:"state,omitempty"`
	City    string `json:"city"`
	Street1 string `json:"street1"`
	Street2 string `json:"street2,omitempty"`
	Zip     string `json:"zip"`
	Phone   string `json:"phone,omitempty"`
	Email   string `json:"email,omitempty"`
}

// StoreNotification is one of the store's customer emails.
type StoreNotification struct {
	Enabled                bool   `json:"enabled"`
	Subject                string `json:"subject"`
	EmailTemplateID        string `json:"emailTemplateId"`
	DefaultEmailTemplateID string `json:"defaultEmailTemplateId"`
}

// AvailableShippingRate is a rate a destination and an order qualify for,
// with its final Amount: for a carrier rate, the carrier's price plus the
// rate's fees (AvailableShippingRate).
type AvailableShippingRate struct {
	ID                      string           `json:"_id"`
	ShippingZoneID          string           `json:"shippingZoneId"`
	Name                    string           `json:"name"`
	Description             string           `json:"description,omitempty"`
	Currency                string           `json:"currency"`
	Amount                  Number           `json:"amount"`
	IsCarrierRate           bool             `json:"isCarrierRate"`
	ShippingCarrierID       string           `json:"shippingCarrierId"`
	PercentageOfRateFee     Number           `json:"percentageOfRateFee,omitempty"`
	ShippingCarrierServices []CarrierService `json:"shippingCarrierServices,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the rate and keeps the raw bytes.
func (r *AvailableShippingRate) UnmarshalJSON(b []byte) error {
	type plain AvailableShippingRate
	return decodeKeepRaw(b, (*plain)(r), &r.Raw)
}

// storeAnswer is the {status, message, data} envelope of the store API's
// answers: the products API's {status, message} with the data beside it,
// and refused (status=false) the same way.
type storeAnswer[T any] struct {
	statusResponse
	Data T `json:"data"`
}

// doStore sends a call answered by the {status, data} envelope and returns
// the data. Every store call names its location, so it is checked here.
func doStore[T any](ctx context.Context, c *Client, cl call) (T, error) {
	var a storeAnswer[T]
	if err := requireLocation(cl.op, cl.location); err != nil {
		return a.Data, err
	}
	if err := c.do(ctx, cl, &a); err != nil {
		var zero T
		return zero, err
	}
	return a.Data, a.check(cl.op, cl.location)
}

// storeRecord is doStore for the calls that answer one record.
func storeRecord[T any](ctx context.Context, c *Client, cl call) (*T, error) {
	v, err := doStore[T](ctx, c, cl)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// storeList is the {total, data} envelope of the store's paged lists.
type storeList[T any] struct {
	Total int `json:"total"`
	Data  []T `json:"data"`
}

func (l storeList[T]) page() Page[T] { return Page[T]{Items: l.Data, TotalCount: l.Total} }

// storePage fetches one page of a store list. Limit and offset are sent only
// when set: without a limit GHL answers every record, as a store's zones and
// rates are short lists.
func storePage[T any](ctx context.Context, c *Client, cl call, limit, offset int) (Page[T], error) {
	if err := requireLocation(cl.op, cl.location); err != nil {
		return Page[T]{}, err
	}
	setIntIf(cl.query, "limit", limit)
	setIntIf(cl.query, "offset", offset)
	var resp storeList[T]
	err := c.do(ctx, cl, &resp)
	return resp.page(), err
}

// ShippingZoneParams describes a shipping zone. Name and Countries are
// required to create one; an update changes only those it is given.
type ShippingZoneParams struct {
	LocationID string
	Name       string
	Countries  []ShippingZoneCountry
}

// shippingZoneBody is the update's body: it carries only what changes.
type shippingZoneBody struct {
	AltID     string                `json:"altId"`
	AltType   string                `json:"altType"`
	Name      string                `json:"name,omitempty"`
	Countries []ShippingZoneCountry `json:"countries,omitempty"`
}

// CreateShippingZone creates a shipping zone. It is not retried: a zone has
// no natural key, and a repeat would create a second one.
func (c *Client) CreateShippingZone(ctx context.Context, p ShippingZoneParams) (*ShippingZone, error) {
	body := struct {
		AltID     string                `json:"altId"`
		AltType   string                `json:"altType"`
		Name      string                `json:"name"`
		Countries []ShippingZoneCountry `json:"countries"`
	}{p.LocationID, "location", p.Name, nonNil(p.Countries)}
	return storeRecord[ShippingZone](ctx, c, call{op: OpCreateShippingZone, location: p.LocationID, body: body})
}

// ListShippingZonesParams selects shipping zones. LocationID is required.
type ListShippingZonesParams struct {
	LocationID string
	// WithShippingRates includes each zone's rates.
	WithShippingRates bool
	Limit, Offset     int
}

// ListShippingZones returns one page of the location's shipping zones
// (without Limit, GHL answers them all).
func (c *Client) ListShippingZones(ctx context.Context, p ListShippingZonesParams) (Page[ShippingZone], error) {
	q := locationQuery(p.LocationID)
	if p.WithShippingRates {
		q.Set("withShippingRate", "true")
	}
	return storePage[ShippingZone](ctx, c, call{op: OpListShippingZones, location: p.LocationID, query: q}, p.Limit, p.Offset)
}

// ShippingZones iterates over every shipping zone of the location.
func (c *Client) ShippingZones(ctx context.Context, p ListShippingZonesParams) iter.Seq2[ShippingZone, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[ShippingZone], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListShippingZones(ctx, p)
	})
}

// GetShippingZone returns a shipping zone, with its rates when withRates is
// set.
func (c *Client) GetShippingZone(ctx context.Context, locationID, zoneID string, withRates bool) (*ShippingZone, error) {
	q := locationQuery(locationID)
	if withRates {
		q.Set("withShippingRate", "true")
	}
	return storeRecord[ShippingZone](ctx, c, call{op: OpGetShippingZone, location: locationID, pathArgs: []string{zoneID}, query: q})
}

// UpdateShippingZone changes a zone's name and countries; an empty Name or
// nil Countries leaves that field as it is.
func (c *Client) UpdateShippingZone(ctx context.Context, zoneID string, p ShippingZoneParams) (*ShippingZone, error) {
	body := shippingZoneBody{AltID: p.LocationID, AltType: "location", Name: p.Name, Countries: p.Countries}
	return storeRecord[ShippingZone](ctx, c, call{op: OpUpdateShippingZone, location: p.LocationID, pathArgs: []string{zoneID}, body: body})
}

// DeleteShippingZone deletes a shipping zone and its rates.
func (c *Client) DeleteShippingZone(ctx context.Context, locationID, zoneID string) error {
	_, err := doStore[json.RawMessage](ctx, c, call{op: OpDeleteShippingZone, location: locationID,
		pathArgs: []string{zoneID}, query: locationQuery(locationID)})
	return err
}

// ShippingRateParams describes a shipping rate of a zone. Name, Currency
// and ConditionType are required. A carrier rate names its carrier and the
// carrier's services it offers.
type ShippingRateParams struct {
	LocationID    string
	Name          string
	Description   string
	Currency      string
	Amount        Number // the price, or a carrier rate's fixed handling fee
	ConditionType RateCondition
	// MinCondition and MaxCondition bound the order amount (in Currency)
	// or weight (in kg); empty or 0 means no bound.
	MinCondition, MaxCondition Number
	IsCarrierRate              bool
	ShippingCarrierID          string
	PercentageOfRateFee        Number
	ShippingCarrierServices    []CarrierService
}

type shippingRateBody struct {
	AltID                   string           `json:"altId"`
	AltType                 string           `json:"altType"`
	Name                    string           `json:"name"`
	Description             string           `json:"description,omitempty"`
	Currency                string           `json:"currency"`
	Amount                  Number           `json:"amount"`
	ConditionType           RateCondition    `json:"conditionType"`
	MinCondition            Number           `json:"minCondition"`
	MaxCondition            Number           `json:"maxCondition"`
	IsCarrierRate           bool             `json:"isCarrierRate"`
	ShippingCarrierID       string           `json:"shippingCarrierId"`
	PercentageOfRateFee     Number           `json:"percentageOfRateFee,omitempty"`
	ShippingCarrierServices []CarrierService `json:"shippingCarrierServices,omitempty"`
}

// orZero sends an absent Number as 0 where GHL requires a number.
func orZero(n Number) Number {
	if n == "" {
		return "0"
	}
	return n
}

func (p ShippingRateParams) body() shippingRateBody {
	return shippingRateBody{
		AltID: p.LocationID, AltType: "location", Name: p.Name, Description: p.Description,
		Currency: p.Currency, Amount: orZero(p.Amount), ConditionType: p.ConditionType,
		MinCondition: orZero(p.MinCondition), MaxCondition: orZero(p.MaxCondition),
		IsCarrierRate: p.IsCarrierRate, ShippingCarrierID: p.ShippingCarrierID,
		PercentageOfRateFee: p.PercentageOfRateFee, ShippingCarrierServices: p.ShippingCarrierServices,
	}
}

// CreateShippingRate adds a rate to a zone. It is not retried: a repeat
// would create a second rate.
func (c *Client) CreateShippingRate(ctx context.Context, zoneID string, p ShippingRateParams) (*ShippingRate, error) {
	return storeRecord[ShippingRate](ctx, c, call{op: OpCreateShippingRate, location: p.LocationID, pathArgs: []string{zoneID}, body: p.body()})
}

// ListShippingRatesParams selects a zone's rates. LocationID and ZoneID are
// required.
type ListShippingRatesParams struct {
	LocationID    string
	ZoneID        string
	Limit, Offset int
}

// ListShippingRates returns one page of a zone's rates (without Limit, GHL
// answers them all).
func (c *Client) ListShippingRates(ctx context.Context, p ListShippingRatesParams) (Page[ShippingRate], error) {
	return storePage[ShippingRate](ctx, c, call{op: OpListShippingRates, location: p.LocationID,
		pathArgs: []string{p.ZoneID}, query: locationQuery(p.LocationID)}, p.Limit, p.Offset)
}

// ShippingRates iterates over every rate of a zone.
func (c *Client) ShippingRates(ctx context.Context, p ListShippingRatesParams) iter.Seq2[ShippingRate, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[ShippingRate], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListShippingRates(ctx, p)
	})
}

// GetShippingRate returns one rate of a zone.
func (c *Client) GetShippingRate(ctx context.Context, locationID, zoneID, rateID string) (*ShippingRate, error) {
	return storeRecord[ShippingRate](ctx, c, call{op: OpGetShippingRate, location: locationID,
		pathArgs: []string{zoneID, rateID}, query: locationQuery(locationID)})
}

// UpdateShippingRate replaces a rate's settings with p.
func (c *Client) UpdateShippingRate(ctx context.Context, zoneID, rateID string, p ShippingRateParams) (*ShippingRate, error) {
	return storeRecord[ShippingRate](ctx, c, call{op: OpUpdateShippingRate, location: p.LocationID,
		pathArgs: []string{zoneID, rateID}, body: p.body()})
}

// DeleteShippingRate deletes a rate of a zone.
func (c *Client) DeleteShippingRate(ctx context.Context, locationID, zoneID, rateID string) error {
	_, err := doStore[json.RawMessage](ctx, c, call{op: OpDeleteShippingRate, location: locationID,
		pathArgs: []string{zoneID, rateID}, query: locationQuery(locationID)})
	return err
}

// ShippingCarrierParams describes a shipping carrier. Name and CallbackURL
// (public: GHL calls it for rates) are required.
type ShippingCarrierParams struct {
	LocationID                     string
	Name                           string
	CallbackURL                    string
	Services                       []CarrierService
	AllowsMultipleServiceSelection bool
}

type shippingCarrierBody struct {
	AltID                          string           `json:"altId"`
	AltType                        string           `json:"altType"`
	Name                           string           `json:"name"`
	CallbackURL                    string           `json:"callbackUrl"`
	Services                       []CarrierService `json:"services,omitempty"`
	AllowsMultipleServiceSelection bool             `json:"allowsMultipleServiceSelection"`
}

func (p ShippingCarrierParams) body() shippingCarrierBody {
	return shippingCarrierBody{AltID: p.LocationID, AltType: "location", Name: p.Name, CallbackURL: p.CallbackURL,
		Services: p.Services, AllowsMultipleServiceSelection: p.AllowsMultipleServiceSelection}
}

// CreateShippingCarrier registers a carrier. It is not retried: a repeat
// would register a second one.
func (c *Client) CreateShippingCarrier(ctx context.Context, p ShippingCarrierParams) (*ShippingCarrier, error) {
	return storeRecord[ShippingCarrier](ctx, c, call{op: OpCreateShippingCarrier, location: p.LocationID, body: p.body()})
}

// ListShippingCarriers returns every carrier of the location (the list is
// not paged).
func (c *Client) ListShippingCarriers(ctx context.Context, locationID string) ([]ShippingCarrier, error) {
	return doStore[[]ShippingCarrier](ctx, c, call{op: OpListShippingCarriers, location: locationID, query: locationQuery(locationID)})
}

// GetShippingCarrier returns a carrier.
func (c *Client) GetShippingCarrier(ctx context.Context, locationID, carrierID string) (*ShippingCarrier, error) {
	return storeRecord[ShippingCarrier](ctx, c, call{op: OpGetShippingCarrier, location: locationID,
		pathArgs: []string{carrierID}, query: locationQuery(locationID)})
}

// UpdateShippingCarrier replaces a carrier's settings with p.
func (c *Client) UpdateShippingCarrier(ctx context.Context, carrierID string, p ShippingCarrierParams) (*ShippingCarrier, error) {
	return storeRecord[ShippingCarrier](ctx, c, call{op: OpUpdateShippingCarrier, location: p.LocationID,
		pathArgs: []string{carrierID}, body: p.body()})
}

// DeleteShippingCarrier deletes a carrier; its rates no longer quote.
func (c *Client) DeleteShippingCarrier(ctx context.Context, locationID, carrierID string) error {
	_, err := doStore[json.RawMessage](ctx, c, call{op: OpDeleteShippingCarrier, location: locationID,
		pathArgs: []string{carrierID}, query: locationQuery(locationID)})
	return err
}

// StoreSettingsParams are a location's store settings. ShippingOrigin is
// required.
type StoreSettingsParams struct {
	LocationID                        string
	ShippingOrigin                    ShippingOrigin
	StoreOrderNotification            *StoreNotification
	StoreOrderFulfillmentNotification *StoreNotification
}

// SaveStoreSettings creates or replaces the location's store settings. A
// location has one set, so repeating the call is safe, and it is retried.
func (c *Client) SaveStoreSettings(ctx context.Context, p StoreSettingsParams) (*StoreSettings, error) {
	body := struct {
		AltID                             string             `json:"altId"`
		AltType                           string             `json:"altType"`
		ShippingOrigin                    ShippingOrigin     `json:"shippingOrigin"`
		StoreOrderNotification            *StoreNotification `json:"storeOrderNotification,omitempty"`
		StoreOrderFulfillmentNotification *StoreNotification `json:"storeOrderFulfillmentNotification,omitempty"`
	}{p.LocationID, "location", p.ShippingOrigin, p.StoreOrderNotification, p.StoreOrderFulfillmentNotification}
	return storeRecord[StoreSettings](ctx, c, call{op: OpSaveStoreSettings, location: p.LocationID, body: body})
}

// GetStoreSettings returns the location's store settings.
func (c *Client) GetStoreSettings(ctx context.Context, locationID string) (*StoreSettings, error) {
	return storeRecord[StoreSettings](ctx, c, call{op: OpGetStoreSettings, location: locationID, query: locationQuery(locationID)})
}

// ShippingAddress is where an order ships to (ContactAddress). Country is
// required.
type ShippingAddress struct {
	Name         string `json:"name,omitempty"`
	CompanyName  string `json:"companyName,omitempty"`
	AddressLine1 string `json:"addressLine1,omitempty"`
	Country      string `json:"country"`
	State        string `json:"state,omitempty"`
	City         string `json:"city,omitempty"`
	Zip          string `json:"zip,omitempty"`
	Phone        string `json:"phone,omitempty"`
	Email        string `json:"email,omitempty"`
}

// ShippingProduct is a line of the order to quote: a price id (or a
// product id, for its first price) and a quantity.
type ShippingProduct struct {
	ID  string `json:"id"`
	Qty int    `json:"qty"`
}

// AvailableShippingRatesParams describe an order to quote shipping for.
// LocationID, Country and Source are required.
type AvailableShippingRatesParams struct {
	LocationID string
	Country    string
	// Address narrows the destination to a state, for zones that list
	// states.
	Address *ShippingAddress
	// TotalOrderAmount is the order's amount in the store's currency.
	// GHL recomputes it from Products unless AmountAvailable is set.
	TotalOrderAmount Number
	AmountAvailable  bool
	// TotalOrderWeight is the order's weight in kg; WeightAvailable tells
	// GHL not to recompute it.
	TotalOrderWeight Number
	WeightAvailable  bool
	Source           SourceType
	SourceSubType    string
	Products         []ShippingProduct
	CouponCode       string
}

// AvailableShippingRates returns the rates that the destination and the
// order qualify for, with their final amounts. It only reads, so it is
// retried like a GET.
func (c *Client) AvailableShippingRates(ctx context.Context, p AvailableShippingRatesParams) ([]AvailableShippingRate, error) {
	type source struct {
		Type    SourceType `json:"type"`
		SubType string     `json:"subType,omitempty"`
	}
	body := struct {
		AltID            string            `json:"altId"`
		AltType          string            `json:"altType"`
		Country          string            `json:"country"`
		Address          *ShippingAddress  `json:"address,omitempty"`
		AmountAvailable  bool              `json:"amountAvailable,omitempty"`
		TotalOrderAmount Number            `json:"totalOrderAmount"`
		WeightAvailable  bool              `json:"weightAvailable,omitempty"`
		TotalOrderWeight Number            `json:"totalOrderWeight"`
		Source           source            `json:"source"`
		Products         []ShippingProduct `json:"products"`
		CouponCode       string            `json:"couponCode,omitempty"`
	}{
		AltID: p.LocationID, AltType: "location", Country: p.Country, Address: p.Address,
		AmountAvailable: p.AmountAvailable, TotalOrderAmount: orZero(p.TotalOrderAmount),
		WeightAvailable: p.WeightAvailable, TotalOrderWeight: orZero(p.TotalOrderWeight),
		Source: source{p.Source, p.SourceSubType}, Products: nonNil(p.Products), CouponCode: p.CouponCode,
	}
	return doStore[[]AvailableShippingRate](ctx, c, call{op: OpAvailableShippingRates, location: p.LocationID, body: body})
}
