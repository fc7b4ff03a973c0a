package outbound_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/postgres"
	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/testwait"
)

// TestSignatureMatchesTheSpec signs the Standard Webhooks specification's
// own example.
func TestSignatureMatchesTheSpec(t *testing.T) {
	t.Parallel()
	key, _ := outboundKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	got := outbound.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("signature %s", got)
	}
	secret := outbound.NewSecret()
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,bm90IGl0 "+got)
	if err := verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, []byte(`{"test": 2432232314}`), time.Unix(1614265330, 0), time.Minute); err == nil {
		t.Fatal("the verifier accepted a signature for another message id")
	}
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != len("whsec_")+44 {
		t.Fatalf("secret %q", secret)
	}
}

// TestEachEventDeliveredOnceSigned syncs a location from the sandbox and
// checks that every event an endpoint subscribes to reaches it exactly
// once, signed, with the event and the record in the body, while two
// endpoints with different subscriptions run side by side and GHL keeps
// changing.
func TestEachEventDeliveredOnceSigned(t *testing.T) {
	t.Parallel()
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, open, 25)
			w := r.webhooks(t, outbound.Config{})
			shop, audit := newReceiver(t, nil), newReceiver(t, nil)
			eShop := shop.add(t, w, outbound.AddParams{Events: []string{"order.*", "fulfillment.*"}})
			eAudit := audit.add(t, w, outbound.AddParams{Events: []string{"*"}, LocationID: r.loc})
			run(t, w)
			r.backfill(t)
			if _, err := r.sb.Step(30, r.loc, ""); err != nil {
				t.Fatal(err)
			}
			if err := r.sync.Poll(ctx, r.loc); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				rc *receiver
				e  rankr.WebhookEndpoint
			}{{shop, eShop}, {audit, eAudit}} {
				want := wanted(t, r.st, c.e)
				if len(want) < 25 {
					t.Fatalf("only %d events for %v", len(want), c.e.Events)
				}
				testwait.UntilWhy(t, 2*time.Minute, "every event delivered to "+strings.Join(c.e.Events, ","), func() (bool, string) {
					if n := len(c.rc.requests()); n < len(want) {
						return false, fmt.Sprintf("%d of %d received", n, len(want))
					}
					n := countState(t, r.st, c.e.ID, rankr.DeliveryDelivered)
					return n == len(want), fmt.Sprintf("%d of %d delivered", n, len(want))
				})
				seen := map[int64]bool{}
				for _, got := range c.rc.requests() {
					if got.Verified != nil {
						t.Fatalf("signature: %v", got.Verified)
					}
					if n := c.rc.count(got.ID); n != 1 || !strings.HasPrefix(got.ID, "msg_") {
						t.Fatalf("message %s received %d times", got.ID, n)
					}
					if got.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(got.Header.Get("User-Agent"), "rankr-webhooks/") {
						t.Fatalf("headers %v", got.Header)
					}
					m := decode(t, got.Body)
					seq := int64(m.Data["seq"].(float64))
					ev, ok := want[seq]
					if !ok || seen[seq] {
						t.Fatalf("event %d delivered unwanted or twice: %s", seq, got.Body)
					}
					seen[seq] = true
					if m.Type != ev.Kind || !m.Timestamp.Equal(ev.At) || m.Data["recordId"] != ev.RecordID ||
						m.Data["locationId"] != ev.LocationID || m.Data["recordType"] != ev.RecordType {
						t.Fatalf("message %s for event %+v", got.Body, ev)
					}
					if rec, _ := m.Data["record"].(map[string]any); rec["id"] != ev.RecordID || m.Data["recordAsOf"] == nil {
						t.Fatalf("message %s lacks its record", got.Body)
					}
					if ev.Kind == rankr.OrderStatusChanged && m.Data["changes"] == nil {
						t.Fatalf("a status change without its changes: %s", got.Body)
					}
				}
				for _, d := range deliveries(t, r.st, store.WebhookDeliveryListParams{EndpointID: c.e.ID}) {
					if d.Attempts != 1 || d.LastStatus != http.StatusNoContent || d.DeliveredAt.IsZero() {
						t.Fatalf("delivery %+v", d)
					}
				}
			}
		})
	}
}

