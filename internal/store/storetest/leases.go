package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/testwait"
)

// Leases and due times are measured with the database's clock, so the
// tests below give every time a process passes (record times) the clock of
// a host an hour ahead or behind, and lease work for real, short times: a
// test cannot move the database's clock, it waits for it.

// eventually polls cond until it holds, and fails the test if it does not
// within a bound far longer than the short leases it waits out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, 20*time.Second, what, cond)
}

// dbNow reads the database's clock.
func dbNow(t *testing.T, s store.Store) time.Time {
	t.Helper()
	now, err := s.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return now
}

// claimInboxWhen claims until the claim returns webhooks (once a lease has
// run out), and returns them.
func claimInboxWhen(t *testing.T, s store.Store, what string, p store.InboxClaimParams) []rankr.InboxEvent {
	t.Helper()
	var got []rankr.InboxEvent
	eventually(t, what, func() bool {
		var err error
		if got, err = s.InboxClaim(ctx, p); err != nil {
			t.Fatal(err)
		}
		return len(got) > 0
	})
	return got
}

// skewed returns the clocks of hosts an hour behind and an hour ahead.
func skewed() (behind, ahead time.Time) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return now.Add(-time.Hour), now.Add(time.Hour)
}

// testInboxSkewedClocks: a webhook leased on append by a process whose
// clock is an hour behind is not taken by a claimer an hour ahead of it
// while the lease holds; one leased by a process an hour ahead is taken as
// soon as its short lease runs out.
func testInboxSkewedClocks(t *testing.T, s store.Store) {
	behind, ahead := skewed()
	held := inboxEvent("held")
	held.ReceivedAt = behind
	if _, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: []rankr.InboxEvent{held}, Lease: time.Minute, Now: behind}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.InboxClaim(ctx, store.InboxClaimParams{Limit: 10, Lease: time.Minute}); err != nil || len(got) != 0 {
		t.Fatalf("a claimer an hour ahead of the holder took its webhook within the lease: %+v, %v", got, err)
	}
	short := inboxEvent("short")
	short.ReceivedAt = ahead
	if _, err := s.InboxAppend(ctx, store.InboxAppendParams{Events: []rankr.InboxEvent{short}, Lease: 100 * time.Millisecond, Now: ahead}); err != nil {
		t.Fatal(err)
	}
	got := claimInboxWhen(t, s, "a claimer an hour behind the holder takes its webhook once the lease ran out",
		store.InboxClaimParams{Limit: 10, Lease: time.Minute})
	if len(got) != 1 || got[0].WebhookID != "short" || got[0].Attempts != 2 {
		t.Fatalf("claimed %+v, want the short-leased webhook only", got)
	}
}

// testNoticeSkewedClocks: a sender an hour ahead of the one holding a
// notice takes neither it nor its commit; a sender an hour behind the
// others takes a notice as soon as it is due, a lease ran out, or a
// retry's wait is over.
func testNoticeSkewedClocks(t *testing.T, s store.Store) {
	behind, ahead := skewed()
	ids := map[string]string{}
	for _, k := range []string{"held", "committed", "due", "dropped", "retried"} {
		n := notice(k)
		if _, err := s.NoticeCreate(ctx, n); err != nil {
			t.Fatal(err)
		}
		ids[k] = rankr.NoticeID(n.Kind, n.DedupeKey)
	}
	claimID := func(key string, lease time.Duration, at time.Time) (rankr.Notice, error) {
		got, err := s.NoticeClaim(ctx, store.NoticeClaimParams{ID: ids[key], Lease: lease, Now: at})
		if err != nil {
			return rankr.Notice{}, err
		}
		return got[0], nil
	}

	// Held by a sender an hour behind.
	if _, err := claimID("held", time.Minute, behind); err != nil {
		t.Fatalf("a due notice: %v", err)
	}
	committed, err := claimID("committed", time.Minute, behind)
	if err != nil {
		t.Fatalf("a due notice: %v", err)
	}
	if err := s.NoticeCommitting(ctx, store.NoticeCommittingParams{ID: committed.ID, Lease: committed.Lease, MessageID: "m@x",
		For: time.Minute, Now: behind}); err != nil {
		t.Fatal(err)
	}
	if _, err := claimID("held", time.Minute, ahead); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a sender an hour ahead took a held notice: %v", err)
	}
	// The sender behind takes what is due (queued at this process's time).
	if _, err := claimID("due", time.Minute, behind); err != nil {
		t.Fatalf("a sender an hour behind, a due notice: %v", err)
	}
	if got, _ := s.NoticeGet(ctx, committed.ID); got.State != rankr.NoticeCommitting {
		t.Fatalf("a commit within its lease, after a claim an hour ahead: %s (%s)", got.State, got.LastError)
	}

	// A sender an hour ahead dies holding a notice for a short lease.
	if _, err := claimID("dropped", 100*time.Millisecond, ahead); err != nil {
		t.Fatal(err)
	}
	var retaken rankr.Notice
	eventually(t, "a sender an hour behind takes a notice whose lease ran out", func() bool {
		retaken, err = claimID("dropped", time.Minute, behind)
		if err != nil && !errors.Is(err, rankr.ErrConflict) {
			t.Fatal(err)
		}
		return err == nil
	})
	if retaken.Attempts != 2 {
		t.Fatalf("retaken %+v", retaken)
	}

	// A sender an hour ahead fails an attempt and waits a short while.
	n, err := claimID("retried", time.Minute, ahead)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.NoticeFinish(ctx, store.NoticeFinishParams{ID: n.ID, Lease: n.Lease, State: rankr.NoticePending, Error: "421 busy",
		RetryIn: 100 * time.Millisecond, Now: ahead}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a sender an hour behind retries a notice once its wait is over", func() bool {
		_, err := claimID("retried", time.Minute, behind)
		if err != nil && !errors.Is(err, rankr.ErrConflict) {
			t.Fatal(err)
		}
		return err == nil
	})
}

