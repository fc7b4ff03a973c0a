// Package mailer sends Rankr's own mail over SMTP, one message per
// connection, and says precisely how a failed send ended: not sent (safe to
// try again), rejected for good, or of unknown outcome (the end of the
// message data may have reached the server, so sending again could deliver
// it twice). To know which, it drives the SMTP transaction step by step
// (github.com/wneessen/go-mail's smtp package) and calls back just before
// the end-of-data mark, so the caller can record that a mail is being
// committed; go-mail builds the MIME message.
//
// The SMTP password never appears in errors or in String.
//
// Package mailer imports nothing of ours.
package mailer

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Config says where and how to send mail.
type Config struct {
	// URL is the SMTP server: smtp://[user:password@]host[:port] (port 587
	// by default; STARTTLS when the server offers it) or smtps://… (port
	// 465, TLS from the start). STARTTLS is required unless the host is a
	// loopback address or the URL says ?tls=optional.
	URL string
	// From is the sender, "Name <address>" or an address.
	From string
	// Timeout bounds one send, connection included (default 1 min).
	Timeout time.Duration
	// TLS, when set, is used for TLS connections (tests set RootCAs).
	TLS *tls.Config
}

// Mailer sends mail through one SMTP server.
type Mailer struct {
	host, port  string
	user, pass  string
	implicitTLS bool
	requireTLS  bool
	from        *netmail.Address
	timeout     time.Duration
	tls         *tls.Config
	redacted    string
}

