package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/vault"
)

// run runs the command line in process and returns its exit code and
// output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

type setup struct {
	sb    *sandbox.Server
	url   string
	flags []string // the flags pointing at this test's database
	dir   string
}

func newSetup(t *testing.T, db string) *setup {
	t.Helper()
	return newSetupOf(t, db, sandbox.Config{Seed: 41, Locations: 2, Orders: 120,
		RateLimit: sandbox.RateLimit{Burst: 1_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}})
}

// newSetupOf is newSetup with a sandbox of the given configuration.
func newSetupOf(t *testing.T, db string, cfg sandbox.Config) *setup {
	t.Helper()
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { ts.Close(); sb.Close() })
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	if err := os.WriteFile(keyFile, []byte(vault.NewKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--data-dir", dir, "--master-key-file", keyFile, "--log-level", "warn"}
	if db != "" {
		flags = append(flags, "--db", db)
	}
	return &setup{sb: sb, url: ts.URL, flags: flags, dir: dir}
}

// databases are the databases a CLI test runs on, by name: SQLite (the
// data directory's default, "") and, when the test server is there, a
// fresh PostgreSQL schema.
func databases(t *testing.T) map[string]string {
	dbs := map[string]string{"sqlite": ""}
	if os.Getenv(storetest.PostgresEnv) != "" {
		dbs["postgres"] = storetest.PostgresURL(t)
	}
	return dbs
}

func (s *setup) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return run(t, s.args(args...)...)
}

// args is a command line with this test's data flags, which go after the
// command: they are the command's flags.
func (s *setup) args(args ...string) []string {
	return append(append([]string{}, args...), s.flags...)
}

func (s *setup) must(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := s.run(t, args...)
	if code != 0 {
		t.Fatalf("rankr %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestConnectSyncAndRead(t *testing.T) {
	t.Parallel()
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, db)
			for _, l := range s.sb.Locations() {
				out := s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url, "--name", l.Name)
				if !strings.Contains(out, "connected location "+l.ID) || !strings.Contains(out, "GHL reports 12") {
					t.Fatalf("connect said: %s", out)
				}
				if strings.Contains(out, l.Token) {
					t.Fatal("connect printed the token")
				}
			}
			out := s.must(t, "sync")
			if !strings.Contains(out, "CALLS/ORDER") || !strings.Contains(out, "synced 2 location(s)") {
				t.Fatalf("sync said: %s", out)
			}

			var status []struct {
				Connection struct {
					LocationID string `json:"locationId"`
					State      string `json:"state"`
				} `json:"connection"`
				Counts struct {
					Orders int `json:"orders"`
				} `json:"counts"`
				Sync struct {
					BackfillDone bool `json:"backfillDone"`
				} `json:"sync"`
			}
			if err := json.Unmarshal([]byte(s.must(t, "status", "--json")), &status); err != nil {
				t.Fatal(err)
			}
			if len(status) != 2 || status[0].Counts.Orders != 120 || !status[0].Sync.BackfillDone || status[0].Connection.State != "active" {
				t.Fatalf("status %+v", status)
			}

			loc := s.sb.Locations()[0].ID
			var orders []map[string]any
			if err := json.Unmarshal([]byte(s.must(t, "orders", "list", "--location", loc, "--limit", "500", "--json")), &orders); err != nil {
				t.Fatal(err)
			}
			if len(orders) != 120 {
				t.Fatalf("%d orders listed", len(orders))
			}
			for _, field := range []string{"id", "locationId", "contactId", "contactName", "contactEmail", "amount", "currency",
				"status", "fulfillmentStatus", "paymentStatus", "liveMode", "source", "createdAt", "updatedAt"} {
				if _, ok := orders[0][field]; !ok {
					t.Errorf("order JSON lacks %q: %v", field, orders[0])
				}
			}
			// Amounts are the exact decimals GHL sent, in major units.
			tr, _ := s.sb.Truth(loc)
			newest := tr.Locations[0].Orders[len(tr.Locations[0].Orders)-1]
			if got, want := jsonNumber(orders[0]["amount"]), string(newest.Item.Amount); !sameDecimal(got, want) {
				t.Fatalf("amount %s, GHL sent %s", got, want)
			}

			// An order with fulfillments and payments, shown in full.
			var full sandbox.OrderTruth
			for _, o := range tr.Locations[0].Orders {
				if len(o.Fulfillments) > 0 && o.PaymentStatus == "paid" {
					full = o
					break
				}
			}
			var shown struct {
				ID           string           `json:"id"`
				Items        []map[string]any `json:"items"`
				Fulfillments []map[string]any `json:"fulfillments"`
				Transactions []map[string]any `json:"transactions"`
			}
			if err := json.Unmarshal([]byte(s.must(t, "orders", "show", full.Item.ID, "--json")), &shown); err != nil {
				t.Fatal(err)
			}
			if shown.ID != full.Item.ID || len(shown.Items) != len(full.Detail.Items) || len(shown.Fulfillments) != len(full.Fulfillments) || len(shown.Transactions) == 0 {
				t.Fatalf("orders show: %+v", shown)
			}
			text := s.must(t, "orders", "show", full.Item.ID)
			for _, want := range []string{"items:", "fulfillments:", "transactions:", full.Fulfillments[0].Trackings[0].TrackingNumber} {
				if !strings.Contains(text, want) {
					t.Errorf("orders show text lacks %q:\n%s", want, text)
				}
			}

			// Every kind lists and shows.
			for _, kind := range []string{"fulfillments", "transactions", "subscriptions", "invoices"} {
				var list []map[string]any
				if err := json.Unmarshal([]byte(s.must(t, kind, "list", "--json", "--location", loc)), &list); err != nil {
					t.Fatalf("%s list: %v", kind, err)
				}
				if len(list) == 0 {
					t.Fatalf("%s list is empty", kind)
				}
				id, _ := list[0]["id"].(string)
				if !strings.Contains(s.must(t, kind, "show", id), id) {
					t.Fatalf("%s show %s does not show it", kind, id)
				}
				if !strings.Contains(s.must(t, kind, "list", "--location", loc), id) {
					t.Fatalf("%s list (table) lacks %s", kind, id)
				}
			}
			if code, _, errOut := s.run(t, "orders", "show", "no-such-order"); code == 0 || !strings.Contains(errOut, "not found") {
				t.Fatalf("show of a missing order: %d %s", code, errOut)
			}
		})
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sameDecimal(a, b string) bool {
	x, errA := ghl.Number(a).Scaled(2)
	y, errB := ghl.Number(b).Scaled(2)
	return errA == nil && errB == nil && x == y
}

