package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/marketplace"
)

// CatalogCmd is the operations catalog: every action and trigger, and
// running an action.
type CatalogCmd struct {
	List CatalogListCmd `cmd:"" help:"List the catalog's actions and triggers."`
	Show CatalogShowCmd `cmd:"" help:"Show an item: its schemas, samples, GHL scopes and effect."`
	Run  struct {
		CatalogRunCmd
		DataFlags
	} `cmd:"" help:"Run an action for a location (--dry-run: reads run, writes only show what they would send)."`
	Export CatalogExportCmd `cmd:"" help:"Write the whole catalog as JSON (for docs and GHL marketplace definitions)."`
}

// staticCatalog is the catalog with nothing to run on: enough to list and
// show it, without a database.
func staticCatalog() *app.App { return app.New(app.Deps{}) }

// CatalogListCmd lists items.
type CatalogListCmd struct {
	Kind   string `help:"Only actions or only triggers." enum:",action,trigger" default:""`
	Source string `help:"Only items from one source: ghl-api, ghl-webhook, derived, rankr, schedule."`
	Search string `help:"Only items whose key, title or summary hold this." short:"q"`
	Count  bool   `help:"Print only how many items there are."`
	JSON   bool   `help:"Print JSON (the export document, filtered)." name:"json"`
}

// Run lists.
func (c *CatalogListCmd) Run(g *Globals) error {
	a := staticCatalog()
	items, err := a.CatalogList(app.CatalogQuery{Kind: catalog.Kind(c.Kind), Source: catalog.Source(c.Source), Search: c.Search})
	if err != nil {
		return flagError(err, nil)
	}
	switch {
	case c.JSON:
		exp := a.CatalogExport()
		exp.Items = items
		return writeJSON(g.stdout, exp)
	case c.Count:
		_, err := fmt.Fprintln(g.stdout, len(items))
		return err
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tKIND\tSOURCE\tEFFECT\tTITLE")
	actions := 0
	for _, s := range items {
		effect := string(s.Effect)
		if s.Kind == catalog.KindAction {
			actions++
		} else {
			effect = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID(), s.Kind, s.Source, effect, s.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "%d item(s): %d action(s), %d trigger(s)\n", len(items), actions, len(items)-actions)
	return err
}

// CatalogShowCmd shows an item.
type CatalogShowCmd struct {
	Item string `arg:"" help:"The item: KEY or KEY@VERSION."`
	JSON bool   `help:"Print the item as JSON." name:"json"`
}

// Run shows.
func (c *CatalogShowCmd) Run(g *Globals) error {
	s, err := staticCatalog().CatalogItem(c.Item)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, s)
	}
	w := g.stdout
	fmt.Fprintf(w, "%s  %s\n\n%s\n\n", s.ID(), s.Title, s.Summary)
	fmt.Fprintf(w, "kind         %s (%s)\n", s.Kind, s.Source)
	if s.Kind == catalog.KindAction {
		fmt.Fprintf(w, "effect       %s\nidempotency  %s\n", s.Effect, s.Idempotency)
	}
	if s.Operation != "" {
		fmt.Fprintf(w, "operation    %s\n", s.Operation)
	}
	if len(s.Fires) > 0 {
		fmt.Fprintf(w, "fires on     %s\n", strings.Join(s.Fires, ", "))
	}
	scopes := "none"
	if len(s.Scopes) > 0 {
		scopes = strings.Join(s.Scopes, ", ")
	}
	fmt.Fprintf(w, "GHL scopes   %s\n", scopes)
	for _, part := range []struct {
		name string
		doc  json.RawMessage
	}{{"input schema", s.Input}, {"sample input", s.SampleInput}, {"output schema", s.Output}, {"sample output", s.Sample}} {
		if part.doc == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", part.name)
		if err := writeIndented(w, part.doc); err != nil {
			return err
		}
	}
	return nil
}

