package cli

import (
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
)

func TestReconcileReportAndUpcoming(t *testing.T) {
	t.Parallel()
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, db)
			l := s.sb.Locations()[0]
			s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url)
			// An order charged twice, on top of a year of history.
			id, amount, err := s.sb.NewOrder(l.ID, sandbox.OrderSpec{})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range []int64{amount, 1500} {
				if _, err := s.sb.PayOrder(l.ID, id, a); err != nil {
					t.Fatal(err)
				}
			}
			s.must(t, "sync")
			if out := s.must(t, "reconcile", "run"); !strings.Contains(out, "exception(s) opened") {
				t.Fatalf("run said: %s", out)
			}
			if out := s.must(t, "reconcile", "run"); !strings.Contains(out, "0 exception(s) opened, 0 resolved") {
				t.Fatalf("a second run changed something: %s", out)
			}

			// JSON: every order and invoice, the overpaid one flagged.
			var report struct {
				Rows []struct {
					RecordType string          `json:"recordType"`
					ID         string          `json:"id"`
					Expected   json.Number     `json:"expected"`
					Collected  json.Number     `json:"collected"`
					Balance    json.Number     `json:"balance"`
					Outcome    string          `json:"outcome"`
					Exceptions []string        `json:"exceptions"`
					Currency   string          `json:"currency"`
					Extra      json.RawMessage `json:"-"`
				} `json:"rows"`
				Totals []struct {
					Currency string      `json:"currency"`
					Records  int         `json:"records"`
					Balance  json.Number `json:"balance"`
				} `json:"totals"`
				Exceptions []struct {
					Kind    string `json:"kind"`
					Message string `json:"message"`
				} `json:"exceptions"`
			}
			dec := json.NewDecoder(strings.NewReader(s.must(t, "reconcile", "report", "--location", l.ID, "--format", "json")))
			dec.UseNumber()
			if err := dec.Decode(&report); err != nil {
				t.Fatal(err)
			}
			orders := 0
			found := false
			for _, r := range report.Rows {
				if r.RecordType == "order" {
					orders++
				}
				if r.ID == id {
					found = true
					if r.Outcome != "overpaid" || !slices.Equal(r.Exceptions, []string{"overpaid"}) || r.Balance != "-15.00" {
						t.Fatalf("overpaid order row %+v", r)
					}
				}
			}
			if !found || orders != 121 || len(report.Totals) == 0 || report.Totals[0].Records < 121 || len(report.Exceptions) == 0 {
				t.Fatalf("report: %d order rows, found %v, totals %+v, %d exceptions", orders, found, report.Totals, len(report.Exceptions))
			}
			for _, e := range report.Exceptions {
				if e.Kind == "" || e.Message == "" {
					t.Fatalf("exception %+v", e)
				}
			}

			// --since and --exceptions-only narrow it.
			dec = json.NewDecoder(strings.NewReader(s.must(t, "reconcile", "report", "--since", "1h", "--exceptions-only", "--format", "json")))
			report.Rows = nil
			if err := dec.Decode(&report); err != nil {
				t.Fatal(err)
			}
			if len(report.Rows) != 1 || report.Rows[0].ID != id {
				t.Fatalf("the last hour's exceptions: %+v", report.Rows)
			}

			// CSV, for spreadsheets.
			recs, err := csv.NewReader(strings.NewReader(s.must(t, "reconcile", "report", "--location", l.ID, "--format", "csv"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if recs[0][2] != "id" || recs[0][9] != "balance" || len(recs) < 122 {
				t.Fatalf("csv header %v, %d lines", recs[0], len(recs))
			}
			var line []string
			for _, r := range recs {
				if r[2] == id {
					line = r
				}
			}
			if line == nil || line[9] != "-15.00" || line[10] != "overpaid" || line[12] != "overpaid" {
				t.Fatalf("csv line %v", line)
			}

			// The table, for people.
			out := s.must(t, "reconcile", "report", "--location", l.ID)
			if !strings.Contains(out, id) || !strings.Contains(out, "TOTAL") || !strings.Contains(out, "EXCEPTIONS") {
				t.Fatalf("table:\n%s", out)
			}
			t.Log("\n" + s.must(t, "reconcile", "report", "--location", l.ID, "--exceptions-only") + "\n" + s.must(t, "subscriptions", "upcoming"))
			if code, _, errOut := s.run(t, "reconcile", "report", "--since", "yesterday"); code == 0 || !strings.Contains(errOut, "--since") {
				t.Fatalf("a bad --since: %d %s", code, errOut)
			}

			// Renewals due: active subscriptions by next run; list still works.
			var upcoming []struct {
				ID        string    `json:"id"`
				Status    string    `json:"status"`
				NextRunAt time.Time `json:"nextRunAt"`
			}
			if err := json.Unmarshal([]byte(s.must(t, "subscriptions", "upcoming", "--within", "45d", "--json")), &upcoming); err != nil {
				t.Fatal(err)
			}
			if len(upcoming) == 0 {
				t.Fatal("no renewals due within 45 days in a year of history")
			}
			for i, u := range upcoming {
				if u.Status == "canceled" || u.NextRunAt.After(time.Now().Add(45*24*time.Hour)) || (i > 0 && u.NextRunAt.Before(upcoming[i-1].NextRunAt)) {
					t.Fatalf("upcoming %+v", upcoming)
				}
			}
			if out := s.must(t, "subscriptions", "upcoming"); !strings.Contains(out, "NEXT RUN") {
				t.Fatalf("upcoming table: %s", out)
			}
			if out := s.must(t, "subscriptions", "list", "--limit", "3"); !strings.Contains(out, "NEXT RUN") {
				t.Fatalf("subscriptions list: %s", out)
			}
		})
	}
}
