package api_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// TestStreamStartsNow holds the event stream to its document: opened with
// neither Last-Event-ID nor after, it starts with what happens from now,
// not with the change feed's first event (which sent every new dashboard
// tab the whole feed first: 2 million events at a million orders).
func TestStreamStartsNow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if err := seedBenchDB(ctx, dir, 50, time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err := readBenchDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Open(ctx, daemon.Config{DB: "sqlite:" + db.path, MasterKey: db.master})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	acc, err := d.OpenAccess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k, err := acc.Keys.Create(ctx, access.Host("test"), access.KeyRequest{Role: "viewer", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	old, err := d.Store.EventList(ctx, store.EventListParams{Limit: 1, Newest: true})
	if err != nil || len(old) != 1 {
		t.Fatalf("the seeded feed: %v, %v", old, err)
	}

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/events/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+k.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the stream: %d", resp.StatusCode)
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "retry:") {
	} // the stream is open: what happens now comes down it

	now := time.Now().UTC().Truncate(time.Millisecond)
	loc := benchLocations[0].id
	if _, err := d.Store.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, Orders: []store.OrderVersion{{Order: rankr.Order{
		ID: "new-order", LocationID: loc, Amount: 100, Currency: "USD", Status: "pending", FulfillmentStatus: "unfulfilled",
		CreatedAt: now, UpdatedAt: now}}}}); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		id, ok := strings.CutPrefix(lines.Text(), "id: ")
		if !ok {
			continue
		}
		seq, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			t.Fatalf("event id %q", id)
		}
		if seq <= old[0].Seq {
			t.Fatalf("the stream began with event %d, stored before it opened (the newest then: %d)", seq, old[0].Seq)
		}
		return
	}
	t.Fatalf("no event came down the stream: %v", lines.Err())
}
