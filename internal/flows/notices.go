package flows

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"maps"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Notifier sends the mails in Rankr's notice outbox, each exactly once.
//
// An attempt claims a notice with a lease, renders it and sends it. Just
// before the end of the message data (the moment the SMTP server may
// accept the mail) it records the notice as committing, with its
// Message-ID. A failure before that is safe to retry, with backoff; a
// permanent refusal (a bad recipient, a refused message) marks the notice
// failed; an attempt that loses the server after that moment, or a sender
// that dies in it, leaves the notice unknown: it is never sent again
// automatically, since the customer may already have it. An operator who
// finds it was not delivered sends it again with NoticeRetry (`rankr
// notices retry`); it keeps its Message-ID, so a receiver can still drop a
// copy.
type Notifier struct {
	store  store.Store
	mailer *mailer.Mailer
	log    *slog.Logger
	now    func() time.Time // the record time; leases and due times are the database's
	// Lease is how long an attempt holds its notice (default 2 min); it
	// must be longer than the mailer's timeout, so that a live sender
	// always finishes its attempt before its lease runs out.
	Lease time.Duration
	// MaxAge is how long a notice may wait to be sent before it is failed
	// as stale (default 72 h).
	MaxAge time.Duration
	// RetryBase is the first wait after a mail was not sent (default 1 s);
	// it doubles with each attempt, up to 15 min.
	RetryBase time.Duration
}

// NewNotifier returns a notifier. Without a mailer it sends nothing and
// notices wait in the outbox.
func NewNotifier(st store.Store, m *mailer.Mailer, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{store: st, mailer: m, log: log, now: time.Now}
}

// Enabled reports whether the notifier can send.
func (n *Notifier) Enabled() bool { return n != nil && n.mailer != nil }

func (n *Notifier) lease() time.Duration { return cmp.Or(n.Lease, 2*time.Minute) }

// Send makes one attempt at a notice that is due, and returns the notice
// as it stands after it. It fails with rankr.ErrConflict when the notice
// is not due or another sender holds it.
func (n *Notifier) Send(ctx context.Context, id string) (rankr.Notice, error) {
	if !n.Enabled() {
		return rankr.Notice{}, errors.New("no mailer configured: set --smtp-url and --mail-from")
	}
	claimed, err := n.store.NoticeClaim(ctx, store.NoticeClaimParams{ID: id, Now: n.now(), Lease: n.lease()})
	if err != nil {
		return rankr.Notice{}, err
	}
	if _, err := n.attempt(ctx, claimed[0]); err != nil {
		return rankr.Notice{}, err
	}
	return n.store.NoticeGet(ctx, id)
}

// SendDue makes one attempt at every notice that is due, and returns how
// many it tried.
func (n *Notifier) SendDue(ctx context.Context) (int, error) {
	if !n.Enabled() {
		return 0, nil
	}
	tried := 0
	// One at a time: a notice is claimed only when it is about to be
	// sent, so that a round that stops (the server is down, the job is
	// cancelled) leaves the others due, not leased.
	for ctx.Err() == nil {
		claimed, err := n.store.NoticeClaim(ctx, store.NoticeClaimParams{Limit: 1, Now: n.now(), Lease: n.lease()})
		if err != nil || len(claimed) == 0 {
			return tried, err
		}
		tried++
		down, err := n.attempt(ctx, claimed[0])
		if err != nil || down {
			return tried, err // the next round tries again
		}
	}
	return tried, ctx.Err()
}

