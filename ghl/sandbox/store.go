package sandbox

import (
	"cmp"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// storeState is a location's store: its shipping zones (each with its
// rates), its carriers and its settings, oldest first.
type storeState struct {
	zones    []*zoneRec
	carriers []*ghl.ShippingCarrier
	settings *ghl.StoreSettings
}

type zoneRec struct {
	z     ghl.ShippingZone // without rates
	rates []*ghl.ShippingRate
}

// zoneOf renders a zone, with a copy of its rates when withRates is set.
func zoneOf(z *zoneRec, withRates bool) ghl.ShippingZone {
	out := z.z
	out.Countries = slices.Clone(z.z.Countries)
	if withRates {
		out.ShippingRates = make([]ghl.ShippingRate, 0, len(z.rates))
		for _, r := range z.rates {
			out.ShippingRates = append(out.ShippingRates, *r)
		}
	}
	return out
}

// storeRoutes serve the store API: shipping zones and rates, carriers and
// the store's settings.
func (s *Server) storeRoutes() []route {
	q, b := "query", "body"
	return []route{
		{ghl.OpCreateShippingZone, b, "altId", true, 201, s.createShippingZone},
		{ghl.OpListShippingZones, q, "altId", true, 200, s.listShippingZones},
		{ghl.OpGetShippingZone, q, "altId", true, 200, s.getShippingZone},
		{ghl.OpUpdateShippingZone, b, "altId", true, 200, s.updateShippingZone},
		{ghl.OpDeleteShippingZone, q, "altId", true, 200, s.deleteShippingZone},
		{ghl.OpAvailableShippingRates, b, "altId", true, 201, s.availableShippingRates},
		{ghl.OpCreateShippingRate, b, "altId", true, 201, s.createShippingRate},
		{ghl.OpListShippingRates, q, "altId", true, 200, s.listShippingRates},
		{ghl.OpGetShippingRate, q, "altId", true, 200, s.getShippingRate},
		{ghl.OpUpdateShippingRate, b, "altId", true, 200, s.updateShippingRate},
		{ghl.OpDeleteShippingRate, q, "altId", true, 200, s.deleteShippingRate},
		{ghl.OpCreateShippingCarrier, b, "altId", true, 201, s.createShippingCarrier},
		{ghl.OpListShippingCarriers, q, "altId", true, 200, s.listShippingCarriers},
		{ghl.OpGetShippingCarrier, q, "altId", true, 200, s.getShippingCarrier},
		{ghl.OpUpdateShippingCarrier, b, "altId", true, 200, s.updateShippingCarrier},
		{ghl.OpDeleteShippingCarrier, q, "altId", true, 200, s.deleteShippingCarrier},
		{ghl.OpSaveStoreSettings, b, "altId", true, 201, s.saveStoreSettings},
		{ghl.OpGetStoreSettings, q, "altId", true, 200, s.getStoreSettings},
	}
}

// storeAnswer is the {status, message, data} envelope of the store API.
func storeAnswer(message string, data any) map[string]any {
	return map[string]any{"status": true, "message": message, "data": data}
}

// inOrder renders one page of recs in the order they were created: a
// store's zones and rates are a short list its owner arranged, not a feed,
// and a zone's own rates come in that order too.
func inOrder[R, T any](recs []R, limit, offset int, render func(R) T) []T {
	out := []T{}
	for i := offset; i < len(recs) && len(out) < limit; i++ {
		out = append(out, render(recs[i]))
	}
	return out
}

// present reports whether the JSON body has key, null or not: the store's
// update bodies change only the fields they carry.
func (req *apiRequest) present(key string) bool {
	_, ok := req.body[key]
	return ok
}

// boolQuery reads an optional boolean query parameter.
func (req *apiRequest) boolQuery(key string) (bool, *apiError) {
	switch req.query.Get(key) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, unprocessable(key + " must be a boolean value")
}

// --- Shipping zones -------------------------------------------------------

type zoneBody struct {
	Name      *string                    `json:"name"`
	Countries *[]ghl.ShippingZoneCountry `json:"countries"`
}

// applyTo validates a zone body as GHL's validators do and applies it to
// z. create requires every field; an update changes the fields it carries.
func (b zoneBody) applyTo(z *ghl.ShippingZone, create bool) *apiError {
	var msgs []string
	if b.Name != nil || create {
		if b.Name == nil || strings.TrimSpace(*b.Name) == "" {
			msgs = append(msgs, "name should not be empty")
		}
	}
	if b.Countries != nil || create {
		if b.Countries == nil || len(*b.Countries) == 0 {
			msgs = append(msgs, "countries should not be empty")
		} else {
			msgs = append(msgs, validCountries(*b.Countries)...)
		}
	}
	if len(msgs) > 0 {
		return unprocessable(msgs...)
	}
	if b.Name != nil {
		z.Name = strings.TrimSpace(*b.Name)
	}
	if b.Countries != nil {
		z.Countries = *b.Countries
	}
	return nil
}

func validCountries(cs []ghl.ShippingZoneCountry) []string {
	var msgs []string
	seen := map[string]bool{}
	for i, c := range cs {
		switch {
		case !countryCodes[c.Code]:
			msgs = append(msgs, fmt.Sprintf("countries.%d.code must be a valid ISO 3166-1 alpha-2 country code", i))
		case seen[c.Code]:
			msgs = append(msgs, fmt.Sprintf("countries.%d.code %s is listed twice", i, c.Code))
		}
		seen[c.Code] = true
		for j, st := range c.States {
			if !stateCodes[st.Code] {
				msgs = append(msgs, fmt.Sprintf("countries.%d.states.%d.code must be a valid state code", i, j))
			}
		}
	}
	return msgs
}

func (l *location) zoneByID(id string) *zoneRec {
	return find(l.store.zones, func(z *zoneRec) bool { return z.z.ID == id })
}

// zone finds the zone the request's path names.
func (req *apiRequest) zone() (*zoneRec, *apiError) {
	return found(req.loc.zoneByID(req.r.PathValue("shippingZoneId")), "Shipping zone not found")
}

func (s *Server) createShippingZone(req *apiRequest) (any, *apiError) {
	var b zoneBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	z := &zoneRec{z: ghl.ShippingZone{AltID: l.id, AltType: "location"}}
	if e := b.applyTo(&z.z, true); e != nil {
		return nil, e
	}
	z.z.ID = dice{l.rng}.objectID(req.now)
	z.z.CreatedAt, z.z.UpdatedAt = ghl.NewTime(req.now), ghl.NewTime(req.now)
	l.store.zones = append(l.store.zones, z)
	return storeAnswer("Shipping zone created successfully", zoneOf(z, false)), nil
}

func (s *Server) listShippingZones(req *apiRequest) (any, *apiError) {
	// GHL's default limit is 0: every zone.
	limit, offset, e := req.page(0, false)
	if e != nil {
		return nil, e
	}
	withRates, e := req.boolQuery("withShippingRate")
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	items := inOrder(l.store.zones, limit, offset, func(z *zoneRec) ghl.ShippingZone { return zoneOf(z, withRates) })
	return map[string]any{"total": len(l.store.zones), "data": items}, nil
}

func (s *Server) getShippingZone(req *apiRequest) (any, *apiError) {
	withRates, e := req.boolQuery("withShippingRate")
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	z, e := req.zone()
	if e != nil {
		return nil, e
	}
	return storeAnswer("Shipping zone fetched successfully", zoneOf(z, withRates)), nil
}

func (s *Server) updateShippingZone(req *apiRequest) (any, *apiError) {
	var b zoneBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	z, e := req.zone()
	if e != nil {
		return nil, e
	}
	next := z.z
	if e := b.applyTo(&next, false); e != nil {
		return nil, e
	}
	touch(&next.UpdatedAt.Time, req.now)
	z.z = next
	return storeAnswer("Shipping zone updated successfully", zoneOf(z, false)), nil
}

func (s *Server) deleteShippingZone(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	z, e := req.zone()
	if e != nil {
		return nil, e
	}
	// The zone's rates go with it.
	l.store.zones = slices.DeleteFunc(l.store.zones, func(x *zoneRec) bool { return x == z })
	return map[string]any{"status": true, "message": "Shipping zone deleted successfully"}, nil
}

// --- Shipping rates -------------------------------------------------------

type rateBody struct {
	Name                    *string               `json:"name"`
	Description             *string               `json:"description"`
	Currency                *string               `json:"currency"`
	Amount                  *ghl.Number           `json:"amount"`
	ConditionType           *ghl.RateCondition    `json:"conditionType"`
	MinCondition            *ghl.Number           `json:"minCondition"`
	MaxCondition            *ghl.Number           `json:"maxCondition"`
	IsCarrierRate           *bool                 `json:"isCarrierRate"`
	ShippingCarrierID       *string               `json:"shippingCarrierId"`
	PercentageOfRateFee     *ghl.Number           `json:"percentageOfRateFee"`
	ShippingCarrierServices *[]ghl.CarrierService `json:"shippingCarrierServices"`
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// nonNegative reads a number of at most places decimals that is not below
// zero. A nil (null or absent) number is 0.
func nonNegative(key string, n *ghl.Number, places int) (ghl.Number, int64, string) {
	if n == nil || *n == "" {
		return ghl.NumberFromInt(0), 0, ""
	}
	v, err := n.Scaled(places)
	switch {
	case err != nil:
		return "", 0, fmt.Sprintf("%s must be a number with at most %d decimal places", key, places)
	case v < 0:
		return "", 0, key + " must not be less than 0"
	}
	return ghl.NumberFromScaled(v, places), v, ""
}

// applyTo validates a rate body against the location's carriers and
// applies it to r. create requires what the spec requires; an update
// changes the fields it carries. Call with the location's lock held.
func (b rateBody) applyTo(l *location, req *apiRequest, r *ghl.ShippingRate, create bool) *apiError {
	var msgs []string
	// need reports whether the body sets key; a create must.
	need := func(key string, set bool) bool {
		if !set && create {
			msgs = append(msgs, key+" should not be empty")
		}
		return set
	}
	next := *r
	if need("name", b.Name != nil) {
		if strings.TrimSpace(*b.Name) == "" {
			msgs = append(msgs, "name should not be empty")
		}
		next.Name = strings.TrimSpace(*b.Name)
	}
	if b.Description != nil {
		next.Description = *b.Description
	}
	if need("currency", b.Currency != nil) {
		if !currencyCode.MatchString(*b.Currency) {
			msgs = append(msgs, "currency must be a valid ISO 4217 currency code")
		}
		next.Currency = *b.Currency
	}
	if need("amount", b.Amount != nil) {
		n, _, msg := nonNegative("amount", b.Amount, 2)
		if msg != "" {
			msgs = append(msgs, msg)
		}
		next.Amount = n
	}
	if need("conditionType", b.ConditionType != nil) {
		switch *b.ConditionType {
		case ghl.ConditionNone, ghl.ConditionPrice, ghl.ConditionWeight:
		default:
			msgs = append(msgs, "conditionType must be one of the following values: none, price, weight")
		}
		next.ConditionType = *b.ConditionType
	}
	// "set 0 or null if there is no minimum (maximum)": null is allowed.
	for _, c := range []struct {
		key string
		n   *ghl.Number
		dst *ghl.Number
	}{{"minCondition", b.MinCondition, &next.MinCondition}, {"maxCondition", b.MaxCondition, &next.MaxCondition}} {
		if need(c.key, req.present(c.key)) {
			n, _, msg := nonNegative(c.key, c.n, 3)
			if msg != "" {
				msgs = append(msgs, msg)
			}
			*c.dst = n
		}
	}
	if b.IsCarrierRate != nil {
		next.IsCarrierRate = *b.IsCarrierRate
	}
	if need("shippingCarrierId", b.ShippingCarrierID != nil) {
		next.ShippingCarrierID = *b.ShippingCarrierID
	}
	if b.PercentageOfRateFee != nil {
		n, _, msg := nonNegative("percentageOfRateFee", b.PercentageOfRateFee, 2)
		if msg != "" {
			msgs = append(msgs, msg)
		}
		next.PercentageOfRateFee = n
	}
	if b.ShippingCarrierServices != nil {
		next.ShippingCarrierServices = *b.ShippingCarrierServices
	}
	if len(msgs) > 0 {
		return unprocessable(msgs...)
	}
	if lo, hi := scaled(next.MinCondition, 3), scaled(next.MaxCondition, 3); hi > 0 && lo > hi {
		return unprocessable("maxCondition must not be less than minCondition")
	}
	if next.IsCarrierRate {
		sc := l.carrierByID(next.ShippingCarrierID)
		if sc == nil {
			return notFound("Shipping carrier not found")
		}
		if len(next.ShippingCarrierServices) == 0 {
			return unprocessable("shippingCarrierServices should not be empty for a carrier rate")
		}
		if len(next.ShippingCarrierServices) > 1 && !sc.AllowsMultipleServiceSelection {
			return unprocessable("the shipping carrier allows one service per rate")
		}
		for i, svc := range next.ShippingCarrierServices {
			if serviceIndex(sc, svc.Value) < 0 {
				return unprocessable(fmt.Sprintf("shippingCarrierServices.%d.value %q is not a service of the shipping carrier", i, svc.Value))
			}
		}
	}
	*r = next
	return nil
}

// scaled is n in units of 10^-places; a Number the sandbox stored is
// always exact there.
func scaled(n ghl.Number, places int) int64 {
	v, _ := n.Scaled(places)
	return v
}

func serviceIndex(sc *ghl.ShippingCarrier, value string) int {
	return slices.IndexFunc(sc.Services, func(s ghl.CarrierService) bool { return s.Value == value })
}

func (z *zoneRec) rateByID(id string) *ghl.ShippingRate {
	return find(z.rates, func(r *ghl.ShippingRate) bool { return r.ID == id })
}

func (s *Server) createShippingRate(req *apiRequest) (any, *apiError) {
	var b rateBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	z, e := req.zone()
	if e != nil {
		return nil, e
	}
	r := &ghl.ShippingRate{AltID: l.id, AltType: "location", ShippingZoneID: z.z.ID}
	if e := b.applyTo(l, req, r, true); e != nil {
		return nil, e
	}
	r.ID = dice{l.rng}.objectID(req.now)
	r.CreatedAt, r.UpdatedAt = ghl.NewTime(req.now), ghl.NewTime(req.now)
	z.rates = append(z.rates, r)
	return storeAnswer("Shipping rate created successfully", *r), nil
}

func (s *Server) listShippingRates(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(0, false)
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	z, e := req.zone()
	if e != nil {
		return nil, e
	}
	items := inOrder(z.rates, limit, offset, func(r *ghl.ShippingRate) ghl.ShippingRate { return *r })
	return map[string]any{"total": len(z.rates), "data": items}, nil
}

// zoneRate finds the zone and rate a request's path names.
func (req *apiRequest) zoneRate() (*zoneRec, *ghl.ShippingRate, *apiError) {
	z, e := req.zone()
	if e != nil {
		return nil, nil, e
	}
	r, e := found(z.rateByID(req.r.PathValue("shippingRateId")), "Shipping rate not found")
	return z, r, e
}

func (s *Server) getShippingRate(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, r, e := req.zoneRate()
	if e != nil {
		return nil, e
	}
	return storeAnswer("Shipping rate fetched successfully", *r), nil
}

func (s *Server) updateShippingRate(req *apiRequest) (any, *apiError) {
	var b rateBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	_, r, e := req.zoneRate()
	if e != nil {
		return nil, e
	}
	next := *r
	if e := b.applyTo(l, req, &next, false); e != nil {
		return nil, e
	}
	touch(&next.UpdatedAt.Time, req.now)
	*r = next
	return storeAnswer("Shipping rate updated successfully", *r), nil
}

func (s *Server) deleteShippingRate(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	z, r, e := req.zoneRate()
	if e != nil {
		return nil, e
	}
	z.rates = slices.DeleteFunc(z.rates, func(x *ghl.ShippingRate) bool { return x == r })
	return map[string]any{"status": true, "message": "Shipping rate deleted successfully"}, nil
}

// --- Shipping carriers ----------------------------------------------------

type carrierBody struct {
	Name                           *string               `json:"name"`
	CallbackURL                    *string               `json:"callbackUrl"`
	Services                       *[]ghl.CarrierService `json:"services"`
	AllowsMultipleServiceSelection *bool                 `json:"allowsMultipleServiceSelection"`
}

func (b carrierBody) applyTo(sc *ghl.ShippingCarrier, create bool) *apiError {
	var msgs []string
	next := *sc
	if b.Name != nil || create {
		if b.Name == nil || strings.TrimSpace(*b.Name) == "" {
			msgs = append(msgs, "name should not be empty")
		} else {
			next.Name = strings.TrimSpace(*b.Name)
		}
	}
	if b.CallbackURL != nil || create {
		// GHL calls the carrier from the internet: a public https URL.
		if b.CallbackURL == nil {
			msgs = append(msgs, "callbackUrl should not be empty")
		} else if u, err := url.Parse(*b.CallbackURL); err != nil || u.Scheme != "https" || u.Host == "" {
			msgs = append(msgs, "callbackUrl must be a URL address")
		} else {
			next.CallbackURL = *b.CallbackURL
		}
	}
	if b.Services != nil {
		seen := map[string]bool{}
		for i, svc := range *b.Services {
			if svc.Name == "" || svc.Value == "" {
				msgs = append(msgs, fmt.Sprintf("services.%d.name and services.%d.value should not be empty", i, i))
			} else if seen[svc.Value] {
				msgs = append(msgs, fmt.Sprintf("services.%d.value %q is listed twice", i, svc.Value))
			}
			seen[svc.Value] = true
		}
		next.Services = *b.Services
	}
	if b.AllowsMultipleServiceSelection != nil {
		next.AllowsMultipleServiceSelection = *b.AllowsMultipleServiceSelection
	}
	if len(msgs) > 0 {
		return unprocessable(msgs...)
	}
	*sc = next
	return nil
}

func (l *location) carrierByID(id string) *ghl.ShippingCarrier {
	return find(l.store.carriers, func(sc *ghl.ShippingCarrier) bool { return sc.ID == id })
}

// carrier finds the carrier the request's path names.
func (req *apiRequest) carrier() (*ghl.ShippingCarrier, *apiError) {
	return found(req.loc.carrierByID(req.r.PathValue("shippingCarrierId")), "Shipping carrier not found")
}

func (s *Server) createShippingCarrier(req *apiRequest) (any, *apiError) {
	var b carrierBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sc := &ghl.ShippingCarrier{AltID: l.id, AltType: "location", MarketplaceAppID: marketplaceAppID}
	if e := b.applyTo(sc, true); e != nil {
		return nil, e
	}
	sc.ID = dice{l.rng}.objectID(req.now)
	sc.CreatedAt, sc.UpdatedAt = ghl.NewTime(req.now), ghl.NewTime(req.now)
	l.store.carriers = append(l.store.carriers, sc)
	return storeAnswer("Shipping carrier created successfully", *sc), nil
}

func (s *Server) listShippingCarriers(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]ghl.ShippingCarrier, 0, len(l.store.carriers))
	for _, sc := range l.store.carriers {
		out = append(out, *sc)
	}
	return storeAnswer("Shipping carriers fetched successfully", out), nil
}