// writeIndented prints a JSON document indented, with a newline.
func writeIndented(w io.Writer, doc json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, doc, "", "  "); err != nil {
		b.Reset()
		b.Write(doc)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// CatalogRunCmd runs an action.
type CatalogRunCmd struct {
	Item     string `arg:"" help:"The action: KEY or KEY@VERSION."`
	Location string `help:"The GHL location to run it for." env:"RANKR_LOCATION"`
	Input    string `help:"A JSON file with the input ('-': standard input); default: {}." short:"i" placeholder:"FILE"`
	DryRun   bool   `help:"Send nothing that changes anything: reads run for real, writes show the request they would send."`
	JSON     bool   `help:"Print the run as JSON." name:"json"`
	MailFlags
}

// Run runs the action.
func (c *CatalogRunCmd) Run(ctx context.Context, g *Globals) error {
	input := json.RawMessage("{}")
	if c.Input != "" {
		var (
			b   []byte
			err error
		)
		if c.Input == "-" {
			b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<22))
		} else {
			b, err = os.ReadFile(c.Input)
		}
		if err != nil {
			return fmt.Errorf("--input: %w", err)
		}
		if !json.Valid(b) {
			return fmt.Errorf("--input %s is not JSON", c.Input)
		}
		input = b
	}
	d, err := g.open(ctx, false, daemon.Config{Mail: c.MailFlags.config()})
	if err != nil {
		return err
	}
	defer d.Close()
	run, err := d.App.CatalogRun(ctx, host(), app.CatalogRunRequest{Item: c.Item, Location: c.Location, Input: input, DryRun: c.DryRun})
	if c.JSON && run.Item != "" {
		if werr := writeJSON(g.stdout, run); werr != nil {
			return werr
		}
	} else if run.Item != "" {
		printRun(g.stdout, run)
	}
	if err != nil {
		return flagError(err, map[string]string{"locationId": "--location"})
	}
	return nil
}

// printRun shows a run: what it sent and what came back.
func printRun(w io.Writer, run app.CatalogRun) {
	mode := ""
	if run.DryRun {
		mode = " (dry run: nothing was sent)"
	}
	fmt.Fprintf(w, "%s for %s in %d ms%s\n", run.Item, run.Location, run.Millis, mode)
	if run.Request != nil {
		fmt.Fprintf(w, "\nrequest: %s %s\n", run.Request.Method, run.Request.Target)
		if len(run.Request.Body) > 0 {
			_ = writeIndented(w, run.Request.Body)
		}
	}
	for _, warn := range run.Warnings {
		fmt.Fprintf(w, "\nwarning: %s\n", warn)
	}
	if len(run.Output) > 0 {
		label := "output"
		if run.DryRun {
			label = "output (simulated: the item's sample)"
		}
		fmt.Fprintf(w, "\n%s:\n", label)
		_ = writeIndented(w, run.Output)
	}
}

// CatalogExportCmd writes the whole catalog.
type CatalogExportCmd struct {
	Output string `help:"Write to this file instead of standard output." short:"o" type:"path"`
	// The marketplace module's definitions are made from the catalog, so
	// that what GHL shows cannot drift from what rankr fires and runs.
	Marketplace bool `help:"Write GHL marketplace definitions instead: custom triggers (key, name, description, sample payload) and custom actions (fields, response data)."`
}

// Run exports.
func (c *CatalogExportCmd) Run(g *Globals) error {
	exp := staticCatalog().CatalogExport()
	var doc any = exp
	n := len(exp.Items)
	if c.Marketplace {
		defs := marketplace.Definitions(staticCatalog().Catalog())
		doc, n = defs, len(defs.Triggers)+len(defs.Actions)
	}
	if c.Output == "" {
		return writeJSON(g.stdout, doc)
	}
	var b bytes.Buffer
	if err := writeJSON(&b, doc); err != nil {
		return err
	}
	if err := os.WriteFile(c.Output, b.Bytes(), 0o644); err != nil {
		return err
	}
	_, err := fmt.Fprintf(g.stdout, "wrote %d item(s) to %s\n", n, c.Output)
	return err
}
