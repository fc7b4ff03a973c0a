package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/rankr"
)

// Stable error codes of the API (besides the guard's: missing_key,
// invalid_key, insufficient_scope, rate_limited…).
const (
	CodeInvalidField = "invalid_field" // 400, details.field names it
	CodeInvalid      = "invalid"       // 400
	CodeBadJSON      = "bad_json"      // 400
	CodeNotFound     = "not_found"     // 404
	CodeConflict     = "conflict"      // 409
	CodeForbidden    = "forbidden"     // 403
	CodeUnavailable  = "unavailable"   // 503, with Retry-After
	CodeInternal     = "internal"      // 500
	// CodeGHL: GHL refused or failed a request rankr made for the caller
	// (a catalog action): 502, with GHL's status and message in details.
	CodeGHL = "ghl_error"
	// CodeInvalidAutomation: an automation file with problems: 400, each
	// in details.problems (place, line, message).
	CodeInvalidAutomation = "invalid_automation"
)

// writeError maps a use case's error to its status and code: the one
// place where domain errors become HTTP. Unexpected errors are logged with
// the request id and answered without their text, which may name
// internals.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if fe, ok := app.AsFieldError(err); ok {
		access.WriteErrorDetails(w, http.StatusBadRequest, CodeInvalidField, fe.Error(), map[string]any{"field": fe.Field})
		return
	}
	var ge *ghl.Error
	var ce *automation.CompileError
	switch {
	case errors.As(err, &ce):
		// Every problem at once, each with its place and line, so that an
		// editor can mark them all.
		problems := make([]map[string]any, len(ce.Problems))
		for i, p := range ce.Problems {
			problems[i] = map[string]any{"place": p.Place, "line": p.Line, "message": p.Message}
		}
		access.WriteErrorDetails(w, http.StatusBadRequest, CodeInvalidAutomation, ce.Error(), map[string]any{"problems": problems})
	case errors.As(err, &ge) && (ge.StatusCode != 0 || ge.OutcomeUnknown):
		// GHL's answer is the caller's to see: it says what to fix (the
		// scope, the field) or that the write may have happened.
		details := map[string]any{"ghlStatus": ge.StatusCode, "operation": ge.Op, "outcomeUnknown": ge.OutcomeUnknown}
		if ge.Scope != "" {
			details["missingScope"] = ge.Scope
		}
		if ge.TraceID != "" {
			details["ghlTraceId"] = ge.TraceID
		}
		if ge.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(ge.RetryAfter.Seconds()+0.999)))
		}
		access.WriteErrorDetails(w, http.StatusBadGateway, CodeGHL, err.Error(), details)
	case errors.Is(err, rankr.ErrInvalid):
		access.WriteError(w, http.StatusBadRequest, CodeInvalid, err.Error())
	case errors.Is(err, rankr.ErrNotFound):
		access.WriteError(w, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, rankr.ErrConflict):
		access.WriteError(w, http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, rankr.ErrForbidden):
		access.WriteError(w, http.StatusForbidden, CodeForbidden, err.Error())
	case errors.Is(err, rankr.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("api: unavailable", "error", err, "request", access.RequestID(r.Context()), "route", r.Pattern)
		w.Header().Set("Retry-After", "5")
		access.WriteError(w, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client left; nobody reads the answer.
	default:
		s.log.Error("api: request failed", "error", err, "request", access.RequestID(r.Context()), "route", r.Pattern)
		access.WriteError(w, http.StatusInternalServerError, CodeInternal,
			"rankr could not answer; the log has the cause under request id "+access.RequestID(r.Context()))
	}
}

// logger is the server's logger, never nil.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
