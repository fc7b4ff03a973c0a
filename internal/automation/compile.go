package automation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rankr/rankr/internal/suggest"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
)

// Program is an automation compiled against the catalog: every
// expression compiled, every path checked, ready to evaluate.
type Program struct {
	Def     *Definition
	Trigger catalog.Spec
	// Actions are the steps' actions, one per step, in order.
	Actions []catalog.Spec

	filter      *program
	ifs         []*program // nil: no condition
	with        []*valueTree
	concurrency *template
}

// checkCron accepts the 5-field cron of the schedule triggers; the time
// zone has its own field, so CRON_TZ= prefixes are refused.
func checkCron(s string) error {
	if len(strings.Fields(s)) != 5 {
		return fmt.Errorf("%q: want 5 fields (minute hour day-of-month month day-of-week)", s)
	}
	if _, err := cron.ParseStandard(s); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	return nil
}

// compiler gathers the problems of one file.
type compiler struct {
	def   *Definition
	reg   *catalog.Registry
	probs []Problem
}

func (c *compiler) add(place, format string, args ...any) {
	c.probs = append(c.probs, Problem{Place: place, Line: c.def.Line(placePointer(place)), Message: fmt.Sprintf(format, args...)})
}

// scope is what an expression in one place may read.
type scope struct {
	place string
	// trigger: the trigger's payload schema; nil when it cannot be known
	// (an unknown trigger: its own problem is already reported).
	trigger    any
	triggerID  string
	steps      bool // steps may be read at all
	stepBefore int  // only steps[0..stepBefore) may be read
}

// Compile checks a definition against the catalog: the trigger and the
// actions exist, the header and the schedule fit, every expression
// compiles and reads only fields the schemas have, and every step's input
// mapping fits its action's input schema. The error is a *CompileError
// listing every problem.
func Compile(def *Definition, reg *catalog.Registry) (*Program, error) {
	c := &compiler{def: def, reg: reg}
	p := &Program{Def: def}
	if def.APIVersion != APIVersion {
		c.add("apiVersion", "want %q", APIVersion)
	}
	if def.Kind != Kind {
		c.add("kind", "want %q", Kind)
	}

	var trigSchema any
	ts, err := reg.Spec(def.Trigger.Key)
	switch {
	case err != nil:
		c.add("trigger.key", "%s%s", unknownItem(err, def.Trigger.Key, "trigger"), nearestNames(reg, def.Trigger.Key, catalog.KindTrigger))
	case ts.Kind != catalog.KindTrigger:
		c.add("trigger.key", "%s is an action, not a trigger", ts.ID())
	default:
		p.Trigger = ts
		trigSchema = decodeSchema(ts.Output)
		isSched := ts.Source == catalog.SourceSchedule
		switch {
		case isSched && def.Trigger.Schedule == "":
			c.add("trigger.schedule", "%s needs a schedule (5-field cron, e.g. \"0 8 * * *\")", ts.ID())
		case !isSched && def.Trigger.Schedule != "":
			c.add("trigger.schedule", "only schedule triggers take a schedule; %s fires on its own", ts.ID())
		case !isSched && def.Trigger.Timezone != "":
			c.add("trigger.timezone", "only schedule triggers take a time zone")
		}
	}
	trigID := def.Trigger.Key
	if p.Trigger.Key != "" {
		trigID = p.Trigger.ID()
	}

	if def.Trigger.Filter != "" {
		sc := scope{place: "trigger.filter", trigger: trigSchema, triggerID: trigID}
		p.filter = c.expr(sc, def.Trigger.Filter, true)
	}

	outputs := make([]any, len(def.Steps)) // each step's output schema
	p.Actions = make([]catalog.Spec, len(def.Steps))
	p.ifs = make([]*program, len(def.Steps))
	p.with = make([]*valueTree, len(def.Steps))
	for i, st := range def.Steps {
		place := fmt.Sprintf("steps[%d]", i)
		as, err := reg.Spec(st.Action)
		switch {
		case err != nil:
			c.add(place+".action", "%s%s", unknownItem(err, st.Action, "action"), nearestNames(reg, st.Action, catalog.KindAction))
		case as.Kind != catalog.KindAction:
			c.add(place+".action", "%s is a trigger, not an action", as.ID())
		default:
			p.Actions[i] = as
			outputs[i] = decodeSchema(as.Output)
		}
		sc := scope{trigger: trigSchema, triggerID: trigID, steps: true, stepBefore: i}
		if st.If != "" {
			sc.place = place + ".if"
			p.ifs[i] = c.expr(sc, st.If, true)
		}
		sc.place = place + ".with"
		p.with[i] = c.withTree(sc, st.With, outputs)
		if p.Actions[i].Key != "" && p.with[i] != nil {
			c.checkInput(place+".with", p.Actions[i], st.With, p.with[i])
		}
	}
	// Paths into steps are checked once every step's schema is known.
	for i := range def.Steps {
		c.checkStepPaths(p, i, outputs)
	}

	if cd := def.Concurrency; cd != nil {
		if cd.Limit != 1 {
			c.add("concurrency.limit", "must be 1 (one run at a time per key) in %s", APIVersion)
		}
		sc := scope{place: "concurrency.key", trigger: trigSchema, triggerID: trigID}
		t, err := parseTemplate(cd.Key)
		if err != nil {
			c.add(sc.place, "%v", err)
		} else {
			for _, pr := range t.programs() {
				c.checkPaths(sc, pr, nil)
			}
			p.concurrency = t
		}
	}
	if len(c.probs) > 0 {
		return nil, &CompileError{Name: def.ID, Problems: c.probs}
	}
	return p, nil
}

