package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
)

// AutomationsCmd is the no-code automations: files that wire a trigger of
// the catalog to its actions.
type AutomationsCmd struct {
	Apply    AutomationsApplyCmd    `cmd:"" help:"Save automation files as new versions and make them live (--dry-run: show the diff, save nothing)."`
	Validate AutomationsValidateCmd `cmd:"" help:"Check automation files as apply would (schema, expressions, field paths, inputs), saving nothing."`
	Test     AutomationsTestCmd     `cmd:"" help:"Run an automation once on an event without changing anything: reads run, writes show the request they would send."`
	List     AutomationsListCmd     `cmd:"" help:"List the automations."`
	Show     AutomationsShowCmd     `cmd:"" help:"Show an automation: its file and its versions."`
	Enable   AutomationsEnableCmd   `cmd:"" help:"Switch an automation on: its trigger starts runs again."`
	Disable  AutomationsDisableCmd  `cmd:"" help:"Switch an automation off: its trigger starts no run (queued runs still run)."`
	Runs     AutomationsRunsCmd     `cmd:"" help:"The runs: list them, show one step by step, retry one from its failed step."`
	Pauses   AutomationsPausesCmd   `cmd:"" help:"List the locations whose automations are paused because GHL refused their credential."`
	Resume   AutomationsResumeCmd   `cmd:"" help:"Resume a paused location's automations by hand (reconnecting it does by itself)."`
	Schema   AutomationsSchemaCmd   `cmd:"" help:"Print the JSON Schema of automation files (for editors)."`
	DataFlags
}

// readFiles reads FILE or every .yaml, .yml and .json file of DIR.
func readFiles(path string) ([]app.AutomationFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	paths := []string{path}
	if st.IsDir() {
		paths = nil
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				paths = append(paths, filepath.Join(path, e.Name()))
			}
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("%s holds no .yaml, .yml or .json file", path)
		}
	}
	var out []app.AutomationFile
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, app.AutomationFile{Name: p, Source: b})
	}
	return out, nil
}

// AutomationsApplyCmd applies files.
type AutomationsApplyCmd struct {
	File   []string `help:"An automation file, or a directory of them (repeatable)." short:"f" required:"" type:"path"`
	DryRun bool     `help:"Show what would change, save nothing."`
	Note   string   `help:"A note kept with the new versions."`
	JSON   bool     `help:"Print JSON." name:"json"`
}

