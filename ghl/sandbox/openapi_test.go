package sandbox_test

// TestOpenAPIConformance sends every operation of the ghl client to the
// sandbox and validates each request and each answer against GHL's official
// OpenAPI files (shared/ghl/apps/payments.json and invoices.json), so that
// neither the client nor the sandbox can drift from the published contract
// unnoticed.
//
// The official spec contradicts GHL's own examples and webhooks in a few
// places, and has a few structural errors that make it an invalid OpenAPI
// document. Those places, and only those, are corrected before validating,
// by the errata table below; each entry says why. Anything else that fails
// is a bug in the client or the sandbox, to be fixed there, not here.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// specDirEnv names the folder that holds apps/ and common/ of GHL's specs.
const specDirEnv = "RANKR_GHL_SPEC_DIR"

// defaultSpecDir is where the specs sit relative to this package: the repo
// and shared/ are siblings, on developers' machines and in CI alike.
var defaultSpecDir = filepath.Join("..", "..", "..", "shared", "ghl")

// erratum corrects one mistake of the official spec. apply fails when the
// spec no longer says what the erratum corrects, so that the table cannot
// outlive the mistakes it works around.
type erratum struct {
	doc    string // "payments", "invoices", "products", "store" or "oauth"
	where  string // what it patches
	reason string // why the spec, not the sandbox, is wrong there
	apply  func(doc *openapi3.T) error
}

// errata are the official spec's known mistakes, and nothing else: each
// makes the spec agree with itself or with GHL's own examples and webhooks
// (which the sandbox follows), or makes it a valid OpenAPI 3.0 document.
var errata = []erratum{
	{"payments", "GetOrderResponseSchema.items",
		"typed as an array of strings, but the spec's own example and the OrderCreate webhook carry order items as objects",
		retype("GetOrderResponseSchema", "items", "array of string", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
			return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
		})},
	{"payments", "TxnResponseSchema.status",
		`typed object, but its own example is the string "succeeded"`,
		retype("TxnResponseSchema", "status", "object", asString)},
	{"payments", "GetTxnResponseSchema.status",
		`typed object, but its own example is the string "succeeded"`,
		retype("GetTxnResponseSchema", "status", "object", asString)},
	{"payments", "SubscriptionResponseSchema.status",
		`typed object, but its own example is the string "active"`,
		retype("SubscriptionResponseSchema", "status", "object", asString)},
	{"payments", "GetSubscriptionResponseSchema.status",
		`typed object, but its own example is the string "active"`,
		retype("GetSubscriptionResponseSchema", "status", "object", asString)},
	{"payments", "GetSubscriptionResponseSchema.altType",
		`typed object, but its own example is the string "location", and altType is a string everywhere else in the spec`,
		retype("GetSubscriptionResponseSchema", "altType", "object", asString)},
	{"payments", "ListWhitelabelIntegrationProviderResponseDto.providers",
		"described as the list of providers, but typed as a single IntegrationProviderSchema object",
		retype("ListWhitelabelIntegrationProviderResponseDto", "providers", "allOf(IntegrationProviderSchema)",
			func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				return withType(old, openapi3.TypeArray, old.Value.AllOf[0]) // the $ref to IntegrationProviderSchema
			})},
	{"payments", "ApplyToFuturePaymentsConfig.required",
		"requires duration and durationType, which only a fixed config has: its own default and example {type: forever} lack them, and ApplyToFuturePaymentsConfigDto requires type alone",
		retype("ApplyToFuturePaymentsConfig", "", "object requiring type, duration, durationType",
			func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				s := *old.Value
				s.Required = []string{"type"}
				return s.NewRef()
			})},
	{"payments", "components.securitySchemes",
		`the bearer schemes are of type "http" yet carry "in" and "name", which OpenAPI allows only on apiKey schemes`,
		httpSchemesWithoutIn},
	{"invoices", "GetInvoiceResponseDto.invoiceItems",
		"typed as an array of strings, but the spec's own example and the Invoice* webhooks carry invoice items as objects",
		retype("GetInvoiceResponseDto", "invoiceItems", "array of string", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
			return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
		})},
	{"oauth", "components.securitySchemes",
		`the bearer schemes are of type "http" yet carry "in" and "name", which OpenAPI allows only on apiKey schemes`,
		httpSchemesWithoutIn},
	{"invoices", "components.securitySchemes",
		`the bearer schemes are of type "http" yet carry "in" and "name", which OpenAPI allows only on apiKey schemes`,
		httpSchemesWithoutIn},
	// The two schemas below serve none of the operations tested here; they
	// are corrected only because a router needs a valid document (the
	// estimate ones are in openapi_invoices_test.go).
	{"invoices", "ProcessingFeeDto.charges", innerArrayReason,
		retype("ProcessingFeeDto", "charges", "array of array of nothing", anyInnerItems)},
	{"invoices", "PaymentScheduleConfigDto.schedules", innerArrayReason,
		retype("PaymentScheduleConfigDto", "schedules", "array of array of nothing", anyInnerItems)},
	{"products", "components.securitySchemes",
		`the bearer schemes are of type "http" yet carry "in" and "name", which OpenAPI allows only on apiKey schemes`,
		httpSchemesWithoutIn},
	{"store", "components.securitySchemes",
		`the bearer schemes are of type "http" yet carry "in" and "name", which OpenAPI allows only on apiKey schemes`,
		httpSchemesWithoutIn},
	{"store", "ShippingZoneCountryDto.code",
		`typed number, with its enum of country codes nested in a list, but its own example is the string "US"`,
		retype("ShippingZoneCountryDto", "code", "number", flatStringEnum)},
	{"store", "StoreShippingOriginDto.country",
		`typed number, with its enum of country codes nested in a list, but its own example is the string "US"`,
		retype("StoreShippingOriginDto", "country", "number", flatStringEnum)},
	{"store", "GetAvailableShippingRates.amountAvailable",
		`typed a string of the country codes (a copy of country), but described as a flag "if it is true", like its twin weightAvailable, a boolean`,
		retype("GetAvailableShippingRates", "amountAvailable", "string", asBoolean)},
	{"products", "CountReviewsByStatusResponseDto.data",
		`an array of arrays (without items); described as "Array of review status counts": objects`,
		retype("CountReviewsByStatusResponseDto", "data", "array of array of nothing", itemsOf(anObject()))},
	{"products", "ListProductReviewsResponseDto.data",
		`an array of arrays (without items); described as an array of records, and GHL answers review objects`,
		retype("ListProductReviewsResponseDto", "data", "array of array of nothing", itemsOf(anObject()))},
	{"products", "ListCollectionResponseDto.data",
		`an array of arrays (without items); described as "Array of Collections", and the single-collection answers are CollectionSchema objects`,
		arrayOfComponent("ListCollectionResponseDto", "data", "array of array of nothing", "CollectionSchema")},
	{"products", "UpdateDisplayPriorityBodyDto.products",
		`an array of arrays (without items); described as "Array of products with their display priorities": objects`,
		retype("UpdateDisplayPriorityBodyDto", "products", "array of array of nothing", itemsOf(anObject()))},
	{"products", "ProductMediaDto.priceIds",
		`an array of arrays (without items); described as "Mongo ObjectIds of the prices", and its example is one id, a string`,
		retype("ProductMediaDto", "priceIds", "array of array of nothing", itemsOf(aString()))},
	{"products", "UpdateProductReviewsDto.status",
		`typed object, but its example is the string "approved", as the single-review update's status (a string) is`,
		retype("UpdateProductReviewsDto", "status", "object", asString)},
	{"invoices", "EstimateResponseDto.frequencySettings.examples",
		`uses "examples", an OpenAPI 3.1 keyword, in a 3.0 document (documentation only: dropped)`,
		func(doc *openapi3.T) error {
			sch := doc.Components.Schemas["EstimateResponseDto"]
			if sch == nil || sch.Value.Properties["frequencySettings"] == nil ||
				sch.Value.Properties["frequencySettings"].Value.Examples == nil {
				return errors.New("EstimateResponseDto.frequencySettings has no examples any more")
			}
			sch.Value.Properties["frequencySettings"].Value.Examples = nil
			return nil
		}},
}

