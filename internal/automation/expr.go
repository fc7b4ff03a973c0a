package automation

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Limits on expressions: a file is written by a person, and a bigger one
// is a mistake or an attack, not an automation.
const (
	maxNodes = 500
	// memoryBudget caps what one evaluation may allocate, in expr's units
	// (roughly one per element built), so that a range or a map over a
	// huge payload ends with an error rather than a full heap.
	memoryBudget = 100_000
)

// Env is what an expression sees while a run goes on.
type Env struct {
	// Trigger is the trigger's payload, decoded JSON with float64 numbers.
	Trigger any
	// Steps holds the steps run so far, by step id.
	Steps      map[string]StepState
	Location   string
	Automation struct {
		ID      string
		Version int
	}
}

// StepState is a step as later steps see it.
type StepState struct {
	Status string // succeeded | failed | skipped
	// Output is the action's output, decoded JSON with float64 numbers.
	Output any
	Error  string
}

// vars is the environment expr runs in.
func (e Env) vars() map[string]any {
	steps := make(map[string]any, len(e.Steps))
	for id, s := range e.Steps {
		steps[id] = map[string]any{"status": s.Status, "output": s.Output, "error": s.Error}
	}
	return map[string]any{
		"trigger":    e.Trigger,
		"steps":      steps,
		"location":   e.Location,
		"automation": map[string]any{"id": e.Automation.ID, "version": e.Automation.Version},
	}
}

// compileEnv types the variables for the compiler: maps of any, so that
// member access is checked by rankr against the schemas, not by expr.
var compileEnv = map[string]any{
	"trigger":    map[string]any{},
	"steps":      map[string]any{},
	"location":   "",
	"automation": map[string]any{"id": "", "version": 0},
}

// program is one compiled expression with the field paths it reads.
type program struct {
	src   string
	prog  *vm.Program
	paths []path
}

// seg is one step of a path: a property name or an array index; dynamic
// when it is computed, so that nothing can be checked past it.
type seg struct {
	name    string
	index   int
	isIndex bool
	dynamic bool
}

// path is a member chain read from a variable: trigger.order.items[0].qty.
type path struct {
	root string
	segs []seg
}

func (p path) String() string {
	var b strings.Builder
	b.WriteString(p.root)
	for _, s := range p.segs {
		switch {
		case s.dynamic:
			b.WriteString("[…]")
		case s.isIndex:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		default:
			b.WriteString("." + s.name)
		}
	}
	return b.String()
}

// compileExpr compiles an expression; asBool for filters and conditions.
func compileExpr(src string, asBool bool) (*program, error) {
	opts := []expr.Option{expr.Env(compileEnv), expr.MaxNodes(maxNodes)}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, errors.New(oneLine(err.Error()))
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, errors.New(oneLine(err.Error()))
	}
	return &program{src: src, prog: prog, paths: paths(tree.Node)}, nil
}

// oneLine keeps expr's message and drops its caret drawing, which does not
// survive being a line of a list.
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// paths finds the longest member chains rooted at a variable.
func paths(root ast.Node) []path {
	var members []*ast.MemberNode
	inner := map[ast.Node]bool{}
	var idents []*ast.IdentifierNode
	v := visitor(func(n *ast.Node) {
		switch x := (*n).(type) {
		case *ast.MemberNode:
			members = append(members, x)
			inner[x.Node] = true
			if c, ok := x.Node.(*ast.ChainNode); ok {
				inner[c.Node] = true
			}
		case *ast.ChainNode:
			inner[x.Node] = true
		case *ast.IdentifierNode:
			idents = append(idents, x)
		}
	})
	ast.Walk(&root, v)
	var out []path
	for _, m := range members {
		if inner[m] {
			continue
		}
		if p, ok := chain(m); ok {
			out = append(out, p)
		}
	}
	for _, id := range idents {
		if !inner[id] && isVar(id.Value) {
			out = append(out, path{root: id.Value})
		}
	}
	return out
}

func isVar(name string) bool {
	_, ok := compileEnv[name]
	return ok
}

type visitor func(*ast.Node)

func (f visitor) Visit(n *ast.Node) { f(n) }

// chain reads a member chain down to its root identifier.
func chain(n ast.Node) (path, bool) {
	var segs []seg
	for {
		switch x := n.(type) {
		case *ast.ChainNode:
			n = x.Node
			continue
		case *ast.MemberNode:
			var s seg
			switch p := x.Property.(type) {
			case *ast.StringNode:
				s = seg{name: p.Value}
			case *ast.IntegerNode:
				s = seg{index: p.Value, isIndex: true}
			default:
				s = seg{dynamic: true}
			}
			segs = append(segs, s)
			n = x.Node
			continue
		case *ast.IdentifierNode:
			if !isVar(x.Value) {
				return path{}, false
			}
			for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
				segs[i], segs[j] = segs[j], segs[i]
			}
			return path{root: x.Value, segs: segs}, true
		}
		return path{}, false
	}
}

