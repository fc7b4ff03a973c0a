package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/testwait"
)

// countingStore counts the status's counting: full counts (Counts, or
// CountsSince counting the records) and updates from the change feed.
type countingStore struct {
	store.Store
	mu                      sync.Mutex
	counts, recounts, moves int
}

func (s *countingStore) Counts(ctx context.Context, loc string) (rankr.Counts, error) {
	s.mu.Lock()
	s.counts++
	s.mu.Unlock()
	return s.Store.Counts(ctx, loc)
}

func (s *countingStore) CountsSince(ctx context.Context, from store.AllCounts) (store.AllCounts, error) {
	c, err := s.Store.CountsSince(ctx, from)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Recounted {
		s.recounts++
	} else {
		s.moves++
	}
	return c, err
}

func (s *countingStore) calls() (counts, recounts, moves int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts, s.recounts, s.moves
}

// The status's counts are kept from the change feed, not counted anew:
// after a sync, webhooks, deletions found by a walk, and every way a record
// comes, goes and comes back, they equal a fresh count of the records.
func TestStatusCountsStayExact(t *testing.T) {
	t.Parallel()
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			sb, url := startSandbox(t, sandbox.Config{Seed: 81, Locations: 2, Orders: 40})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			d := openDaemon(t, db(t), daemon.Config{Listener: ln,
				Sync: syncer.Options{PollWindow: 400 * 24 * time.Hour},
				Jobs: jobs.Config{PollInterval: 100 * time.Millisecond, WalkInterval: time.Hour}})
			connectAll(t, d, sb, url)
			raw := d.Store
			exact := func(when string) {
				t.Helper()
				st, err := d.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range st {
					fresh, err := raw.Counts(ctx, s.Connection.LocationID)
					if err != nil {
						t.Fatal(err)
					}
					if s.Counts != fresh {
						t.Errorf("%s: %s's counts are %+v, the records %+v", when, s.Connection.LocationID, s.Counts, fresh)
					}
				}
			}
			exact("before anything") // the counts start here, empty

			// A sync, with webhooks coming in as the sandbox changes.
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- d.Run(runCtx) }()
			waitBackfilled(t, d, sb)
			sb.SetWebhookURL("http://" + ln.Addr().String() + daemon.WebhookPath)
			if _, err := sb.Step(40, "", ""); err != nil {
				t.Fatal(err)
			}
			testwait.Until(t, 3*time.Minute, "every webhook delivered and processed", func() bool {
				for _, del := range sb.Deliveries() {
					if del.State == sandbox.StatePending {
						return false
					}
				}
				n, _ := d.Store.InboxPending(ctx)
				return n == 0
			})
			stop()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			if len(sb.Deliveries()) == 0 {
				t.Fatal("the sandbox sent no webhooks")
			}
			counting := &countingStore{Store: d.Store}
			d.Store = counting // from here, every count must come from the feed
			exact("after the sync and the webhooks")

			// Deletions, found by walking.
			truth, _ := sb.Truth("")
			for _, l := range truth.Locations {
				deleteSome(t, sb, l)
			}
			for _, l := range sb.Locations() {
				for done := false; !done; {
					if done, err = d.Syncer.FullWalk(ctx, l.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			exact("after a walk found deletions")

			// Every way the records of a location come and go, some in one
			// refresh, some in several.
			const loc = "L-counts"
			if _, err := d.Connect(ctx, loc, "Counts", "http://127.0.0.1:1", "token"); err != nil {
				t.Fatal(err)
			}
			at := time.Now().UTC().Truncate(time.Millisecond)
			fulfill(t, d.Store, loc, "o1", "f1") // before its order
			exact("a fulfillment before its order")
			upsertOrder(t, d.Store, loc, "o1", at)
			upsertOrder(t, d.Store, loc, "o2", at)
			fulfill(t, d.Store, loc, "o2", "f2", "f3")
			exact("orders and fulfillments")
			markDeleted(t, d.Store, loc, rankr.RecordOrder, "o2")
			fulfill(t, d.Store, loc, "o2", "f4") // to a deleted order
			exact("an order deleted, with fulfillments before and after")
			upsertOrder(t, d.Store, loc, "o2", at) // the same version: restored as it was
			markDeleted(t, d.Store, loc, rankr.RecordOrder, "o1")
			fulfill(t, d.Store, loc, "o1", "f5")
			upsertOrder(t, d.Store, loc, "o1", at.Add(time.Minute)) // a newer version: restored, changed
			upsertOrder(t, d.Store, loc, "o3", at)
			markDeleted(t, d.Store, loc, rankr.RecordOrder, "o3")
			exact("orders restored, deleted and created in one refresh")
			upsertTxn(t, d.Store, loc, "t1", "o1", at)
			upsertTxn(t, d.Store, loc, "t2", "o2", at)
			markDeleted(t, d.Store, loc, rankr.RecordTransaction, "t1")
			exact("transactions created and deleted")
			upsertTxn(t, d.Store, loc, "t1", "o1", at.Add(time.Minute))
			exact("a transaction restored")

			if counts, recounts, _ := counting.calls(); counts != 0 || recounts != 0 {
				t.Fatalf("the status counted the records (Counts %d times, CountsSince %d times)", counts, recounts)
			}
		})
	}
}