// TestRetriesKeepTheMessage has a receiver fail twice (500, then 503 with
// Retry-After) before it takes each message: every message arrives three
// times, with the same id and the same bytes, and ends delivered.
func TestRetriesKeepTheMessage(t *testing.T) {
	t.Parallel()
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, open, 12)
			w := r.webhooks(t, outbound.Config{MaxAttempts: 5})
			flaky := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				switch n {
				case 1:
					http.Error(w, "boom", http.StatusInternalServerError)
				case 2:
					w.Header().Set("Retry-After", "1")
					http.Error(w, "busy", http.StatusServiceUnavailable)
				default:
					w.WriteHeader(http.StatusOK)
				}
			})
			e := flaky.add(t, w, outbound.AddParams{Events: []string{rankr.OrderCreated}})
			r.backfill(t)
			run(t, w)
			want := len(wanted(t, r.st, e))
			testwait.UntilWhy(t, 2*time.Minute, "every message delivered", func() (bool, string) {
				n := countState(t, r.st, e.ID, rankr.DeliveryDelivered)
				return n == want, fmt.Sprintf("%d of %d delivered", n, want)
			})
			byID := map[string][]received{}
			for _, got := range flaky.requests() {
				byID[got.ID] = append(byID[got.ID], got)
			}
			if len(byID) != want {
				t.Fatalf("%d messages, want %d", len(byID), want)
			}
			for id, tries := range byID {
				if len(tries) != 3 {
					t.Fatalf("message %s arrived %d times, want 3", id, len(tries))
				}
				for _, try := range tries {
					if !bytes.Equal(try.Body, tries[0].Body) || try.Verified != nil || try.Timestamp < tries[0].Timestamp {
						t.Fatalf("retries of %s differ: %s vs %s (%v)", id, try.Body, tries[0].Body, try.Verified)
					}
				}
				d, err := r.st.WebhookDeliveryGet(ctx, id)
				if err != nil || d.Attempts != 3 || d.State != rankr.DeliveryDelivered || d.LastStatus != http.StatusOK || !bytes.Equal(d.Payload, tries[0].Body) {
					t.Fatalf("delivery %+v, %v", d, err)
				}
			}
		})
	}
}

// TestDeadLetterThenReplay has a receiver down for good: each message is
// attempted up to the limit, then dead, with a webhook.dead_lettered event
// that no endpoint receives. Once the receiver is back, replay delivers
// them with their original ids and bytes.
func TestDeadLetterThenReplay(t *testing.T) {
	t.Parallel()
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, open, 10)
			w := r.webhooks(t, outbound.Config{MaxAttempts: 3})
			var up atomic.Bool
			down := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				if !up.Load() {
					http.Error(w, "down for maintenance", http.StatusInternalServerError)
				}
			})
			all := newReceiver(t, nil)
			e := down.add(t, w, outbound.AddParams{Events: []string{rankr.OrderCreated}})
			eAll := all.add(t, w, outbound.AddParams{Events: []string{"*"}})
			r.backfill(t)
			run(t, w)
			want := len(wanted(t, r.st, e))
			testwait.UntilWhy(t, 2*time.Minute, "every message dead", func() (bool, string) {
				n := countState(t, r.st, e.ID, rankr.DeliveryDead)
				return n == want, fmt.Sprintf("%d of %d dead", n, want)
			})
			for _, d := range deliveries(t, r.st, store.WebhookDeliveryListParams{EndpointID: e.ID}) {
				if d.Attempts != 3 || d.LastStatus != 500 || !strings.Contains(d.LastResponse, "down for maintenance") ||
					d.LastError != "answered 500 Internal Server Error" {
					t.Fatalf("dead delivery %+v", d)
				}
			}
			dead := 0
			for _, ev := range storetest.Events(t, r.st, "") {
				if ev.Kind == rankr.WebhookDeadLettered {
					dead++
				}
			}
			if dead != want {
				t.Fatalf("%d dead-letter events, want %d", dead, want)
			}
			// The catch-all endpoint gets everything but the webhook events.
			wantAll := wanted(t, r.st, eAll)
			testwait.UntilWhy(t, 2*time.Minute, "the catch-all endpoint served", func() (bool, string) {
				n := countState(t, r.st, eAll.ID, rankr.DeliveryDelivered)
				return n == len(wantAll), fmt.Sprintf("%d of %d", n, len(wantAll))
			})
			for _, got := range all.requests() {
				if m := decode(t, got.Body); strings.HasPrefix(m.Type, "webhook.") {
					t.Fatalf("a webhook event was sent to an endpoint: %s", got.Body)
				}
			}

			first := map[string][]byte{}
			for _, got := range down.requests() {
				first[got.ID] = got.Body
			}
			up.Store(true)
			n, err := w.Replay(ctx, rankr.AuditActor{Type: rankr.ActorHost, ID: "ops"}, store.WebhookDeliveryReplayParams{State: rankr.DeliveryDead})
			if err != nil || n != want {
				t.Fatalf("replayed %d, %v; want %d", n, err, want)
			}
			testwait.UntilWhy(t, 2*time.Minute, "every replayed message delivered", func() (bool, string) {
				n := countState(t, r.st, e.ID, rankr.DeliveryDelivered)
				return n == want, fmt.Sprintf("%d of %d delivered", n, want)
			})
			counts := map[string]int{}
			for _, got := range down.requests() {
				counts[got.ID]++
				if !bytes.Equal(got.Body, first[got.ID]) || got.Verified != nil {
					t.Fatalf("the replay of %s differs: %s vs %s (%v)", got.ID, got.Body, first[got.ID], got.Verified)
				}
			}
			for id, c := range counts {
				if c != 4 {
					t.Fatalf("message %s arrived %d times, want 3 failures and 1 replay", id, c)
				}
			}
			if d := deliveries(t, r.st, store.WebhookDeliveryListParams{EndpointID: e.ID}); d[0].Replays != 1 || d[0].Attempts != 1 {
				t.Fatalf("replayed delivery %+v", d[0])
			}
		})
	}
}