const innerArrayReason = "an array whose items are arrays without items, which OpenAPI 3.0 requires: the inner items are left unconstrained"

// anyInnerItems gives an array of arrays unconstrained inner items.
func anyInnerItems(old *openapi3.SchemaRef) *openapi3.SchemaRef {
	outer := *old.Value
	inner := *outer.Items.Value
	inner.Items = openapi3.NewSchemaRef("", &openapi3.Schema{})
	outer.Items = inner.NewRef()
	return outer.NewRef()
}

// retype returns an erratum's apply that replaces a component schema
// (property "") or one of its properties, after checking that the spec
// still says official there, as schemaSummary writes it.
func retype(schema, property, official string, patch func(old *openapi3.SchemaRef) *openapi3.SchemaRef) func(*openapi3.T) error {
	return func(doc *openapi3.T) error {
		sch := doc.Components.Schemas[schema]
		if sch == nil || sch.Value == nil {
			return fmt.Errorf("the spec has no schema %s", schema)
		}
		old := sch
		if property != "" {
			old = sch.Value.Properties[property]
		}
		if got := schemaSummary(old); got != official {
			return fmt.Errorf("the spec now says %q there, not %q", got, official)
		}
		if property == "" {
			*sch.Value = *patch(old).Value // in place: other schemas refer to it
		} else {
			sch.Value.Properties[property] = patch(old)
		}
		return nil
	}
}

// httpSchemesWithoutIn drops "in" and "name" from http security schemes.
func httpSchemesWithoutIn(doc *openapi3.T) error {
	n := 0
	for _, ref := range doc.Components.SecuritySchemes {
		if s := ref.Value; s != nil && s.Type == "http" && (s.In != "" || s.Name != "") {
			s.In, s.Name = "", ""
			n++
		}
	}
	if n == 0 {
		return errors.New(`no http security scheme has "in" or "name" any more`)
	}
	return nil
}

// asString retypes a property as a string, keeping its description and
// example.
func asString(old *openapi3.SchemaRef) *openapi3.SchemaRef {
	return withType(old, openapi3.TypeString, nil)
}

// withType returns a copy of old's documentation with a new type (and, for
// arrays, items).
func withType(old *openapi3.SchemaRef, typ string, items *openapi3.SchemaRef) *openapi3.SchemaRef {
	s := &openapi3.Schema{Type: &openapi3.Types{typ}, Items: items}
	if old != nil && old.Value != nil {
		s.Description, s.Example = old.Value.Description, old.Value.Example
	}
	return s.NewRef()
}

