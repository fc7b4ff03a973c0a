package intake_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
)

// host is one process's intake and processor, its clock skewed.
type host struct {
	in   *intake.Intake
	proc *intake.Processor
	srv  *httptest.Server
	key  ed25519.PrivateKey
	skew time.Duration
}

func newHost(t *testing.T, st store.Store, log *applyLog, skew, lease time.Duration) *host {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	h := &host{proc: intake.NewProcessor(st, log.apply, nil), key: priv, skew: skew}
	h.proc.Lease = lease
	h.in = intake.NewIntake(st, intake.Config{Keys: []ed25519.PublicKey{pub}, MaxAge: 2 * time.Hour,
		Now: func() time.Time { return time.Now().Add(skew) }})
	h.in.Feed(h.proc)
	h.in.Start()
	h.srv = httptest.NewServer(h.in)
	t.Cleanup(func() { h.srv.Close(); h.in.Close() })
	return h
}

// send delivers webhooks to the host, stamped with its own clock.
func (h *host) send(t *testing.T, prefix string, n int) {
	t.Helper()
	r := &rig{in: h.in, key: h.key, server: h.srv}
	for i := range n {
		b := body("OrderCreate", fmt.Sprintf("%s%02d", prefix, i), time.Now().Add(h.skew))
		if status, said := r.post(t, b, ghl.SignWebhook(h.key, b)); status != 200 {
			t.Fatalf("webhook %d: %d %s", i, status, said)
		}
	}
}

// TestSkewedProcessorsApplyEachOnce runs two processes on one inbox, on
// hosts whose clocks are an hour behind and an hour ahead. The webhooks the
// one behind received (leased to its own processor) are not taken by the
// one ahead while it holds them; those the one ahead received and never
// applied (it died) are taken by the one behind once their lease ran out.
// Each webhook is applied once.
func TestSkewedProcessorsApplyEachOnce(t *testing.T) {
	t.Parallel()
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			t.Cleanup(func() { st.Close() })
			ctx := context.Background()
			log := &applyLog{applied: map[string]int{}}
			behind := newHost(t, st, log, -time.Hour, 0) // the default lease, 15 s
			ahead := newHost(t, st, log, time.Hour, 100*time.Millisecond)

			behind.send(t, "b", 10)
			if n, err := ahead.proc.Drain(ctx); err != nil || n != 0 {
				t.Fatalf("the processor an hour ahead applied %d webhooks leased to the other (%v)", n, err)
			}
			if n, err := behind.proc.Drain(ctx); err != nil || n != 10 {
				t.Fatalf("the processor an hour behind applied %d of the 10 webhooks it was handed (%v)", n, err)
			}

			ahead.send(t, "a", 10) // and its processor never runs again
			deadline := time.Now().Add(20 * time.Second)
			for {
				if _, err := behind.proc.Drain(ctx); err != nil {
					t.Fatal(err)
				}
				if n, _ := st.InboxPending(ctx); n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the processor an hour behind never took the webhooks whose lease ran out")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if len(log.applied) != 20 {
				t.Fatalf("%d webhooks applied, want 20", len(log.applied))
			}
			for id, n := range log.applied {
				if n != 1 {
					t.Errorf("webhook %s applied %d times", id, n)
				}
			}
		})
	}
}
