package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/api"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/vault"
)

// The contract: every request the tests of this package make, and every
// answer they get, is checked against openapi.json (see checked), and the
// document's operations are exactly the routes the API registers.

// loadDoc loads and validates the embedded document.
func loadDoc(t testing.TB) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("loading openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// contract is the document with a test server as its server.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

func loadContract(t testing.TB, base string) *contract {
	t.Helper()
	doc := loadDoc(t)
	doc.Servers = openapi3.Servers{{URL: base}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{doc: doc, router: r}
}

// exercised records each operation and status the tests got an answer
// from, for TestMain's check that every operation was called.
var exercised sync.Map // "GET /api/v1/orders 200" → true

// exempt are operations whose test skipped for want of a service (mailpit).
var exempt sync.Map // "POST /api/v1/notices/{id}/retry" → true

// checked is a RoundTripper that checks each exchange against the
// document, failing t: the request (parameters, body, security), and the
// answer (its status is documented, its headers and body match the
// schema). A request the document refuses must be answered with a 4xx;
// one on no documented route must be a 404 (or 401 without a key) in the
// one error shape. Every answer carries X-Request-Id.
type checked struct {
	t    *testing.T
	c    *contract
	next http.RoundTripper
}

func (c *contract) transport(t *testing.T, next http.RoundTripper) http.RoundTripper {
	return &checked{t: t, c: c, next: next}
}

func (ck *checked) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	what := req.Method + " " + req.URL.RequestURI()
	route, params, routeErr := ck.c.router.FindRoute(req)
	var input *openapi3filter.RequestValidationInput
	var reqErr error
	if routeErr == nil {
		vreq := req.Clone(context.Background())
		vreq.Body = io.NopCloser(bytes.NewReader(body))
		input = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true, AuthenticationFunc: authenticate}}
		reqErr = openapi3filter.ValidateRequest(context.Background(), input)
	}
	resp, err := ck.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.Header.Get("X-Request-Id") == "" {
		ck.t.Errorf("%s: answered %d without X-Request-Id", what, resp.StatusCode)
	}
	stream := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	var rbody []byte
	if !stream {
		rbody, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(rbody))
	}
	if routeErr != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusUnauthorized {
			ck.t.Errorf("%s is on no route of the document (%v), yet answered %d", what, routeErr, resp.StatusCode)
		}
		ck.c.checkError(ck.t, what, rbody)
		return resp, nil
	}
	if reqErr != nil && (resp.StatusCode < 400 || resp.StatusCode > 499) {
		ck.t.Errorf("%s: the document refuses this request (%v), yet the API answered %d", what, reqErr, resp.StatusCode)
	}
	opts := *input.Options
	opts.ExcludeResponseBody = stream
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: input, Status: resp.StatusCode, Header: resp.Header, Options: &opts}
	rin.SetBodyBytes(rbody)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		ck.t.Errorf("%s: the answer %d does not match the document: %v\nbody: %s", what, resp.StatusCode, err, clip(rbody))
	}
	exercised.Store(route.Method+" "+route.Path+" "+strconv.Itoa(resp.StatusCode), true)
	return resp, nil
}

// authenticate stands for the security schemes in request validation: the
// request carries the credential (the server judges it).
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "bearer":
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return nil
		}
	case "session":
		if _, err := r.Cookie(access.SessionCookie); err == nil {
			return nil
		}
	}
	return errors.New("no " + in.SecuritySchemeName + " credential")
}

// checkError checks a body against the document's Error schema.
func (c *contract) checkError(t *testing.T, what string, body []byte) {
	t.Helper()
	c.checkSchema(t, what, "Error", body)
}

// checkSchema checks JSON against one of the document's schemas.
func (c *contract) checkSchema(t *testing.T, what, schema string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: not JSON: %v: %s", what, err, clip(body))
		return
	}
	if err := c.doc.Components.Schemas[schema].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s: not a %s: %v: %s", what, schema, err, clip(body))
	}
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// operations are the document's operations by "METHOD path".
func operations(doc *openapi3.T) map[string]*openapi3.Operation {
	out := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[method+" "+path] = op
		}
	}
	return out
}

