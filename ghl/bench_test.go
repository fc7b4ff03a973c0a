package ghl_test

import (
	"context"
	"testing"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// BenchmarkClientPaging walks every order of a 10,000-order location through
// the client's iterator, over loopback HTTP, with the sandbox's limit lifted.
// It reports records per second.
func BenchmarkClientPaging(b *testing.B) {
	const orders = 10_000
	sb, url := startSandbox(b, sandbox.Config{Seed: 1, Orders: orders, RateLimit: lifted})
	loc := sb.Locations()[0]
	c := newClient(url, loc.Token, ghl.WithLimits(ghl.Limits{Burst: 1_000_000_000, Interval: 10_000_000_000, Daily: 1_000_000_000}))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for b.Loop() {
		n := 0
		for _, err := range c.Orders(ctx, ghl.ListOrdersParams{LocationID: loc.ID}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != orders {
			b.Fatalf("walked %d orders, want %d", n, orders)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}
