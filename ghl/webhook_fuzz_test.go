package ghl

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// Webhook bodies as GHL sends them (shortened from its examples), and the
// shapes around them that a parser must survive.
var webhookSeeds = []string{
	`{"type":"OrderCreate","locationId":"Z4Bxl8J4SaPEPLq9IQ8g","webhookId":"wh-1","timestamp":"2024-04-04T16:24:27.036Z",` +
		`"_id":"660ed43bfdf9fc05a0de7a40","altId":"Z4Bxl8J4SaPEPLq9IQ8g","altType":"location","status":"pending",` +
		`"fulfillmentStatus":"unfulfilled","contactId":"ff2J","currency":"USD","amount":150.1,"liveMode":false,` +
		`"amountSummary":{"subtotal":138,"discount":0,"tax":12.1,"shipping":0},` +
		`"source":{"type":"website","subType":"store","id":"nohc","name":"Ecom Store","meta":{"stepId":"dca5"}},` +
		`"contactSnapshot":{"firstName":"Maxwell","lastName":"Schmidt","email":"limof@mailinator.com"},` +
		`"items":[{"name":"tee","qty":1,"product":{"_id":"p1","name":"tee"},"price":{"_id":"pr1","name":"XL","type":"one_time","currency":"USD","amount":"69"}}],` +
		`"createdAt":"2024-04-04T16:24:27.036Z","updatedAt":"2024-04-04T16:24:31.297Z"}`,
	`{"type":"InvoicePaid","altId":"loc-1","altType":"location","_id":"inv-1","status":"paid","liveMode":false,` +
		`"amountPaid":110,"invoiceNumber":"INV-00012","currency":"JPY","total":110,"amountDue":0,"issueDate":"2024-04-04",` +
		`"dueDate":"2024-04-30","contactDetails":{"id":"c1","name":"A B","email":"a@b.c"},` +
		`"invoiceItems":[{"_id":"i1","currency":"JPY","name":"x","qty":1,"amount":110}],"totalSummary":{"subTotal":110,"discount":0}}`,
	`{"type":"InvoiceCreate","locationId":"loc-2","webhookId":"wh-2","invoiceNumber":12,"total":"0.285","currency":"KWD"}`,
	`{"type":"OrderStatusUpdate","locationId":"l","timestamp":"2024-04-04T16:24:27+02:00","amount":1e2}`,
	`{"type":"INSTALL","appId":"a","locationId":"l","companyId":"c","timestamp":"2024-04-04"}`,
	`{"webhookId":"a","webhookId":"b","WEBHOOKID":"c","webhookid":null}`,
	`{"locationId":"","altId":"alt","timestamp":null}`,
	`{"type":"\u004frderCreate","locationId":"l\u00e9","webhookId":"\ud83d\ude00"}`,
	`{"timestamp":"0000-01-01T00:00:00+01:00"}`,
	`{"timestamp":"9999-12-31T23:00:00-02:00"}`,
	`{"timestamp":1712247867036}`,
	`{"amount":"1.2.3"}`,
	`{"amount":"0&0","totalSummary":{"total":{ "a" : "<\u2028>" }}}`,
	`{"items":[{"qty":"one"}]}`,
	`{"invoiceNumber":"007"}`,
	` {} `, `[]`, `null`, `"x"`, `{`, `{"a":}`, ``,
}

// fieldValue replays how encoding/json fills a string field from a JSON
// object: the last member whose key matches the name, case-insensitively,
// wins, and null leaves the field as it was. It reports false when the body
// is not an object or a matching member is not a string, null or absent.
func fieldValue(body []byte, name string) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	value := ""
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", false
		}
		key, _ := tok.(string)
		if !strings.EqualFold(key, name) || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, &value); err != nil {
			return "", false
		}
	}
	return value, true
}

// FuzzParseWebhookEvent checks the webhook envelope and its typed payloads:
// nothing panics; an accepted body is valid JSON kept byte for byte; the ids
// are the ones a plain decode of the body finds; and they survive being
// written out and read back.
func FuzzParseWebhookEvent(f *testing.F) {
	for _, s := range webhookSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseWebhookEvent(body)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not JSON: %q", body)
		}
		if !bytes.Equal(ev.Raw, body) {
			t.Fatalf("Raw = %q, want the body %q", ev.Raw, body)
		}
		for _, f := range []struct {
			name string
			got  string
		}{{"type", ev.Type}, {"webhookId", ev.WebhookID}} {
			if want, ok := fieldValue(body, f.name); ok && f.got != want {
				t.Errorf("%s = %q, want %q", f.name, f.got, want)
			}
		}
		if loc, ok := fieldValue(body, "locationId"); ok {
			if loc == "" {
				loc, _ = fieldValue(body, "altId")
			}
			if ev.LocationID != loc {
				t.Errorf("locationId = %q, want %q", ev.LocationID, loc)
			}
		}

		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("marshalling an accepted event: %v", err)
		}
		back, err := ParseWebhookEvent(out)
		if err != nil {
			t.Fatalf("reading back %s: %v", out, err)
		}
		if back.Type != ev.Type || back.LocationID != ev.LocationID || back.WebhookID != ev.WebhookID ||
			!back.Timestamp.Equal(ev.Timestamp.Truncate(time.Millisecond)) {
			t.Fatalf("round trip changed the envelope: %+v, then %+v", ev, back)
		}

		if o, err := ev.Order(); err == nil {
			if !bytes.Equal(o.Raw, body) {
				t.Fatalf("order Raw = %q, want the body", o.Raw)
			}
			roundTrip(t, o, orderDetailKeys)
		}
		if inv, err := ev.Invoice(); err == nil {
			if !bytes.Equal(inv.Raw, body) {
				t.Fatalf("invoice Raw = %q, want the body", inv.Raw)
			}
			roundTrip(t, inv, invoiceKeys)
		}
	})
}

