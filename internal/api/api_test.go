package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/testwait"
)

// TestAPI runs the API's tests on one rankr serve on SQLite, synced from a
// sandbox of two locations: first those that only read (in parallel),
// then those that change GHL or rankr, one after the other.
func TestAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldConfig{DB: sqliteDB(t), Seed: 11, Locations: 2, Orders: 30})
	t.Run("reads", func(t *testing.T) {
		for name, f := range map[string]func(*testing.T, *world){
			"Filters": testFilters, "OrderShow": testOrderShow, "BadInputs": testBadInputs, "BoundKey": testBoundKey,
			"KeysAndAudit": testKeysAndAudit, "Overview": testOverview, "Doctor": testDoctor,
		} {
			t.Run(name, func(t *testing.T) { t.Parallel(); f(t, w) })
		}
	})
	for _, s := range []struct {
		name string
		f    func(*testing.T, *world)
	}{
		{"Paging", testPaging}, {"EventStream", testEventStream}, {"Push", testPush}, {"Webhooks", testWebhooks},
		{"Jobs", testJobs}, {"Connections", testConnections},
	} {
		t.Run(s.name, func(t *testing.T) { s.f(t, w) })
	}
}

// record is a record of a list, by id.
func (c *client) record(path, id string) map[string]any {
	c.t.Helper()
	var v map[string]any
	c.getJSON(path+"/"+id, http.StatusOK, &v)
	return v
}

// testOrderShow: an order's page holds its items, fulfillments, payments
// and events: the same records as the lists filtered by the order.
func testOrderShow(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	var id string
	for _, f := range c.one("/api/v1/fulfillments") {
		if len(c.one("/api/v1/transactions", "orderId", str(f, "orderId"))) > 0 {
			id = str(f, "orderId")
			break
		}
	}
	if id == "" {
		t.Fatal("no order both paid and shipped")
	}
	var o struct {
		ID           string           `json:"id"`
		ItemsFetched bool             `json:"itemsFetched"`
		Items        []map[string]any `json:"items"`
		Fulfillments []map[string]any `json:"fulfillments"`
		Transactions []map[string]any `json:"transactions"`
		Pushes       []map[string]any `json:"pushes"`
		Events       []struct {
			RecordID string `json:"recordId"`
			Kind     string `json:"kind"`
		} `json:"events"`
	}
	c.getJSON("/api/v1/orders/"+id, http.StatusOK, &o)
	if o.ID != id || !o.ItemsFetched || len(o.Items) == 0 || o.Pushes == nil {
		t.Fatalf("order %s: %+v", id, o)
	}
	fuls := ids(c.one("/api/v1/fulfillments", "orderId", id))
	txns := ids(c.one("/api/v1/transactions", "orderId", id, "deleted", "true"))
	slices.Sort(fuls)
	slices.Sort(txns)
	gotF, gotT := ids(o.Fulfillments), ids(o.Transactions)
	slices.Sort(gotF)
	slices.Sort(gotT)
	if !slices.Equal(gotF, fuls) || !slices.Equal(gotT, txns) {
		t.Errorf("order %s shows fulfillments %v and payments %v; the lists have %v and %v", id, gotF, gotT, fuls, txns)
	}
	related := append(append([]string{id}, fuls...), txns...)
	created := false
	for _, e := range o.Events {
		if !slices.Contains(related, e.RecordID) {
			t.Errorf("order %s shows an event of %s", id, e.RecordID)
		}
		created = created || e.RecordID == id && e.Kind == "order.created"
	}
	if !created {
		t.Errorf("order %s: no order.created among its %d events", id, len(o.Events))
	}
	// The other records show by id too.
	if f := c.record("/api/v1/fulfillments", fuls[0]); str(f, "orderId") != id {
		t.Errorf("fulfillment %s: %v", fuls[0], f)
	}
	if x := c.record("/api/v1/transactions", txns[0]); str(x, "orderId") != id {
		t.Errorf("transaction %s: %v", txns[0], x)
	}
	for _, path := range []string{"/api/v1/subscriptions", "/api/v1/invoices"} {
		first := c.one(path)[0]
		if got := c.record(path, str(first, "id")+q("locationId", str(first, "locationId"))); str(got, "id") != str(first, "id") {
			t.Errorf("%s/%s: %v", path, str(first, "id"), got)
		}
	}
}

