package app

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
)

// Catalog is the operations catalog: GHL's 110 commerce operations and 15
// webhooks, rankr's own actions and the triggers it derives. It is built
// once; a bad item is a bug, and panics the first test that builds it.
func (a *App) Catalog() *catalog.Registry {
	a.catalogOnce.Do(func() {
		reg := catalog.NewRegistry()
		acts, trigs, err := catalog.GHL()
		if err != nil {
			panic(err)
		}
		reg.MustAdd(acts, trigs)
		reg.MustAdd(a.rankrActions(), append(TriggerSpecs(), scheduleTrigger()))
		a.catalog = reg
	})
	return a.catalog
}

// CatalogQuery selects catalog items.
type CatalogQuery struct {
	Kind   catalog.Kind   // "" for all
	Source catalog.Source // "" for all
	// Search keeps the items whose key, title or summary hold it (any
	// case).
	Search string
}

// CatalogList lists the catalog's items, in the catalog's order.
func (a *App) CatalogList(q CatalogQuery) ([]catalog.Spec, error) {
	switch q.Kind {
	case "", catalog.KindAction, catalog.KindTrigger:
	default:
		return nil, fieldErr("kind", "want action or trigger, not %q", q.Kind)
	}
	search := strings.ToLower(q.Search)
	out := []catalog.Spec{}
	for _, s := range a.Catalog().List(q.Kind) {
		if q.Source != "" && s.Source != q.Source {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(s.Key+"\n"+s.Title+"\n"+s.Summary), search) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// CatalogItem returns one item by "key@N", or by key (its newest
// version).
func (a *App) CatalogItem(id string) (catalog.Spec, error) { return a.Catalog().Spec(id) }

// CatalogRunRequest asks to run an action.
type CatalogRunRequest struct {
	// Item is "key@N" or a key.
	Item     string
	Location string
	Input    json.RawMessage
	// DryRun sends nothing that changes anything: reads run for real,
	// writes answer the request they would send.
	DryRun bool
}

// CatalogRun is what running an action did.
type CatalogRun struct {
	Item     string    `json:"item"`
	Location string    `json:"locationId"`
	Started  time.Time `json:"startedAt"`
	Millis   int64     `json:"ms"`
	catalog.Result
}

// CatalogRun runs a catalog action for a location, with its input
// validated against the action's schema. A run that may change
// something (not a dry run, not a read) is in the audit log, whether it
// worked or not, with the request it sent (secrets redacted).
func (a *App) CatalogRun(ctx context.Context, c Caller, r CatalogRunRequest) (CatalogRun, error) {
	spec, err := a.Catalog().Spec(r.Item)
	if err != nil {
		return CatalogRun{}, err
	}
	if spec.Kind != catalog.KindAction {
		return CatalogRun{}, fieldErr("item", "%s is a trigger: only actions run", spec.ID())
	}
	loc, err := c.OneLocation(r.Location, "locationId")
	if err != nil {
		return CatalogRun{}, err
	}
	if loc == "" {
		return CatalogRun{}, fieldErr("locationId", "name the location to run %s for", spec.ID())
	}
	rc := &catalog.RunCtx{Location: loc, DryRun: r.DryRun, Actor: c.Actor,
		IdemKey: "run:" + spec.ID() + ":" + loc + ":" + time.Now().UTC().Format(time.RFC3339Nano)}
	if spec.Source == catalog.SourceGHLAPI {
		if rc.GHL, err = a.ghlFor(ctx, loc); err != nil {
			return CatalogRun{}, err
		}
	}
	run := CatalogRun{Item: spec.ID(), Location: loc, Started: time.Now().UTC()}
	res, err := a.Catalog().Run(ctx, spec.ID(), rc, r.Input)
	run.Millis = time.Since(run.Started).Milliseconds()
	run.Result = res
	if !r.DryRun && spec.Effect != catalog.EffectRead {
		a.auditRun(ctx, c, run, err)
	}
	return run, err
}

// ghlFor is the GHL client of a location's connection.
func (a *App) ghlFor(ctx context.Context, loc string) (catalog.Invoker, error) {
	if a.d.GHL == nil {
		return nil, unavailable("GHL actions", "the master key opens GHL tokens: run with it")
	}
	conn, err := a.d.Store.ConnectionGet(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("location %s: %w", loc, err)
	}
	return a.d.GHL(conn), nil
}

// auditRun records a run that may have changed something.
func (a *App) auditRun(ctx context.Context, c Caller, run CatalogRun, runErr error) {
	outcome, code := rankr.AuditSuccess, ""
	if runErr != nil {
		outcome, code = rankr.AuditFailure, truncateText(runErr.Error(), 300)
	}
	changes, err := json.Marshal(struct {
		Request *catalog.Request `json:"request,omitempty"`
	}{run.Request})
	if err != nil {
		changes = nil
	}
	a.record(ctx, c, rankr.AuditEntry{Action: "catalog.run", Outcome: outcome, Code: code, Changes: changes,
		Target: rankr.AuditTarget{Type: "catalog_item", ID: run.Item, LocationID: run.Location}})
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// CatalogExport is the whole catalog as one document: what feeds the docs
// and GHL's marketplace definitions.
type CatalogExport struct {
	Version string         `json:"version"`
	Counts  map[string]int `json:"counts"`
	Items   []catalog.Spec `json:"items"`
}

// CatalogExport returns every item with its counts by kind and source.
func (a *App) CatalogExport() CatalogExport {
	items := a.Catalog().List("")
	out := CatalogExport{Version: "1", Counts: map[string]int{"total": len(items)}, Items: items}
	for _, s := range items {
		out.Counts[string(s.Kind)]++
		out.Counts[string(s.Kind)+"."+string(s.Source)]++
	}
	return out
}

// schemaOf is the JSON Schema of what encoding/json writes for a value of
// type T: made from the type itself, so that it cannot drift from it.
// Fields the type always writes are required; nothing else is allowed.
func schemaOf[T any]() json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, Anonymous: true, Mapper: schemaMapper}
	s := r.Reflect(new(T))
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	moneyType = reflect.TypeFor[Money]()
	rawType   = reflect.TypeFor[json.RawMessage]()
)

// schemaMapper gives the types whose JSON is not their Go shape.
func schemaMapper(t reflect.Type) *jsonschema.Schema {
	switch t {
	case moneyType:
		return &jsonschema.Schema{Type: "number", Description: "an amount in major units (150.10)"}
	case rawType:
		return &jsonschema.Schema{} // any JSON
	}
	return nil
}

// scheduleTrigger is the clock: an automation on it runs at each slot of
// its trigger's schedule (a 5-field cron line, in its time zone), once per
// location it runs for.
func scheduleTrigger() catalog.Spec {
	slot := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	return catalog.Spec{Key: automation.ScheduleTrigger, Version: 1, Kind: catalog.KindTrigger, Source: catalog.SourceSchedule,
		Title: "On a schedule",
		Summary: "Fires at each time of the automation's schedule (trigger.schedule, a 5-field cron line such as \"0 8 * * *\", " +
			"in trigger.timezone, UTC by default), once per location; a slot missed while rankr was down fires within the hour after.",
		Output: schemaOf[automation.SchedulePayload](), Scopes: []string{},
		Sample: mustMarshal(automation.SchedulePayload{Slot: slot, Schedule: "0 8 * * *", Timezone: "UTC"})}
}
