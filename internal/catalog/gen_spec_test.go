package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/rankr/rankr/ghl"
)

// This file turns GHL's OpenAPI 3.0 files and webhook JSON Schemas into
// ghl.gen.json: one action per ghl.Operations() entry, one trigger per
// commerce webhook, each with self-contained draft 2020-12 schemas and
// samples those schemas accept.

const genDraft = "https://json-schema.org/draft/2020-12/schema"

// genFamilies are the spec files, by family (the key's second segment).
var genFamilies = []string{"payments", "invoices", "products", "store"}

type genCatalog struct {
	Actions  []genAction  `json:"actions"`
	Triggers []genTrigger `json:"triggers"`
}

type genAction struct {
	Key          string         `json:"key"`
	Operation    string         `json:"operation"`
	Title        string         `json:"title"`
	Summary      string         `json:"summary"`
	Effect       string         `json:"effect"`
	Params       []genParam     `json:"params"`
	BodyLocation []string       `json:"bodyLocation,omitempty"`
	Input        map[string]any `json:"input"`
	Output       map[string]any `json:"output"`
	SampleInput  map[string]any `json:"sampleInput"`
	Sample       any            `json:"sample"`
}

type genParam struct {
	Name     string `json:"name"`
	In       string `json:"in"`
	Location bool   `json:"location,omitempty"`
}

type genTrigger struct {
	Key     string         `json:"key"`
	Event   string         `json:"event"`
	Title   string         `json:"title"`
	Summary string         `json:"summary"`
	Scopes  []string       `json:"scopes"`
	Output  map[string]any `json:"output"`
	Sample  any            `json:"sample"`
}

func genEncode(cat *genCatalog) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cat); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// genDocs loads JSON files once each, numbers kept as written.
type genDocs struct {
	files map[string]map[string]any
}

func (d *genDocs) load(path string) (map[string]any, error) {
	path = filepath.Clean(path)
	if doc, ok := d.files[path]; ok {
		return doc, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := genApplyErrata(filepath.Base(path), doc); err != nil {
		return nil, err
	}
	d.files[path] = doc
	return doc, nil
}

// genGHLCatalog builds the catalog from the spec folder. notes tell what
// the generator had to work around (examples that did not validate...).
func genGHLCatalog(dir string) (*genCatalog, []string, error) {
	docs := &genDocs{files: map[string]map[string]any{}}
	var notes []string
	type specOp struct {
		family, file string
		op           map[string]any
	}
	byRoute := map[string]specOp{}
	total := 0
	for _, fam := range genFamilies {
		file := filepath.Join(dir, "apps", fam+".json")
		doc, err := docs.load(file)
		if err != nil {
			return nil, nil, err
		}
		paths, _ := doc["paths"].(map[string]any)
		for path, item := range paths {
			for method, op := range item.(map[string]any) {
				m, ok := op.(map[string]any)
				if !ok || !slices.Contains([]string{"get", "post", "put", "patch", "delete"}, method) {
					continue
				}
				total++
				byRoute[strings.ToUpper(method)+" "+path] = specOp{fam, file, m}
			}
		}
	}
	ops := ghl.Operations()
	if total != len(ops) {
		return nil, nil, fmt.Errorf("the specs have %d operations, ghl.Operations() %d", total, len(ops))
	}
	cat := &genCatalog{Actions: []genAction{}, Triggers: []genTrigger{}}
	for _, op := range ops {
		so, ok := byRoute[op.Method+" "+op.Path]
		if !ok {
			return nil, nil, fmt.Errorf("%s: %s %s is in no spec", op.Name, op.Method, op.Path)
		}
		if id, _ := so.op["operationId"].(string); id != op.OperationID {
			return nil, nil, fmt.Errorf("%s: the spec's operationId is %q, the table's %q", op.Name, id, op.OperationID)
		}
		a, n, err := genBuildAction(docs, so.family, so.file, op, so.op)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", op.Name, err)
		}
		notes = append(notes, n...)
		cat.Actions = append(cat.Actions, a)
	}
	for _, ev := range genTriggerEvents {
		tr, n, err := genBuildTrigger(docs, dir, ev)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", ev.event, err)
		}
		notes = append(notes, n...)
		cat.Triggers = append(cat.Triggers, tr)
	}
	return cat, notes, nil
}

