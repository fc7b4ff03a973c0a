package sandbox_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

var anchor = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func newSandbox(t testing.TB, cfg sandbox.Config) *sandbox.Server {
	t.Helper()
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb
}

func serve(t testing.TB, sb *sandbox.Server) string {
	t.Helper()
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func truthJSON(t testing.TB, sb *sandbox.Server) string {
	t.Helper()
	tr, err := sb.Truth("")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGeneratorIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := sandbox.Config{Seed: 42, Locations: 2, Orders: 150, Anchor: anchor}
	a, b := newSandbox(t, cfg), newSandbox(t, cfg)
	if truthJSON(t, a) != truthJSON(t, b) {
		t.Fatal("the same seed and anchor gave different data")
	}
	if a.WebhookPublicKey() != b.WebhookPublicKey() || a.Locations()[0].Token != b.Locations()[0].Token {
		t.Fatal("the same seed gave different keys or tokens")
	}
	cfg.Seed = 43
	if truthJSON(t, newSandbox(t, cfg)) == truthJSON(t, a) {
		t.Fatal("different seeds gave the same data")
	}
	// Location i does not depend on how many locations there are.
	one := newSandbox(t, sandbox.Config{Seed: 42, Locations: 1, Orders: 150, Anchor: anchor})
	trOne, _ := one.Truth("")
	trTwo, _ := a.Truth(a.Locations()[0].ID)
	j1, _ := json.Marshal(trOne.Locations[0])
	j2, _ := json.Marshal(trTwo.Locations[0])
	if !bytes.Equal(j1, j2) {
		t.Fatal("location 0 changed with the number of locations")
	}
}

func TestGeneratedDataIsVaried(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, sandbox.Config{Seed: 5, Locations: 3, Orders: 1500, Anchor: anchor})
	tr, err := sb.Truth("")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]bool{}
	note := func(kind, v string) {
		if seen[kind] == nil {
			seen[kind] = map[string]bool{}
		}
		seen[kind][v] = true
	}
	for _, l := range tr.Locations {
		for _, o := range l.Orders {
			note("order status", string(o.Item.Status))
			note("payment status", o.PaymentStatus)
			note("fulfillment status", string(o.Item.FulfillmentStatus))
			note("source", string(o.Item.SourceType))
			note("currency", o.Item.Currency)
			note("live", map[bool]string{true: "live", false: "test"}[o.Item.LiveMode])
			note("items", string(o.Item.TotalProducts))
			if o.Item.CreatedAt.After(anchor) || o.Item.UpdatedAt.Before(o.Item.CreatedAt.Time) || o.Item.UpdatedAt.After(anchor) {
				t.Fatalf("order %s has times %v / %v around anchor %v", o.Item.ID, o.Item.CreatedAt, o.Item.UpdatedAt, anchor)
			}
			for _, f := range o.Fulfillments {
				note("carrier", f.Trackings[0].ShippingCarrier)
			}
		}
		for _, x := range l.Transactions {
			note("transaction status", string(x.Item.Status))
			note("provider", x.Item.PaymentProviderType)
			note("entity", x.Item.EntityType)
		}
		for _, s := range l.Subscriptions {
			note("subscription status", string(s.Item.Status))
			note("interval", s.Detail.Schedule.RRule.IntervalType)
		}
		for _, inv := range l.Invoices {
			note("invoice status", string(inv.Invoice.Status))
		}
	}
	wantAtLeast := map[string]int{
		"order status": 5, "payment status": 5, "fulfillment status": 3, "source": 10, "currency": 2, "live": 2,
		"items": 3, "carrier": 4, "transaction status": 4, "provider": 5, "entity": 3,
		"subscription status": 3, "interval": 3, "invoice status": 5,
	}
	for kind, n := range wantAtLeast {
		if len(seen[kind]) < n {
			t.Errorf("%s: only %v, want at least %d kinds", kind, keys(seen[kind]), n)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// receiver records webhooks and answers with the statuses it is told to.
type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	sigs     []string
	answers  []int // answered in turn, then 200
	received chan struct{}
}

func newReceiver(t testing.TB, answers ...int) (*receiver, string) {
	r := &receiver{answers: answers, received: make(chan struct{}, 10_000)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.sigs = append(r.sigs, req.Header.Get("x-ghl-signature"))
		status := http.StatusOK
		if len(r.answers) > 0 {
			status, r.answers = r.answers[0], r.answers[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		r.received <- struct{}{}
	}))
	t.Cleanup(ts.Close)
	return r, ts.URL
}

func (r *receiver) wait(t testing.TB, n int) {
	t.Helper()
	for range n {
		select {
		case <-r.received:
		case <-time.After(10 * time.Second):
			t.Fatalf("webhook not received in 10s")
		}
	}
}

func (r *receiver) snapshot() ([][]byte, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), append([]string(nil), r.sigs...)
}

