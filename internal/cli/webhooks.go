package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
)

// OutboundFlags configure outbound webhooks (what rankr sends to
// subscribers), in serve and where endpoints are added.
type OutboundFlags struct {
	WebhookAllow []string `help:"Outbound webhooks: also allow these loopback or private ranges (CIDR or address; repeatable, or comma-separated in the environment). Link-local and cloud metadata addresses are never allowed." name:"webhook-allow" placeholder:"CIDR" env:"RANKR_WEBHOOK_ALLOW"`
}

func (f OutboundFlags) config() (outbound.Config, error) {
	allow, err := outbound.ParseAllow(f.WebhookAllow)
	if err != nil {
		return outbound.Config{}, fmt.Errorf("--webhook-allow: %w", err)
	}
	return outbound.Config{Allow: allow}, nil
}

// OutboundServeFlags are the outbound webhook settings of serve.
type OutboundServeFlags struct {
	OutboundFlags
	WebhookTimeout     time.Duration   `help:"Outbound webhooks: how long an attempt may take, from connecting to the answer." default:"10s" env:"RANKR_WEBHOOK_TIMEOUT"`
	WebhookMaxAttempts int             `help:"Outbound webhooks: attempts before a delivery is dead (replay it with rankr webhooks replay)." default:"8" env:"RANKR_WEBHOOK_MAX_ATTEMPTS"`
	WebhookBackoff     []time.Duration `help:"Outbound webhooks: the wait after each failed attempt (jittered ±20%); the last repeats." default:"5s,30s,2m,10m,30m,1h,3h,6h" env:"RANKR_WEBHOOK_BACKOFF"`
}

func (f OutboundServeFlags) config() (outbound.Config, error) {
	cfg, err := f.OutboundFlags.config()
	if err != nil {
		return cfg, err
	}
	if f.WebhookMaxAttempts < 1 {
		return cfg, errors.New("--webhook-max-attempts: at least 1")
	}
	for _, b := range f.WebhookBackoff {
		if b <= 0 {
			return cfg, fmt.Errorf("--webhook-backoff: %s is not a wait", b)
		}
	}
	cfg.AttemptTimeout, cfg.MaxAttempts, cfg.Backoff = f.WebhookTimeout, f.WebhookMaxAttempts, f.WebhookBackoff
	return cfg, nil
}

// WebhooksCmd manages the webhooks rankr sends to subscribers.
type WebhooksCmd struct {
	Add        WebhooksAddCmd        `cmd:"" help:"Add an endpoint; prints its signing secret, once."`
	List       WebhooksListCmd       `cmd:"" help:"List endpoints."`
	Disable    WebhooksDisableCmd    `cmd:"" help:"Stop sending to an endpoint: nothing that happens meanwhile is sent to it; queued deliveries wait."`
	Enable     WebhooksEnableCmd     `cmd:"" help:"Send to a disabled endpoint again."`
	Remove     WebhooksRemoveCmd     `cmd:"" help:"Remove an endpoint for good (its deliveries stay, for the record)."`
	Rotate     WebhooksRotateCmd     `cmd:"" name:"rotate-secret" help:"Give an endpoint a new signing secret; prints it, once. Both secrets sign every delivery during the grace."`
	Deliveries WebhooksDeliveriesCmd `cmd:"" help:"List deliveries, newest first."`
	Replay     WebhooksReplayCmd     `cmd:"" help:"Send delivered or dead deliveries again, with the same webhook-id and body."`
	DataFlags
}

// WebhooksAddCmd adds an endpoint.
type WebhooksAddCmd struct {
	URL         string   `arg:"" help:"Where to POST: an http(s) URL."`
	Events      []string `help:"Event kinds to send, as patterns (order.*, fulfillment.created, *.deleted, *)." default:"order.*,fulfillment.*"`
	Location    string   `help:"Only this location's events (default: every location)." env:"RANKR_LOCATION"`
	Description string   `help:"A note on what the endpoint is for."`
	JSON        bool     `help:"Print JSON (the endpoint and its secret)." name:"json"`
	OutboundFlags
}

