package catalog

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
)

// ghlData is generated from GHL's OpenAPI files and webhook schemas by
// TestGHLCatalogIsTheSpecs (gen_test.go), which also holds it current.
//
//go:embed ghl.gen.json
var ghlData []byte

// ghlFile is the shape of ghl.gen.json.
type ghlFile struct {
	Actions []struct {
		Key          string          `json:"key"`
		Operation    string          `json:"operation"`
		Title        string          `json:"title"`
		Summary      string          `json:"summary"`
		Effect       Effect          `json:"effect"`
		Params       []ghlParam      `json:"params"`
		BodyLocation []string        `json:"bodyLocation"`
		Input        json.RawMessage `json:"input"`
		Output       json.RawMessage `json:"output"`
		SampleInput  json.RawMessage `json:"sampleInput"`
		Sample       json.RawMessage `json:"sample"`
	} `json:"actions"`
	Triggers []struct {
		Key     string          `json:"key"`
		Event   string          `json:"event"`
		Title   string          `json:"title"`
		Summary string          `json:"summary"`
		Scopes  []string        `json:"scopes"`
		Output  json.RawMessage `json:"output"`
		Sample  json.RawMessage `json:"sample"`
	} `json:"triggers"`
}

// ghlParam is a path or query parameter of an operation.
type ghlParam struct {
	Name string `json:"name"`
	In   string `json:"in"` // path or query
	// Location: the parameter names the location, and is filled with the
	// run's when the input leaves it out.
	Location bool `json:"location"`
}

// GHL returns the actions for GHL's 110 commerce operations and the
// triggers for its 15 commerce webhooks.
func GHL() ([]Action, []Spec, error) {
	var f ghlFile
	if err := json.Unmarshal(ghlData, &f); err != nil {
		return nil, nil, fmt.Errorf("catalog: ghl.gen.json: %w", err)
	}
	ops := map[string]ghl.Operation{}
	for _, op := range ghl.Operations() {
		ops[op.Name] = op
	}
	actions := make([]Action, 0, len(f.Actions))
	for _, a := range f.Actions {
		op, ok := ops[a.Operation]
		if !ok {
			return nil, nil, fmt.Errorf("catalog: ghl.gen.json: %s names operation %s, which the ghl client does not have", a.Key, a.Operation)
		}
		idem := IdemNone
		if op.Idempotent() {
			idem = IdemNatural
		}
		scopes := []string{}
		if op.Scope != "" {
			scopes = []string{op.Scope}
		}
		act := &ghlAction{op: op, params: a.Params, bodyLocation: a.BodyLocation, spec: Spec{
			Key: a.Key, Version: 1, Kind: KindAction, Source: SourceGHLAPI, Title: a.Title, Summary: a.Summary,
			Input: a.Input, Output: a.Output, SampleInput: a.SampleInput, Sample: a.Sample, Scopes: scopes,
			Effect: a.Effect, Idempotency: idem, Operation: op.Name,
		}}
		act.bodyAltType = bytes.Contains(a.Input, []byte(`"altType"`))
		actions = append(actions, act)
	}
	triggers := make([]Spec, 0, len(f.Triggers))
	for _, t := range f.Triggers {
		triggers = append(triggers, Spec{Key: t.Key, Version: 1, Kind: KindTrigger, Source: SourceGHLWebhook,
			Title: t.Title, Summary: t.Summary, Output: t.Output, Sample: t.Sample, Scopes: t.Scopes, Fires: []string{t.Event}})
	}
	return actions, triggers, nil
}

// ghlAction sends one GHL operation, its input mapped to the path, the
// query and the body as the spec places them.
type ghlAction struct {
	spec         Spec
	op           ghl.Operation
	params       []ghlParam
	bodyLocation []string
	bodyAltType  bool // the operation's input knows altType
}

func (a *ghlAction) Spec() Spec { return a.spec }

