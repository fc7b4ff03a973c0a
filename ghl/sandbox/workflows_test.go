package sandbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rankr/rankr/ghl/sandbox"
)

// The sandbox plays GHL's side of the workflow contract: it subscribes
// with a target URL on itself, takes firings only with the location's
// token, says "inactive" once the trigger is removed (after telling the
// app), and calls custom actions with {data, extras, meta}.
func TestWorkflowContract(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var calls []map[string]any
	var paths, secrets []string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		calls, paths, secrets = append(calls, b), append(paths, r.URL.Path), append(secrets, r.Header.Get("X-Rankr-Secret"))
		mu.Unlock()
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(app.Close)
	sb, err := sandbox.New(sandbox.Config{Seed: 5, Orders: 1, MarketplaceURL: app.URL, MarketplaceSecret: "sh"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { ts.Close(); sb.Close() })
	sb.SetBaseURL(ts.URL)
	l := sb.Locations()[0]

	id, err := sb.AddWorkflowTrigger(l.ID, "derived_order_paid", sandbox.WorkflowFilter{Field: "country", Value: "USA"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	td, _ := calls[0]["triggerData"].(map[string]any)
	extras, _ := calls[0]["extras"].(map[string]any)
	target, _ := td["targetUrl"].(string)
	if paths[0] != "/ghl/triggers/subscription" || secrets[0] != "sh" || td["eventType"] != "CREATED" || td["id"] != id ||
		extras["locationId"] != l.ID || !strings.HasPrefix(target, ts.URL+sandbox.ExecutePrefix) {
		t.Fatalf("subscription %s %q %v", paths[0], secrets[0], calls[0])
	}
	mu.Unlock()

	fire := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader([]byte(`{"order":{"id":"o1"}}`)))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := fire("not-a-token"); st != http.StatusUnauthorized {
		t.Fatalf("a bad token: %d, want 401", st)
	}
	if st, body := fire(l.Token); st != http.StatusOK {
		t.Fatalf("the location's token: %d %s", st, body)
	}
	ex := sb.TriggerExecutions(id)
	if len(ex) != 1 || string(ex[0].Payload) != `{"order":{"id":"o1"}}` {
		t.Fatalf("executions %+v", ex)
	}
	if err := sb.RemoveWorkflowTrigger(id); err != nil {
		t.Fatal(err)
	}
	if st, body := fire(l.Token); st != http.StatusNotFound || !strings.Contains(body, "trigger with id: "+id+" inactive") {
		t.Fatalf("after removal: %d %s", st, body)
	}
	mu.Lock()
	if td, _ := calls[1]["triggerData"].(map[string]any); td["eventType"] != "DELETED" {
		t.Fatalf("removal sent %v", calls[1])
	}
	mu.Unlock()

	st, body, err := sb.CallCustomAction(l.ID, "rankr_order_get", map[string]any{"orderId": "o1"})
	if err != nil || st != 200 || string(body) != `{"ok":true}` {
		t.Fatalf("action: %d %s %v", st, body, err)
	}
	mu.Lock()
	c := calls[2]
	data, _ := c["data"].(map[string]any)
	extras, _ = c["extras"].(map[string]any)
	meta, _ := c["meta"].(map[string]any)
	if paths[2] != "/ghl/actions/rankr_order_get" || data["orderId"] != "o1" || extras["locationId"] != l.ID ||
		extras["workflowId"] == "" || extras["contactId"] == "" || meta["key"] != "rankr_order_get" {
		t.Fatalf("action call %s %v", paths[2], c)
	}
	mu.Unlock()

	// The app refusing a subscription: no trigger, the app's answer said.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"bad secret"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(refuse.Close)
	sb.SetMarketplace(refuse.URL, "x")
	var me *sandbox.MarketplaceError
	if _, err := sb.AddWorkflowTrigger(l.ID, "derived_order_paid"); !errors.As(err, &me) || me.Status != 401 {
		t.Fatalf("refused: %v", err)
	}
}
