package catalog

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// genConv converts OpenAPI 3.0 schemas into self-contained JSON Schema
// draft 2020-12: every $ref is inlined, except one that would recurse,
// which goes to $defs.
type genConv struct {
	docs  *genDocs
	stack []string       // the refs being inlined, outermost first
	defs  map[string]any // recursive schemas, by component name
	fixes []string       // spec mistakes repaired, for the report
}

func (c *genConv) notes(key string) []string {
	var out []string
	for _, f := range c.fixes {
		out = append(out, key+": "+f)
	}
	return out
}

func (c *genConv) fixed(msg string) {
	if !slices.Contains(c.fixes, msg) {
		c.fixes = append(c.fixes, msg)
	}
}

var genValidTypes = []string{"string", "number", "integer", "boolean", "object", "array", "null"}

// genKeep are the keywords copied as they are. example stays until
// genStrip, so that the samples can use it.
var genKeep = []string{
	"required", "enum", "const", "default", "format", "title", "readOnly", "writeOnly", "deprecated",
	"minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "minimum", "maximum",
	"multipleOf", "minProperties", "maxProperties", "example",
}

func (c *genConv) schema(file string, v any) (map[string]any, error) {
	s, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return map[string]any{}, nil
		}
		return nil, fmt.Errorf("a schema is a %T", v)
	}
	if ref, ok := s["$ref"].(string); ok {
		return c.ref(file, ref)
	}
	// NestJS writes a described reference as allOf:[{$ref}] beside the
	// description: flatten it.
	if all := genList(s["allOf"]); len(all) == 1 {
		base, err := c.schema(file, all[0])
		if err != nil {
			return nil, err
		}
		rest := maps.Clone(s)
		delete(rest, "allOf")
		over, err := c.schema(file, rest)
		if err != nil {
			return nil, err
		}
		maps.Copy(base, over)
		return base, nil
	}
	out := map[string]any{}
	for k, v := range s {
		switch k {
		case "type":
			if t, ok := v.(string); ok && slices.Contains(genValidTypes, t) {
				out[k] = t
			}
		case "description":
			if d, ok := v.(string); ok && strings.TrimSpace(d) != "" {
				out[k] = genTrim(d, 300)
			}
		case "properties":
			props := map[string]any{}
			for name, p := range v.(map[string]any) {
				ps, err := c.schema(file, p)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				props[name] = ps
			}
			out[k] = props
		case "items", "not":
			is, err := c.schema(file, v)
			if err != nil {
				return nil, err
			}
			out[k] = is
		case "additionalProperties":
			if b, ok := v.(bool); ok {
				out[k] = b
				continue
			}
			as, err := c.schema(file, v)
			if err != nil {
				return nil, err
			}
			out[k] = as
		case "allOf", "anyOf", "oneOf":
			var l []any
			for _, x := range genList(v) {
				xs, err := c.schema(file, x)
				if err != nil {
					return nil, err
				}
				l = append(l, xs)
			}
			out[k] = l
		default:
			if slices.Contains(genKeep, k) {
				out[k] = v
			}
			// Dropped: nullable (below), examples, xml, discriminator,
			// externalDocs and anything else OpenAPI-only.
		}
	}
	// Repairs of mistakes in the specs: an enum wrapped in an array, and a
	// type that no enum value has (ShippingZoneCountryDto.code: a number
	// whose values are country codes).
	if e := genList(out["enum"]); len(e) == 1 {
		if inner, ok := e[0].([]any); ok {
			out["enum"] = inner
			c.fixed(fmt.Sprintf("%s: an enum nested in an array was flattened", filepath.Base(file)))
		}
	}
	if e := genList(out["enum"]); len(e) > 0 {
		if t, ok := out["type"].(string); ok && !slices.ContainsFunc(e, func(x any) bool { return genIsType(t, x) }) {
			if slices.IndexFunc(e, func(x any) bool { return !genIsType("string", x) }) < 0 {
				out["type"] = "string"
				c.fixed(fmt.Sprintf("%s: a %s schema whose enum values are all strings was made a string", filepath.Base(file), t))
			}
		}
	}
	if s["nullable"] == true {
		if t, ok := out["type"].(string); ok {
			out["type"] = []any{t, "null"}
		}
		if e, ok := out["enum"].([]any); ok && !slices.Contains(e, nil) {
			out["enum"] = append(slices.Clone(e), nil)
		}
	}
	return out, nil
}

