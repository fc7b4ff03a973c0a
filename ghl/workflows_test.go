package ghl_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
)

// A trigger firing goes to the absolute target URL (not under the base
// URL) with the location's token and GHL's Version; a 429 is sent again,
// a 5xx is not (GHL may have run the workflow: the outcome is unknown),
// and GHL's "inactive" 404 comes back as GHL said it.
func TestExecuteWorkflowTrigger(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		statuses []int
		calls    int
		unknown  bool
		status   int
	}{
		{"ok", []int{200}, 1, false, 0},
		{"429 then ok", []int{429, 200}, 2, false, 0},
		{"500 is not retried", []int{500, 200}, 1, true, 500},
		{"inactive", []int{404}, 1, false, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []*http.Request
			var bodies []string
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				i := len(got)
				got, bodies = append(got, r), append(bodies, string(b))
				mu.Unlock()
				st := tc.statuses[min(i, len(tc.statuses)-1)]
				w.Header().Set("Content-Type", "application/json")
				if st == 429 {
					w.Header().Set("Retry-After", "0")
				}
				w.WriteHeader(st)
				if st == 404 {
					json.NewEncoder(w).Encode(map[string]any{"statusCode": 404, "message": "trigger with id: T1 inactive"})
				}
			}))
			t.Cleanup(ts.Close)
			c := ghl.NewClient(ghl.StaticToken("tok-L1"), ghl.WithBaseURL("http://127.0.0.1:1"),
				ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := c.ExecuteWorkflowTrigger(ctx, "L1", ts.URL+"/workflows-marketplace/triggers/execute/app/T1", json.RawMessage(`{"order":{"id":"o1"}}`))
			mu.Lock()
			defer mu.Unlock()
			if len(got) != tc.calls {
				t.Fatalf("%d calls, want %d", len(got), tc.calls)
			}
			r := got[0]
			if r.Method != http.MethodPost || r.URL.Path != "/workflows-marketplace/triggers/execute/app/T1" ||
				r.Header.Get("Authorization") != "Bearer tok-L1" || r.Header.Get("Version") != ghl.DefaultVersion ||
				bodies[0] != `{"order":{"id":"o1"}}` {
				t.Fatalf("sent %s %s auth %q version %q body %s", r.Method, r.URL.Path, r.Header.Get("Authorization"),
					r.Header.Get("Version"), bodies[0])
			}
			var gerr *ghl.Error
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &gerr) || gerr.StatusCode != tc.status || gerr.OutcomeUnknown != tc.unknown {
				t.Fatalf("error %v, want status %d unknown %v", err, tc.status, tc.unknown)
			}
			if tc.status == 404 && gerr.Message != "trigger with id: T1 inactive" {
				t.Fatalf("message %q", gerr.Message)
			}
		})
	}
}