// testBadInputs: a bad input answers 400 invalid_field naming what was
// wrong; the other errors have their codes, all in the one error shape
// (which the contract checks on each).
func testBadInputs(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	viewer := w.client(t, w.key(access.KeyRequest{Role: "viewer"}))
	tests := []struct {
		c            *client
		method, path string
		body         any
		header       []string
		status       int
		code, field  string
	}{
		{c, "GET", "/api/v1/orders?limit=abc", nil, nil, 400, "invalid_field", "limit"},
		{c, "GET", "/api/v1/orders?limit=0", nil, nil, 400, "invalid_field", "limit"},
		{c, "GET", "/api/v1/orders?limit=5000", nil, nil, 400, "invalid_field", "limit"},
		{c, "GET", "/api/v1/transactions?limit=-1", nil, nil, 400, "invalid_field", "limit"},
		{c, "GET", "/api/v1/events?limit=0", nil, nil, 400, "invalid_field", "limit"},
		{c, "GET", "/api/v1/audit?limit=0", nil, nil, 400, "invalid_field", "limit"},
		{c, "GET", "/api/v1/webhooks/deliveries?limit=0", nil, nil, 400, "invalid_field", "limit"},
		{c, "GET", "/api/v1/reconciliation/exceptions?limit=0", nil, nil, 400, "invalid_field", "limit"},
		{c, "GET", "/api/v1/orders?createdFrom=yesterday", nil, nil, 400, "invalid_field", "createdFrom"},
		{c, "GET", "/api/v1/invoices?createdBefore=2026-13-45", nil, nil, 400, "invalid_field", "createdBefore"},
		{c, "GET", "/api/v1/orders?createdFrom=2026-05-02&createdBefore=2026-05-01", nil, nil, 400, "invalid_field", "createdBefore"},
		{c, "GET", "/api/v1/orders?limt=5", nil, nil, 400, "invalid_field", "limt"},
		{c, "GET", "/api/v1/fulfillments?status=shipped", nil, nil, 400, "invalid_field", "status"},
		{c, "GET", "/api/v1/orders/x?foo=1", nil, nil, 400, "invalid_field", "foo"},
		{c, "GET", "/api/v1/connections?x=1", nil, nil, 400, "invalid_field", "x"},
		{c, "GET", "/api/v1/transactions?cursor=nope", nil, nil, 400, "invalid_field", "cursor"},
		{c, "GET", "/api/v1/pushes?cursor=c1.AAAA", nil, nil, 400, "invalid_field", "cursor"},
		{c, "GET", "/api/v1/orders?amountMin=5", nil, nil, 400, "invalid_field", "amountMin"},
		{c, "GET", "/api/v1/orders?currency=USD&amountMax=ten", nil, nil, 400, "invalid_field", "amountMax"},
		{c, "GET", "/api/v1/orders?toFulfill=maybe", nil, nil, 400, "invalid_field", "toFulfill"},
		{c, "GET", "/api/v1/events?after=x", nil, nil, 400, "invalid_field", "after"},
		{c, "GET", "/api/v1/events?after=-1", nil, nil, 400, "invalid_field", "after"},
		{c, "GET", "/api/v1/events/stream", nil, []string{"Last-Event-ID", "abc"}, 400, "invalid_field", "Last-Event-ID"},
		{c, "GET", "/api/v1/audit?since=later", nil, nil, 400, "invalid_field", "since"},
		{c, "GET", "/api/v1/webhooks/deliveries?state=lost", nil, nil, 400, "invalid_field", "state"},
		{c, "POST", "/api/v1/pushes", []byte(`{"orderId":`), nil, 400, "invalid_field", "body"},
		{c, "POST", "/api/v1/pushes", []byte(`{} {}`), nil, 400, "invalid_field", "body"},
		{c, "POST", "/api/v1/pushes", map[string]any{"orderId": "o", "trackings": []any{map[string]any{"trackingNumber": "1"}}, "bogus": 1}, nil, 400, "invalid_field", "bogus"},
		{c, "POST", "/api/v1/pushes", map[string]any{"orderId": "o", "trackings": []any{}}, nil, 400, "invalid_field", "trackings"},
		{c, "POST", "/api/v1/pushes", map[string]any{"orderId": "o", "trackings": []any{map[string]any{"carrier": "UPS"}}}, nil, 400, "invalid_field", "trackings[0].trackingNumber"},
		{c, "POST", "/api/v1/keys", map[string]any{"role": "viewer", "expiresIn": "soon"}, nil, 400, "invalid_field", "expiresIn"},
		{c, "POST", "/api/v1/keys", map[string]any{"role": 5, "expiresIn": "1d"}, nil, 400, "invalid_field", "role"},
		{c, "POST", "/api/v1/webhooks/replays", map[string]any{}, nil, 400, "invalid_field", "ids"},
		{c, "POST", "/api/v1/webhooks/endpoints/x/rotate-secret", map[string]any{"grace": "a while"}, nil, 400, "invalid_field", "grace"},
		{c, "POST", "/api/v1/reconciliation/runs", map[string]any{"full": "yes"}, nil, 400, "invalid_field", "full"},
		{c, "GET", "/api/v1/orders/no-such-order", nil, nil, 404, "not_found", ""},
		{c, "GET", "/api/v1/pushes/no-such-push", nil, nil, 404, "not_found", ""},
		{c, "GET", "/api/v1/jobs/abc", nil, nil, 404, "not_found", ""},
		{c, "GET", "/api/v1/keys/nope", nil, nil, 404, "not_found", ""},
		{c, "POST", "/api/v1/notices/nt_nope/retry", nil, nil, 404, "not_found", ""},
		{c, "GET", "/api/v1/no-such-route", nil, nil, 404, "not_found", ""},
		{c, "DELETE", "/api/v1/orders", nil, nil, 404, "not_found", ""},
		{&client{t: t, base: c.base, hc: c.hc}, "GET", "/api/v1/orders", nil, nil, 401, "missing_key", ""},
		{&client{t: t, base: c.base, key: "rnkr_live_notakey", hc: c.hc}, "GET", "/api/v1/orders", nil, nil, 401, "invalid_key", ""},
		{viewer, "POST", "/api/v1/pushes", map[string]any{"orderId": "o", "trackings": []any{map[string]any{"trackingNumber": "1"}}}, nil, 403, "insufficient_scope", ""},
		{viewer, "GET", "/api/v1/keys", nil, nil, 403, "insufficient_scope", ""},
	}
	for _, tt := range tests {
		a := tt.c.do(tt.method, tt.path, tt.body, tt.header...)
		if a.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tt.method, tt.path, a.Header.Get("Content-Type"))
		}
		t.Run(strings.ReplaceAll(tt.method+" "+tt.path, "/", "_"), func(t *testing.T) {
			(&client{t: t}).wantError(a, tt.status, tt.code, tt.field)
		})
	}
}

