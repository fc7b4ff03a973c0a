package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// apiError is a refusal in GHL's terms; writeError renders it in the
// configured style.
type apiError struct {
	status   int
	message  string
	messages []string // 422 answers carry a list
	notFound bool     // 400 in the spec's style, 404 in the observed one
}

func badRequest(msg string) *apiError { return &apiError{status: http.StatusBadRequest, message: msg} }

func unprocessable(msgs ...string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, messages: msgs}
}

func notFound(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, message: msg, notFound: true}
}

func unauthorized(msg string) *apiError {
	return &apiError{status: http.StatusUnauthorized, message: msg}
}

func forbidden(msg string) *apiError { return &apiError{status: http.StatusForbidden, message: msg} }

// The messages GHL uses for its common refusals.
const (
	msgInvalidToken    = "Invalid token: access token is invalid"
	msgMissingScope    = "The token is not authorized for this scope."
	msgNoLocation      = "The token does not have access to this location."
	msgTooManyRequests = "Too many requests, please try again later."
)

func (s *Server) writeError(w http.ResponseWriter, e *apiError, trace string) {
	status := e.status
	var body any
	switch s.cfg.ErrorStyle {
	case StyleObserved:
		if e.notFound {
			status = http.StatusNotFound
		}
		msg := e.message
		if len(e.messages) > 0 {
			msg = strings.Join(e.messages, ", ")
		}
		body = map[string]any{"status": status, "message": msg, "name": "HttpException", "traceId": trace}
	default:
		m := map[string]any{"statusCode": status, "error": http.StatusText(status), "traceId": trace}
		if len(e.messages) > 0 {
			m["message"] = e.messages
		} else {
			m["message"] = e.message
		}
		body = m
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, `{"statusCode":500,"message":"encoding response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}
