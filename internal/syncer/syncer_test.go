package syncer_test

import (
	"context"
	"crypto/rand"
	"errors"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/syncer/synctest"
	"github.com/rankr/rankr/internal/vault"
)

var lifted = sandbox.RateLimit{Burst: 1_000_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}

type env struct {
	sb     *sandbox.Server
	url    string
	st     store.Store
	s      *syncer.Syncer
	locs   []sandbox.LocationInfo
	vault  *vault.Vault
	loc    string // the first location
	client *ghl.Client
}

func newEnv(t *testing.T, open storetest.Opener, cfg sandbox.Config, opts syncer.Options) *env {
	t.Helper()
	if cfg.RateLimit == (sandbox.RateLimit{}) {
		cfg.RateLimit = lifted
	}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { ts.Close(); sb.Close() })
	st := open(t)
	t.Cleanup(func() { st.Close() })
	key := make([]byte, vault.KeySize)
	rand.Read(key)
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sb: sb, url: ts.URL, st: st, vault: v, locs: sb.Locations()}
	e.loc = e.locs[0].ID
	for _, l := range e.locs {
		e.connect(t, l.ID, l.Token)
	}
	clients := syncer.NewClients(st, v, ghl.NewGovernor(ghl.Limits{Burst: 1_000_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}),
		ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}),
		ghl.WithAttemptTimeout(5*time.Second))
	e.s = syncer.New(st, clients, opts)
	return e
}

func (e *env) connect(t *testing.T, loc, token string) {
	t.Helper()
	sealed, err := e.vault.Seal([]byte(token), syncer.CredentialContext(loc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ConnectionUpsert(context.Background(), store.ConnectionUpsertParams{LocationID: loc, BaseURL: e.url,
		Credential: sealed, CredentialKind: "pit"}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) truth(t *testing.T) sandbox.Truth {
	t.Helper()
	tr, err := e.sb.Truth("")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// backfillAll backfills every location to the end, calling again after a
// failure or a slice as the job queue would (bounded, so a bug cannot hang).
func (e *env) backfillAll(t *testing.T) {
	t.Helper()
	for _, l := range e.locs {
		for attempt := 0; ; attempt++ {
			done, err := e.s.Backfill(context.Background(), l.ID)
			if done && err == nil {
				break
			}
			if attempt > 200 {
				t.Fatalf("backfill of %s did not finish: %v", l.ID, err)
			}
			var cerr *syncer.ConnectionError
			if errors.As(err, &cerr) {
				t.Fatal(err)
			}
		}
	}
}

func forEachStore(t *testing.T, fn func(t *testing.T, open storetest.Opener)) {
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open)
		})
	}
}

func TestBackfillMatchesTruth(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 31, Locations: 2, Orders: 250}, syncer.Options{})
		e.backfillAll(t)
		synctest.MatchesTruth(t, e.st, e.truth(t), synctest.Options{IgnoreDeleted: true})

		// A second backfill call is a no-op, and the store holds one
		// order.created per order.
		before := e.s.Clients().Calls(e.loc)
		if done, err := e.s.Backfill(context.Background(), e.loc); !done || err != nil {
			t.Fatalf("finished backfill: %v, %v", done, err)
		}
		if after := e.s.Clients().Calls(e.loc); after != before {
			t.Fatalf("a finished backfill made %d calls", after-before)
		}
	})
}

func TestBackfillThroughFaults(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 32, Locations: 1, Orders: 200}, syncer.Options{})
		// 20% 5xx, dropped connections, scattered 429s, added latency, and a
		// 429 storm to start with.
		if err := e.sb.SetFaults(sandbox.Faults{ErrorRate: 0.2, DropRate: 0.05, Rate429: 0.05, StormFor: sandbox.Duration(500 * time.Millisecond),
			Latency: sandbox.Duration(time.Millisecond), LatencyJitter: sandbox.Duration(3 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		e.backfillAll(t)
		if err := e.sb.SetFaults(sandbox.Faults{}); err != nil {
			t.Fatal(err)
		}
		f := e.sb.Stats().Faults
		if f["5xx"] == 0 || f["drop"] == 0 || f["429"] == 0 {
			t.Fatalf("faults were not injected: %v", f)
		}
		synctest.MatchesTruth(t, e.st, e.truth(t), synctest.Options{IgnoreDeleted: true})
	})
}

