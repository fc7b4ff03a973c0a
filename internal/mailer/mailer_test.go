package mailer_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/mailer/mailtest"
)

const secret = "s3cret-pa55word"

func TestNew(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url, from string
		wantErr   string
		wantShown string
	}{
		{url: "smtp://127.0.0.1:2525", from: "shop@example.com", wantShown: "smtp://127.0.0.1:2525"},
		{url: "smtp://user:" + secret + "@mail.example.com", from: "Shop <shop@example.com>", wantShown: "smtp://user:xxxxx@mail.example.com"},
		{url: "smtps://user:" + secret + "@mail.example.com:465", from: "shop@example.com", wantShown: "smtps://user:xxxxx@mail.example.com:465"},
		{url: "smtp://mail.example.com?tls=optional", from: "shop@example.com", wantShown: "smtp://mail.example.com?tls=optional"},
		{url: "smtp://user:" + secret + "@mail.example.com?tls=maybe", from: "shop@example.com", wantErr: "tls=maybe"},
		{url: "http://user:" + secret + "@mail.example.com", from: "shop@example.com", wantErr: "use smtp:// or smtps://"},
		{url: "smtp://user:" + secret + "@", from: "shop@example.com", wantErr: "no host"},
		{url: "smtp://user:" + secret + "@mail.example.com", from: "", wantErr: "no sender"},
		{url: "smtp://user:" + secret + "@mail.example.com", from: "not an address", wantErr: "sender"},
		{url: "smtp://user:" + secret + "@[::1", from: "shop@example.com", wantErr: "not a URL"},
		// Mistyped: the parser finds no password where the user put one.
		{url: "user:" + secret + "@mail.example.com:587", from: "shop@example.com", wantErr: "use smtp:// or smtps://"},
		{url: "smtp//user:" + secret + "%zz@mail.example.com", from: "shop@example.com", wantErr: "not a URL"},
		{url: "smtp:user:" + secret + "@mail.example.com", from: "shop@example.com", wantErr: "no host"},
	}
	for _, c := range cases {
		m, err := mailer.New(mailer.Config{URL: c.url, From: c.from})
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", mailer.Redact(c.url), err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the password is in the error: %v", mailer.Redact(c.url), err)
			}
		case err != nil:
			t.Errorf("%s: %v", mailer.Redact(c.url), err)
		case m.String() != c.wantShown:
			t.Errorf("shown as %q, want %q", m.String(), c.wantShown)
		}
	}
	if got := mailer.Redact("smtp://u:" + secret + "@[::1"); strings.Contains(got, secret) {
		t.Errorf("Redact of a bad URL shows the password: %s", got)
	}
}