// expr compiles one expression and checks its trigger paths now; its step
// paths are checked by checkStepPaths.
func (c *compiler) expr(sc scope, src string, asBool bool) *program {
	if hasExpr(src) {
		c.add(sc.place, "write the expression itself, without ${{ }}")
		return nil
	}
	pr, err := compileExpr(src, asBool)
	if err != nil {
		c.add(sc.place, "%v", err)
		return nil
	}
	c.checkPaths(sc, pr, nil)
	return pr
}

// checkPaths checks an expression's paths; outputs nil: only the trigger
// and the scalars (steps paths are checked later, with every output).
func (c *compiler) checkPaths(sc scope, pr *program, outputs []any) {
	for _, pt := range pr.paths {
		switch pt.root {
		case "trigger":
			if outputs != nil || sc.trigger == nil {
				continue
			}
			c.walk(sc.place, pt, pt.segs, sc.trigger, sc.trigger, "the payload of "+sc.triggerID)
		case "steps":
			if outputs == nil {
				if !sc.steps {
					c.add(sc.place, "%s: no step has run yet here", pt)
				}
				continue
			}
			c.stepPath(sc, pt, outputs)
		case "location":
			if len(pt.segs) > 0 && outputs == nil {
				c.add(sc.place, "%s: location is a string (the GHL location id)", pt)
			}
		case "automation":
			if outputs == nil && len(pt.segs) > 0 && !pt.segs[0].dynamic && pt.segs[0].name != "id" && pt.segs[0].name != "version" {
				c.add(sc.place, "%s: no such field (automation has id, version)", pt)
			}
		}
	}
}