func genBuildAction(docs *genDocs, family, file string, op ghl.Operation, so map[string]any) (genAction, []string, error) {
	var notes []string
	name := genNameFor(family, op)
	a := genAction{
		Key: name.key, Operation: op.Name, Title: name.title,
		Summary: genSummary(so), Effect: genEffect(op),
		Params: []genParam{}, SampleInput: map[string]any{},
	}
	if o, ok := genSummaryOverrides[op.Name]; ok {
		a.Summary = o
	}
	if a.Summary == "" {
		a.Summary = name.title + "."
	}
	conv := &genConv{docs: docs}

	// Parameters: path ones in path order, then query ones in spec order.
	var path, query []map[string]any
	hasAltType, hasLocationID := false, false
	for _, p := range genList(so["parameters"]) {
		pm, _ := p.(map[string]any)
		switch pm["in"] {
		case "path":
			path = append(path, pm)
		case "query":
			query = append(query, pm)
		default:
			continue // headers are the transport's (Version, Authorization)
		}
		switch pm["name"] {
		case "altType":
			hasAltType = true
		case "locationId":
			hasLocationID = true
		}
	}
	pathOrder := func(n string) int { return strings.Index(op.Path, "{"+n+"}") }
	sort.SliceStable(path, func(i, j int) bool { return pathOrder(path[i]["name"].(string)) < pathOrder(path[j]["name"].(string)) })
	props := map[string]any{}
	required := []string{}
	var synthIn []genField
	for _, pm := range append(path, query...) {
		pname := pm["name"].(string)
		in := pm["in"].(string)
		desc, _ := pm["description"].(string)
		loc := pname == "locationId" || (pname == "altId" && genAltIDIsLocation(hasAltType, hasLocationID, desc))
		s, err := conv.schema(file, pm["schema"])
		if err != nil {
			return a, nil, fmt.Errorf("parameter %s: %w", pname, err)
		}
		if desc != "" {
			s["description"] = genTrim(desc, 300)
		}
		if ex, ok := pm["example"]; ok {
			s["example"] = ex
		}
		// altType says what altId is; with altId the run's location, it
		// is "location", which the action fills in when it is left out.
		altTypeOfLocation := pname == "altType" && hasAltType
		if altTypeOfLocation {
			s["default"] = "location"
		}
		props[pname] = s
		a.Params = append(a.Params, genParam{Name: pname, In: in, Location: loc})
		req := in == "path" || pm["required"] == true
		if req && !loc && !altTypeOfLocation {
			required = append(required, pname)
		}
		if !loc && !altTypeOfLocation {
			synthIn = append(synthIn, genField{name: pname, schema: s, required: req})
		}
	}
	bodyRequired := false
	if rb, ok := so["requestBody"].(map[string]any); ok {
		js := genPath(rb, "content", "application/json", "schema")
		if js == nil {
			return a, nil, fmt.Errorf("the request body is not application/json")
		}
		s, err := conv.schema(file, js)
		if err != nil {
			return a, nil, fmt.Errorf("body: %w", err)
		}
		bprops, _ := s["properties"].(map[string]any)
		_, bodyAltType := bprops["altType"]
		_, bodyLocID := bprops["locationId"]
		var drop []string
		for _, n := range []string{"altId", "locationId"} {
			p, ok := bprops[n].(map[string]any)
			if !ok {
				continue
			}
			desc, _ := p["description"].(string)
			if n == "locationId" || genAltIDIsLocation(bodyAltType, bodyLocID, desc) {
				a.BodyLocation = append(a.BodyLocation, n)
				drop = append(drop, n)
			}
		}
		if bodyAltType && slices.Contains(a.BodyLocation, "altId") {
			bprops["altType"].(map[string]any)["default"] = "location"
			drop = append(drop, "altType")
		}
		if req, ok := s["required"].([]any); ok {
			kept := []any{}
			for _, r := range req {
				if !slices.Contains(drop, r.(string)) {
					kept = append(kept, r)
				}
			}
			s["required"] = kept
			if len(kept) == 0 {
				delete(s, "required")
			}
		}
		props["body"] = s
		bodyRequired = rb["required"] == true
		if bodyRequired {
			required = append(required, "body")
		}
		synthIn = append(synthIn, genField{name: "body", schema: s, required: bodyRequired, omit: drop})
	}
	input := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		input["required"] = required
	}

	// Output: the first 2xx response's JSON body.
	var output map[string]any
	resps, _ := so["responses"].(map[string]any)
	codes := make([]string, 0, len(resps))
	for c := range resps {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var respExample any
	for _, c := range codes {
		if !strings.HasPrefix(c, "2") {
			continue
		}
		js := genPath(resps[c], "content", "application/json", "schema")
		if js != nil {
			s, err := conv.schema(file, js)
			if err != nil {
				return a, nil, fmt.Errorf("response %s: %w", c, err)
			}
			conv.widenAll(s, "")
			output = s
			if ex, ok := genPath(resps[c], "content", "application/json").(map[string]any)["example"]; ok {
				respExample = ex
			}
		}
		break
	}

	// Samples, before the examples are stripped from the schemas.
	a.SampleInput = genSynthFields(conv, synthIn, true)
	genStrip(input, false)
	input["$schema"] = genDraft
	conv.finish(input, false)
	if err := genCheck(input, a.SampleInput); err != nil {
		// The spec's examples do not fit; synthesize from the schema alone.
		notes = append(notes, fmt.Sprintf("%s: a spec example in the input does not validate (%v); sampleInput synthesized", a.Key, err))
		a.SampleInput = genSynthFields(conv, synthIn, false)
		if err := genCheck(input, a.SampleInput); err != nil {
			return a, nil, fmt.Errorf("synthesized sampleInput: %w", err)
		}
	}
	a.Input = input

	if output == nil {
		a.Output = map[string]any{"$schema": genDraft, "description": "no body"}
		a.Sample = map[string]any{}
		return a, append(notes, conv.notes(a.Key)...), nil
	}
	var sample any
	if respExample != nil {
		sample = respExample
	} else {
		sample = conv.synth(output, genSynthOpts{output: true, examples: true}, 0, "")
	}
	genStrip(output, true)
	output["$schema"] = genDraft
	conv.finish(output, true)
	if err := genCheck(output, sample); err != nil {
		notes = append(notes, fmt.Sprintf("%s: a spec example in the output does not validate (%v); sample synthesized", a.Key, err))
		sample = conv.synth(output, genSynthOpts{output: true}, 0, "")
		if err := genCheck(output, sample); err != nil {
			return a, nil, fmt.Errorf("synthesized sample: %w", err)
		}
	}
	a.Output, a.Sample = output, sample
	return a, append(notes, conv.notes(a.Key)...), nil
}