// Run adds the endpoint.
func (c *WebhooksAddCmd) Run(ctx context.Context, g *Globals) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	d, err := openWebhooks(ctx, g, true, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	e, secret, err := d.App.AddEndpoint(ctx, host(), app.EndpointRequest{URL: c.URL, Events: c.Events, LocationID: c.Location,
		Description: c.Description})
	if err != nil {
		return err
	}
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, struct {
			Endpoint rankr.WebhookEndpoint `json:"endpoint"`
			Secret   string                `json:"secret"`
		}{e, secret})
	}
	fmt.Fprintf(g.stdout, "added webhook endpoint %s: %s\n", e.ID, e.URL)
	fmt.Fprintf(g.stdout, "events: %s; location: %s\n", strings.Join(e.Events, ", "), orAll(e.LocationID))
	fmt.Fprintf(g.stdout, "signing secret (shown this once; give it to the receiver to verify webhook-signature):\n%s\n", secret)
	return nil
}

// openWebhooks opens the database and the vault for commands that make
// signing secrets, with what audits them: the hasher their records name
// secrets by, and the signing key that covers the change with a
// checkpoint.
func openWebhooks(ctx context.Context, g *Globals, createKey bool, cfg outbound.Config) (*daemon.Daemon, error) {
	d, err := g.open(ctx, createKey, daemon.Config{Outbound: cfg})
	if err != nil {
		return nil, err
	}
	a, err := d.OpenAccess(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.Webhooks.HashSecretsWith(a.Hasher.Secret)
	return d, nil
}

// hostAuditActor is hostActor as audit records name it.
func hostAuditActor() rankr.AuditActor { return host().Actor }

func orAll(loc string) string {
	if loc == "" {
		return "all"
	}
	return loc
}

// WebhooksListCmd lists endpoints.
type WebhooksListCmd struct {
	All  bool `help:"Include removed endpoints."`
	JSON bool `help:"Print a JSON array." name:"json"`
}

// Run lists.
func (c *WebhooksListCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	list, err := d.App.Endpoints(ctx, host(), c.All)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(g.stdout, "no webhook endpoints: add one with `rankr webhooks add URL`")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tLOCATION\tSTATE\tADDED")
	for _, e := range list {
		state := "enabled"
		switch {
		case !e.RemovedAt.IsZero():
			state = "removed"
		case !e.Enabled:
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.URL, strings.Join(e.Events, ","), orAll(e.LocationID), state, when(e.CreatedAt))
	}
	return tw.Flush()
}

// WebhooksEnableCmd enables an endpoint.
type WebhooksEnableCmd struct {
	ID string `arg:"" help:"The endpoint (ep_…)."`
}

// Run enables.
func (c *WebhooksEnableCmd) Run(ctx context.Context, g *Globals) error {
	return setEnabled(ctx, g, c.ID, true)
}

// WebhooksDisableCmd disables an endpoint.
type WebhooksDisableCmd struct {
	ID string `arg:"" help:"The endpoint (ep_…)."`
}

// Run disables.
func (c *WebhooksDisableCmd) Run(ctx context.Context, g *Globals) error {
	return setEnabled(ctx, g, c.ID, false)
}

func setEnabled(ctx context.Context, g *Globals, id string, enabled bool) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	e, err := d.App.SetEndpointEnabled(ctx, host(), id, enabled)
	if err != nil {
		return err
	}
	if enabled {
		fmt.Fprintf(g.stdout, "endpoint %s enabled: it gets what happens from now on\n", e.ID)
	} else {
		fmt.Fprintf(g.stdout, "endpoint %s disabled\n", e.ID)
	}
	return nil
}

// WebhooksRemoveCmd removes an endpoint.
type WebhooksRemoveCmd struct {
	ID string `arg:"" help:"The endpoint (ep_…)."`
}

// Run removes.
func (c *WebhooksRemoveCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	e, err := d.App.RemoveEndpoint(ctx, host(), c.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "endpoint %s removed\n", e.ID)
	return nil
}

// WebhooksRotateCmd rotates an endpoint's signing secret.
type WebhooksRotateCmd struct {
	ID    string        `arg:"" help:"The endpoint (ep_…)."`
	Grace time.Duration `help:"How long the old secret keeps signing beside the new one (at most 168h; 0: stop at once)." default:"24h"`
	JSON  bool          `help:"Print JSON (the endpoint and its new secret)." name:"json"`
}

