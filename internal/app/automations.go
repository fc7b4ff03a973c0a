package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// AutomationFile is an automation file as given: its name (for errors)
// and its text.
type AutomationFile struct {
	Name   string
	Source []byte
}

// ApplyResult is what applying a file did (or, in a dry run, would do).
type ApplyResult struct {
	ID string `json:"id"`
	// Version is the live version after the apply (the one it would make,
	// in a dry run); unchanged when the file is the live version's.
	Version int  `json:"version"`
	Changed bool `json:"changed"`
	New     bool `json:"new"`
	Enabled bool `json:"enabled"`
	DryRun  bool `json:"dryRun,omitempty"`
	// Diff is the change from the live version's file, a line each,
	// prefixed "+ ", "- " or "  " (context).
	Diff []string `json:"diff"`
	// Scopes are the GHL scopes its trigger and steps need.
	Scopes []string `json:"scopes"`
}

// automations is the runner the use cases test with (and the program
// cache they share); built on first use.
func (a *App) automations() *automation.Runner {
	a.runnerOnce.Do(func() {
		a.runner = automation.NewRunner(a.RunnerDeps())
	})
	return a.runner
}

// RunnerDeps are what an automation runner needs from this application:
// the store, the catalog, the GHL clients and the trigger payloads.
func (a *App) RunnerDeps() automation.RunnerDeps {
	d := automation.RunnerDeps{Store: a.d.Store, Catalog: a.Catalog(), Logger: a.log,
		Payload: a.firing,
	}
	if a.d.GHL != nil {
		d.GHL = a.ghlFor
	}
	return d
}

// compile parses and compiles a file against the catalog.
func (a *App) compile(f AutomationFile) (*automation.Program, error) {
	def, err := automation.Parse(f.Name, f.Source)
	if err != nil {
		return nil, err
	}
	return automation.Compile(def, a.Catalog())
}

// AutomationValidate checks a file as apply would, saving nothing: the
// schema, every expression and field path, the steps' inputs. The error
// lists every problem (an *automation.CompileError).
func (a *App) AutomationValidate(f AutomationFile) (ApplyResult, error) {
	p, err := a.compile(f)
	if err != nil {
		return ApplyResult{}, err
	}
	return ApplyResult{ID: p.Def.ID, Enabled: p.Def.Enabled, Scopes: nonNil(p.Scopes()), Diff: []string{}}, nil
}

// mayManage checks that the caller sees every location an automation runs
// for: one for every location needs a key that sees every location.
func (c Caller) mayManage(locations []string) error {
	if locations == nil && c.Locations != nil {
		return fmt.Errorf("an automation for every location needs a key that sees every location: %w", rankr.ErrForbidden)
	}
	for _, l := range locations {
		if !c.Sees(l) {
			return fmt.Errorf("location %s: %w", l, rankr.ErrForbidden)
		}
	}
	return nil
}

