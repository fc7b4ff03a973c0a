package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/doctor"
)

// DoctorCmd runs the connectivity test. It takes serve's webhook, mail and
// outbound settings (the same flags and environment variables), so that,
// run where serve runs, it checks what serve uses.
type DoctorCmd struct {
	Location  string `help:"Check only this location." env:"RANKR_LOCATION"`
	TestOrder bool   `help:"Also sync a test-mode order and push a test fulfillment to it (on a sandbox the order is created; on GHL a test-mode order is used). Live orders are never touched: a location without test-mode orders is refused." name:"test-order"`
	JSON      bool   `help:"Print the report as JSON." name:"json"`

	WebhookKeys      []string      `help:"Ed25519 public keys (SPKI, base64 or PEM) that webhooks may be signed with, as given to serve. Default: GHL's published key." name:"webhook-key" env:"RANKR_WEBHOOK_KEYS"`
	WebhookMaxAge    time.Duration `help:"The webhook timestamp tolerance, as given to serve." default:"5m" env:"RANKR_WEBHOOK_MAX_AGE"`
	WebhookLegacyRSA string        `help:"PEM file of GHL's legacy RSA key, as given to serve." name:"webhook-legacy-rsa-key" type:"path" env:"RANKR_WEBHOOK_LEGACY_RSA_KEY"`
	MailFlags
	OutboundFlags
	DataFlags
}

// Run checks, prints the report, and fails when a check failed.
func (c *DoctorCmd) Run(ctx context.Context, g *Globals) error {
	wh, err := webhookConfig(c.WebhookKeys, c.WebhookLegacyRSA, c.WebhookMaxAge)
	if err != nil {
		return err
	}
	out, err := c.OutboundFlags.config()
	if err != nil {
		return err
	}
	var report doctor.Report
	d, err := g.open(ctx, false, daemon.Config{Webhook: wh, Mail: c.MailFlags.config(), Outbound: out})
	if err != nil {
		// What cannot be opened is the first finding, reported as such.
		report = doctor.Unopened(err, time.Now())
	} else {
		defer d.Close()
		report, err = doctor.Run(ctx, d.DoctorDeps(), doctor.Options{Location: c.Location, TestOrder: c.TestOrder,
			By: new(hostAuditActor())})
		if err != nil {
			return err
		}
	}
	if c.JSON {
		if err := writeJSON(g.stdout, report); err != nil {
			return err
		}
	} else {
		printReport(g.stdout, report)
	}
	if n := report.Summary.Fail; n > 0 {
		return fmt.Errorf("%d check(s) failed", n)
	}
	return nil
}

// marks are the statuses as one character each.
var marks = map[doctor.Status]string{doctor.Pass: "✓", doctor.Fail: "✗", doctor.Warn: "!", doctor.Skip: "-"}

// printReport prints a line per check (its mark, title and detail), what a
// failure or a warning means and what to do under it, and a tally.
func printReport(w io.Writer, r doctor.Report) {
	titles := make([]string, len(r.Checks))
	width := 0
	for i, c := range r.Checks {
		titles[i] = c.Title
		if c.Location != "" {
			titles[i] += " (" + c.Location + ")"
		}
		width = max(width, utf8.RuneCountInString(titles[i]))
	}
	indent := strings.Repeat(" ", width+4)
	for i, c := range r.Checks {
		fmt.Fprintf(w, "%s %-*s  %s\n", marks[c.Status], width, titles[i], c.Detail)
		if c.Status == doctor.Fail || c.Status == doctor.Warn {
			fmt.Fprintf(w, "%s%s\n", indent, c.Meaning)
			if c.Fix != "" {
				fmt.Fprintf(w, "%sfix: %s\n", indent, c.Fix)
			}
		}
	}
	s := r.Summary
	fmt.Fprintf(w, "\n%d passed, %d failed, %d warnings, %d skipped in %s\n", s.Pass, s.Fail, s.Warn, s.Skip,
		(time.Duration(r.TookMS) * time.Millisecond).Round(time.Millisecond))
}