// Run rotates.
func (c *WebhooksRotateCmd) Run(ctx context.Context, g *Globals) error {
	if c.Grace < 0 || c.Grace > outbound.MaxGrace {
		return fmt.Errorf("--grace: 0 to 168h, not %s", c.Grace)
	}
	d, err := openWebhooks(ctx, g, false, outbound.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	e, secret, err := d.App.RotateEndpointSecret(ctx, host(), c.ID, c.Grace)
	if err != nil {
		return err
	}
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, struct {
			Endpoint rankr.WebhookEndpoint `json:"endpoint"`
			Secret   string                `json:"secret"`
		}{e, secret})
	}
	if e.PreviousUntil.IsZero() {
		fmt.Fprintf(g.stdout, "rotated the signing secret of %s: only the new one signs, from now on\n", e.ID)
	} else {
		fmt.Fprintf(g.stdout, "rotated the signing secret of %s: both secrets sign every delivery until %s, then only the new one\n",
			e.ID, e.PreviousUntil.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	fmt.Fprintf(g.stdout, "new signing secret (shown this once; give it to the receiver to verify webhook-signature):\n%s\n", secret)
	return nil
}

// WebhooksDeliveriesCmd lists deliveries.
type WebhooksDeliveriesCmd struct {
	State    string `help:"Only deliveries in this state." enum:",pending,sending,delivered,dead" default:""`
	Endpoint string `help:"Only this endpoint's."`
	Location string `help:"Only this location's." env:"RANKR_LOCATION"`
	Limit    int    `help:"At most this many." default:"50"`
	Offset   int    `help:"Skip this many first."`
	JSON     bool   `help:"Print a JSON array." name:"json"`
}

// Run lists.
func (c *WebhooksDeliveriesCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	page, err := d.App.Deliveries(ctx, host(), app.DeliveryQuery{Endpoint: c.Endpoint, State: c.State, Location: c.Location,
		Limit: pageLimit(c.Limit), Cursor: app.OffsetCursor(c.Offset)})
	if err != nil {
		return err
	}
	list := page.Items
	if c.JSON {
		return writeJSON(g.stdout, list)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tENDPOINT\tEVENT\tSTATE\tATTEMPTS\tSTATUS\tNEXT / DELIVERED\tLAST ERROR")
	for _, x := range list {
		status, at := "-", "-"
		if x.LastStatus != 0 {
			status = fmt.Sprint(x.LastStatus)
		}
		switch x.State {
		case rankr.DeliveryDelivered:
			at = when(x.DeliveredAt)
		case rankr.DeliveryPending:
			at = when(x.NextAttemptAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s #%d\t%s\t%d\t%s\t%s\t%s\n", x.ID, x.EndpointID, x.Kind, x.EventSeq, x.State, x.Attempts,
			status, at, dash(truncate(x.LastError, 80)))
	}
	return tw.Flush()
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// WebhooksReplayCmd queues deliveries again.
type WebhooksReplayCmd struct {
	Delivery []string `help:"These deliveries (msg_…; repeatable)."`
	Dead     bool     `help:"Only dead deliveries (default: dead and delivered)."`
	Endpoint string   `help:"Only this endpoint's deliveries."`
	Since    string   `help:"Only deliveries queued since then: a duration back from now (2h) or a time (2026-03-01, 2026-03-01T12:00:00Z)."`
}

// Run replays.
func (c *WebhooksReplayCmd) Run(ctx context.Context, g *Globals) error {
	if len(c.Delivery) == 0 && !c.Dead && c.Endpoint == "" && c.Since == "" {
		return errors.New("say what to replay: --delivery ID, --dead, --endpoint ID and/or --since")
	}
	since, err := parseSince(c.Since, time.Now())
	if err != nil {
		return err
	}
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	res, err := d.App.Replay(ctx, host(), app.ReplayRequest{IDs: c.Delivery, Endpoint: c.Endpoint, DeadOnly: c.Dead, Since: since})
	if err != nil {
		return err
	}
	n := res.Replayed
	if n == 0 {
		fmt.Fprintln(g.stdout, "nothing to replay: no delivered or dead delivery matches")
		return nil
	}
	fmt.Fprintf(g.stdout, "replaying %d deliveries, with their webhook-id and body: `rankr serve` sends them now\n", n)
	return nil
}
