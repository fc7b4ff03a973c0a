package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// tokenGrant is what a bearer token may do: act for some locations (nil: any
// location) with some scopes, until it expires (never when zero).
type tokenGrant struct {
	locations map[string]bool
	scopes    map[string]bool
	expires   time.Time
	// sess is the OAuth install and user type an OAuth access token was
	// issued for; nil for a Private Integration Token.
	sess *session
}

func allScopes() map[string]bool {
	m := map[string]bool{}
	for _, sc := range ghl.Scopes() {
		m[sc] = true
	}
	return m
}

// versions are the Version header values GHL's documents use.
var versions = map[string]bool{"2021-04-15": true, "2021-07-28": true, "2023-02-21": true, "v3": true}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// apiRequest is one authorized API call on its way to a handler.
type apiRequest struct {
	s   *Server
	r   *http.Request
	op  ghl.Operation
	loc *location
	// company holds the locations of a company-level call (loc is nil).
	company []*location
	query   url.Values
	body    map[string]json.RawMessage
	raw     []byte
	now     time.Time
}

// handler does an operation's work. It returns the response body.
type handler func(*apiRequest) (any, *apiError)

// route ties an operation to its handler and to where the request names its
// location.
type route struct {
	op      ghl.Operation
	locIn   string // "query", "body", or "owner": the body names a record whose location it is
	locKey  string // "altId" or "locationId"
	altType bool   // the operation takes altType=location
	status  int    // success status
	h       handler
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// ServeMux refuses patterns that overlap with neither more specific
	// (as /products/collections/{collectionId} and /products/{productId}/
	// price do); those routes are matched by hand when the mux has none.
	var unmuxed []route
	for _, rt := range s.apiRoutes() {
		if handMatched(rt.op) {
			unmuxed = append(unmuxed, rt)
			continue
		}
		pattern := rt.op.Method + " " + rt.op.Path
		if strings.HasSuffix(rt.op.Path, "/") {
			pattern += "{$}"
		}
		mux.Handle(pattern, s.serveAPI(rt))
	}
	s.oauthRoutes(mux)
	s.adminRoutes(mux)
	s.oauthAdminRoutes(mux)
	s.workflowRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.serveHandMatched(w, r, unmuxed) {
			return
		}
		s.writeError(w, &apiError{status: http.StatusNotFound, message: fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path)}, s.traceID())
	})
	return mux
}

// apiRoutes are the routes of every GHL API operation the sandbox serves,
// one list per API family.
func (s *Server) apiRoutes() []route {
	return slices.Concat(s.paymentsRoutes(), s.invoiceRoutes(), s.productRoutes(), s.storeRoutes())
}

// paymentsRoutes serve the Payments API.
func (s *Server) paymentsRoutes() []route {
	q, b := "query", "body"
	return []route{
		{ghl.OpCreateWhiteLabelProvider, b, "altId", true, 200, s.createWhiteLabel},
		{ghl.OpListWhiteLabelProviders, q, "altId", true, 200, s.listWhiteLabel},
		{ghl.OpListOrders, q, "altId", false, 200, s.listOrders},
		{ghl.OpGetOrder, q, "altId", false, 200, s.getOrder},
		{ghl.OpRecordOrderPayment, b, "altId", true, 200, s.recordPayment},
		{ghl.OpCreateFulfillment, b, "altId", true, 200, s.createFulfillment},
		{ghl.OpListFulfillments, q, "altId", true, 200, s.listFulfillments},
		{ghl.OpListOrderNotes, q, "altId", true, 200, s.listNotes},
		{ghl.OpListTransactions, q, "altId", true, 200, s.listTransactions},
		{ghl.OpGetTransaction, q, "altId", true, 200, s.getTransaction},
		{ghl.OpListSubscriptions, q, "altId", true, 200, s.listSubscriptions},
		{ghl.OpGetSubscription, q, "altId", true, 200, s.getSubscription},
		{ghl.OpListCoupons, q, "altId", true, 200, s.listCoupons},
		{ghl.OpCreateCoupon, b, "altId", true, 201, s.createCoupon},
		{ghl.OpUpdateCoupon, b, "altId", true, 200, s.updateCoupon},
		{ghl.OpDeleteCoupon, b, "altId", true, 200, s.deleteCoupon},
		{ghl.OpGetCoupon, q, "altId", true, 200, s.getCoupon},
		{ghl.OpCreateCustomProvider, q, "locationId", false, 200, s.createCustomProvider},
		{ghl.OpDeleteCustomProvider, q, "locationId", false, 200, s.deleteCustomProvider},
		{ghl.OpGetCustomProviderConfig, q, "locationId", false, 200, s.getCustomProvider},
		{ghl.OpConnectCustomProvider, q, "locationId", false, 200, s.connectCustomProvider},
		{ghl.OpDisconnectCustomProvider, q, "locationId", false, 200, s.disconnectCustomProvider},
		{ghl.OpUpdateCustomProviderCaps, b, "locationId", false, 200, s.updateCapabilities},
	}
}

