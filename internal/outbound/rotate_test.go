package outbound_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/testwait"
)

// fakeHMAC stands for access.Hasher.Secret: a one-way name of a secret.
func fakeHMAC(s string) string {
	sum := sha256.Sum256([]byte("test pepper " + s))
	return "hmac-sha256:" + hex.EncodeToString(sum[:])
}

// onlySignature is a request's headers with one of its signatures, to
// check which secret made it.
func onlySignature(h http.Header, sig string) http.Header {
	h = h.Clone()
	h.Set("webhook-signature", sig)
	return h
}

// TestRotatedSecretSignsDuringGrace rotates an endpoint's secret while the
// dispatcher runs (it has the old key opened): during the grace every
// delivery carries two signatures, the first by the new secret and the
// second by the old one, so a receiver holding either accepts it; once the
// grace is over by the database's clock, only the newest signs. The
// rotations are audited, their secrets only as HMACs.
func TestRotatedSecretSignsDuringGrace(t *testing.T) {
	t.Parallel()
	for name, open := range storetest.Openers() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, open, 6)
			w := r.webhooks(t, outbound.Config{})
			w.HashSecretsWith(fakeHMAC)
			host := rankr.AuditActor{Type: rankr.ActorHost, ID: "ops"}
			rc := newReceiver(t, nil)
			e := rc.add(t, w, outbound.AddParams{Events: []string{"*"}, Actor: host})
			old := rc.secret
			// A first delivery, so that the dispatcher holds the old key.
			if _, err := r.sb.Step(1, r.loc, ""); err != nil {
				t.Fatal(err)
			}
			r.backfill(t)
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			before := len(rc.requests())
			if before == 0 {
				t.Fatal("nothing delivered before the rotation")
			}

			rotated, fresh, err := w.RotateSecret(ctx, host, e.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if fresh == old || !strings.HasPrefix(fresh, outbound.SecretPrefix) || rotated.PreviousUntil.IsZero() {
				t.Fatalf("rotated to a bad secret, or no grace (until %v)", rotated.PreviousUntil)
			}
			rc.mu.Lock()
			rc.secret = fresh // the receiver switched at once
			rc.mu.Unlock()
			if _, err := r.sb.Step(10, r.loc, ""); err != nil {
				t.Fatal(err)
			}
			if err := r.sync.Poll(ctx, r.loc); err != nil {
				t.Fatal(err)
			}
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			during := rc.requests()[before:]
			if len(during) == 0 {
				t.Fatal("nothing delivered during the grace")
			}
			for _, got := range during {
				if got.Verified != nil {
					t.Fatalf("a receiver with the new secret refused a delivery: %v", got.Verified)
				}
				sigs := strings.Fields(got.Header.Get("webhook-signature"))
				if len(sigs) != 2 {
					t.Fatalf("during the grace: signatures %q, want two", sigs)
				}
				now := time.Now()
				if verify(fresh, onlySignature(got.Header, sigs[0]), got.Body, now, time.Minute) != nil ||
					verify(old, onlySignature(got.Header, sigs[1]), got.Body, now, time.Minute) != nil ||
					verify(old, onlySignature(got.Header, sigs[0]), got.Body, now, time.Minute) == nil {
					t.Fatalf("signatures %q are not the new secret's, then the old one's", sigs)
				}
			}

			// A second rotation with a short grace, which runs out.
			short, newest, err := w.RotateSecret(ctx, host, e.ID, 300*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			rc.mu.Lock()
			rc.secret = newest
			rc.mu.Unlock()
			testwait.UntilWhy(t, 30*time.Second, "the grace to end by the database's clock", func() (bool, string) {
				now, err := r.st.Now(ctx)
				return err == nil && now.After(short.PreviousUntil), "not yet"
			})
			from := len(rc.requests())
			if _, err := r.sb.Step(10, r.loc, ""); err != nil {
				t.Fatal(err)
			}
			if err := r.sync.Poll(ctx, r.loc); err != nil {
				t.Fatal(err)
			}
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			after := rc.requests()[from:]
			if len(after) == 0 {
				t.Fatal("nothing delivered after the grace")
			}
			for _, got := range after {
				if sigs := strings.Fields(got.Header.Get("webhook-signature")); len(sigs) != 1 || got.Verified != nil {
					t.Fatalf("after the grace: signatures %q (%v), want the newest secret's alone", sigs, got.Verified)
				}
				if verify(fresh, got.Header, got.Body, time.Now(), time.Minute) == nil {
					t.Fatal("the secret whose grace ended still signs")
				}
			}

			recs, err := r.st.AuditList(ctx, store.AuditListParams{Action: "webhook_endpoint."})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, rec := range recs {
				actions = append(actions, rec.Action)
				for _, s := range []string{old, fresh, newest, "t0k"} {
					if bytes.Contains(rec.Body, []byte(s)) {
						t.Errorf("audit record %d holds a secret: %s", rec.Seq, rec.Body)
					}
				}
			}
			if strings.Join(actions, " ") != "webhook_endpoint.created webhook_endpoint.secret_rotated webhook_endpoint.secret_rotated" {
				t.Fatalf("audit %v", actions)
			}
			if recs[0].Secrets["secret"] != fakeHMAC(old) || recs[1].Secrets["secret"] != fakeHMAC(fresh) ||
				recs[2].Secrets["secret"] != fakeHMAC(newest) || recs[1].Actor != host || recs[1].Target.ID != e.ID {
				t.Errorf("audit records name the secrets %v %v %v", recs[0].Secrets, recs[1].Secrets, recs[2].Secrets)
			}
			if _, _, err := w.RotateSecret(ctx, host, e.ID, 8*24*time.Hour); err == nil {
				t.Error("a grace over 7 days was taken")
			}
		})
	}
}
