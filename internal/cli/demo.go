package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
)

// DemoCmd runs a seeded sandbox with live activity. Until the connector
// lands it shows how to reach the sandbox; it needs no account and no
// configuration.
type DemoCmd struct {
	Addr      string  `help:"Address for the sandbox." default:"127.0.0.1:8090" env:"RANKR_DEMO_ADDR"`
	Seed      int64   `help:"Seed for the generated data." default:"1" env:"RANKR_DEMO_SEED"`
	Locations int     `help:"Locations to seed." default:"2" env:"RANKR_DEMO_LOCATIONS"`
	Orders    int     `help:"Orders per location." default:"500" env:"RANKR_DEMO_ORDERS"`
	Activity  float64 `help:"Live changes per second." default:"2" env:"RANKR_DEMO_ACTIVITY"`
}

// Run serves the sandbox until interrupted.
func (c *DemoCmd) Run(ctx context.Context, g *Globals) error {
	cfg := sandbox.Config{Seed: c.Seed, Locations: c.Locations, Orders: c.Orders, ActivityPerSecond: c.Activity,
		Logger: g.Logger()}
	sb, ln, err := startSandbox(cfg, c.Addr)
	if err != nil {
		return err
	}
	defer sb.Close()
	info := sb.Info()
	w := g.stdout
	fmt.Fprintf(w, "GHL sandbox running at %s with %d locations, %d orders each, %.0f live changes per second.\n\n",
		info.BaseURL, c.Locations, c.Orders, c.Activity)
	for _, l := range info.Locations {
		fmt.Fprintf(w, "  location %s (%s)\n    token %s\n", l.ID, l.Name, l.Token)
	}
	l := info.Locations[0]
	fmt.Fprintf(w, "\nTry:\n  curl -s -H 'Authorization: Bearer %s' -H 'Version: 2021-07-28' '%s/payments/orders?altId=%s&limit=5'\n",
		l.Token, info.BaseURL, l.ID)
	fmt.Fprintf(w, "  curl -s %s%s/stats\n  curl -s '%s%s/truth?locationId=%s' | head -c 2000\n\nPress Ctrl-C to stop.\n",
		info.BaseURL, sandbox.AdminPrefix, info.BaseURL, sandbox.AdminPrefix, l.ID)
	start := time.Now()
	err = sb.Serve(ctx, ln)
	g.Logger().Info("demo stopped", "ran", time.Since(start).Round(time.Second))
	return err
}
