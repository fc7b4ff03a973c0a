package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/rankr"
)

// automationFile is an automation file sent in a request.
type automationFile struct {
	// Name names the file in errors ("ship-notify.yaml").
	Name   string `json:"name"`
	Source string `json:"source"`
}

func (f automationFile) file() app.AutomationFile {
	name := f.Name
	if name == "" {
		name = "the file"
	}
	return app.AutomationFile{Name: name, Source: []byte(f.Source)}
}

func (s *Server) automations(w http.ResponseWriter, r *http.Request) {
	list, err := s.app.Automations(r.Context(), caller(r))
	s.answer(w, r, http.StatusOK, map[string]any{"items": list}, err)
}

func (s *Server) applyAutomation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		automationFile
		DryRun bool   `json:"dryRun"`
		Note   string `json:"note"`
	}
	if err := decode(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.AutomationApply(r.Context(), caller(r), req.file(), req.DryRun, req.Note)
	status := http.StatusOK
	if res.New && !res.DryRun {
		status = http.StatusCreated
	}
	s.answer(w, r, status, res, err)
}

func (s *Server) validateAutomation(w http.ResponseWriter, r *http.Request) {
	var req automationFile
	if err := decode(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.AutomationValidate(req.file())
	s.answer(w, r, http.StatusOK, res, err)
}

func (s *Server) automationSchema(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/schema+json")
	w.Write(automation.FileSchema())
}

func (s *Server) automation(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "version")
	version := q.int("version")
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	x, err := s.app.Automation(r.Context(), caller(r), r.PathValue("id"), version)
	s.answer(w, r, http.StatusOK, x, err)
}

func (s *Server) enableAutomation(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		x, err := s.app.AutomationSetEnabled(r.Context(), caller(r), r.PathValue("id"), on)
		s.answer(w, r, http.StatusOK, x, err)
	}
}

func (s *Server) testAutomation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Source     string `json:"source"`
		Name       string `json:"name"`
		ID         string `json:"id"`
		LocationID string `json:"locationId"`
		Event      string `json:"event"`
	}
	if err := decode(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	tr := app.AutomationTestRequest{ID: req.ID, Location: req.LocationID, Event: req.Event}
	if req.Source != "" {
		f := automationFile{Name: req.Name, Source: req.Source}.file()
		tr.File = &f
	}
	rep, err := s.app.AutomationTest(r.Context(), caller(r), tr)
	s.answer(w, r, http.StatusOK, rep, err)
}

func (s *Server) automationRuns(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "automation", "status", "locationId", "before", "limit")
	rq := app.RunQuery{Automation: q.str("automation"), Status: rankr.RunStatus(q.str("status")), Location: q.str("locationId"),
		Before: q.int64("before"), Limit: q.int("limit")}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	p, err := s.app.AutomationRuns(r.Context(), caller(r), rq)
	s.answer(w, r, http.StatusOK, p, err)
}

// runID reads the {id} of a run's path: runs are numbered, so any other
// id names no run.
func (s *Server) runID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeError(w, r, fmt.Errorf("run %q (runs are numbered): %w", r.PathValue("id"), rankr.ErrNotFound))
		return 0, false
	}
	return id, true
}

func (s *Server) automationRun(w http.ResponseWriter, r *http.Request) {
	if id, ok := s.runID(w, r); ok {
		d, err := s.app.AutomationRun(r.Context(), caller(r), id)
		s.answer(w, r, http.StatusOK, d, err)
	}
}

func (s *Server) retryAutomationRun(w http.ResponseWriter, r *http.Request) {
	if id, ok := s.runID(w, r); ok {
		run, err := s.app.AutomationRunRetry(r.Context(), caller(r), id)
		s.answer(w, r, http.StatusOK, run, err)
	}
}

func (s *Server) automationPauses(w http.ResponseWriter, r *http.Request) {
	ps, err := s.app.AutomationPauses(r.Context(), caller(r))
	s.answer(w, r, http.StatusOK, map[string]any{"items": ps}, err)
}

func (s *Server) resumeAutomations(w http.ResponseWriter, r *http.Request) {
	ok, err := s.app.AutomationResume(r.Context(), caller(r), r.PathValue("locationId"))
	s.answer(w, r, http.StatusOK, map[string]any{"resumed": ok}, err)
}