func (s *Server) getShippingCarrier(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	sc, e := req.carrier()
	if e != nil {
		return nil, e
	}
	return storeAnswer("Shipping carrier fetched successfully", *sc), nil
}

func (s *Server) updateShippingCarrier(req *apiRequest) (any, *apiError) {
	var b carrierBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sc, e := req.carrier()
	if e != nil {
		return nil, e
	}
	next := *sc
	if e := b.applyTo(&next, false); e != nil {
		return nil, e
	}
	touch(&next.UpdatedAt.Time, req.now)
	*sc = next
	return storeAnswer("Shipping carrier updated successfully", *sc), nil
}

func (s *Server) deleteShippingCarrier(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sc, e := req.carrier()
	if e != nil {
		return nil, e
	}
	// The carrier's rates stay, as GHL keeps them, but no longer quote:
	// availableRates skips a rate whose carrier is gone.
	l.store.carriers = slices.DeleteFunc(l.store.carriers, func(x *ghl.ShippingCarrier) bool { return x == sc })
	return map[string]any{"status": true, "message": "Shipping carrier deleted successfully"}, nil
}

// --- Store settings -------------------------------------------------------

type settingsBody struct {
	ShippingOrigin                    *ghl.ShippingOrigin    `json:"shippingOrigin"`
	StoreOrderNotification            *ghl.StoreNotification `json:"storeOrderNotification"`
	StoreOrderFulfillmentNotification *ghl.StoreNotification `json:"storeOrderFulfillmentNotification"`
}

