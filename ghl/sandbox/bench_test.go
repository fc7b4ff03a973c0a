package sandbox_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rankr/rankr/ghl/sandbox"
)

var liftedLimits = sandbox.RateLimit{Burst: 1_000_000_000, Daily: 1_000_000_000}

// BenchmarkHandler measures the sandbox alone, without the network: the cost
// and allocations of answering one request.
func BenchmarkHandler(b *testing.B) {
	sb := newSandbox(b, sandbox.Config{Seed: 1, Orders: 10_000, RateLimit: liftedLimits})
	loc := sb.Locations()[0]
	tr, err := sb.Truth(loc.ID)
	if err != nil {
		b.Fatal(err)
	}
	order := tr.Locations[0].Orders[5000].Item.ID
	paths := map[string]string{
		"GetOrder":             "/payments/orders/" + order + "?altId=" + loc.ID,
		"ListOrders100":        "/payments/orders?altId=" + loc.ID + "&limit=100&offset=5000",
		"ListTransactions100":  "/payments/transactions?altId=" + loc.ID + "&altType=location&limit=100",
		"ListOrdersByContact":  "/payments/orders?altId=" + loc.ID + "&contactId=" + tr.Locations[0].Orders[10].Item.ContactID,
		"ListFulfillments":     "/payments/orders/" + order + "/fulfillments?altId=" + loc.ID + "&altType=location",
		"RefusedBadTokenEarly": "/payments/orders?altId=" + loc.ID,
	}
	h := sb.Handler()
	for name, path := range paths {
		b.Run(name, func(b *testing.B) {
			token := loc.Token
			want := http.StatusOK
			if name == "RefusedBadTokenEarly" {
				token, want = "pit-wrong", http.StatusUnauthorized
			}
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Version", "2021-07-28")
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != want {
					b.Fatalf("%s: %d %s", name, w.Code, w.Body.String())
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkLoopback measures requests per second over real HTTP on loopback,
// from parallel clients reusing connections.
func BenchmarkLoopback(b *testing.B) {
	sb := newSandbox(b, sandbox.Config{Seed: 1, Orders: 10_000, RateLimit: liftedLimits})
	url := serve(b, sb)
	loc := sb.Locations()[0]
	tr, err := sb.Truth(loc.ID)
	if err != nil {
		b.Fatal(err)
	}
	order := tr.Locations[0].Orders[100].Item.ID
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer() // generating the sandbox is not what is measured
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest("GET", url+"/payments/orders/"+order+"?altId="+loc.ID, nil)
		req.Header.Set("Authorization", "Bearer "+loc.Token)
		req.Header.Set("Version", "2021-07-28")
		for pb.Next() {
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