func (c *genConv) ref(file, ref string) (map[string]any, error) {
	target, frag, _ := strings.Cut(ref, "#")
	if target != "" {
		file = filepath.Join(filepath.Dir(file), target)
	}
	const prefix = "/components/schemas/"
	if !strings.HasPrefix(frag, prefix) {
		return nil, fmt.Errorf("unsupported $ref %q", ref)
	}
	name := strings.TrimPrefix(frag, prefix)
	doc, err := c.docs.load(file)
	if err != nil {
		return nil, err
	}
	s := genPath(doc, "components", "schemas", name)
	if s == nil {
		return nil, fmt.Errorf("$ref %q: no such schema", ref)
	}
	id := filepath.Clean(file) + "#" + name
	if slices.Contains(c.stack, id) {
		if c.defs == nil {
			c.defs = map[string]any{}
		}
		if _, ok := c.defs[name]; !ok {
			c.defs[name] = map[string]any{} // placeholder: the conversion below refers to it
			saved := c.stack
			c.stack = []string{id}
			d, err := c.schema(file, s)
			c.stack = saved
			if err != nil {
				return nil, err
			}
			c.defs[name] = d
		}
		return map[string]any{"$ref": "#/$defs/" + name}, nil
	}
	c.stack = append(c.stack, id)
	defer func() { c.stack = c.stack[:len(c.stack)-1] }()
	out, err := c.schema(file, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// finish puts the recursive schemas, stripped for the schema's use, under
// its $defs.
func (c *genConv) finish(s map[string]any, output bool) {
	if len(c.defs) == 0 {
		return
	}
	defs := map[string]any{}
	for name, d := range c.defs {
		cp := genDeepCopy(d).(map[string]any)
		genStrip(cp, output)
		defs[name] = cp
	}
	s["$defs"] = defs
}

func genDeepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return genRenumber(out)
}

// genRenumber is for values that went through plain json.Unmarshal: it
// keeps numbers in the same form as the specs' (json.Number).
func genRenumber(v any) any {
	switch v := v.(type) {
	case float64:
		b, _ := json.Marshal(v)
		return json.Number(b)
	case map[string]any:
		for k, x := range v {
			v[k] = genRenumber(x)
		}
	case []any:
		for i, x := range v {
			v[i] = genRenumber(x)
		}
	}
	return v
}

// genStrip removes what the final schema must not carry: the spec's
// examples always and, in an output schema, every assertion GHL's real
// answers are known to break (required, enum, closed objects, lengths):
// rankr stores what GHL sends.
func genStrip(s map[string]any, output bool) {
	delete(s, "example")
	delete(s, "examples")
	if output {
		for _, k := range []string{"required", "enum", "minLength", "maxLength", "pattern", "minItems", "maxItems", "minProperties", "maxProperties", "uniqueItems"} {
			delete(s, k)
		}
		if s["additionalProperties"] == false {
			delete(s, "additionalProperties")
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for _, p := range props {
			if ps, ok := p.(map[string]any); ok {
				genStrip(ps, output)
			}
		}
	}
	for _, k := range []string{"items", "not", "additionalProperties"} {
		if x, ok := s[k].(map[string]any); ok {
			genStrip(x, output)
		}
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		for _, x := range genList(s[k]) {
			if xs, ok := x.(map[string]any); ok {
				genStrip(xs, output)
			}
		}
	}
}

// ---- samples ----

type genSynthOpts struct {
	output   bool     // include every property (depth-limited), not only required ones
	examples bool     // use the spec's examples where they fit
	omit     []string // top-level properties to leave out (filled by the run)
}

const genMaxDepth = 6

func (c *genConv) resolve(s map[string]any) map[string]any {
	for range 10 {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		d, _ := c.defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		if d == nil {
			return map[string]any{}
		}
		s = d
	}
	return s
}

func genHasExample(s map[string]any) bool {
	_, ok := s["example"]
	return ok
}

func (c *genConv) synth(s map[string]any, o genSynthOpts, depth int, name string) any {
	s = c.resolve(s)
	if o.examples {
		if ex, ok := s["example"]; ok {
			if c.fits(s, ex, o.output) {
				return ex
			}
			if cx, ok := genCoerce(s, ex); ok && c.fits(s, cx, o.output) {
				return cx
			}
			b, _ := json.Marshal(ex)
			c.fixed(fmt.Sprintf("the spec's example for %q (%s) does not fit its schema; a value was synthesized", name, genTrim(string(b), 60)))
		}
	}
	if d, ok := s["default"]; ok && c.fits(s, d, o.output) {
		return d
	}
	if e := genList(s["enum"]); len(e) > 0 {
		return e[0]
	}
	if v, ok := s["const"]; ok {
		return v
	}
	if all := genList(s["allOf"]); len(all) > 0 {
		merged := map[string]any{}
		for _, x := range all {
			if m, ok := c.synth(x.(map[string]any), o, depth, name).(map[string]any); ok {
				maps.Copy(merged, m)
			}
		}
		return merged
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if l := genList(s[k]); len(l) > 0 {
			return c.synth(l[0].(map[string]any), o, depth, name)
		}
	}
	child := genSynthOpts{output: o.output, examples: o.examples}
	switch genType(s) {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		var req []string
		for _, r := range genList(s["required"]) {
			req = append(req, r.(string))
		}
		names := slices.Sorted(maps.Keys(props))
		for _, n := range names {
			if slices.Contains(o.omit, n) {
				continue
			}
			p := c.resolve(props[n].(map[string]any))
			include := slices.Contains(req, n)
			if o.output {
				include = include || depth < genMaxDepth
			} else {
				include = include || (o.examples && genHasExample(p))
			}
			if include && depth < 4*genMaxDepth {
				out[n] = c.synth(p, child, depth+1, n)
			}
		}
		return out
	case "array":
		items, ok := s["items"].(map[string]any)
		if !ok || (o.output && depth >= genMaxDepth) {
			return []any{}
		}
		n := 1
		if m, ok := s["minItems"].(json.Number); ok {
			if k, err := m.Int64(); err == nil && k > 1 {
				n = int(k)
			}
		}
		out := make([]any, n)
		for i := range out {
			out[i] = c.synth(items, child, depth+1, strings.TrimSuffix(name, "s"))
		}
		return out
	case "string":
		return genString(s, name)
	case "integer", "number":
		if m, ok := s["minimum"].(json.Number); ok {
			return m
		}
		return json.Number("1")
	case "boolean":
		return true
	case "null":
		return nil
	}
	return map[string]any{}
}

// genType is the schema's type (the first non-null one), guessed from its
// keywords when it has none.
func genType(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				return x.(string)
			}
		}
		return "null"
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	if _, ok := s["items"]; ok {
		return "array"
	}
	return ""
}