// TestHangingReceiverTimesOut has a receiver that never answers: each
// attempt ends at the attempt timeout, the messages die after the limit,
// and a healthy endpoint is served meanwhile.
func TestHangingReceiverTimesOut(t *testing.T) {
	t.Parallel()
	r := newRig(t, storetest.OpenSQLite, 3)
	const timeout = 300 * time.Millisecond
	w := r.webhooks(t, outbound.Config{MaxAttempts: 2, AttemptTimeout: timeout, Concurrency: 2})
	hang := newReceiver(t, func(_ http.ResponseWriter, req *http.Request, _ int) { <-req.Context().Done() })
	ok := newReceiver(t, nil)
	e := hang.add(t, w, outbound.AddParams{Events: []string{rankr.OrderCreated}})
	eOK := ok.add(t, w, outbound.AddParams{Events: []string{rankr.OrderCreated}})
	r.backfill(t)
	run(t, w)
	want := len(wanted(t, r.st, e))
	testwait.UntilWhy(t, 2*time.Minute, "hung messages dead", func() (bool, string) {
		n := countState(t, r.st, e.ID, rankr.DeliveryDead)
		return n == want, fmt.Sprintf("%d of %d dead", n, want)
	})
	testwait.UntilWhy(t, 2*time.Minute, "the healthy endpoint served", func() (bool, string) {
		n := countState(t, r.st, eOK.ID, rankr.DeliveryDelivered)
		return n == want, fmt.Sprintf("%d of %d", n, want)
	})
	for _, d := range deliveries(t, r.st, store.WebhookDeliveryListParams{EndpointID: e.ID}) {
		if d.Attempts != 2 || d.LastStatus != 0 || !strings.Contains(d.LastError, "timed out") {
			t.Fatalf("hung delivery %+v", d)
		}
	}
	if got := len(hang.requests()); got != 2*want {
		t.Fatalf("the hanging receiver got %d requests, want %d", got, 2*want)
	}
}