func (a *ghlAction) Run(ctx context.Context, rc *RunCtx, input json.RawMessage) (Result, error) {
	call, err := a.call(rc.Location, input)
	if err != nil {
		return Result{}, err
	}
	method, target, err := a.op.Target(call)
	if err != nil {
		return Result{}, &InputError{ID: a.spec.ID(), Reason: err.Error()}
	}
	req := &Request{Method: method, Target: target, Body: Redact(call.Body)}
	if rc.DryRun && a.spec.Effect != EffectRead {
		return Result{Output: a.spec.Sample, DryRun: true, Request: req,
			Summary: "dry run: would send " + method + " " + target}, nil
	}
	if rc.GHL == nil {
		return Result{Request: req}, fmt.Errorf("%s: location %s has no GHL connection: %w", a.spec.ID(), rc.Location, rankr.ErrUnavailable)
	}
	out, err := rc.GHL.Invoke(ctx, a.op, call)
	if err != nil {
		return Result{Request: req}, fmt.Errorf("%s: %w", a.spec.ID(), err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		out = json.RawMessage("null")
	}
	return Result{Output: out, Request: req, Summary: "sent " + method + " " + target}, nil
}

// call maps a validated input to the request. A location parameter left
// out is the run's location; one given must be it, so that an action run
// for one location never reaches another's records.
func (a *ghlAction) call(loc string, input json.RawMessage) (ghl.Call, error) {
	if loc == "" {
		return ghl.Call{}, &InputError{ID: a.spec.ID(), Reason: "a location is required"}
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(input, &in); err != nil {
		return ghl.Call{}, &InputError{ID: a.spec.ID(), Reason: "the input must be a JSON object: " + err.Error()}
	}
	call := ghl.Call{Location: loc, Path: map[string]string{}, Query: url.Values{}}
	for _, p := range a.params {
		raw, ok := in[p.Name]
		if !ok {
			switch {
			case p.Location:
				raw = mustJSON(loc)
			case p.Name == "altType":
				raw = mustJSON("location")
			default:
				continue
			}
		}
		values, err := paramValues(raw)
		if err != nil {
			return ghl.Call{}, &InputError{ID: a.spec.ID(), Reason: p.Name + ": " + err.Error()}
		}
		if p.Location && (len(values) != 1 || values[0] != loc) {
			return ghl.Call{}, &InputError{ID: a.spec.ID(), Reason: fmt.Sprintf("%s: %s is not the run's location %s", p.Name, strings.Join(values, ","), loc)}
		}
		if p.In == "path" {
			call.Path[p.Name] = strings.Join(values, ",")
			continue
		}
		for _, v := range values {
			call.Query.Add(p.Name, v)
		}
	}
	body, ok := in["body"]
	if !ok && len(a.bodyLocation) > 0 {
		body, ok = json.RawMessage("{}"), true
	}
	if ok {
		var err error
		if body, err = a.fillBodyLocation(loc, body); err != nil {
			return ghl.Call{}, err
		}
		call.Body = body
	}
	return call, nil
}

// fillBodyLocation sets the body's location fields the input left out,
// and refuses one that names another location.
func (a *ghlAction) fillBodyLocation(loc string, body json.RawMessage) (json.RawMessage, error) {
	if len(a.bodyLocation) == 0 {
		return body, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return body, nil // the schema said what the body is; nothing to fill
	}
	for _, name := range a.bodyLocation {
		raw, ok := m[name]
		if !ok {
			m[name] = mustJSON(loc)
			if name == "altId" && a.bodyAltType {
				if _, ok := m["altType"]; !ok {
					m["altType"] = mustJSON("location")
				}
			}
			continue
		}
		var v string
		if json.Unmarshal(raw, &v) != nil || v != loc {
			return nil, &InputError{ID: a.spec.ID(), Reason: fmt.Sprintf("body.%s: %s is not the run's location %s", name, raw, loc)}
		}
	}
	return json.Marshal(m)
}

// paramValues turns a parameter's JSON value into its text form: a
// string as it is, a number or boolean as written, an array as its
// elements (a repeated query parameter).
func paramValues(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	case raw[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		var out []string
		for _, it := range items {
			vs, err := paramValues(it)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		}
		return out, nil
	case raw[0] == '{':
		return nil, fmt.Errorf("an object cannot be sent as a parameter")
	}
	return []string{string(raw)}, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
