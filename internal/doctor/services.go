package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// database checks that the database answers, and its migrations. It
// reports whether the database answered.
func (r *run) database(ctx context.Context) ([]Check, bool) {
	cctx, cancel := r.step(ctx)
	began := time.Now()
	dbNow, err := r.deps.Store.Now(cctx)
	took := time.Since(began)
	cancel()
	db := Check{ID: IDDatabase, Title: "Database",
		Meaning: "rankr keeps everything in it, webhooks included before GHL gets its answer; it answers."}
	if err != nil {
		db.Status, db.Detail = Fail, "no answer: "+err.Error()
		db.Meaning = "Without the database nothing syncs, pushes wait, and GHL's webhooks are answered 429 (GHL retries them a while)."
		db.Fix = "Check that the database runs and that --db (RANKR_DB) points at it; for SQLite, that the files are readable and the disk not full."
		mig := Check{ID: IDMigrations, Title: "Database migrations", Status: Skip, Detail: "not checked: the database did not answer",
			Meaning: "The schema is checked once the database answers."}
		return []Check{db, mig}, false
	}
	skew := dbNow.Sub(r.deps.Now())
	db.Status = Pass
	db.Detail = fmt.Sprintf("answered in %s; its clock is %s from this host's", round(took), round(skew))
	if skew > time.Minute || skew < -time.Minute {
		db.Status = Warn
		db.Meaning = "The database answers, but its clock and this host's disagree: leases and due times follow the database's, webhook ages this host's."
		db.Fix = "Keep every host's clock synchronized (NTP, chrony, systemd-timesyncd)."
	}

	mig := Check{ID: IDMigrations, Title: "Database migrations",
		Meaning: "The database's schema is the one this rankr was built for."}
	if r.deps.Schema == nil {
		mig.Status, mig.Detail = Skip, "not checked in this process"
		return []Check{db, mig}, true
	}
	cctx, cancel = context.WithTimeout(ctx, 3*r.deps.Timeout) // may wait for the migration lock
	s, err := r.deps.Schema(cctx)
	cancel()
	if s.Kind != "" {
		db.Detail = s.Kind + " " + db.Detail
	}
	if err != nil {
		mig.Status, mig.Detail = Fail, err.Error()
		mig.Meaning = "This rankr and the database disagree on the schema: rankr refuses to run on it rather than misread it."
		mig.Fix = "Run the rankr release that migrated the database (or a newer one) everywhere; an applied migration is never edited."
		return []Check{db, mig}, true
	}
	mig.Status = Pass
	mig.Detail = fmt.Sprintf("%d migrations applied, the newest %s; none pending, none unknown to this rankr", s.Applied, s.Newest)
	return []Check{db, mig}, true
}

// errNoCommit ends the SMTP check's session before the message is
// committed.
var errNoCommit = errors.New("rankr doctor: stopping before the end of the message")

// smtp checks the SMTP server through the path notices take: connect,
// TLS, EHLO, STARTTLS, login, sender and recipient, the message itself, and
// then no end-of-data mark. A session that ends without the mark delivers
// nothing (see mailer.Send), so this proves more than a greeting (the login
// and the sender are what fail in practice) and sends no mail.
func (r *run) smtp(ctx context.Context) Check {
	c := Check{ID: IDSMTP, Title: "SMTP server", Meaning: "Rankr can mail customers its own notices and operators their alerts."}
	cfg := r.deps.Mail
	if cfg.URL == "" {
		c.Status, c.Detail = Skip, "not configured (--smtp-url, --mail-from)"
		c.Meaning = "Rankr sends no mail itself: pushes that notify the customer ask GHL to, and alerts go only to webhooks."
		return c
	}
	cfg.Timeout = r.deps.Timeout
	m, err := mailer.New(cfg)
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		c.Fix = "Fix --smtp-url (RANKR_SMTP_URL) and --mail-from (RANKR_MAIL_FROM)."
		return c
	}
	from := m.From()
	msg := mailer.Message{MessageID: fmt.Sprintf("doctor.%d@%s", r.deps.Now().UnixNano(), m.Domain()),
		To: netmail.Address{Address: from.Address}, Subject: "rankr doctor (not sent)", Text: "rankr doctor checks the SMTP session; this message is never committed."}
	cctx, cancel := r.step(ctx)
	defer cancel()
	began := time.Now()
	err = m.Send(cctx, msg, func() error { return errNoCommit })
	took := time.Since(began)
	if errors.Is(err, errNoCommit) {
		c.Status = Pass
		c.Detail = fmt.Sprintf("%s took the session up to the message's end in %s (greeting, TLS and login as configured, sender %s and recipient accepted); nothing was sent",
			m, round(took), from.Address)
		return c
	}
	c.Status = Fail
	if err == nil {
		// Send commits only after the callback, which refused: this
		// cannot be, but saying so beats a false pass.
		c.Detail = m.String() + ": the session ended without the check's refusal"
		return c
	}
	c.Detail = err.Error()
	c.Meaning = "Rankr's notices and alert mails cannot be sent: they wait (notices are retried) until the server takes them."
	var merr *mailer.Error
	if errors.As(err, &merr) {
		switch merr.Step {
		case "connect":
			c.Fix = "Check the SMTP host and port in --smtp-url, and that this host may connect to it (firewall)."
		case "tls":
			c.Fix = "The server's TLS failed or it offers no STARTTLS: use smtps:// (port 465), fix its certificate, or add ?tls=optional only on a trusted network."
		case "auth":
			c.Fix = "The server refused the login: check the user and password in --smtp-url (prefer RANKR_SMTP_URL, which keeps them out of process lists)."
		case "mail", "rcpt":
			c.Fix = "The server refused the sender or recipient: use a --mail-from address the server may send as."
		}
	}
	if c.Fix == "" {
		c.Fix = "Look at the message, and at the SMTP server's log."
	}
	return c
}