func (b settingsBody) validate() *apiError {
	o := b.ShippingOrigin
	if o == nil {
		return unprocessable("shippingOrigin should not be empty")
	}
	var msgs []string
	for _, f := range []struct{ key, v string }{
		{"name", o.Name}, {"city", o.City}, {"street1", o.Street1}, {"zip", o.Zip},
	} {
		if strings.TrimSpace(f.v) == "" {
			msgs = append(msgs, "shippingOrigin."+f.key+" should not be empty")
		}
	}
	if !countryCodes[o.Country] {
		msgs = append(msgs, "shippingOrigin.country must be a valid ISO 3166-1 alpha-2 country code")
	}
	if o.State != "" && !stateCodes[o.State] {
		msgs = append(msgs, "shippingOrigin.state must be a valid state code")
	}
	for _, n := range []struct {
		key string
		n   *ghl.StoreNotification
	}{{"storeOrderNotification", b.StoreOrderNotification}, {"storeOrderFulfillmentNotification", b.StoreOrderFulfillmentNotification}} {
		if n.n == nil {
			continue
		}
		if n.n.Subject == "" {
			msgs = append(msgs, n.key+".subject should not be empty")
		}
		if n.n.EmailTemplateID == "" || n.n.DefaultEmailTemplateID == "" {
			msgs = append(msgs, n.key+".emailTemplateId and "+n.key+".defaultEmailTemplateId should not be empty")
		}
	}
	if len(msgs) > 0 {
		return unprocessable(msgs...)
	}
	return nil
}

