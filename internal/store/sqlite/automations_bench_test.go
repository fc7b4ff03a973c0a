package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/sqlite"
)

// What the change feed pays for automations: every order.created event
// looks up the enabled automations on its triggers, in its transaction, and
// inserts their runs.
func BenchmarkOrderCreatedRuns(b *testing.B) {
	for _, tc := range []struct {
		name        string
		automations int
		trigger     string
	}{
		{"none", 0, ""},
		{"others", 20, rankr.TriggerSubscriptionRenewed},
		{"one fires", 1, rankr.TriggerOrderCreated},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "rankr.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for i := range tc.automations {
				if _, _, err := s.AutomationSave(ctx, store.AutomationSaveParams{ID: fmt.Sprint("a", i), Enabled: true,
					TriggerKey: tc.trigger, Definition: json.RawMessage(`{}`), Checksum: "c"}); err != nil {
					b.Fatal(err)
				}
			}
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprint("o", i)
				o := rankr.Order{ID: id, LocationID: "L1", Amount: 1000, Currency: "USD", Status: "pending", CreatedAt: t0, UpdatedAt: t0,
					RawSummary: json.RawMessage(`{"_id":"` + id + `"}`)}
				if _, err := s.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: "L1", Now: t0,
					Orders: []store.OrderVersion{{Order: o}}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
