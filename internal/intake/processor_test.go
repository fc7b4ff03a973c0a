package intake_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
)

// claimCounter counts the webhooks a store hands out through InboxClaim.
type claimCounter struct {
	store.Store
	claimed atomic.Int64
}

func (c *claimCounter) InboxClaim(ctx context.Context, p store.InboxClaimParams) ([]rankr.InboxEvent, error) {
	evs, err := c.Store.InboxClaim(ctx, p)
	c.claimed.Add(int64(len(evs)))
	return evs, err
}

// applyLog records how often each webhook was applied, and in which order.
type applyLog struct {
	mu      sync.Mutex
	applied map[string]int
	seqs    []int64
}

func (l *applyLog) apply(_ context.Context, evs []rankr.InboxEvent) ([]intake.Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]intake.Result, len(evs))
	for i, ev := range evs {
		l.applied[ev.WebhookID]++
		l.seqs = append(l.seqs, ev.Seq)
		out[i].Outcome = "ok"
	}
	return out, nil
}

// fedRig is an intake feeding proc, whose store counts claims.
func fedRig(t *testing.T, proc func(store.Store) *intake.Processor) (*rig, *claimCounter, *intake.Processor) {
	t.Helper()
	st := &claimCounter{Store: storetest.OpenSQLite(t)}
	p := proc(st)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	in := intake.NewIntake(st, intake.Config{Keys: []ed25519.PublicKey{pub}, Now: func() time.Time { return now }})
	in.Feed(p)
	in.Start()
	srv := httptest.NewServer(in)
	t.Cleanup(func() { srv.Close(); in.Close() })
	return &rig{st: st, in: in, key: priv, server: srv}, st, p
}

// sendAll sends n webhooks from 5 senders, so that the intake stores them
// in batches of at most 5.
func sendAll(t *testing.T, r *rig, n int) {
	t.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if status, said := r.signed(t, body("OrderCreate", fmt.Sprintf("f%03d", i), now)); status != 200 {
					t.Errorf("webhook %d: %d %s", i, status, said)
				}
			}
		}()
	}
	wg.Wait()
}

func waitProcessed(t *testing.T, st store.Store) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := st.InboxPending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhooks still unprocessed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The webhooks its own intake stored reach the processor from memory; once
// it holds too many, the next ones are stored unleased and claimed. Each is
// applied once either way, and all in the order they were stored.
func TestProcessorTakesFedWebhooksFromMemory(t *testing.T) {
	t.Parallel()
	log := &applyLog{applied: map[string]int{}}
	r, st, p := fedRig(t, func(st store.Store) *intake.Processor {
		p := intake.NewProcessor(st, log.apply, nil)
		p.MaxHanded = 10
		return p
	})
	// Everything is stored before the processor runs: 6 to 10 wait in
	// memory (batches hold at most 5), the other 40 to 44 only in the inbox.
	sendAll(t, r, 50)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitProcessed(t, st)
	cancel()
	<-done

	if len(log.applied) != 50 {
		t.Fatalf("%d webhooks applied, want 50", len(log.applied))
	}
	for id, n := range log.applied {
		if n != 1 {
			t.Fatalf("webhook %s applied %d times", id, n)
		}
	}
	if c := st.claimed.Load(); c < 40 || c > 44 {
		t.Fatalf("%d of 50 webhooks were claimed from the inbox; want the ones beyond the 10 held in memory", c)
	}
	if !slices.IsSorted(log.seqs) {
		t.Fatalf("webhooks applied out of order: %v", log.seqs)
	}
}

// A handed webhook the processor only gets to late in its lease is left to
// be claimed when the lease ends rather than applied while another
// processor may claim it too.
func TestHandedWebhooksLateInTheirLeaseAreClaimedInstead(t *testing.T) {
	t.Parallel()
	log := &applyLog{applied: map[string]int{}}
	r, st, p := fedRig(t, func(st store.Store) *intake.Processor {
		p := intake.NewProcessor(st, log.apply, nil)
		p.Lease, p.Idle = 900*time.Millisecond, 20*time.Millisecond
		return p
	})
	sendAll(t, r, 5)
	// Every batch was stored before this: once 700 ms have passed on the
	// database's clock (this host's), less than a third of their lease is left.
	from, err := st.Now(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for {
		at, err := st.Now(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if at.Sub(from) >= 700*time.Millisecond {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	waitProcessed(t, st)
	if c := st.claimed.Load(); c != 5 {
		t.Fatalf("%d of 5 webhooks were claimed from the inbox, want all: they were held too long", c)
	}
	for id, n := range log.applied {
		if n != 1 {
			t.Fatalf("webhook %s applied %d times", id, n)
		}
	}
}

// A processor that was handed webhooks and died leaves them to its lease;
// then another claims them.
func TestHandedWebhooksOutliveTheirProcessor(t *testing.T) {
	t.Parallel()
	r, st, _ := fedRig(t, func(st store.Store) *intake.Processor {
		p := intake.NewProcessor(st, func(context.Context, []rankr.InboxEvent) ([]intake.Result, error) {
			panic("the dead processor never runs")
		}, nil)
		p.Lease = 2 * time.Second
		return p
	})
	sendAll(t, r, 5)
	log := &applyLog{applied: map[string]int{}}
	next := intake.NewProcessor(st, log.apply, nil)
	next.Idle = 20 * time.Millisecond
	if n, err := next.Drain(context.Background()); err != nil || n != 0 {
		t.Fatalf("webhooks leased to another processor were taken within the lease: %d, %v", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go next.Run(ctx)
	waitProcessed(t, st)
	if len(log.applied) != 5 {
		t.Fatalf("applied %v", log.applied)
	}
}

// A graceful stop applies what the processor was handed before returning.
func TestProcessorFinishesHandedWebhooksOnStop(t *testing.T) {
	t.Parallel()
	log := &applyLog{applied: map[string]int{}}
	r, st, p := fedRig(t, func(st store.Store) *intake.Processor {
		return intake.NewProcessor(st, log.apply, nil)
	})
	sendAll(t, r, 20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stopped before it ever looked
	if err := p.Run(ctx); err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}
	if n, _ := st.InboxPending(context.Background()); n != 0 || len(log.applied) != 20 {
		t.Fatalf("after a graceful stop: %d pending, %d applied", n, len(log.applied))
	}
}