// schemaSummary describes a schema briefly: its type and its required
// properties.
func schemaSummary(ref *openapi3.SchemaRef) string {
	s := schemaType(ref)
	if ref != nil && ref.Value != nil && len(ref.Value.Required) > 0 {
		s += " requiring " + strings.Join(ref.Value.Required, ", ")
	}
	return s
}

// schemaType describes a schema's type briefly.
func schemaType(ref *openapi3.SchemaRef) string {
	if ref == nil || ref.Value == nil {
		return "nothing"
	}
	s := ref.Value
	if len(s.AllOf) == 1 && s.Type == nil {
		return "allOf(" + strings.TrimPrefix(s.AllOf[0].Ref, "#/components/schemas/") + ")"
	}
	if s.Type == nil {
		return "untyped"
	}
	if s.Type.Is(openapi3.TypeArray) {
		return "array of " + schemaType(s.Items)
	}
	return strings.Join(*s.Type, "|")
}

// loadSpec loads one official spec file, external refs included.
func loadSpec(t *testing.T, path string) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return doc
}

// applyErrata corrects docs by the errata table, then checks that they are
// valid OpenAPI documents.
func applyErrata(t *testing.T, docs map[string]*openapi3.T) {
	t.Helper()
	for _, e := range errata {
		if docs[e.doc] == nil {
			continue // a spec this test does not load
		}
		if err := e.apply(docs[e.doc]); err != nil {
			t.Errorf("erratum %s: %s: %v; review or remove the erratum (it says: %s)", e.doc, e.where, err, e.reason)
		}
	}
	// Examples and defaults are not checked: the official files have many
	// that do not match their own schemas (the products API's defaults are
	// descriptions: "Total number of prices available" for a number), and
	// both are documentation, not contract.
	for name, doc := range docs {
		if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation(), openapi3.DisableSchemaDefaultsValidation()); err != nil {
			t.Fatalf("the %s spec is not a valid OpenAPI document, errata applied: %v", name, err)
		}
	}
}

// conformance is an http.RoundTripper that validates every request it sends
// and every response it receives against the spec, reporting failures to the
// test that made the request.
type conformance struct {
	t       *testing.T // reports failures of requests made outside a subtest
	base    http.RoundTripper
	routers []routers.Router
	ops     map[string]ghl.Operation // by operationId
	opts    *openapi3filter.Options

	mu       sync.Mutex
	seen     map[string]map[int]int // op name -> status -> exchanges that validated
	kind     map[string]int         // error kinds validated: "400 not found", "401", "422"
	reported map[string]int         // problems reported, by operation and problem
	repeats  int                    // problems not reported again
}

type reporterKey struct{}

// reportingTo makes the requests sent with ctx report to t.
func reportingTo(ctx context.Context, t *testing.T) context.Context {
	return context.WithValue(ctx, reporterKey{}, t)
}

func (c *conformance) RoundTrip(req *http.Request) (*http.Response, error) {
	t, _ := req.Context().Value(reporterKey{}).(*testing.T)
	if t == nil {
		t = c.t
	}
	var reqBody []byte
	if req.Body != nil {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	out := req.Clone(req.Context())
	if req.Body != nil {
		out.Body = io.NopCloser(bytes.NewReader(reqBody))
		out.ContentLength = int64(len(reqBody))
	}
	resp, err := c.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	c.check(t, req, reqBody, resp, respBody)
	return resp, nil
}

// check validates one exchange and records it.
func (c *conformance) check(t *testing.T, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	ctx := context.Background()
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	what := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.Path, resp.StatusCode)

	var (
		route  *routers.Route
		params map[string]string
		err    error
	)
	for _, r := range c.routers {
		if route, params, err = r.FindRoute(vreq); err == nil {
			break
		}
	}
	if route == nil {
		t.Errorf("%s: no operation of the spec matches: %v", what, err)
		return
	}
	// By method and path: operationIds repeat across the spec files (the
	// products spec's GET /products/ is "list-invoices" too).
	op, ok := c.ops[route.Method+" "+route.Path]
	if !ok {
		t.Errorf("%s: the spec's operation %q is none of ghl.Operations()", what, route.Operation.OperationID)
		return
	}
	what = op.Name + " " + what
	if op.OperationID != route.Operation.OperationID {
		t.Errorf("%s: ghl.Operations() has operationId %q for %s %s, the spec %q",
			what, op.OperationID, route.Method, route.Path, route.Operation.OperationID)
	}

	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: c.opts}
	valid := true
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		valid = false
		if fs := c.fresh(op.Name+" request", explainValidation(err)); fs != nil {
			t.Errorf("%s: the client's request does not match the spec:\n%s\nquery: %s\nbody: %s",
				what, renderFindings(fs), req.URL.RawQuery, clip(reqBody, 1000))
		} else {
			t.Fail()
		}
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: c.opts,
	}
	rin.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		valid = false
		if fs := c.fresh(op.Name+" response", explainValidation(err)); fs != nil {
			t.Errorf("%s: the sandbox's response does not match the spec:\n%s", what, renderFindings(fs))
		} else {
			t.Fail()
		}
	}
	if !valid {
		return
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[op.Name] == nil {
		c.seen[op.Name] = map[int]int{}
	}
	c.seen[op.Name][resp.StatusCode]++
	switch {
	case resp.StatusCode == http.StatusBadRequest && bytes.Contains(bytes.ToLower(respBody), []byte("not found")):
		c.kind["400 not found"]++
	case resp.StatusCode == http.StatusUnauthorized:
		c.kind["401"]++
	case resp.StatusCode == http.StatusUnprocessableEntity:
		c.kind["422"]++
	}
}