// genAltIDIsLocation: altId names the location when altType beside it
// says so, when locationId sits beside it (GHL wants both to be the
// location), or when the spec describes it as the location's id.
func genAltIDIsLocation(altType, locationID bool, desc string) bool {
	return altType || locationID || strings.Contains(strings.ToLower(desc), "location")
}

// genField is one top-level input field to sample.
type genField struct {
	name     string
	schema   map[string]any
	required bool
	omit     []string // top-level body properties the run fills in
}

// genSynthFields samples the input's top-level fields: the required ones,
// and (with examples) those the spec gives an example for.
func genSynthFields(conv *genConv, fields []genField, examples bool) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		if !f.required && !(examples && genHasExample(f.schema)) {
			continue
		}
		v := conv.synth(f.schema, genSynthOpts{examples: examples, omit: f.omit}, 0, f.name)
		out[f.name] = v
	}
	return out
}

func genCheck(schema map[string]any, doc any) error {
	sb, err := json.Marshal(schema)
	if err != nil {
		return err
	}
	db, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return genValidate(sb, db)
}

// genTriggerEvents are the commerce webhooks, in the catalog's order.
var genTriggerEvents = []struct {
	event, title, summary, scope string
}{
	{"OrderCreate", "Order created (GHL webhook)", "GHL sent an order that was just created, line items included.", ghl.ScopeOrdersRead},
	{"OrderStatusUpdate", "Order status updated (GHL webhook)", "GHL sent an order whose status changed, line items included.", ghl.ScopeOrdersRead},
	{"InvoiceCreate", "Invoice created (GHL webhook)", "GHL sent an invoice that was just created.", ghl.ScopeInvoicesRead},
	{"InvoiceUpdate", "Invoice updated (GHL webhook)", "GHL sent an invoice that was changed.", ghl.ScopeInvoicesRead},
	{"InvoiceSent", "Invoice sent (GHL webhook)", "GHL sent an invoice that was sent to its customer.", ghl.ScopeInvoicesRead},
	{"InvoicePaid", "Invoice paid (GHL webhook)", "GHL sent an invoice that was paid in full.", ghl.ScopeInvoicesRead},
	{"InvoicePartiallyPaid", "Invoice partially paid (GHL webhook)", "GHL sent an invoice that received a partial payment.", ghl.ScopeInvoicesRead},
	{"InvoiceVoid", "Invoice voided (GHL webhook)", "GHL sent an invoice that was voided.", ghl.ScopeInvoicesRead},
	{"InvoiceDelete", "Invoice deleted (GHL webhook)", "GHL sent an invoice that was deleted.", ghl.ScopeInvoicesRead},
	{"ProductCreate", "Product created (GHL webhook)", "GHL sent a product that was just created.", ghl.ScopeProductsRead},
	{"ProductUpdate", "Product updated (GHL webhook)", "GHL sent a product that was changed.", ghl.ScopeProductsRead},
	{"ProductDelete", "Product deleted (GHL webhook)", "GHL sent a product that was deleted.", ghl.ScopeProductsRead},
	{"PriceCreate", "Price created (GHL webhook)", "GHL sent a product price that was just created.", ghl.ScopeProductsRead},
	{"PriceUpdate", "Price updated (GHL webhook)", "GHL sent a product price that was changed.", ghl.ScopeProductsRead},
	{"PriceDelete", "Price deleted (GHL webhook)", "GHL sent a product price that was deleted.", ghl.ScopeProductsRead},
}