// saveStoreSettings creates the location's settings or replaces them: a
// location has one set, so the create is an upsert.
func (s *Server) saveStoreSettings(req *apiRequest) (any, *apiError) {
	var b settingsBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if e := b.validate(); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.store.settings
	if st == nil {
		st = &ghl.StoreSettings{ID: dice{l.rng}.objectID(req.now), AltID: l.id, AltType: "location",
			CreatedAt: ghl.NewTime(req.now), UpdatedAt: ghl.NewTime(req.now)}
	} else {
		next := *st
		touch(&next.UpdatedAt.Time, req.now)
		st = &next
	}
	st.ShippingOrigin = *b.ShippingOrigin
	st.StoreOrderNotification, st.StoreOrderFulfillmentNotification = b.StoreOrderNotification, b.StoreOrderFulfillmentNotification
	l.store.settings = st
	return storeAnswer("Store settings saved successfully", *st), nil
}

func (s *Server) getStoreSettings(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.store.settings == nil {
		return nil, notFound("Store setting not found")
	}
	return storeAnswer("Store settings fetched successfully", *l.store.settings), nil
}

// --- Available shipping rates ---------------------------------------------

type quoteBody struct {
	Country          string               `json:"country"`
	Address          *ghl.ShippingAddress `json:"address"`
	AmountAvailable  bool                 `json:"amountAvailable"`
	TotalOrderAmount *ghl.Number          `json:"totalOrderAmount"`
	WeightAvailable  bool                 `json:"weightAvailable"`
	TotalOrderWeight *ghl.Number          `json:"totalOrderWeight"`
	Source           *struct {
		Type    string `json:"type"`
		SubType string `json:"subType"`
	} `json:"source"`
	Products *[]struct {
		ID  string     `json:"id"`
		Qty ghl.Number `json:"qty"`
	} `json:"products"`
	CouponCode string `json:"couponCode"`
}