// validationFinding is one distinct problem of a validation error.
type validationFinding struct {
	problem string // where and what, array indexes folded into "*"
	n       int    // how often it occurred in the error
	sample  string // one offending value
}

// explainValidation breaks a validation error into its distinct problems.
func explainValidation(err error) []*validationFinding {
	var out []*validationFinding
	byProblem := map[string]*validationFinding{}
	add := func(problem, sample string) {
		f := byProblem[problem]
		if f == nil {
			f = &validationFinding{problem: problem, sample: sample}
			byProblem[problem] = f
			out = append(out, f)
		}
		f.n++
	}
	var walk func(prefix string, err error)
	walk = func(prefix string, err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(prefix, x)
			}
		case *openapi3filter.RequestError:
			switch {
			case e.Parameter != nil:
				prefix = fmt.Sprintf("%s parameter %q", e.Parameter.In, e.Parameter.Name)
			case e.RequestBody != nil:
				prefix = "request body"
			default:
				prefix = e.Reason
			}
			if e.Err == nil {
				add(prefix, "")
				return
			}
			walk(prefix, e.Err)
		case *openapi3filter.ResponseError:
			if e.Err == nil {
				add(e.Reason, "")
				return
			}
			walk(e.Reason, e.Err)
		case *openapi3.SchemaError:
			ptr := e.JSONPointer()
			for i, p := range ptr {
				if strings.Trim(p, "0123456789") == "" {
					ptr[i] = "*"
				}
			}
			reason := e.Reason
			if reason == "" {
				reason = "does not match " + e.SchemaField
			}
			v, _ := json.Marshal(e.Value)
			add(fmt.Sprintf("%s at /%s: %s", prefix, strings.Join(ptr, "/"), reason), clip(v, 200))
		default:
			add(strings.TrimPrefix(prefix+": "+err.Error(), ": "), "")
		}
	}
	walk("", err)
	return out
}

// renderFindings writes findings one per line.
func renderFindings(fs []*validationFinding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  - %s", f.problem)
		if f.n > 1 {
			fmt.Fprintf(&b, " (%d times)", f.n)
		}
		if f.sample != "" {
			fmt.Fprintf(&b, "; got %s", f.sample)
		}
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// fresh returns the findings not yet reported for this operation, and
// counts the others, so that a problem that every record shares is reported
// once rather than once per record.
func (c *conformance) fresh(scope string, fs []*validationFinding) []*validationFinding {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*validationFinding
	for _, f := range fs {
		key := scope + ": " + f.problem
		if c.reported[key] == 0 {
			out = append(out, f)
		} else {
			c.repeats++
		}
		c.reported[key]++
	}
	return out
}

func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

func TestOpenAPIConformance(t *testing.T) {
	dir := defaultSpecDir
	if d := os.Getenv(specDirEnv); d != "" {
		dir = d
	}
	families := []string{"payments", "invoices", "products", "store"}
	docs := map[string]*openapi3.T{}
	for _, name := range families {
		p := filepath.Join(dir, "apps", name+".json")
		if _, err := os.Stat(p); err != nil {
			abs, _ := filepath.Abs(p)
			t.Skipf("GHL OpenAPI spec not found at %s (%v); set %s to the folder holding apps/{payments,invoices,products,store}.json and common/",
				abs, err, specDirEnv)
		}
		docs[name] = loadSpec(t, p)
	}
	applyErrata(t, docs)

	sb, err := sandbox.New(sandbox.Config{Seed: 3, Locations: 1, Orders: 150, RateLimit: sandbox.RateLimit{Burst: 100000}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()

	check := &conformance{
		t: t, base: http.DefaultTransport, ops: map[string]ghl.Operation{},
		opts: &openapi3filter.Options{
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
			IncludeResponseStatus: true,
			MultiError:            true,
		},
		seen: map[string]map[int]int{}, kind: map[string]int{}, reported: map[string]int{},
	}
	for _, op := range ghl.Operations() {
		check.ops[op.Method+" "+op.Path] = op
	}
	for _, name := range families {
		doc := docs[name]
		doc.Servers = openapi3.Servers{{URL: srv.URL}}
		r, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation(), openapi3.DisableSchemaDefaultsValidation())
		if err != nil {
			t.Fatalf("%s router: %v", name, err)
		}
		check.routers = append(check.routers, r)
	}

	loc := sb.Locations()[0]
	hc := &http.Client{Transport: check}
	newClient := func(token string) *ghl.Client {
		return ghl.NewClient(ghl.StaticToken(token), ghl.WithBaseURL(srv.URL), ghl.WithHTTPClient(hc),
			ghl.WithLimits(ghl.Limits{Burst: 100000, Interval: time.Second, Daily: 1000000}),
			ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 1}))
	}
	shared := &oaEnv{c: newClient(loc.Token), bad: newClient("not-a-valid-token"), loc: loc.ID}
	truth, err := sb.Truth(loc.ID)
	if err != nil {
		t.Fatal(err)
	}
	shared.truth = truth.Locations[0]

	t.Run("ops", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			run  func(*testing.T, *oaEnv)
		}{
			{"orders", exerciseOrders},
			{"record-payment", exerciseRecordPayment},
			{"fulfillment", exerciseFulfillment},
			{"transactions", exerciseTransactions},
			{"subscriptions", exerciseSubscriptions},
			{"coupons", exerciseCoupons},
			{"white-label", exerciseWhiteLabel},
			{"custom-provider", exerciseCustomProvider},
			{"invoices", exerciseInvoices},
			{"invoice-lifecycle", exerciseInvoiceLifecycle},
			{"invoice-schedules", exerciseInvoiceSchedules},
			{"invoice-templates", exerciseInvoiceTemplates},
			{"estimates", exerciseEstimates},
			{"estimate-templates", exerciseEstimateTemplates},
			{"invoice-book", exerciseInvoiceBook},
			{"store", exerciseStore},
			{"errors", exerciseErrors},
			{"products", exerciseProducts},
			{"every-record", exerciseEveryRecord},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, shared)
			})
		}
	})

	check.mu.Lock()
	defer check.mu.Unlock()
	var missing []string
	for _, op := range ghl.Operations() {
		ok := false
		for status := range check.seen[op.Name] {
			ok = ok || status/100 == 2
		}
		if !ok {
			missing = append(missing, op.Name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d operations never had a 2xx exchange that matched the spec: %s",
			len(missing), len(ghl.Operations()), strings.Join(missing, ", "))
	}
	if check.repeats > 0 {
		t.Errorf("%d more findings repeated problems reported above (each is reported once per operation)", check.repeats)
	}
	for _, k := range []string{"400 not found", "401", "422"} {
		if check.kind[k] == 0 {
			t.Errorf("no %s error answer was validated against the spec", k)
		}
	}
	var lines []string
	for _, op := range ghl.Operations() {
		var statuses []string
		for st, n := range check.seen[op.Name] {
			statuses = append(statuses, fmt.Sprintf("%d×%d", st, n))
		}
		slices.Sort(statuses)
		lines = append(lines, op.Name+" "+strings.Join(statuses, " "))
	}
	t.Logf("validated exchanges:\n  %s", strings.Join(lines, "\n  "))
}