func (c *compiler) stepPath(sc scope, pt path, outputs []any) {
	if len(pt.segs) == 0 {
		return
	}
	s0 := pt.segs[0]
	if s0.dynamic || s0.isIndex {
		c.add(sc.place, "%s: name the step (steps.<id>)", pt)
		return
	}
	idx := slices.IndexFunc(c.def.Steps, func(s StepDef) bool { return s.ID == s0.name })
	switch {
	case idx < 0:
		var ids []string
		for _, s := range c.def.Steps[:sc.stepBefore] {
			ids = append(ids, s.ID)
		}
		c.add(sc.place, "%s: no step %q (earlier steps: %s)", pt, s0.name, listOrNone(ids))
		return
	case idx >= sc.stepBefore:
		c.add(sc.place, "%s: step %q runs at or after this one (steps[%d]); only earlier steps can be read", pt, s0.name, idx)
		return
	}
	if len(pt.segs) == 1 {
		return
	}
	s1 := pt.segs[1]
	switch {
	case s1.dynamic:
	case s1.name == "status" || s1.name == "error":
		if len(pt.segs) > 2 {
			c.add(sc.place, "%s: steps.%s.%s is a string", pt, s0.name, s1.name)
		}
	case s1.name == "output":
		if outputs[idx] != nil {
			c.walk(sc.place, pt, pt.segs[2:], outputs[idx], outputs[idx], "the output of "+c.def.Steps[idx].Action)
		}
	default:
		c.add(sc.place, "%s: no such field (a step has status, output, error)", pt)
	}
}

func (c *compiler) checkStepPaths(p *Program, i int, outputs []any) {
	sc := scope{steps: true, stepBefore: i}
	if pr := p.ifs[i]; pr != nil {
		sc.place = fmt.Sprintf("steps[%d].if", i)
		c.checkPaths(sc, pr, outputs)
	}
	if t := p.with[i]; t != nil {
		var walk func(v *valueTree, place string)
		walk = func(v *valueTree, place string) {
			switch v.kind {
			case 't':
				for _, pr := range v.tmpl.programs() {
					c.checkPaths(scope{place: place, steps: true, stepBefore: i}, pr, outputs)
				}
			case 'o':
				for _, k := range sortedKeys(v.obj) {
					walk(v.obj[k], place+"."+k)
				}
			case 'a':
				for j, e := range v.arr {
					walk(e, fmt.Sprintf("%s[%d]", place, j))
				}
			}
		}
		walk(t, fmt.Sprintf("steps[%d].with", i))
	}
}

// withTree compiles a step's `with`, checking the trigger paths of its
// templates.
func (c *compiler) withTree(sc scope, raw json.RawMessage, _ []any) *valueTree {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		c.add(sc.place, "not JSON: %v", err)
		return nil
	}
	ok := true
	var build func(v any, place string) *valueTree
	build = func(v any, place string) *valueTree {
		switch x := v.(type) {
		case string:
			if !hasExpr(x) {
				return &valueTree{kind: 'l', lit: x}
			}
			t, err := parseTemplate(x)
			if err != nil {
				c.add(place, "%v", err)
				ok = false
				return &valueTree{kind: 'l', lit: x}
			}
			for _, pr := range t.programs() {
				c.checkPaths(scope{place: place, trigger: sc.trigger, triggerID: sc.triggerID, steps: true, stepBefore: sc.stepBefore}, pr, nil)
			}
			return &valueTree{kind: 't', tmpl: t}
		case map[string]any:
			n := &valueTree{kind: 'o', obj: map[string]*valueTree{}}
			for _, k := range sortedKeys(x) {
				n.obj[k] = build(x[k], place+"."+k)
			}
			return n
		case []any:
			n := &valueTree{kind: 'a'}
			for i, e := range x {
				n.arr = append(n.arr, build(e, fmt.Sprintf("%s[%d]", place, i)))
			}
			return n
		}
		return &valueTree{kind: 'l', lit: v}
	}
	t := build(v, sc.place)
	if !ok {
		return nil
	}
	return t
}

