package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/testwait"
	"github.com/rankr/rankr/internal/vault"
)

// TestServeReconciles checks that serve reconciles on its own: an
// overpayment polled from GHL opens an exception, and its refund resolves it.
func TestServeReconciles(t *testing.T) {
	t.Parallel()
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb, url := startSandbox(t, sandbox.Config{Seed: 52, Orders: 0})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			key, _ := vault.ParseKey(vault.NewKey())
			cfg := daemon.Config{DB: db(t), MasterKey: key, Sync: syncer.Options{Slice: 50 * time.Millisecond},
				Jobs: jobs.Config{PollInterval: 100 * time.Millisecond, WalkInterval: time.Hour, ReconcileInterval: 100 * time.Millisecond}}
			// With an SMTP sink at hand (./scripts/test starts one), the
			// exception is also mailed to an operator, once.
			smtpAddr, mailpitAPI := os.Getenv(mailtest.SMTPEnv), os.Getenv(mailtest.MailpitEnv)
			ops := fmt.Sprintf("ops-%s-%d@example.com", name, time.Now().UnixNano())
			if smtpAddr != "" && mailpitAPI != "" {
				cfg.Mail = mailer.Config{URL: "smtp://" + smtpAddr, From: "rankr <rankr@example.com>"}
				cfg.AlertEmails = []string{ops}
			}
			d, err := daemon.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			connectAll(t, d, sb, url)
			l := sb.Locations()[0]
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()

			if cfg.AlertEmails != nil {
				// Alerts start from where the feed is when they are
				// first switched on (serve does this within a second).
				if _, err := d.Alerter.Queue(ctx); err != nil {
					t.Fatal(err)
				}
			}
			id, amount, err := sb.NewOrder(l.ID, sandbox.OrderSpec{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sb.PayOrder(l.ID, id, amount); err != nil {
				t.Fatal(err)
			}
			extra, err := sb.PayOrder(l.ID, id, 700)
			if err != nil {
				t.Fatal(err)
			}
			open := func() int {
				es, err := d.Store.ExceptionList(ctx, store.ExceptionListParams{LocationID: l.ID, RecordID: id, Kind: rankr.ExceptionOverpaid})
				if err != nil {
					t.Fatal(err)
				}
				return len(es)
			}
			testwait.Until(t, 3*time.Minute, "one open exception", func() bool { return open() == 1 })
			if cfg.AlertEmails != nil {
				mp := mailtest.Open(t)
				mails := mp.WaitFor(t, "to:"+ops, 1, time.Minute)
				if sub := mails[0].Subject; !strings.Contains(sub, rankr.ExceptionOverpaid) || !strings.HasSuffix(sub, ": order "+id) {
					t.Fatalf("alert subject %q", mails[0].Subject)
				}
			}
			if err := sb.Refund(l.ID, extra, 700); err != nil {
				t.Fatal(err)
			}
			testwait.Until(t, 3*time.Minute, "no open exception", func() bool { return open() == 0 })
			if cfg.AlertEmails != nil {
				// Resolving mails nothing: the one alert stays one.
				if n, err := d.Alerter.Queue(ctx); err != nil || n != 0 {
					t.Fatalf("after the resolution %d alerts were queued (%v)", n, err)
				}
				alerts, err := d.Store.NoticeList(ctx, store.ListParams{LocationID: l.ID, Limit: 100})
				if err != nil || len(alerts) != 1 || alerts[0].Kind != rankr.NoticeAlert || alerts[0].State != rankr.NoticeSent {
					t.Fatalf("notices %+v (%v), want the one alert, sent", alerts, err)
				}
			}
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("run: %v", err)
			}
		})
	}
}
