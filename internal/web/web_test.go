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
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/vault"
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
	h, key := handler(t, nil, func(context.Context, store.EventListParams) ([]rankr.Event, error) { return feed, nil }, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, get("/api/events", key))
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
	h, key := handler(t,
		func(context.Context) ([]LocationStatus, error) { return nil, errors.New("status down") },
		func(context.Context, store.EventListParams) ([]rankr.Event, error) {
			return nil, errors.New("feed down")
		},
		log)
	for _, path := range []string{"/api/status", "/api/events"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, get(path, key))
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

// handler is the page's routes behind a real guard on SQLite, and an owner
// key for it.
func handler(t *testing.T, status StatusFunc, events EventsFunc, log *slog.Logger) (http.Handler, string) {
	t.Helper()
	st := storetest.OpenSQLite(t)
	h, g := guard(t, st)
	rt := access.NewRouter(g)
	Register(rt, status, events, log)
	k, err := access.NewKeys(st, h).Create(context.Background(), access.Host("test"), access.KeyRequest{Role: "owner", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return rt, k.Token
}

func guard(t *testing.T, st store.Store) (*access.Hasher, *access.Guard) {
	t.Helper()
	mk, _ := vault.ParseKey(vault.NewKey())
	v, _ := vault.New(mk)
	h, err := access.LoadHasher(context.Background(), st, v)
	if err != nil {
		t.Fatal(err)
	}
	g, err := access.NewGuard(access.GuardConfig{Store: st, Hasher: h, SignInPage: SignInPage()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return h, g
}

func get(path, key string) *http.Request {
	r := httptest.NewRequest("GET", path, nil)
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	return r
}

// The page and its JSON need a key; a browser without one gets the
// sign-in form, anything else the JSON error.
func TestPagesNeedAKey(t *testing.T) {
	t.Parallel()
	h, _ := handler(t, nil, nil, nil)
	for _, path := range []string{"/", "/api/status", "/api/events"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, get(path, ""))
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"missing_key"`) {
			t.Errorf("%s without a key: %d %s", path, rec.Code, rec.Body)
		}
	}
	r := get("/", "")
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `<form id="f">`) {
		t.Errorf("a browser without a key: %d %.200s", rec.Code, rec.Body)
	}
}

// A key bound to locations sees only those, in the status and the feed.
func TestBoundKeySeesItsLocations(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	h, g := guard(t, st)
	rt := access.NewRouter(g)
	Register(rt,
		func(context.Context) ([]LocationStatus, error) {
			return []LocationStatus{{Connection: rankr.Connection{LocationID: "L1"}}, {Connection: rankr.Connection{LocationID: "L2"}}}, nil
		},
		func(context.Context, store.EventListParams) ([]rankr.Event, error) {
			return []rankr.Event{{Seq: 1, LocationID: "L1", Kind: rankr.OrderCreated}, {Seq: 2, LocationID: "L2", Kind: rankr.OrderCreated}}, nil
		}, nil)
	k, err := access.NewKeys(st, h).Create(context.Background(), access.Host("test"),
		access.KeyRequest{Role: "viewer", Locations: []string{"L2"}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/api/status": `"locationId":"L2"`, "/api/events": `"locationId":"L2"`} {
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, get(path, k.Token))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) || strings.Contains(rec.Body.String(), `"L1"`) {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	rt.ServeHTTP(rec, get("/api/events?location=L1", k.Token))
	if rec.Code != http.StatusNotFound {
		t.Errorf("another location's feed: %d %s", rec.Code, rec.Body)
	}
}

// The dashboard links its automation pages, and their script, which holds
// no data, is served to anyone like the rest of the page's files.
func TestDashboardHasTheAutomationPages(t *testing.T) {
	t.Parallel()
	h, key := handler(t, nil, nil, nil)
	for _, tc := range []struct {
		path, key, ctype string
		want             []string
	}{
		{"/", key, "text/html", []string{`href="#/automations"`, `href="#/runs"`, `href="#/catalog"`}},
		{"/ui/app.js", "", "javascript", []string{`from "/ui/automations.js"`}},
		{"/ui/automations.js", "", "javascript", []string{`"/automation-runs"`, `"/automation-pauses"`, `"/catalog"`, "/retry"}},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, get(tc.path, tc.key))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), tc.ctype) {
			t.Errorf("%s: %d %q", tc.path, rec.Code, rec.Header().Get("Content-Type"))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s lacks %s", tc.path, w)
			}
		}
	}
}
