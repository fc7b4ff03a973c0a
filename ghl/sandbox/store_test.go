package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// TestSeededStoreShipsEveryOrder: the seeded zones and rates are those the
// generated orders were shipped by, in every currency: each order with
// something to ship can be quoted for its customer's country, in the
// order's currency, and the shipping it was charged is a seeded price.
func TestSeededStoreShipsEveryOrder(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.New(sandbox.Config{Seed: 11, Locations: 6, Orders: 40, RateLimit: sandbox.RateLimit{Burst: 1_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	ctx := context.Background()
	for _, loc := range sb.Locations() {
		tr, err := sb.Truth(loc.ID)
		if err != nil {
			t.Fatal(err)
		}
		lt := tr.Locations[0]
		prices := map[ghl.Number]bool{}
		for _, z := range lt.ShippingZones {
			for _, r := range z.ShippingRates {
				prices[r.Amount] = true
			}
		}
		c := ghl.NewClient(ghl.StaticToken(loc.Token), ghl.WithBaseURL(srv.URL))
		shipped := 0
		for _, o := range lt.Orders {
			if o.Deleted || o.Detail.AmountSummary == nil || !physical(o.Detail.Items) {
				continue
			}
			var to struct{ Country, State string }
			if err := json.Unmarshal(o.Detail.ContactSnapshot, &to); err != nil || to.Country == "" {
				t.Fatalf("order %s: contact snapshot %s", o.Item.ID, o.Detail.ContactSnapshot)
			}
			if s := o.Detail.AmountSummary.Shipping; s != "" && !prices[s] {
				t.Errorf("%s order %s charged shipping %s, which no seeded rate charges", loc.ID, o.Item.ID, s)
			}
			rates, err := c.AvailableShippingRates(ctx, ghl.AvailableShippingRatesParams{LocationID: loc.ID, Country: to.Country,
				Address: &ghl.ShippingAddress{Country: to.Country, State: to.State}, TotalOrderAmount: o.Detail.AmountSummary.Subtotal,
				AmountAvailable: true, TotalOrderWeight: "1", WeightAvailable: true, Source: ghl.SourceWebsite})
			if err != nil {
				t.Fatal(err)
			}
			if len(rates) == 0 {
				t.Errorf("%s order %s to %s: no shipping rate", loc.ID, o.Item.ID, to.Country)
			}
			for _, r := range rates {
				if r.Currency != o.Detail.Currency {
					t.Errorf("%s order %s in %s: rate %s in %s", loc.ID, o.Item.ID, o.Detail.Currency, r.Name, r.Currency)
				}
			}
			shipped++
		}
		if shipped == 0 {
			t.Errorf("location %s has no order to ship", loc.ID)
		}
	}
}

func physical(items []ghl.OrderItem) bool {
	for _, it := range items {
		if it.Product.ProductType == "PHYSICAL" {
			return true
		}
	}
	return false
}
