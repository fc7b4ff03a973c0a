package flows_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// TestAlertsOncePerException opens reconciliation exceptions from sandbox
// scenarios and mails two operators about them: one mail per exception and
// operator, however often the alerter runs, none for the exceptions opened
// before alerts were switched on, and none when an exception resolves.
func TestAlertsOncePerException(t *testing.T) {
	mp := mailtest.Open(t)
	eachStore(t, func(t *testing.T, r *recRig) {
		ctx := context.Background()
		var b [5]byte
		rand.Read(b[:])
		tag := hex.EncodeToString(b[:])
		ops := []string{"ops-" + tag + "@example.com", "finance-" + tag + "@example.com"}
		var alerter *flows.Alerter
		queue := func() int {
			t.Helper()
			n, err := alerter.Queue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		// An exception from before alerts were on: not mailed.
		old, amount := newOrder(t, r, sandbox.OrderSpec{})
		must[string](t)(r.sb.PayOrder(r.loc, old, amount))
		must[string](t)(r.sb.PayOrder(r.loc, old, 700))
		r.step(t)
		r.wantOpen(t, old, rankr.ExceptionOverpaid)
		alerter = flows.NewAlerter(r.st, ops, nil)
		if n := queue(); n != 0 {
			t.Fatalf("the first run queued %d alerts for exceptions opened before it", n)
		}

		// Two new exceptions: one mail each to each operator, once.
		id, amount := newOrder(t, r, sandbox.OrderSpec{})
		must[string](t)(r.sb.PayOrder(r.loc, id, amount))
		extra := must[string](t)(r.sb.PayOrder(r.loc, id, 1500))
		stray := must[string](t)(r.sb.InjectPayment(r.loc, sandbox.PaymentSpec{Amount: 990}))
		r.step(t)
		r.wantOpen(t, id, rankr.ExceptionOverpaid)
		r.wantOpen(t, stray, rankr.ExceptionOrphan)
		if n := queue(); n != 4 {
			t.Fatalf("queued %d alerts, want 2 exceptions x 2 operators", n)
		}
		if n := queue(); n != 0 {
			t.Fatalf("running again queued %d more", n)
		}

		// Resolving one opens nothing new.
		ok(t, r.sb.Refund(r.loc, extra, 1500))
		r.step(t)
		r.wantOpen(t, id)
		if n := queue(); n != 0 {
			t.Fatalf("a resolved exception queued %d alerts", n)
		}

		notifier, _ := newNotifier(t, r.st, mp.SMTP, &lockedBuffer{})
		sendAll(t, notifier, r.st, 30*time.Second)
		for _, op := range ops {
			mails := mp.WaitFor(t, "to:"+op, 2, 10*time.Second)
			subjects := mails[0].Subject + " | " + mails[1].Subject
			for _, want := range []string{rankr.ExceptionOverpaid + ": order " + id, rankr.ExceptionOrphan + ": transaction " + stray} {
				if !strings.Contains(subjects, want) {
					t.Errorf("%s got %q, want one about %q", op, subjects, want)
				}
			}
			for _, m := range mails {
				if body := mp.Get(t, m.ID).Text; !strings.Contains(body, "rankr reconcile report --location "+r.loc) {
					t.Errorf("alert %q does not say how to see the exceptions:\n%s", m.Subject, body)
				}
			}
		}
		list, err := r.st.NoticeList(ctx, store.ListParams{LocationID: r.loc, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range list {
			if n.Kind != rankr.NoticeAlert || n.State != rankr.NoticeSent {
				t.Errorf("notice %s: %s %s, want a sent alert", n.ID, n.Kind, n.State)
			}
		}
	})
}