// deleteSome deletes, in the sandbox, an order with fulfillments, an order
// without, a transaction, a subscription and an invoice, where it has them.
func deleteSome(t *testing.T, sb *sandbox.Server, l sandbox.LocationTruth) {
	t.Helper()
	del := func(kind, id string) {
		if err := sb.Delete(l.ID, kind, id); err != nil {
			t.Fatal(err)
		}
	}
	var with, without bool
	for _, o := range l.Orders {
		switch {
		case o.Deleted:
		case len(o.Fulfillments) > 0 && !with:
			with = true
			del("order", o.Item.ID)
		case len(o.Fulfillments) == 0 && !without:
			without = true
			del("order", o.Item.ID)
		}
	}
	if len(l.Transactions) > 0 {
		del("transaction", l.Transactions[0].Item.ID)
	}
	if len(l.Subscriptions) > 0 {
		del("subscription", l.Subscriptions[0].Item.ID)
	}
	if len(l.Invoices) > 0 {
		del("invoice", l.Invoices[0].Invoice.ID)
	}
}

func upsertOrder(t *testing.T, st store.Store, loc, id string, updated time.Time) {
	t.Helper()
	o := rankr.Order{ID: id, LocationID: loc, Amount: 1000, Currency: "USD", Status: "completed", FulfillmentStatus: "unfulfilled",
		CreatedAt: updated, UpdatedAt: updated, RawSummary: json.RawMessage(fmt.Sprintf(`{"_id":%q}`, id))}
	if _, err := st.OrderUpsert(context.Background(), store.OrderUpsertParams{LocationID: loc,
		Orders: []store.OrderVersion{{Order: o}}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func fulfill(t *testing.T, st store.Store, loc, orderID string, ids ...string) {
	t.Helper()
	p := store.FulfillmentSyncParams{LocationID: loc, OrderID: orderID, OrderUpdatedAt: time.Now(), Now: time.Now()}
	for _, id := range ids {
		p.Fulfillments = append(p.Fulfillments, rankr.Fulfillment{ID: id, LocationID: loc, OrderID: orderID,
			CreatedAt: time.Now(), UpdatedAt: time.Now(), Raw: json.RawMessage(fmt.Sprintf(`{"_id":%q}`, id))})
	}
	if _, err := st.FulfillmentSync(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func upsertTxn(t *testing.T, st store.Store, loc, id, orderID string, updated time.Time) {
	t.Helper()
	x := rankr.Transaction{ID: id, LocationID: loc, EntityType: "order", EntityID: orderID, OrderID: orderID, Amount: 1000,
		Currency: "USD", Status: "succeeded", CreatedAt: updated, UpdatedAt: updated, Raw: json.RawMessage(fmt.Sprintf(`{"_id":%q}`, id))}
	if _, err := st.TransactionUpsert(context.Background(), store.TransactionUpsertParams{LocationID: loc,
		Transactions: []rankr.Transaction{x}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func markDeleted(t *testing.T, st store.Store, loc, recordType, id string) {
	t.Helper()
	if err := st.RecordMarkDeleted(context.Background(), store.MarkDeletedParams{LocationID: loc, RecordType: recordType, ID: id}); err != nil {
		t.Fatal(err)
	}
}

// Open status pages share one status, and its counts cost what changed:
// however many pages refresh, the records are counted once, at the start.
func TestStatusPagesShareOneCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDaemon(t, "sqlite:"+filepath.Join(t.TempDir(), "rankr.db"), daemon.Config{StatusInterval: time.Hour})
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 3 {
		loc := fmt.Sprintf("L%d", i)
		if _, err := d.Connect(ctx, loc, loc, "http://127.0.0.1:1", "token"); err != nil {
			t.Fatal(err)
		}
		upsertOrder(t, d.Store, loc, "o1", at)
	}
	key := ownerKey(t, d)
	counting := &countingStore{Store: d.Store}
	d.Store = counting
	h := d.Handler()

	// Five pages open, each refreshing four times.
	const pages, refreshes = 5, 4
	var wg sync.WaitGroup
	for range pages {
		wg.Go(func() {
			for range refreshes {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, authed("GET", "/api/status", key))
				var body struct {
					Locations []struct{ Counts rankr.Counts } `json:"locations"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK || len(body.Locations) != 3 ||
					body.Locations[0].Counts.Orders != 1 {
					t.Errorf("status: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
	wg.Wait()
	if counts, recounts, moves := counting.calls(); counts != 0 || recounts != 1 || moves != 0 {
		t.Fatalf("%d pages refreshing %d times: Counts %d times, the records counted %d times, the feed read %d times; want the records counted once",
			pages, refreshes, counts, recounts, moves)
	}

	// Each refresh after the first reads only what changed.
	for i := range refreshes {
		upsertOrder(t, counting.Store, "L0", fmt.Sprintf("new%d", i), at)
		st, err := d.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st[0].Counts.Orders != 2+i {
			t.Fatalf("after %d new orders, the status counts %d", i+1, st[0].Counts.Orders)
		}
	}
	if counts, recounts, moves := counting.calls(); counts != 0 || recounts != 1 || moves != refreshes {
		t.Fatalf("%d refreshes: Counts %d times, the records counted %d times, the feed read %d times", refreshes, counts, recounts, moves)
	}
}

// A process starting on a database whose counts another saved goes on
// from them through the change feed: it does not count every record again.
func TestStatusStartsFromSavedCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := "sqlite:" + filepath.Join(t.TempDir(), "rankr.db")
	at := time.Now().UTC().Truncate(time.Millisecond)
	first := openDaemon(t, db, daemon.Config{})
	if _, err := first.Connect(ctx, "L0", "L0", "http://127.0.0.1:1", "token"); err != nil {
		t.Fatal(err)
	}
	upsertOrder(t, first.Store, "L0", "o1", at)
	if _, err := first.Status(ctx); err != nil { // counts the records, and saves them
		t.Fatal(err)
	}
	upsertOrder(t, first.Store, "L0", "o2", at) // after the save
	first.Close()

	again := openDaemon(t, db, daemon.Config{})
	counting := &countingStore{Store: again.Store}
	again.Store = counting
	st, err := again.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Counts.Orders != 2 {
		t.Fatalf("status after a restart: %+v", st)
	}
	if _, recounts, moves := counting.calls(); recounts != 0 || moves != 1 {
		t.Fatalf("after a restart the records were counted %d times, the feed read %d times; want the feed read once from the saved counts", recounts, moves)
	}
}