func TestBackfillResumesAfterInterruptions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 33, Orders: 300}, syncer.Options{Workers: 2})
		// Cut the backfill off at many points: a context cancelled mid-page
		// leaves half-written work that the next call must finish, without
		// duplicates or gaps.
		for i := 0; ; i++ {
			// Cuts start a few milliseconds in and grow by 5% each time,
			// so the backfill is interrupted often, at every stage, and
			// still gets to the end however slow the machine.
			cut := time.Duration(float64(3*time.Millisecond) * math.Pow(1.05, float64(i)))
			ctx, cancel := context.WithTimeout(context.Background(), cut)
			done, _ := e.s.Backfill(ctx, e.loc)
			cancel()
			if done {
				break
			}
			if i > 300 {
				t.Fatal("the backfill never finished")
			}
		}
		synctest.MatchesTruth(t, e.st, e.truth(t), synctest.Options{IgnoreDeleted: true})
		events, err := e.st.EventList(context.Background(), store.EventListParams{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		created := map[string]int{}
		for len(events) > 0 {
			for _, ev := range events {
				if ev.Kind == rankr.OrderCreated {
					created[ev.RecordID]++
				}
			}
			events, _ = e.st.EventList(context.Background(), store.EventListParams{AfterSeq: events[len(events)-1].Seq, Limit: 1000})
		}
		for id, n := range created {
			if n != 1 {
				t.Fatalf("order %s created %d times", id, n)
			}
		}
	})
}

func TestActivityDuringBackfillThenPoll(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		// The window must reach back as far as the activity does: the
		// sandbox changes orders among its most recent few hundred.
		e := newEnv(t, open, sandbox.Config{Seed: 34, Locations: 2, Orders: 200},
			syncer.Options{PollWindow: 400 * 24 * time.Hour, Slice: 50 * time.Millisecond})
		e.sb.SetActivity(60)
		e.backfillAll(t)
		e.sb.SetActivity(0)
		grown := 0
		for _, l := range e.truth(t).Locations {
			grown += len(l.Orders) - 200
		}
		if grown == 0 {
			t.Fatal("no activity happened during the backfill")
		}
		for _, l := range e.locs {
			if err := e.s.Poll(context.Background(), l.ID); err != nil {
				t.Fatal(err)
			}
		}
		synctest.MatchesTruth(t, e.st, e.truth(t), synctest.Options{IgnoreDeleted: true})
	})
}

func TestPollSpendsCallsOnlyOnChanges(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 35, Orders: 250}, syncer.Options{PollWindow: 400 * 24 * time.Hour})
		e.backfillAll(t)
		details := func() int { return e.sb.Stats().Requests[e.loc]["GetOrder 200"] }
		before := details()
		if err := e.s.Poll(context.Background(), e.loc); err != nil {
			t.Fatal(err)
		}
		if got := details(); got != before {
			t.Fatalf("a poll with nothing changed fetched %d order details", got-before)
		}
		changes, err := e.sb.Step(5, e.loc, "order.paid")
		if err != nil || len(changes) == 0 {
			t.Fatalf("step: %v, %v", changes, err)
		}
		before = details()
		if err := e.s.Poll(context.Background(), e.loc); err != nil {
			t.Fatal(err)
		}
		if got := details() - before; got != len(changes) {
			t.Fatalf("%d changed orders, %d details fetched", len(changes), got)
		}
		synctest.MatchesTruth(t, e.st, e.truth(t), synctest.Options{IgnoreDeleted: true})
	})
}

