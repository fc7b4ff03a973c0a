package sandbox

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// homeCountry is where a location's store ships from, by its currency.
var homeCountry = map[string]string{"USD": "US", "EUR": "FR", "GBP": "GB", "CAD": "CA", "AUD": "AU"}

// The seeded carrier's services, in the order carrierQuote ranks them.
var seedServices = []ghl.CarrierService{
	{Name: "Ground", Value: "ground"}, {Name: "Express Saver", Value: "express_saver"}, {Name: "Overnight", Value: "overnight"},
}

// shippingSetup gives a location the store its orders were shipped by: a
// domestic zone for the store's home country, an international zone for
// every other country its contacts live in, rates that charge what the
// generated orders charged for shipping (5.99, 9.99, or free over 50 in the
// store's currency), a carrier with live rates, and the store's settings.
// It draws from its own stream, so that it changes nothing else.
func (g *generator) shippingSetup(d dice, l *location, start time.Time) {
	home := homeCountry[l.currency]
	if home == "" {
		home = "US"
	}
	at := start.AddDate(0, 0, -45).UTC().Truncate(time.Millisecond)
	next := func() time.Time {
		at = at.Add(d.duration(time.Minute, 3*time.Hour)).Truncate(time.Millisecond)
		return at
	}

	carrierAt := next()
	carrier := &ghl.ShippingCarrier{
		ID: d.objectID(carrierAt), AltID: l.id, AltType: "location", Name: "Parcelwise",
		CallbackURL: "https://rates.parcelwise.example.com/ghl/" + strings.ToLower(d.alnum(12)),
		Services:    slices.Clone(seedServices), AllowsMultipleServiceSelection: true,
		MarketplaceAppID: marketplaceAppID, CreatedAt: ghl.NewTime(carrierAt), UpdatedAt: ghl.NewTime(carrierAt),
	}
	l.store.carriers = append(l.store.carriers, carrier)

	var abroad []string
	for _, c := range l.contacts {
		if c.country != home && !slices.Contains(abroad, c.country) {
			abroad = append(abroad, c.country)
		}
	}
	slices.Sort(abroad)

	type rateSpec struct {
		name, description string
		amount            int64 // minor units
		cond              ghl.RateCondition
		lo, hi            string
		carrier           bool
	}
	zone := func(name string, countries []string, rates []rateSpec) {
		zat := next()
		z := &zoneRec{z: ghl.ShippingZone{ID: d.objectID(zat), AltID: l.id, AltType: "location", Name: name,
			CreatedAt: ghl.NewTime(zat), UpdatedAt: ghl.NewTime(zat)}}
		for _, c := range countries {
			z.z.Countries = append(z.z.Countries, ghl.ShippingZoneCountry{Code: c})
		}
		for _, rs := range rates {
			rat := next()
			r := &ghl.ShippingRate{
				ID: d.objectID(rat), AltID: l.id, AltType: "location", ShippingZoneID: z.z.ID,
				Name: rs.name, Description: rs.description, Currency: l.currency, Amount: money(rs.amount),
				ConditionType: rs.cond, MinCondition: ghl.Number(rs.lo), MaxCondition: ghl.Number(rs.hi),
				CreatedAt: ghl.NewTime(rat), UpdatedAt: ghl.NewTime(rat),
			}
			if rs.carrier {
				r.IsCarrierRate, r.ShippingCarrierID = true, carrier.ID
				r.PercentageOfRateFee = ghl.NumberFromInt(10)
				r.ShippingCarrierServices = seedServices[:1]
			}
			z.rates = append(z.rates, r)
		}
		l.store.zones = append(l.store.zones, z)
	}
	zone("Domestic", []string{home}, []rateSpec{
		{"Standard", "Ships in 3-5 business days", 599, ghl.ConditionPrice, "0", "49.99", false},
		{"Free shipping", "Orders of 50 or more", 0, ghl.ConditionPrice, "50", "0", false},
		{"Express", "Ships next business day", 999, ghl.ConditionNone, "0", "0", false},
	})
	if len(abroad) > 0 {
		zone("International", abroad, []rateSpec{
			{"International", "Ships in 7-14 business days", 999, ghl.ConditionWeight, "0", "20", false},
			{"Parcelwise Ground", "Live carrier rate", 100, ghl.ConditionNone, "0", "0", true},
		})
	}

	origin := cities[0]
	for _, c := range cities {
		if c.country == home {
			origin = c
			break
		}
	}
	domain := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(l.name, " ", ""), "&", "and")) + ".example.com"
	sat := next()
	notice := func(subject string) *ghl.StoreNotification {
		id := d.objectID(sat)
		return &ghl.StoreNotification{Enabled: true, Subject: subject, EmailTemplateID: id, DefaultEmailTemplateID: id}
	}
	l.store.settings = &ghl.StoreSettings{
		ID: d.objectID(sat), AltID: l.id, AltType: "location",
		ShippingOrigin: ghl.ShippingOrigin{
			Name: l.name, Country: origin.country, State: origin.state, City: origin.city,
			Street1: fmt.Sprintf("%d Market Street", d.between(10, 999)), Zip: origin.postal,
			Phone: "+1555" + d.digits(7), Email: "orders@" + domain,
		},
		StoreOrderNotification:            notice("Your order is placed!"),
		StoreOrderFulfillmentNotification: notice("Your order is on its way"),
		CreatedAt:                         ghl.NewTime(sat), UpdatedAt: ghl.NewTime(sat),
	}
}

// storeTruth renders the location's store for the truth: zones with their
// rates, carriers and settings. Call with the location's lock held.
func (l *location) storeTruth() ([]ghl.ShippingZone, []ghl.ShippingCarrier, *ghl.StoreSettings) {
	zones := make([]ghl.ShippingZone, 0, len(l.store.zones))
	for _, z := range l.store.zones {
		zones = append(zones, zoneOf(z, true))
	}
	carriers := make([]ghl.ShippingCarrier, 0, len(l.store.carriers))
	for _, sc := range l.store.carriers {
		carriers = append(carriers, *sc)
	}
	var settings *ghl.StoreSettings
	if l.store.settings != nil {
		s := *l.store.settings
		settings = &s
	}
	return zones, carriers, settings
}
