package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"github.com/rankr/rankr/internal/app"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/syncer"
)

// DemoCmd runs a seeded GHL sandbox and the connector side by side on
// SQLite in a temporary data directory, with the dashboard. It needs no
// account and no configuration.
type DemoCmd struct {
	Addr        string  `help:"Where to serve the dashboard and the API." default:"127.0.0.1:8080" env:"RANKR_DEMO_ADDR"`
	SandboxAddr string  `help:"Where the GHL sandbox listens." default:"127.0.0.1:0" env:"RANKR_DEMO_SANDBOX_ADDR"`
	Seed        int64   `help:"Seed for the sandbox's data." default:"1" env:"RANKR_DEMO_SEED"`
	Locations   int     `help:"Locations to seed." default:"3" env:"RANKR_DEMO_LOCATIONS"`
	Orders      int     `help:"Orders per location." default:"500" env:"RANKR_DEMO_ORDERS"`
	Activity    float64 `help:"Live changes per second in the sandbox." default:"4" env:"RANKR_DEMO_ACTIVITY"`
	RateBurst   int     `help:"The sandbox's per-location rate limit per 10 s (GHL grants 100; the demo's default lets the backfill finish in seconds)." default:"1000" env:"RANKR_DEMO_RATE_BURST"`
	Keep        bool    `help:"Keep the temporary data directory at exit." env:"RANKR_DEMO_KEEP"`
	// Outbound webhooks to try out (the browser test's dead delivery).
	WebhookAttempts      int  `help:"Attempts an outbound delivery gets before it is dead (0: the default, 8 over about 5 h)." env:"RANKR_DEMO_WEBHOOK_ATTEMPTS"`
	WebhookAllowLoopback bool `help:"Let outbound webhooks go to 127.0.0.1 (refused by default), to try them on this machine." env:"RANKR_DEMO_WEBHOOK_ALLOW_LOOPBACK"`
	// The demo always runs on SQLite in its data directory: it has no --db.
	DataDir       string `help:"Where the demo keeps its database and master key (default: a temporary directory)." env:"RANKR_DATA_DIR" type:"path"`
	MasterKeyFile string `help:"File holding the master key that seals the sandbox's tokens (default: DATA_DIR/master.key, made for the demo). RANKR_MASTER_KEY, base64 of 32 random bytes, takes precedence." env:"RANKR_MASTER_KEY_FILE" type:"path"`
}