// oaEnv is what the subtests share.
type oaEnv struct {
	c, bad *ghl.Client
	loc    string
	truth  sandbox.LocationTruth
}

func (e *oaEnv) ctx(t *testing.T) context.Context { return reportingTo(t.Context(), t) }

// oaMust(call(...))(t) returns call's value, or ends the test on its error.
func oaMust[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// utcDay is the UTC day of t, for startAt/endAt filters.
func utcDay(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

func exerciseOrders(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	page := oaMust(e.c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: e.loc, Limit: 20}))(t)
	if len(page.Items) == 0 {
		t.Fatal("ListOrders returned no orders")
	}
	first := page.Items[len(page.Items)-1]
	oaMust(e.c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: e.loc, Limit: 5, Offset: 5}))(t)
	oaMust(e.c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: e.loc, Status: ghl.OrderCompleted,
		PaymentStatus: ghl.PaymentPaid, PaymentMode: ghl.ModeLive}))(t)
	oaMust(e.c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: e.loc,
		StartAt: utcDay(first.CreatedAt.Time), EndAt: utcDay(first.CreatedAt.Time), Limit: 50}))(t)
	oaMust(e.c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: e.loc, ContactID: first.ContactID}))(t)
	for _, o := range page.Items[:5] {
		d := oaMust(e.c.GetOrder(ctx, e.loc, o.ID))(t)
		if d.ID != o.ID {
			t.Errorf("GetOrder(%s) returned %s", o.ID, d.ID)
		}
		oaMust(e.c.ListFulfillments(ctx, e.loc, o.ID))(t)
		oaMust(e.c.ListOrderNotes(ctx, e.loc, o.ID))(t)
	}
	// A fulfilled order's fulfillments have items, products and prices.
	for _, o := range e.truth.Orders {
		if !o.Deleted && len(o.Fulfillments) > 0 {
			fs := oaMust(e.c.ListFulfillments(ctx, e.loc, o.Item.ID))(t)
			if len(fs) != len(o.Fulfillments) {
				t.Errorf("ListFulfillments(%s): %d fulfillments, want %d", o.Item.ID, len(fs), len(o.Fulfillments))
			}
			break
		}
	}
}

