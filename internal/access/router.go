package access

import "net/http"

// Route is a registered route and its policy.
type Route struct {
	Pattern string
	Policy  Policy
}

// Router is a ServeMux on which a route cannot be registered without a
// policy, and which lists its routes, so that a test can call each one as
// every role.
type Router struct {
	mux    *http.ServeMux
	guard  *Guard
	routes []Route
}

// NewRouter returns an empty router guarded by g.
func NewRouter(g *Guard) *Router { return &Router{mux: http.NewServeMux(), guard: g} }

// Handle registers h for pattern (a ServeMux pattern) under policy p.
func (rt *Router) Handle(pattern string, p Policy, h http.Handler) {
	rt.routes = append(rt.routes, Route{Pattern: pattern, Policy: p})
	rt.mux.Handle(pattern, rt.guard.Wrap(p, h))
}

// HandleFunc registers a handler function.
func (rt *Router) HandleFunc(pattern string, p Policy, h http.HandlerFunc) { rt.Handle(pattern, p, h) }

// Routes lists the routes registered, in order.
func (rt *Router) Routes() []Route { return append([]Route(nil), rt.routes...) }

// NotFound registers the catch-all: a path no route takes answers 404,
// as JSON, and only to a valid key, so that the routes cannot be listed
// by probing without one. Register it last.
func (rt *Router) NotFound() {
	rt.Handle("/", AnyKey(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path)
	}))
}

// ServeHTTP serves a request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }
