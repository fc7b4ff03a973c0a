package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// GHL's side of the marketplace "Workflow Triggers & Actions" contract:
// a workflow that adds an app's custom trigger makes GHL POST a
// subscription to the app (CREATED, UPDATED, DELETED), with a target URL
// the app fires the trigger at; a workflow step that is an app's custom
// action makes GHL POST {data, extras, meta} to the app's action URL.
// The sandbox plays both parts against MarketplaceURL, and serves the
// target URLs itself, recording each execution.

// ExecutePrefix is where GHL takes the firings of custom triggers.
const ExecutePrefix = "/workflows-marketplace/triggers/execute/"

// WorkflowFilter is a filter a workflow sets on a custom trigger, as GHL
// sends it in a subscription.
type WorkflowFilter struct {
	Field    string `json:"field"`
	ID       string `json:"id"`
	Operator string `json:"operator"`
	Title    string `json:"title"`
	Type     string `json:"type"`
	Value    any    `json:"value"`
}

// WorkflowExecution is one firing of a custom trigger that reached the
// target URL.
type WorkflowExecution struct {
	TriggerID string          `json:"triggerId"`
	Payload   json.RawMessage `json:"payload"`
	At        time.Time       `json:"at"`
}

// MarketplaceError is the app's refusal of a call the sandbox made as GHL.
type MarketplaceError struct {
	Status int
	Body   []byte
}

func (e *MarketplaceError) Error() string {
	return fmt.Sprintf("the app answered %d: %s", e.Status, bytes.TrimSpace(e.Body))
}

type wfTrigger struct {
	id, locationID, workflowID, companyID, key, target string
	filters                                            []WorkflowFilter
	active                                             bool
	executions                                         []WorkflowExecution
}

type workflowState struct {
	mu       sync.Mutex
	url      string // the app's base URL
	secret   string
	triggers map[string]*wfTrigger
}

func (w *workflowState) config() (string, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.url, w.secret
}

// SetMarketplace points the sandbox's workflow calls at an app (its base
// URL) with the secret header it expects.
func (s *Server) SetMarketplace(baseURL, secret string) {
	s.workflows.mu.Lock()
	defer s.workflows.mu.Unlock()
	s.workflows.url, s.workflows.secret = strings.TrimRight(baseURL, "/"), secret
}

// workflowID is the id of the sandbox's one workflow per location that
// uses the app: stable, so that a repeated action call is the same call.
func (s *Server) workflowID(locationID string) string {
	h := sha256.Sum256(append(seedBytes(s.cfg.Seed, "workflow"), locationID...))
	return hex.EncodeToString(h[:12])
}

func newTriggerID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AddWorkflowTrigger plays a workflow adding the app's custom trigger key
// in a location: it makes the trigger's target URL on the sandbox and
// POSTs the CREATED subscription to the app. The trigger exists only if
// the app took it.
func (s *Server) AddWorkflowTrigger(locationID, key string, filters ...WorkflowFilter) (string, error) {
	l := s.location(locationID)
	if l == nil {
		return "", errUnknownLocation(locationID)
	}
	base := s.baseURL.Load()
	if base == nil {
		return "", errors.New("sandbox: its base URL is unknown (SetBaseURL): the trigger's target URL is on it")
	}
	tr := &wfTrigger{id: newTriggerID(), locationID: locationID, workflowID: s.workflowID(locationID), companyID: l.companyID,
		key: key, filters: filters, active: true}
	tr.target = strings.TrimRight(*base, "/") + ExecutePrefix + s.oauth.appID + "/" + tr.id
	if tr.filters == nil {
		tr.filters = []WorkflowFilter{}
	}
	s.workflows.mu.Lock()
	s.workflows.triggers[tr.id] = tr
	s.workflows.mu.Unlock()
	if err := s.sendSubscription(tr, "CREATED"); err != nil {
		s.workflows.mu.Lock()
		delete(s.workflows.triggers, tr.id)
		s.workflows.mu.Unlock()
		return "", err
	}
	return tr.id, nil
}

// RemoveWorkflowTrigger plays the workflow removing the trigger: GHL tells
// the app (DELETED), and its target URL answers 404 "inactive" from then
// on.
func (s *Server) RemoveWorkflowTrigger(triggerID string) error {
	tr, err := s.deactivate(triggerID)
	if err != nil {
		return err
	}
	return s.sendSubscription(tr, "DELETED")
}

// DeactivateWorkflowTrigger makes a trigger's target URL answer 404
// "inactive" without telling the app, as when the workflow is deleted
// along with its trigger, or the app's trigger version is withdrawn.
func (s *Server) DeactivateWorkflowTrigger(triggerID string) error {
	_, err := s.deactivate(triggerID)
	return err
}

func (s *Server) deactivate(triggerID string) (*wfTrigger, error) {
	s.workflows.mu.Lock()
	defer s.workflows.mu.Unlock()
	tr := s.workflows.triggers[triggerID]
	if tr == nil {
		return nil, fmt.Errorf("no workflow trigger %s", triggerID)
	}
	tr.active = false
	c := *tr
	return &c, nil
}

// TriggerExecutions returns the executions of a trigger, oldest first.
func (s *Server) TriggerExecutions(triggerID string) []WorkflowExecution {
	s.workflows.mu.Lock()
	defer s.workflows.mu.Unlock()
	tr := s.workflows.triggers[triggerID]
	if tr == nil {
		return nil
	}
	return append([]WorkflowExecution(nil), tr.executions...)
}

func (s *Server) sendSubscription(tr *wfTrigger, eventType string) error {
	body := map[string]any{
		"triggerData": map[string]any{"id": tr.id, "key": tr.key, "filters": tr.filters, "eventType": eventType, "targetUrl": tr.target},
		"meta":        map[string]any{"key": tr.key, "version": "1.0"},
		"extras":      map[string]any{"locationId": tr.locationID, "workflowId": tr.workflowID, "companyId": tr.companyID},
	}
	_, _, err := s.callApp("/ghl/triggers/subscription", body, true)
	return err
}

// CallCustomAction plays a workflow reaching the app's custom action key
// for a contact of the location: it POSTs {data, extras, meta} to the
// app's action URL and returns the app's answer as it came.
func (s *Server) CallCustomAction(locationID, key string, data map[string]any) (status int, body []byte, err error) {
	l := s.location(locationID)
	if l == nil {
		return 0, nil, errUnknownLocation(locationID)
	}
	contactID := ""
	l.mu.RLock()
	if len(l.contacts) > 0 {
		contactID = l.contacts[0].id
	}
	l.mu.RUnlock()
	if data == nil {
		data = map[string]any{}
	}
	req := map[string]any{
		"data":   data,
		"extras": map[string]any{"locationId": locationID, "contactId": contactID, "workflowId": s.workflowID(locationID)},
		"meta":   map[string]any{"key": key, "version": "1.0"},
	}
	return s.callApp("/ghl/actions/"+key, req, false)
}

var appClient = &http.Client{Timeout: 30 * time.Second}

// callApp POSTs body to the app's path with its secret header. With
// strict, an answer other than 2xx is a *MarketplaceError.
func (s *Server) callApp(path string, body any, strict bool) (int, []byte, error) {
	base, secret := s.workflows.config()
	if base == "" {
		return 0, nil, errors.New("sandbox: no marketplace app URL (Config.MarketplaceURL or SetMarketplace)")
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Rankr-Secret", secret)
	}
	resp, err := appClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("sandbox: calling the app: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("sandbox: reading the app's answer: %w", err)
	}
	if strict && resp.StatusCode/100 != 2 {
		return resp.StatusCode, out, &MarketplaceError{Status: resp.StatusCode, Body: out}
	}
	return resp.StatusCode, out, nil
}

// serveExecute takes a firing: the token must be valid for the trigger's
// location, and a trigger no workflow uses any more answers 404 "inactive",
// GHL's words.
func (s *Server) serveExecute(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("triggerId")
	g, aerr := s.authenticate(r)
	s.workflows.mu.Lock()
	tr := s.workflows.triggers[id]
	var loc string
	var active bool
	if tr != nil {
		loc, active = tr.locationID, tr.active
	}
	s.workflows.mu.Unlock()
	if aerr != nil || (tr != nil && g.locations != nil && !g.locations[loc]) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": msgInvalidToken})
		return
	}
	if tr == nil || r.PathValue("appId") != s.oauth.appID {
		writeJSON(w, http.StatusNotFound, map[string]any{"statusCode": 404, "message": "trigger with id: " + id + " not found"})
		return
	}
	if !active {
		writeJSON(w, http.StatusNotFound, map[string]any{"statusCode": 404, "message": "trigger with id: " + id + " inactive"})
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil || !json.Valid(payload) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "the body must be JSON"})
		return
	}
	s.workflows.mu.Lock()
	tr.executions = append(tr.executions, WorkflowExecution{TriggerID: id, Payload: payload, At: s.clock()})
	s.workflows.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

func (s *Server) workflowRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+ExecutePrefix+"{appId}/{triggerId}", s.serveExecute)
	p := AdminPrefix + "/workflows"
	mux.HandleFunc("PUT "+AdminPrefix+"/marketplace", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			URL    string `json:"url"`
			Secret string `json:"secret"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		s.SetMarketplace(b.URL, b.Secret)
		writeJSON(w, http.StatusOK, map[string]string{"url": b.URL})
	})
	mux.HandleFunc("POST "+p+"/triggers", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			LocationID string           `json:"locationId"`
			Key        string           `json:"key"`
			Filters    []WorkflowFilter `json:"filters"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		id, err := s.AddWorkflowTrigger(b.LocationID, b.Key, b.Filters...)
		adminAnswer(w, map[string]string{"triggerId": id}, err)
	})
	mux.HandleFunc("DELETE "+p+"/triggers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.RemoveWorkflowTrigger(r.PathValue("id")); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+p+"/triggers/{id}/deactivate", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeactivateWorkflowTrigger(r.PathValue("id")); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"/triggers/{id}/executions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"executions": nonNilExecutions(s.TriggerExecutions(r.PathValue("id")))})
	})
	mux.HandleFunc("POST "+p+"/actions/{key}", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			LocationID string         `json:"locationId"`
			Data       map[string]any `json:"data"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		status, body, err := s.CallCustomAction(b.LocationID, r.PathValue("key"), b.Data)
		if err != nil {
			adminError(w, http.StatusBadGateway, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": status, "body": json.RawMessage(nonEmptyJSON(body))})
	})
}

func nonNilExecutions(x []WorkflowExecution) []WorkflowExecution {
	if x == nil {
		return []WorkflowExecution{}
	}
	return x
}

// nonEmptyJSON is the app's answer as JSON, quoted when it is not.
func nonEmptyJSON(b []byte) []byte {
	if json.Valid(b) {
		return b
	}
	q, _ := json.Marshal(string(b))
	return q
}
