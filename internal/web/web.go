// Package web serves rankr's dashboard: one page (static/index.html, ES
// modules and CSS beside it, embedded in the binary, nothing from a CDN)
// built on the REST API (/api/v1, package api) and live over its
// Server-Sent Events stream; the sign-in form that trades a key for the
// session cookie; and the older status JSON (/api/status, /api/events).
// It holds no business logic: every action of the page goes through the
// API, and is audited as the API's are.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

//go:embed static
var static embed.FS

// LocationStatus is one connection and how its sync is doing.
type LocationStatus = app.LocationStatus

// Budget is a location's GHL rate budget as the governor sees it.
type Budget = app.Budget

// StatusFunc reports the status of every location.
type StatusFunc func(context.Context) ([]LocationStatus, error)

// EventsFunc reads the change feed.
type EventsFunc func(context.Context, store.EventListParams) ([]rankr.Event, error)

// Register adds the status page and the JSON behind it to rt: the page
// and /api/status for keys that read connections, /api/events for keys
// that read the change feed. A key bound to locations sees only those.
// It logs to log (nil: nowhere).
func Register(rt *access.Router, status StatusFunc, events EventsFunc, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt.HandleFunc("GET /{$}", access.Need("connections:read"), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		pageHeaders(w)
		b, _ := static.ReadFile("static/index.html")
		w.Write(b)
	})
	// The page's scripts and styles hold no data: anyone may load them,
	// the sign-in form too.
	assets, _ := fs.Sub(static, "static/ui")
	files := http.StripPrefix("/ui/", http.FileServerFS(assets))
	rt.HandleFunc("GET /ui/{file}", access.Public(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
	// What the page may show: the scopes of the key behind the session,
	// so that it offers only what the key may do (the audit log needs
	// audit:read) instead of trying and being refused.
	rt.HandleFunc("GET /ui/me", access.AnyKey(), func(w http.ResponseWriter, r *http.Request) {
		p := access.PrincipalFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		scopes := p.Rights.List()
		if scopes == nil {
			scopes = []string{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"key": p.Key.ID, "role": p.Key.Role, "scopes": scopes,
			"locations": p.Locations, "session": p.Session})
	})
	rt.Handle("POST /session", access.SignIn(), nil)
	rt.Handle("DELETE /session", access.SignIn(), nil)
	rt.HandleFunc("GET /api/status", access.Need("connections:read"), func(w http.ResponseWriter, r *http.Request) {
		st, err := status(r.Context())
		if err != nil {
			log.Error("status page: reading the status", "error", err, "request", access.RequestID(r.Context()))
			access.WriteError(w, http.StatusServiceUnavailable, "unavailable", "the status is unavailable; see the logs")
			return
		}
		p := access.PrincipalFrom(r.Context())
		st = slices.DeleteFunc(st, func(s LocationStatus) bool { return !p.SeesLocation(s.Connection.LocationID) })
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"locations": st})
	})
	// /api/events?after=SEQ gives the events after SEQ, oldest first;
	// without it, the newest ones, so that a page starts from now.
	rt.HandleFunc("GET /api/events", access.Need("events:read").InLocation("query:location"), func(w http.ResponseWriter, r *http.Request) {
		p := store.EventListParams{Limit: 50, Newest: true, LocationID: r.URL.Query().Get("location")}
		if a := r.URL.Query().Get("after"); a != "" {
			after, err := strconv.ParseInt(a, 10, 64)
			if err != nil || after < 0 {
				access.WriteError(w, http.StatusBadRequest, "invalid_after", "after: want the sequence number of the last event seen")
				return
			}
			p.AfterSeq, p.Newest, p.Limit = after, false, 500
		}
		evs, err := events(r.Context(), p)
		if err != nil {
			log.Error("status page: reading the change feed", "error", err, "request", access.RequestID(r.Context()))
			access.WriteError(w, http.StatusServiceUnavailable, "unavailable", "the change feed is unavailable; see the logs")
			return
		}
		pr := access.PrincipalFrom(r.Context())
		evs = slices.DeleteFunc(evs, func(e rankr.Event) bool { return !pr.SeesLocation(e.LocationID) })
		evs = shown(evs)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"events": evs})
	})
}

// SignInPage is what a browser gets instead of a page it needs a key
// for: a form that trades a key for the dashboard's session cookie.
func SignInPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		b, _ := static.ReadFile("static/signin.html")
		w.Write(b)
	})
}

// pageHeaders keep the dashboard to its own scripts: nothing inline,
// nothing from elsewhere, never framed.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// shownFields are the fields of an event's data (and of its changes) that
// the status page shows. The page is for operators, but it answers on the
// listener that takes GHL's webhooks, which may face the internet: so it
// shows what moved and by how much, never who (contact names and emails,
// addresses, tracking numbers, operators' addresses in notices).
var shownFields = map[string]bool{
	"amount": true, "amountRefunded": true, "amountPaid": true, "currency": true, "status": true,
	"fulfillmentStatus": true, "paymentStatus": true, "rankrStatus": true, "orderId": true, "items": true,
	"kind": true, "entityType": true, "entityId": true, "state": true,
}

// shown returns the events with only their shown fields.
func shown(evs []rankr.Event) []rankr.Event {
	out := make([]rankr.Event, 0, len(evs))
	for _, e := range evs {
		var data map[string]json.RawMessage
		if json.Unmarshal(e.Data, &data) != nil {
			e.Data = nil
			out = append(out, e)
			continue
		}
		keep := map[string]any{}
		for k, v := range data {
			if shownFields[k] {
				keep[k] = v
			}
		}
		var changes map[string]json.RawMessage
		if json.Unmarshal(data["changes"], &changes) == nil {
			kept := map[string]json.RawMessage{}
			for k, v := range changes {
				if shownFields[k] {
					kept[k] = v
				}
			}
			keep["changes"] = kept
		}
		if text, ok := amountText(data); ok {
			keep["amountText"] = text
		}
		e.Data, _ = json.Marshal(keep)
		out = append(out, e)
	}
	return out
}

// amountText is an event's amount (in minor units) as the decimal text of
// its currency, "1.005" for 1005 KWD, so that the page formats the exact
// figure and never divides a float.
func amountText(data map[string]json.RawMessage) (string, bool) {
	var amount int64
	var currency string
	if json.Unmarshal(data["amount"], &amount) != nil || json.Unmarshal(data["currency"], &currency) != nil || currency == "" {
		return "", false
	}
	return rankr.FormatMinor(amount, currency), true
}