// Run runs the demo until interrupted.
func (c *DemoCmd) Run(ctx context.Context, g *Globals) error {
	dir := c.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "rankr-demo-")
		if err != nil {
			return err
		}
		dir = tmp
		if !c.Keep {
			defer os.RemoveAll(dir)
		}
	}
	g.data = &DataFlags{DataDir: dir, DB: "sqlite:" + filepath.Join(dir, "rankr.db"), MasterKeyFile: c.MasterKeyFile}
	if c.MasterKeyFile == "" && os.Getenv("RANKR_MASTER_KEY") == "" {
		g.data.MasterKeyFile = filepath.Join(dir, "master.key") // a fresh key for the demo; open says so
	}
	log := g.Logger()

	sb, ln, err := startSandbox(sandbox.Config{Seed: c.Seed, Locations: c.Locations, Orders: c.Orders,
		ActivityPerSecond: c.Activity, RateLimit: sandbox.RateLimit{Burst: c.RateBurst}, Logger: log}, c.SandboxAddr)
	if err != nil {
		return err
	}
	defer sb.Close()
	sbCtx, stopSandbox := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSandbox()
	go func() {
		if err := sb.Serve(sbCtx, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("sandbox", "error", err)
		}
	}()

	pageLn, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("the dashboard cannot listen on %s (is a demo running already? use --addr): %w", c.Addr, err)
	}
	sbKey, err := ghl.ParseWebhookKey(sb.WebhookPublicKey())
	if err != nil {
		return err
	}
	var allow []netip.Prefix
	if c.WebhookAllowLoopback {
		allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}
	d, err := g.open(ctx, true, daemon.Config{
		Listener: pageLn,
		// Webhooks signed by the sandbox's key, not GHL's.
		Webhook: intake.Config{Keys: []ed25519.PublicKey{sbKey}},
		// The sandbox changes orders from months ago, as shops do: poll far
		// back so that every change shows (GHL's webhooks will make this
		// cheap).
		Sync:     syncer.Options{PollWindow: 400 * 24 * time.Hour, Slice: 5 * time.Second},
		Jobs:     jobs.Config{PollInterval: 5 * time.Second, WalkInterval: 10 * time.Minute},
		Outbound: outbound.Config{MaxAttempts: c.WebhookAttempts, Allow: allow},
	})
	if err != nil {
		return err
	}
	defer d.Close()
	info := sb.Info()
	sb.SetWebhookURL("http://" + pageLn.Addr().String() + daemon.WebhookPath)
	for _, l := range info.Locations {
		if _, err := d.Connect(ctx, l.ID, l.Name, info.BaseURL, l.Token); err != nil {
			return err
		}
	}

	// An automation, so that the dashboard's automations and runs move as
	// the sandbox sells: each paid order read back and announced to the
	// outbound endpoints (none until one is added).
	if _, err := d.App.AutomationApply(ctx, host(), app.AutomationFile{Name: "demo-paid-orders.yaml", Source: []byte(demoAutomation)}, false,
		"the demo's"); err != nil {
		return err
	}

	// The page needs a key like any other: the demo makes a test key for a
	// day and hands it over in a sign-in link, after the # (which browsers
	// never send to a server).
	acc, err := d.OpenAccess(ctx)
	if err != nil {
		return err
	}
	demoKey, err := acc.Keys.Create(ctx, access.Host("demo"), access.KeyRequest{Name: "demo", Role: "owner",
		ExpiresIn: 24 * time.Hour, Test: true})
	if err != nil {
		return err
	}
	w := g.stdout
	fmt.Fprintf(w, "rankr demo\n\n  dashboard     http://%s/#key=%s\n  API           http://%s/api/v1 (its OpenAPI document: /api/v1/openapi.json; send the key as Authorization: Bearer)\n  webhooks      the sandbox sends its signed webhooks to http://%s%s\n  GHL sandbox   %s  (%d locations, %d orders each, %.0f changes/s; admin API at %s%s)\n  data          %s (SQLite)\n  automations   demo-paid-orders runs for each paid order (the dashboard's Runs; templates/ has the standard flows)\n\n",
		pageLn.Addr(), demoKey.Token, pageLn.Addr(), pageLn.Addr(), daemon.WebhookPath, info.BaseURL, c.Locations, c.Orders, c.Activity, info.BaseURL, sandbox.AdminPrefix, dir)
	if c.RateBurst != 100 {
		fmt.Fprintf(w, "  The sandbox allows %d requests per location per 10 s (GHL: 100) so that the backfill takes seconds.\n\n", c.RateBurst)
	}

	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()
	locs := make([]string, len(info.Locations))
	for i, l := range info.Locations {
		locs[i] = l.ID
	}
	start := time.Now()
	stop := watchProgress(w, d.Syncer, locs)
	backfilled := waitBackfills(ctx, d, locs, runErr)
	stop()
	if backfilled {
		fmt.Fprintf(w, "\nBackfilled %d locations in %s. Now taking webhooks and polling every 5 s while the sandbox keeps selling; watch http://%s\nPress Ctrl-C to stop.\n",
			len(locs), time.Since(start).Round(100*time.Millisecond), pageLn.Addr())
	}
	err = <-runErr
	stopSandbox()
	if c.Keep {
		fmt.Fprintf(w, "kept %s\n", dir)
	}
	return err
}

// waitBackfills waits until every location is backfilled, or the daemon
// stops.
func waitBackfills(ctx context.Context, d *daemon.Daemon, locs []string, runErr chan error) bool {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case err := <-runErr:
			runErr <- err // for the caller
			return false
		case <-t.C:
			all := true
			for _, loc := range locs {
				if done, err := d.Syncer.BackfillDone(ctx, loc); err != nil || !done {
					all = false
				}
			}
			if all {
				return true
			}
		}
	}
}

// demoAutomation runs for each paid order of the demo.
const demoAutomation = `apiVersion: rankr.dev/v1
kind: Automation
id: demo-paid-orders
description: Each paid order, read back and announced to the outbound endpoints
trigger:
  key: derived.order.paid@1
steps:
  - id: order
    action: rankr.order.get@1
    with:
      orderId: "${{ trigger.order.id }}"
  - id: announce
    action: rankr.webhook.send@1
    with:
      type: order.paid
      data:
        orderId: "${{ trigger.order.id }}"
        amount: "${{ trigger.order.amount }}"
        currency: "${{ trigger.order.currency }}"
        items: "${{ len(steps.order.output.items ?? []) }}"
`