func TestConnectExplainsRefusals(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "")
	loc := s.sb.Locations()[0]
	code, _, errOut := s.run(t, "connect", "--location", loc.ID, "--token", "pit-wrong-token", "--base-url", s.url)
	if code == 0 || !strings.Contains(errOut, "GHL rejected the token (401)") || strings.Contains(errOut, "pit-wrong-token") {
		t.Fatalf("bad token: %d %q", code, errOut)
	}
	if err := s.sb.AddToken(loc.ID, "pit-partial", ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = s.run(t, "connect", "--location", loc.ID, "--token", "pit-partial", "--base-url", s.url)
	if code == 0 || !strings.Contains(errOut, ghl.ScopeSubscriptionsRead) || !strings.Contains(errOut, ghl.ScopeInvoicesRead) {
		t.Fatalf("missing scopes: %d %q", code, errOut)
	}
	// Nothing was saved by the refusals.
	if out := s.must(t, "status"); !strings.Contains(out, "no connections") {
		t.Fatalf("status after refusals: %s", out)
	}
	// Without the catalog's scopes the token connects, and says what the
	// catalog lacks.
	if err := s.sb.AddToken(loc.ID, "pit-no-catalog", ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead, ghl.ScopeSubscriptionsRead,
		ghl.ScopeInvoicesRead); err != nil {
		t.Fatal(err)
	}
	if out := s.must(t, "connect", "--location", loc.ID, "--token", "pit-no-catalog", "--base-url", s.url); !strings.Contains(out,
		"lacks "+ghl.ScopeProductsRead+" and "+ghl.ScopePricesRead+": the catalog") {
		t.Fatalf("connect without the catalog's scopes: %s", out)
	}
	if err := s.sb.AddToken(loc.ID, "pit-no-prices", ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead, ghl.ScopeSubscriptionsRead,
		ghl.ScopeInvoicesRead, ghl.ScopeProductsRead); err != nil {
		t.Fatal(err)
	}
	if out := s.must(t, "connect", "--location", loc.ID, "--token", "pit-no-prices", "--base-url", s.url); !strings.Contains(out,
		"lacks "+ghl.ScopePricesRead+": the catalog") {
		t.Fatalf("connect without the prices' scope: %s", out)
	}
	code, out, _ := s.run(t, "connect", "--location", loc.ID, "--token", "pit-partial", "--base-url", s.url, "--no-verify")
	if code != 0 || !strings.Contains(out, "connected") {
		t.Fatalf("--no-verify: %d %s", code, out)
	}
	// The sync then stops the connection and says why.
	code, out, _ = s.run(t, "sync")
	if code == 0 || !strings.Contains(out, "missing scope "+ghl.ScopeSubscriptionsRead) {
		t.Fatalf("sync with a missing scope: %d %s", code, out)
	}
	if out := s.must(t, "status"); !strings.Contains(out, "missing_scope") {
		t.Fatalf("status: %s", out)
	}
}