// serveAPI runs GHL's checks in GHL's order, then the operation.
func (s *Server) serveAPI(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trace := s.traceID()
		req := &apiRequest{s: s, r: r, op: rt.op, query: r.URL.Query(), now: s.clock()}
		fail := func(e *apiError) {
			s.stats.count(req.locID(), rt.op.Name, e.status)
			s.writeError(w, e, trace)
		}

		grant, e := s.authenticate(r)
		if e != nil {
			fail(e)
			return
		}
		if v := r.Header.Get("Version"); !versions[v] {
			if v == "" {
				fail(badRequest("Version header is required"))
			} else {
				fail(badRequest(fmt.Sprintf("Version %q is not supported; use 2021-07-28", v)))
			}
			return
		}
		if e := req.readBody(); e != nil {
			fail(e)
			return
		}
		locID, e := req.param(rt.locIn, rt.locKey)
		var lim *limiter
		switch {
		case rt.locIn == "owner":
			// The request names a record, not a location (locKey is the
			// path or body field holding its id): act for its owner.
			loc, oe := s.recordOwner(req, rt.locKey, grant)
			if oe != nil {
				fail(oe)
				return
			}
			req.loc, lim = loc, loc.limiter
		case e == nil:
			loc := s.location(locID)
			if loc == nil || (grant.locations != nil && !grant.locations[locID]) {
				fail(forbidden(msgNoLocation))
				return
			}
			req.loc, lim = loc, loc.limiter
		case rt.op.Name == ghl.OpUpdateCustomProviderCaps.Name:
			// locationId is optional when the call names a company.
			company, ce := req.param("body", "companyId")
			if ce != nil {
				fail(unprocessable("locationId must be a string when companyId is not provided"))
				return
			}
			if req.company = s.companyLocations(company, grant); len(req.company) == 0 {
				fail(forbidden("The token does not have access to this company."))
				return
			}
			lim = s.companyLimiter(company)
		default:
			fail(e)
			return
		}

		faults := s.faults.get()
		if !faults.applies(rt.op.Name) {
			faults = Faults{StormUntil: faults.StormUntil}
		}
		if !s.admit(w, req, lim, faults) {
			fail(&apiError{status: http.StatusTooManyRequests, message: msgTooManyRequests})
			return
		}
		if !s.injectBefore(w, r, req, faults) {
			return
		}
		if rt.op.Scope != "" && !grant.scopes[rt.op.Scope] {
			fail(unauthorized(msgMissingScope))
			return
		}
		if rt.altType {
			if at, e := req.param(rt.locIn, "altType"); e != nil || at != "location" {
				fail(unprocessable("altType must be one of the following values: location"))
				return
			}
		}

		body, e := rt.h(req)
		if e != nil {
			fail(e)
			return
		}
		if !s.injectAfter(w, r, req, faults) {
			return
		}
		s.stats.count(req.locID(), rt.op.Name, rt.status)
		writeJSON(w, rt.status, body)
	})
}

func (s *Server) authenticate(r *http.Request) (*tokenGrant, *apiError) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return nil, unauthorized(msgInvalidToken)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.tokens[token]
	if g == nil || (!g.expires.IsZero() && !s.clock().Before(g.expires)) {
		// GHL answers an expired access token as it does an unknown one.
		return nil, unauthorized(msgInvalidToken)
	}
	return g, nil
}

// admit applies the location's rate limit and any 429 faults.
func (s *Server) admit(w http.ResponseWriter, req *apiRequest, l *limiter, f Faults) bool {
	s.mu.RLock()
	lim := s.limits
	s.mu.RUnlock()
	storm := req.now.Before(f.StormUntil)
	if storm || s.faults.roll(f.Rate429) {
		// A refusal that is not the real limit: the headers still tell the
		// real budget, except in a storm, which acts as if others spent it.
		l.admit(lim, req.now, w.Header(), false)
		if storm {
			w.Header().Set("X-RateLimit-Remaining", "0")
		}
		s.stats.fault("429")
		return false
	}
	return l.admit(lim, req.now, w.Header(), true)
}

