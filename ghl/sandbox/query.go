package sandbox

import (
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// page reads limit and offset. A missing limit takes the operation's
// default; a limit above MaxPageSize is clamped to it.
func (req *apiRequest) page(defaultLimit int, required bool) (limit, offset int, e *apiError) {
	limit, e = req.intParam("limit", defaultLimit, required)
	if e != nil {
		return 0, 0, e
	}
	offset, e = req.intParam("offset", 0, required)
	if e != nil {
		return 0, 0, e
	}
	if limit <= 0 || limit > req.s.cfg.MaxPageSize {
		limit = req.s.cfg.MaxPageSize
	}
	return limit, offset, nil
}

func (req *apiRequest) intParam(key string, def int, required bool) (int, *apiError) {
	v := req.query.Get(key)
	if v == "" {
		if required {
			return 0, unprocessable(key + " must be a number string")
		}
		return def, nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || n != float64(int(n)) {
		return 0, unprocessable(key + " must be a number conforming to the specified constraints")
	}
	return int(n), nil
}

// window is a createdAt filter from startAt/endAt. A bare date covers the
// whole UTC day; a full timestamp is taken as is.
type window struct{ from, to time.Time }

func (req *apiRequest) window() (window, *apiError) {
	var w window
	for _, p := range []struct {
		key string
		dst *time.Time
		end bool
	}{{"startAt", &w.from, false}, {"endAt", &w.to, true}} {
		v := req.query.Get(p.key)
		if v == "" {
			continue
		}
		if day, err := time.Parse(ghl.DateLayout, v); err == nil {
			if p.end {
				day = day.Add(24*time.Hour - time.Millisecond)
			}
			*p.dst = day
			continue
		}
		t, err := ghl.ParseTime(v)
		if err != nil {
			return w, unprocessable(p.key + " must be a valid date (YYYY-MM-DD)")
		}
		*p.dst = t.Time
	}
	return w, nil
}

func (w window) contains(t time.Time) bool {
	return (w.from.IsZero() || !t.Before(w.from)) && (w.to.IsZero() || !t.After(w.to))
}

func (w window) empty() bool { return w.from.IsZero() && w.to.IsZero() }

// liveFilter reads paymentMode: live or test select by liveMode; anything
// else (including the invoices API's "default") selects both.
func (req *apiRequest) liveFilter() func(bool) bool {
	switch req.query.Get("paymentMode") {
	case "live":
		return func(live bool) bool { return live }
	case "test":
		return func(live bool) bool { return !live }
	}
	return func(bool) bool { return true }
}

// containsFold reports whether any of fields contains q, ignoring case.
func containsFold(q string, fields ...string) bool {
	q = strings.ToLower(q)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// listBody is the {data, totalCount} envelope of list answers.
type listBody[T any] struct {
	Data       []T    `json:"data"`
	TotalCount int    `json:"totalCount"`
	TraceID    string `json:"traceId,omitempty"`
}

// collect pages through records newest first (recs is oldest first),
// rendering only the requested page but counting every match. A nil match
// means every record matches, and the page is sliced out directly.
func collect[R, T any](recs []R, limit, offset int, match func(R) bool, render func(R) T) ([]T, int) {
	out := make([]T, 0, min(limit, len(recs)))
	if match == nil {
		for i := len(recs) - 1 - offset; i >= 0 && len(out) < limit; i-- {
			out = append(out, render(recs[i]))
		}
		return out, len(recs)
	}
	total := 0
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if !match(r) {
			continue
		}
		if total >= offset && len(out) < limit {
			out = append(out, render(r))
		}
		total++
	}
	return out, total
}

// unfiltered reports whether none of the list filters keys is set and the
// location has deleted nothing, so that collect may slice. Call with the
// location's lock held.
func (req *apiRequest) unfiltered(keys ...string) bool {
	if req.loc.deleted > 0 {
		return false
	}
	for _, k := range keys {
		if req.query.Get(k) != "" {
			return false
		}
	}
	return true
}
