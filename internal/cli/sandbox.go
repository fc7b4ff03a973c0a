package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
)

// SandboxCmd runs the GHL sandbox.
type SandboxCmd struct {
	Addr       string  `help:"Address to listen on (loopback unless you mean it)." default:"127.0.0.1:8090" env:"RANKR_SANDBOX_ADDR"`
	Seed       int64   `help:"Seed for the generated data, ids, tokens and webhook key." default:"1" env:"RANKR_SANDBOX_SEED"`
	Locations  int     `help:"Number of locations (sub-accounts) to seed." default:"3" env:"RANKR_SANDBOX_LOCATIONS"`
	Orders     int     `help:"Orders to generate per location." default:"1000" env:"RANKR_SANDBOX_ORDERS"`
	Token      string  `help:"A token valid for every seeded location with every scope (each location also has its own)." env:"RANKR_SANDBOX_TOKEN"`
	WebhookURL string  `help:"Where to POST signed webhooks." name:"webhook-url" env:"RANKR_SANDBOX_WEBHOOK_URL"`
	Activity   float64 `help:"Live changes per second (0 holds the data still)." default:"0" env:"RANKR_SANDBOX_ACTIVITY"`

	RateBurst    int           `help:"Requests allowed per location per interval." default:"100" env:"RANKR_SANDBOX_RATE_BURST"`
	RateInterval time.Duration `help:"The burst interval." default:"10s" env:"RANKR_SANDBOX_RATE_INTERVAL"`
	RateDaily    int           `help:"Requests allowed per location per day." default:"200000" env:"RANKR_SANDBOX_RATE_DAILY"`
	MaxPageSize  int           `help:"Largest page a list returns." default:"100" env:"RANKR_SANDBOX_MAX_PAGE_SIZE"`
	ErrorStyle   string        `help:"Error bodies as the spec documents them (spec) or as GHL has been seen to send them (observed)." enum:"spec,observed" default:"spec" env:"RANKR_SANDBOX_ERROR_STYLE"`

	WebhookRetries       int           `help:"Redeliveries after a 429 answer." default:"6" env:"RANKR_SANDBOX_WEBHOOK_RETRIES"`
	WebhookRetryInterval time.Duration `help:"Wait between webhook redeliveries." default:"10m" env:"RANKR_SANDBOX_WEBHOOK_RETRY_INTERVAL"`

	Companies         int           `help:"Spread the locations over this many agencies (companies), for agency (bulk) OAuth installs; 0 gives each location its own." default:"0" env:"RANKR_SANDBOX_COMPANIES"`
	OAuthClientID     string        `help:"The OAuth app's client id (<appId>-<suffix>; default: made from the seed)." name:"oauth-client-id" env:"RANKR_SANDBOX_OAUTH_CLIENT_ID"`
	OAuthClientSecret []string      `help:"The OAuth app's client secrets, all valid at once (default: one made from the seed)." name:"oauth-client-secret" env:"RANKR_SANDBOX_OAUTH_CLIENT_SECRETS"`
	OAuthRedirectURI  []string      `help:"Redirect URIs the app allows (default: any loopback URL)." name:"oauth-redirect-uri" env:"RANKR_SANDBOX_OAUTH_REDIRECT_URIS"`
	OAuthAccessTTL    time.Duration `help:"How long OAuth access tokens last (GHL: about a day)." name:"oauth-access-ttl" default:"86399s" env:"RANKR_SANDBOX_OAUTH_ACCESS_TTL"`
}

// config turns the flags into a sandbox configuration.
func (c *SandboxCmd) config(g *Globals) sandbox.Config {
	return sandbox.Config{
		Seed: c.Seed, Locations: c.Locations, Orders: c.Orders, Token: c.Token,
		WebhookURL: c.WebhookURL, ActivityPerSecond: c.Activity,
		RateLimit:    sandbox.RateLimit{Burst: c.RateBurst, Interval: c.RateInterval, Daily: c.RateDaily},
		MaxPageSize:  c.MaxPageSize,
		ErrorStyle:   sandbox.ErrorStyle(c.ErrorStyle),
		WebhookRetry: sandbox.RetrySchedule{Retries: c.WebhookRetries, Interval: c.WebhookRetryInterval},
		Companies:    c.Companies,
		OAuth: sandbox.OAuthApp{ClientID: c.OAuthClientID, ClientSecrets: c.OAuthClientSecret, RedirectURIs: c.OAuthRedirectURI,
			AccessTTL: c.OAuthAccessTTL},
		Logger: g.Logger(),
	}
}

// Run starts the sandbox, prints one JSON line describing it to stdout and
// serves until interrupted. Logs go to stderr.
func (c *SandboxCmd) Run(ctx context.Context, g *Globals) error {
	sb, ln, err := startSandbox(c.config(g), c.Addr)
	if err != nil {
		return err
	}
	defer sb.Close()
	line, err := json.Marshal(sb.Info())
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s\n", line)
	g.Logger().Info("sandbox listening", "baseUrl", sb.Info().BaseURL, "locations", c.Locations,
		"ordersPerLocation", c.Orders, "activityPerSecond", c.Activity, "admin", sb.Info().BaseURL+sandbox.AdminPrefix,
		"oauthClientId", sb.OAuthApp().ClientID, "authorizeUrl", sb.Info().BaseURL+"/v2/oauth/chooselocation")
	return sb.Serve(ctx, ln)
}

// startSandbox builds a sandbox and binds its listener.
func startSandbox(cfg sandbox.Config, addr string) (*sandbox.Server, net.Listener, error) {
	sb, err := sandbox.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		sb.Close()
		return nil, nil, fmt.Errorf("listening on %s: %w (is another sandbox running? pick another --addr)", addr, err)
	}
	sb.SetBaseURL("http://" + ln.Addr().String())
	return sb, ln, nil
}
