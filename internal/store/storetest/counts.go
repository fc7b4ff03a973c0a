package storetest

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// testCountsSnapshot: saved counts read back as saved; older counts (by
// their event) do not replace newer ones; and counting on from the saved
// counts gives what counting every record does.
func testCountsSnapshot(t *testing.T, s store.Store) {
	if _, _, err := s.CountsSnapshot(ctx); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("no counts saved yet: %v", err)
	}
	upsertOrders(t, s, "L", false, order("L", "c1", t0, "completed"), order("L", "c2", t0, "pending"))
	now, err := s.CountsSince(ctx, store.AllCounts{})
	if err != nil {
		t.Fatal(err)
	}
	saved := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CountsSave(ctx, now, saved); err != nil {
		t.Fatal(err)
	}
	got, at, err := s.CountsSnapshot(ctx)
	if err != nil || got.Seq != now.Seq || !maps.Equal(got.Locations, now.Locations) || !at.Equal(saved) {
		t.Fatalf("read back %+v at %v (%v), saved %+v at %v", got, at, err, now, saved)
	}
	older := store.AllCounts{Seq: now.Seq - 1, Locations: map[string]rankr.Counts{"L": {Orders: 99}}}
	if err := s.CountsSave(ctx, older, saved.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.CountsSnapshot(ctx); got.Seq != now.Seq || got.Locations["L"].Orders != 2 {
		t.Fatalf("older counts replaced newer ones: %+v", got)
	}
	// More records, then on from the saved counts.
	upsertOrders(t, s, "M", false, order("M", "c3", t0, "completed"))
	upsertOrders(t, s, "L", false, order("L", "c4", t0, "completed"))
	from, _, _ := s.CountsSnapshot(ctx)
	moved, err := s.CountsSince(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.CountsSince(ctx, store.AllCounts{})
	if err != nil {
		t.Fatal(err)
	}
	if moved.Recounted || !maps.Equal(moved.Locations, fresh.Locations) || moved.Locations["L"].Orders != 3 {
		t.Fatalf("on from the saved counts %+v (recounted %v), counted afresh %+v", moved.Locations, moved.Recounted, fresh.Locations)
	}
	if err := s.CountsSave(ctx, store.AllCounts{}, saved); err == nil {
		t.Error("counts never counted were saved")
	}
}