// Run applies.
func (c *AutomationsApplyCmd) Run(ctx context.Context, g *Globals) error {
	var files []app.AutomationFile
	for _, f := range c.File {
		fs, err := readFiles(f)
		if err != nil {
			return err
		}
		files = append(files, fs...)
	}
	// Every file is checked before any is saved, so that a directory is
	// applied whole or not at all as far as its files' validity goes.
	a := staticCatalog()
	for _, f := range files {
		if _, err := a.AutomationValidate(f); err != nil {
			return err
		}
	}
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	var results []app.ApplyResult
	for _, f := range files {
		res, err := d.App.AutomationApply(ctx, host(), f, c.DryRun, c.Note)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if c.JSON {
		return writeJSON(g.stdout, map[string]any{"items": results})
	}
	for _, r := range results {
		printApply(g.stdout, r)
	}
	return nil
}

func printApply(w io.Writer, r app.ApplyResult) {
	state := "enabled"
	if !r.Enabled {
		state = "disabled"
	}
	verb := "saved as"
	switch {
	case r.DryRun && !r.Changed:
		verb = "unchanged at"
	case r.DryRun:
		verb = "would be saved as"
	case !r.Changed:
		verb = "unchanged at"
	}
	fmt.Fprintf(w, "%s: %s version %d (%s)\n", r.ID, verb, r.Version, state)
	if r.Changed {
		for _, l := range r.Diff {
			if !strings.HasPrefix(l, "  ") {
				fmt.Fprintln(w, "  "+l)
			}
		}
	}
	if len(r.Scopes) > 0 {
		fmt.Fprintf(w, "  needs GHL scopes: %s\n", strings.Join(r.Scopes, ", "))
	}
}

// AutomationsValidateCmd validates files.
type AutomationsValidateCmd struct {
	File []string `arg:"" help:"Automation files or directories." type:"path"`
}

// Run validates every file and reports each problem; it fails if any has
// one.
func (c *AutomationsValidateCmd) Run(g *Globals) error {
	a := staticCatalog()
	bad := 0
	for _, f := range c.File {
		files, err := readFiles(f)
		if err != nil {
			return err
		}
		for _, file := range files {
			res, err := a.AutomationValidate(file)
			if err != nil {
				bad++
				fmt.Fprintln(g.stdout, err)
				continue
			}
			fmt.Fprintf(g.stdout, "%s: %s is valid", file.Name, res.ID)
			if len(res.Scopes) > 0 {
				fmt.Fprintf(g.stdout, " (needs GHL scopes: %s)", strings.Join(res.Scopes, ", "))
			}
			fmt.Fprintln(g.stdout)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d file(s) with problems", bad)
	}
	return nil
}

// AutomationsTestCmd tests a file or a saved automation.
type AutomationsTestCmd struct {
	Target   string `arg:"" help:"An automation file, or a saved automation's id."`
	Location string `help:"The location to test for (reads run there)." env:"RANKR_LOCATION"`
	Event    string `help:"What to run on: sample (the trigger's), last (the newest event that fired it at the location), an event's seq, or a JSON file with a payload." default:"sample"`
	JSON     bool   `help:"Print the report as JSON." name:"json"`
}

// Run tests.
func (c *AutomationsTestCmd) Run(ctx context.Context, g *Globals) error {
	req := app.AutomationTestRequest{Location: c.Location, Event: c.Event}
	if _, err := os.Stat(c.Target); err == nil {
		files, err := readFiles(c.Target)
		if err != nil {
			return err
		}
		if len(files) != 1 {
			return fmt.Errorf("%s: test one file at a time", c.Target)
		}
		req.File = &files[0]
	} else {
		req.ID = c.Target
	}
	if ev := c.Event; ev != "sample" && ev != "last" && strings.ContainsAny(ev, "./") {
		b, err := os.ReadFile(ev)
		if err != nil {
			return fmt.Errorf("--event: %w", err)
		}
		req.Event = string(b)
	}
	d, err := g.open(ctx, false, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	rep, err := d.App.AutomationTest(ctx, host(), req)
	if err != nil {
		return flagError(err, map[string]string{"locationId": "--location", "event": "--event"})
	}
	if c.JSON {
		return writeJSON(g.stdout, rep)
	}
	printTest(g.stdout, rep)
	return nil
}

func printTest(w io.Writer, rep automation.TestReport) {
	fmt.Fprintf(w, "%s on %s for %s: %s (a test: nothing was sent that changes anything)\n", rep.Automation, rep.Trigger, rep.Location, rep.Status)
	if rep.Reason != "" {
		fmt.Fprintf(w, "  %s\n", rep.Reason)
	}
	for _, s := range rep.Steps {
		fmt.Fprintf(w, "\nstep %s: %s", s.StepID, s.Status)
		if s.Error != "" {
			fmt.Fprintf(w, " (%s: %s)", s.ErrorClass, s.Error)
		}
		fmt.Fprintln(w)
		printDoc(w, "input", s.Input)
		printDoc(w, "request", s.Request)
		printDoc(w, "output", s.Output)
	}
}

func printDoc(w io.Writer, label string, doc json.RawMessage) {
	if len(doc) == 0 {
		return
	}
	fmt.Fprintf(w, "  %s: ", label)
	_ = writeIndented(w, doc)
}

// AutomationsListCmd lists automations.
type AutomationsListCmd struct {
	JSON bool `help:"Print JSON." name:"json"`
}

// Run lists.
func (c *AutomationsListCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	list, err := d.App.Automations(ctx, host())
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, map[string]any{"items": list})
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tSTATE\tTRIGGER\tLOCATIONS\tUPDATED")
	for _, a := range list {
		state := "enabled"
		if !a.Enabled {
			state = "disabled"
		}
		locs := "*"
		if a.Locations != nil {
			locs = strings.Join(a.Locations, ",")
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", a.ID, a.Version, state, a.TriggerKey, locs, when(a.UpdatedAt))
	}
	return tw.Flush()
}

// AutomationsShowCmd shows one.
type AutomationsShowCmd struct {
	ID      string `arg:"" help:"The automation's id."`
	Version int    `help:"Show this version's file (default: the live one)."`
	JSON    bool   `help:"Print JSON." name:"json"`
}

// Run shows.
func (c *AutomationsShowCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	x, err := d.App.Automation(ctx, host(), c.ID, c.Version)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, x)
	}
	state := "enabled"
	if !x.Enabled {
		state = "disabled"
	}
	fmt.Fprintf(g.stdout, "%s: version %d live, %s, trigger %s\n\nversions:\n", x.ID, x.Version, state, x.TriggerKey)
	for _, v := range x.Versions {
		note := ""
		if v.Note != "" {
			note = " — " + v.Note
		}
		fmt.Fprintf(g.stdout, "  %d  %s  by %s %s%s\n", v.Version, when(v.CreatedAt), v.Author.Type, v.Author.ID, note)
	}
	fmt.Fprintf(g.stdout, "\nversion %d:\n%s", x.Shown, x.Source)
	if !strings.HasSuffix(x.Source, "\n") {
		fmt.Fprintln(g.stdout)
	}
	return nil
}

// AutomationsEnableCmd switches one on.
type AutomationsEnableCmd struct {
	ID string `arg:"" help:"The automation's id."`
}

// Run enables.
func (c *AutomationsEnableCmd) Run(ctx context.Context, g *Globals) error {
	return setAutomationEnabled(ctx, g, c.ID, true)
}

// AutomationsDisableCmd switches one off.
type AutomationsDisableCmd struct {
	ID string `arg:"" help:"The automation's id."`
}

// Run disables.
func (c *AutomationsDisableCmd) Run(ctx context.Context, g *Globals) error {
	return setAutomationEnabled(ctx, g, c.ID, false)
}

func setAutomationEnabled(ctx context.Context, g *Globals, id string, on bool) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	x, err := d.App.AutomationSetEnabled(ctx, host(), id, on)
	if err != nil {
		return err
	}
	state := "disabled"
	if x.Enabled {
		state = "enabled"
	}
	_, err = fmt.Fprintf(g.stdout, "%s: %s (version %d)\n", x.ID, state, x.Version)
	return err
}