// New checks the configuration and returns a mailer. It does not connect.
func New(cfg Config) (*Mailer, error) {
	red := Redact(cfg.URL)
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("SMTP URL %s: not a URL", red)
	}
	m := &Mailer{host: u.Hostname(), port: u.Port(), timeout: cmp.Or(cfg.Timeout, time.Minute), redacted: red}
	switch u.Scheme {
	case "smtp":
		m.port = cmp.Or(m.port, "587")
	case "smtps":
		m.port, m.implicitTLS = cmp.Or(m.port, "465"), true
	default:
		return nil, fmt.Errorf("SMTP URL %s: use smtp:// or smtps://", red)
	}
	if m.host == "" {
		return nil, fmt.Errorf("SMTP URL %s: no host", red)
	}
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
	}
	switch mode := u.Query().Get("tls"); mode {
	case "":
		m.requireTLS = !isLoopback(m.host)
	case "required":
		m.requireTLS = true
	case "optional":
	default:
		return nil, fmt.Errorf("SMTP URL %s: tls=%s: want tls=required or tls=optional", red, mode)
	}
	if cfg.From == "" {
		return nil, errors.New("no sender: set the From address (--mail-from, RANKR_MAIL_FROM)")
	}
	if m.from, err = netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("sender %q: %w", cfg.From, err)
	}
	m.tls = &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		m.tls = cfg.TLS.Clone()
		m.tls.ServerName = cmp.Or(m.tls.ServerName, m.host)
	}
	return m, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redact hides the password of an SMTP URL, for messages and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	// Only a URL that parsed into smtp(s)://[user[:password]@]host is
	// shown: anything else may hold a password where the parser did not
	// look for one ("user:secret@host:587" parses as scheme "user").
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Opaque != "" || u.Host == "" {
		return "(an SMTP URL that does not parse as smtp://user:password@host:port)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// String describes the server, without the password.
func (m *Mailer) String() string { return m.redacted }

// From returns the sender.
func (m *Mailer) From() netmail.Address { return *m.from }

// Domain is the sender's domain, for Message-IDs.
func (m *Mailer) Domain() string {
	return cmp.Or(m.senderDomain(), "rankr.invalid")
}

// senderDomain is what follows the sender address's last @ (a quoted local
// part may hold one too).
func (m *Mailer) senderDomain() string {
	at := strings.LastIndex(m.from.Address, "@")
	if at < 0 {
		return ""
	}
	return m.from.Address[at+1:]
}

// helloName is the name the mailer greets the server with (EHLO): the
// sender's domain, which a server can check against the sender, else the
// host's name. "localhost" from a remote host gets mail scored as spam or
// refused.
func (m *Mailer) helloName() string {
	if domain := m.senderDomain(); validHello(domain) {
		return domain
	}
	if host, err := os.Hostname(); err == nil && validHello(host) {
		return host
	}
	return "localhost"
}

// validHello reports whether name can follow EHLO: a domain of letters,
// digits, hyphens and dots, or an address literal in brackets.
func validHello(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		return !strings.ContainsAny(name[1:len(name)-1], "[] \r\n")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Message is one mail.
type Message struct {
	// MessageID is the Message-ID header, without angle brackets. A mail
	// sent again keeps it, so that receivers can drop the copy.
	MessageID string
	To        netmail.Address
	Subject   string
	Text      string
	HTML      string // optional alternative
	Date      time.Time
}

// Outcome sentinels, for errors.Is on a *Error.
var (
	// ErrNotSent: the server did not take the mail; sending again is safe.
	ErrNotSent = errors.New("mail not sent")
	// ErrRejected: the server refused the mail for good (a 5xx answer to
	// the recipient or to the message).
	ErrRejected = errors.New("mail rejected")
	// ErrOutcomeUnknown: the end of the message data was sent and no
	// answer came; the server may have accepted the mail.
	ErrOutcomeUnknown = errors.New("mail outcome unknown")
)

// Error is a failed send: the step it failed at, the server's reply code
// when there was one, and the outcome.
type Error struct {
	Outcome error  // ErrNotSent, ErrRejected or ErrOutcomeUnknown
	Server  string // the server, redacted
	Step    string // connect, tls, hello, auth, mail, rcpt, data, commit, message
	Code    int    // the SMTP reply code, 0 without one
	Err     error
}

// BeforeMail reports whether the send failed before the server would take
// any mail (connecting, TLS, greeting, login, the sender), which says more
// about the server or the configuration than about this mail.
func (e *Error) BeforeMail() bool {
	switch e.Step {
	case "connect", "tls", "hello", "auth", "mail":
		return true
	}
	return false
}

func (e *Error) Error() string {
	return fmt.Sprintf("SMTP %s: %s: %v (%v)", e.Server, e.Step, e.Err, e.Outcome)
}

// Unwrap returns the outcome and the cause.
func (e *Error) Unwrap() []error { return []error{e.Outcome, e.Err} }

// Send delivers one message. beforeCommit, when not nil, is called once the
// whole message is written and just before the end-of-data mark that asks
// the server to accept it; if it fails, the mail is not sent and its error
// is returned. Any error Send returns otherwise is a *Error.
func (m *Mailer) Send(ctx context.Context, msg Message, beforeCommit func() error) error {
	body, err := m.build(msg)
	if err != nil {
		return &Error{Outcome: ErrRejected, Server: m.redacted, Step: "message", Err: err}
	}
	own := time.Now().Add(m.timeout) // the mailer's own deadline
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	addr := net.JoinHostPort(m.host, m.port)
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return m.fail("connect", err, false)
	}
	wc := &watchConn{Conn: raw}
	defer wc.Close()
	// The context's end interrupts whatever the connection is doing.
	deadline, _ := ctx.Deadline()
	_ = wc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = wc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var conn net.Conn = wc
	if m.implicitTLS {
		tc := tls.Client(wc, m.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return m.fail("tls", err, false)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return m.fail("connect", err, false)
	}
	if err := c.Hello(m.helloName()); err != nil {
		return m.fail("hello", err, false)
	}
	secure := m.implicitTLS
	if !secure {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(m.tls); err != nil {
				return m.fail("tls", err, false)
			}
			secure = true
		} else if m.requireTLS {
			return m.fail("tls", errors.New("the server does not offer STARTTLS; refusing to send in clear to a host that is not loopback (add ?tls=optional to the URL to allow it)"), false)
		}
	}
	if m.user != "" {
		if err := c.Auth(m.auth(c, secure)); err != nil {
			return m.fail("auth", err, false)
		}
	}
	if err := c.Mail("<" + m.from.Address + ">"); err != nil {
		return m.fail("mail", err, false)
	}
	if err := c.Rcpt("<" + msg.To.Address + ">"); err != nil {
		return m.fail("rcpt", err, true)
	}
	w, err := c.Data()
	if err != nil {
		return m.fail("data", err, true)
	}
	if _, err := w.Write(body); err != nil {
		return m.fail("data", err, false)
	}
	// Put everything but the end-of-data mark on the wire, so that the
	// only bytes written while committing are the mark itself.
	if err := c.Text.W.Flush(); err != nil {
		return m.fail("data", err, false)
	}
	if beforeCommit != nil {
		if err := beforeCommit(); err != nil {
			return err // the connection closes without the mark: nothing is delivered
		}
	}
	// From here the server may accept the mail: a caller giving up (a
	// shutdown) must not cut the answer off, which would leave the mail's
	// fate unknown; only the mailer's own timeout still applies.
	stop()
	_ = wc.SetDeadline(own)
	wc.commit()
	if err := w.Close(); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			if te.Code/100 == 2 {
				return nil // accepted, with a reply other than 250
			}
			// A refusal: the server has decided, and said why.
			return m.fail("commit", err, true)
		}
		if !wc.wroteInCommit() {
			return m.fail("commit", err, false) // the mark never left
		}
		return &Error{Outcome: ErrOutcomeUnknown, Server: m.redacted, Step: "commit", Err: err}
	}
	_ = c.Quit() // the mail is accepted; how the session ends does not matter
	return nil
}