func genBuildTrigger(docs *genDocs, dir string, ev struct{ event, title, summary, scope string }) (genTrigger, []string, error) {
	var notes []string
	base := filepath.Join(dir, "webhook-events", ev.event)
	sdoc, err := docs.load(base + ".schema.json")
	if err != nil {
		return genTrigger{}, nil, err
	}
	conv := &genConv{docs: docs}
	s, err := conv.schema(base+".schema.json", sdoc)
	if err != nil {
		return genTrigger{}, nil, err
	}
	genStrip(s, true)
	genUntypeNulls(s)
	s["$schema"] = genDraft
	conv.finish(s, true)
	raw, err := os.ReadFile(base + ".example.json")
	if err != nil {
		return genTrigger{}, nil, err
	}
	var sample any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&sample); err != nil {
		return genTrigger{}, nil, fmt.Errorf("%s.example.json: %w", ev.event, err)
	}
	if err := genCheck(s, sample); err != nil {
		notes = append(notes, fmt.Sprintf("%s: the webhook example does not validate (%v); sample synthesized", ev.event, err))
		sample = conv.synth(s, genSynthOpts{output: true}, 0, "")
		if err := genCheck(s, sample); err != nil {
			return genTrigger{}, nil, fmt.Errorf("synthesized sample: %w", err)
		}
	}
	return genTrigger{
		Key: "ghl.webhook." + genSnake(ev.event), Event: ev.event, Title: ev.title, Summary: ev.summary,
		Scopes: []string{ev.scope}, Output: s, Sample: sample,
	}, notes, nil
}

// ---- summaries ----

var (
	genTagRE   = regexp.MustCompile(`<[^>]*>`)
	genMdRE    = regexp.MustCompile("[*_`#]+|\\[([^\\]]*)\\]\\([^)]*\\)")
	genSpaceRE = regexp.MustCompile(`\s+`)
)

// genSummary is the spec's description (or summary) as one or two plain
// sentences of at most 240 characters.
func genSummary(so map[string]any) string {
	text, _ := so["description"].(string)
	if strings.TrimSpace(text) == "" {
		text, _ = so["summary"].(string)
	}
	text = genTagRE.ReplaceAllString(text, " ")
	text = genMdRE.ReplaceAllStringFunc(text, func(m string) string {
		if strings.HasPrefix(m, "[") {
			return genMdRE.FindStringSubmatch(m)[1]
		}
		return ""
	})
	text = strings.TrimSpace(genSpaceRE.ReplaceAllString(text, " "))
	if text == "" {
		return ""
	}
	// Two sentences at most.
	end, n := len(text), 0
	for i := 0; i < len(text)-1; i++ {
		if (text[i] == '.' || text[i] == '!' || text[i] == '?') && text[i+1] == ' ' {
			n++
			if n == 2 {
				end = i + 1
				break
			}
		}
	}
	text = text[:end]
	if !strings.HasSuffix(text, ".") && !strings.HasSuffix(text, "!") && !strings.HasSuffix(text, "?") && len(text)+1 <= 240 {
		text += "."
	}
	return genTrim(text, 240)
}

// genTrim cuts s to at most n bytes at a word boundary, marking the cut.
func genTrim(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := s[:n-3]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:") + "..."
}

// ---- small JSON helpers ----

func genList(v any) []any {
	l, _ := v.([]any)
	return l
}

func genPath(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