// Fixed keys: the fuzzer varies bodies and signatures, not keys.
var (
	fuzzKey      = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	fuzzOtherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
)

// FuzzVerifyWebhook checks x-ghl-signature: a signature verifies for the
// exact body it was made over and with the key that made it, never for
// another body or key, and no other signature text verifies at all.
func FuzzVerifyWebhook(f *testing.F) {
	body := []byte(webhookSeeds[0])
	good := SignWebhook(fuzzKey, body)
	f.Add(body, body[:len(body)-1], good)
	f.Add(body, append(bytes.Clone(body), ' '), " "+good+"\n")
	f.Add([]byte(`{}`), []byte(`{ }`), SignWebhook(fuzzKey, []byte(`{}`)))
	f.Add([]byte{}, []byte{0}, "")
	f.Add([]byte("x"), []byte("X"), strings.Repeat("A", 86)+"==")
	f.Add([]byte("x"), []byte("y"), "not base64!")
	f.Fuzz(func(t *testing.T, body, other []byte, sig string) {
		pub, otherPub := fuzzKey.Public().(ed25519.PublicKey), fuzzOtherKey.Public().(ed25519.PublicKey)
		good := SignWebhook(fuzzKey, body)
		if err := VerifyWebhook(body, good, pub); err != nil {
			t.Fatalf("the right signature does not verify: %v", err)
		}
		if err := VerifyWebhook(body, good, otherPub, pub); err != nil {
			t.Fatalf("the right signature does not verify beside another key: %v", err)
		}
		if VerifyWebhook(body, good, otherPub) == nil {
			t.Fatal("verified with a key that did not sign")
		}
		if VerifyWebhook(body, good, pub[:ed25519.PublicKeySize-1]) == nil || VerifyWebhook(body, good) == nil {
			t.Fatal("verified with a truncated key or no key")
		}
		if !bytes.Equal(body, other) && VerifyWebhook(other, good, pub) == nil {
			t.Fatalf("the signature of %q verified %q", body, other)
		}
		if VerifyWebhook(body, sig, pub, otherPub) == nil {
			// Ed25519 signatures are deterministic and Go refuses
			// non-canonical ones, so only the true signature's bytes verify
			// (base64 may spell them more than one way).
			dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
			if err != nil || !bytes.Equal(dec, ed25519.Sign(fuzzKey, body)) {
				t.Fatalf("signature %q verified %q but is not its signature", sig, body)
			}
		}
	})
}

// FuzzParseWebhookKey checks the key parser: nothing panics, a key read
// is a whole Ed25519 key, and it reads back the same from the form GHL
// publishes and from hex.
func FuzzParseWebhookKey(f *testing.F) {
	pub := fuzzKey.Public().(ed25519.PublicKey)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	f.Add(WebhookPublicKey)
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	f.Add(hex.EncodeToString(der))
	f.Add(hex.EncodeToString(pub))
	f.Add(base64.StdEncoding.EncodeToString(pub))
	f.Add("  " + WebhookPublicKey + "\n")
	f.Add("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
	f.Add("MCowBQYDK2VwAyEA")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseWebhookKey(s)
		if err != nil {
			return
		}
		if len(key) != ed25519.PublicKeySize {
			t.Fatalf("%q gave a key of %d bytes", s, len(key))
		}
		for _, form := range []string{EncodeWebhookKey(key), hex.EncodeToString(key)} {
			back, err := ParseWebhookKey(form)
			if err != nil || !bytes.Equal(back, key) {
				t.Fatalf("%q: key %x read back from %q as %x, %v", s, key, form, back, err)
			}
		}
		// A key that parses verifies nothing it did not sign.
		sum := sha256.Sum256([]byte(s))
		if VerifyWebhook([]byte(s), base64.StdEncoding.EncodeToString(append(sum[:], sum[:]...)), key) == nil {
			t.Fatalf("%q: a made-up signature verified", s)
		}
	})
}