// fail classifies an error before the mail was committed. A reply of 4xx
// is temporary; 5xx is final for the mail only at the steps that concern
// it (recipient, data, commit): refusals at the others (hello, auth, the
// sender) are about the configuration, so trying again later is right.
func (m *Mailer) fail(step string, err error, aboutTheMail bool) error {
	e := &Error{Outcome: ErrNotSent, Server: m.redacted, Step: step, Err: err}
	var te *textproto.Error
	if errors.As(err, &te) {
		e.Code = te.Code
		if te.Code >= 500 && aboutTheMail {
			e.Outcome = ErrRejected
		}
	}
	return e
}

// auth picks PLAIN, else LOGIN. Credentials go in clear only where clear
// text is allowed at all (loopback, or tls=optional).
func (m *Mailer) auth(c *smtp.Client, secure bool) smtp.Auth {
	allowClear := !secure && !m.requireTLS
	if ok, mechs := c.Extension("AUTH"); ok && !strings.Contains(strings.ToUpper(mechs), "PLAIN") && strings.Contains(strings.ToUpper(mechs), "LOGIN") {
		return smtp.LoginAuth(m.user, m.pass, m.host, allowClear)
	}
	return smtp.PlainAuth("", m.user, m.pass, m.host, allowClear)
}

// build renders the MIME message.
func (m *Mailer) build(msg Message) ([]byte, error) {
	if msg.MessageID == "" || strings.ContainsAny(msg.MessageID, "<> \r\n") || !strings.Contains(msg.MessageID, "@") {
		return nil, fmt.Errorf("bad Message-ID %q", msg.MessageID)
	}
	if _, err := netmail.ParseAddress(msg.To.Address); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", msg.To.Address, err)
	}
	mm := mail.NewMsg()
	mm.FromMailAddress(m.from)
	mm.ToMailAddress(&msg.To)
	mm.Subject(msg.Subject)
	mm.SetMessageIDWithValue(msg.MessageID)
	mm.SetDateWithValue(cmp.Or(msg.Date, time.Now()))
	mm.SetUserAgent("rankr")
	mm.SetGenHeader("Auto-Submitted", "auto-generated")
	mm.SetBodyString(mail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		mm.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	}
	var buf bytes.Buffer
	if _, err := mm.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("building the message: %w", err)
	}
	return buf.Bytes(), nil
}

// watchConn notes whether any byte was written after commit: if none was,
// the end-of-data mark never left and the mail was not delivered.
type watchConn struct {
	net.Conn
	mu         sync.Mutex
	committing bool
	wrote      bool
}

func (c *watchConn) commit() {
	c.mu.Lock()
	c.committing = true
	c.mu.Unlock()
}

func (c *watchConn) wroteInCommit() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wrote
}

func (c *watchConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	if c.committing && n > 0 {
		c.wrote = true
	}
	c.mu.Unlock()
	return n, err
}
