package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/web"
)

// MailFlags configure Rankr's own mail (customer notices). The URL holds
// the SMTP password: prefer the environment variable to the flag, which
// other users of the machine can see in the process list.
type MailFlags struct {
	SMTPURL  string `help:"SMTP server for Rankr's own customer notices: smtp://user:password@host:587 (STARTTLS, required off loopback unless ?tls=optional) or smtps://…:465. With it, --notify means Rankr emails the customer and GHL does not. Prefer the environment variable: the URL holds the password." name:"smtp-url" env:"RANKR_SMTP_URL"`
	MailFrom string `help:"Sender of Rankr's notices, e.g. 'Shop <shop@example.com>'." name:"mail-from" env:"RANKR_MAIL_FROM"`
}

func (f MailFlags) config() mailer.Config {
	return mailer.Config{URL: f.SMTPURL, From: f.MailFrom}
}

// NoticesCmd lists Rankr's notices and sends one again.
type NoticesCmd struct {
	List  NoticesListCmd  `cmd:"" help:"List notices, newest first."`
	Retry NoticesRetryCmd `cmd:"" help:"Send an unknown or failed notice again (check first that it did not arrive)."`
	DataFlags
}

// NoticesListCmd lists notices.
type NoticesListCmd struct {
	Location string `help:"Only this location." env:"RANKR_LOCATION"`
	State    string `help:"Only this state: pending, sending, committing, sent, failed, unknown."`
	Limit    int    `help:"At most this many." default:"50"`
	JSON     bool   `help:"Print a JSON array." name:"json"`
}

// Run lists.
func (c *NoticesListCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	page, err := d.App.Notices(ctx, host(), app.RecordQuery{Location: c.Location, Status: c.State, Limit: pageLimit(c.Limit)})
	if err != nil {
		return err
	}
	list := page.Items
	if c.JSON {
		return writeJSON(g.stdout, list)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLOCATION\tKIND\tFOR\tTO\tSTATE\tATTEMPTS\tMESSAGE-ID\tSENT\tLAST ERROR")
	for _, n := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", n.ID, n.LocationID, n.Kind, n.DedupeKey, n.Recipient, n.State,
			n.Attempts, dash(n.MessageID), when(n.SentAt), dash(n.LastError))
	}
	return tw.Flush()
}

// NoticesRetryCmd sends a notice again.
type NoticesRetryCmd struct {
	ID string `arg:"" help:"The notice's id (rankr notices list)."`
}

// Run makes the notice pending again; serve sends it.
func (c *NoticesRetryCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.App.RetryNotice(ctx, host(), c.ID); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "notice %s will be sent again by `rankr serve` (same Message-ID, so a receiver that has it can drop the copy)\n", c.ID)
	return nil
}

// printNotices adds to the status what needs an operator: notices of
// unknown outcome, failed ones, and ones waiting.
func printNotices(w io.Writer, st []web.LocationStatus) {
	total := map[rankr.NoticeState]int{}
	for _, s := range st {
		for state, n := range s.Notices {
			total[state] += n
		}
	}
	if len(total) == 0 {
		return
	}
	var parts []string
	for _, state := range []rankr.NoticeState{rankr.NoticeSent, rankr.NoticePending, rankr.NoticeSending, rankr.NoticeCommitting,
		rankr.NoticeUnknown, rankr.NoticeFailed} {
		if total[state] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", total[state], state))
		}
	}
	fmt.Fprintf(w, "\ncustomer notices: %s\n", strings.Join(parts, ", "))
	if total[rankr.NoticeUnknown] > 0 {
		fmt.Fprintln(w, "  unknown: the SMTP server may have accepted them, so they are not sent again by themselves. Look for their",
			"Message-ID (rankr notices list --state unknown) in the mail server's log; if one did not arrive, `rankr notices retry ID`.")
	}
	if total[rankr.NoticeFailed] > 0 {
		fmt.Fprintln(w, "  failed: refused by the SMTP server or given up (rankr notices list --state failed says why);",
			"fix the cause, then `rankr notices retry ID`.")
	}
	if total[rankr.NoticePending] > 0 {
		fmt.Fprintln(w, "  pending: `rankr serve` with --smtp-url and --mail-from sends them.")
	}
}

// sendNotice tries, until the deadline, to send the notice of a push that
// Rankr notifies, as `rankr fulfill` does after the push lands; serve
// carries on after that.
func sendNotice(ctx context.Context, g *Globals, d *daemon.Daemon, push rankr.FulfillmentPush, deadline time.Time) error {
	id := rankr.NoticeID(rankr.NoticeFulfillment, push.FulfillmentID)
	for {
		n, err := d.Notifier.Send(ctx, id)
		if errors.Is(err, rankr.ErrConflict) {
			n, err = d.Store.NoticeGet(ctx, id)
		}
		if err != nil {
			return err
		}
		switch n.State {
		case rankr.NoticeSent:
			fmt.Fprintf(g.stdout, "customer notified by Rankr at %s (Message-ID <%s>)\n", n.Recipient, n.MessageID)
			return nil
		case rankr.NoticeFailed:
			return fmt.Errorf("the customer notice %s was not sent: %s", n.ID, n.LastError)
		case rankr.NoticeUnknown:
			fmt.Fprintf(g.stdout, "customer notice %s: outcome unknown (%s); it is not sent again by itself: see `rankr status`\n", n.ID, n.LastError)
			return nil
		}
		wait := time.Until(n.NextAttemptAt)
		if slices.Contains([]rankr.NoticeState{rankr.NoticeSending, rankr.NoticeCommitting}, n.State) || time.Now().Add(wait).After(deadline) {
			fmt.Fprintf(g.stdout, "customer notice %s not sent yet (%s%s); `rankr serve` sends it, once\n", n.ID, n.State, lastError(n.LastError))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(wait, 0)):
		}
	}
}

func lastError(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// logMail says at start whether Rankr sends notices itself, and warns
// when notices wait with no one to send them.
func logMail(ctx context.Context, log *slog.Logger, d *daemon.Daemon, smtpURL string) {
	if d.Notifier.Enabled() {
		log.Info("customer notices by Rankr", "smtp", mailer.Redact(smtpURL))
		return
	}
	if counts, err := d.Store.NoticeCounts(ctx, ""); err == nil && counts[rankr.NoticePending] > 0 {
		log.Warn("customer notices are waiting but no SMTP server is configured (--smtp-url, --mail-from)", "pending", counts[rankr.NoticePending])
	}
}
