package jobs

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
)

// Pruning takes every old processed webhook, slice after slice, and keeps
// the recent and the unprocessed ones.
func TestPruneInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	var evs []rankr.InboxEvent
	for i := range 5100 {
		evs = append(evs, rankr.InboxEvent{WebhookID: fmt.Sprintf("w%05d", i), Type: "OrderCreate", LocationID: "L", Body: []byte(`{}`)})
	}
	seqs, err := st.InboxAppend(ctx, store.InboxAppendParams{Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mark := func(seqs []int64, at time.Time) {
		done := make([]store.InboxOutcome, len(seqs))
		for i, seq := range seqs {
			done[i] = store.InboxOutcome{Seq: seq, Outcome: "ok"}
		}
		if err := st.InboxDone(ctx, done, at); err != nil {
			t.Fatal(err)
		}
	}
	mark(seqs[:5000], now.Add(-8*24*time.Hour)) // more than two slices
	mark(seqs[5000:5050], now.Add(-time.Hour))
	n, err := pruneInbox(ctx, st, now.Add(-7*24*time.Hour))
	if err != nil || n != 5000 {
		t.Fatalf("pruned %d, %v; want the 5,000 processed 8 days ago", n, err)
	}
	if again, _ := pruneInbox(ctx, st, now.Add(-7*24*time.Hour)); again != 0 {
		t.Fatalf("a second pruning took %d more", again)
	}
	if pending, _ := st.InboxPending(ctx); pending != 50 {
		t.Fatalf("%d unprocessed webhooks left, want 50", pending)
	}
}