func TestFullWalkFindsDeletions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 36, Orders: 150}, syncer.Options{})
		e.backfillAll(t)
		tr := e.truth(t).Locations[0]
		for kind, id := range map[string]string{"order": tr.Orders[3].Item.ID, "transaction": tr.Transactions[5].Item.ID,
			"invoice": tr.Invoices[0].Invoice.ID} {
			if err := e.sb.Delete(e.loc, kind, id); err != nil {
				t.Fatal(err)
			}
		}
		for {
			done, err := e.s.FullWalk(context.Background(), e.loc)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				break
			}
		}
		synctest.MatchesTruth(t, e.st, e.truth(t), synctest.Options{})
		if got := e.s.Progress(e.loc).Deleted.Load(); got != 3 {
			t.Fatalf("%d deletions found, want 3", got)
		}
	})
}

func TestRefreshFetchesOneRecord(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 37, Orders: 80}, syncer.Options{})
		e.backfillAll(t)
		changes, err := e.sb.Step(1, e.loc, "order.paid")
		if err != nil || len(changes) != 1 {
			t.Fatalf("step: %v, %v", changes, err)
		}
		id := changes[0].RecordID
		ctx := context.Background()
		if err := e.s.Refresh(ctx, e.loc, syncer.RefreshOrder, id); err != nil {
			t.Fatal(err)
		}
		if err := e.s.Refresh(ctx, e.loc, syncer.RefreshOrderTransactions, id); err != nil {
			t.Fatal(err)
		}
		got, err := e.st.OrderGet(ctx, e.loc, id)
		if err != nil {
			t.Fatal(err)
		}
		var want sandbox.OrderTruth
		for _, o := range e.truth(t).Locations[0].Orders {
			if o.Item.ID == id {
				want = o
			}
		}
		if got.Status != string(want.Item.Status) || got.PaymentStatus != want.PaymentStatus || !got.UpdatedAt.Equal(want.Item.UpdatedAt.Time) {
			t.Fatalf("after refresh: %s/%s at %v, want %s/%s at %v", got.Status, got.PaymentStatus, got.UpdatedAt,
				want.Item.Status, want.PaymentStatus, want.Item.UpdatedAt)
		}
		if err := e.s.Refresh(ctx, e.loc, "coupon", "x"); !errors.Is(err, rankr.ErrInvalid) {
			t.Fatalf("unknown kind: %v", err)
		}
	})
}

func TestConnectionErrorsStopTheConnection(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 38, Locations: 2, Orders: 20}, syncer.Options{})
		ctx := context.Background()
		// A token without the transactions scope.
		if err := e.sb.AddToken(e.locs[0].ID, "pit-orders-only", ghl.ScopeOrdersRead); err != nil {
			t.Fatal(err)
		}
		e.connect(t, e.locs[0].ID, "pit-orders-only")
		_, err := e.s.Backfill(ctx, e.locs[0].ID)
		var cerr *syncer.ConnectionError
		if !errors.As(err, &cerr) || cerr.State != rankr.StateMissingScope {
			t.Fatalf("missing scope: %v", err)
		}
		conn, _ := e.st.ConnectionGet(ctx, e.locs[0].ID)
		if conn.State != rankr.StateMissingScope || !strings.Contains(conn.StateMessage, "missing scope payments/transactions.readonly") {
			t.Fatalf("connection state %s: %q", conn.State, conn.StateMessage)
		}
		// Another pass does not call GHL again in a loop.
		calls := e.s.Clients().Calls(e.locs[0].ID)
		if _, err := e.s.Backfill(ctx, e.locs[0].ID); !errors.As(err, &cerr) {
			t.Fatalf("second pass: %v", err)
		}
		if e.s.Clients().Calls(e.locs[0].ID) != calls {
			t.Fatal("a stopped connection still calls GHL")
		}

		// A revoked token.
		e.sb.RevokeToken(e.locs[1].Token)
		_, err = e.s.Backfill(ctx, e.locs[1].ID)
		if !errors.As(err, &cerr) || cerr.State != rankr.StateTokenRejected {
			t.Fatalf("revoked token: %v", err)
		}
		conn, _ = e.st.ConnectionGet(ctx, e.locs[1].ID)
		if conn.State != rankr.StateTokenRejected || strings.Contains(conn.StateMessage, e.locs[1].Token) {
			t.Fatalf("connection state %s: %q", conn.State, conn.StateMessage)
		}
	})
}