// outbound checks that every enabled outbound endpoint's host answers,
// through the client (and its address guard) deliveries go through. A HEAD
// of the endpoint's URL delivers nothing: any HTTP answer means the
// endpoint can be reached.
func (r *run) outbound(ctx context.Context) Check {
	c := Check{ID: IDOutbound, Title: "Outbound endpoints", Meaning: "Every enabled endpoint that Rankr sends its changes to can be reached."}
	if r.deps.Outbound == nil {
		c.Status, c.Detail = Skip, "not checked in this process"
		return c
	}
	cctx, cancel := r.step(ctx)
	eps, err := r.deps.Store.WebhookEndpointList(cctx, store.WebhookEndpointListParams{})
	cancel()
	if err != nil {
		c.Status, c.Detail = Fail, "listing the endpoints: "+err.Error()
		c.Fix = "Fix the database first."
		return c
	}
	var enabled []rankr.WebhookEndpoint
	disabled := 0
	for _, ep := range eps {
		if ep.Enabled && ep.RemovedAt.IsZero() {
			enabled = append(enabled, ep)
		} else if ep.RemovedAt.IsZero() {
			disabled++
		}
	}
	if len(enabled) == 0 {
		c.Status, c.Detail = Skip, "no enabled endpoint"
		if disabled > 0 {
			c.Detail += fmt.Sprintf(" (%d disabled)", disabled)
		}
		c.Meaning = "Rankr sends its changes to nobody (rankr webhooks add URL to subscribe)."
		return c
	}
	// The client is the deliveries' own kind (its guard); its connections
	// are not kept for them.
	defer r.deps.Outbound.CloseIdleConnections()
	results := make([]string, len(enabled))
	failed := make([]bool, len(enabled))
	denied := false
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, ep := range enabled {
		wg.Go(func() {
			status, err := r.reach(ctx, ep.URL)
			if err != nil {
				failed[i] = true
				results[i] = fmt.Sprintf("%s (%s): %v", ep.ID, endpointHost(ep.URL), err)
				if errors.Is(err, outbound.ErrDenied) {
					mu.Lock()
					denied = true
					mu.Unlock()
				}
				return
			}
			results[i] = fmt.Sprintf("%s (%s) answered %d", ep.ID, endpointHost(ep.URL), status)
		})
	}
	wg.Wait()
	var bad, good []string
	for i := range enabled {
		if failed[i] {
			bad = append(bad, results[i])
		} else {
			good = append(good, results[i])
		}
	}
	c.Status = Pass
	c.Detail = fmt.Sprintf("%d of %d enabled endpoints reached", len(good), len(enabled))
	if len(good) > 0 {
		c.Detail += ": " + strings.Join(good, "; ")
	}
	if len(bad) > 0 {
		c.Status = Fail
		c.Detail += "; unreachable: " + strings.Join(bad, "; ")
		c.Meaning = "Deliveries to the unreachable endpoints fail, back off and end dead-lettered (replayable) if the endpoint stays down."
		c.Fix = "Check the endpoints' hosts are up and reachable from this host (DNS, firewall); disable those no longer used (rankr webhooks disable ID)."
		if denied {
			c.Fix += " An address Rankr refuses to send to (loopback, private) needs --webhook-allow CIDR on serve (and doctor) if you mean it."
		}
	}
	if disabled > 0 {
		c.Detail += fmt.Sprintf(" (%d disabled, not checked)", disabled)
	}
	return c
}

// reach sends a HEAD to an endpoint and returns the status it answered.
func (r *run) reach(ctx context.Context, raw string) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, min(r.deps.Timeout, 5*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodHead, raw, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "rankr-doctor")
	resp, err := r.deps.Outbound.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a token in its query: not repeated
		}
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// endpointHost shows an endpoint by scheme and host only: its path or
// query may hold a subscriber's secret.
func endpointHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}
