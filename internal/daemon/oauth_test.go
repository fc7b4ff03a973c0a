package daemon_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/testwait"
	"github.com/rankr/rankr/internal/vault"
)

// TestOAuthAgencyInstallThroughServe runs an agency install the way a user
// does, through rankr serve's own routes: the install link, GHL's
// chooselocation page (the sandbox's), the callback; the location tokens
// are minted by jobs, the locations sync, a location the agency adds later
// arrives by its INSTALL webhook, and the agency's UNINSTALL webhook
// suspends every one of them.
func TestOAuthAgencyInstallThroughServe(t *testing.T) {
	t.Parallel()
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb, sbURL := startSandbox(t, sandbox.Config{Seed: 71, Locations: 4, Orders: 30, Companies: 1})
			sbKey, _ := ghl.ParseWebhookKey(sb.WebhookPublicKey())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			master, _ := vault.ParseKey(vault.NewKey())
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			base := "http://" + ln.Addr().String()
			d, err := daemon.Open(ctx, daemon.Config{DB: db(t), MasterKey: master, Listener: ln,
				Webhook: intake.Config{Keys: []ed25519.PublicKey{sbKey}},
				Sync:    syncer.Options{PollWindow: 400 * 24 * time.Hour},
				Jobs:    jobs.Config{PollInterval: time.Second, WalkInterval: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			acc, err := d.OpenAccess(ctx)
			if err != nil {
				t.Fatal(err)
			}
			app := sb.OAuthApp()
			err = d.OAuth.Configure(ctx, access.Host("test"), rankr.OAuthApp{ClientID: app.ClientID, RedirectURI: base + "/oauth/ghl/callback",
				AuthorizeHost: sbURL, BaseURL: sbURL}, app.ClientSecrets[0], acc.Hasher)
			if err != nil {
				t.Fatal(err)
			}
			sb.SetWebhookURL(base + daemon.WebhookPath)
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()

			link, err := d.OAuth.InstallLink(ctx, access.Host("test"), true)
			if err != nil {
				t.Fatal(err)
			}
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			var resp *http.Response
			testwait.UntilWhy(t, 30*time.Second, "serve answering the install link", func() (bool, string) {
				resp, err = noFollow.Get(link)
				if err != nil {
					return false, err.Error()
				}
				return true, ""
			})
			// A GET (a link preview) spends nothing: it shows the button,
			// whose POST does.
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(page), `<form method="post">`) {
				t.Fatalf("the link's page: %d %s", resp.StatusCode, page)
			}
			lu, _ := url.Parse(link)
			resp, err = noFollow.PostForm(link, url.Values{"link": {lu.Query().Get("link")}})
			if err != nil {
				t.Fatal(err)
			}
			to, _ := url.Parse(resp.Header.Get("Location"))
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(to.String(), sbURL+"/v2/oauth/chooselocation") {
				t.Fatalf("the link answered %d to %s", resp.StatusCode, to)
			}
			locs := sb.Locations()
			company := locs[0].CompanyID
			consent, err := sb.Authorize(sandbox.AuthorizeRequest{ClientID: to.Query().Get("client_id"), RedirectURI: to.Query().Get("redirect_uri"),
				Scopes: strings.Fields(to.Query().Get("scope")), State: to.Query().Get("state"), CompanyID: company,
				Locations: []string{locs[0].ID, locs[1].ID, locs[2].ID}, Bulk: true})
			if err != nil {
				t.Fatal(err)
			}
			resp, err = http.Get(consent.Redirect)
			if err != nil {
				t.Fatal(err)
			}
			page, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(page), "tokens for its 3 locations") {
				t.Fatalf("the callback: %d %s", resp.StatusCode, page)
			}
			// The fourth location, added by the agency later: its INSTALL
			// webhook.
			if err := sb.AddInstalledLocation(company, locs[3].ID); err != nil {
				t.Fatal(err)
			}
			testwait.UntilWhy(t, 2*time.Minute, "every location backfilled over OAuth", func() (bool, string) {
				for _, l := range locs {
					if ok, _ := d.Syncer.BackfillDone(ctx, l.ID); !ok {
						return false, l.ID + " not backfilled"
					}
				}
				return true, ""
			})
			for _, l := range locs {
				c, err := d.Store.ConnectionGet(ctx, l.ID)
				if err != nil || c.CredentialKind != "oauth" || c.State != rankr.StateActive {
					t.Fatalf("connection %s: %+v %v", l.ID, c, err)
				}
			}

			if err := sb.UninstallCompany(company); err != nil {
				t.Fatal(err)
			}
			testwait.UntilWhy(t, time.Minute, "every connection suspended by the agency's uninstall", func() (bool, string) {
				for _, l := range locs {
					if c, _ := d.Store.ConnectionGet(ctx, l.ID); c.State != rankr.StateSuspended {
						return false, l.ID + " is " + string(c.State)
					}
				}
				return true, ""
			})
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			if n, _ := d.Store.Counts(context.Background(), locs[1].ID); n.Orders == 0 {
				t.Error("the synced orders went with the uninstall")
			}
		})
	}
}