// AutomationApply saves a file as a new version of its automation and
// makes it live, atomically (a dry run saves nothing and shows the diff).
// A file equal to the live version's saves nothing. Runs already started
// stay on the version they started on.
func (a *App) AutomationApply(ctx context.Context, c Caller, f AutomationFile, dryRun bool, note string) (ApplyResult, error) {
	p, err := a.compile(f)
	if err != nil {
		return ApplyResult{}, err
	}
	def := p.Def
	if err := c.mayManage(def.Locations); err != nil {
		return ApplyResult{}, err
	}
	sum := sha256.Sum256(f.Source)
	checksum := hex.EncodeToString(sum[:])
	res := ApplyResult{ID: def.ID, Enabled: def.Enabled, DryRun: dryRun, Scopes: nonNil(p.Scopes()), Version: 1, New: true, Changed: true}
	var old string
	live, err := a.d.Store.AutomationGet(ctx, def.ID)
	switch {
	case err == nil:
		if err := c.mayManage(live.Locations); err != nil {
			return ApplyResult{}, err
		}
		v, err := a.d.Store.AutomationVersionGet(ctx, def.ID, live.Version)
		if err != nil {
			return ApplyResult{}, err
		}
		old, res.New = v.Source, false
		res.Changed = v.Checksum != checksum
		res.Version = live.Version
		if res.Changed {
			res.Version++
		}
	case !errors.Is(err, rankr.ErrNotFound):
		return ApplyResult{}, err
	}
	res.Diff = LineDiff(old, string(f.Source))
	if dryRun {
		return res, nil
	}
	key, _, _ := catalog.ParseID(def.Trigger.Key)
	saved, created, err := a.d.Store.AutomationSave(ctx, store.AutomationSaveParams{ID: def.ID, Enabled: def.Enabled,
		Description: def.Description, TriggerKey: key, Locations: def.Locations, Source: string(f.Source),
		Definition: def.JSON(), Checksum: checksum, Author: c.Actor, Note: note})
	if err != nil {
		return ApplyResult{}, err
	}
	res.Version, res.Changed, res.Enabled = saved.Version, created, saved.Enabled
	a.audit(ctx, c, "automation.applied", rankr.AuditTarget{Type: "automation", ID: def.ID},
		map[string]any{"version": saved.Version, "changed": created, "enabled": saved.Enabled, "checksum": checksum})
	return res, nil
}

// audit records a change that succeeded in the audit log.
func (a *App) audit(ctx context.Context, c Caller, action string, target rankr.AuditTarget, changes any) {
	b, err := json.Marshal(changes)
	if err != nil {
		b = nil
	}
	a.record(ctx, c, rankr.AuditEntry{Action: action, Outcome: rankr.AuditSuccess, Target: target, Changes: b})
}

// record appends an audit entry as the caller's, now; a failure to record
// is logged, the change stands.
func (a *App) record(ctx context.Context, c Caller, e rankr.AuditEntry) {
	e.At, e.Actor, e.Request = time.Now(), c.Actor, c.Request
	if err := a.d.Store.AuditAppend(ctx, e); err != nil {
		a.log.Error("a change is not in the audit log", "action", e.Action, "target", e.Target.ID, "location", e.Target.LocationID, "error", err)
	}
}

// Automations lists the automations the caller sees: those that run for
// a location it sees (every one, for a key that sees every location).
func (a *App) Automations(ctx context.Context, c Caller) ([]rankr.Automation, error) {
	all, err := a.d.Store.AutomationList(ctx)
	if err != nil {
		return nil, err
	}
	out := []rankr.Automation{}
	for _, x := range all {
		if c.seesAutomation(x) {
			out = append(out, x)
		}
	}
	return out, nil
}

// seesAutomation: one that runs for a location the caller sees (every
// location counts).
func (c Caller) seesAutomation(x rankr.Automation) bool {
	return c.Locations == nil || x.Locations == nil || slices.ContainsFunc(x.Locations, c.Sees)
}

// AutomationDetail is an automation with its versions and the file of the
// one shown.
type AutomationDetail struct {
	rankr.Automation
	// Shown is the version whose file Source is.
	Shown    int                       `json:"shown"`
	Source   string                    `json:"source"`
	Versions []rankr.AutomationVersion `json:"versions"`
}

// Automation shows an automation: its live version's file (or version's,
// when not 0) and every version (without their files).
func (a *App) Automation(ctx context.Context, c Caller, id string, version int) (AutomationDetail, error) {
	x, err := a.d.Store.AutomationGet(ctx, id)
	if err != nil {
		return AutomationDetail{}, err
	}
	if !c.seesAutomation(x) {
		return AutomationDetail{}, fmt.Errorf("automation %s: %w", id, rankr.ErrNotFound)
	}
	if version == 0 {
		version = x.Version
	}
	v, err := a.d.Store.AutomationVersionGet(ctx, id, version)
	if err != nil {
		return AutomationDetail{}, err
	}
	vs, err := a.d.Store.AutomationVersions(ctx, id)
	if err != nil {
		return AutomationDetail{}, err
	}
	for i := range vs {
		vs[i].Source, vs[i].Definition = "", nil
	}
	return AutomationDetail{Automation: x, Shown: version, Source: v.Source, Versions: vs}, nil
}

