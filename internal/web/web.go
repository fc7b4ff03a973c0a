// Package web serves rankr's pages: for now the live status page (counts
// per location that move as the sync runs, and the change feed as it
// grows: orders, payments and fulfillments flowing in) and the JSON behind
// it. The pages are embedded in the binary.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/syncer"
)

//go:embed static
var static embed.FS

// LocationStatus is one connection and how its sync is doing.
type LocationStatus struct {
	Connection rankr.Connection     `json:"connection"`
	Counts     rankr.Counts         `json:"counts"`
	Sync       syncer.LocationState `json:"sync"`
	Phase      string               `json:"phase"`
	APICalls   int64                `json:"apiCalls"`
	Budget     Budget               `json:"budget"`
	// Notices counts the location's notices (Rankr's own mails) by state.
	Notices map[rankr.NoticeState]int `json:"notices,omitempty"`
}

// Budget is a location's GHL rate budget as the governor sees it.
type Budget struct {
	Burst          int   `json:"burst"`
	IntervalMS     int64 `json:"intervalMs"`
	InWindow       int   `json:"inWindow"`
	DailyRemaining int   `json:"dailyRemaining"`
	Waiting        int   `json:"waiting"`
	Throttled      int64 `json:"throttled"`
}

// StatusFunc reports the status of every location.
type StatusFunc func(context.Context) ([]LocationStatus, error)

// EventsFunc reads the change feed.
type EventsFunc func(context.Context, store.EventListParams) ([]rankr.Event, error)

// Handler serves / (the status page), /api/status, /api/events and
// /healthz. It logs to log (nil: nowhere).
func Handler(status StatusFunc, events EventsFunc, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		http.ServeFileFS(w, r, static, "static/status.html")
	})
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := status(r.Context())
		if err != nil {
			log.Error("status page: reading the status", "error", err)
			http.Error(w, `{"error":"the status is unavailable; see the logs"}`, http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"locations": st})
	})
	// /api/events?after=SEQ gives the events after SEQ, oldest first;
	// without it, the newest ones, so that a page starts from now.
	mux.HandleFunc("GET /api/events", func(w http.ResponseWriter, r *http.Request) {
		p := store.EventListParams{Limit: 50, Newest: true, LocationID: r.URL.Query().Get("location")}
		if a := r.URL.Query().Get("after"); a != "" {
			after, err := strconv.ParseInt(a, 10, 64)
			if err != nil || after < 0 {
				http.Error(w, `{"error":"after: want the sequence number of the last event seen"}`, http.StatusBadRequest)
				return
			}
			p.AfterSeq, p.Newest, p.Limit = after, false, 500
		}
		evs, err := events(r.Context(), p)
		if err != nil {
			log.Error("status page: reading the change feed", "error", err)
			http.Error(w, `{"error":"the change feed is unavailable; see the logs"}`, http.StatusServiceUnavailable)
			return
		}
		evs = shown(evs)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"events": evs})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	return mux
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