// run evaluates a compiled expression within the memory budget.
func (p *program) run(env map[string]any) (any, error) {
	m := vm.VM{MemoryBudget: memoryBudget}
	out, err := m.Run(p.prog, env)
	if err != nil {
		return nil, fmt.Errorf("evaluating %s: %w", p.src, errors.New(oneLine(err.Error())))
	}
	return out, nil
}

// lookup reads a path's value out of the environment, for verdicts: nil
// and false when it is not there.
func lookup(env map[string]any, p path) (any, bool) {
	v, ok := env[p.root]
	if !ok {
		return nil, false
	}
	for _, s := range p.segs {
		switch {
		case s.dynamic:
			return nil, false
		case s.isIndex:
			a, ok := v.([]any)
			i := s.index
			if i < 0 && ok {
				i += len(a)
			}
			if !ok || i < 0 || i >= len(a) {
				return nil, false
			}
			v = a[i]
		default:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[s.name]; !ok {
				return nil, false
			}
		}
	}
	return v, true
}

// template is a string of the file that may hold ${{ expr }}.
type template struct {
	// exact is set when the string is one ${{ }} and nothing else: its
	// value keeps its JSON type.
	exact *program
	parts []tmplPart
}

type tmplPart struct {
	text string
	prog *program
}

// hasExpr reports whether s holds a ${{.
func hasExpr(s string) bool { return strings.Contains(s, "${{") }

// parseTemplate splits a string into text and expressions.
func parseTemplate(s string) (*template, error) {
	t := &template{}
	rest := s
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, tmplPart{text: rest})
			}
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{text: rest[:i]})
		}
		body := rest[i+3:]
		end := closing(body)
		if end < 0 {
			return nil, fmt.Errorf("%q: a ${{ without its }}", s)
		}
		src := strings.TrimSpace(body[:end])
		if src == "" {
			return nil, fmt.Errorf("%q: an empty ${{ }}", s)
		}
		p, err := compileExpr(src, false)
		if err != nil {
			return nil, fmt.Errorf("${{ %s }}: %w", src, err)
		}
		t.parts = append(t.parts, tmplPart{prog: p})
		rest = body[end+2:]
	}
	var progs []*program
	textOnly := true
	for _, p := range t.parts {
		if p.prog != nil {
			progs = append(progs, p.prog)
		} else if strings.TrimSpace(p.text) != "" {
			textOnly = false
		}
	}
	if len(progs) == 1 && textOnly {
		t.exact = progs[0]
	}
	return t, nil
}

// closing finds the }} that ends an expression, skipping string literals
// (which may hold "}}").
func closing(s string) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i
		}
	}
	return -1
}

func (t *template) programs() []*program {
	var out []*program
	for _, p := range t.parts {
		if p.prog != nil {
			out = append(out, p.prog)
		}
	}
	return out
}

// eval resolves the template: the expression's own value when exact, else
// the text with each value put in (strings as they are, times in RFC
// 3339, others as JSON).
func (t *template) eval(env map[string]any) (any, error) {
	if t.exact != nil {
		return t.exact.run(env)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := p.prog.run(env)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			continue
		case time.Time:
			// Text, not JSON: no quotes around a date in a sentence.
			b.WriteString(x.Format(time.RFC3339))
			continue
		case time.Duration:
			b.WriteString(x.String())
			continue
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("formatting the value of %s: %w", p.prog.src, err)
		}
		b.WriteString(string(j))
	}
	return b.String(), nil
}

// valueTree is a step's `with`, compiled: literals, templates, and
// objects and arrays of them.
type valueTree struct {
	lit  any // a JSON literal (json.Number for numbers)
	tmpl *template
	obj  map[string]*valueTree
	arr  []*valueTree
	kind byte // 'l' literal, 't' template, 'o' object, 'a' array
}

func (v *valueTree) eval(env map[string]any) (any, error) {
	switch v.kind {
	case 't':
		return v.tmpl.eval(env)
	case 'o':
		m := make(map[string]any, len(v.obj))
		for k, c := range v.obj {
			x, err := c.eval(env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = x
		}
		return m, nil
	case 'a':
		a := make([]any, len(v.arr))
		for i, c := range v.arr {
			x, err := c.eval(env)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			a[i] = x
		}
		return a, nil
	}
	return v.lit, nil
}

// hasExpr reports whether any part of the value is an expression.
func (v *valueTree) hasExpr() bool {
	switch v.kind {
	case 't':
		return true
	case 'o':
		for _, c := range v.obj {
			if c.hasExpr() {
				return true
			}
		}
	case 'a':
		for _, c := range v.arr {
			if c.hasExpr() {
				return true
			}
		}
	}
	return false
}

// formatValue shows a value in a verdict, as JSON, cut short.
func formatValue(v any, ok bool) string {
	if !ok {
		return "missing"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "…"
	}
	return s
}
