package daemon_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/syncer/synctest"
	"github.com/rankr/rankr/internal/testwait"
)

// TestWebhookBurstPaymentsPerLocation has the sandbox deliver a burst of
// order webhooks (300 new orders, most paid at once, some paid or refunded
// just after) to a daemon that does not poll. Every order ends with its
// payments and payment status as in GHL, and the burst's payments cost a
// few passes over the transactions list, not a call per order.
func TestWebhookBurstPaymentsPerLocation(t *testing.T) {
	t.Parallel()
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb, url := startSandbox(t, sandbox.Config{Seed: 62, Locations: 1, Orders: 40, WebhookWorkers: 4})
			loc := sb.Locations()[0].ID
			// Polling would find the payments too: it waits an hour.
			s := serveSandbox(t, db(t), sb, url, daemon.Config{Jobs: jobs.Config{PollInterval: time.Hour, WalkInterval: 24 * time.Hour}})
			d := s.d
			before := sb.Stats().Requests[loc]

			changes, err := sb.Step(300, loc, "order.created")
			if err != nil || len(changes) != 300 {
				t.Fatalf("%d orders: %v", len(changes), err)
			}
			burst := make([]string, len(changes))
			for i, c := range changes {
				burst[i] = c.RecordID
			}
			truth := func() sandbox.LocationTruth {
				tr, err := sb.Truth(loc)
				if err != nil {
					t.Fatal(err)
				}
				return tr.Locations[0]
			}
			lt := truth()
			txnOf := map[string]string{}
			for _, xt := range lt.Transactions {
				txnOf[xt.Item.EntityID] = xt.Item.ID
			}
			var paid, unpaid []string
			for _, id := range burst {
				if txnOf[id] == "" {
					unpaid = append(unpaid, id)
				} else {
					paid = append(paid, id)
				}
			}
			for _, id := range unpaid[:30] {
				if _, err := sb.PayOrder(loc, id, 100); err != nil { // in part
					t.Fatal(err)
				}
			}
			for _, id := range paid[:10] {
				if err := sb.Refund(loc, txnOf[id], 1); err != nil {
					t.Fatal(err)
				}
			}

			// Every payment arrives, and no follow-up is left to run.
			db := d.Store.(*sqlstore.Store).DB()
			var diff []string
			testwait.Until(t, 3*time.Minute, "every payment in and no follow-up left", func() bool {
				lt = truth()
				if diff = synctest.PaymentsDiff(t, d.Store, lt, burst); len(diff) > 0 {
					return false
				}
				var pending int
				err := db.QueryRow(`SELECT count(*) FROM river_job WHERE kind IN ('sync.payments', 'sync.order_follow_up')
					AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&pending)
				return err == nil && pending == 0
			})
			after := sb.Stats().Requests[loc]
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}

			// A pass reads the pages of the burst's payments; the burst
			// spans one or two FollowUpDelay periods, each with its pass.
			window := 0
			for _, xt := range lt.Transactions {
				if slices.Contains(burst, xt.Item.EntityID) {
					window++
				}
			}
			pages := (window + ghl.DefaultPageSize - 1) / ghl.DefaultPageSize
			lists := after["ListTransactions 200"] - before["ListTransactions 200"]
			var ops []string
			for op, n := range after {
				if n != before[op] {
					ops = append(ops, op)
				}
			}
			if limit := 3 * (pages + 1); lists > limit {
				t.Fatalf("%d transaction lists for %d orders (%d payments, %d pages), want at most %d; calls: %s",
					lists, len(burst), window, pages, limit, strings.Join(ops, ", "))
			}
			if lists == 0 {
				t.Fatal("the payments arrived without a transactions list")
			}
		})
	}
}