// testBoundKey: a key bound to one location sees its records only; a
// record of another location is not found, by id or by filter.
func testBoundKey(t *testing.T, w *world) {
	mine, other := w.locations()[0], w.locations()[1]
	owner := w.client(t, w.owner)
	c := w.client(t, w.key(access.KeyRequest{Role: "owner", Locations: []string{mine}}))
	for _, path := range recordLists {
		all := owner.one(path)
		got := c.one(path)
		want := 0
		var theirs map[string]any
		for _, it := range all {
			if str(it, "locationId") == mine {
				want++
			} else if theirs == nil {
				theirs = it
			}
		}
		if len(got) != want || want == 0 {
			t.Errorf("%s: the bound key sees %d records, its location has %d", path, len(got), want)
		}
		for _, it := range got {
			if str(it, "locationId") != mine {
				t.Errorf("%s: the bound key sees %s of %s", path, str(it, "id"), str(it, "locationId"))
			}
		}
		c.wantError(c.do("GET", path+"/"+str(theirs, "id"), nil), 404, "not_found", "")
		c.wantError(c.do("GET", path+"/"+str(theirs, "id")+q("locationId", other), nil), 404, "not_found", "")
		c.wantError(c.do("GET", path+q("locationId", other), nil), 404, "not_found", "")
		if got := c.record(path, str(got[0], "id")); str(got, "locationId") != mine {
			t.Errorf("%s: its own record: %v", path, got)
		}
	}
	c.wantError(c.do("GET", "/api/v1/connections/"+other, nil), 404, "not_found", "")
	c.wantError(c.do("POST", "/api/v1/connections/"+other+"/resync", nil), 404, "not_found", "")
	c.wantError(c.do("GET", "/api/v1/events"+q("locationId", other), nil), 404, "not_found", "")
	var conns struct {
		Items []struct {
			Connection struct{ LocationID string } `json:"connection"`
		} `json:"items"`
	}
	c.getJSON("/api/v1/connections", http.StatusOK, &conns)
	if len(conns.Items) != 1 || conns.Items[0].Connection.LocationID != mine {
		t.Errorf("the bound key sees connections %+v", conns.Items)
	}
	var evs struct {
		Items []struct{ LocationID string } `json:"items"`
	}
	c.getJSON("/api/v1/events?limit=1000", http.StatusOK, &evs)
	for _, e := range evs.Items {
		if e.LocationID != mine {
			t.Fatalf("the bound key sees an event of %s", e.LocationID)
		}
	}
	if len(evs.Items) == 0 {
		t.Error("the bound key sees no event")
	}
}