// checkInput checks a step's mapping against its action's input schema:
// the required properties are there, no property the schema forbids is,
// and every value written as a literal is valid for its property.
func (c *compiler) checkInput(place string, as catalog.Spec, raw json.RawMessage, t *valueTree) {
	root, _ := decodeSchema(as.Input).(map[string]any)
	if root == nil {
		return
	}
	if t.kind != 'o' {
		if t.kind == 'l' {
			c.add(place, "the input of %s is an object of fields", as.ID())
		}
		return
	}
	props, _ := root["properties"].(map[string]any)
	var req []string
	if r, ok := root["required"].([]any); ok {
		for _, x := range r {
			if s, ok := x.(string); ok {
				req = append(req, s)
			}
		}
	}
	for _, k := range req {
		if _, ok := t.obj[k]; !ok {
			c.add(place, "%s is required by %s%s", k, as.ID(), describe(props, req))
		}
	}
	closed := root["additionalProperties"] == false
	for _, k := range sortedKeys(t.obj) {
		ps, known := props[k]
		if !known {
			if closed {
				c.add(place+"."+k, "%s takes no field %q%s", as.ID(), k, describe(props, req))
			}
			continue
		}
		v := t.obj[k]
		if v.hasExpr() {
			continue
		}
		sub := map[string]any{}
		if m, ok := ps.(map[string]any); ok {
			for kk, vv := range m {
				sub[kk] = vv
			}
		} else if ps == false {
			c.add(place+"."+k, "%s forbids %q", as.ID(), k)
			continue
		} else {
			continue
		}
		if defs, ok := root["$defs"]; ok {
			sub["$defs"] = defs
		}
		sb, _ := json.Marshal(sub)
		s, err := catalog.CompileSchema(as.ID()+"/input/"+k, sb)
		if err != nil {
			continue // the catalog's own schema is tested where it is written
		}
		lit, _ := v.eval(nil)
		lb, _ := json.Marshal(lit)
		if err := s.Validate(lb); err != nil {
			c.add(place+"."+k, "%s", strings.TrimPrefix(err.Error(), "/: "))
		}
	}
}

// describe lists an input's fields, the required ones marked.
func describe(props map[string]any, req []string) string {
	if len(props) == 0 {
		return " (it takes no fields)"
	}
	var names []string
	for _, k := range sortedKeys(props) {
		if slices.Contains(req, k) {
			k += "*"
		}
		names = append(names, k)
	}
	return " (fields: " + strings.Join(names, ", ") + "; * required)"
}

func unknownItem(err error, id, kind string) string {
	if errors.Is(err, rankr.ErrNotFound) {
		return fmt.Sprintf("no %s %s in the catalog", kind, id)
	}
	return err.Error()
}

// nearestNames names the catalog's items of a kind nearest to a mistyped key.
func nearestNames(reg *catalog.Registry, id string, kind catalog.Kind) string {
	key, _, _ := strings.Cut(id, "@")
	var names []string
	for _, k := range reg.Keys() {
		if s, err := reg.Spec(k); err == nil && s.Kind == kind {
			names = append(names, k)
		}
	}
	near := nearest(key, names, 3)
	if len(near) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(near, ", ") + "?)"
}

// decodeSchema decodes a JSON Schema for walking, nil when absent.
func decodeSchema(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	return v
}

// walk follows a path's segments through a schema; a segment the schema
// has no place for is a problem naming the path and what is there.
func (c *compiler) walk(place string, pt path, segs []seg, sch, root any, of string) {
	cands := []any{sch}
	for i, s := range segs {
		if s.dynamic {
			return
		}
		var next []any
		var open bool
		var fields []string
		var kinds []string
		for _, cand := range cands {
			for _, b := range branches(cand, root, 0) {
				sub, o, fs, kind := step(b, s)
				if o {
					open = true
				}
				next = append(next, sub...)
				fields = append(fields, fs...)
				if kind != "" {
					kinds = append(kinds, kind)
				}
			}
		}
		if open {
			return
		}
		if len(next) == 0 {
			upTo := path{root: pt.root, segs: pt.segs[:len(pt.segs)-len(segs)+i]}
			parent := upTo.String()
			if j := strings.LastIndex(parent, "."); j >= 0 {
				parent = parent[j+1:] // "items[0]", not the whole path again
			}
			switch {
			case s.isIndex && len(kinds) > 0:
				c.add(place, "%s: %s is %s, not an array, in %s", pt, upTo, strings.Join(dedupe(kinds), " or "), of)
			case len(fields) > 0:
				fields = dedupe(fields)
				c.add(place, "%s: no such field in %s (%s has %s)", pt, of, parent, fieldList(s.name, fields))
			case len(kinds) > 0:
				c.add(place, "%s: %s is %s, it has no fields, in %s", pt, upTo, strings.Join(dedupe(kinds), " or "), of)
			default:
				c.add(place, "%s: no such field in %s", pt, of)
			}
			return
		}
		cands = next
	}
}

