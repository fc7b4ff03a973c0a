package outbound_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/testwait"
)

// TestSkewedDispatchersNeverSendTwice runs two dispatchers on one database
// from hosts whose clocks are an hour behind and an hour ahead: leases and
// due times are the database's, so neither takes a delivery the other
// holds, and neither waits an hour for deliveries the other queued. Each
// message is sent once.
func TestSkewedDispatchersNeverSendTwice(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := twoStores(t, name)
			r := newRigOn(t, a, 20)
			behind := webhooksOn(a, r.vault, outbound.Config{UserAgent: "rankr-webhooks/behind", Concurrency: 3})
			ahead := webhooksOn(b, r.vault, outbound.Config{UserAgent: "rankr-webhooks/ahead", Concurrency: 3})
			outbound.SetClock(behind, func() time.Time { return time.Now().Add(-time.Hour) })
			outbound.SetClock(ahead, func() time.Time { return time.Now().Add(time.Hour) })

			// The signatures carry the senders' skewed times: this receiver
			// only counts what it gets.
			var mu sync.Mutex
			got := map[string]int{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				mu.Lock()
				got[req.Header.Get("webhook-id")]++
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(srv.Close)
			e, _, err := behind.Add(ctx, outbound.AddParams{URL: srv.URL + "/hooks", Events: []string{"*"}})
			if err != nil {
				t.Fatal(err)
			}
			r.backfill(t)
			run(t, behind)
			run(t, ahead)
			total := len(wanted(t, a, e))
			testwait.UntilWhy(t, 2*time.Minute, "every message delivered", func() (bool, string) {
				n := countState(t, a, e.ID, rankr.DeliveryDelivered)
				return n == total, fmt.Sprintf("%d of %d delivered", n, total)
			})
			mu.Lock()
			defer mu.Unlock()
			if len(got) != total {
				t.Fatalf("%d messages received, want %d", len(got), total)
			}
			for id, n := range got {
				if n != 1 {
					t.Errorf("message %s sent %d times", id, n)
				}
			}
			for _, d := range deliveries(t, a, store.WebhookDeliveryListParams{}) {
				if d.Attempts != 1 {
					t.Errorf("delivery %s attempted %d times", d.ID, d.Attempts)
				}
			}
		})
	}
}