// testKeysAndAudit: keys and the audit log are for keys:read and
// audit:read only; a key made through the API works, shows, and stops
// once revoked, each step in the audit log.
func testKeysAndAudit(t *testing.T, w *world) {
	owner := w.client(t, w.owner)
	for role, want := range map[string]int{"viewer": 403, "operator": 403, "admin": 200, "auditor": 200} {
		c := w.client(t, w.key(access.KeyRequest{Role: role}))
		for _, path := range []string{"/api/v1/keys", "/api/v1/audit", "/api/v1/keys/" + strings.Split(strings.TrimPrefix(w.owner, "rnkr_live_"), "_")[0]} {
			a := c.do("GET", path, nil)
			if a.Status != want {
				t.Errorf("%s as %s: %d, want %d", path, role, a.Status, want)
			}
			if want == 403 {
				c.wantError(a, 403, "insufficient_scope", "")
			}
		}
	}
	// Scoped narrower than its role: keys:read but not audit:read.
	narrow := w.client(t, w.key(access.KeyRequest{Role: "admin", Scopes: []string{"keys:read"}}))
	narrow.getJSON("/api/v1/keys", http.StatusOK, nil)
	narrow.wantError(narrow.do("GET", "/api/v1/audit", nil), 403, "insufficient_scope", "")

	var made struct {
		Token string `json:"token"`
		Key   struct {
			ID, State, Role string
		} `json:"key"`
	}
	a := owner.expect("POST", "/api/v1/keys", map[string]any{"name": "ci", "role": "viewer", "expiresIn": "2d"}, http.StatusCreated, &made)
	if a.Header.Get("Location") != "/api/v1/keys/"+made.Key.ID || !strings.HasPrefix(made.Token, "rnkr_live_") || made.Key.State != "expiring" {
		t.Fatalf("made %+v at %q", made.Key, a.Header.Get("Location"))
	}
	c := w.client(t, made.Token)
	c.getJSON("/api/v1/orders?limit=1", http.StatusOK, nil)
	var keys struct {
		Items []struct{ ID string } `json:"items"`
	}
	owner.getJSON("/api/v1/keys", http.StatusOK, &keys)
	if !slices.ContainsFunc(keys.Items, func(k struct{ ID string }) bool { return k.ID == made.Key.ID }) {
		t.Errorf("the new key %s is not listed", made.Key.ID)
	}
	if k := owner.record("/api/v1/keys", made.Key.ID); str(k, "role") != "viewer" || str(k, "name") != "ci" {
		t.Errorf("key %s shows %v", made.Key.ID, k)
	}
	var revoked map[string]any
	owner.expect("POST", "/api/v1/keys/"+made.Key.ID+"/revoke", nil, http.StatusOK, &revoked)
	if str(revoked, "state") != "revoked" || str(revoked, "revokedAt") == "" {
		t.Errorf("revoked: %v", revoked)
	}
	testwait.Until(t, 10*time.Second, "the revoked key refused", func() bool {
		return c.do("GET", "/api/v1/orders?limit=1", nil).err().Error.Code == "key_revoked"
	})
	// Both changes are in the audit log, as done by the owner's key.
	var audit struct {
		Items []struct {
			Action string `json:"action"`
			Target struct {
				ID string `json:"id"`
			} `json:"target"`
			Actor struct {
				Type string `json:"type"`
			} `json:"actor"`
		} `json:"items"`
	}
	for _, action := range []string{"api_key.created", "api_key.revoked"} {
		owner.getJSON("/api/v1/audit"+q("action", action, "limit", "1000"), http.StatusOK, &audit)
		found := false
		for _, r := range audit.Items {
			if r.Action != action {
				t.Errorf("audit?action=%s gave %s", action, r.Action)
			}
			found = found || r.Target.ID == made.Key.ID && r.Actor.Type == "api_key"
		}
		if !found {
			t.Errorf("no %s of %s by an API key in the audit log", action, made.Key.ID)
		}
	}
	// Newest first, a page at a time: each page older than the one before.
	var all, page struct {
		Items []struct {
			Seq int64 `json:"seq"`
		} `json:"items"`
		Next int64 `json:"next"`
	}
	owner.getJSON("/api/v1/audit"+q("limit", "1000"), http.StatusOK, &all)
	owner.getJSON("/api/v1/audit"+q("newest", "true", "limit", "2"), http.StatusOK, &page)
	if len(all.Items) < 4 || len(page.Items) != 2 || page.Items[0].Seq < all.Items[len(all.Items)-1].Seq ||
		page.Items[1].Seq >= page.Items[0].Seq || page.Next != page.Items[1].Seq {
		t.Fatalf("the newest audit page %+v (of %d records)", page, len(all.Items))
	}
	prev := page.Items[1].Seq
	owner.getJSON("/api/v1/audit"+q("newest", "true", "before", fmt.Sprint(page.Next), "limit", "2"), http.StatusOK, &page)
	if len(page.Items) != 2 || page.Items[0].Seq >= prev || page.Items[1].Seq >= page.Items[0].Seq {
		t.Errorf("the next page, before %d: %+v", prev, page)
	}
	owner.wantError(owner.do("GET", "/api/v1/audit"+q("before", "3"), nil), 400, "invalid_field", "before")
}

