package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/doctor"
	"github.com/rankr/rankr/internal/mailer/mailtest"
)

// doctorArgs are the serve settings doctor reads too: the sandbox's
// webhook key, loopback endpoints allowed, and mailpit when it runs.
func (s *setup) doctorArgs(args ...string) []string {
	out := append([]string{"doctor", "--webhook-key", s.sb.WebhookPublicKey(), "--webhook-allow", "127.0.0.1"}, args...)
	if smtp := os.Getenv(mailtest.SMTPEnv); smtp != "" {
		out = append(out, "--smtp-url", "smtp://"+smtp, "--mail-from", "Shop <doctor@shop.example>")
	}
	return out
}

// On a healthy sandbox, rankr doctor fails nothing and exits 0, on SQLite
// and PostgreSQL; its table marks each check and its JSON is the report.
// No token or endpoint secret is printed.
func TestDoctorHealthySandbox(t *testing.T) {
	t.Parallel()
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, db)
			l := s.sb.Locations()[0]
			s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url)
			sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			t.Cleanup(sub.Close)
			s.must(t, "webhooks", "add", sub.URL+"/in?key=endpoint-secret", "--webhook-allow", "127.0.0.1")

			out := s.must(t, s.doctorArgs()...)
			for _, want := range []string{"✓ Database", "✓ Database migrations", "✓ GHL token (" + l.ID + ")", "✓ GHL scopes (" + l.ID + ")",
				"✓ GHL API (" + l.ID + ")", "✓ Clock", "✓ Webhook keys", "✓ Outbound endpoints", " 0 failed"} {
				if !strings.Contains(out, want) {
					t.Errorf("doctor's table lacks %q:\n%s", want, out)
				}
			}
			// The test webhook needs the sandbox's private key, which the CLI
			// does not hold: skipped, with the reason.
			if !strings.Contains(out, "- Test webhook") || !strings.Contains(out, "cannot sign as GHL") {
				t.Errorf("the test webhook line:\n%s", out)
			}
			for _, secret := range []string{l.Token, "endpoint-secret"} {
				if strings.Contains(out, secret) {
					t.Errorf("doctor printed %q", secret)
				}
			}

			var r doctor.Report
			if err := json.Unmarshal([]byte(s.must(t, s.doctorArgs("--json")...)), &r); err != nil {
				t.Fatal(err)
			}
			if !r.OK || r.Summary.Fail != 0 || len(r.Checks) < 10 {
				t.Fatalf("the JSON report: %+v", r)
			}
			for _, c := range r.Checks {
				if c.ID == "" || c.Title == "" || c.Status == "" || c.Meaning == "" {
					t.Errorf("an incomplete check: %+v", c)
				}
			}
		})
	}
}

// A rejected token and a token short of scopes fail, each under its
// location, with what to do on the line below, and doctor exits 1;
// --location checks one location.
func TestDoctorExplainsFailures(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "")
	bad, partial := s.sb.Locations()[0], s.sb.Locations()[1]
	if err := s.sb.AddToken(partial.ID, "pit-partial", ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead, ghl.ScopeInvoicesRead); err != nil {
		t.Fatal(err)
	}
	s.must(t, "connect", "--location", bad.ID, "--token", "pit-wrong-token", "--base-url", s.url, "--no-verify")
	s.must(t, "connect", "--location", partial.ID, "--token", "pit-partial", "--base-url", s.url, "--no-verify")

	code, out, errOut := s.run(t, s.doctorArgs()...)
	if code != 1 || !strings.Contains(errOut, "check(s) failed") {
		t.Fatalf("doctor: exit %d, %s\n%s", code, errOut, out)
	}
	lines := strings.Split(out, "\n")
	fixAfter := func(prefix, fix string) {
		t.Helper()
		for i, line := range lines {
			if strings.HasPrefix(line, prefix) {
				for _, next := range lines[i+1 : min(i+3, len(lines))] {
					if strings.Contains(next, "fix: ") && strings.Contains(next, fix) {
						return
					}
				}
				t.Errorf("no fix mentioning %q under %q:\n%s", fix, prefix, out)
				return
			}
		}
		t.Errorf("no line %q:\n%s", prefix, out)
	}
	fixAfter("✗ GHL token ("+bad.ID+")", "rankr connect --location "+bad.ID)
	fixAfter("✗ GHL scopes ("+partial.ID+")", "Private Integration")
	if !strings.Contains(out, ghl.ScopeSubscriptionsRead+" (for syncing subscriptions") || !strings.Contains(out, ghl.ScopeOrdersWrite+" (for pushing fulfillments") {
		t.Errorf("the missing scopes are not named with their features:\n%s", out)
	}
	if strings.Contains(out, "pit-wrong-token") || strings.Contains(out, "pit-partial") || strings.Contains(errOut, "pit-") {
		t.Fatal("doctor printed a token")
	}

	code, out, _ = s.run(t, s.doctorArgs("--location", partial.ID)...)
	if code != 1 || strings.Contains(out, bad.ID) || !strings.Contains(out, "✗ GHL scopes ("+partial.ID+")") {
		t.Fatalf("doctor --location %s: exit %d\n%s", partial.ID, code, out)
	}
	if code, _, errOut := s.run(t, s.doctorArgs("--location", "no-such-location")...); code == 0 || !strings.Contains(errOut, "not connected") {
		t.Fatalf("doctor for an unknown location: exit %d %s", code, errOut)
	}
}

// --test-order on the sandbox syncs a new test-mode order and pushes a
// test fulfillment, which lands in GHL once.
func TestDoctorTestOrder(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "")
	l := s.sb.Locations()[0]
	s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url)
	out := s.must(t, s.doctorArgs("--test-order", "--location", l.ID)...)
	if !strings.Contains(out, "✓ Test order ("+l.ID+")") || !strings.Contains(out, "pushed and found in GHL") {
		t.Fatalf("doctor --test-order:\n%s", out)
	}
	tr, _ := s.sb.Truth(l.ID)
	n := 0
	for _, o := range tr.Locations[0].Orders {
		for _, f := range o.Fulfillments {
			if len(f.Trackings) > 0 && strings.HasPrefix(f.Trackings[0].TrackingNumber, doctor.TestTrackingPrefix) {
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d test fulfillments in the sandbox", n)
	}
	// The push is audited as the host's, as rankr fulfill's is.
	audit := s.must(t, "audit", "list", "--json", "--action", "fulfillment_push.requested")
	if !strings.Contains(audit, `"type":"host"`) {
		t.Fatalf("the test push's audit record:\n%s", audit)
	}
}

// Where the database or the master key cannot be opened, that is the
// report: one failing check, and exit 1.
func TestDoctorCannotOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, _ := run(t, "doctor", "--data-dir", dir, "--log-level", "warn")
	if code != 1 || !strings.Contains(out, "✗ Database and master key") || !strings.Contains(out, "no master key") ||
		!strings.Contains(out, "fix: ") {
		t.Fatalf("doctor without a master key: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "doctor", "--data-dir", dir, "--json")
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); code != 1 || err != nil || r.OK || len(r.Checks) != 1 || r.Checks[0].ID != doctor.IDOpen {
		t.Fatalf("doctor --json without a master key: exit %d %v\n%s", code, err, out)
	}
	if _, err := os.Stat(fmt.Sprintf("%s/master.key", dir)); !os.IsNotExist(err) {
		t.Fatalf("doctor made a master key (%v)", err)
	}
}