// attempt sends one claimed notice and records the outcome. It returns an
// error only when it could not record one, and reports whether the SMTP
// server could not be used at all (so the others need not try now).
func (n *Notifier) attempt(ctx context.Context, notice rankr.Notice) (serverDown bool, err error) {
	fin := store.NoticeFinishParams{ID: notice.ID, Lease: notice.Lease}
	msg, err := Render(notice, n.mailer.Domain())
	// A notice's age is measured with the database's clock, as its lease
	// is, not with this host's.
	dbNow, nowErr := n.store.Now(ctx)
	switch {
	case nowErr != nil:
		return false, nowErr // the lease runs out; the notice is due again
	case err != nil:
		fin.State, fin.Error = rankr.NoticeFailed, "cannot render the notice: "+err.Error()
	case dbNow.Sub(notice.CreatedAt) > cmp.Or(n.MaxAge, 72*time.Hour):
		fin.State, fin.Error = rankr.NoticeFailed, fmt.Sprintf("not sent within %s of being queued (last error: %s); given up as stale",
			cmp.Or(n.MaxAge, 72*time.Hour), cmp.Or(notice.LastError, "none"))
	default:
		fin, serverDown = n.send(ctx, notice, msg)
		if fin.State == "" {
			return false, nil // lost the lease before committing: the new holder sends it
		}
	}
	fin.Now = n.now()
	err = n.store.NoticeFinish(context.WithoutCancel(ctx), fin)
	if errors.Is(err, rankr.ErrConflict) {
		return serverDown, nil
	}
	return serverDown, err
}

// send sends a rendered notice and says how the attempt ended (no state:
// the attempt lost its lease before committing and sent nothing), and
// whether it failed before the server would take any mail.
func (n *Notifier) send(ctx context.Context, notice rankr.Notice, msg mailer.Message) (store.NoticeFinishParams, bool) {
	fin := store.NoticeFinishParams{ID: notice.ID, Lease: notice.Lease}
	var commitErr error
	err := n.mailer.Send(ctx, msg, func() error {
		// Recorded (durably) before the end of the data: if this process
		// dies from here on, the notice becomes unknown, never sent twice.
		commitErr = n.store.NoticeCommitting(ctx, store.NoticeCommittingParams{ID: notice.ID, Lease: notice.Lease,
			MessageID: msg.MessageID, For: n.lease(), Now: n.now()})
		return commitErr
	})
	log := n.log.With("notice", notice.ID, "kind", notice.Kind, "messageId", msg.MessageID, "attempt", notice.Attempts)
	switch {
	case err == nil:
		fin.State = rankr.NoticeSent
		log.Info("notice sent")
	case commitErr != nil && errors.Is(err, commitErr):
		if !errors.Is(commitErr, rankr.ErrConflict) {
			// Nothing was sent; the lease runs out and the notice is due
			// again.
			log.Warn("could not record a notice as committing; not sent", "error", commitErr)
		}
		return store.NoticeFinishParams{}, false
	case errors.Is(err, mailer.ErrOutcomeUnknown):
		fin.State, fin.Error = rankr.NoticeUnknown, err.Error()
		log.Error("notice outcome unknown: the SMTP server may have accepted it, so it is not sent again automatically; "+
			"look for its Message-ID in the mail server's log or the recipient's mailbox, and run `rankr notices retry ID` only if it did not arrive",
			"error", err)
	case errors.Is(err, mailer.ErrRejected):
		fin.State, fin.Error = rankr.NoticeFailed, err.Error()
		log.Error("notice refused by the SMTP server; not sent", "error", err)
	default: // not sent: try again later
		wait := min(time.Duration(1<<min(notice.Attempts-1, 10))*cmp.Or(n.RetryBase, time.Second), 15*time.Minute)
		fin.State, fin.Error, fin.RetryIn = rankr.NoticePending, err.Error(), wait
		log.Warn("notice not sent; will try again", "in", wait, "error", err)
		var merr *mailer.Error
		return fin, errors.As(err, &merr) && merr.BeforeMail()
	}
	return fin, false
}

//go:embed templates/*.tmpl
var templateFiles embed.FS

