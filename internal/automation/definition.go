package automation

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"
)

// The file's fixed header.
const (
	APIVersion = "rankr.dev/v1"
	Kind       = "Automation"
)

// The step defaults, used when a step says nothing of its retries.
const (
	DefaultRetryMax     = 3
	DefaultRetryBackoff = "exponential"
	DefaultRetryInitial = time.Second
	DefaultRetryCap     = 5 * time.Minute
)

//go:embed automation.schema.json
var fileSchema []byte

// FileSchema returns the JSON Schema (draft 2020-12) of the automation
// file, as published for editors and CI.
func FileSchema() []byte { return slices.Clone(fileSchema) }

// Definition is a parsed automation file.
type Definition struct {
	APIVersion, Kind, ID, Description string
	Enabled                           bool
	// Locations are the GHL location ids it runs for; nil: every location
	// (the file's ["*"]).
	Locations   []string
	Trigger     TriggerDef
	Steps       []StepDef
	Concurrency *ConcurrencyDef

	// lines maps a JSON pointer of the file ("/steps/0/with/orderId") to
	// its line, so that compile errors can point into the file.
	lines map[string]int
}

// TriggerDef is what starts the automation.
type TriggerDef struct {
	Key, Filter, Schedule, Timezone string
}

// StepDef is one step: an action with its input mapping.
type StepDef struct {
	ID, Action, If  string
	With            json.RawMessage
	Retry           RetryPolicy
	ContinueOnError bool
}

// RetryPolicy is how a step's retryable failures are tried again.
type RetryPolicy struct {
	Max          int
	Backoff      string // exponential|fixed
	Initial, Cap time.Duration
}

// ConcurrencyDef serializes runs: two runs whose key evaluates the same
// never run at once.
type ConcurrencyDef struct {
	Key   string
	Limit int
}

