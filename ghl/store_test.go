package ghl_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// TestStoreRetriesOnlyWhatIsSafe: when GHL applies a write and then fails
// to answer, a zone (no natural key) is not sent again, while the rate quote
// (a read) and the settings (one record per location) are retried.
func TestStoreRetriesOnlyWhatIsSafe(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 5, Orders: 30, RateLimit: lifted})
	loc := sb.Locations()[0]
	before := truthOf(t, sb, loc.ID)
	if err := sb.SetFaults(sandbox.Faults{ErrorAfterRate: 1,
		Only: []string{"CreateShippingZone", "AvailableShippingRates", "SaveStoreSettings"}}); err != nil {
		t.Fatal(err)
	}
	c := newClient(url, loc.Token, ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 3}))
	ctx := context.Background()

	_, err := c.CreateShippingZone(ctx, ghl.ShippingZoneParams{LocationID: loc.ID, Name: "Nordics",
		Countries: []ghl.ShippingZoneCountry{{Code: "SE"}, {Code: "NO"}}})
	var ge *ghl.Error
	if !errors.Is(err, ghl.ErrOutcomeUnknown) || !errors.As(err, &ge) || ge.Attempts != 1 {
		t.Fatalf("CreateShippingZone: %v, want ErrOutcomeUnknown after 1 attempt", err)
	}
	if got := len(truthOf(t, sb, loc.ID).ShippingZones); got != len(before.ShippingZones)+1 {
		t.Fatalf("%d zones, want %d: the zone was created exactly once", got, len(before.ShippingZones)+1)
	}

	for name, call := range map[string]func() error{
		"AvailableShippingRates": func() error {
			_, err := c.AvailableShippingRates(ctx, ghl.AvailableShippingRatesParams{LocationID: loc.ID, Country: "US",
				TotalOrderAmount: "10", TotalOrderWeight: "1", Source: ghl.SourceWebsite})
			return err
		},
		"SaveStoreSettings": func() error {
			_, err := c.SaveStoreSettings(ctx, ghl.StoreSettingsParams{LocationID: loc.ID,
				ShippingOrigin: before.StoreSettings.ShippingOrigin})
			return err
		},
	} {
		err := call()
		if errors.Is(err, ghl.ErrOutcomeUnknown) || !errors.As(err, &ge) || ge.Attempts != 3 {
			t.Errorf("%s: %v, want a known failure after 3 attempts", name, err)
		}
	}
}