func TestWebhooksAreSignedLikeGHL(t *testing.T) {
	t.Parallel()
	rec, url := newReceiver(t)
	sb := newSandbox(t, sandbox.Config{Seed: 6, Orders: 30, WebhookURL: url, WebhookWorkers: 1})
	changes, err := sb.Step(1, "", "order.created")
	if err != nil || len(changes) != 1 {
		t.Fatalf("step: %v, %v", changes, err)
	}
	rec.wait(t, 1)
	bodies, sigs := rec.snapshot()

	// Verify with the standard library alone, from the published SPKI key.
	der, err := base64.StdEncoding.DecodeString(sb.WebhookPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(sigs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub.(ed25519.PublicKey), bodies[0], sig) {
		t.Fatal("signature does not verify over the raw body")
	}
	tampered := bytes.Replace(bodies[0], []byte(`"pending"`), []byte(`"completed"`), 1)
	if ed25519.Verify(pub.(ed25519.PublicKey), tampered, sig) {
		t.Fatal("signature verifies over a changed body")
	}

	ev, err := ghl.ParseWebhookEvent(bodies[0])
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != ghl.EventOrderCreate || ev.LocationID != sb.Locations()[0].ID || ev.WebhookID == "" || ev.Timestamp.IsZero() {
		t.Fatalf("envelope %+v", ev)
	}
	o, err := ev.Order()
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != changes[0].RecordID || o.Status != ghl.OrderPending || len(o.Items) == 0 {
		t.Fatalf("payload order %+v", o)
	}
}

func TestWebhooksRetryOnlyOn429(t *testing.T) {
	t.Parallel()
	retry := sandbox.RetrySchedule{Retries: 6, Interval: 10 * time.Millisecond, Jitter: -1}
	tests := []struct {
		name     string
		answers  []int
		attempts int
		state    sandbox.DeliveryState
	}{
		{"429 twice then 200", []int{429, 429}, 3, sandbox.StateDelivered},
		{"500 is final", []int{500}, 1, sandbox.StateFailed},
		{"404 is final", []int{404}, 1, sandbox.StateFailed},
		{"429 until GHL gives up", []int{429, 429, 429, 429, 429, 429, 429, 429}, 7, sandbox.StateFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, url := newReceiver(t, tt.answers...)
			sb := newSandbox(t, sandbox.Config{Seed: 7, Orders: 10, WebhookURL: url, WebhookRetry: retry, WebhookWorkers: 1})
			if err := sb.SendAppEvent(ghl.EventInstall, sb.Locations()[0].ID); err != nil {
				t.Fatal(err)
			}
			rec.wait(t, tt.attempts)
			var d sandbox.Delivery
			deadline := time.Now().Add(5 * time.Second)
			for {
				d = sb.Deliveries()[0]
				if d.State != sandbox.StatePending || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if len(d.Attempts) != tt.attempts || d.State != tt.state {
				t.Fatalf("%d attempts, state %s; want %d, %s", len(d.Attempts), d.State, tt.attempts, tt.state)
			}
			bodies, _ := rec.snapshot()
			for _, b := range bodies[1:] {
				if !bytes.Equal(b, bodies[0]) {
					t.Fatal("a redelivery changed the body")
				}
			}
		})
	}
}

func TestWebhookFaults(t *testing.T) {
	t.Parallel()
	rec, url := newReceiver(t)
	sb := newSandbox(t, sandbox.Config{Seed: 8, Orders: 10, WebhookURL: url, WebhookWorkers: 1})
	if err := sb.SetFaults(sandbox.Faults{WebhookDuplicateRate: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Step(1, "", "invoice.created"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 2)
	bodies, _ := rec.snapshot()
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatal("a duplicated webhook differs from the original")
	}
	if err := sb.SetFaults(sandbox.Faults{WebhookLossRate: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Step(1, "", "invoice.created"); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, d := range sb.Deliveries() {
		if d.State == sandbox.StateLost {
			lost++
		}
	}
	if lost != 1 {
		t.Fatalf("%d lost deliveries, want 1", lost)
	}
}

func TestActivityMovesRecordsForward(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, sandbox.Config{Seed: 9, Locations: 2, Orders: 200})
	before, err := sb.Truth("")
	if err != nil {
		t.Fatal(err)
	}
	updated := map[string]time.Time{}
	for _, l := range before.Locations {
		for _, o := range l.Orders {
			updated[o.Item.ID] = o.Item.UpdatedAt.Time
		}
	}
	kinds := map[string]int{}
	for range 10 {
		changes, err := sb.Step(60, "", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			kinds[c.Kind]++
		}
	}
	if len(kinds) < 8 {
		t.Fatalf("600 changes covered only %v", kinds)
	}
	after, _ := sb.Truth("")
	newOrders, changed := 0, 0
	for _, l := range after.Locations {
		for _, o := range l.Orders {
			prev, ok := updated[o.Item.ID]
			switch {
			case !ok:
				newOrders++
			case o.Item.UpdatedAt.Before(prev):
				t.Fatalf("order %s went back in time", o.Item.ID)
			case o.Item.UpdatedAt.After(prev):
				changed++
			}
		}
	}
	if newOrders == 0 || changed == 0 {
		t.Fatalf("activity made %d new and %d changed orders", newOrders, changed)
	}
	if _, err := sb.Step(1, "", "no.such.kind"); err == nil {
		t.Fatal("an unknown kind was accepted")
	}
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, sandbox.Config{Seed: 10, Orders: 40})
	url := serve(t, sb)
	loc := sb.Locations()[0]
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	api := func(path, token string) int {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Version", "2021-07-28")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if code, body := call("GET", "/_sandbox/info", ""); code != 200 || !strings.Contains(string(body), loc.Token) {
		t.Fatalf("info: %d %s", code, body)
	}
	if code, body := call("POST", "/_sandbox/activity", `{"count":5,"kind":"order.created"}`); code != 200 || strings.Count(string(body), "order.created") != 5 {
		t.Fatalf("activity: %d %s", code, body)
	}
	if code, _ := call("POST", "/_sandbox/activity", `{"count":0}`); code != 400 {
		t.Fatalf("zero activity: %d", code)
	}
	if code, body := call("PUT", "/_sandbox/faults", `{"errorRate":2}`); code != 400 || !strings.Contains(string(body), "errorRate") {
		t.Fatalf("bad faults: %d %s", code, body)
	}
	if code, body := call("PUT", "/_sandbox/faults", `{"latency":"5ms","only":["GetOrder"]}`); code != 200 || !strings.Contains(string(body), `"5ms"`) {
		t.Fatalf("faults: %d %s", code, body)
	}
	if code, _ := call("PUT", "/_sandbox/faults", `{}`); code != 200 {
		t.Fatal("clearing faults failed")
	}

	tr, _ := sb.Truth(loc.ID)
	order := tr.Locations[0].Orders[0].Item.ID
	if code := api("/payments/orders/"+order+"?altId="+loc.ID, loc.Token); code != 200 {
		t.Fatalf("get order: %d", code)
	}
	if code, _ := call("DELETE", "/_sandbox/locations/"+loc.ID+"/order/"+order, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := api("/payments/orders/"+order+"?altId="+loc.ID, loc.Token); code != 400 {
		t.Fatalf("get deleted order: %d, want 400 (GHL's not found)", code)
	}
	tr, _ = sb.Truth(loc.ID)
	if !tr.Locations[0].Orders[0].Deleted {
		t.Fatal("the truth does not mark the deleted order")
	}

	if code, _ := call("POST", "/_sandbox/tokens", `{"locationId":"`+loc.ID+`","token":"pit-extra","scopes":["payments/orders.readonly"]}`); code != 201 {
		t.Fatalf("add token: %d", code)
	}
	if code := api("/payments/orders?altId="+loc.ID, "pit-extra"); code != 200 {
		t.Fatalf("new token: %d", code)
	}
	if code := api("/payments/transactions?altId="+loc.ID+"&altType=location", "pit-extra"); code != 401 {
		t.Fatalf("new token without scope: %d, want 401", code)
	}
	if code, _ := call("DELETE", "/_sandbox/tokens/pit-extra", ""); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code := api("/payments/orders?altId="+loc.ID, "pit-extra"); code != 401 {
		t.Fatalf("revoked token: %d, want 401", code)
	}
	if code, body := call("PUT", "/_sandbox/limits", `{"burst":2,"intervalMs":60000,"daily":1000}`); code != 200 || !strings.Contains(string(body), `"burst":2`) {
		t.Fatalf("limits: %d %s", code, body)
	}
	statuses := []int{api("/payments/orders?altId="+loc.ID, loc.Token), api("/payments/orders?altId="+loc.ID, loc.Token), api("/payments/orders?altId="+loc.ID, loc.Token)}
	if statuses[2] != 429 {
		t.Fatalf("with a burst of 2 the third request got %v", statuses)
	}
	if code, body := call("GET", "/_sandbox/stats", ""); code != 200 || !strings.Contains(string(body), "ListOrders 429") {
		t.Fatalf("stats: %d %s", code, body)
	}
	if code, _ := call("GET", "/payments/nothing-here", ""); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}
}

func TestVersionHeaderIsRequired(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, sandbox.Config{Seed: 11, Orders: 5})
	url := serve(t, sb)
	loc := sb.Locations()[0]
	for version, want := range map[string]int{"": 400, "2020-01-01": 400, "2021-07-28": 200, "2023-02-21": 200, "v3": 200} {
		req, _ := http.NewRequest("GET", url+"/payments/orders?altId="+loc.ID, nil)
		req.Header.Set("Authorization", "Bearer "+loc.Token)
		if version != "" {
			req.Header.Set("Version", version)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Version %q: %d, want %d", version, resp.StatusCode, want)
		}
	}
}

// Each location's start-line entry names its store and its user, as the
// products API and its records know them, for a client to be pointed at.
func TestLocationInfoNamesStoreAndUser(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, sandbox.Config{Seed: 5, Locations: 2, Orders: 10, Anchor: anchor})
	for _, l := range sb.Locations() {
		tr, err := sb.Truth(l.ID)
		if err != nil {
			t.Fatal(err)
		}
		cat := tr.Locations[0].Catalog
		if cat == nil || l.StoreID == "" || l.StoreID != cat.StoreID {
			t.Errorf("%s: storeId %q, the catalog's %+v", l.ID, l.StoreID, cat)
			continue
		}
		if l.UserID == "" || len(cat.Products) == 0 || len(cat.Products[0].Prices) == 0 || cat.Products[0].Prices[0].UserID != l.UserID {
			t.Errorf("%s: userId %q is not the catalog's user", l.ID, l.UserID)
		}
	}
}