// Problem is one thing wrong with a file.
type Problem struct {
	// Place is where, in the file's terms: "steps[1].with.orderId",
	// "trigger.filter"; empty for the file as a whole.
	Place string
	// Line is the file's line (1-based), 0 when unknown.
	Line    int
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Place != "" {
		b.WriteString(p.Place + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// CompileError lists every problem found in a file, so that one save shows
// them all rather than one per attempt.
type CompileError struct {
	Name     string // the file
	Problems []Problem
}

func (e *CompileError) Error() string {
	var b strings.Builder
	b.WriteString(e.Name + ": ")
	if len(e.Problems) == 1 {
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	b.WriteString(strconv.Itoa(len(e.Problems)) + " problems:")
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// fileDoc is the file as JSON sees it; the schema has already refused
// unknown fields and wrong types, DisallowUnknownFields catches a schema
// that drifted from this struct.
type fileDoc struct {
	APIVersion  string     `json:"apiVersion"`
	Kind        string     `json:"kind"`
	ID          string     `json:"id"`
	Description string     `json:"description,omitempty"`
	Enabled     *bool      `json:"enabled,omitempty"`
	Locations   []string   `json:"locations,omitempty"`
	Trigger     triggerDoc `json:"trigger"`
	Steps       []stepDoc  `json:"steps"`
	Concurrency *concurDoc `json:"concurrency,omitempty"`
}

type triggerDoc struct {
	Key      string `json:"key"`
	Filter   string `json:"filter,omitempty"`
	Schedule string `json:"schedule,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

type stepDoc struct {
	ID              string          `json:"id"`
	Action          string          `json:"action"`
	If              string          `json:"if,omitempty"`
	With            json.RawMessage `json:"with,omitempty"`
	Retry           *retryDoc       `json:"retry,omitempty"`
	ContinueOnError bool            `json:"continueOnError,omitempty"`
}

type retryDoc struct {
	Max     *int   `json:"max,omitempty"`
	Backoff string `json:"backoff,omitempty"`
	Initial string `json:"initial,omitempty"`
	Cap     string `json:"cap,omitempty"`
}

type concurDoc struct {
	Key   string `json:"key"`
	Limit int    `json:"limit"`
}

var (
	schemaOnce sync.Once
	schemaC    *jsonschema.Schema
	schemaErr  error
)

func compiledFileSchema() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(fileSchema))
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err = c.AddResource("https://rankr.dev/schemas/automation.schema.json", doc); err != nil {
			schemaErr = err
			return
		}
		schemaC, schemaErr = c.Compile("https://rankr.dev/schemas/automation.schema.json")
	})
	return schemaC, schemaErr
}

// Parse reads an automation file, YAML or JSON (JSON is YAML), and
// validates it against FileSchema. The error is a *CompileError naming each
// problem's line.
func Parse(name string, src []byte) (*Definition, error) {
	fail := func(ps ...Problem) error { return &CompileError{Name: name, Problems: ps} }
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fail(yamlProblem(err, src))
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, fail(Problem{Message: "the file is empty"})
	}
	lines := map[string]int{}
	var probs []Problem
	v := nodeValue(root.Content[0], "", lines, &probs)
	if len(probs) > 0 {
		return nil, fail(probs...)
	}
	sch, err := compiledFileSchema()
	if err != nil {
		return nil, fmt.Errorf("automation file schema: %w", err)
	}
	if err := sch.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, fmt.Errorf("validating %s: %w", name, err)
		}
		return nil, fail(schemaProblems(ve, lines)...)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	var doc fileDoc
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fail(Problem{Message: err.Error()})
	}
	d, probs := fromDoc(doc)
	if len(probs) > 0 {
		for i := range probs {
			probs[i].Line = lineOf(lines, placePointer(probs[i].Place))
		}
		return nil, fail(probs...)
	}
	d.lines = lines
	return d, nil
}

// FromJSON reads a definition back from its stored form (Definition.JSON).
func FromJSON(b json.RawMessage) (*Definition, error) {
	d, err := Parse("definition", b)
	if err != nil {
		return nil, fmt.Errorf("reading a stored automation definition: %w", err)
	}
	return d, nil
}

func fromDoc(doc fileDoc) (*Definition, []Problem) {
	var probs []Problem
	d := &Definition{
		APIVersion: doc.APIVersion, Kind: doc.Kind, ID: doc.ID, Description: doc.Description,
		Enabled: doc.Enabled == nil || *doc.Enabled,
		Trigger: TriggerDef{Key: doc.Trigger.Key, Filter: strings.TrimSpace(doc.Trigger.Filter),
			Schedule: strings.TrimSpace(doc.Trigger.Schedule), Timezone: doc.Trigger.Timezone},
	}
	if !slices.Contains(doc.Locations, "*") && len(doc.Locations) > 0 {
		d.Locations = slices.Clone(doc.Locations)
	} else if len(doc.Locations) > 1 {
		probs = append(probs, Problem{Place: "locations", Message: `"*" (every location) cannot be listed with other locations`})
	}
	if d.Trigger.Schedule != "" && d.Trigger.Timezone == "" {
		d.Trigger.Timezone = "UTC"
	}
	if d.Trigger.Timezone != "" {
		if _, err := time.LoadLocation(d.Trigger.Timezone); err != nil {
			probs = append(probs, Problem{Place: "trigger.timezone", Message: fmt.Sprintf("unknown time zone %q", d.Trigger.Timezone)})
		}
	}
	if d.Trigger.Schedule != "" {
		if err := checkCron(d.Trigger.Schedule); err != nil {
			probs = append(probs, Problem{Place: "trigger.schedule", Message: err.Error()})
		}
	}
	seen := map[string]int{}
	for i, s := range doc.Steps {
		place := fmt.Sprintf("steps[%d]", i)
		if j, ok := seen[s.ID]; ok {
			probs = append(probs, Problem{Place: place + ".id", Message: fmt.Sprintf("step id %q is already used by steps[%d]", s.ID, j)})
		}
		seen[s.ID] = i
		st := StepDef{ID: s.ID, Action: s.Action, If: strings.TrimSpace(s.If), ContinueOnError: s.ContinueOnError,
			Retry: RetryPolicy{Max: DefaultRetryMax, Backoff: DefaultRetryBackoff, Initial: DefaultRetryInitial, Cap: DefaultRetryCap}}
		if len(s.With) > 0 && !bytes.Equal(s.With, []byte("null")) {
			st.With = normalizeJSON(s.With)
		} else {
			st.With = json.RawMessage("{}")
		}
		if r := s.Retry; r != nil {
			if r.Max != nil {
				st.Retry.Max = *r.Max
			}
			if r.Backoff != "" {
				st.Retry.Backoff = r.Backoff
			}
			for _, f := range []struct {
				name string
				s    string
				to   *time.Duration
			}{{"initial", r.Initial, &st.Retry.Initial}, {"cap", r.Cap, &st.Retry.Cap}} {
				if f.s == "" {
					continue
				}
				dur, err := time.ParseDuration(f.s)
				if err != nil || dur <= 0 {
					probs = append(probs, Problem{Place: place + ".retry." + f.name, Message: fmt.Sprintf("%q is not a positive duration (like 2s, 10m)", f.s)})
					continue
				}
				*f.to = dur
			}
			if st.Retry.Cap < st.Retry.Initial {
				probs = append(probs, Problem{Place: place + ".retry.cap", Message: fmt.Sprintf("the cap (%s) is below the initial delay (%s)", st.Retry.Cap, st.Retry.Initial)})
			}
		}
		d.Steps = append(d.Steps, st)
	}
	if c := doc.Concurrency; c != nil {
		d.Concurrency = &ConcurrencyDef{Key: c.Key, Limit: c.Limit}
		if d.Concurrency.Limit == 0 {
			d.Concurrency.Limit = 1
		}
	}
	return d, probs
}

// normalizeJSON re-encodes a JSON value with sorted keys, keeping numbers
// exactly as written, so that equal files store equal definitions.
func normalizeJSON(b json.RawMessage) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return b
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return out
}

// JSON returns the definition in its normalized, deterministic form
// (defaults filled, keys in a fixed order), to store as a version's
// definition; FromJSON reads it back.
func (d *Definition) JSON() json.RawMessage {
	enabled := d.Enabled
	doc := fileDoc{
		APIVersion: d.APIVersion, Kind: d.Kind, ID: d.ID, Description: d.Description, Enabled: &enabled,
		Locations: d.Locations,
		Trigger:   triggerDoc(d.Trigger),
	}
	if doc.Locations == nil {
		doc.Locations = []string{"*"}
	}
	for _, s := range d.Steps {
		m := s.Retry.Max
		doc.Steps = append(doc.Steps, stepDoc{ID: s.ID, Action: s.Action, If: s.If, With: s.With, ContinueOnError: s.ContinueOnError,
			Retry: &retryDoc{Max: &m, Backoff: s.Retry.Backoff, Initial: s.Retry.Initial.String(), Cap: s.Retry.Cap.String()}})
	}
	if d.Concurrency != nil {
		doc.Concurrency = &concurDoc{Key: d.Concurrency.Key, Limit: d.Concurrency.Limit}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		// Every field is a string, number, bool or valid JSON: a failure
		// here is a bug.
		panic(fmt.Sprintf("automation: encoding a definition: %v", err))
	}
	return b
}

// Line is the file's line of a JSON pointer ("/steps/0/with"), or of its
// nearest ancestor the file shows; 0 when unknown.
func (d *Definition) Line(pointer string) int { return lineOf(d.lines, pointer) }

func lineOf(lines map[string]int, ptr string) int {
	for {
		if l, ok := lines[ptr]; ok {
			return l
		}
		if ptr == "" {
			return 0
		}
		i := strings.LastIndexByte(ptr, '/')
		if i < 0 {
			return 0
		}
		ptr = ptr[:i]
	}
}

// placePointer turns a place ("steps[1].with.orderId") into a JSON
// pointer ("/steps/1/with/orderId").
func placePointer(place string) string {
	if place == "" {
		return ""
	}
	r := strings.NewReplacer("[", ".", "]", "", "~", "~0", "/", "~1")
	parts := strings.Split(r.Replace(place), ".")
	return "/" + strings.Join(parts, "/")
}

// pointerPlace is the reverse of placePointer.
func pointerPlace(ptr string) string {
	var b strings.Builder
	for i, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if ptr == "" {
			break
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		if _, err := strconv.Atoi(tok); err == nil && i > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// yamlProblem turns a YAML syntax error into a problem with its line, and
// explains the usual cause: an unquoted ${{ }} inside a flow mapping or
// sequence, where YAML reads the braces as its own.
func yamlProblem(err error, src []byte) Problem {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	p := Problem{Message: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			if l, err := strconv.Atoi(n); err == nil {
				p.Line, p.Message = l, strings.TrimSpace(after)
			}
		}
	}
	if p.Line > 0 {
		ls := strings.Split(string(src), "\n")
		// YAML reports some errors a line off their cause.
		for _, l := range []int{p.Line, p.Line + 1, p.Line - 1} {
			if l >= 1 && l <= len(ls) && strings.Contains(ls[l-1], "{{") && !strings.Contains(ls[l-1], `"${{`) && !strings.Contains(ls[l-1], `'${{`) {
				p.Line = l
				p.Message += `; quote a value holding an expression: "${{ ... }}"`
				break
			}
		}
	}
	return p
}

// nodeValue turns a YAML node into a JSON value, noting each value's line
// by its JSON pointer.
func nodeValue(n *yaml.Node, ptr string, lines map[string]int, probs *[]Problem) any {
	lines[ptr] = n.Line
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return nodeValue(n.Content[0], ptr, lines, probs)
	case yaml.AliasNode:
		return nodeValue(n.Alias, ptr, lines, probs)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				// {{ x }} unquoted is a mapping whose key is a mapping.
				*probs = append(*probs, Problem{Place: pointerPlace(ptr), Line: k.Line,
					Message: `a value in { } braces was read as a YAML mapping; quote expressions: "${{ ... }}"`})
				continue
			}
			if k.Tag == "!!merge" {
				*probs = append(*probs, Problem{Place: pointerPlace(ptr), Line: k.Line, Message: "YAML merge keys (<<) are not supported"})
				continue
			}
			key := k.Value
			cp := ptr + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
			if _, dup := m[key]; dup {
				*probs = append(*probs, Problem{Place: pointerPlace(cp), Line: k.Line, Message: fmt.Sprintf("%q is given twice", key)})
			}
			m[key] = nodeValue(val, cp, lines, probs)
			lines[cp] = k.Line
		}
		return m
	case yaml.SequenceNode:
		a := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			a = append(a, nodeValue(c, ptr+"/"+strconv.Itoa(i), lines, probs))
		}
		return a
	case yaml.ScalarNode:
		var v any
		switch n.ShortTag() {
		case "!!str", "!!binary":
			return n.Value
		case "!!null":
			return nil
		case "!!bool", "!!int", "!!float":
			if err := n.Decode(&v); err != nil {
				return n.Value
			}
			switch x := v.(type) {
			case int:
				return json.Number(strconv.Itoa(x))
			case float64:
				return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
			}
			return v
		case "!!timestamp":
			// A bare date is a string to JSON.
			return n.Value
		}
		return n.Value
	}
	return nil
}

// schemaPrinter renders the schema library's messages.
var schemaPrinter = message.NewPrinter(language.English)

// schemaProblems turns the file schema's complaints into problems: the
// leaves of its tree of causes (its basic output drops causes found
// through a $ref), one per place and message.
func schemaProblems(ve *jsonschema.ValidationError, lines map[string]int) []Problem {
	var out []Problem
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		ptr := ""
		for _, tok := range e.InstanceLocation {
			ptr += "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)
		}
		msg := e.ErrorKind.LocalizedString(schemaPrinter)
		if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
			// One problem per unknown field, at its own line.
			for _, name := range ap.Properties {
				cp := ptr + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
				out = append(out, Problem{Place: pointerPlace(cp), Line: lineOf(lines, cp), Message: "unknown field"})
			}
			return
		}
		if seen[ptr+"\x00"+msg] {
			return
		}
		seen[ptr+"\x00"+msg] = true
		out = append(out, Problem{Place: pointerPlace(ptr), Line: lineOf(lines, ptr), Message: msg})
	}
	walk(ve)
	if len(out) == 0 {
		out = append(out, Problem{Message: ve.Error()})
	}
	slices.SortStableFunc(out, func(a, b Problem) int { return a.Line - b.Line })
	return out
}