// companyLocations returns the company's locations the grant reaches.
func (s *Server) companyLocations(companyID string, g *tokenGrant) []*location {
	var out []*location
	for _, l := range s.allLocations() {
		if l.companyID == companyID && (g.locations == nil || g.locations[l.id]) {
			out = append(out, l)
		}
	}
	return out
}

// companyLimiter is the rate budget of a company, a resource of its own.
func (s *Server) companyLimiter(companyID string) *limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.companyLimits == nil {
		s.companyLimits = map[string]*limiter{}
	}
	l := s.companyLimits[companyID]
	if l == nil {
		l = newLimiter()
		s.companyLimits[companyID] = l
	}
	return l
}

// injectBefore applies the faults that strike before any work is done. It
// returns false when it has answered (or dropped) the request.
func (s *Server) injectBefore(w http.ResponseWriter, r *http.Request, req *apiRequest, f Faults) bool {
	if d := time.Duration(f.Latency) + s.faults.jitter(time.Duration(f.LatencyJitter)); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if s.faults.roll(f.DropRate) {
		s.stats.fault("drop")
		drop(w)
		return false
	}
	if s.faults.roll(f.ErrorRate) {
		s.stats.fault("5xx")
		status := s.faults.pick5xx()
		s.stats.count(req.locID(), req.op.Name, status)
		s.writeError(w, &apiError{status: status, message: http.StatusText(status)}, s.traceID())
		return false
	}
	return true
}

// injectAfter applies the faults that strike after the work is done, so
// that the client cannot know the outcome.
func (s *Server) injectAfter(w http.ResponseWriter, r *http.Request, req *apiRequest, f Faults) bool {
	switch {
	case s.faults.roll(f.ErrorAfterRate):
		s.stats.fault("5xx-after")
		status := s.faults.pick5xx()
		s.stats.count(req.locID(), req.op.Name, status)
		s.writeError(w, &apiError{status: status, message: http.StatusText(status)}, s.traceID())
		return false
	case s.faults.roll(f.DropAfterRate):
		s.stats.fault("drop-after")
		drop(w)
		return false
	case s.faults.roll(f.StallAfterRate):
		s.stats.fault("stall-after")
		t := time.NewTimer(time.Duration(f.Stall))
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
		drop(w)
		return false
	}
	return true
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		// HTTP/2 cannot hijack; abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// readBody reads and decodes a JSON object body, if there is one.
func (req *apiRequest) readBody() *apiError {
	if req.r.Body == nil || req.r.Method == http.MethodGet {
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(req.r.Body, maxBody+1))
	if err != nil {
		return badRequest("could not read the request body")
	}
	if len(raw) > maxBody {
		return &apiError{status: http.StatusRequestEntityTooLarge, message: "request entity too large"}
	}
	req.raw = raw
	if len(bytes.TrimSpace(raw)) == 0 {
		req.body = map[string]json.RawMessage{}
		return nil
	}
	if err := json.Unmarshal(raw, &req.body); err != nil {
		return badRequest(fmt.Sprintf("Unexpected token in JSON body: %v", err))
	}
	return nil
}

// param returns a required string parameter from the query or the body.
func (req *apiRequest) param(in, key string) (string, *apiError) {
	var v string
	if in == "query" {
		v = req.query.Get(key)
	} else if raw, ok := req.body[key]; ok {
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", unprocessable(key + " must be a string")
		}
	}
	if v == "" {
		return "", unprocessable(key+" should not be empty", key+" must be a string")
	}
	return v, nil
}

// locID names the location for statistics, before it is resolved.
func (req *apiRequest) locID() string {
	if req.loc != nil {
		return req.loc.id
	}
	return ""
}

// decode decodes the JSON body into v, reporting type errors as GHL's 422.
func (req *apiRequest) decode(v any) *apiError {
	if err := json.Unmarshal(req.raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return unprocessable(fmt.Sprintf("%s must be %s", te.Field, kindName(te.Type.Kind())))
		}
		return badRequest(err.Error())
	}
	return nil
}

// kindName words a Go kind the way GHL's validation messages do.
func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "a boolean value"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return "a number conforming to the specified constraints"
}
