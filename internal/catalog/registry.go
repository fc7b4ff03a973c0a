package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"

	"github.com/rankr/rankr/internal/rankr"
)

// Registry holds the items. It is built once, at start, and only read
// after that.
type Registry struct {
	byID   map[string]*entry // "key@N"
	latest map[string]*entry // key: its newest version
	order  []*entry          // as added
}

type entry struct {
	spec   Spec
	action Action // nil for a trigger

	once    sync.Once
	in, out *Schema
	err     error
}

// schemas compiles the item's schemas the first time they are needed.
func (e *entry) schemas() (in, out *Schema, err error) {
	e.once.Do(func() {
		if e.spec.Input != nil {
			if e.in, e.err = CompileSchema(e.spec.ID()+"/input", e.spec.Input); e.err != nil {
				return
			}
		}
		e.out, e.err = CompileSchema(e.spec.ID()+"/output", e.spec.Output)
	})
	return e.in, e.out, e.err
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byID: map[string]*entry{}, latest: map[string]*entry{}}
}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// AddAction registers an action.
func (r *Registry) AddAction(a Action) error {
	s := a.Spec()
	if s.Kind != KindAction {
		return fmt.Errorf("catalog: %s: an action's kind must be %q", s.ID(), KindAction)
	}
	if s.Input == nil || s.SampleInput == nil {
		return fmt.Errorf("catalog: %s: an action needs an input schema and a sample input", s.ID())
	}
	return r.add(&entry{spec: s, action: a})
}

// AddTrigger registers a trigger.
func (r *Registry) AddTrigger(s Spec) error {
	if s.Kind != KindTrigger {
		return fmt.Errorf("catalog: %s: a trigger's kind must be %q", s.ID(), KindTrigger)
	}
	return r.add(&entry{spec: s})
}

func (r *Registry) add(e *entry) error {
	s := e.spec
	switch {
	case !keyPattern.MatchString(s.Key):
		return fmt.Errorf("catalog: key %q: want dot-separated lowercase words", s.Key)
	case s.Version < 1:
		return fmt.Errorf("catalog: %s: the version starts at 1", s.Key)
	case s.Title == "" || s.Summary == "":
		return fmt.Errorf("catalog: %s: a title and a summary are required", s.ID())
	case s.Output == nil || s.Sample == nil:
		return fmt.Errorf("catalog: %s: an output schema and a sample are required", s.ID())
	case s.Scopes == nil:
		// An empty list says "no scope", which differs from "not said".
		return fmt.Errorf("catalog: %s: name the GHL scopes it needs (an empty list when none)", s.ID())
	case r.byID[s.ID()] != nil:
		return fmt.Errorf("catalog: %s is registered twice", s.ID())
	}
	r.byID[s.ID()] = e
	if l := r.latest[s.Key]; l == nil || l.spec.Version < s.Version {
		r.latest[s.Key] = e
	}
	r.order = append(r.order, e)
	return nil
}

// MustAdd registers actions and triggers that are part of the program;
// a bad one is a bug, found by the first test that builds the registry.
func (r *Registry) MustAdd(actions []Action, triggers []Spec) {
	for _, a := range actions {
		if err := r.AddAction(a); err != nil {
			panic(err)
		}
	}
	for _, t := range triggers {
		if err := r.AddTrigger(t); err != nil {
			panic(err)
		}
	}
}

// List returns the specs of one kind ("" for all), in the order they
// were added, every version.
func (r *Registry) List(kind Kind) []Spec {
	var out []Spec
	for _, e := range r.order {
		if kind == "" || e.spec.Kind == kind {
			out = append(out, e.spec)
		}
	}
	return out
}

// Len is how many items there are, every version counted.
func (r *Registry) Len() int { return len(r.order) }

func (r *Registry) lookup(id string) (*entry, error) {
	key, version, err := ParseID(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, rankr.ErrInvalid)
	}
	var e *entry
	if version == 0 {
		e = r.latest[key]
	} else {
		e = r.byID[id]
	}
	if e == nil {
		return nil, fmt.Errorf("catalog item %s: %w", id, rankr.ErrNotFound)
	}
	return e, nil
}

// Spec returns the spec of "key@N", or of key's newest version.
func (r *Registry) Spec(id string) (Spec, error) {
	e, err := r.lookup(id)
	if err != nil {
		return Spec{}, err
	}
	return e.spec, nil
}

// Schemas returns the compiled input (nil for a trigger) and output
// schemas of an item.
func (r *Registry) Schemas(id string) (in, out *Schema, err error) {
	e, err := r.lookup(id)
	if err != nil {
		return nil, nil, err
	}
	return e.schemas()
}

// InputError is an input its action's schema refuses.
type InputError struct {
	ID     string // the item
	Reason string // each failing place, by JSON pointer
}

func (e *InputError) Error() string { return e.ID + ": the input is not valid: " + e.Reason }

// Is makes an InputError a rankr.ErrInvalid.
func (e *InputError) Is(target error) bool { return target == rankr.ErrInvalid }

// ErrOutput marks an action whose output broke its own schema: a bug in
// rankr's action, not in the caller's input.
var ErrOutput = errors.New("the output does not match the item's schema")

// Run validates input against the action's input schema, runs it and
// validates what it answers. A GHL action whose answer breaks GHL's own
// spec keeps the answer and says so in the warnings: GHL's answers are
// what they are, and refusing them would lose them. rankr's own actions
// must match their schemas: a mismatch is an error.
func (r *Registry) Run(ctx context.Context, id string, rc *RunCtx, input json.RawMessage) (Result, error) {
	e, err := r.lookup(id)
	if err != nil {
		return Result{}, err
	}
	if e.action == nil {
		return Result{}, fmt.Errorf("%s is a trigger, not an action: %w", e.spec.ID(), rankr.ErrInvalid)
	}
	in, out, err := e.schemas()
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", e.spec.ID(), err)
	}
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	if err := in.Validate(input); err != nil {
		return Result{}, &InputError{ID: e.spec.ID(), Reason: err.Error()}
	}
	res, err := e.action.Run(ctx, rc, input)
	if err != nil {
		return res, err
	}
	if res.Output == nil {
		res.Output = json.RawMessage("null")
	}
	if err := out.Validate(res.Output); err != nil {
		if e.spec.Source != SourceGHLAPI {
			return res, fmt.Errorf("%s: %w: %s", e.spec.ID(), ErrOutput, err)
		}
		res.Warnings = append(res.Warnings, "GHL's answer does not match GHL's spec: "+err.Error())
	}
	res.Output = Redact(res.Output)
	return res, nil
}

// Keys returns every key, each once, sorted.
func (r *Registry) Keys() []string {
	keys := make([]string, 0, len(r.latest))
	for k := range r.latest {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