func TestSettingsErrorsAreClear(t *testing.T) {
	// Not parallel: it sets RANKR_MASTER_KEY.
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--data-dir", dir}, "no master key"},
		{[]string{"status", "--data-dir", dir, "--db", "mysql://x"}, "use sqlite:PATH or a postgres:// URL"},
		{[]string{"sync", "--bogus"}, "unknown flag"},
		{[]string{"serve", "--data-dir", dir, "--inbox-retention", "5m"}, "--inbox-retention 5m0s is too short"},
		{[]string{"serve", "--data-dir", dir, "--delivery-retention=-1h"}, "--delivery-retention -1h0m0s"},
		{[]string{"serve", "--data-dir", dir, "--run-retention=-1h"}, "--run-retention -1h0m0s"},
	}
	for _, tt := range tests {
		code, _, errOut := run(t, tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("rankr %v: exit %d, %q; want an error mentioning %q", tt.args, code, errOut, tt.want)
		}
	}
	t.Setenv("RANKR_MASTER_KEY", "too-short")
	if code, _, errOut := run(t, "sync", "--data-dir", dir); code == 0 || !strings.Contains(errOut, "32 random bytes") {
		t.Errorf("a bad RANKR_MASTER_KEY: %d %q", code, errOut)
	}
	code, out, _ := run(t, "--help")
	if code != 0 || !strings.Contains(out, "connect") || !strings.Contains(out, "sandbox") {
		t.Errorf("--help: %d %s", code, out)
	}
}

func TestFulfillPushesOnce(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "")
	l := s.sb.Locations()[0]
	s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url)
	s.must(t, "sync", "--location", l.ID)
	tr, _ := s.sb.Truth(l.ID)
	var order string
	for _, o := range tr.Locations[0].Orders {
		if o.PaymentStatus == "paid" && o.Item.FulfillmentStatus == "unfulfilled" && len(o.Detail.Items) > 0 && o.Detail.Items[0].Product.ProductType == "PHYSICAL" {
			order = o.Item.ID
			break
		}
	}
	if order == "" {
		t.Fatal("no order to fulfill")
	}
	out := s.must(t, "fulfill", order, "--tracking", "1ZCLI0001", "--carrier", "UPS", "--notify")
	if !strings.Contains(out, "fulfilled in GHL as") {
		t.Fatalf("fulfill said: %s", out)
	}
	// The same command again (operators retry) is answered with the push.
	again := s.must(t, "fulfill", order, "--tracking", "1ZCLI0001", "--carrier", "UPS", "--notify")
	if !strings.Contains(again, "already pushed as fp_") || !strings.Contains(again, "(done, GHL fulfillment ") {
		t.Fatalf("the repeated fulfill said: %s", again)
	}
	// The same tracking for other items is refused, saying why.
	if code, _, errOut := s.run(t, "fulfill", order, "--tracking", "1ZCLI0001", "--carrier", "UPS", "--item", "other-price:1"); code == 0 ||
		!strings.Contains(errOut, "is already on push fp_") {
		t.Fatalf("the same tracking for other items: %d %s", code, errOut)
	}
	// Nothing is left to ship: a second push is refused before reaching GHL.
	if code, _, errOut := s.run(t, "fulfill", order, "--tracking", "1ZCLI0002", "--carrier", "UPS"); code == 0 || !strings.Contains(errOut, "nothing left to ship") {
		t.Fatalf("second fulfill: %d %s", code, errOut)
	}
	tr, _ = s.sb.Truth(l.ID)
	fulfillments := 0
	for _, o := range tr.Locations[0].Orders {
		for _, f := range o.Fulfillments {
			if len(f.Trackings) > 0 && f.Trackings[0].TrackingNumber == "1ZCLI0001" {
				fulfillments++
			}
		}
	}
	if fulfillments != 1 {
		t.Fatalf("%d fulfillments in GHL for the push", fulfillments)
	}
	n := 0
	for _, nt := range tr.Locations[0].Notices {
		if len(nt.Trackings) > 0 && nt.Trackings[0] == "1ZCLI0001" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d customer notices for the push", n)
	}
	if code, _, errOut := s.run(t, "fulfill", order, "--tracking", "x", "--carrier", "UPS", "--item", "bad"); code == 0 || !strings.Contains(errOut, "PRICE_ID:QTY") {
		t.Fatalf("bad --item: %d %s", code, errOut)
	}
	// The push, requested once, is audited once, by whoever ran fulfill.
	audit := s.must(t, "audit", "list", "--json", "--action", "fulfillment_push.requested")
	if lines := strings.Split(strings.TrimSpace(audit), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `"type":"host"`) ||
		!strings.Contains(lines[0], order) {
		t.Fatalf("audit of the push:\n%s", audit)
	}
}

