package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/app"
)

// query reads a request's query parameters, remembering the first bad one
// as a FieldError that names it.
type query struct {
	v   url.Values
	err error
}

func newQuery(r *http.Request, known ...string) *query {
	q := &query{v: r.URL.Query()}
	// An unknown parameter is a typo that would otherwise filter nothing.
	for name := range q.v {
		if !contains(known, name) {
			q.fail(name, "unknown parameter: this route takes "+strings.Join(known, ", "))
			break
		}
	}
	return q
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (q *query) fail(field, msg string) {
	if q.err == nil {
		q.err = &app.FieldError{Field: field, Message: msg}
	}
}

func (q *query) str(name string) string { return q.v.Get(name) }

func (q *query) int(name string) int {
	s := q.v.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.fail(name, fmt.Sprintf("%q is not a whole number", s))
	}
	return n
}

// limit reads a page's size: when given, 1 or more. (Read as a plain
// int, an explicit 0 silently became the default size on some lists and an
// error on others.)
func (q *query) limit() int {
	n := q.int("limit")
	if n == 0 && q.str("limit") != "" {
		q.fail("limit", "want 1 or more")
	}
	return n
}

func (q *query) int64(name string) int64 {
	s := q.v.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		q.fail(name, fmt.Sprintf("%q is not a whole number", s))
	}
	return n
}

func (q *query) bool(name string) bool {
	s := q.v.Get(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.fail(name, fmt.Sprintf("%q: want true or false", s))
	}
	return b
}

// time reads an RFC 3339 time or a date (2026-05-01, midnight UTC).
func (q *query) time(name string) time.Time {
	s := q.v.Get(name)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t
	}
	q.fail(name, fmt.Sprintf("%q: want a date (2026-05-01) or an RFC 3339 time (2026-05-01T12:00:00Z)", s))
	return time.Time{}
}

// maxBody bounds a request's JSON body.
const maxBody = 1 << 20

// decode reads a JSON body into v, refusing unknown fields (a misspelt
// field would otherwise be silently ignored) and trailing data. An empty
// body is an empty object when empty is allowed.
func decode(w http.ResponseWriter, r *http.Request, v any, empty bool) error {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	switch {
	case errors.Is(err, io.EOF) && empty:
		return nil
	case errors.Is(err, io.EOF):
		return &app.FieldError{Field: "body", Message: "want a JSON object"}
	case err != nil:
		var mbe *http.MaxBytesError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return &app.FieldError{Field: "body", Message: fmt.Sprintf("larger than %d bytes", maxBody)}
		case errors.As(err, &te) && te.Field != "":
			return &app.FieldError{Field: te.Field, Message: "want a " + te.Type.String() + ", not a JSON " + te.Value}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &app.FieldError{Field: name, Message: "unknown field"}
		}
		return &app.FieldError{Field: "body", Message: "not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return &app.FieldError{Field: "body", Message: "one JSON object only"}
	}
	return nil
}
