package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/testwait"
)

// TestNoticeRetry: with Rankr's own mail, a push that notifies the
// customer queues a notice; the SMTP server refusing the recipient fails
// it, and POST /notices/{id}/retry sends it again, to mailpit, with the
// same Message-ID.
func TestNoticeRetry(t *testing.T) {
	t.Parallel()
	if os.Getenv(mailtest.SMTPEnv) == "" {
		exempt.Store("POST /api/v1/notices/{id}/retry", true)
	}
	mp := mailtest.Open(t)
	proxy := mailtest.NewProxy(t, mp.SMTP, mailtest.Fault{At: "RCPT", Reply: "550 5.1.1 no such user here"})
	w := newWorld(t, worldConfig{DB: sqliteDB(t), Seed: 5, Locations: 1, Orders: 4,
		Mail: mailer.Config{URL: "smtp://" + proxy.Addr, From: "Shop <orders@api-test.example>"}})
	c := w.client(t, w.owner)
	loc := w.locations()[0]
	id, amount, err := w.sb.NewOrder(loc, sandbox.OrderSpec{Physical: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sb.PayOrder(loc, id, amount); err != nil {
		t.Fatal(err)
	}
	testwait.UntilWhy(t, 30*time.Second, "the paid order synced with its items", func() (bool, string) {
		var o struct {
			ItemsFetched  bool   `json:"itemsFetched"`
			PaymentStatus string `json:"paymentStatus"`
		}
		a := c.do("GET", "/api/v1/orders/"+id, nil)
		_ = json.Unmarshal(a.Body, &o)
		return a.Status == 200 && o.ItemsFetched && o.PaymentStatus == "paid", o.PaymentStatus
	})
	var push struct{ ID, NotifyVia string }
	c.expect("POST", "/api/v1/pushes", map[string]any{"orderId": id, "notifyCustomer": true,
		"trackings": []any{map[string]any{"trackingNumber": "1ZNOTICE1"}}}, http.StatusCreated, &push)
	if push.NotifyVia != "rankr" {
		t.Fatalf("push notifies via %q, want rankr", push.NotifyVia)
	}
	var notice struct {
		ID, State, MessageID, LastError string
	}
	testwait.UntilWhy(t, 30*time.Second, "the notice failed", func() (bool, string) {
		list := c.one("/api/v1/notices", "locationId", loc)
		if len(list) == 0 {
			return false, "no notice"
		}
		notice.ID = str(list[0], "id")
		c.getJSON("/api/v1/notices"+q("status", "failed"), http.StatusOK, nil)
		return str(list[0], "state") == "failed", str(list[0], "state")
	})
	var retried struct{ ID, State string }
	c.expect("POST", "/api/v1/notices/"+notice.ID+"/retry", nil, http.StatusOK, &retried)
	// The sender may claim it before the answer is read back.
	if retried.ID != notice.ID || (retried.State != "pending" && retried.State != "sending" && retried.State != "sent") {
		t.Errorf("retried: %+v", retried)
	}
	testwait.UntilWhy(t, 30*time.Second, "the notice sent", func() (bool, string) {
		list := c.one("/api/v1/notices", "status", "sent")
		for _, n := range list {
			if str(n, "id") == notice.ID {
				notice.MessageID = str(n, "messageId")
				return true, ""
			}
		}
		return false, "not sent"
	})
	if got := mp.WaitFor(t, "message-id:"+notice.MessageID, 1, 30*time.Second); len(got) != 1 {
		t.Errorf("mailpit has %d messages with Message-ID %s", len(got), notice.MessageID)
	}
	// Sent: it is not sent again on request.
	c.wantError(c.do("POST", "/api/v1/notices/"+notice.ID+"/retry", nil), 409, "conflict", "")
}