// availableShippingRates quotes shipping for an order: the rates of the
// zones that cover the destination whose conditions the order meets, each
// with its final amount, cheapest first.
func (s *Server) availableShippingRates(req *apiRequest) (any, *apiError) {
	var b quoteBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var msgs []string
	if !countryCodes[b.Country] {
		msgs = append(msgs, "country must be a valid ISO 3166-1 alpha-2 country code")
	}
	if b.Address != nil && b.Address.Country != "" && !countryCodes[b.Address.Country] {
		msgs = append(msgs, "address.country must be a valid ISO 3166-1 alpha-2 country code")
	}
	_, amount, msg := nonNegative("totalOrderAmount", b.TotalOrderAmount, 2)
	if b.TotalOrderAmount == nil {
		msg = "totalOrderAmount must be a number conforming to the specified constraints"
	}
	if msg != "" {
		msgs = append(msgs, msg)
	}
	_, weight, msg := nonNegative("totalOrderWeight", b.TotalOrderWeight, 3)
	if b.TotalOrderWeight == nil {
		msg = "totalOrderWeight must be a number conforming to the specified constraints"
	}
	if msg != "" {
		msgs = append(msgs, msg)
	}
	if b.Source == nil || b.Source.Type == "" {
		msgs = append(msgs, "source.type should not be empty")
	}
	if b.Products == nil {
		msgs = append(msgs, "products must be an array")
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	state := ""
	if b.Address != nil && (b.Address.Country == "" || b.Address.Country == b.Country) {
		state = b.Address.State
	}

	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !b.AmountAvailable {
		// GHL prices the order itself from its items (and coupon) unless
		// told the amount is final. The sandbox's products carry no
		// weight, so the weight given is always used.
		var items []quoteItem
		for _, p := range *b.Products {
			qty, ok := p.Qty.Int()
			if !ok || qty < 0 {
				return nil, unprocessable("products.qty must be a positive number")
			}
			items = append(items, quoteItem{p.ID, qty})
		}
		if v, ok := l.priceItems(items, b.CouponCode, req.now); ok {
			amount = v
		}
	}
	rates := l.availableRates(b.Country, state, amount, weight)
	return storeAnswer("Available shipping rates fetched successfully", rates), nil
}

type quoteItem struct {
	id  string // a price id, or a product id for its first price
	qty int
}

// priceItems sums the items' prices in minor units, less the coupon's
// discount when the code names an active coupon. It reports false when an
// item names no price of the location. Call with the location's lock held.
func (l *location) priceItems(items []quoteItem, couponCode string, now time.Time) (int64, bool) {
	if len(items) == 0 {
		return 0, false
	}
	var sum int64
	for _, it := range items {
		p := l.priceOrProduct(it.id)
		if p == nil {
			return 0, false
		}
		sum += p.minor * int64(it.qty)
	}
	if c := l.couponByCode(couponCode); couponCode != "" && c != nil && couponOf(c, now).Status == ghl.CouponActive {
		v, _ := c.c.DiscountValue.Scaled(2)
		if c.c.DiscountType == ghl.DiscountPercentage {
			sum -= sum * v / 10000
		} else {
			sum = max(sum-v, 0)
		}
	}
	return sum, true
}

func (l *location) priceOrProduct(id string) *priceRec {
	for _, pr := range l.products {
		if pr.p.ID == id && len(pr.prices) > 0 {
			return pr.prices[0]
		}
		for _, p := range pr.prices {
			if p.p.ID == id {
				return p
			}
		}
	}
	return nil
}

// availableRates returns the rates for a destination and an order of
// amount (minor units) and weight (grams). A zone that names the
// destination's state is more specific than one that covers its whole
// country, and wins over it, as a checkout offers one zone's rates. Call
// with the location's lock held.
func (l *location) availableRates(country, state string, amount, weight int64) []ghl.AvailableShippingRate {
	const (
		none = iota
		wholeCountry
		namedState
	)
	best := none
	var zones []*zoneRec
	for _, z := range l.store.zones {
		fit := none
		for _, c := range z.z.Countries {
			switch {
			case c.Code != country:
			case len(c.States) == 0:
				fit = max(fit, wholeCountry)
			case state != "" && slices.ContainsFunc(c.States, func(s ghl.ShippingZoneState) bool { return s.Code == state }):
				fit = namedState
			}
		}
		switch {
		case fit == none || fit < best:
		case fit > best:
			best, zones = fit, []*zoneRec{z}
		default:
			zones = append(zones, z)
		}
	}
	out := []ghl.AvailableShippingRate{}
	for _, z := range zones {
		for _, r := range z.rates {
			if !meets(r, amount, weight) {
				continue
			}
			minor := scaled(r.Amount, 2)
			if r.IsCarrierRate {
				sc := l.carrierByID(r.ShippingCarrierID)
				if sc == nil || len(r.ShippingCarrierServices) == 0 {
					continue // the carrier is gone: it cannot quote
				}
				quote := carrierQuote(sc, r.ShippingCarrierServices[0].Value, weight)
				// percentageOfRateFee is in hundredths of a percent.
				minor += quote + quote*scaled(r.PercentageOfRateFee, 2)/10000
			}
			out = append(out, ghl.AvailableShippingRate{
				ID: r.ID, ShippingZoneID: z.z.ID, Name: r.Name, Description: r.Description, Currency: r.Currency,
				Amount: money(minor), IsCarrierRate: r.IsCarrierRate, ShippingCarrierID: r.ShippingCarrierID,
				PercentageOfRateFee: r.PercentageOfRateFee, ShippingCarrierServices: r.ShippingCarrierServices,
			})
		}
	}
	slices.SortStableFunc(out, func(a, b ghl.AvailableShippingRate) int {
		return cmp.Compare(scaled(a.Amount, 2), scaled(b.Amount, 2))
	})
	return out
}

// meets reports whether an order of amount (minor units) and weight
// (grams) meets the rate's condition; both bounds are inclusive and 0 means
// none.
func meets(r *ghl.ShippingRate, amount, weight int64) bool {
	var v int64 // in thousandths, as the bounds are kept
	switch r.ConditionType {
	case ghl.ConditionPrice:
		v = amount * 10
	case ghl.ConditionWeight:
		v = weight
	default:
		return true
	}
	lo, hi := scaled(r.MinCondition, 3), scaled(r.MaxCondition, 3)
	return v >= lo && (hi == 0 || v <= hi)
}

// carrierQuote stands in for the carrier's callback, which the sandbox
// never calls (it reaches no one outside): a price in minor units that
// grows with the service's rank in the carrier's list and with every
// started kilogram, so that tests can predict it.
func carrierQuote(sc *ghl.ShippingCarrier, service string, grams int64) int64 {
	kg := max((grams+999)/1000, 1)
	return 650 + 200*int64(max(serviceIndex(sc, service), 0)) + 120*kg
}