func testOverview(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	var ov struct {
		Locations []struct{ LocationID string } `json:"locations"`
	}
	c.getJSON("/api/v1/overview", http.StatusOK, &ov)
	if len(ov.Locations) != 2 {
		t.Errorf("overview: %d locations", len(ov.Locations))
	}
}

// testDoctor runs serve's doctor on a location, and narrows it to what a
// bound key sees.
func testDoctor(t *testing.T, w *world) {
	mine, other := w.locations()[0], w.locations()[1]
	type report struct {
		Checks []struct{ ID, Status, Location string } `json:"checks"`
	}
	locations := func(r report) map[string]bool {
		seen := map[string]bool{}
		for _, ch := range r.Checks {
			if ch.Location != "" {
				seen[ch.Location] = true
			}
		}
		return seen
	}
	c := w.client(t, w.owner)
	var all report
	c.getJSON("/api/v1/doctor", http.StatusOK, &all)
	if got := locations(all); !got[mine] || !got[other] {
		t.Errorf("the doctor on every location checked %v", got)
	}
	var one report
	c.getJSON("/api/v1/doctor"+q("locationId", mine), http.StatusOK, &one)
	if got := locations(one); len(got) != 1 || !got[mine] {
		t.Errorf("the doctor on %s checked %v", mine, got)
	}
	c.wantError(c.do("GET", "/api/v1/doctor?where=1", nil), 400, "invalid_field", "where")

	bound := w.client(t, w.key(access.KeyRequest{Role: "owner", Locations: []string{mine}}))
	var asked report
	bound.getJSON("/api/v1/doctor", http.StatusOK, &asked)
	if got := locations(asked); len(got) != 1 || !got[mine] {
		t.Errorf("a key bound to %s had the doctor check %v", mine, got)
	}
	bound.wantError(bound.do("GET", "/api/v1/doctor"+q("locationId", other), nil), 404, "not_found", "")
	both := w.client(t, w.key(access.KeyRequest{Role: "owner", Locations: []string{mine, other}}))
	both.wantError(both.do("GET", "/api/v1/doctor", nil), 400, "invalid_field", "locationId")
}

// sse is one Server-Sent Event.
type sse struct {
	ID, Event string
	Data      []byte
}

