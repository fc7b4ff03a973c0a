package cli

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/syncer"
)

// ServeCmd runs the connector.
type ServeCmd struct {
	Addr         string        `help:"Where to serve the API, the dashboard and GHL's webhooks (loopback unless you mean it; empty: no HTTP)." default:"127.0.0.1:8080" env:"RANKR_ADDR"`
	MetricsAddr  string        `help:"Also serve /metrics here without a key, for a scraper (loopback unless you mean it; empty: only on --addr, behind a key)." placeholder:"HOST:PORT" env:"RANKR_METRICS_ADDR"`
	PollInterval time.Duration `help:"How often each location is polled." default:"30s" env:"RANKR_POLL_INTERVAL"`
	PollWindow   time.Duration `help:"How far back each poll re-reads for changes." default:"72h" env:"RANKR_POLL_WINDOW"`
	WalkInterval time.Duration `help:"How often each location is walked in full, to heal gaps and find deletions." default:"6h" env:"RANKR_WALK_INTERVAL"`
	Workers      int           `help:"Sync jobs running at once in this process." default:"8" env:"RANKR_WORKERS"`
	ID           string        `help:"A name for this process among those sharing a PostgreSQL database." env:"RANKR_INSTANCE_ID"`
	InboxKeep    time.Duration `help:"How long processed webhooks stay in the inbox (to look into, and to know redeliveries); 0 keeps them forever." name:"inbox-retention" default:"168h" env:"RANKR_INBOX_RETENTION"`
	DeliveryKeep time.Duration `help:"How long outbound deliveries that ended (delivered, or dead) are kept, to look into and to replay; 0 keeps them forever." name:"delivery-retention" default:"720h" env:"RANKR_DELIVERY_RETENTION"`
	RunKeep      time.Duration `help:"How long automation runs that ended are kept, with their steps; 0 keeps them forever." name:"run-retention" default:"720h" env:"RANKR_RUN_RETENTION"`

	Reconcile ReconcileFlags `embed:""`

	WebhookKeys      []string      `help:"Ed25519 public keys (SPKI, base64 or PEM) that webhooks may be signed with; repeat during a rotation. Default: GHL's published key." name:"webhook-key" env:"RANKR_WEBHOOK_KEYS"`
	WebhookMaxAge    time.Duration `help:"Refuse webhooks whose timestamp is further than this from now (stale or replayed)." default:"5m" env:"RANKR_WEBHOOK_MAX_AGE"`
	WebhookLegacyRSA string        `help:"PEM file of GHL's legacy RSA key: accept the deprecated x-wh-signature too." name:"webhook-legacy-rsa-key" type:"path" env:"RANKR_WEBHOOK_LEGACY_RSA_KEY"`

	TrustedProxy   []string      `help:"Reverse proxies (CIDRs) whose X-Forwarded-For is believed, read from the right; none by default (the socket's peer is the client)." name:"trusted-proxy" placeholder:"CIDR" env:"RANKR_TRUSTED_PROXIES"`
	KeyRate        float64       `help:"Requests per second each API key may make (then 429)." default:"50" env:"RANKR_KEY_RATE"`
	SecureCookies  bool          `help:"Mark the dashboard's session cookie Secure (set it when users reach rankr over HTTPS through a proxy)." env:"RANKR_SECURE_COOKIES"`
	AuditRetention time.Duration `help:"How long audit records are kept (0: for ever; at least 2160h, 90 days)." default:"8760h" env:"RANKR_AUDIT_RETENTION"`

	MarketplaceSecret string   `help:"Serve GHL's marketplace workflow triggers and custom actions (POST /ghl/triggers/subscription, /ghl/actions/KEY), which must send this in X-Rankr-Secret (a static header of the marketplace app); empty: off." env:"RANKR_MARKETPLACE_SECRET"`
	MarketplaceTarget []string `help:"Trigger target URL prefixes accepted besides GHL's own (https://services.leadconnectorhq.com/workflows-marketplace/triggers/execute/), such as a sandbox's." name:"marketplace-target-prefix" placeholder:"URL" env:"RANKR_MARKETPLACE_TARGET_PREFIXES"`

	MailFlags
	PushFlags
	AlertEmails []string           `help:"Mail these addresses about each new reconciliation exception, once (needs --smtp-url and --mail-from). Alerts by webhook: rankr webhooks add URL --events 'reconcile.*'." name:"alert-email" env:"RANKR_ALERT_EMAILS"`
	Outbound    OutboundServeFlags `embed:""`
	DataFlags
}

