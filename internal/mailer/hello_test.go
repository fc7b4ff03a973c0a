package mailer_test

import (
	"bufio"
	"context"
	"net"
	netmail "net/mail"
	"os"
	"strings"
	"testing"

	"github.com/rankr/rankr/internal/mailer"
)

// The mailer greets the server with the sender's domain (a server may
// check it against the sender, and scores "localhost" from afar as spam),
// or with the host's name when the domain cannot be one.
func TestHelloNamesTheSendersDomain(t *testing.T) {
	t.Parallel()
	host, _ := os.Hostname()
	cases := []struct{ from, want string }{
		{"Shop <shop@mail.shop.example>", "mail.shop.example"},
		{`"odd@local"@shop.example`, "shop.example"},
		{"shop@[192.0.2.7]", "[192.0.2.7]"},
		{"shop@bücher.example", host}, // not ASCII: not a name to greet with
	}
	for _, c := range cases {
		if got := helloOf(t, c.from); got != "EHLO "+c.want {
			t.Errorf("from %s: the mailer greeted with %q, want EHLO %s", c.from, got, c.want)
		}
	}
}

// helloOf sends a mail from the sender to a one-shot SMTP listener and
// returns the greeting it got; the listener then ends the session.
func helloOf(t *testing.T, from string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		c.Write([]byte("220 test ESMTP\r\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			got <- "read: " + err.Error()
			return
		}
		got <- strings.TrimRight(line, "\r\n")
		c.Write([]byte("421 4.3.0 that was all\r\n"))
	}()
	m, err := mailer.New(mailer.Config{URL: "smtp://" + ln.Addr().String(), From: from})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), mailer.Message{MessageID: "hello@rankr.test", To: netmail.Address{Address: "ada@example.com"},
		Subject: "hi", Text: "hi"}, nil)
	if err == nil {
		t.Fatal("the listener ends every session, yet the mail was sent")
	}
	return <-got
}
