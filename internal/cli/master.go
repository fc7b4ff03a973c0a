package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/store"
)

// KeysMasterCmd shows and rotates the master key. Rotating is: make a new
// key, run everything with it as RANKR_MASTER_KEY and the old one in
// RANKR_MASTER_KEY_PREVIOUS (secrets keep opening), run reseal, then drop
// the old key.
type KeysMasterCmd struct {
	Status KeysMasterStatusCmd `cmd:"" help:"Count the secrets sealed under each master key id, and say which keys this process holds."`
	Reseal KeysMasterResealCmd `cmd:"" help:"Seal again, with the current master key, every secret a previous key sealed; online and resumable."`
}

// KeysMasterStatusCmd counts secrets by master key.
type KeysMasterStatusCmd struct {
	JSON bool `help:"Print JSON." name:"json"`
}

// Run prints the counts.
func (c *KeysMasterStatusCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.open(ctx, false, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	counts, err := access.MasterStatus(ctx, d.Store, d.Vault)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, masterView(counts))
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MASTER KEY\tSTATE\tSECRETS\tBY KIND")
	lost := 0
	for _, m := range counts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", m.KeyID, masterState(m), m.Total, dash(kindsLine(m.Kinds)))
		if !m.Held {
			lost += m.Total
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range counts {
		if !m.Current && m.Held && m.Total > 0 {
			fmt.Fprintf(g.stdout, "%d secrets are still under %s: run rankr keys master reseal\n", m.Total, m.KeyID)
		}
	}
	if lost > 0 {
		fmt.Fprintf(g.stdout, "%d secrets are sealed by master keys not given: they do not open until their key is in RANKR_MASTER_KEY_PREVIOUS (or they are written again, e.g. rankr connect)\n", lost)
	}
	return nil
}

func masterState(m access.MasterKeyCount) string {
	switch {
	case m.Current:
		return "current"
	case m.Held:
		return "previous"
	}
	return "not given"
}

// kindsLine is "connection 10000, install secret 3", by kind as the
// reseal walks them.
func kindsLine(kinds map[string]int) string {
	var parts []string
	for _, col := range store.SealedColumns {
		if n := kinds[col.Kind]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", col.Kind, n))
		}
	}
	for k, n := range kinds { // a kind no longer in the table: still say it
		if _, ok := store.SealedColumnOf(k); !ok && n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return strings.Join(parts, ", ")
}

func masterView(counts []access.MasterKeyCount) []map[string]any {
	out := make([]map[string]any, len(counts))
	for i, m := range counts {
		out[i] = map[string]any{"keyId": m.KeyID, "state": masterState(m), "current": m.Current, "held": m.Held,
			"secrets": m.Total, "kinds": m.Kinds}
	}
	return out
}

// KeysMasterResealCmd reseals secrets under the current key.
type KeysMasterResealCmd struct {
	DryRun bool `help:"Count what would be resealed; change nothing."`
	Batch  int  `help:"Secrets replaced per transaction." default:"500"`
}

// Run reseals.
func (c *KeysMasterResealCmd) Run(ctx context.Context, g *Globals) error {
	if c.Batch < 1 || c.Batch > 5000 {
		return fmt.Errorf("--batch: 1 to 5000")
	}
	d, err := g.open(ctx, false, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	stale := 0
	before, err := access.MasterStatus(ctx, d.Store, d.Vault)
	if err != nil {
		return err
	}
	for _, m := range before {
		if !m.Current {
			stale += m.Total
		}
	}
	verb := "resealing"
	if c.DryRun {
		verb = "would reseal"
	}
	fmt.Fprintf(g.stdout, "current master key %s: %s %d secrets sealed by other keys\n", d.Vault.KeyID(), verb, stale)
	last := time.Now()
	res, rerr := access.Reseal(ctx, d.Store, d.Vault, access.ResealOptions{Batch: c.Batch, DryRun: c.DryRun, Actor: hostActor(),
		Progress: func(n int) {
			if time.Since(last) >= time.Second || isTerminal(g.stderr) {
				fmt.Fprintf(g.stderr, "resealed %d of %d\n", n, stale)
				last = time.Now()
			}
		}})
	if rerr != nil && res.Before == nil {
		return rerr
	}
	if c.DryRun {
		fmt.Fprintf(g.stdout, "dry run: %d secrets would be resealed, %d cannot be opened; nothing changed\n", res.Resealed, len(res.Failed))
	} else {
		fmt.Fprintf(g.stdout, "resealed %d secrets", res.Resealed)
		if res.Changed > 0 {
			fmt.Fprintf(g.stdout, "; %d were written meanwhile by another process and kept as written", res.Changed)
		}
		fmt.Fprintln(g.stdout)
	}
	const shown = 20
	for i, f := range res.Failed {
		if i == shown {
			fmt.Fprintf(g.stdout, "… and %d more\n", len(res.Failed)-shown)
			break
		}
		fmt.Fprintln(g.stdout, f.Error())
	}
	if rerr != nil {
		return rerr
	}
	if c.DryRun {
		return nil
	}
	after := slices.Clone(res.After)
	for _, m := range after {
		switch {
		case m.Current || !m.Held:
		case m.Total == 0:
			fmt.Fprintf(g.stdout, "0 under %s: remove it from RANKR_MASTER_KEY_PREVIOUS\n", m.KeyID)
		default:
			fmt.Fprintf(g.stdout, "%d still under %s (written meanwhile with it): run reseal again\n", m.Total, m.KeyID)
		}
	}
	// Sign the audit log's head, as every command that changes from the
	// host does. The reseal's own records are written either way.
	if _, err := d.OpenAccess(ctx); err != nil {
		return err
	}
	return checkpointNow(ctx, d)
}
