package access

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/sqlite"
)

// BenchmarkAuthenticatedRequest measures what the guard adds to a GET of
// the API: the same handler (a page of the change feed read from SQLite)
// served open and behind a key, over loopback HTTP with kept-alive
// connections, in one run. It reports both latencies and the overhead in
// percent.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "rankr.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: "L1", Orders: []store.OrderVersion{{Order: rankr.Order{
		ID: "o1", LocationID: "L1", Currency: "USD", Status: "completed", CreatedAt: time.Now(), UpdatedAt: time.Now()}}}}); err != nil {
		b.Fatal(err)
	}
	h, err := LoadHasher(ctx, st, newVault(b))
	if err != nil {
		b.Fatal(err)
	}
	g, err := NewGuard(GuardConfig{Store: st, Hasher: h, KeyRate: 1e9, KeyBurst: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	k, err := NewKeys(st, h).Create(ctx, Host("bench"), KeyRequest{Role: "viewer", ExpiresIn: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	feed := func(w http.ResponseWriter, r *http.Request) {
		evs, err := st.EventList(r.Context(), store.EventListParams{Limit: 50, Newest: true})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		p := PrincipalFrom(r.Context())
		out := evs[:0]
		for _, e := range evs {
			if p.SeesLocation(e.LocationID) {
				out = append(out, e)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"events": out})
	}
	rt := NewRouter(g)
	rt.HandleFunc("GET /open/events", Public(), feed)
	rt.HandleFunc("GET /api/events", Need("events:read"), feed)
	srv := httptest.NewServer(rt)
	defer srv.Close()

	get := func(c *http.Client, path, key string) time.Duration {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Errorf("%s: %d", path, resp.StatusCode)
		}
		return time.Since(start)
	}
	// Each iteration sends one request of each, in turn, so that both see
	// the same machine at the same moments; the medians are compared.
	var mu sync.Mutex
	var open, authed []time.Duration
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := srv.Client()
		var o, a []time.Duration
		for pb.Next() {
			o = append(o, get(c, "/open/events", ""))
			a = append(a, get(c, "/api/events", k.Token))
		}
		mu.Lock()
		open, authed = append(open, o...), append(authed, a...)
		mu.Unlock()
	})
	b.StopTimer()
	mo, ma := median(open), median(authed)
	b.ReportMetric(float64(mo.Nanoseconds()), "open-ns/req")
	b.ReportMetric(float64(ma.Nanoseconds()), "authed-ns/req")
	b.ReportMetric(100*(float64(ma)-float64(mo))/float64(mo), "overhead-%")
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}
