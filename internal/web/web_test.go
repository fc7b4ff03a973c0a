package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// The activity feed shows what moved and by how much, never who.
func TestEventsShowNoPersonalData(t *testing.T) {
	t.Parallel()
	feed := []rankr.Event{
		{Seq: 1, Kind: rankr.OrderCreated, RecordType: rankr.RecordOrder, RecordID: "o1",
			Data: json.RawMessage(`{"status":"pending","amount":1510,"currency":"USD","contactEmail":"ada@example.com","contactName":"Ada"}`)},
		{Seq: 2, Kind: rankr.OrderUpdated, RecordType: rankr.RecordOrder, RecordID: "o1",
			Data: json.RawMessage(`{"changes":{"status":["pending","completed"],"contactEmail":["a@example.com","b@example.com"]}}`)},
		{Seq: 3, Kind: rankr.FulfillmentCreated, RecordType: rankr.RecordFulfillment, RecordID: "f1",
			Data: json.RawMessage(`{"orderId":"o1","trackingNumbers":["1Z999"],"items":2}`)},
		{Seq: 5, Kind: rankr.TransactionCreated, RecordType: rankr.RecordTransaction, RecordID: "t1",
			Data: json.RawMessage(`{"status":"succeeded","amount":1005,"currency":"KWD"}`)},
		{Seq: 6, Kind: rankr.TransactionCreated, RecordType: rankr.RecordTransaction, RecordID: "t2",
			Data: json.RawMessage(`{"status":"succeeded","amount":-500,"currency":"JPY"}`)},
		{Seq: 4, Kind: "notice.queued", RecordType: "notice", RecordID: "n1",
			Data: json.RawMessage(`{"kind":"alert","dedupeKey":"L/7/ops@example.com","recipient":"ops@example.com"}`)},
	}
	h := Handler(nil, func(context.Context, store.EventListParams) ([]rankr.Event, error) { return feed, nil }, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/events", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, hidden := range []string{"example.com", "Ada", "1Z999", "dedupeKey", "recipient"} {
		if strings.Contains(body, hidden) {
			t.Errorf("the feed shows %q: %s", hidden, body)
		}
	}
	for _, want := range []string{`"amount":1510`, `"status":["pending","completed"]`, `"items":2`, `"orderId":"o1"`, `"kind":"alert"`,
		`"amountText":"15.10"`, `"amountText":"1.005"`, `"amountText":"-500"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the feed lost %s: %s", want, body)
		}
	}
}

// The page logs through the logger it is given, as the rest of rankr does
// (--log-format json), never through slog's default.
func TestHandlerLogsThroughItsLogger(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	h := Handler(
		func(context.Context) ([]LocationStatus, error) { return nil, errors.New("status down") },
		func(context.Context, store.EventListParams) ([]rankr.Event, error) {
			return nil, errors.New("feed down")
		},
		log)
	for _, path := range []string{"/api/status", "/api/events"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 || lines[0]["error"] != "status down" || lines[1]["error"] != "feed down" || lines[0]["level"] != "ERROR" {
		t.Fatalf("the handler's logger got %s", logged.String())
	}
}
