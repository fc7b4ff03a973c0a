package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// OAuthCmd connects locations through the GHL marketplace app's OAuth.
type OAuthCmd struct {
	Configure    OAuthConfigureCmd    `cmd:"" help:"Save the marketplace app's client id and secret (sealed) and where installs come back to."`
	Link         OAuthLinkCmd         `cmd:"" help:"Make a one-time install link (valid a day) that connects what the user installs the app on."`
	Pending      OAuthPendingCmd      `cmd:"" help:"List installs started in the GHL Marketplace, waiting for a claim."`
	Claim        OAuthClaimCmd        `cmd:"" help:"Connect a pending install."`
	Installs     OAuthInstallsCmd     `cmd:"" help:"List the OAuth installs (agencies and locations), their state and expiry; never their tokens."`
	Clients      OAuthClientsCmd      `cmd:"" help:"List the app's client secrets and how many tokens still refresh with each."`
	RetireSecret OAuthRetireSecretCmd `cmd:"" name:"retire-secret" help:"Stop using an old client secret once no token needs it."`
	DataFlags
}

// openOAuth opens the daemon with the vault and the audit log.
func openOAuth(ctx context.Context, g *Globals) (*daemon.Daemon, error) {
	return openKeys(ctx, g)
}

// OAuthConfigureCmd saves the app.
type OAuthConfigureCmd struct {
	ClientID      string `help:"The app's client id, as the marketplace shows it (<appId>-<suffix>)." required:"" env:"RANKR_OAUTH_CLIENT_ID"`
	ClientSecret  string `help:"The app's client secret (better from the environment than a flag). A new one is added, and used from then on; the old one stays until no token needs it." env:"RANKR_OAUTH_CLIENT_SECRET"`
	RedirectURL   string `help:"rankr serve's callback as the app lists it: https://HOST/oauth/ghl/callback." required:"" env:"RANKR_OAUTH_REDIRECT_URL"`
	AuthorizeHost string `help:"Where installs start: GHL's marketplace, its white-label host (https://marketplace.leadconnectorhq.com), or a sandbox." default:"https://marketplace.gohighlevel.com" env:"RANKR_OAUTH_AUTHORIZE_HOST"`
	BaseURL       string `help:"GHL's API (or a sandbox)." default:"https://services.leadconnectorhq.com" env:"RANKR_GHL_BASE_URL"`
	Push          bool   `help:"Ask for payments/orders.write too, which fulfillment pushes need." env:"RANKR_OAUTH_PUSH"`
}

// Run saves the app.
func (c *OAuthConfigureCmd) Run(ctx context.Context, g *Globals) error {
	d, err := openOAuth(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	app := rankr.OAuthApp{ClientID: c.ClientID, RedirectURI: c.RedirectURL, AuthorizeHost: c.AuthorizeHost, BaseURL: c.BaseURL, Push: c.Push}
	if err := d.OAuth.Configure(ctx, hostActor(), app, c.ClientSecret, d.Access.Hasher); err != nil {
		return err
	}
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Saved the app %s. Installs come back to %s.\nMake an install link: rankr oauth link [--agency]\n", c.ClientID, c.RedirectURL)
	return nil
}

// OAuthLinkCmd makes an install link.
type OAuthLinkCmd struct {
	Agency bool `help:"An agency install: the agency's token, and one minted for each location it installs the app on."`
}

// Run prints the link.
func (c *OAuthLinkCmd) Run(ctx context.Context, g *Globals) error {
	d, err := openOAuth(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	link, err := d.OAuth.InstallLink(ctx, hostActor(), c.Agency)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s\n\nOpen it once, within a day, on the machine where you are signed in to GHL; rankr serve must be running at that address.\n", link)
	return nil
}

// OAuthPendingCmd lists pending installs.
type OAuthPendingCmd struct {
	JSON bool `help:"Print JSON." name:"json"`
}

// Run lists them.
func (c *OAuthPendingCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	toks, err := d.Store.OAuthTokenList(ctx, store.OAuthTokenListParams{State: rankr.TokenPending})
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, toks)
	}
	if len(toks) == 0 {
		fmt.Fprintln(g.stdout, "No pending installs.")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PENDING\tKIND\tCOMPANY\tLOCATION\tINSTALLED\tSCOPES")
	for _, t := range toks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", t.PendingID, t.Kind, dash(t.CompanyID), dash(t.LocationID), when(t.CreatedAt), len(t.Scopes))
	}
	tw.Flush()
	fmt.Fprintln(g.stdout, "\nConnect one: rankr oauth claim PENDING")
	return nil
}

// OAuthClaimCmd claims an install.
type OAuthClaimCmd struct {
	ID string `arg:"" help:"The pending install (pi_…)."`
}

// Run claims it.
func (c *OAuthClaimCmd) Run(ctx context.Context, g *Globals) error {
	d, err := openOAuth(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	got, err := d.OAuth.Claim(ctx, hostActor(), c.ID)
	if err != nil {
		return err
	}
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	switch {
	case got.Minting > 0:
		fmt.Fprintf(g.stdout, "Claimed %s: agency %s, %d location tokens minted.\n", c.ID, got.CompanyID, got.Minting)
	default:
		fmt.Fprintf(g.stdout, "Claimed %s: %d locations connected.\n", c.ID, len(got.Locations))
	}
	return nil
}

// OAuthInstallsCmd lists the installs.
type OAuthInstallsCmd struct {
	Company string `help:"Only this agency's."`
	JSON    bool   `help:"Print JSON." name:"json"`
}

// Run lists them.
func (c *OAuthInstallsCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	toks, err := d.Store.OAuthTokenList(ctx, store.OAuthTokenListParams{CompanyID: c.Company})
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, toks)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOKEN\tSTATE\tEXPIRES\tGENERATION\tFROM\tMESSAGE")
	for _, t := range toks {
		from := "install"
		if t.Derived {
			from = "agency " + t.CompanyID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", t.ID, t.State, when(t.ExpiresAt), t.Generation, from, dash(t.StateMessage))
	}
	return tw.Flush()
}

// OAuthClientsCmd lists client secrets.
type OAuthClientsCmd struct{}

// Run lists them with how many tokens use each.
func (c *OAuthClientsCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	secrets, err := d.Store.OAuthSecrets(ctx)
	if err != nil {
		return err
	}
	toks, err := d.Store.OAuthTokenList(ctx, store.OAuthTokenListParams{})
	if err != nil {
		return err
	}
	uses := map[string]int{}
	for _, t := range toks {
		uses[t.SecretID]++
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SECRET\tCLIENT\tADDED\tRETIRED\tTOKENS")
	for i, s := range secrets {
		note := ""
		if i == 0 {
			note = " (refreshes use it)"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%d\n", s.ID, note, s.ClientID, when(s.CreatedAt), when(s.RetiredAt), uses[s.ID])
	}
	return tw.Flush()
}

// OAuthRetireSecretCmd retires a client secret.
type OAuthRetireSecretCmd struct {
	ID string `arg:"" help:"The secret (cs_…)."`
}

// Run retires it.
func (c *OAuthRetireSecretCmd) Run(ctx context.Context, g *Globals) error {
	d, err := openOAuth(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	err = d.Store.OAuthSecretRetire(ctx, c.ID, time.Now(), rankr.AuditEntry{At: time.Now(),
		Actor:  hostAuditActor(),
		Action: "oauth.client_secret_retired", Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "oauth_client_secret", ID: c.ID}})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Retired %s.\n", c.ID)
	return checkpointNow(ctx, d)
}