func (c *ServeCmd) config() (daemon.Config, error) {
	wh, err := webhookConfig(c.WebhookKeys, c.WebhookLegacyRSA, c.WebhookMaxAge)
	if err != nil {
		return daemon.Config{}, err
	}
	if keep := c.InboxKeep; keep != 0 && keep < time.Hour {
		// GHL retries a webhook it got 429 for over a while; pruning sooner
		// would forget webhooks it may still deliver again.
		return daemon.Config{}, fmt.Errorf("--inbox-retention %s is too short: keep processed webhooks an hour at least (0 keeps them forever)", keep)
	}
	if c.DeliveryKeep < 0 {
		return daemon.Config{}, fmt.Errorf("--delivery-retention %s: want a length of time (0 keeps them forever)", c.DeliveryKeep)
	}
	if c.RunKeep < 0 {
		return daemon.Config{}, fmt.Errorf("--run-retention %s: want a length of time (0 keeps them forever)", c.RunKeep)
	}
	lease, err := c.lease()
	if err != nil {
		return daemon.Config{}, err
	}
	if c.AuditRetention != 0 && c.AuditRetention < access.MinRetention {
		return daemon.Config{}, fmt.Errorf("--audit-retention %s is too short: keep audit records 90 days (2160h) at least", c.AuditRetention)
	}
	if _, err := access.NewClientIP(c.TrustedProxy); err != nil {
		return daemon.Config{}, fmt.Errorf("--trusted-proxy: %w", err)
	}
	if c.KeyRate <= 0 {
		return daemon.Config{}, fmt.Errorf("--key-rate must be above 0")
	}
	return daemon.Config{
		PushLease:   lease,
		Addr:        c.Addr,
		MetricsAddr: c.MetricsAddr,
		Webhook:     wh,
		Sync:        syncer.Options{PollWindow: c.PollWindow, Slice: 30 * time.Second},
		Jobs: jobs.Config{PollInterval: c.PollInterval, WalkInterval: c.WalkInterval, Workers: c.Workers, ID: c.ID,
			InboxRetention: forever(c.InboxKeep), DeliveryRetention: forever(c.DeliveryKeep), RunRetention: forever(c.RunKeep)},
		Reconcile:   c.Reconcile.policy(),
		Mail:        c.MailFlags.config(),
		AlertEmails: c.AlertEmails,
		Access: daemon.AccessConfig{TrustedProxies: c.TrustedProxy, KeyRate: c.KeyRate, SecureCookies: c.SecureCookies,
			AuditRetention: c.AuditRetention},
		Marketplace: daemon.MarketplaceConfig{Secret: c.MarketplaceSecret, TargetPrefixes: c.MarketplaceTarget},
	}, nil
}

// webhookConfig reads the webhook keys.
func webhookConfig(keys []string, legacyRSA string, maxAge time.Duration) (intake.Config, error) {
	cfg := intake.Config{MaxAge: maxAge}
	for _, k := range keys {
		key, err := ghl.ParseWebhookKey(k)
		if err != nil {
			return cfg, fmt.Errorf("--webhook-key: %w", err)
		}
		cfg.Keys = append(cfg.Keys, key)
	}
	if legacyRSA != "" {
		b, err := os.ReadFile(legacyRSA)
		if err != nil {
			return cfg, fmt.Errorf("--webhook-legacy-rsa-key: %w", err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			return cfg, fmt.Errorf("--webhook-legacy-rsa-key: %s holds no PEM block", legacyRSA)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		rsaKey, ok := pub.(*rsa.PublicKey)
		if err != nil || !ok {
			return cfg, fmt.Errorf("--webhook-legacy-rsa-key: %s is not an RSA public key", legacyRSA)
		}
		cfg.LegacyRSAKeys = []*rsa.PublicKey{rsaKey}
	}
	return cfg, nil
}

// Run serves until interrupted.
func (c *ServeCmd) Run(ctx context.Context, g *Globals) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if cfg.Outbound, err = c.Outbound.config(); err != nil {
		return err
	}
	d, err := g.open(ctx, true, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	g.Logger().Info("rankr serving", "db", d.Kind(), "addr", c.Addr, "pollInterval", c.PollInterval, "walkInterval", c.WalkInterval)
	logMail(ctx, g.Logger(), d, c.SMTPURL)
	return d.Run(ctx)
}

// StatusCmd shows every connection.
type StatusCmd struct {
	JSON bool `help:"Print JSON." name:"json"`
	DataFlags
}

// Run prints the status.
func (c *StatusCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	st, err := d.App.Connections(ctx, host())
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, st)
	}
	if len(st) == 0 {
		fmt.Fprintln(g.stdout, "no connections: add one with `rankr connect`")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tSTATE\tORDERS\tFULFILLMENTS\tPAYMENTS\tSUBSCRIPTIONS\tINVOICES\tBACKFILL\tLAST SYNC\tLAST ERROR")
	for _, s := range st {
		backfill := "done"
		if !s.Sync.BackfillDone {
			backfill = "at " + dash(s.Sync.BackfillPhase)
		}
		errMsg := s.Connection.LastError
		if s.Connection.StateMessage != "" {
			errMsg = s.Connection.StateMessage
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Connection.LocationID, s.Connection.State, s.Counts.Orders,
			s.Counts.Fulfillments, s.Counts.Transactions, s.Counts.Subscriptions, s.Counts.Invoices, backfill,
			when(s.Connection.LastSyncAt), dash(errMsg))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printNotices(g.stdout, st)
	return nil
}

// forever turns a retention flag's 0 ("keep them forever") into
// jobs.Config's negative.
func forever(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
