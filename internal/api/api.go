// Package api is rankr's REST API, /api/v1: everything the CLI reads or
// does, over HTTP, each route behind the scope it names (package access
// guards it), each handler a thin adapter over one use case of package app.
// The OpenAPI 3.1 document (openapi.json, embedded and served at
// /api/v1/openapi.json) describes every route; a test checks every answer
// of the API's test suite against it. Errors have one shape and are mapped
// from domain errors in one place (errors.go).
//
// It must not import internal/cli, internal/web or internal/daemon.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI document.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// Server serves the API.
type Server struct {
	app *app.App
	log *slog.Logger
	// heartbeat is how often an idle event stream sends a comment, so
	// that proxies keep it open.
	heartbeat time.Duration
	doctor    DoctorFunc
}

// DoctorFunc runs the connectivity checks (rankr doctor) for a location,
// or every one, as the caller.
type DoctorFunc func(ctx context.Context, c app.Caller, location string) (any, error)

// Options configure the API.
type Options struct {
	Logger *slog.Logger
	// Heartbeat of the event stream (default 15 s).
	Heartbeat time.Duration
	// Doctor, when set, serves GET /api/v1/doctor.
	Doctor DoctorFunc
}

// Register adds the API's routes to rt.
func Register(rt *access.Router, a *app.App, o Options) *Server {
	s := &Server{app: a, log: logger(o.Logger), heartbeat: o.Heartbeat, doctor: o.Doctor}
	if s.heartbeat <= 0 {
		s.heartbeat = 15 * time.Second
	}
	need := access.Need
	loc := func(scope string) access.Policy { return need(scope).InLocation("path:locationId") }
	h := func(pattern string, p access.Policy, f http.HandlerFunc) { rt.HandleFunc(pattern, p, f) }

	h("GET "+Prefix+"/openapi.json", access.AnyKey(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})

	h("GET "+Prefix+"/overview", need("connections:read"), s.overview)
	h("GET "+Prefix+"/connections", need("connections:read"), s.connections)
	h("GET "+Prefix+"/connections/{locationId}", loc("connections:read"), s.connection)
	h("PUT "+Prefix+"/connections/{locationId}/token", loc("connections:write"), s.connect)
	h("POST "+Prefix+"/connections/{locationId}/pause", loc("connections:write"), s.pause)
	h("POST "+Prefix+"/connections/{locationId}/resume", loc("connections:write"), s.resume)
	h("POST "+Prefix+"/connections/{locationId}/resync", loc("connections:write"), s.resync)

	h("GET "+Prefix+"/orders", need("orders:read"), s.orders)
	h("GET "+Prefix+"/orders/{id}", need("orders:read"), s.order)
	h("GET "+Prefix+"/fulfillments", need("orders:read"), s.fulfillments)
	h("GET "+Prefix+"/fulfillments/{id}", need("orders:read"), s.fulfillment)
	h("GET "+Prefix+"/transactions", need("transactions:read"), s.transactions)
	h("GET "+Prefix+"/transactions/{id}", need("transactions:read"), s.transaction)
	h("GET "+Prefix+"/subscriptions", need("subscriptions:read"), s.subscriptions)
	h("GET "+Prefix+"/subscriptions/{id}", need("subscriptions:read"), s.subscription)
	h("GET "+Prefix+"/invoices", need("invoices:read"), s.invoices)
	h("GET "+Prefix+"/invoices/{id}", need("invoices:read"), s.invoice)

	h("GET "+Prefix+"/events", need("events:read"), s.events)
	h("GET "+Prefix+"/events/stream", need("events:read"), s.stream)

	h("POST "+Prefix+"/pushes", need("orders:write"), s.requestPush)
	h("GET "+Prefix+"/pushes", need("orders:read"), s.pushes)
	h("GET "+Prefix+"/pushes/{id}", need("orders:read"), s.push)
	h("GET "+Prefix+"/notices", need("orders:read"), s.notices)
	h("POST "+Prefix+"/notices/{id}/retry", need("orders:write"), s.retryNotice)

	h("GET "+Prefix+"/reconciliation/report", need("reconcile:read"), s.report)
	h("GET "+Prefix+"/reconciliation/exceptions", need("reconcile:read"), s.exceptions)
	h("POST "+Prefix+"/reconciliation/runs", need("reconcile:write"), s.reconcileRun)

	h("GET "+Prefix+"/webhooks/endpoints", need("webhooks:read"), s.endpoints)
	h("POST "+Prefix+"/webhooks/endpoints", need("webhooks:write"), s.addEndpoint)
	h("GET "+Prefix+"/webhooks/endpoints/{id}", need("webhooks:read"), s.endpoint)
	h("DELETE "+Prefix+"/webhooks/endpoints/{id}", need("webhooks:write"), s.removeEndpoint)
	h("POST "+Prefix+"/webhooks/endpoints/{id}/enable", need("webhooks:write"), s.enableEndpoint(true))
	h("POST "+Prefix+"/webhooks/endpoints/{id}/disable", need("webhooks:write"), s.enableEndpoint(false))
	h("POST "+Prefix+"/webhooks/endpoints/{id}/rotate-secret", need("webhooks:write"), s.rotateSecret)
	h("GET "+Prefix+"/webhooks/deliveries", need("webhooks:read"), s.deliveries)
	h("POST "+Prefix+"/webhooks/replays", need("webhooks:write"), s.replay)

	h("GET "+Prefix+"/catalog", need("catalog:read"), s.catalogList)
	h("GET "+Prefix+"/catalog/{id}", need("catalog:read"), s.catalogItem)
	h("POST "+Prefix+"/catalog/{id}/dry-runs", need("catalog:read"), s.catalogRun(true))
	h("POST "+Prefix+"/catalog/{id}/runs", need("catalog:write"), s.catalogRun(false))

	h("GET "+Prefix+"/automations", need("automations:read"), s.automations)
	h("POST "+Prefix+"/automations", need("automations:write"), s.applyAutomation)
	h("POST "+Prefix+"/automations/validate", need("automations:read"), s.validateAutomation)
	h("POST "+Prefix+"/automations/tests", need("automations:read"), s.testAutomation)
	h("GET "+Prefix+"/automations/schema", need("automations:read"), s.automationSchema)
	h("GET "+Prefix+"/automations/{id}", need("automations:read"), s.automation)
	h("POST "+Prefix+"/automations/{id}/enable", need("automations:write"), s.enableAutomation(true))
	h("POST "+Prefix+"/automations/{id}/disable", need("automations:write"), s.enableAutomation(false))
	h("GET "+Prefix+"/automation-runs", need("automations:read"), s.automationRuns)
	h("GET "+Prefix+"/automation-runs/{id}", need("automations:read"), s.automationRun)
	h("POST "+Prefix+"/automation-runs/{id}/retry", need("automations:write"), s.retryAutomationRun)
	h("GET "+Prefix+"/automation-pauses", need("automations:read"), s.automationPauses)
	h("DELETE "+Prefix+"/automation-pauses/{locationId}", loc("automations:write"), s.resumeAutomations)

	h("GET "+Prefix+"/jobs/{id}", access.AnyKey(), s.job)

	h("GET "+Prefix+"/keys", need("keys:read"), s.keys)
	h("POST "+Prefix+"/keys", need("keys:write"), s.createKey)
	h("GET "+Prefix+"/keys/{id}", need("keys:read"), s.key)
	h("POST "+Prefix+"/keys/{id}/revoke", need("keys:write"), s.revokeKey)
	h("GET "+Prefix+"/audit", need("audit:read"), s.audit)

	if s.doctor != nil {
		h("GET "+Prefix+"/doctor", need("connections:read"), s.runDoctor)
	}
	return s
}

// caller is who holds the request's key.
func caller(r *http.Request) app.Caller { return app.KeyHolder(access.PrincipalFrom(r.Context())) }

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// answer writes v, or the error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

// accepted answers a queued job: 202, where to poll, and the job.
func (s *Server) accepted(w http.ResponseWriter, r *http.Request, j app.Job, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/jobs/"+j.ID)
	writeJSON(w, http.StatusAccepted, j)
}

func (s *Server) job(w http.ResponseWriter, r *http.Request) {
	j, err := s.app.JobShow(r.Context(), caller(r), r.PathValue("id"))
	s.answer(w, r, http.StatusOK, j, err)
}

func (s *Server) runDoctor(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "locationId")
	loc := q.str("locationId")
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	rep, err := s.doctor(r.Context(), caller(r), loc)
	s.answer(w, r, http.StatusOK, rep, err)
}
