package cli

import (
	"context"
	"fmt"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/daemon"
)

// KeysCmd manages Rankr's API keys. The commands run on the host, with
// the database and the master key: who runs them holds every right.
type KeysCmd struct {
	Create   KeysCreateCmd   `cmd:"" help:"Make an API key; prints it, once."`
	List     KeysListCmd     `cmd:"" help:"List API keys (never the keys themselves)."`
	Show     KeysShowCmd     `cmd:"" help:"Show one API key."`
	Roll     KeysRollCmd     `cmd:"" help:"Replace a key with a new one; the old one works for a grace period, then expires."`
	Revoke   KeysRevokeCmd   `cmd:"" help:"End a key now (every rankr process refuses it within a second)."`
	SetRole  KeysSetRoleCmd  `cmd:"" help:"Change a key's role (and so what the keys it made may do)."`
	AllowIPs KeysAllowIPsCmd `cmd:"" name:"allow-ips" help:"Set the addresses a key, or (with --installation) every key, may be used from."`
	Master   KeysMasterCmd   `cmd:"" help:"The master key that seals every secret: status, and reseal after a rotation."`
	DataFlags
}

// hostUser is the operating system's user running the command.
func hostUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// hostActor is who runs a command on the host: every right, named by the
// operating system's user.
func hostActor() access.Actor { return access.Host(hostUser()) }

// host is who runs a command on the host, as the use cases take the
// caller: every location, every right.
func host() app.Caller { return app.Host(hostUser()) }