// branches expands a schema into the alternatives a value may match:
// $ref followed, anyOf/oneOf/allOf each a branch (a path valid in any
// branch passes).
func branches(sch, root any, depth int) []any {
	if depth > 16 {
		return []any{true}
	}
	m, ok := sch.(map[string]any)
	if !ok {
		return []any{sch}
	}
	var out []any
	if ref, ok := m["$ref"].(string); ok {
		if t := resolveRef(ref, root); t != nil {
			out = append(out, branches(t, root, depth+1)...)
		} else {
			out = append(out, true) // a reference we cannot follow: trust it
		}
	}
	for _, kw := range []string{"anyOf", "oneOf", "allOf"} {
		if bs, ok := m[kw].([]any); ok {
			for _, b := range bs {
				out = append(out, branches(b, root, depth+1)...)
			}
		}
	}
	// The schema's own keywords are a branch too, unless it only combines.
	rest := 0
	for k := range m {
		switch k {
		case "$ref", "anyOf", "oneOf", "allOf", "$schema", "$id", "$defs", "definitions", "description", "title", "$comment", "examples", "default":
		default:
			rest++
		}
	}
	if rest > 0 || len(out) == 0 {
		out = append(out, m)
	}
	return out
}

func resolveRef(ref string, root any) any {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[tok]
	}
	return cur
}

// step follows one segment into one branch: the sub-schemas it leads to,
// or open when anything is allowed there; else the fields it has, or the
// kind of value it is.
func step(sch any, s seg) (subs []any, open bool, fields []string, kind string) {
	switch x := sch.(type) {
	case bool:
		return nil, x, nil, ""
	case map[string]any:
		types := typesOf(x)
		if s.isIndex {
			if len(types) > 0 && !slices.Contains(types, "array") {
				return nil, false, nil, article(types)
			}
			if pi, ok := x["prefixItems"].([]any); ok && s.index >= 0 && s.index < len(pi) {
				return []any{pi[s.index]}, false, nil, ""
			}
			if it, ok := x["items"]; ok {
				if it == false {
					return nil, false, nil, ""
				}
				return []any{it}, false, nil, ""
			}
			return nil, true, nil, ""
		}
		props, hasProps := x["properties"].(map[string]any)
		if p, ok := props[s.name]; ok {
			return []any{p}, false, nil, ""
		}
		if pp, ok := x["patternProperties"].(map[string]any); ok {
			for pat, sub := range pp {
				if re, err := regexp.Compile(pat); err == nil && re.MatchString(s.name) {
					subs = append(subs, sub)
				}
			}
			if len(subs) > 0 {
				return subs, false, nil, ""
			}
		}
		if len(types) > 0 && !slices.Contains(types, "object") {
			return nil, false, nil, article(types)
		}
		ap, hasAP := x["additionalProperties"]
		switch {
		case hasAP && ap == false:
		case hasAP && ap == true:
			return nil, true, nil, ""
		case hasAP:
			return []any{ap}, false, nil, ""
		case !hasProps && x["patternProperties"] == nil:
			// An object with no fields listed (or no type at all): its
			// fields are not known, so any is accepted.
			return nil, true, nil, ""
		}
		for k := range props {
			fields = append(fields, k)
		}
		return nil, false, fields, ""
	}
	return nil, true, nil, ""
}