// stream opens the event stream and hands its events on until the test
// ends.
func (c *client) stream(path string, header ...string) <-chan sse {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Transport: c.hc.Transport}).Do(req)
	if err != nil {
		cancel()
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		c.t.Fatalf("stream: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	out := make(chan sse, 1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var e sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.ID != "" {
					out <- e
				}
				e = sse{}
			case strings.HasPrefix(line, "id: "):
				e.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				e.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				e.Data = []byte(strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	c.t.Cleanup(func() { cancel(); resp.Body.Close(); wg.Wait() })
	return out
}

// next waits for the stream's next event.
func next(t *testing.T, events <-chan sse, what string) sse {
	t.Helper()
	select {
	case e, ok := <-events:
		if !ok {
			t.Fatalf("%s: the stream ended", what)
		}
		return e
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no event within 30 s", what)
	}
	return sse{}
}

// testEventStream: the stream resumes after Last-Event-ID with exactly the
// events after it, in order, then follows live changes; each event is an
// Event of the document.
func testEventStream(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	var newest struct {
		Items []struct {
			Seq int64 `json:"seq"`
		} `json:"items"`
	}
	c.getJSON("/api/v1/events?newest=true&limit=6", http.StatusOK, &newest)
	if len(newest.Items) != 6 {
		t.Fatalf("%d newest events", len(newest.Items))
	}
	from := newest.Items[1].Seq
	var backlog struct {
		Items []struct {
			Seq  int64  `json:"seq"`
			Kind string `json:"kind"`
		} `json:"items"`
	}
	c.getJSON("/api/v1/events"+q("after", fmt.Sprint(from), "limit", "1000"), http.StatusOK, &backlog)
	if len(backlog.Items) < 4 || backlog.Items[0].Seq <= from {
		t.Fatalf("after %d: %v", from, backlog.Items)
	}
	for _, resume := range []struct {
		path   string
		header []string
	}{
		{"/api/v1/events/stream", []string{"Last-Event-ID", fmt.Sprint(from)}},
		{"/api/v1/events/stream?after=" + fmt.Sprint(from), nil},
		// Last-Event-ID wins over after: it is where the browser was.
		{"/api/v1/events/stream?after=1", []string{"Last-Event-ID", fmt.Sprint(from)}},
	} {
		events := c.stream(resume.path, resume.header...)
		for _, want := range backlog.Items {
			e := next(t, events, "the backlog")
			if e.ID != fmt.Sprint(want.Seq) || e.Event != want.Kind {
				t.Fatalf("%s: event %s %s, want %d %s", resume.path, e.ID, e.Event, want.Seq, want.Kind)
			}
			w.spec.checkSchema(t, "stream data", "Event", e.Data)
		}
	}
	// Live: a new order in GHL comes down the stream of one location.
	loc := w.locations()[0]
	events := c.stream("/api/v1/events/stream?locationId="+loc, "Last-Event-ID", fmt.Sprint(backlog.Items[len(backlog.Items)-1].Seq))
	id, _, err := w.sb.NewOrder(loc, sandbox.OrderSpec{})
	if err != nil {
		t.Fatal(err)
	}
	last := backlog.Items[len(backlog.Items)-1].Seq
	for {
		e := next(t, events, "the new order's event")
		w.spec.checkSchema(t, "stream data", "Event", e.Data)
		var ev struct {
			Seq        int64  `json:"seq"`
			LocationID string `json:"locationId"`
			RecordID   string `json:"recordId"`
			Kind       string `json:"kind"`
		}
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Seq <= last || fmt.Sprint(ev.Seq) != e.ID || ev.LocationID != loc {
			t.Fatalf("live event %+v (id %s) after %d", ev, e.ID, last)
		}
		last = ev.Seq
		if ev.RecordID == id && ev.Kind == "order.created" {
			break
		}
	}
}

// testPush: a fulfillment pushed through the API reaches GHL (the
// sandbox) once, and shows on the order.
func testPush(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	loc := w.locations()[0]
	id, amount, err := w.sb.NewOrder(loc, sandbox.OrderSpec{Physical: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sb.PayOrder(loc, id, amount); err != nil {
		t.Fatal(err)
	}
	testwait.UntilWhy(t, 30*time.Second, "the paid order synced with its items", func() (bool, string) {
		a := c.do("GET", "/api/v1/orders/"+id, nil)
		var o struct {
			ItemsFetched  bool   `json:"itemsFetched"`
			PaymentStatus string `json:"paymentStatus"`
		}
		_ = json.Unmarshal(a.Body, &o)
		return a.Status == 200 && o.ItemsFetched && o.PaymentStatus == "paid", fmt.Sprintf("%d %+v", a.Status, o)
	})
	req := map[string]any{"orderId": id, "trackings": []any{map[string]any{"trackingNumber": "1ZAPI0001", "carrier": "UPS"}}}
	var push struct{ ID, State string }
	a := c.expect("POST", "/api/v1/pushes", req, http.StatusCreated, &push)
	if a.Header.Get("Location") != "/api/v1/pushes/"+push.ID {
		t.Errorf("Location %q", a.Header.Get("Location"))
	}
	var again struct{ ID string }
	c.expect("POST", "/api/v1/pushes", req, http.StatusOK, &again)
	if again.ID != push.ID {
		t.Errorf("the same push again made %s, not %s", again.ID, push.ID)
	}
	testwait.UntilWhy(t, 30*time.Second, "the push done", func() (bool, string) {
		c.getJSON("/api/v1/pushes/"+push.ID, http.StatusOK, &push)
		return push.State == "done", push.State
	})
	truth, err := w.sb.Truth(loc)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, o := range truth.Locations[0].Orders {
		if o.Item.ID != id {
			continue
		}
		for _, f := range o.Fulfillments {
			b, _ := json.Marshal(f)
			if strings.Contains(string(b), "1ZAPI0001") {
				found++
			}
		}
	}
	if found != 1 {
		t.Errorf("GHL holds %d fulfillments with the tracking number, want 1", found)
	}
	if pushes := c.one("/api/v1/pushes", "orderId", id); len(pushes) != 1 || str(pushes[0], "id") != push.ID {
		t.Errorf("pushes of %s: %v", id, ids(pushes))
	}
	if done := c.one("/api/v1/pushes", "status", "done"); !slices.Contains(ids(done), push.ID) {
		t.Errorf("pushes done: %v", ids(done))
	}
	if len(c.walk("/api/v1/pushes", 1)) < 1 {
		t.Error("no push listed")
	}
	c.walk("/api/v1/notices", 2)
	var o struct {
		Pushes []struct{ ID string } `json:"pushes"`
	}
	c.getJSON("/api/v1/orders/"+id, http.StatusOK, &o)
	if len(o.Pushes) != 1 || o.Pushes[0].ID != push.ID {
		t.Errorf("order %s shows pushes %v", id, o.Pushes)
	}
	// Shipped: nothing is left to push.
	c.wantError(c.do("POST", "/api/v1/pushes", map[string]any{"orderId": id, "trackings": []any{map[string]any{"trackingNumber": "1ZAPI0002"}}}), 409, "conflict", "")
}

// testWebhooks: an outbound endpoint added through the API gets the
// change feed, signed; its deliveries list, replay (202) and removal.
func testWebhooks(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	var mu sync.Mutex
	var got []string // webhook-id of each delivery received
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("webhook-id"))
		mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	received := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }
	loc := w.locations()[1]
	var made struct {
		Endpoint struct {
			ID      string `json:"id"`
			Enabled bool   `json:"enabled"`
		} `json:"endpoint"`
		Secret string `json:"secret"`
	}
	a := c.expect("POST", "/api/v1/webhooks/endpoints", map[string]any{"url": rcv.URL + "/hook", "events": []string{"order.*"}, "locationId": loc, "description": "test"}, http.StatusCreated, &made)
	ep := made.Endpoint.ID
	if a.Header.Get("Location") != "/api/v1/webhooks/endpoints/"+ep || !strings.HasPrefix(made.Secret, "whsec_") || !made.Endpoint.Enabled {
		t.Fatalf("added %+v at %q", made, a.Header.Get("Location"))
	}
	var list struct {
		Items []struct{ ID string } `json:"items"`
	}
	c.getJSON("/api/v1/webhooks/endpoints", http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != ep {
		t.Errorf("endpoints: %v", list.Items)
	}
	if e := c.record("/api/v1/webhooks/endpoints", ep); str(e, "url") != rcv.URL+"/hook" {
		t.Errorf("endpoint: %v", e)
	}
	var e map[string]any
	c.expect("POST", "/api/v1/webhooks/endpoints/"+ep+"/disable", nil, http.StatusOK, &e)
	if e["enabled"] != false {
		t.Errorf("disabled: %v", e)
	}
	c.expect("POST", "/api/v1/webhooks/endpoints/"+ep+"/enable", nil, http.StatusOK, &e)
	if e["enabled"] != true {
		t.Errorf("enabled: %v", e)
	}
	var rotated struct {
		Endpoint map[string]any `json:"endpoint"`
		Secret   string         `json:"secret"`
	}
	c.expect("POST", "/api/v1/webhooks/endpoints/"+ep+"/rotate-secret", map[string]any{"grace": "1h"}, http.StatusOK, &rotated)
	if rotated.Secret == made.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") || str(rotated.Endpoint, "previousUntil") == "" {
		t.Errorf("rotated: %+v", rotated)
	}
	// A change of the location's orders is delivered.
	if _, _, err := w.sb.NewOrder(loc, sandbox.OrderSpec{}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, "a delivery", func() bool { return len(received()) > 0 })
	var deliveries []map[string]any
	testwait.Until(t, 30*time.Second, "the delivery recorded delivered", func() bool {
		deliveries = c.one("/api/v1/webhooks/deliveries", "endpointId", ep, "state", "delivered")
		return len(deliveries) > 0
	})
	for _, d := range deliveries {
		if str(d, "locationId") != loc || !strings.HasPrefix(str(d, "kind"), "order.") {
			t.Errorf("delivery %v", d)
		}
	}
	if paged := c.walk("/api/v1/webhooks/deliveries", 1, "locationId", loc); len(paged) < len(deliveries) {
		t.Errorf("deliveries by 1: %d, delivered %d", len(paged), len(deliveries))
	}
	before := len(received())
	j := c.waitJob(c.do("POST", "/api/v1/webhooks/replays", map[string]any{"ids": []string{str(deliveries[0], "id")}}))
	var out struct{ Replayed int }
	if err := json.Unmarshal(j.Output, &out); err != nil || out.Replayed != 1 || j.Kind != "replay" {
		t.Errorf("replay job %+v: %v", j, err)
	}
	testwait.Until(t, 30*time.Second, "the replay received", func() bool {
		return slices.Contains(received()[before:], str(deliveries[0], "id"))
	})
	c.expect("DELETE", "/api/v1/webhooks/endpoints/"+ep, nil, http.StatusOK, &e)
	if str(e, "removedAt") == "" {
		t.Errorf("removed: %v", e)
	}
	c.getJSON("/api/v1/webhooks/endpoints", http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Errorf("a removed endpoint is listed: %v", list.Items)
	}
	c.getJSON("/api/v1/webhooks/endpoints?removed=true", http.StatusOK, &list)
	if len(list.Items) != 1 {
		t.Errorf("removed=true: %v", list.Items)
	}
}

// testJobs: a resync and a reconciliation answer 202 and are polled to
// succeeded; the resync finds an order deleted in GHL.
func testJobs(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	loc := w.locations()[1]
	gone := str(c.one("/api/v1/orders", "locationId", loc)[0], "id")
	if err := w.sb.Delete(loc, "order", gone); err != nil {
		t.Fatal(err)
	}
	j := c.waitJob(c.do("POST", "/api/v1/connections/"+loc+"/resync", nil))
	if j.Kind != "resync" {
		t.Errorf("resync job kind %q", j.Kind)
	}
	if slices.Contains(ids(c.one("/api/v1/orders", "locationId", loc)), gone) {
		t.Errorf("order %s, deleted in GHL, is still listed after the resync", gone)
	}
	withDeleted := c.one("/api/v1/orders", "locationId", loc, "deleted", "true")
	i := slices.Index(ids(withDeleted), gone)
	if i < 0 || str(withDeleted[i], "deletedAt") == "" {
		t.Errorf("deleted=true: order %s missing or without deletedAt", gone)
	}

	j = c.waitJob(c.do("POST", "/api/v1/reconciliation/runs", map[string]any{"full": true}))
	var stats struct{ Records int }
	if err := json.Unmarshal(j.Output, &stats); err != nil || stats.Records == 0 || j.Kind != "reconcile" {
		t.Errorf("reconcile job %+v: %v", j, err)
	}
	c.waitJob(c.do("POST", "/api/v1/reconciliation/runs", nil)) // no body: an incremental run
	var rep struct {
		Rows       []map[string]any `json:"rows"`
		Exceptions []map[string]any `json:"exceptions"`
	}
	c.getJSON("/api/v1/reconciliation/report", http.StatusOK, &rep)
	if len(rep.Rows) == 0 {
		t.Error("an empty reconciliation report")
	}
	c.getJSON("/api/v1/reconciliation/report"+q("locationId", loc, "exceptionsOnly", "true", "since", "2020-01-01"), http.StatusOK, &rep)
	for _, r := range rep.Rows {
		if str(r, "locationId") != loc || len(r["exceptions"].([]any)) == 0 {
			t.Errorf("exceptionsOnly of %s: %v", loc, r)
		}
	}
	all := c.one("/api/v1/reconciliation/exceptions", "resolved", "true")
	if paged := c.walk("/api/v1/reconciliation/exceptions", 2, "resolved", "true"); !slices.Equal(ids(paged), ids(all)) {
		t.Errorf("exceptions by 2: %d, in one page %d", len(paged), len(all))
	}
	// A job is its location's: a key bound to another does not see it.
	a := c.do("POST", "/api/v1/connections/"+loc+"/resync", nil)
	var rj job
	_ = json.Unmarshal(a.Body, &rj)
	other := w.client(t, w.key(access.KeyRequest{Role: "owner", Locations: []string{w.locations()[0]}}))
	other.wantError(other.do("GET", "/api/v1/jobs/"+rj.ID, nil), 404, "not_found", "")
	c.waitJob(a)
}

// testConnections: pause, resume, and a new token, each shown.
func testConnections(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	loc := w.sb.Locations()[0]
	state := func(v map[string]any) string { return str(v, "state") }
	var conn map[string]any
	c.expect("POST", "/api/v1/connections/"+loc.ID+"/pause", nil, http.StatusOK, &conn)
	if state(conn) != "paused" {
		t.Errorf("paused: %v", conn)
	}
	var st struct {
		Connection map[string]any `json:"connection"`
	}
	c.getJSON("/api/v1/connections/"+loc.ID, http.StatusOK, &st)
	if state(st.Connection) != "paused" {
		t.Errorf("shown paused: %v", st.Connection)
	}
	c.expect("POST", "/api/v1/connections/"+loc.ID+"/resume", nil, http.StatusOK, &conn)
	if state(conn) != "active" {
		t.Errorf("resumed: %v", conn)
	}
	c.expect("PUT", "/api/v1/connections/"+loc.ID+"/token", map[string]any{"token": loc.Token, "baseUrl": w.sbURL, "name": "Renamed"}, http.StatusOK, &conn)
	if str(conn, "name") != "Renamed" || str(conn, "credentialKind") != "pit" || strings.Contains(fmt.Sprint(conn), loc.Token) {
		t.Errorf("connected: %v", conn)
	}
	c.wantError(c.do("PUT", "/api/v1/connections/"+loc.ID+"/token", map[string]any{"token": "x", "baseUrl": "http://example.com"}), 400, "invalid_field", "baseUrl")
	c.wantError(c.do("PUT", "/api/v1/connections/"+loc.ID+"/token", map[string]any{"name": "no token"}), 400, "invalid_field", "token")
}