// openKeys opens the database with the master key (the keys' pepper is
// sealed by it).
func openKeys(ctx context.Context, g *Globals) (*daemon.Daemon, error) {
	d, err := g.open(ctx, false, daemon.Config{})
	if err != nil {
		return nil, err
	}
	if _, err := d.OpenAccess(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// KeysCreateCmd makes a key.
type KeysCreateCmd struct {
	Role     string   `help:"Role: owner, admin, operator, viewer or auditor." required:"" enum:"owner,admin,operator,viewer,auditor"`
	Scope    []string `help:"Scopes (default: all of the role's), e.g. orders:read, webhooks:write; repeatable." placeholder:"SCOPE"`
	Location []string `help:"Only these locations (default: every location); repeatable." placeholder:"ID"`
	Expires  string   `help:"How long the key lasts: 7d, 30d, 90d, 365d at most." default:"90d"`
	AllowIP  []string `help:"Addresses (CIDRs, IPv4 or IPv6) the key may be used from; repeatable, at most 50." name:"allow-ip" placeholder:"CIDR"`
	Name     string   `help:"What the key is for."`
	Test     bool     `help:"Make a rnkr_test_ key (for the demo and sandboxes) instead of rnkr_live_."`
	JSON     bool     `help:"Print JSON." name:"json"`
}

// Run makes the key.
func (c *KeysCreateCmd) Run(ctx context.Context, g *Globals) error {
	if _, err := parseSpan(c.Expires); err != nil {
		return fmt.Errorf("--expires: %w", err)
	}
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	k, err := d.App.CreateKey(ctx, host(), app.KeyCreateRequest{Name: c.Name, Role: c.Role, Scopes: c.Scope,
		Locations: c.Location, ExpiresIn: c.Expires, AllowIPs: c.AllowIP, Test: c.Test})
	if err != nil {
		return flagError(err, map[string]string{"expiresIn": "--expires"})
	}
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	return printNewKey(g, k, c.JSON)
}

func printNewKey(g *Globals, k app.CreatedKey, asJSON bool) error {
	if asJSON {
		return writeJSON(g.stdout, map[string]any{"key": k.Token, "apiKey": keyView(k.Key)})
	}
	fmt.Fprintf(g.stdout, "%s\n\nThis is the only time the key is shown: store it now.\n  id       %s\n  role     %s\n  scopes   %s\n  expires  %s\n",
		k.Token, k.Key.ID, k.Key.Role, strings.Join(k.Key.Scopes, " "), when(k.Key.ExpiresAt))
	if len(k.Key.Locations) > 0 {
		fmt.Fprintf(g.stdout, "  locations %s\n", strings.Join(k.Key.Locations, " "))
	}
	if len(k.Key.AllowIPs) > 0 {
		fmt.Fprintf(g.stdout, "  from     %s\n", strings.Join(k.Key.AllowIPs, " "))
	}
	return nil
}

// checkpointNow signs the audit log's head after a change made from the
// CLI, so that the change is covered before the command returns.
func checkpointNow(ctx context.Context, d *daemon.Daemon) error {
	_, _, err := access.Checkpoint(ctx, d.Store, access.Current(d.Access.Signers))
	return err
}

// keyView is a key as the CLI prints it in JSON: every field present, the
// times not set null.
func keyView(k app.Key) map[string]any {
	return map[string]any{"id": k.ID, "display": k.Display, "name": k.Name, "role": k.Role,
		"scopes": k.Scopes, "locations": k.Locations, "allowIps": k.AllowIPs, "createdBy": k.CreatedBy,
		"createdAt": k.CreatedAt, "expiresAt": k.ExpiresAt, "revokedAt": optionalTime(k.RevokedAt),
		"rotatedFrom": k.RotatedFrom, "lastUsedAt": optionalTime(k.LastUsedAt), "lastUsedIp": k.LastUsedIP,
		"lastUsedUserAgent": k.LastUsedUA, "state": k.State}
}

func optionalTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// KeysListCmd lists keys.
type KeysListCmd struct {
	JSON bool `help:"Print JSON." name:"json"`
}

// Run lists the keys. It needs no master key.
func (c *KeysListCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	keys, err := d.App.Keys(ctx, host())
	if err != nil {
		return err
	}
	if c.JSON {
		views := make([]any, len(keys))
		for i, k := range keys {
			views[i] = keyView(k)
		}
		return writeJSON(g.stdout, views)
	}
	if len(keys) == 0 {
		fmt.Fprintln(g.stdout, "No API keys. Make one: rankr keys create --role owner --expires 90d")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tNAME\tROLE\tSTATE\tEXPIRES\tLAST USED (±30 s)\tFROM")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Display, dash(k.Name), k.Role,
			k.State, when(k.ExpiresAt), when(k.LastUsedAt), dash(k.LastUsedIP))
	}
	return tw.Flush()
}

// KeysShowCmd shows a key.
type KeysShowCmd struct {
	ID   string `arg:"" help:"The key's id (the part after rnkr_live_)."`
	JSON bool   `help:"Print JSON." name:"json"`
}

// Run shows the key.
func (c *KeysShowCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	k, err := d.App.Key(ctx, host(), c.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, keyView(k))
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"key", k.Display}, {"name", dash(k.Name)}, {"role", k.Role},
		{"scopes", strings.Join(k.Scopes, " ")}, {"locations", dash(strings.Join(k.Locations, " "))},
		{"allowed from", dash(strings.Join(k.AllowIPs, " "))}, {"state", k.State},
		{"created", when(k.CreatedAt) + " by " + k.CreatedBy}, {"expires", when(k.ExpiresAt)},
		{"revoked", when(k.RevokedAt)}, {"rotated from", dash(k.RotatedFrom)},
		{"last used (±30 s)", when(k.LastUsedAt) + " from " + dash(k.LastUsedIP) + " " + k.LastUsedUA},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

// KeysRollCmd replaces a key.
type KeysRollCmd struct {
	ID    string        `arg:"" help:"The key to replace."`
	Grace time.Duration `help:"How long the old key keeps working (at most 168h)." default:"24h"`
	JSON  bool          `help:"Print JSON." name:"json"`
}

// Run rolls the key.
func (c *KeysRollCmd) Run(ctx context.Context, g *Globals) error {
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	k, err := d.App.RollKey(ctx, host(), c.ID, c.Grace)
	if err != nil {
		return err
	}
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	if !c.JSON {
		fmt.Fprintf(g.stdout, "Rolled %s: it works until %s, then only this new key does.\n\n", k.Key.RotatedFrom,
			time.Now().Add(c.Grace).UTC().Format("2006-01-02 15:04"))
	}
	return printNewKey(g, k, c.JSON)
}

// KeysRevokeCmd revokes a key.
type KeysRevokeCmd struct {
	ID string `arg:"" help:"The key to revoke."`
}

// Run revokes the key.
func (c *KeysRevokeCmd) Run(ctx context.Context, g *Globals) error {
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	k, err := d.App.RevokeKey(ctx, host(), c.ID)
	if err != nil {
		return err
	}
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Revoked %s.\n", k.ID)
	return nil
}

// KeysSetRoleCmd changes a key's role.
type KeysSetRoleCmd struct {
	ID   string `arg:"" help:"The key."`
	Role string `arg:"" help:"Its new role: owner, admin, operator, viewer or auditor." enum:"owner,admin,operator,viewer,auditor"`
}

// Run changes the role.
func (c *KeysSetRoleCmd) Run(ctx context.Context, g *Globals) error {
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	k, err := d.App.SetKeyRole(ctx, host(), c.ID, c.Role)
	if err != nil {
		return err
	}
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Key %s is now %s.\n", k.ID, c.Role)
	return nil
}

// KeysAllowIPsCmd sets an allow-list.
type KeysAllowIPsCmd struct {
	ID           string   `arg:"" optional:"" help:"The key (omit with --installation)."`
	CIDR         []string `help:"Allowed addresses (CIDRs, IPv4 or IPv6; at most 50). None: any address." name:"cidr" placeholder:"CIDR"`
	Installation bool     `help:"Set the installation's list, which every key's requests must match too."`
}

// Run sets the list.
func (c *KeysAllowIPsCmd) Run(ctx context.Context, g *Globals) error {
	if c.Installation == (c.ID != "") {
		return fmt.Errorf("name a key, or give --installation, not both")
	}
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	what := "every key"
	if c.Installation {
		err = d.App.SetInstallAllowIPs(ctx, host(), c.CIDR)
	} else {
		var k app.Key
		k, err = d.App.SetKeyAllowIPs(ctx, host(), c.ID, c.CIDR)
		what = "key " + k.ID
	}
	if err != nil {
		return err
	}
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	if len(c.CIDR) == 0 {
		fmt.Fprintf(g.stdout, "%s may be used from any address.\n", strings.ToUpper(what[:1])+what[1:])
	} else {
		fmt.Fprintf(g.stdout, "%s may be used only from %s.\n", strings.ToUpper(what[:1])+what[1:], strings.Join(c.CIDR, " "))
	}
	return nil
}