// AutomationsRunsCmd is the runs.
type AutomationsRunsCmd struct {
	List  AutomationsRunsListCmd  `cmd:"" default:"withargs" help:"List runs, newest first."`
	Show  AutomationsRunsShowCmd  `cmd:"" help:"Show a run step by step: inputs, the filter's verdict, each request and answer."`
	Retry AutomationsRunsRetryCmd `cmd:"" help:"Queue a failed or paused run again, from the step that did not succeed."`
}

// AutomationsRunsListCmd lists runs.
type AutomationsRunsListCmd struct {
	Automation string `help:"Only this automation's runs."`
	Status     string `help:"Only runs in this state: queued, running, succeeded, failed, skipped, paused, canceled."`
	Location   string `help:"Only this location's runs." env:"RANKR_LOCATION"`
	Limit      int    `help:"How many." default:"50"`
	JSON       bool   `help:"Print JSON." name:"json"`
}

// Run lists.
func (c *AutomationsRunsListCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	page, err := d.App.AutomationRuns(ctx, host(), app.RunQuery{Automation: c.Automation, Status: rankr.RunStatus(c.Status),
		Location: c.Location, Limit: c.Limit})
	if err != nil {
		return flagError(err, map[string]string{"status": "--status", "limit": "--limit"})
	}
	if c.JSON {
		return writeJSON(g.stdout, page)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tAUTOMATION\tVERSION\tSTATUS\tLOCATION\tEVENT\tCREATED\tREASON")
	for _, r := range page.Items {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.AutomationID, r.Version, r.Status, r.LocationID, r.EventID,
			when(r.CreatedAt), truncateLine(r.Reason, 80))
	}
	return tw.Flush()
}

func truncateLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// AutomationsRunsShowCmd shows a run.
type AutomationsRunsShowCmd struct {
	ID   int64 `arg:"" help:"The run's id."`
	JSON bool  `help:"Print JSON." name:"json"`
}

// Run shows.
func (c *AutomationsRunsShowCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	r, err := d.App.AutomationRun(ctx, host(), c.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, r)
	}
	w := g.stdout
	fmt.Fprintf(w, "run %d of %s version %d for %s: %s\n  event %s (%s), created %s, %d attempt(s)\n", r.ID, r.AutomationID, r.Version,
		r.LocationID, r.Status, r.EventID, r.TriggerKey, when(r.CreatedAt), r.Attempts)
	if r.Reason != "" {
		fmt.Fprintf(w, "  %s\n", r.Reason)
	}
	printDoc(w, "payload", r.Payload)
	for _, s := range r.Steps {
		fmt.Fprintf(w, "\nstep %s, attempt %d: %s (%d ms)", s.StepID, s.Attempt, s.Status, s.Millis)
		if s.Error != "" {
			fmt.Fprintf(w, " %s: %s", s.ErrorClass, s.Error)
		}
		fmt.Fprintln(w)
		printDoc(w, "input", s.Input)
		printDoc(w, "request", s.Request)
		printDoc(w, "output", s.Output)
	}
	return nil
}

// AutomationsRunsRetryCmd retries a run.
type AutomationsRunsRetryCmd struct {
	ID int64 `arg:"" help:"The run's id."`
}

// Run retries.
func (c *AutomationsRunsRetryCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	r, err := d.App.AutomationRunRetry(ctx, host(), c.ID)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "run %d queued again (rankr serve runs it from its failed step)\n", r.ID)
	return err
}

// AutomationsPausesCmd lists paused locations.
type AutomationsPausesCmd struct{}

// Run lists.
func (c *AutomationsPausesCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	ps, err := d.App.AutomationPauses(ctx, host())
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		_, err := fmt.Fprintln(g.stdout, "no location's automations are paused")
		return err
	}
	for _, p := range ps {
		fmt.Fprintf(g.stdout, "%s since %s: %s\n", p.LocationID, when(p.Since), p.Reason)
	}
	return nil
}

// AutomationsResumeCmd resumes a location.
type AutomationsResumeCmd struct {
	Location string `help:"The location." required:"" env:"RANKR_LOCATION"`
}

// Run resumes.
func (c *AutomationsResumeCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	ok, err := d.App.AutomationResume(ctx, host(), c.Location)
	if err != nil {
		return err
	}
	msg := "resumed: its paused runs are queued again"
	if !ok {
		msg = "was not paused"
	}
	_, err = fmt.Fprintf(g.stdout, "%s %s\n", c.Location, msg)
	return err
}

// AutomationsSchemaCmd prints the file's JSON Schema.
type AutomationsSchemaCmd struct{}

// Run prints.
func (AutomationsSchemaCmd) Run(g *Globals) error {
	_, err := g.stdout.Write(automation.FileSchema())
	return err
}