var (
	textTemplates = template.Must(template.ParseFS(templateFiles, "templates/*.txt.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.ParseFS(templateFiles, "templates/*.html.tmpl"))
)

// fulfillmentView is what the fulfillment templates see.
type fulfillmentView struct {
	rankr.FulfillmentNotice
	Trackings []trackingView
}

type trackingView struct {
	Number, Carrier string
	Link            string // the tracking page, when known
}

// Render builds the mail of a notice. Its Message-ID is derived from the
// notice's id and the sender's domain, so every attempt at one notice
// carries the same one.
func Render(n rankr.Notice, domain string) (mailer.Message, error) {
	msg := mailer.Message{MessageID: n.ID + "@" + domain, To: netmail.Address{Address: n.Recipient}}
	switch n.Kind {
	case rankr.NoticeFulfillment:
		var p rankr.FulfillmentNotice
		if err := json.Unmarshal(n.Payload, &p); err != nil {
			return msg, fmt.Errorf("fulfillment notice %s: %w", n.ID, err)
		}
		if len(p.Trackings) == 0 || p.OrderID == "" {
			return msg, fmt.Errorf("fulfillment notice %s has no order or no tracking", n.ID)
		}
		v := fulfillmentView{FulfillmentNotice: p}
		for _, t := range p.Trackings {
			v.Trackings = append(v.Trackings, trackingView{Number: t.Number, Carrier: t.Carrier, Link: trackingLink(t)})
		}
		msg.To.Name = p.CustomerName
		return msg, execute(&msg, "fulfillment", v)
	case rankr.NoticeAlert:
		var p rankr.AlertNotice
		if err := json.Unmarshal(n.Payload, &p); err != nil {
			return msg, fmt.Errorf("alert notice %s: %w", n.ID, err)
		}
		v := alertView{AlertNotice: p, Money: rankr.FormatMinor(p.Amount, p.Currency) + " " + p.Currency,
			Opened: p.OpenedAt.UTC().Format("2006-01-02 15:04 MST")}
		for _, k := range slices.Sorted(maps.Keys(p.Detail)) {
			v.Details = append(v.Details, fmt.Sprintf("%s: %v", k, p.Detail[k]))
		}
		return msg, execute(&msg, "alert", v)
	case rankr.NoticeMessage:
		var p rankr.MessageNotice
		if err := json.Unmarshal(n.Payload, &p); err != nil {
			return msg, fmt.Errorf("message notice %s: %w", n.ID, err)
		}
		if strings.TrimSpace(p.Subject) == "" {
			return msg, fmt.Errorf("message notice %s has no subject", n.ID)
		}
		return msg, execute(&msg, "message", p)
	}
	return msg, fmt.Errorf("notice %s: no template for kind %q", n.ID, n.Kind)
}

// alertView is what the alert templates see.
type alertView struct {
	rankr.AlertNotice
	Money, Opened string
	Details       []string // the figures behind the finding, "name: value", by name
}

func execute(msg *mailer.Message, name string, data any) error {
	var subject, text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&subject, name+".subject", data); err != nil {
		return err
	}
	if err := textTemplates.ExecuteTemplate(&text, name+".txt.tmpl", data); err != nil {
		return err
	}
	if err := htmlTemplates.ExecuteTemplate(&html, name+".html.tmpl", data); err != nil {
		return err
	}
	// A subject is one line, whatever the data held.
	msg.Subject = strings.Join(strings.Fields(subject.String()), " ")
	msg.Text, msg.HTML = text.String(), html.String()
	return nil
}

// trackingLink is the tracking page: the one given with the push when it
// is a web address, else the carrier's public page for the number.
func trackingLink(t rankr.Tracking) string {
	if u, err := url.Parse(t.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return t.URL
	}
	q := url.QueryEscape(t.Number)
	switch c := strings.ToLower(strings.ReplaceAll(t.Carrier, " ", "")); {
	case strings.HasPrefix(c, "ups"):
		return "https://www.ups.com/track?tracknum=" + q
	case strings.HasPrefix(c, "fedex"):
		return "https://www.fedex.com/fedextrack/?trknbr=" + q
	case strings.HasPrefix(c, "usps"):
		return "https://tools.usps.com/go/TrackConfirmAction?tLabels=" + q
	case strings.HasPrefix(c, "dhl"):
		return "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id=" + q
	}
	return ""
}