// TestReadingNeedsNoMasterKey reads every kind of record from a data
// directory whose master key is gone: reading never opens a secret, so it
// works without the key and never creates one, while the commands that open
// or seal secrets say that they need it.
func TestReadingNeedsNoMasterKey(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "")
	l := s.sb.Locations()[0]
	s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url)
	s.must(t, "sync")
	tr, _ := s.sb.Truth(l.ID)
	order := tr.Locations[0].Orders[0].Item.ID
	keyFile := filepath.Join(s.dir, "master.key")
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	s.flags = []string{"--data-dir", s.dir, "--log-level", "warn"} // the default key file, which is gone

	for _, args := range [][]string{
		{"orders", "list"}, {"orders", "show", order}, {"fulfillments", "list"}, {"transactions", "list"},
		{"subscriptions", "list"}, {"invoices", "list"}, {"status"}, {"reconcile", "report"}, {"reconcile", "run"},
		{"subscriptions", "upcoming"}, {"notices", "list"}, {"webhooks", "list"}, {"webhooks", "deliveries"},
		{"webhooks", "replay", "--dead"}, {"keys", "list"}, {"audit", "list"},
	} {
		code, out, errOut := s.run(t, args...)
		if code != 0 {
			t.Errorf("rankr %s without a master key: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
			t.Fatalf("rankr %s made a master key (%v)", strings.Join(args, " "), err)
		}
	}
	if out := s.must(t, "orders", "list", "--json", "--limit", "500"); !strings.Contains(out, order) {
		t.Errorf("orders list without a master key lacks %s", order)
	}
	// What opens secrets needs the key, and says so.
	for _, args := range [][]string{{"sync"}, {"fulfill", order, "--tracking", "1Z", "--carrier", "UPS"}} {
		if code, _, errOut := s.run(t, args...); code == 0 || !strings.Contains(errOut, "no master key") {
			t.Errorf("rankr %s without a master key: exit %d, %q; want it to say it needs the master key", strings.Join(args, " "), code, errOut)
		}
	}
	// What seals one makes the key, and says so.
	code, _, errOut := s.run(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url, "--no-verify")
	if code != 0 || !strings.Contains(errOut, "created a new master key in "+keyFile) {
		t.Errorf("connect without a master key: exit %d, %q", code, errOut)
	}
}

// TestFlagsBelongToTheirCommands checks that each command's help shows the
// data flags (database, data directory, master key) only where the command
// uses them.
func TestFlagsBelongToTheirCommands(t *testing.T) {
	t.Parallel()
	data := []string{"--db", "--data-dir", "--master-key-file"}
	tests := []struct {
		cmd          []string
		want, absent []string
	}{
		{[]string{"sandbox"}, []string{"--log-level"}, data},
		{[]string{"version"}, nil, data},
		{[]string{"demo"}, []string{"--data-dir", "--master-key-file"}, []string{"--db"}},
		{[]string{"orders", "list"}, data, nil},
		{[]string{"orders", "show"}, data, nil},
		{[]string{"subscriptions", "upcoming"}, data, nil},
		{[]string{"connect"}, data, nil},
		{[]string{"sync"}, data, nil},
		{[]string{"serve"}, data, nil},
		{[]string{"status"}, data, nil},
		{[]string{"fulfill"}, data, nil},
		{[]string{"reconcile", "report"}, data, nil},
		{[]string{"notices", "list"}, data, nil},
		{[]string{"webhooks", "add"}, data, nil},
		{[]string{"keys", "create"}, data, nil},
		{[]string{"audit", "verify"}, data, nil},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, append(tt.cmd, "--help")...)
		if code != 0 {
			t.Errorf("rankr %s --help: exit %d %s", strings.Join(tt.cmd, " "), code, errOut)
			continue
		}
		for _, f := range tt.want {
			if !strings.Contains(out, f+"=") {
				t.Errorf("rankr %s --help lacks %s:\n%s", strings.Join(tt.cmd, " "), f, out)
			}
		}
		for _, f := range tt.absent {
			if strings.Contains(out, f) {
				t.Errorf("rankr %s --help shows %s, which it does not use:\n%s", strings.Join(tt.cmd, " "), f, out)
			}
		}
	}
}