// AutomationSetEnabled switches an automation on or off. Off, its trigger
// starts no run; the runs already queued still run.
func (a *App) AutomationSetEnabled(ctx context.Context, c Caller, id string, enabled bool) (rankr.Automation, error) {
	x, err := a.d.Store.AutomationGet(ctx, id)
	if err != nil {
		return x, err
	}
	if !c.seesAutomation(x) {
		return rankr.Automation{}, fmt.Errorf("automation %s: %w", id, rankr.ErrNotFound)
	}
	if err := c.mayManage(x.Locations); err != nil {
		return rankr.Automation{}, err
	}
	x, err = a.d.Store.AutomationSetEnabled(ctx, id, enabled)
	if err != nil {
		return x, err
	}
	action := "automation.disabled"
	if enabled {
		action = "automation.enabled"
	}
	a.audit(ctx, c, action, rankr.AuditTarget{Type: "automation", ID: id}, map[string]any{"version": x.Version})
	return x, nil
}

// AutomationTestRequest asks to test an automation: a file (not saved) or
// a saved automation's live version, on an event.
type AutomationTestRequest struct {
	File *AutomationFile
	ID   string
	// Location is the location to test for (reads run there).
	Location string
	// Event is "sample" (the trigger's sample), "last" (the newest event
	// that fired the trigger at the location), an event's seq, or a JSON
	// payload.
	Event string
}

// AutomationTest runs an automation once without changing anything: the
// filter, then every step, reads for real and writes as the request they
// would send. Nothing is saved, no version is made.
func (a *App) AutomationTest(ctx context.Context, c Caller, r AutomationTestRequest) (automation.TestReport, error) {
	var p *automation.Program
	var err error
	switch {
	case r.File != nil:
		p, err = a.compile(*r.File)
	case r.ID != "":
		var x rankr.Automation
		if x, err = a.d.Store.AutomationGet(ctx, r.ID); err == nil {
			if !c.seesAutomation(x) {
				return automation.TestReport{}, fmt.Errorf("automation %s: %w", r.ID, rankr.ErrNotFound)
			}
			p, err = a.automations().Program(ctx, x.ID, x.Version)
		}
	default:
		return automation.TestReport{}, fieldErr("file", "give a file or an automation's id")
	}
	if err != nil {
		return automation.TestReport{}, err
	}
	loc, err := c.OneLocation(r.Location, "locationId")
	if err != nil {
		return automation.TestReport{}, err
	}
	if loc == "" {
		if p.Def.Locations == nil || len(p.Def.Locations) != 1 {
			return automation.TestReport{}, fieldErr("locationId", "name the location to test %s for", p.Def.ID)
		}
		loc = p.Def.Locations[0]
	}
	payload, err := a.testPayload(ctx, p, loc, r.Event)
	if err != nil {
		return automation.TestReport{}, err
	}
	return a.automations().Test(ctx, p, loc, payload), nil
}

