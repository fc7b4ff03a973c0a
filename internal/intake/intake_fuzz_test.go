package intake

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
)

var fuzzNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// FuzzParse checks what the inbox keeps of a webhook: nothing panics; an
// accepted body is a JSON object, kept byte for byte; its id, type,
// location and time are the envelope's, and a body without an id gets one
// derived from the body itself, so a redelivery is recognised.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"OrderCreate","locationId":"loc-1","webhookId":"wh-1","timestamp":"2026-05-01T11:59:00.000Z","_id":"o1","amount":150.1}`,
		`{"type":"InvoicePaid","altId":"loc-2","_id":"inv-1","invoiceNumber":"INV-1"}`,
		`{"locationId":"loc-3"}`, `{}`, ` {"webhookId":""} `, `{"webhookId":null,"type":null}`,
		`{"timestamp":"yesterday"}`, `{"timestamp":12}`, `{"webhookId":5}`, `{"type":"x"}{"type":"y"}`,
		`[]`, `"x"`, `null`, `{`, ``, "\xef\xbb\xbf{}", `{"a":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	in := NewIntake(nil, Config{Now: func() time.Time { return fuzzNow }})
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := in.parse(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if !json.Valid(body) || !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
			t.Fatalf("accepted %q, which is not a JSON object", body)
		}
		if !bytes.Equal(ev.Body, body) {
			t.Fatalf("kept %q of %q", ev.Body, body)
		}
		env, err := ghl.ParseWebhookEvent(body)
		if err != nil {
			t.Fatalf("accepted %q, which ghl does not read: %v", body, err)
		}
		wantID := env.WebhookID
		if wantID == "" {
			sum := sha256.Sum256(body)
			wantID = "sha256:" + hex.EncodeToString(sum[:])
		}
		wantType := env.Type
		if wantType == "" {
			wantType = "unknown"
		}
		if ev.WebhookID != wantID || ev.Type != wantType || ev.LocationID != env.LocationID ||
			!ev.EventAt.Equal(env.Timestamp.Time) || !ev.ReceivedAt.Equal(fuzzNow) {
			t.Fatalf("%q: kept %+v, the envelope says %+v", body, ev, env)
		}
		again, err := in.parse(bytes.Clone(body))
		if err != nil || again.WebhookID != ev.WebhookID {
			t.Fatalf("%q parsed twice gives ids %q and %q (%v)", body, ev.WebhookID, again.WebhookID, err)
		}
	})
}

// FuzzVerify checks both signature schemes as the intake applies them: a
// signature verifies only for the body it was made over and with a
// configured key; the legacy RSA one counts only when enabled and when no
// Ed25519 signature is sent; a made-up signature never verifies.
func FuzzVerify(f *testing.F) {
	edKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	// 1024 bits, the least Go allows: the checks do not depend on the size,
	// and signing is four times faster.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	edOnly := NewIntake(nil, Config{Keys: []ed25519.PublicKey{edKey.Public().(ed25519.PublicKey)}})
	both := NewIntake(nil, Config{Keys: []ed25519.PublicKey{edKey.Public().(ed25519.PublicKey)},
		LegacyRSAKeys: []*rsa.PublicKey{&rsaKey.PublicKey}})
	rsaSign := func(body []byte) []byte {
		digest := sha256.Sum256(body)
		sig, err := rsa.SignPKCS1v15(nil, rsaKey, crypto.SHA256, digest[:])
		if err != nil {
			f.Fatal(err)
		}
		return sig
	}
	body := []byte(`{"type":"OrderCreate","locationId":"loc-1","webhookId":"wh-1"}`)
	f.Add(body, body[1:], ghl.SignWebhook(edKey, body), base64.StdEncoding.EncodeToString(rsaSign(body)))
	f.Add([]byte{}, []byte(" "), "", "")
	f.Add([]byte("x"), []byte("x "), "AAAA", "AAAA")
	f.Add([]byte("x"), []byte("y"), " \n", "not base64")
	f.Fuzz(func(t *testing.T, body, other []byte, edSig, rsaSig string) {
		verify := func(in *Intake, ed, legacy string, b []byte) error {
			h := http.Header{}
			if ed != "" {
				h.Set(ghl.SignatureHeader, ed)
			}
			if legacy != "" {
				h.Set("X-Wh-Signature", legacy)
			}
			return in.verify(h, b)
		}
		goodEd := ghl.SignWebhook(edKey, body)
		rsaRaw := rsaSign(body)
		goodRSA := base64.StdEncoding.EncodeToString(rsaRaw)
		for _, in := range []*Intake{edOnly, both} {
			if err := verify(in, goodEd, "", body); err != nil {
				t.Fatalf("the Ed25519 signature does not verify: %v", err)
			}
			if err := verify(in, goodEd, rsaSig, body); err != nil {
				t.Fatalf("the Ed25519 signature does not verify beside x-wh-signature %q: %v", rsaSig, err)
			}
		}
		if err := verify(both, "", goodRSA, body); err != nil {
			t.Fatalf("the RSA signature does not verify with legacy keys on: %v", err)
		}
		if verify(edOnly, "", goodRSA, body) == nil {
			t.Fatal("the RSA signature verified with legacy keys off")
		}
		if !bytes.Equal(body, other) {
			if verify(both, goodEd, "", other) == nil || verify(both, "", goodRSA, other) == nil {
				t.Fatalf("the signatures of %q verified %q", body, other)
			}
		}
		// Made-up signatures: only the true signature's bytes verify.
		if verify(both, edSig, "", body) == nil {
			dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(edSig))
			if err != nil || !bytes.Equal(dec, ed25519.Sign(edKey, body)) {
				t.Fatalf("x-ghl-signature %q verified %q", edSig, body)
			}
		}
		// With an x-ghl-signature sent, it alone decides: a good RSA one
		// beside it does not rescue a bad one.
		if edSig != "" && verify(both, edSig, goodRSA, body) == nil {
			dec, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(edSig))
			if !bytes.Equal(dec, ed25519.Sign(edKey, body)) {
				t.Fatalf("a bad x-ghl-signature %q passed thanks to x-wh-signature", edSig)
			}
		}
		if verify(both, "", rsaSig, body) == nil {
			dec, err := base64.StdEncoding.DecodeString(rsaSig)
			if err != nil || !bytes.Equal(dec, rsaRaw) {
				t.Fatalf("x-wh-signature %q verified %q", rsaSig, body)
			}
		}
	})
}
