package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/rankr"
)

const cliSMTPPassword = "cli-smtp-pa55"

// TestFulfillNotifiesThroughRankr: with an SMTP server, `fulfill --notify`
// has Rankr email the customer (GHL is told not to), once; a notice that
// cannot be sent at once is left to serve, which sends it; status and
// `notices list` show it; the password shows nowhere.
func TestFulfillNotifiesThroughRankr(t *testing.T) {
	t.Parallel()
	mp := mailtest.Open(t)
	s := newSetup(t, "")
	l := s.sb.Locations()[0]
	s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url)
	s.must(t, "sync", "--location", l.ID)
	var b [5]byte
	rand.Read(b[:])
	from := fmt.Sprintf("Shop <orders@cli-%s.example>", hex.EncodeToString(b[:]))
	fromQuery := fmt.Sprintf("from:%q", "orders@cli-"+hex.EncodeToString(b[:])+".example")
	smtpURL := "smtp://rankr:" + cliSMTPPassword + "@" + mp.SMTP

	tr, _ := s.sb.Truth(l.ID)
	var orders []string
	for _, o := range tr.Locations[0].Orders {
		if o.PaymentStatus == "paid" && o.Item.FulfillmentStatus == "unfulfilled" && len(o.Detail.Items) > 0 &&
			o.Detail.Items[0].Product.ProductType == "PHYSICAL" {
			orders = append(orders, o.Item.ID)
		}
	}
	if len(orders) < 2 {
		t.Fatal("no orders to fulfill")
	}
	var all strings.Builder
	out := s.must(t, "fulfill", orders[0], "--tracking", "1ZRANKR001", "--carrier", "UPS", "--notify", "--smtp-url", smtpURL, "--mail-from", from)
	all.WriteString(out)
	if !strings.Contains(out, "customer notified by Rankr") {
		t.Fatalf("fulfill said: %s", out)
	}
	mails := mp.WaitFor(t, fromQuery, 1, 10*time.Second)
	if msg := mp.Get(t, mails[0].ID); !strings.Contains(msg.Text, "1ZRANKR001") {
		t.Fatalf("mail:\n%s", msg.Text)
	}

	// The SMTP server is down: the push lands, its notice waits for serve.
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := down.Addr().String()
	down.Close()
	code, out, errOut := s.run(t, "fulfill", orders[1], "--tracking", "1ZRANKR002", "--carrier", "UPS", "--notify", "--wait", "2s",
		"--smtp-url", "smtp://rankr:"+cliSMTPPassword+"@"+downAddr, "--mail-from", from)
	all.WriteString(out + errOut)
	if code != 0 || !strings.Contains(out, "`rankr serve` sends it") {
		t.Fatalf("fulfill with the SMTP server down: %d %s%s", code, out, errOut)
	}
	status := s.must(t, "status")
	all.WriteString(status)
	if !strings.Contains(status, "customer notices: 1 sent, 1 pending") {
		t.Fatalf("status:\n%s", status)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var serveOut, serveErr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, append(s.args("serve", "--addr", "", "--smtp-url", smtpURL, "--mail-from", from),
			"--log-level", "info"), &serveOut, &serveErr)
	}()
	mp.WaitFor(t, fromQuery, 2, 20*time.Second)
	cancel()
	if code := <-done; code != 0 && code != 130 {
		t.Fatalf("serve: exit %d\n%s", code, serveErr.String())
	}
	all.WriteString(serveOut.String() + serveErr.String())

	var list []rankr.Notice
	listed := s.must(t, "notices", "list", "--json")
	all.WriteString(listed)
	if err := json.Unmarshal([]byte(listed), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].State != rankr.NoticeSent || list[1].State != rankr.NoticeSent {
		t.Fatalf("notices: %+v", list)
	}
	if code, _, errOut := s.run(t, "notices", "retry", list[0].ID); code == 0 || !strings.Contains(errOut, "only unknown or failed") {
		t.Fatalf("retry of a sent notice: %d %s", code, errOut)
	}
	tr, _ = s.sb.Truth(l.ID)
	for _, n := range tr.Locations[0].Notices {
		if len(n.Trackings) > 0 && strings.HasPrefix(n.Trackings[0], "1ZRANKR") {
			t.Fatalf("GHL notified the customer too: %+v", n)
		}
	}
	// A bad setting is refused, without the password.
	code, out, errOut = s.run(t, "fulfill", orders[1], "--tracking", "x", "--carrier", "UPS", "--smtp-url", "smtps://rankr:"+cliSMTPPassword+"@host?tls=maybe", "--mail-from", from)
	all.WriteString(out + errOut)
	if code == 0 || !strings.Contains(errOut, "tls=maybe") {
		t.Fatalf("a bad --smtp-url: %d %s", code, errOut)
	}
	if strings.Contains(all.String(), cliSMTPPassword) {
		t.Fatalf("the SMTP password was printed:\n%s", all.String())
	}
}