// TestOpenAPIDocument checks the document's own rules: a valid OpenAPI
// 3.1 document whose every operation has an id, a declared tag, the
// bearer key, the scope it needs named in its description, and whose
// every error answer is the one error shape.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if doc.Info == nil || doc.Info.Description == "" || len(doc.Servers) == 0 {
		t.Error("no info.description or servers")
	}
	if s := doc.Components.SecuritySchemes["bearer"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Error("no bearer security scheme")
	}
	if len(doc.Security) == 0 {
		t.Error("no security")
	}
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
	}
	seen := map[string]bool{}
	for name, op := range operations(doc) {
		if op.OperationID == "" || seen[op.OperationID] {
			t.Errorf("%s: operationId %q missing or repeated", name, op.OperationID)
		}
		seen[op.OperationID] = true
		if len(op.Tags) == 0 || !tags[op.Tags[0]] {
			t.Errorf("%s: tags %v not declared", name, op.Tags)
		}
		scope, _ := op.Extensions["x-rankr-scope"].(string)
		want := "Any valid key (no scope)."
		if scope != "" {
			want = "Scope: `" + scope + "`."
		}
		if !strings.HasSuffix(op.Description, want) {
			t.Errorf("%s: the description does not end with %q", name, want)
		}
		if op.Responses.Value("401") == nil || op.Responses.Value("403") == nil || op.Responses.Value("500") == nil {
			t.Errorf("%s: no 401, 403 or 500 answer", name)
		}
		for code, r := range op.Responses.Map() {
			if code[0] != '4' && code[0] != '5' {
				if r.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s: no X-Request-Id header", name, code)
				}
				continue
			}
			if !strings.HasPrefix(r.Ref, "#/components/responses/") {
				t.Errorf("%s %s: not a shared error answer", name, code)
				continue
			}
			mt := r.Value.Content.Get("application/json")
			if mt == nil || mt.Schema.Ref != "#/components/schemas/Error" || r.Value.Headers["X-Request-Id"] == nil {
				t.Errorf("%s %s: not the Error shape with X-Request-Id", name, code)
			}
		}
	}
}

// TestEveryRouteIsDocumented holds the document and the routes together:
// every route api.Register registers (the doctor's too) is an operation of
// the document naming the route's scope, every operation is a route, and
// serve registers them all.
func TestEveryRouteIsDocumented(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	ops := operations(doc)
	rt := access.NewRouter(nil) // listed, never served
	api.Register(rt, app.New(app.Deps{}), api.Options{Doctor: func(context.Context, app.Caller, string) (any, error) { return nil, nil }})
	registered := map[string]bool{}
	for _, r := range rt.Routes() {
		registered[r.Pattern] = true
		op, ok := ops[r.Pattern]
		if !ok {
			t.Errorf("route %s is not in openapi.json", r.Pattern)
			continue
		}
		if scope, _ := op.Extensions["x-rankr-scope"].(string); scope != r.Policy.Scope() {
			t.Errorf("%s: the document names scope %q, the route needs %q", r.Pattern, scope, r.Policy.Scope())
		}
		if !strings.HasPrefix(strings.SplitN(r.Pattern, " ", 2)[1], api.Prefix+"/") {
			t.Errorf("route %s is not under %s", r.Pattern, api.Prefix)
		}
	}
	for name := range ops {
		if !registered[name] {
			t.Errorf("openapi.json has %s, which api.Register does not register", name)
		}
	}

	// serve's own router: every API route.
	master, _ := vault.ParseKey(vault.NewKey())
	d, err := daemon.Open(context.Background(), daemon.Config{DB: sqliteDB(t), MasterKey: master})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv, err := d.Router(nil)
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, r := range srv.Routes() {
		if _, path, _ := strings.Cut(r.Pattern, " "); strings.HasPrefix(path, api.Prefix+"/") {
			served = append(served, r.Pattern)
			if !registered[r.Pattern] {
				t.Errorf("serve registers %s, which is not in openapi.json", r.Pattern)
			}
		}
	}
	for name := range registered {
		if !slices.Contains(served, name) {
			t.Errorf("serve does not register %s", name)
		}
	}

	// The document served is the one embedded, to any key.
	key := ownerKeyOn(t, d)
	ts := httptest.NewServer(d.Handler())
	defer ts.Close()
	c := &client{t: t, base: ts.URL, key: key, hc: &http.Client{Transport: loadContract(t, ts.URL).transport(t, http.DefaultTransport)}}
	a := c.getJSON(api.Prefix+"/openapi.json", http.StatusOK, nil)
	if !bytes.Equal(a.Body, api.OpenAPI()) || a.Header.Get("Content-Type") != "application/json" {
		t.Errorf("the served document (%s, %d bytes) is not the embedded one", a.Header.Get("Content-Type"), len(a.Body))
	}
	// With no connection, the list is empty, not null.
	var list struct {
		Items []any `json:"items"`
	}
	c.getJSON(api.Prefix+"/connections", http.StatusOK, &list)
	if list.Items == nil {
		t.Error("connections: items is null with no connection")
	}
}

// ownerKeyOn makes an owner key on a daemon.
func ownerKeyOn(t *testing.T, d *daemon.Daemon) string {
	t.Helper()
	acc, err := d.OpenAccess(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	k, err := acc.Keys.Create(context.Background(), access.Host("test"), access.KeyRequest{Role: "owner", ExpiresIn: 3600e9})
	if err != nil {
		t.Fatal(err)
	}
	return k.Token
}

// unexercised lists the operations no test got a 2xx answer from.
func unexercised() []string {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		return []string{err.Error()}
	}
	var missing []string
	for name := range operations(doc) {
		ok := false
		for _, code := range []int{200, 201, 202} {
			if _, hit := exercised.Load(fmt.Sprintf("%s %d", name, code)); hit {
				ok = true
			}
		}
		if _, skipped := exempt.Load(name); !ok && !skipped {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	return missing
}
