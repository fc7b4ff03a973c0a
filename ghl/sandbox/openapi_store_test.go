package sandbox_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/rankr/rankr/ghl"
)

// exerciseStore drives the 18 operations of the store API: the seeded
// zones, rates, carrier and settings are read back, rates are quoted for
// destinations and orders whose answers the seed decides, and a zone, its
// rates and a carrier go through their whole life, errors included.
func exerciseStore(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)

	// The seed: zones with rates, a carrier and settings, as the truth has them.
	if len(e.truth.ShippingZones) < 2 || len(e.truth.ShippingCarriers) == 0 || e.truth.StoreSettings == nil {
		t.Fatalf("the seed has %d zones, %d carriers, settings %v; want 2, 1 and some",
			len(e.truth.ShippingZones), len(e.truth.ShippingCarriers), e.truth.StoreSettings != nil)
	}
	zones := oaMust(e.c.ListShippingZones(ctx, ghl.ListShippingZonesParams{LocationID: e.loc, WithShippingRates: true}))(t)
	if zones.TotalCount != len(e.truth.ShippingZones) || len(zones.Items) != zones.TotalCount {
		t.Errorf("ListShippingZones: %d of %d zones, want all %d", len(zones.Items), zones.TotalCount, len(e.truth.ShippingZones))
	}
	oaMust(e.c.ListShippingZones(ctx, ghl.ListShippingZonesParams{LocationID: e.loc, Limit: 1, Offset: 1}))(t)
	n := 0
	for _, err := range e.c.ShippingZones(ctx, ghl.ListShippingZonesParams{LocationID: e.loc, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(e.truth.ShippingZones) {
		t.Errorf("ShippingZones iterated %d zones, want %d", n, len(e.truth.ShippingZones))
	}
	var domestic, abroad ghl.ShippingZone
	for _, z := range e.truth.ShippingZones {
		got := oaMust(e.c.GetShippingZone(ctx, e.loc, z.ID, true))(t)
		if got.Name != z.Name || len(got.ShippingRates) != len(z.ShippingRates) {
			t.Errorf("GetShippingZone(%s): %q with %d rates, want %q with %d", z.ID, got.Name, len(got.ShippingRates), z.Name, len(z.ShippingRates))
		}
		rates := oaMust(e.c.ListShippingRates(ctx, ghl.ListShippingRatesParams{LocationID: e.loc, ZoneID: z.ID}))(t)
		for _, r := range rates.Items {
			oaMust(e.c.GetShippingRate(ctx, e.loc, z.ID, r.ID))(t)
		}
		switch z.Name {
		case "Domestic":
			domestic = z
		case "International":
			abroad = z
		}
	}
	if domestic.ID == "" || abroad.ID == "" {
		t.Fatal("the seed has no Domestic and International zones")
	}
	plain := oaMust(e.c.GetShippingZone(ctx, e.loc, domestic.ID, false))(t)
	if plain.ShippingRates != nil {
		t.Errorf("GetShippingZone without rates answered %d rates", len(plain.ShippingRates))
	}
	oaMust(e.c.ListShippingRates(ctx, ghl.ListShippingRatesParams{LocationID: e.loc, ZoneID: domestic.ID, Limit: 1, Offset: 1}))(t)
	carriers := oaMust(e.c.ListShippingCarriers(ctx, e.loc))(t)
	if len(carriers) != len(e.truth.ShippingCarriers) {
		t.Errorf("ListShippingCarriers: %d carriers, want %d", len(carriers), len(e.truth.ShippingCarriers))
	}
	oaMust(e.c.GetShippingCarrier(ctx, e.loc, carriers[0].ID))(t)
	settings := oaMust(e.c.GetStoreSettings(ctx, e.loc))(t)
	if settings.ShippingOrigin != e.truth.StoreSettings.ShippingOrigin {
		t.Errorf("GetStoreSettings: origin %+v, want %+v", settings.ShippingOrigin, e.truth.StoreSettings.ShippingOrigin)
	}

	// Quotes: the seeded rates are 5.99 under 50, free from 50, express
	// 9.99 at home; 9.99 up to 20 kg, and the carrier's ground rate
	// (6.50 + 1.20 a started kg, plus 10% and a 1.00 handling fee) abroad.
	home, far := domestic.Countries[0].Code, abroad.Countries[0].Code
	quote := func(country string, amount, weight ghl.Number) []string {
		t.Helper()
		rates := oaMust(e.c.AvailableShippingRates(ctx, ghl.AvailableShippingRatesParams{LocationID: e.loc, Country: country,
			TotalOrderAmount: amount, AmountAvailable: true, TotalOrderWeight: weight, WeightAvailable: true,
			Source: ghl.SourceWebsite, SourceSubType: "store"}))(t)
		var out []string
		for _, r := range rates {
			out = append(out, r.Name+" "+string(r.Amount))
		}
		return out
	}
	for _, tc := range []struct {
		country        string
		amount, weight ghl.Number
		want           []string
	}{
		{home, "20", "1", []string{"Standard 5.99", "Express 9.99"}},
		{home, "49.99", "1", []string{"Standard 5.99", "Express 9.99"}},
		{home, "50", "1", []string{"Free shipping 0", "Express 9.99"}},
		{far, "20", "2", []string{"International 9.99", "Parcelwise Ground 10.79"}},
		{far, "20", "25", []string{"Parcelwise Ground 41.15"}},
		{"JP", "20", "1", nil},
	} {
		if got := quote(tc.country, tc.amount, tc.weight); !slices.Equal(got, tc.want) {
			t.Errorf("AvailableShippingRates(%s, amount %s, %s kg) = %q, want %q", tc.country, tc.amount, tc.weight, got, tc.want)
		}
	}
	// Unless told the amount is final, GHL prices the items itself, less
	// the coupon's discount.
	var price ghl.Price
	var each int64
	for _, o := range e.truth.Orders {
		for _, it := range o.Detail.Items {
			v, err := it.Price.Amount.Scaled(2)
			if it.Product.ProductType == "PHYSICAL" && it.Price.Type == ghl.PriceOneTime && err == nil && v > 0 && v < 5000 {
				price, each = it.Price, v
			}
		}
	}
	if price.ID == "" {
		t.Fatal("no order of the seed has a physical item under 50")
	}
	qty := int(5000/each) + 1 // just over 50: free shipping
	items := []ghl.ShippingProduct{{ID: price.ID, Qty: qty}}
	rates := oaMust(e.c.AvailableShippingRates(ctx, ghl.AvailableShippingRatesParams{LocationID: e.loc, Country: home,
		TotalOrderAmount: "1", TotalOrderWeight: "1", Source: ghl.SourceWebsite, Products: items}))(t)
	if len(rates) == 0 || rates[0].Name != "Free shipping" {
		t.Errorf("AvailableShippingRates for %d × %s: %v, want free shipping first", qty, price.Amount, rates)
	}
	oaMust(e.c.CreateCoupon(ctx, ghl.CouponParams{LocationID: e.loc, Name: "Half off", Code: "SHIPHALF",
		DiscountType: ghl.DiscountPercentage, DiscountValue: ghl.NumberFromInt(50), StartDate: time.Now().Add(-time.Hour)}))(t)
	rates = oaMust(e.c.AvailableShippingRates(ctx, ghl.AvailableShippingRatesParams{LocationID: e.loc, Country: home,
		TotalOrderAmount: "1", TotalOrderWeight: "1", Source: ghl.SourceWebsite, Products: items, CouponCode: "SHIPHALF"}))(t)
	if len(rates) == 0 || rates[0].Name != "Standard" {
		t.Errorf("AvailableShippingRates for %d × %s at half price: %v, want Standard first", qty, price.Amount, rates)
	}
	// Refusals the spec's schemas allow but GHL's validators do not.
	_, err := e.c.AvailableShippingRates(ctx, ghl.AvailableShippingRatesParams{LocationID: e.loc, Country: home,
		TotalOrderAmount: "-1", Source: ghl.SourceWebsite})
	if !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("AvailableShippingRates for an amount of -1: %v, want a 422", err)
	}

	// A carrier, a zone for one state, and its rates, through their life.
	sc := oaMust(e.c.CreateShippingCarrier(ctx, ghl.ShippingCarrierParams{LocationID: e.loc, Name: "Spec Freight",
		CallbackURL: "https://freight.example.com/rates", AllowsMultipleServiceSelection: true,
		Services: []ghl.CarrierService{{Name: "Economy", Value: "economy"}, {Name: "Priority", Value: "priority"}}}))(t)
	_, err = e.c.CreateShippingCarrier(ctx, ghl.ShippingCarrierParams{LocationID: e.loc, Name: "Spec Freight", CallbackURL: "ftp://x"})
	if !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("CreateShippingCarrier with an ftp callback: %v, want a 422", err)
	}
	sc = oaMust(e.c.UpdateShippingCarrier(ctx, sc.ID, ghl.ShippingCarrierParams{LocationID: e.loc, Name: "Spec Freight Co",
		CallbackURL: sc.CallbackURL, Services: sc.Services, AllowsMultipleServiceSelection: true}))(t)
	if sc.Name != "Spec Freight Co" {
		t.Errorf("UpdateShippingCarrier: name %q", sc.Name)
	}

	z := oaMust(e.c.CreateShippingZone(ctx, ghl.ShippingZoneParams{LocationID: e.loc, Name: "Spec Texas",
		Countries: []ghl.ShippingZoneCountry{{Code: home, States: []ghl.ShippingZoneState{{Code: "TX"}}}}}))(t)
	_, err = e.c.CreateShippingZone(ctx, ghl.ShippingZoneParams{LocationID: e.loc, Name: "Nowhere"})
	if !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("CreateShippingZone without countries: %v, want a 422", err)
	}
	local := oaMust(e.c.CreateShippingRate(ctx, z.ID, ghl.ShippingRateParams{LocationID: e.loc, Name: "Spec courier",
		Currency: domestic.ShippingRates[0].Currency, Amount: "3.5", ConditionType: ghl.ConditionNone}))(t)
	live := oaMust(e.c.CreateShippingRate(ctx, z.ID, ghl.ShippingRateParams{LocationID: e.loc, Name: "Spec Freight live",
		Currency: local.Currency, Amount: "0", ConditionType: ghl.ConditionWeight, MaxCondition: "30",
		IsCarrierRate: true, ShippingCarrierID: sc.ID, PercentageOfRateFee: "0",
		ShippingCarrierServices: sc.Services[1:]}))(t)
	_, err = e.c.CreateShippingRate(ctx, z.ID, ghl.ShippingRateParams{LocationID: e.loc, Name: "Ghost carrier",
		Currency: local.Currency, ConditionType: ghl.ConditionNone, IsCarrierRate: true,
		ShippingCarrierID: "000000000000000000000000", ShippingCarrierServices: sc.Services[:1]})
	if !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("CreateShippingRate with an unknown carrier: %v, want not found", err)
	}
	_, err = e.c.CreateShippingRate(ctx, z.ID, ghl.ShippingRateParams{LocationID: e.loc, Name: "Backwards",
		Currency: local.Currency, ConditionType: ghl.ConditionPrice, MinCondition: "10", MaxCondition: "5"})
	if !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("CreateShippingRate with min 10 > max 5: %v, want a 422", err)
	}
	// A state-specific zone wins over the whole-country one there, and
	// only there. Priority is the carrier's second service: 6.50 + 2.00
	// + 1.20 for 1 kg.
	texas := oaMust(e.c.AvailableShippingRates(ctx, ghl.AvailableShippingRatesParams{LocationID: e.loc, Country: home,
		Address: &ghl.ShippingAddress{Country: home, State: "TX"}, TotalOrderAmount: "20", AmountAvailable: true,
		TotalOrderWeight: "0.4", WeightAvailable: true, Source: ghl.SourceFunnel}))(t)
	var names []string
	for _, r := range texas {
		names = append(names, r.Name+" "+string(r.Amount))
	}
	if want := []string{"Spec courier 3.5", "Spec Freight live 9.7"}; !slices.Equal(names, want) {
		t.Errorf("AvailableShippingRates to TX: %q, want %q", names, want)
	}
	if got := quote(home, "20", "1"); len(got) != 2 || got[0] != "Standard 5.99" {
		t.Errorf("AvailableShippingRates at home outside TX: %q, want the domestic rates", got)
	}

	z = oaMust(e.c.UpdateShippingZone(ctx, z.ID, ghl.ShippingZoneParams{LocationID: e.loc, Name: "Spec Texas & Oklahoma",
		Countries: []ghl.ShippingZoneCountry{{Code: home, States: []ghl.ShippingZoneState{{Code: "TX"}, {Code: "OK"}}}}}))(t)
	if len(z.Countries) != 1 || len(z.Countries[0].States) != 2 {
		t.Errorf("UpdateShippingZone: countries %+v", z.Countries)
	}
	local.Amount = "4.25"
	up := oaMust(e.c.UpdateShippingRate(ctx, z.ID, local.ID, ghl.ShippingRateParams{LocationID: e.loc, Name: local.Name,
		Currency: local.Currency, Amount: local.Amount, ConditionType: ghl.ConditionPrice, MaxCondition: "100"}))(t)
	if up.Amount != "4.25" || up.ConditionType != ghl.ConditionPrice {
		t.Errorf("UpdateShippingRate: amount %s, condition %s", up.Amount, up.ConditionType)
	}

	origin := settings.ShippingOrigin
	origin.Street2 = "Suite 200"
	saved := oaMust(e.c.SaveStoreSettings(ctx, ghl.StoreSettingsParams{LocationID: e.loc, ShippingOrigin: origin,
		StoreOrderNotification: settings.StoreOrderNotification}))(t)
	if saved.ID != settings.ID || saved.ShippingOrigin.Street2 != "Suite 200" || saved.StoreOrderFulfillmentNotification != nil {
		t.Errorf("SaveStoreSettings: %+v, want the same record with the new origin and no fulfillment email", saved)
	}
	_, err = e.c.SaveStoreSettings(ctx, ghl.StoreSettingsParams{LocationID: e.loc, ShippingOrigin: ghl.ShippingOrigin{Name: "x", Country: origin.Country}})
	if !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("SaveStoreSettings without an address: %v, want a 422", err)
	}

	// Deleted records answer not found.
	if err := e.c.DeleteShippingRate(ctx, e.loc, z.ID, live.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetShippingRate(ctx, e.loc, z.ID, live.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetShippingRate after its deletion: %v, want not found", err)
	}
	if err := e.c.DeleteShippingCarrier(ctx, e.loc, sc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetShippingCarrier(ctx, e.loc, sc.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetShippingCarrier after its deletion: %v, want not found", err)
	}
	if err := e.c.DeleteShippingZone(ctx, e.loc, z.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetShippingZone(ctx, e.loc, z.ID, false); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetShippingZone after its deletion: %v, want not found", err)
	}
	if _, err := e.c.ListShippingRates(ctx, ghl.ListShippingRatesParams{LocationID: e.loc, ZoneID: z.ID}); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("ListShippingRates of a deleted zone: %v, want not found", err)
	}
	if err := e.c.DeleteShippingZone(ctx, e.loc, z.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("deleting a zone twice: %v, want not found", err)
	}
	if _, err := e.bad.ListShippingZones(ctx, ghl.ListShippingZonesParams{LocationID: e.loc}); !errors.Is(err, ghl.ErrUnauthorized) {
		t.Errorf("ListShippingZones with a bad token: %v, want unauthorized", err)
	}
}

// flatStringEnum retypes a property the spec types "number" with its
// enum nested in a list, as a string of that enum.
func flatStringEnum(old *openapi3.SchemaRef) *openapi3.SchemaRef {
	s := withType(old, openapi3.TypeString, nil)
	for _, v := range old.Value.Enum {
		if list, ok := v.([]any); ok {
			s.Value.Enum = append(s.Value.Enum, list...)
		}
	}
	return s
}

// asBoolean retypes a property as a boolean, keeping its description.
func asBoolean(old *openapi3.SchemaRef) *openapi3.SchemaRef {
	s := withType(old, openapi3.TypeBoolean, nil)
	s.Value.Example = true
	return s
}
