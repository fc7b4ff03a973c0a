package daemon_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/syncer/synctest"
	"github.com/rankr/rankr/internal/testwait"
)

// TestWebhookStorm has the sandbox deliver webhooks while it changes data,
// with duplicated and reordered deliveries, while others send forged,
// stale and malformed ones. Every bad request gets the right answer, every
// accepted event is processed once, and the store ends equal to the truth.
func TestWebhookStorm(t *testing.T) {
	t.Parallel()
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb, url := startSandbox(t, sandbox.Config{Seed: 61, Locations: 2, Orders: 60, WebhookWorkers: 4})
			s := serveSandbox(t, db(t), sb, url, daemon.Config{Sync: syncer.Options{PollWindow: 400 * 24 * time.Hour},
				Jobs: jobs.Config{PollInterval: time.Hour, WalkInterval: 24 * time.Hour}})
			d, hook := s.d, s.base+daemon.WebhookPath
			if err := sb.SetFaults(sandbox.Faults{WebhookDuplicateRate: 0.3, WebhookReorderRate: 0.2}); err != nil {
				t.Fatal(err)
			}
			// The storm: 300 changes, each with its webhooks, plus the bad.
			bad := map[string]int{}
			for round := range 10 {
				if _, err := sb.Step(30, "", ""); err != nil {
					t.Fatal(err)
				}
				for kind, status := range attack(t, hook, sb.WebhookSigningKey(), round) {
					if bad[kind] != 0 && bad[kind] != status {
						t.Fatalf("%s answered %d and %d", kind, bad[kind], status)
					}
					bad[kind] = status
				}
			}
			want := map[string]int{"unsigned": 401, "forged": 401, "stale": 400, "future": 400, "malformed": 400, "replayed": 200}
			for kind, status := range want {
				if bad[kind] != status {
					t.Errorf("%s webhooks answered %d, want %d", kind, bad[kind], status)
				}
			}

			// Every delivery settles, and every stored webhook is processed.
			testwait.Until(t, 3*time.Minute, "every delivery settled and processed", func() bool {
				for _, del := range sb.Deliveries() {
					if del.State == sandbox.StatePending {
						return false
					}
				}
				n, _ := d.Store.InboxPending(context.Background())
				return n == 0
			})
			delivered := map[string]bool{}
			for _, del := range sb.Deliveries() {
				if del.State != sandbox.StateDelivered {
					t.Fatalf("delivery %s ended %s: %+v", del.WebhookID, del.State, del.Attempts)
				}
				delivered[del.WebhookID] = true
			}
			st := d.WebhookStats()
			// Each distinct webhook was stored once (the sandbox's, and the two
			// ids the replays use); the rest were duplicates.
			if int(st.Accepted) != len(delivered)+2 || st.Duplicates == 0 {
				t.Fatalf("intake %+v for %d distinct deliveries", st, len(delivered))
			}

			// The app uninstalled from a location suspends its connection;
			// installed again, it resumes.
			loc := sb.Locations()[0].ID
			connState := func() rankr.ConnectionState {
				c, err := d.Store.ConnectionGet(context.Background(), loc)
				if err != nil {
					t.Fatal(err)
				}
				return c.State
			}
			if err := sb.SendAppEvent(ghl.EventUninstall, loc); err != nil {
				t.Fatal(err)
			}
			testwait.Until(t, time.Minute, "the connection suspended", func() bool { return connState() == rankr.StateSuspended })
			if err := sb.SendAppEvent(ghl.EventInstall, loc); err != nil {
				t.Fatal(err)
			}
			testwait.Until(t, time.Minute, "the connection active again", func() bool { return connState() == rankr.StateActive })

			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
			// The unsigned and forged ones (2 a round) are in the audit log,
			// counted per minute and sender, written by the time serve ends.
			recs, err := d.Store.AuditList(context.Background(), store.AuditListParams{Action: "webhook.bad_signature"})
			if err != nil {
				t.Fatal(err)
			}
			refused := 0
			for _, r := range recs {
				if r.Outcome != rankr.AuditDenied || r.Request.PeerIP != "127.0.0.1" || r.Actor.Type != rankr.ActorGHL {
					t.Errorf("record %+v", r)
				}
				refused += r.Count
			}
			if refused != 20 || len(recs) > 4 {
				t.Errorf("%d bad signatures in %d audit records, want 20 in a few", refused, len(recs))
			}
			// Webhooks carry orders and invoices; payments, fulfillments and
			// subscriptions come by polling, as in GHL.
			for _, l := range sb.Locations() {
				if err := d.Syncer.Poll(context.Background(), l.ID); err != nil {
					t.Fatal(err)
				}
			}
			truth, _ := sb.Truth("")
			synctest.MatchesTruth(t, d.Store, truth, synctest.Options{IgnoreDeleted: true})
		})
	}
}

// attack sends one of each kind of bad webhook and returns the answers.
func attack(t *testing.T, url string, key ed25519.PrivateKey, round int) map[string]int {
	t.Helper()
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now().UTC()
	ev := func(id string, at time.Time) []byte {
		return []byte(fmt.Sprintf(`{"type":"OrderStatusUpdate","locationId":"nowhere","_id":"o","webhookId":%q,"timestamp":%q}`,
			id, at.Format(time.RFC3339Nano)))
	}
	send := func(b []byte, sig string) int {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
		if sig != "" {
			req.Header.Set("x-ghl-signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	replay := ev(fmt.Sprintf("replay-%d", round%2), now)
	send(replay, ghl.SignWebhook(key, replay)) // the first time it is new
	out := map[string]int{
		"unsigned":  send(ev("u", now), ""),
		"forged":    send(ev("f", now), ghl.SignWebhook(forger, ev("f", now))),
		"stale":     send(ev(fmt.Sprintf("s%d", round), now.Add(-2*time.Hour)), ghl.SignWebhook(key, ev(fmt.Sprintf("s%d", round), now.Add(-2*time.Hour)))),
		"future":    send(ev("fu", now.Add(2*time.Hour)), ghl.SignWebhook(key, ev("fu", now.Add(2*time.Hour)))),
		"malformed": send([]byte(`{"type":`), ghl.SignWebhook(key, []byte(`{"type":`))),
		"replayed":  send(replay, ghl.SignWebhook(key, replay)),
	}
	return out
}