func genString(s map[string]any, name string) string {
	v := "string"
	lname := strings.ToLower(name)
	switch f, _ := s["format"].(string); {
	case f == "date-time":
		v = "2024-01-15T10:23:36.515Z"
	case f == "date":
		v = "2024-01-15"
	case f == "email" || strings.Contains(lname, "email"):
		v = "jane@example.com"
	case f == "uri" || f == "url" || strings.HasSuffix(lname, "url"):
		v = "https://example.com"
	case lname == "id" || lname == "_id" || strings.HasSuffix(name, "Id") || strings.HasSuffix(name, "Ids") || strings.HasSuffix(lname, "_id"):
		v = "6578278e879ad2646715ba9c"
	case lname == "currency":
		v = "USD"
	case strings.HasSuffix(lname, "date") || strings.HasSuffix(name, "At"):
		v = "2024-01-15T10:23:36.515Z"
	}
	if m, ok := s["maxLength"].(json.Number); ok {
		if k, err := m.Int64(); err == nil && int(k) < len(v) {
			v = v[:k]
		}
	}
	if m, ok := s["minLength"].(json.Number); ok {
		if k, err := m.Int64(); err == nil {
			for len(v) < int(k) {
				v += "x"
			}
		}
	}
	return v
}

// fits is a quick structural check of a spec example against its schema
// (types, enums, lengths, required); the whole sample is validated for
// real afterwards.
func (c *genConv) fits(s map[string]any, v any, output bool) bool {
	s = c.resolve(s)
	if ts := genTypes(s); len(ts) > 0 && !slices.ContainsFunc(ts, func(t string) bool { return genIsType(t, v) }) {
		return false
	}
	if !output {
		if e := genList(s["enum"]); len(e) > 0 && !slices.ContainsFunc(e, func(x any) bool { return genSameJSON(x, v) }) {
			return false
		}
		if str, ok := v.(string); ok {
			if m, ok := s["minLength"].(json.Number); ok {
				if k, _ := m.Int64(); len([]rune(str)) < int(k) {
					return false
				}
			}
			if m, ok := s["maxLength"].(json.Number); ok {
				if k, _ := m.Int64(); len([]rune(str)) > int(k) {
					return false
				}
			}
		}
	}
	for _, x := range genList(s["allOf"]) {
		if !c.fits(x.(map[string]any), v, output) {
			return false
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for k, x := range v {
			if p, ok := props[k].(map[string]any); ok {
				if !c.fits(p, x, output) {
					return false
				}
			} else if s["additionalProperties"] == false && !output {
				return false
			}
		}
		if !output {
			for _, r := range genList(s["required"]) {
				if _, ok := v[r.(string)]; !ok {
					return false
				}
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for _, x := range v {
				if !c.fits(items, x, output) {
					return false
				}
			}
		}
	}
	return true
}

func genTypes(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func genIsType(t string, v any) bool {
	switch t {
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == float64(int64(f))
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "null":
		return v == nil
	}
	return true
}

func genSameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// genCoerce reads an example written in the wrong JSON type the way it
// was meant: "100" for a number, "false" for a boolean, 10 for a string,
// a JSON text for an object or an array.
func genCoerce(s map[string]any, ex any) (any, bool) {
	t := genType(s)
	switch x := ex.(type) {
	case string:
		switch t {
		case "number", "integer":
			if _, err := strconv.ParseFloat(x, 64); err == nil {
				return json.Number(x), true
			}
		case "boolean":
			if b, err := strconv.ParseBool(x); err == nil {
				return b, true
			}
		case "object", "array":
			dec := json.NewDecoder(strings.NewReader(x))
			dec.UseNumber()
			var v any
			if dec.Decode(&v) == nil && !dec.More() {
				return v, true
			}
		}
	case json.Number:
		if t == "string" {
			return x.String(), true
		}
	case bool:
		if t == "string" {
			return strconv.FormatBool(x), true
		}
	}
	return nil, false
}

// widenAll makes an output schema accept what its own examples show
// GHL sends: where an example has another JSON type than the schema says
// (invoice items typed as strings but shown as objects, a status typed as
// an object but shown as "draft", null for a boolean), that type is added.
// Examples that are object literals written as text are documentation,
// not data, and widen nothing.
func (c *genConv) widenAll(s map[string]any, name string) {
	s = c.resolve(s)
	if ex, ok := s["example"]; ok {
		c.widen(s, ex, name)
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for _, n := range slices.Sorted(maps.Keys(props)) {
			if p, ok := props[n].(map[string]any); ok {
				c.widenAll(p, n)
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if x, ok := s[k].(map[string]any); ok {
			c.widenAll(x, name+"[]")
		}
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		for _, x := range genList(s[k]) {
			if xs, ok := x.(map[string]any); ok {
				c.widenAll(xs, name)
			}
		}
	}
}

func (c *genConv) widen(s map[string]any, v any, name string) {
	s = c.resolve(s)
	if _, ok := genCoerce(s, v); ok {
		return // a number or boolean written as text: the type stands
	}
	ts := genTypes(s)
	if len(ts) > 0 && !slices.ContainsFunc(ts, func(t string) bool { return genIsType(t, v) }) {
		vt := genTypeOf(v)
		str, isStr := v.(string)
		literal := isStr && (strings.HasPrefix(strings.TrimSpace(str), "{") || strings.HasPrefix(strings.TrimSpace(str), "[") || strings.Contains(str, " | "))
		if !literal {
			l := make([]any, 0, len(ts)+1)
			for _, t := range ts {
				l = append(l, t)
			}
			s["type"] = append(l, vt)
			c.fixed(fmt.Sprintf("output %q: type %s widened with %s, the type of the spec's example", name, strings.Join(ts, "|"), vt))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if p, ok := props[k].(map[string]any); ok {
				c.widen(p, x[k], k)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for _, it := range x {
				c.widen(items, it, name+"[]")
			}
		}
	}
}

func genTypeOf(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case json.Number:
		if genIsType("integer", x) {
			return "integer"
		}
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "null"
}