func exerciseRecordPayment(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	var unpaid []sandbox.OrderTruth
	for _, o := range e.truth.Orders {
		if !o.Deleted && o.Item.Status == ghl.OrderPending && o.PaymentStatus == string(ghl.PaymentUnpaid) {
			unpaid = append(unpaid, o)
		}
	}
	if len(unpaid) < 3 {
		t.Fatalf("the sandbox has %d unpaid pending orders; want 3", len(unpaid))
	}

	// A full payment in cash.
	full := unpaid[0].Item.ID
	if err := e.c.RecordOrderPayment(ctx, e.loc, full, ghl.RecordPaymentParams{Mode: ghl.PayCash, Notes: "paid at the counter"}); err != nil {
		t.Fatal(err)
	}
	d := oaMust(e.c.GetOrder(ctx, e.loc, full))(t)
	if d.Status != ghl.OrderCompleted {
		t.Errorf("order %s after a full payment: status %q, want completed", full, d.Status)
	}
	oaMust(e.c.ListOrderNotes(ctx, e.loc, full))(t)
	txns := oaMust(e.c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: e.loc, EntityID: full}))(t)
	if len(txns.Items) == 0 {
		t.Errorf("no transaction lists order %s after its payment", full)
	}

	// A partial payment by card, with meta.
	part := unpaid[1]
	total, err := part.Item.Amount.Scaled(2)
	if err != nil || total < 2 {
		t.Fatalf("order %s amount %q", part.Item.ID, part.Item.Amount)
	}
	err = e.c.RecordOrderPayment(ctx, e.loc, part.Item.ID, ghl.RecordPaymentParams{
		Mode: ghl.PayCard, Card: &ghl.CardDetails{Type: "visa", Last4: "4242"},
		Amount: ghl.NumberFromScaled(total/2, 2), IsPartialPayment: true, Meta: map[string]any{"till": 3},
	})
	if err != nil {
		t.Fatal(err)
	}

	// A card whose last4 is not four digits: GHL's validator answers 422.
	err = e.c.RecordOrderPayment(ctx, e.loc, unpaid[2].Item.ID, ghl.RecordPaymentParams{
		Mode: ghl.PayCard, Card: &ghl.CardDetails{Type: "visa", Last4: "42"}})
	if !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("RecordOrderPayment with last4 42: %v, want a 422", err)
	}
	// An order that does not exist: 400 not found.
	err = e.c.RecordOrderPayment(ctx, e.loc, "000000000000000000000000", ghl.RecordPaymentParams{Mode: ghl.PayCash})
	if !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("RecordOrderPayment on a missing order: %v, want not found", err)
	}
}

func exerciseFulfillment(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	for _, o := range e.truth.Orders {
		if o.Deleted || o.PaymentStatus != string(ghl.PaymentPaid) || o.Item.Status == ghl.OrderCancelled {
			continue
		}
		shipped := map[string]int{} // by order item id
		for _, f := range o.Fulfillments {
			for _, it := range f.Items {
				n, _ := it.Qty.Int()
				shipped[it.ID] += n
			}
		}
		for _, it := range o.Detail.Items {
			qty, _ := it.Qty.Int()
			if it.Product.ProductType != "PHYSICAL" || qty-shipped[it.ID] <= 0 {
				continue
			}
			d := oaMust(e.c.GetOrder(ctx, e.loc, o.Item.ID))(t)
			priceID := ""
			for _, di := range d.Items {
				if di.ID == it.ID {
					priceID = di.Price.ID
				}
			}
			if priceID == "" {
				t.Fatalf("GetOrder(%s) lacks item %s", o.Item.ID, it.ID)
			}
			f := oaMust(e.c.CreateFulfillment(ctx, e.loc, o.Item.ID, ghl.CreateFulfillmentParams{
				Trackings: []ghl.Tracking{{TrackingNumber: "1Z999AA10123456784", ShippingCarrier: "UPS",
					TrackingURL: "https://www.ups.com/track?tracknum=1Z999AA10123456784"}},
				Items:          []ghl.FulfillmentItem{{PriceID: priceID, Qty: ghl.NumberFromInt(1)}},
				NotifyCustomer: true,
			}))(t)
			fs := oaMust(e.c.ListFulfillments(ctx, e.loc, o.Item.ID))(t)
			if !slices.ContainsFunc(fs, func(x ghl.Fulfillment) bool { return x.ID == f.ID }) {
				t.Errorf("ListFulfillments(%s) lacks the new fulfillment %s", o.Item.ID, f.ID)
			}
			// Nothing with this price id is left beyond what remains.
			_, err := e.c.CreateFulfillment(ctx, e.loc, o.Item.ID, ghl.CreateFulfillmentParams{
				Trackings: []ghl.Tracking{}, Items: []ghl.FulfillmentItem{{PriceID: priceID, Qty: ghl.NumberFromInt(1000)}}})
			if !hasStatus(err, http.StatusBadRequest) {
				t.Errorf("over-fulfilling: %v, want a 400", err)
			}
			return
		}
	}
	t.Fatal("the sandbox has no paid order with a physical item left to ship")
}

func exerciseTransactions(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	page := oaMust(e.c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: e.loc, Limit: 10}))(t)
	if len(page.Items) == 0 {
		t.Fatal("ListTransactions returned nothing")
	}
	tx := page.Items[0]
	oaMust(e.c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: e.loc, Limit: 10, Offset: 10,
		PaymentMode: ghl.ModeLive}))(t)
	oaMust(e.c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: e.loc,
		StartAt: utcDay(tx.CreatedAt.Time).AddDate(0, 0, -30), EndAt: utcDay(tx.CreatedAt.Time)}))(t)
	oaMust(e.c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: e.loc, ContactID: tx.ContactID}))(t)
	oaMust(e.c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: e.loc, EntityID: tx.EntityID,
		EntitySourceType: tx.EntitySourceType}))(t)
	for _, x := range page.Items {
		d := oaMust(e.c.GetTransaction(ctx, e.loc, x.ID))(t)
		if d.ID != x.ID {
			t.Errorf("GetTransaction(%s) returned %s", x.ID, d.ID)
		}
	}
	_, err := e.c.GetTransaction(ctx, e.loc, "000000000000000000000000")
	if !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetTransaction on a missing id: %v, want not found", err)
	}
}

