package web

import (
	"context"
	"encoding/json"
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
		{Seq: 4, Kind: "notice.queued", RecordType: "notice", RecordID: "n1",
			Data: json.RawMessage(`{"kind":"alert","dedupeKey":"L/7/ops@example.com","recipient":"ops@example.com"}`)},
	}
	h := Handler(nil, func(context.Context, store.EventListParams) ([]rankr.Event, error) { return feed, nil })
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
	for _, want := range []string{`"amount":1510`, `"status":["pending","completed"]`, `"items":2`, `"orderId":"o1"`, `"kind":"alert"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the feed lost %s: %s", want, body)
		}
	}
}
