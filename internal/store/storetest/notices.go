package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

func notice(key string) rankr.Notice {
	return rankr.Notice{LocationID: "L", Kind: rankr.NoticeFulfillment, DedupeKey: key, Recipient: "ada@example.com",
		Payload: json.RawMessage(`{"orderId":"o1"}`)}
}

func claimOne(t *testing.T, s store.Store, p store.NoticeClaimParams) rankr.Notice {
	t.Helper()
	got, err := s.NoticeClaim(ctx, p)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim %+v: %+v, %v", p, got, err)
	}
	return got[0]
}

func testNotices(t *testing.T, s store.Store) {
	created, err := s.NoticeCreate(ctx, notice("f1"))
	if err != nil || !created {
		t.Fatalf("create: %v, %v", created, err)
	}
	again := notice("f1")
	again.Recipient = "someone@else.example"
	if created, err := s.NoticeCreate(ctx, again); err != nil || created {
		t.Fatalf("a second notice for the same fulfillment: %v, %v", created, err)
	}
	if _, err := s.NoticeCreate(ctx, rankr.Notice{Kind: rankr.NoticeFulfillment, DedupeKey: "x"}); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("a notice without recipient: %v", err)
	}
	list, err := s.NoticeList(ctx, store.ListParams{LocationID: "L"})
	if err != nil || len(list) != 1 || list[0].Recipient != "ada@example.com" || list[0].State != rankr.NoticePending {
		t.Fatalf("list %+v, %v", list, err)
	}
	id := list[0].ID

	now := time.Now().UTC().Truncate(time.Millisecond)
	n := claimOne(t, s, store.NoticeClaimParams{Lease: time.Minute})
	if n.ID != id || n.State != rankr.NoticeSending || n.Attempts != 1 || n.Lease == "" || string(n.Payload) != `{"orderId":"o1"}` {
		t.Fatalf("claimed %+v", n)
	}
	if more, err := s.NoticeClaim(ctx, store.NoticeClaimParams{}); err != nil || len(more) != 0 {
		t.Fatalf("a held notice was claimed again: %+v, %v", more, err)
	}
	// A transient failure: due again once the wait given is over, by the
	// database's clock.
	const wait = 100 * time.Millisecond
	before := dbNow(t, s)
	if err := s.NoticeFinish(ctx, store.NoticeFinishParams{ID: id, Lease: n.Lease, State: rankr.NoticePending, Error: "421 busy",
		RetryIn: wait, Now: now}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.NoticeGet(ctx, id); got.NextAttemptAt.Before(before.Add(wait)) || got.NextAttemptAt.After(dbNow(t, s).Add(wait)) {
		t.Fatalf("due again at %v, want %v after the database's clock at the finish (%v)", got.NextAttemptAt, wait, before)
	}
	eventually(t, "the notice is due again", func() bool {
		got, err := s.NoticeClaim(ctx, store.NoticeClaimParams{ID: id, Lease: time.Minute})
		if err != nil && !errors.Is(err, rankr.ErrConflict) {
			t.Fatal(err)
		}
		if err == nil {
			n = got[0]
		}
		return err == nil
	})
	if n.Attempts != 2 || n.LastError != "421 busy" {
		t.Fatalf("second claim %+v", n)
	}
	if err := s.NoticeCommitting(ctx, store.NoticeCommittingParams{ID: id, Lease: "not-mine", MessageID: "m@x", For: time.Hour}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("committing without the lease: %v", err)
	}
	if err := s.NoticeCommitting(ctx, store.NoticeCommittingParams{ID: id, Lease: n.Lease, MessageID: "rankr-" + id + "@example.com",
		For: time.Minute, Now: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.NoticeFinish(ctx, store.NoticeFinishParams{ID: id, Lease: n.Lease, State: rankr.NoticeSent, Now: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Finishing twice: the lease is gone.
	if err := s.NoticeFinish(ctx, store.NoticeFinishParams{ID: id, Lease: n.Lease, State: rankr.NoticeSent}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("finished twice: %v", err)
	}
	got, err := s.NoticeGet(ctx, id)
	if err != nil || got.State != rankr.NoticeSent || got.SentAt.IsZero() || got.MessageID != "rankr-"+id+"@example.com" || got.Lease != "" {
		t.Fatalf("sent %+v, %v", got, err)
	}
	if _, err := s.NoticeClaim(ctx, store.NoticeClaimParams{ID: id}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a sent notice was claimed: %v", err)
	}
	if err := s.NoticeRetry(ctx, id, now); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a sent notice was made pending: %v", err)
	}
	if _, err := s.NoticeGet(ctx, "nope"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing notice: %v", err)
	}

	// A permanent refusal ends it failed; an operator may send it again.
	if _, err := s.NoticeCreate(ctx, notice("f2")); err != nil {
		t.Fatal(err)
	}
	n2 := claimOne(t, s, store.NoticeClaimParams{Now: now.Add(2 * time.Minute)}) // Now: a record time only
	if err := s.NoticeFinish(ctx, store.NoticeFinishParams{ID: n2.ID, Lease: n2.Lease, State: rankr.NoticeFailed, Error: "550 no such user"}); err != nil {
		t.Fatal(err)
	}
	if err := s.NoticeRetry(ctx, n2.ID, now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := claimOne(t, s, store.NoticeClaimParams{Now: now.Add(3 * time.Minute)}); n.ID != n2.ID || n.Attempts != 2 {
		t.Fatalf("retried %+v", n)
	}
	counts, err := s.NoticeCounts(ctx, "L")
	if err != nil || counts[rankr.NoticeSent] != 1 || counts[rankr.NoticeSending] != 1 {
		t.Fatalf("counts %v, %v", counts, err)
	}
	wantKinds(t, Events(t, s, "L"), rankr.EventNoticeQueued, rankr.EventNoticeSent, rankr.EventNoticeQueued,
		rankr.EventNoticeFailed, rankr.EventNoticeRetry)
}

// testNoticeLeases: a sender that dies before committing leaves a notice
// that is sent later; one that dies (or loses the server) while committing
// leaves it unknown, and it is never claimed again.
func testNoticeLeases(t *testing.T, s store.Store) {
	for _, k := range []string{"f1", "f2"} {
		if _, err := s.NoticeCreate(ctx, notice(k)); err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.NoticeClaim(ctx, store.NoticeClaimParams{Lease: 100 * time.Millisecond})
	if err != nil || len(first) != 2 {
		t.Fatalf("claim %+v, %v", first, err)
	}
	byKey := map[string]rankr.Notice{}
	for _, n := range first {
		byKey[n.DedupeKey] = n
	}
	// f1: the sender dies before committing. After the lease, another
	// sender takes it; the first can no longer commit.
	// f2: the sender commits, then dies.
	f1, f2 := byKey["f1"], byKey["f2"]
	if err := s.NoticeCommitting(ctx, store.NoticeCommittingParams{ID: f2.ID, Lease: f2.Lease, MessageID: "m2@x",
		For: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var second []rankr.Notice
	eventually(t, "both leases ran out", func() bool {
		got, err := s.NoticeClaim(ctx, store.NoticeClaimParams{Lease: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		second = append(second, got...)
		n, _ := s.NoticeGet(ctx, f2.ID)
		return len(second) > 0 && n.State == rankr.NoticeUnknown
	})
	if len(second) != 1 || second[0].ID != f1.ID || second[0].Attempts != 2 || second[0].Lease == f1.Lease {
		t.Fatalf("after the leases: %+v", second)
	}
	if err := s.NoticeCommitting(ctx, store.NoticeCommittingParams{ID: f1.ID, Lease: f1.Lease, MessageID: "m1@x", For: time.Minute}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a sender that lost its lease committed: %v", err)
	}
	got, _ := s.NoticeGet(ctx, f2.ID)
	if got.State != rankr.NoticeUnknown || got.LastError == "" || got.MessageID != "m2@x" {
		t.Fatalf("a notice left committing: %+v", got)
	}
	for range 3 {
		if more, _ := s.NoticeClaim(ctx, store.NoticeClaimParams{}); slices.ContainsFunc(more, func(n rankr.Notice) bool { return n.ID == f2.ID }) {
			t.Fatal("an unknown notice was claimed")
		}
		if _, err := s.NoticeClaim(ctx, store.NoticeClaimParams{ID: f2.ID}); !errors.Is(err, rankr.ErrConflict) {
			t.Fatalf("an unknown notice was claimed by id: %v", err)
		}
	}
	// The server's answer came after all: the holder records it sent.
	if err := s.NoticeFinish(ctx, store.NoticeFinishParams{ID: f2.ID, Lease: f2.Lease, State: rankr.NoticeSent}); err != nil {
		t.Fatalf("a late answer: %v", err)
	}
	if got, _ := s.NoticeGet(ctx, f2.ID); got.State != rankr.NoticeSent {
		t.Fatalf("late answer recorded as %s", got.State)
	}
	wantKinds(t, Events(t, s, "L"), rankr.EventNoticeQueued, rankr.EventNoticeQueued, rankr.EventNoticeUnknown, rankr.EventNoticeSent)
}

// testNoticeOncePerFulfillment: a push notified by Rankr gets its notice
// in the transaction that marks it done, once, however often and however
// concurrently it is marked done.
func testNoticeOncePerFulfillment(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, o := range []string{"o1", "o2", "o3", "o4"} {
		shippable(t, s, "L", o)
	}
	p := rankr.FulfillmentPush{ID: "fp1", LocationID: "L", OrderID: "o1", NotifyVia: rankr.NotifyRankr, CreatedAt: now,
		Trackings: []rankr.Tracking{{Number: "1Z1", Carrier: "UPS"}}, Items: []rankr.PushItem{{PriceID: "p1", Qty: 2}}}
	bad := p
	bad.ID, bad.NotifyCustomer = "fp0", true
	if _, _, err := s.PushCreate(ctx, bad); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("a push notified by both GHL and Rankr: %v", err)
	}
	newPush(t, s, p)
	if got, _ := s.PushGet(ctx, "fp1"); got.NotifyVia != rankr.NotifyRankr || got.NotifyCustomer {
		t.Fatalf("push %+v", got)
	}
	claimed, err := s.PushClaim(ctx, store.PushClaimParams{ID: "fp1", Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PushFinish(ctx, store.PushFinishParams{ID: "fp1", Claim: claimed.Claim, State: rankr.PushDone, FulfillmentID: "f9", Now: now}); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("done without its notice: %v", err)
	}
	if got, _ := s.PushGet(ctx, "fp1"); got.State != rankr.PushPushing {
		t.Fatalf("a push went done without its notice: %s", got.State)
	}
	// However often, and however concurrently, the attempt is recorded
	// done, it is done once, with one notice.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			n := rankr.Notice{Recipient: fmt.Sprintf("r%d@example.com", i), Payload: json.RawMessage(`{"orderId":"o1"}`)}
			errs <- s.PushFinish(ctx, store.PushFinishParams{ID: "fp1", Claim: claimed.Claim, State: rankr.PushDone, FulfillmentID: "f9",
				Notice: &n, Now: now})
		})
	}
	wg.Wait()
	close(errs)
	done := 0
	for err := range errs {
		switch {
		case err == nil:
			done++
		case !errors.Is(err, rankr.ErrConflict):
			t.Fatal(err)
		}
	}
	if done != 1 {
		t.Fatalf("the attempt was recorded done %d times", done)
	}
	list, err := s.NoticeList(ctx, store.ListParams{LocationID: "L"})
	if err != nil || len(list) != 1 || list[0].DedupeKey != "f9" || list[0].Kind != rankr.NoticeFulfillment {
		t.Fatalf("notices %+v, %v", list, err)
	}
	queued := 0
	for _, e := range Events(t, s, "L") {
		if e.Kind == rankr.EventNoticeQueued {
			queued++
		}
	}
	if queued != 1 {
		t.Fatalf("%d notice.queued events", queued)
	}
	finish := func(q rankr.FulfillmentPush, fin store.PushFinishParams) {
		t.Helper()
		newPush(t, s, q)
		c, err := s.PushClaim(ctx, store.PushClaimParams{ID: q.ID, Lease: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		fin.ID, fin.Claim = q.ID, c.Claim
		if err := s.PushFinish(ctx, fin); err != nil {
			t.Fatal(err)
		}
	}
	// A push notified by GHL, or by nobody, queues no notice.
	for i, via := range []rankr.NotifyVia{rankr.NotifyGHL, rankr.NotifyNobody} {
		q := p
		q.ID, q.OrderID, q.NotifyVia, q.NotifyCustomer = fmt.Sprintf("fq%d", i), fmt.Sprintf("o%d", i+2), via, via == rankr.NotifyGHL
		finish(q, store.PushFinishParams{State: rankr.PushDone, FulfillmentID: fmt.Sprintf("g%d", i)})
	}
	if list, _ := s.NoticeList(ctx, store.ListParams{}); len(list) != 1 {
		t.Fatalf("%d notices", len(list))
	}
	// A push whose customer cannot be told (no email any more) is done
	// all the same, saying so, with no notice.
	q := p
	q.ID, q.OrderID = "fr1", "o4"
	finish(q, store.PushFinishParams{State: rankr.PushDone, FulfillmentID: "h1", NoNotice: "order o4 has no customer email"})
	if got, _ := s.PushGet(ctx, q.ID); got.State != rankr.PushDone || !strings.Contains(got.LastError, "no customer email") {
		t.Fatalf("push %+v", got)
	}
	if list, _ := s.NoticeList(ctx, store.ListParams{}); len(list) != 1 {
		t.Fatalf("%d notices", len(list))
	}
}

// testNoticeClaimersShare: concurrent senders claim disjoint notices, and
// every notice is claimed once.
func testNoticeClaimersShare(t *testing.T, s store.Store) {
	const total = 40
	for i := range total {
		if _, err := s.NoticeCreate(ctx, notice(fmt.Sprintf("f%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	claimedOnce(t, "notice", total, func() ([]string, error) {
		got, err := s.NoticeClaim(ctx, store.NoticeClaimParams{Limit: 3, Lease: time.Hour})
		ids := make([]string, len(got))
		for i, n := range got {
			ids[i] = n.ID
		}
		return ids, err
	})
}
