package flows_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
)

const smtpPassword = "pa55-for-the-smtp-server"

// lockedBuffer collects logs from concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newNotifier returns a notifier sending through smtpAddr as a sender of
// a domain of its own, so that the test finds its mails (and only them) in
// the shared mailpit; its logs go to logs.
func newNotifier(t *testing.T, st store.Store, smtpAddr string, logs *lockedBuffer) (*flows.Notifier, string) {
	t.Helper()
	var b [5]byte
	rand.Read(b[:])
	domain := "shop-" + hex.EncodeToString(b[:]) + ".example"
	m, err := mailer.New(mailer.Config{URL: "smtp://rankr:" + smtpPassword + "@" + smtpAddr, From: "Shop <orders@" + domain + ">",
		Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n := flows.NewNotifier(st, m, slog.New(slog.NewTextHandler(logs, nil)))
	n.RetryBase = time.Millisecond
	return n, domain
}

// sendAll sends until no notice is waiting (pending, or sending with a
// lease running), or fails the test after the timeout.
func sendAll(t *testing.T, n *flows.Notifier, st store.Store, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := n.SendDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		counts, err := st.NoticeCounts(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if counts[rankr.NoticePending]+counts[rankr.NoticeSending]+counts[rankr.NoticeCommitting] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("notices still waiting after %s: %v", timeout, counts)
		}
	}
}

// TestNoticesExactlyOnce pushes fulfillments that Rankr notifies while GHL
// fails in every way a push can (timeouts after committing, dropped
// connections, 5xx, 429) and the SMTP server fails in every way a mail can
// (connections dropped before the data, 4xx, and once after the end of the
// data). Each push ends with exactly one fulfillment in GHL, no notice from
// GHL (notifyCustomer=false), and exactly one mail in the SMTP sink, with
// the order, the items, the carrier and the tracking.
func TestNoticesExactlyOnce(t *testing.T) {
	t.Parallel()
	mp := mailtest.Open(t)
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, open)
			ctx := context.Background()
			proxy := mailtest.NewProxy(t, mp.SMTP,
				mailtest.Fault{At: "DATA", Drop: true},
				mailtest.Fault{At: "RCPT", Reply: "451 4.3.0 try again later"},
				mailtest.Fault{At: "MAIL", Drop: true},
				mailtest.Fault{At: ".", Reply: "452 4.3.1 queue full"},
				mailtest.Fault{At: ".", Drop: true}, // delivered, and the client never learns it
				mailtest.Fault{At: "AUTH", Reply: "454 4.7.0 temporary authentication failure"},
			)
			logs := &lockedBuffer{}
			notifier, domain := newNotifier(t, r.st, proxy.Addr, logs)
			r.pusher.RankrNotices = true
			orders := r.shippable(t, 10)
			r.faultFulfillments(t)
			pushes := r.request(t, orders)
			for _, p := range pushes {
				if p.NotifyVia != rankr.NotifyRankr || p.NotifyCustomer {
					t.Fatalf("push notified via %q, GHL asked: %v", p.NotifyVia, p.NotifyCustomer)
				}
			}
			// Push and send as serve would: both loops at once.
			r.pushAll(t, pushes, func() {
				if _, err := notifier.SendDue(ctx); err != nil {
					t.Fatal(err)
				}
			})
			sendAll(t, notifier, r.st, 30*time.Second)
			perTracking, ghlNotices := r.inGHL(t)
			states := map[rankr.NoticeState]int{}
			for i, p := range pushes {
				tr := fmt.Sprintf("TRK-%03d", i)
				if perTracking[tr] != 1 || ghlNotices[tr] != 0 {
					t.Errorf("push %d: %d fulfillments and %d GHL notices, want 1 and 0", i, perTracking[tr], ghlNotices[tr])
					continue
				}
				got, _ := r.st.PushGet(ctx, p.ID)
				n, err := r.st.NoticeGet(ctx, rankr.NoticeID(rankr.NoticeFulfillment, got.FulfillmentID))
				if err != nil {
					t.Fatalf("push %d: its notice: %v", i, err)
				}
				states[n.State]++
				mails := mp.WaitFor(t, fmt.Sprintf("message-id:%q", n.ID+"@"+domain), 1, 10*time.Second)
				msg := mp.Get(t, mails[0].ID)
				o := orders[i]
				if msg.To[0].Address != o.ContactEmail || !strings.Contains(msg.Text, tr) || !strings.Contains(msg.Text, "UPS") ||
					!strings.Contains(msg.Text, o.ID) || !strings.Contains(msg.HTML, "https://www.ups.com/track?tracknum="+tr) {
					t.Errorf("push %d: mail to %v:\n%s", i, msg.To, msg.Text)
				}
				for _, it := range o.Items {
					if it.ProductType == "PHYSICAL" && !strings.Contains(msg.Text, fmt.Sprintf("%d x %s", it.Qty, it.Name)) {
						t.Errorf("push %d: the mail does not list %d x %s:\n%s", i, it.Qty, it.Name, msg.Text)
					}
				}
			}
			// The mail dropped after its end was delivered but its notice
			// is unknown; every other one is sent. Nothing else arrived.
			if states[rankr.NoticeSent] != len(pushes)-1 || states[rankr.NoticeUnknown] != 1 {
				t.Errorf("notice states %v", states)
			}
			if all := mp.Search(t, fmt.Sprintf("from:%q", "orders@"+domain)); len(all) != len(pushes) {
				t.Errorf("%d mails for %d fulfillments", len(all), len(pushes))
			}
			if strings.Contains(logs.String(), smtpPassword) {
				t.Error("the SMTP password is in the logs")
			}
		})
	}
}