// TestTLSRules: where TLS is required (the default off loopback) and the
// server offers no STARTTLS (mailpit here), the mailer refuses before any
// credential is sent.
func TestTLSRules(t *testing.T) {
	t.Parallel()
	mp := mailtest.Open(t)
	m, err := mailer.New(mailer.Config{URL: "smtp://user:" + secret + "@" + mp.SMTP + "?tls=required", From: "shop@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), message(t, "tls"), nil)
	if !errors.Is(err, mailer.ErrNotSent) || !strings.Contains(err.Error(), "STARTTLS") || strings.Contains(err.Error(), secret) {
		t.Fatalf("clear text with tls=required: %v", err)
	}
}

func message(t *testing.T, tag string) mailer.Message {
	var b [6]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	return mailer.Message{
		MessageID: fmt.Sprintf("%s-%s@rankr.test", tag, id),
		To:        netmail.Address{Name: "Ada Lovelace", Address: fmt.Sprintf("ada-%s@example.com", id)},
		Subject:   "Your order has shipped",
		Text:      "Tracking: 1Z999 (UPS)",
		HTML:      "<p>Tracking: <b>1Z999</b> (UPS)</p>",
		Date:      time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

func query(msg mailer.Message) string { return fmt.Sprintf("message-id:%q", msg.MessageID) }

func TestSend(t *testing.T) {
	t.Parallel()
	mp := mailtest.Open(t)
	m, err := mailer.New(mailer.Config{URL: "smtp://rankr:" + secret + "@" + mp.SMTP, From: "Shop <shop@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	msg := message(t, "send")
	committing := 0
	if err := m.Send(context.Background(), msg, func() error { committing++; return nil }); err != nil {
		t.Fatal(err)
	}
	if committing != 1 {
		t.Fatalf("beforeCommit called %d times", committing)
	}
	got := mp.WaitFor(t, query(msg), 1, 10*time.Second)
	full := mp.Get(t, got[0].ID)
	if full.MessageID != msg.MessageID || full.Subject != msg.Subject || full.From.Address != "shop@example.com" ||
		len(full.To) != 1 || full.To[0].Address != msg.To.Address || !strings.Contains(full.Text, "1Z999") ||
		!strings.Contains(full.HTML, "<b>1Z999</b>") {
		t.Fatalf("received %+v", full)
	}
}

// TestSendFaults drives every way a send can fail and checks what Send
// says against what the server really got: "not sent" must mean nothing
// was delivered (so sending again delivers once), "unknown" is said only
// when the server may have the mail.
func TestSendFaults(t *testing.T) {
	t.Parallel()
	mp := mailtest.Open(t)
	cases := map[string]struct {
		fault     mailtest.Fault
		want      error
		delivered bool // the server has the mail
		committed bool // beforeCommit was called
	}{
		"auth refused":           {fault: mailtest.Fault{At: "AUTH", Reply: "535 5.7.8 authentication credentials invalid"}, want: mailer.ErrNotSent},
		"sender refused":         {fault: mailtest.Fault{At: "MAIL", Reply: "553 5.7.1 sender not allowed"}, want: mailer.ErrNotSent},
		"busy at MAIL":           {fault: mailtest.Fault{At: "MAIL", Reply: "451 4.3.0 try again later"}, want: mailer.ErrNotSent},
		"mailbox busy":           {fault: mailtest.Fault{At: "RCPT", Reply: "450 4.2.1 mailbox busy"}, want: mailer.ErrNotSent},
		"no such user":           {fault: mailtest.Fault{At: "RCPT", Reply: "550 5.1.1 no such user"}, want: mailer.ErrRejected},
		"dropped at MAIL":        {fault: mailtest.Fault{At: "MAIL", Drop: true}, want: mailer.ErrNotSent},
		"dropped before DATA":    {fault: mailtest.Fault{At: "DATA", Drop: true}, want: mailer.ErrNotSent},
		"queue full at the end":  {fault: mailtest.Fault{At: ".", Reply: "452 4.3.1 queue full"}, want: mailer.ErrNotSent, committed: true},
		"content refused":        {fault: mailtest.Fault{At: ".", Reply: "554 5.7.1 message refused"}, want: mailer.ErrRejected, committed: true},
		"dropped after the mark": {fault: mailtest.Fault{At: ".", Drop: true}, want: mailer.ErrOutcomeUnknown, delivered: true, committed: true},
		"no answer to the mark":  {fault: mailtest.Fault{At: ".", Stall: true}, want: mailer.ErrOutcomeUnknown, delivered: true, committed: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			proxy := mailtest.NewProxy(t, mp.SMTP, c.fault)
			m, err := mailer.New(mailer.Config{URL: "smtp://rankr:" + secret + "@" + proxy.Addr, From: "shop@example.com", Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			msg := message(t, "fault")
			committed := false
			err = m.Send(context.Background(), msg, func() error { committed = true; return nil })
			var merr *mailer.Error
			if !errors.Is(err, c.want) || !errors.As(err, &merr) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the password is in the error: %v", err)
			}
			if committed != c.committed {
				t.Fatalf("beforeCommit called: %v, want %v", committed, c.committed)
			}
			if c.delivered {
				mp.WaitFor(t, query(msg), 1, 10*time.Second)
				return
			}
			// Not delivered: the server never got the end of the data, so
			// nothing can arrive later. Sending again delivers it once.
			if got := mp.Search(t, query(msg)); len(got) != 0 {
				t.Fatalf("%s delivered the mail", name)
			}
			if errors.Is(err, mailer.ErrNotSent) {
				if err := m.Send(context.Background(), msg, nil); err != nil {
					t.Fatal(err)
				}
				mp.WaitFor(t, query(msg), 1, 10*time.Second)
			}
		})
	}
}

func TestBeforeCommitCanStopTheMail(t *testing.T) {
	t.Parallel()
	mp := mailtest.Open(t)
	m, err := mailer.New(mailer.Config{URL: "smtp://" + mp.SMTP, From: "shop@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	msg := message(t, "stop")
	lost := errors.New("lease lost")
	if err := m.Send(context.Background(), msg, func() error { return lost }); !errors.Is(err, lost) {
		t.Fatalf("error %v", err)
	}
	// Prove the server is done with the connection: a later mail arrives,
	// the stopped one does not.
	next := message(t, "after-stop")
	if err := m.Send(context.Background(), next, nil); err != nil {
		t.Fatal(err)
	}
	mp.WaitFor(t, query(next), 1, 10*time.Second)
	if got := mp.Search(t, query(msg)); len(got) != 0 {
		t.Fatal("a mail stopped before its end was delivered")
	}
}

func TestBadMessages(t *testing.T) {
	t.Parallel()
	m, err := mailer.New(mailer.Config{URL: "smtp://127.0.0.1:1", From: "shop@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for name, msg := range map[string]mailer.Message{
		"no message id":     {To: netmail.Address{Address: "a@example.com"}},
		"bad message id":    {MessageID: "a b@c", To: netmail.Address{Address: "a@example.com"}},
		"no recipient":      {MessageID: "a@b"},
		"bad recipient":     {MessageID: "a@b", To: netmail.Address{Address: "not-an-address"}},
		"header injection":  {MessageID: "a@b\r\nBcc: x@y", To: netmail.Address{Address: "a@example.com"}},
		"recipient with LF": {MessageID: "a@b", To: netmail.Address{Address: "a@example.com\r\nRCPT TO:<x@y>"}},
	} {
		if err := m.Send(context.Background(), msg, nil); !errors.Is(err, mailer.ErrRejected) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