func exerciseSubscriptions(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	page := oaMust(e.c.ListSubscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: e.loc, Limit: 10}))(t)
	if len(page.Items) == 0 {
		t.Fatal("ListSubscriptions returned nothing")
	}
	sub := page.Items[0]
	oaMust(e.c.ListSubscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: e.loc, EntityID: sub.EntityID}))(t)
	oaMust(e.c.ListSubscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: e.loc, ContactID: sub.ContactID,
		StartAt: utcDay(sub.CreatedAt.Time), EndAt: utcDay(sub.CreatedAt.Time), Limit: 5, Offset: 0,
		GetPaymentsCollectedCount: true}))(t)
	for _, s := range page.Items {
		d := oaMust(e.c.GetSubscription(ctx, e.loc, s.ID))(t)
		if d.ID != s.ID {
			t.Errorf("GetSubscription(%s) returned %s", s.ID, d.ID)
		}
	}
	// A canceled subscription, if any, renders its cancellation.
	for _, s := range e.truth.Subscriptions {
		if !s.Deleted && s.Item.Status == ghl.SubCanceled {
			oaMust(e.c.GetSubscription(ctx, e.loc, s.Item.ID))(t)
			break
		}
	}
	_, err := e.c.GetSubscription(ctx, e.loc, "000000000000000000000000")
	if !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetSubscription on a missing id: %v, want not found", err)
	}
}

func exerciseCoupons(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	start := time.Now().UTC().Add(-time.Hour)
	p := ghl.CouponParams{LocationID: e.loc, Name: "Spec Check", Code: "SPECCHECK10",
		DiscountType: ghl.DiscountPercentage, DiscountValue: ghl.NumberFromInt(10),
		StartDate: start, EndDate: start.AddDate(0, 1, 0), UsageLimit: 50}
	c := oaMust(e.c.CreateCoupon(ctx, p))(t)
	got := oaMust(e.c.GetCoupon(ctx, e.loc, c.ID, c.Code))(t)
	if got.ID != c.ID {
		t.Errorf("GetCoupon returned %s, want %s", got.ID, c.ID)
	}
	oaMust(e.c.ListCoupons(ctx, ghl.ListCouponsParams{LocationID: e.loc}))(t)
	list := oaMust(e.c.ListCoupons(ctx, ghl.ListCouponsParams{LocationID: e.loc, Status: ghl.CouponActive,
		Search: "SPECCHECK", Limit: 10}))(t)
	if !slices.ContainsFunc(list.Items, func(x ghl.Coupon) bool { return x.ID == c.ID }) {
		t.Errorf("ListCoupons(active, SPECCHECK) lacks coupon %s", c.ID)
	}

	// The same code again: GHL answers 422.
	_, err := e.c.CreateCoupon(ctx, p)
	if !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("creating a duplicate coupon code: %v, want a 422", err)
	}

	no := false
	p.Name, p.DiscountType, p.DiscountValue = "Spec Check (fixed)", ghl.DiscountAmount, ghl.NumberFromScaled(500, 2)
	p.ApplyToFuturePayments = &no
	p.ApplyToFuturePaymentsConfig = &ghl.ApplyToFuturePaymentsConfig{Type: "fixed", Duration: 3, DurationType: "months"}
	p.LimitPerCustomer = true
	up := oaMust(e.c.UpdateCoupon(ctx, c.ID, p))(t)
	if up.DiscountType != ghl.DiscountAmount {
		t.Errorf("UpdateCoupon: discountType %q, want amount", up.DiscountType)
	}
	if err := e.c.DeleteCoupon(ctx, e.loc, c.ID); err != nil {
		t.Fatal(err)
	}
}

func exerciseWhiteLabel(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	for i, prov := range []string{"authorize-net", "nmi"} {
		oaMust(e.c.CreateWhiteLabelProvider(ctx, ghl.WhiteLabelProviderParams{LocationID: e.loc,
			UniqueName: fmt.Sprintf("spec-check-%d", i), Title: "Spec Check " + prov, Provider: prov,
			Description: "Validated against the official spec", ImageURL: "https://example.com/logo.png"}))(t)
	}
	all := oaMust(e.c.ListWhiteLabelProviders(ctx, ghl.ListWhiteLabelProvidersParams{LocationID: e.loc}))(t)
	if len(all) < 2 {
		t.Errorf("ListWhiteLabelProviders: %d providers, want at least 2", len(all))
	}
	oaMust(e.c.ListWhiteLabelProviders(ctx, ghl.ListWhiteLabelProvidersParams{LocationID: e.loc, Limit: 1, Offset: 1}))(t)
	// An invalid unique name: 422.
	_, err := e.c.CreateWhiteLabelProvider(ctx, ghl.WhiteLabelProviderParams{LocationID: e.loc,
		UniqueName: "Not Valid", Title: "x", Provider: "nmi", Description: "x", ImageURL: "https://example.com/x.png"})
	if !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("CreateWhiteLabelProvider with uniqueName %q: %v, want a 422", "Not Valid", err)
	}
}