// TestNoticeSMTPFaults proves the exactly-once rules of sending one notice:
// a failure before the end of the data is retried and delivers once; a
// connection lost after the end of the data, or a sender that dies while
// committing, leaves the notice unknown and it is not sent again; a bad
// recipient fails it, saying why.
func TestNoticeSMTPFaults(t *testing.T) {
	t.Parallel()
	mp := mailtest.Open(t)
	cases := map[string]struct {
		faults    []mailtest.Fault
		want      rankr.NoticeState
		delivered int
	}{
		"dropped before DATA":     {faults: []mailtest.Fault{{At: "DATA", Drop: true}, {At: "MAIL", Drop: true}}, want: rankr.NoticeSent, delivered: 1},
		"refused for now":         {faults: []mailtest.Fault{{At: "RCPT", Reply: "450 4.2.1 mailbox busy"}, {At: ".", Reply: "451 4.3.0 later"}}, want: rankr.NoticeSent, delivered: 1},
		"dropped after the end":   {faults: []mailtest.Fault{{At: ".", Drop: true}}, want: rankr.NoticeUnknown, delivered: 1},
		"no answer after the end": {faults: []mailtest.Fault{{At: ".", Stall: true}}, want: rankr.NoticeUnknown, delivered: 1},
		"bad recipient":           {faults: []mailtest.Fault{{At: "RCPT", Reply: "550 5.1.1 no such user here"}}, want: rankr.NoticeFailed},
	}
	for name, open := range storetest.Openers() {
		for cname, c := range cases {
			t.Run(name+"/"+cname, func(t *testing.T) {
				t.Parallel()
				st := open(t)
				t.Cleanup(func() { st.Close() })
				ctx := context.Background()
				proxy := mailtest.NewProxy(t, mp.SMTP, c.faults...)
				logs := &lockedBuffer{}
				notifier, domain := newNotifier(t, st, proxy.Addr, logs)
				id := queueNotice(t, st, "f-"+cname)
				sendAll(t, notifier, st, 20*time.Second)
				n, _ := st.NoticeGet(ctx, id)
				if n.State != c.want {
					t.Fatalf("notice %s (%s), want %s", n.State, n.LastError, c.want)
				}
				q := fmt.Sprintf("message-id:%q", id+"@"+domain)
				if c.delivered > 0 {
					mp.WaitFor(t, q, c.delivered, 10*time.Second)
				}
				switch c.want {
				case rankr.NoticeSent:
					if n.Attempts != len(c.faults)+1 || n.MessageID != id+"@"+domain || n.SentAt.IsZero() {
						t.Fatalf("sent %+v", n)
					}
				case rankr.NoticeUnknown:
					// Never again by itself: not by the periodic sender, not
					// by a sender asked for it by id.
					if tried, err := notifier.SendDue(ctx); err != nil || tried != 0 {
						t.Fatalf("an unknown notice was tried again: %d, %v", tried, err)
					}
					if _, err := notifier.Send(ctx, id); !errors.Is(err, rankr.ErrConflict) {
						t.Fatalf("an unknown notice was sent by id: %v", err)
					}
					if n.MessageID == "" || !strings.Contains(logs.String(), "notices retry") {
						t.Fatalf("unknown without its Message-ID or the operator's next step: %+v\n%s", n, logs)
					}
				case rankr.NoticeFailed:
					if !strings.Contains(n.LastError, "550") || !strings.Contains(n.LastError, "no such user here") || n.Attempts != 1 {
						t.Fatalf("failed %+v", n)
					}
				}
				if got := mp.Search(t, q); len(got) != c.delivered {
					t.Fatalf("%d mails delivered, want %d", len(got), c.delivered)
				}
				if strings.Contains(logs.String(), smtpPassword) || strings.Contains(n.LastError, smtpPassword) {
					t.Fatal("the SMTP password is in the logs or the notice")
				}
			})
		}
		t.Run(name+"/sender died while committing", func(t *testing.T) {
			t.Parallel()
			st := open(t)
			t.Cleanup(func() { st.Close() })
			ctx := context.Background()
			notifier, _ := newNotifier(t, st, mp.SMTP, &lockedBuffer{})
			notifier.Lease = 100 * time.Millisecond
			id := queueNotice(t, st, "f-died")
			// A sender claims the notice, records committing, and dies.
			claimed, err := st.NoticeClaim(ctx, store.NoticeClaimParams{ID: id, Lease: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.NoticeCommitting(ctx, store.NoticeCommittingParams{ID: id, Lease: claimed[0].Lease, MessageID: id + "@x.example",
				For: 100 * time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				if tried, err := notifier.SendDue(ctx); err != nil || tried != 0 {
					t.Fatalf("a committing notice was sent again: %d, %v", tried, err)
				}
				if n, _ := st.NoticeGet(ctx, id); n.State == rankr.NoticeUnknown {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("a notice left committing never became unknown")
				}
			}
			if got := mp.Search(t, fmt.Sprintf("message-id:%q", id+"@x.example")); len(got) != 0 {
				t.Fatal("mailed")
			}
		})
	}
}

// queueNotice queues a fulfillment notice for a new recipient, as a push
// that landed would.
func queueNotice(t *testing.T, st store.Store, fulfillmentID string) string {
	t.Helper()
	var b [5]byte
	rand.Read(b[:])
	payload, _ := json.Marshal(rankr.FulfillmentNotice{OrderID: "o-1", FulfillmentID: fulfillmentID, CustomerName: "Ada",
		Items: []rankr.NoticeItem{{Name: "Tee - M", Qty: 2}}, Trackings: []rankr.Tracking{{Number: "1Z999", Carrier: "UPS"}}})
	n := rankr.Notice{LocationID: "L", Kind: rankr.NoticeFulfillment, DedupeKey: fulfillmentID + "-" + hex.EncodeToString(b[:]),
		Recipient: "ada-" + hex.EncodeToString(b[:]) + "@example.com", Payload: payload}
	if _, err := st.NoticeCreate(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	return rankr.NoticeID(n.Kind, n.DedupeKey)
}

func TestRender(t *testing.T) {
	t.Parallel()
	payload, _ := json.Marshal(rankr.FulfillmentNotice{Shop: "Tee\nShop", OrderID: "ord-42", FulfillmentID: "ful-1",
		CustomerName: "Ada <Lovelace>", Items: []rankr.NoticeItem{{Name: "Tee - M", Qty: 2}, {Name: "<script>x</script>", Qty: 1}},
		Trackings: []rankr.Tracking{
			{Number: "1Z999", Carrier: "UPS"},
			{Number: "7777", Carrier: "FedEx", URL: "https://track.example.com/7777"},
			{Number: "R-1", Carrier: "Royal Mail", URL: "javascript:alert(1)"},
		}})
	n := rankr.Notice{ID: rankr.NoticeID(rankr.NoticeFulfillment, "ful-1"), Kind: rankr.NoticeFulfillment, Recipient: "ada@example.com", Payload: payload}
	msg, err := flows.Render(n, "shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if msg.MessageID != n.ID+"@shop.example" || msg.To.Address != "ada@example.com" || msg.To.Name != "Ada <Lovelace>" {
		t.Fatalf("envelope %+v", msg)
	}
	if msg.Subject != "Tee Shop: your order ord-42 has shipped" {
		t.Fatalf("subject %q", msg.Subject)
	}
	for _, want := range []string{"Hello Ada <Lovelace>,", "ord-42", "2 x Tee - M", "1 x <script>x</script>", "Carrier: UPS",
		"Tracking number: 1Z999", "https://www.ups.com/track?tracknum=1Z999", "https://track.example.com/7777", "Tracking number: R-1"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, msg.Text)
		}
	}
	for _, want := range []string{"Ada &lt;Lovelace&gt;", "&lt;script&gt;", `href="https://www.ups.com/track?tracknum=1Z999"`,
		`href="https://track.example.com/7777"`, "<b>R-1</b>"} {
		if !strings.Contains(msg.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, msg.HTML)
		}
	}
	if strings.Contains(msg.HTML, "javascript:") || strings.Contains(msg.Text, "javascript:") || strings.Contains(msg.HTML, "<script>") {
		t.Errorf("unsafe content:\n%s\n%s", msg.Text, msg.HTML)
	}
	again, _ := flows.Render(n, "shop.example")
	if again.MessageID != msg.MessageID {
		t.Fatal("the Message-ID changed between attempts")
	}
	for name, bad := range map[string]rankr.Notice{
		"unknown kind": {ID: "nt_1", Kind: "newsletter", Payload: payload},
		"bad payload":  {ID: "nt_1", Kind: rankr.NoticeFulfillment, Payload: json.RawMessage(`[`)},
		"no tracking":  {ID: "nt_1", Kind: rankr.NoticeFulfillment, Payload: json.RawMessage(`{"orderId":"o"}`)},
	} {
		if _, err := flows.Render(bad, "shop.example"); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}