// twoStores opens the same database twice, as two processes would.
func twoStores(t *testing.T, name string) (store.Store, store.Store) {
	t.Helper()
	open := func(target string) store.Store {
		var s store.Store
		var err error
		if name == "postgres" {
			s, err = postgres.Open(ctx, target)
		} else {
			s, err = sqlite.Open(ctx, target)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	target := filepath.Join(t.TempDir(), "rankr.db")
	if name == "postgres" {
		target = storetest.PostgresURL(t)
	}
	return open(target), open(target)
}

// TestDispatchersNeverSendTwice runs two dispatchers (two processes' worth:
// two connections pools on one PostgreSQL database) on the same
// deliveries: each message is sent once, by one of them. (SQLite is for one
// process; its single writer makes the question moot.)
func TestDispatchersNeverSendTwice(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := twoStores(t, name)
			r := newRigOn(t, a, 30)
			wa := webhooksOn(a, r.vault, outbound.Config{UserAgent: "rankr-webhooks/a", Concurrency: 3})
			wb := webhooksOn(b, r.vault, outbound.Config{UserAgent: "rankr-webhooks/b", Concurrency: 3})
			answer := func(w http.ResponseWriter, _ *http.Request, _ int) {
				time.Sleep(2 * time.Millisecond) // a receiver doing some work, so the dispatchers overlap
				w.WriteHeader(http.StatusAccepted)
			}
			rc1, rc2 := newReceiver(t, answer), newReceiver(t, answer)
			e1 := rc1.add(t, wa, outbound.AddParams{Events: []string{"order.*"}})
			e2 := rc2.add(t, wb, outbound.AddParams{Events: []string{"*"}})
			r.backfill(t)
			run(t, wa)
			run(t, wb)
			total := len(wanted(t, a, e1)) + len(wanted(t, a, e2))
			testwait.UntilWhy(t, 2*time.Minute, "every message delivered", func() (bool, string) {
				n := countState(t, a, e1.ID, rankr.DeliveryDelivered) + countState(t, a, e2.ID, rankr.DeliveryDelivered)
				return n == total, fmt.Sprintf("%d of %d delivered", n, total)
			})
			got := append(rc1.requests(), rc2.requests()...)
			if len(got) != total {
				t.Fatalf("%d requests for %d messages", len(got), total)
			}
			by, seen := map[string]int{}, map[string]bool{}
			for _, g := range got {
				if seen[g.ID] || g.Verified != nil {
					t.Fatalf("message %s sent twice, or unsigned (%v)", g.ID, g.Verified)
				}
				seen[g.ID] = true
				by[g.Header.Get("User-Agent")]++
			}
			t.Logf("%d messages: %v", total, by)
			for _, d := range deliveries(t, a, store.WebhookDeliveryListParams{}) {
				if d.Attempts != 1 {
					t.Fatalf("delivery %s attempted %d times", d.ID, d.Attempts)
				}
			}
		})
	}
}

// TestSecretNeverInClear looks for an endpoint's secret in the database
// files, the logs, the errors recorded and the endpoint as listed.
func TestSecretNeverInClear(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rankr.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := newRigOn(t, st, 5)
	var logs logBuffer
	w := r.webhooks(t, outbound.Config{MaxAttempts: 2, Logger: logs.logger()})
	rc := newReceiver(t, func(w http.ResponseWriter, req *http.Request, _ int) {
		// An unhelpful receiver that echoes what it got into its error.
		http.Error(w, "rejected: "+req.Header.Get("webhook-signature"), http.StatusForbidden)
	})
	e := rc.add(t, w, outbound.AddParams{Events: []string{"*"}})
	secret := rc.secret
	r.backfill(t)
	run(t, w)
	want := len(wanted(t, st, e))
	testwait.UntilWhy(t, 2*time.Minute, "messages dead", func() (bool, string) {
		n := countState(t, st, e.ID, rankr.DeliveryDead)
		return n == want, fmt.Sprintf("%d of %d", n, want)
	})
	key := strings.TrimPrefix(secret, "whsec_")
	raw, _ := outboundKey(secret)
	files := readAll(t, path, path+"-wal")
	for what, hay := range map[string][]byte{"the database files": files, "the logs": []byte(logs.String())} {
		for _, needle := range [][]byte{[]byte(secret), []byte(key), raw} {
			if bytes.Contains(hay, needle) {
				t.Fatalf("the secret is in %s", what)
			}
		}
	}
	for _, d := range deliveries(t, st, store.WebhookDeliveryListParams{}) {
		if strings.Contains(d.LastError, key) {
			t.Fatal("the secret is in an error")
		}
	}
	list, _ := st.WebhookEndpointList(ctx, store.WebhookEndpointListParams{})
	if b := fmt.Sprint(list); strings.Contains(b, key) || slices.ContainsFunc(list, func(e rankr.WebhookEndpoint) bool { return len(e.Secret) == 0 }) {
		t.Fatal("the endpoint lists its secret, or lost it")
	}
}

func readAll(t *testing.T, paths ...string) []byte {
	t.Helper()
	var out []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// outboundKey decodes a secret's key bytes, as a receiver would.
func outboundKey(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
}