// testWebhookSkewedClocks: deliveries queued by a process an hour ahead are
// due at once for a dispatcher an hour behind; a dispatcher an hour ahead
// takes none that one holds; and the one behind takes what the one ahead
// held once its lease ran out, and retries what it failed once the wait is
// over.
func testWebhookSkewedClocks(t *testing.T, s store.Store) {
	behind, ahead := skewed()
	addEndpoint(t, s, "e1", "", "*")
	upsertOrders(t, s, "L", false, order("L", "o1", at(1), "pending"), order("L", "o2", at(2), "pending"))
	if res, err := s.WebhookFanOut(ctx, store.WebhookFanOutParams{Now: ahead}); err != nil || res.Deliveries != 2 {
		t.Fatalf("fan-out: %+v, %v", res, err)
	}
	claim := func(lease time.Duration, at time.Time) []rankr.WebhookDelivery {
		t.Helper()
		got, err := s.WebhookDeliveryClaim(ctx, store.WebhookDeliveryClaimParams{Limit: 10, Lease: lease, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]rankr.WebhookDelivery, len(got))
		for i, c := range got {
			out[i] = c.Delivery
		}
		return out
	}
	finish := func(d rankr.WebhookDelivery, retryIn time.Duration, at time.Time) {
		t.Helper()
		if err := s.WebhookDeliveryFinish(ctx, store.WebhookDeliveryFinishParams{ID: d.ID, Claim: d.Claim, State: rankr.DeliveryPending,
			Status: 503, Error: "answered 503", RetryIn: retryIn, Now: at}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(ds []rankr.WebhookDelivery) []string {
		out := make([]string, len(ds))
		for i, d := range ds {
			out[i] = d.ID
		}
		slices.Sort(out)
		return out
	}

	held := claim(time.Minute, behind)
	if len(held) != 2 {
		t.Fatalf("a dispatcher an hour behind the fan-out claimed %d of its 2 deliveries", len(held))
	}
	if got := claim(time.Minute, ahead); len(got) != 0 {
		t.Fatalf("a dispatcher an hour ahead took held deliveries: %v", ids(got))
	}

	// The one behind gives d1 up; the one ahead takes it for a short lease
	// and dies.
	d1 := held[0]
	finish(d1, 0, behind)
	if got := claim(100*time.Millisecond, ahead); len(got) != 1 || got[0].ID != d1.ID {
		t.Fatalf("a dispatcher an hour ahead, a due delivery: %v", ids(got))
	}
	var got []rankr.WebhookDelivery
	eventually(t, "a dispatcher an hour behind takes a delivery whose lease ran out", func() bool {
		got = claim(time.Minute, behind)
		return len(got) > 0
	})
	if len(got) != 1 || got[0].ID != d1.ID || got[0].Attempts != 3 {
		t.Fatalf("retaken %+v", got)
	}

	// The one ahead fails an attempt and waits a short while.
	finish(got[0], 0, behind)
	if got := claim(time.Minute, ahead); len(got) != 1 || got[0].ID != d1.ID {
		t.Fatalf("a dispatcher an hour ahead, a due delivery: %v", ids(got))
	} else {
		finish(got[0], 100*time.Millisecond, ahead)
	}
	eventually(t, "a dispatcher an hour behind retries a delivery once its wait is over", func() bool {
		got = claim(time.Minute, behind)
		return len(got) > 0
	})
	if fmt.Sprint(ids(got)) != fmt.Sprint([]string{d1.ID}) {
		t.Fatalf("retried %v, want %s", ids(got), d1.ID)
	}
}