func typesOf(m map[string]any) []string {
	switch t := m["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func article(types []string) string {
	var out []string
	for _, t := range types {
		if t == "null" {
			continue
		}
		switch t[0] {
		case 'a', 'e', 'i', 'o', 'u':
			out = append(out, "an "+t)
		default:
			out = append(out, "a "+t)
		}
	}
	if len(out) == 0 {
		return "null"
	}
	return strings.Join(out, " or ")
}

// fieldList names the fields, the nearest to the one asked for first,
// cut at eight.
func fieldList(asked string, fields []string) string {
	sort.Strings(fields)
	near := nearest(asked, fields, 2)
	ordered := slices.Clone(near)
	for _, f := range fields {
		if !slices.Contains(ordered, f) {
			ordered = append(ordered, f)
		}
	}
	if len(ordered) > 8 {
		ordered = append(ordered[:8], "…")
	}
	return strings.Join(ordered, ", ")
}

// nearest returns up to n names within a small edit distance of s.
func nearest(s string, names []string, n int) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, name := range names {
		d := suggest.Distance(strings.ToLower(s), strings.ToLower(name))
		if d <= max(2, len(s)/4) && name != s {
			cs = append(cs, cand{name, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

func dedupe(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Filter evaluates the trigger's filter (true when there is none). The
// verdict says what it evaluated to and the values of the paths it read,
// so that a skipped run answers "why didn't it run?".
func (p *Program) Filter(env Env) (ok bool, verdict string, err error) {
	if p.filter == nil {
		return true, "no filter", nil
	}
	vars := env.vars()
	v, err := p.filter.run(vars)
	if err != nil {
		return false, p.filter.src + " → error: " + err.Error(), fmt.Errorf("trigger.filter: %w", err)
	}
	b, _ := v.(bool)
	verdict = fmt.Sprintf("%s → %t", p.filter.src, b)
	var vals []string
	seen := map[string]bool{}
	for _, pt := range p.filter.paths {
		name := pt.String()
		if seen[name] || strings.Contains(name, "[…]") {
			continue
		}
		seen[name] = true
		x, found := lookup(vars, pt)
		vals = append(vals, name+" = "+formatValue(x, found))
	}
	if len(vals) > 0 {
		verdict += " (" + strings.Join(vals, ", ") + ")"
	}
	return b, verdict, nil
}

// StepIf evaluates step i's condition (true when it has none).
func (p *Program) StepIf(i int, env Env) (bool, error) {
	if i < 0 || i >= len(p.ifs) {
		return false, fmt.Errorf("no step %d: %w", i, rankr.ErrInvalid)
	}
	if p.ifs[i] == nil {
		return true, nil
	}
	v, err := p.ifs[i].run(env.vars())
	if err != nil {
		return false, fmt.Errorf("steps[%d].if: %w", i, err)
	}
	b, _ := v.(bool)
	return b, nil
}

// StepInput resolves step i's `with` into the action's input: a string
// that is one ${{ expr }} becomes the expression's value, of any JSON type;
// a string with text around ${{ }} is interpolated (non-strings formatted
// as JSON); objects and arrays are resolved inside.
func (p *Program) StepInput(i int, env Env) (json.RawMessage, error) {
	if i < 0 || i >= len(p.with) {
		return nil, fmt.Errorf("no step %d: %w", i, rankr.ErrInvalid)
	}
	if p.with[i] == nil {
		return json.RawMessage("{}"), nil
	}
	v, err := p.with[i].eval(env.vars())
	if err != nil {
		return nil, fmt.Errorf("steps[%d].with: %w", i, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("steps[%d].with: encoding the input: %w", i, err)
	}
	return b, nil
}

// ConcurrencyKey evaluates the concurrency key ("" when there is none).
func (p *Program) ConcurrencyKey(env Env) (string, error) {
	if p.concurrency == nil {
		return "", nil
	}
	v, err := p.concurrency.eval(env.vars())
	if err != nil {
		return "", fmt.Errorf("concurrency.key: %w", err)
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("concurrency.key: %w", err)
	}
	return string(b), nil
}

// Scopes returns every GHL scope the trigger and the steps need, each
// once, sorted.
func (p *Program) Scopes() []string {
	var out []string
	out = append(out, p.Trigger.Scopes...)
	for _, a := range p.Actions {
		out = append(out, a.Scopes...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