func exerciseCustomProvider(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	if e.truth.CustomProvider == nil {
		// GHL answers 400 when the location has no custom provider.
		_, err := e.c.GetCustomProviderConfig(ctx, e.loc)
		if !hasStatus(err, http.StatusBadRequest) {
			t.Errorf("GetCustomProviderConfig without a provider: %v, want a 400", err)
		}
	}
	cp := oaMust(e.c.CreateCustomProvider(ctx, e.loc, ghl.CustomProviderParams{
		Name: "Spec Check Pay", Description: "A custom provider for the spec check",
		PaymentsURL: "https://pay.example.com/session", QueryURL: "https://pay.example.com/query",
		ImageURL: "https://pay.example.com/logo.png", SupportsSubscriptionSchedule: true}))(t)
	got := oaMust(e.c.GetCustomProviderConfig(ctx, e.loc))(t)
	if got.ID != cp.ID {
		t.Errorf("GetCustomProviderConfig: id %s, want %s", got.ID, cp.ID)
	}
	oaMust(e.c.ConnectCustomProvider(ctx, e.loc,
		ghl.CustomProviderKeys{APIKey: "live_api_key", PublishableKey: "live_pub_key"},
		ghl.CustomProviderKeys{APIKey: "test_api_key", PublishableKey: "test_pub_key"}))(t)
	oaMust(e.c.GetCustomProviderConfig(ctx, e.loc))(t) // connected: with paymentProvider
	if err := e.c.UpdateCustomProviderCapabilities(ctx, ghl.CapabilitiesParams{LocationID: e.loc,
		SupportsSubscriptionSchedules: false}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DisconnectCustomProvider(ctx, e.loc, false); err != nil {
		t.Fatal(err)
	}
	oaMust(e.c.GetCustomProviderConfig(ctx, e.loc))(t) // live only
	if err := e.c.DeleteCustomProvider(ctx, e.loc); err != nil {
		t.Fatal(err)
	}
}

func exerciseInvoices(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	page := oaMust(e.c.ListInvoices(ctx, ghl.ListInvoicesParams{LocationID: e.loc, Limit: 20}))(t)
	if len(page.Items) == 0 {
		t.Fatal("ListInvoices returned nothing")
	}
	inv := page.Items[0]
	issued, err := time.Parse(ghl.DateLayout, inv.IssueDate)
	if err != nil {
		t.Fatalf("invoice %s issueDate %q: %v", inv.ID, inv.IssueDate, err)
	}
	oaMust(e.c.ListInvoices(ctx, ghl.ListInvoicesParams{LocationID: e.loc, Status: ghl.InvoicePaid,
		PaymentMode: ghl.ModeLive, SortField: "issueDate", SortOrder: "ascend", Limit: 5, Offset: 5}))(t)
	var contactID string
	if inv.ContactDetails != nil {
		contactID = inv.ContactDetails.ID
	}
	oaMust(e.c.ListInvoices(ctx, ghl.ListInvoicesParams{LocationID: e.loc, StartAt: issued.AddDate(0, 0, -7),
		EndAt: issued, ContactID: contactID}))(t)
	for _, x := range page.Items[:min(5, len(page.Items))] {
		got := oaMust(e.c.GetInvoice(ctx, e.loc, x.ID))(t)
		if got.ID != x.ID {
			t.Errorf("GetInvoice(%s) returned %s", x.ID, got.ID)
		}
	}
	_, err = e.c.GetInvoice(ctx, e.loc, "000000000000000000000000")
	if !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetInvoice on a missing id: %v, want not found", err)
	}
}

func exerciseErrors(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	_, err := e.c.GetOrder(ctx, e.loc, "000000000000000000000000")
	if !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetOrder on a missing id: %v, want not found", err)
	}
	_, err = e.bad.ListOrders(ctx, ghl.ListOrdersParams{LocationID: e.loc})
	if !errors.Is(err, ghl.ErrUnauthorized) {
		t.Errorf("ListOrders with a bad token: %v, want unauthorized", err)
	}
	_, err = e.bad.GetTransaction(ctx, e.loc, "000000000000000000000000")
	if !errors.Is(err, ghl.ErrUnauthorized) {
		t.Errorf("GetTransaction with a bad token: %v, want unauthorized", err)
	}
	_, err = e.bad.ListInvoices(ctx, ghl.ListInvoicesParams{LocationID: e.loc})
	if !errors.Is(err, ghl.ErrUnauthorized) {
		t.Errorf("ListInvoices with a bad token: %v, want unauthorized", err)
	}
}

// exerciseEveryRecord walks every list to its end and fetches every record, as
// a full sync does, so that every shape the sandbox generates is validated:
// refunded and failed transactions, canceled subscriptions, orders with
// coupons, taxes and fulfillments, invoices in every status.
func exerciseEveryRecord(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	n := 0
	for o, err := range e.c.Orders(ctx, ghl.ListOrdersParams{LocationID: e.loc, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		oaMust(e.c.GetOrder(ctx, e.loc, o.ID))(t)
		if o.FulfillmentStatus != ghl.Unfulfilled {
			oaMust(e.c.ListFulfillments(ctx, e.loc, o.ID))(t)
		}
		n++
	}
	for x, err := range e.c.Transactions(ctx, ghl.ListTransactionsParams{LocationID: e.loc, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		oaMust(e.c.GetTransaction(ctx, e.loc, x.ID))(t)
		n++
	}
	for s, err := range e.c.Subscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: e.loc, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		oaMust(e.c.GetSubscription(ctx, e.loc, s.ID))(t)
		n++
	}
	for inv, err := range e.c.Invoices(ctx, ghl.ListInvoicesParams{LocationID: e.loc, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		oaMust(e.c.GetInvoice(ctx, e.loc, inv.ID))(t)
		n++
	}
	for _, err := range e.c.Coupons(ctx, ghl.ListCouponsParams{LocationID: e.loc, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	t.Logf("fetched %d records one by one", n)
}

// hasStatus reports whether err is a ghl.Error with the given HTTP status.
func hasStatus(err error, status int) bool {
	var ge *ghl.Error
	return errors.As(err, &ge) && ge.StatusCode == status
}