// testPayload finds the payload a test runs on.
func (a *App) testPayload(ctx context.Context, p *automation.Program, loc, event string) (json.RawMessage, error) {
	key := p.Trigger.Key
	switch e := strings.TrimSpace(event); {
	case e == "" || e == "sample":
		return p.Trigger.Sample, nil
	case strings.HasPrefix(e, "{"):
		_, out, err := a.Catalog().Schemas(p.Trigger.ID())
		if err != nil {
			return nil, err
		}
		if err := out.Validate(json.RawMessage(e)); err != nil {
			return nil, fieldErr("event", "the payload does not fit %s: %v", p.Trigger.ID(), err)
		}
		return json.RawMessage(e), nil
	case e == "last":
		if p.Trigger.Source == catalog.SourceGHLWebhook {
			ins, err := a.d.Store.InboxRecent(ctx, store.InboxRecentParams{LocationID: loc, Limit: 500})
			if err != nil {
				return nil, err
			}
			for _, in := range ins {
				if rankr.WebhookTrigger(in.Type) == key {
					return in.Body, nil
				}
			}
			return nil, fieldErr("event", "no %s webhook received for %s yet: test on the sample", p.Trigger.Fires[0], loc)
		}
		evs, err := a.d.Store.EventList(ctx, store.EventListParams{LocationID: loc, Limit: 1000, Newest: true})
		if err != nil {
			return nil, err
		}
		for i := len(evs) - 1; i >= 0; i-- {
			if slices.Contains(rankr.Triggers(evs[i]), key) {
				return a.firing(ctx, evs[i], key)
			}
		}
		return nil, fieldErr("event", "none of %s's last 1000 events fired %s: test on the sample", loc, key)
	default:
		seq, err := strconv.ParseInt(e, 10, 64)
		if err != nil || seq <= 0 {
			return nil, fieldErr("event", "want sample, last, an event's seq, or a JSON payload, not %q", e)
		}
		evs, err := a.d.Store.EventList(ctx, store.EventListParams{AfterSeq: seq - 1, LocationID: loc, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 || evs[0].Seq != seq {
			return nil, fmt.Errorf("event %d at %s: %w", seq, loc, rankr.ErrNotFound)
		}
		if !slices.Contains(rankr.Triggers(evs[0]), key) {
			return nil, fieldErr("event", "event %d (%s) does not fire %s", seq, evs[0].Kind, key)
		}
		return a.firing(ctx, evs[0], key)
	}
}

// firing is the payload of one trigger an event fires (rankr.ErrNotFound
// when it fires no such trigger).
func (a *App) firing(ctx context.Context, ev rankr.Event, key string) (json.RawMessage, error) {
	fs, err := a.TriggerFirings(ctx, ev)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.Key == key {
			return f.Payload, nil
		}
	}
	return nil, fmt.Errorf("event %d (%s) does not fire %s: %w", ev.Seq, ev.Kind, key, rankr.ErrNotFound)
}

// RunQuery selects runs.
type RunQuery struct {
	Automation string
	Status     rankr.RunStatus
	Location   string
	Before     int64
	Limit      int
}

// RunPage is a page of runs, newest first.
type RunPage struct {
	Items []rankr.AutomationRun `json:"items"`
	// Next is the value of before for the next page; 0 at the end.
	Next int64 `json:"next,omitempty"`
}

// AutomationRuns lists runs, newest first, of the locations the caller
// sees.
func (a *App) AutomationRuns(ctx context.Context, c Caller, q RunQuery) (RunPage, error) {
	if err := c.location(q.Location); err != nil {
		return RunPage{}, err
	}
	switch q.Status {
	case "", rankr.RunQueued, rankr.RunRunning, rankr.RunSucceeded, rankr.RunFailed, rankr.RunSkipped, rankr.RunPaused, rankr.RunCanceled:
	default:
		return RunPage{}, fieldErr("status", "want queued, running, succeeded, failed, skipped, paused or canceled, not %q", q.Status)
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > MaxLimit:
		return RunPage{}, fieldErr("limit", "want 1 to %d, not %d", MaxLimit, limit)
	}
	out := RunPage{Items: []rankr.AutomationRun{}}
	before := q.Before
	for len(out.Items) < limit {
		runs, err := a.d.Store.AutomationRunList(ctx, store.RunListParams{AutomationID: q.Automation, Status: q.Status,
			LocationID: q.Location, BeforeID: before, Limit: limit})
		if err != nil {
			return RunPage{}, err
		}
		for _, r := range runs {
			if c.Sees(r.LocationID) && len(out.Items) < limit {
				out.Items = append(out.Items, r)
			}
		}
		if len(runs) < limit {
			return out, nil
		}
		before = runs[len(runs)-1].ID
	}
	out.Next = out.Items[len(out.Items)-1].ID
	return out, nil
}

// RunDetail is a run with each attempt at each step.
type RunDetail struct {
	rankr.AutomationRun
	Steps []rankr.AutomationStep `json:"steps"`
}

// AutomationRun shows a run step by step.
func (a *App) AutomationRun(ctx context.Context, c Caller, id int64) (RunDetail, error) {
	r, steps, err := a.d.Store.AutomationRunGet(ctx, id)
	if err != nil {
		return RunDetail{}, err
	}
	if !c.Sees(r.LocationID) {
		return RunDetail{}, fmt.Errorf("run %d: %w", id, rankr.ErrNotFound)
	}
	return RunDetail{AutomationRun: r, Steps: nonNil(steps)}, nil
}

// AutomationRunRetry queues a failed or paused run again, to go on from
// the step that did not succeed (the steps that did are not run again).
func (a *App) AutomationRunRetry(ctx context.Context, c Caller, id int64) (rankr.AutomationRun, error) {
	if _, err := a.AutomationRun(ctx, c, id); err != nil {
		return rankr.AutomationRun{}, err
	}
	r, err := a.d.Store.AutomationRunRetry(ctx, id)
	if err != nil {
		return r, err
	}
	a.audit(ctx, c, "automation.run_retried", rankr.AuditTarget{Type: "automation_run", ID: strconv.FormatInt(id, 10), LocationID: r.LocationID},
		map[string]any{"automation": r.AutomationID, "version": r.Version})
	return r, nil
}

// AutomationPauses lists the locations whose automations GHL's refusals
// paused, of those the caller sees.
func (a *App) AutomationPauses(ctx context.Context, c Caller) ([]rankr.AutomationPause, error) {
	ps, err := a.d.Store.AutomationPauses(ctx)
	if err != nil {
		return nil, err
	}
	out := []rankr.AutomationPause{}
	for _, p := range ps {
		if c.Sees(p.LocationID) {
			out = append(out, p)
		}
	}
	return out, nil
}

// AutomationResume ends a location's pause by hand (reconnecting it ends
// it by itself); its paused runs go on.
func (a *App) AutomationResume(ctx context.Context, c Caller, loc string) (bool, error) {
	if err := c.visible(loc, "location "+loc); err != nil {
		return false, err
	}
	ok, err := a.d.Store.AutomationResume(ctx, loc)
	if err == nil && ok {
		a.audit(ctx, c, "automation.resumed", rankr.AuditTarget{Type: "connection", ID: loc, LocationID: loc}, nil)
	}
	return ok, err
}

// AlertAutomationsPaused mails the operators (when alerts are configured)
// that GHL's refusal paused a location's automations: once per location
// and hour, whatever number of runs meet the refusal.
func (a *App) AlertAutomationsPaused(ctx context.Context, loc, reason string) {
	if len(a.d.AlertTo) == 0 {
		a.log.Warn("automations paused for a location (no --alert-email to tell)", "location", loc, "reason", reason)
		return
	}
	rc := &catalog.RunCtx{Location: loc, Actor: rankr.AuditActor{Type: "system", ID: "automations"}}
	key := "automations-paused:" + loc + ":" + time.Now().UTC().Format("2006-01-02T15")
	_, err := a.queueMessages(ctx, rc, a.d.AlertTo, key, rankr.MessageNotice{Severity: "critical",
		Subject: "Automations paused for location " + loc,
		Text: "GHL refused the location's credential, so rankr paused its automations (their runs wait, nothing is lost):\n\n" +
			reason + "\n\nReconnect the location (rankr connect, or reinstall the app) and they go on by themselves; " +
			"rankr automations resume --location " + loc + " resumes them by hand."})
	if err != nil {
		a.log.Error("alerting that a location's automations are paused", "location", loc, "error", err)
	}
}
