package ghl

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// SignatureHeader carries the base64 Ed25519 signature of a webhook's raw
// body.
const SignatureHeader = "X-Ghl-Signature"

// WebhookPublicKey is GHL's published Ed25519 webhook key (SPKI, base64).
const WebhookPublicKey = "MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg="

// Webhook event types of the commerce events and the app lifecycle.
const (
	EventOrderCreate          = "OrderCreate"
	EventOrderStatusUpdate    = "OrderStatusUpdate"
	EventInvoiceCreate        = "InvoiceCreate"
	EventInvoiceUpdate        = "InvoiceUpdate"
	EventInvoiceDelete        = "InvoiceDelete"
	EventInvoiceSent          = "InvoiceSent"
	EventInvoicePaid          = "InvoicePaid"
	EventInvoicePartiallyPaid = "InvoicePartiallyPaid"
	EventInvoiceVoid          = "InvoiceVoid"
	EventInstall              = "INSTALL"
	EventUninstall            = "UNINSTALL"
)

// ErrBadSignature means a webhook's signature is missing, malformed or not
// made by any of the trusted keys.
var ErrBadSignature = errors.New("webhook signature does not verify")

// ParseWebhookKey reads an Ed25519 public key given as PEM, as base64 or hex
// of its SPKI (DER) form, or as base64 or hex of the raw 32 bytes.
func ParseWebhookKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if block, _ := pem.Decode([]byte(s)); block != nil {
		return keyFromDER(block.Bytes)
	}
	// Hex text whose length is a multiple of 4 is valid base64 too, so
	// each decoding is tried in turn, and the first that gives a key wins.
	var err error = errors.New("ghl: webhook key is neither PEM, base64 nor hex")
	for _, decode := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, hex.DecodeString} {
		der, derr := decode(s)
		if derr != nil {
			continue
		}
		if len(der) == ed25519.PublicKeySize {
			return ed25519.PublicKey(der), nil
		}
		key, kerr := keyFromDER(der)
		if kerr == nil {
			return key, nil
		}
		err = kerr
	}
	return nil, err
}

func keyFromDER(der []byte) (ed25519.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("ghl: parsing webhook key: %w", err)
	}
	key, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("ghl: webhook key is a %T, not Ed25519", pub)
	}
	return key, nil
}

// EncodeWebhookKey returns key as base64 SPKI, the form GHL publishes.
func EncodeWebhookKey(key ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		// Marshalling an Ed25519 key cannot fail.
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// VerifyWebhook checks the signature header value against the raw body, as
// received, byte for byte: re-encoded JSON does not verify. It succeeds when
// any of keys made the signature, so that keys can be rotated.
func VerifyWebhook(body []byte, signature string, keys ...ed25519.PublicKey) error {
	signature = strings.TrimSpace(signature)
	if signature == "" {
		return fmt.Errorf("%w: no %s header", ErrBadSignature, SignatureHeader)
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: the signature is not base64 of %d bytes", ErrBadSignature, ed25519.SignatureSize)
	}
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, body, sig) {
			return nil
		}
	}
	return ErrBadSignature
}

// SignWebhook signs a raw body as GHL does; the result goes in the
// SignatureHeader.
func SignWebhook(key ed25519.PrivateKey, body []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, body))
}

// WebhookEvent is the envelope of a webhook delivery. The payload itself (an
// order, an invoice...) is in Raw; decode it with Order or Invoice.
type WebhookEvent struct {
	Type       string `json:"type"`
	LocationID string `json:"locationId"`
	// WebhookID identifies the delivery; redeliveries repeat it.
	WebhookID string `json:"webhookId"`
	Timestamp Time   `json:"timestamp,omitzero"`

	Raw json.RawMessage `json:"-"`
}

// ParseWebhookEvent decodes a webhook body's envelope. Payloads without a
// locationId (GHL's invoice examples) take it from altId.
func ParseWebhookEvent(body []byte) (*WebhookEvent, error) {
	var ev struct {
		WebhookEvent
		AltID string `json:"altId"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("ghl: webhook body: %w", err)
	}
	e := ev.WebhookEvent
	if e.LocationID == "" {
		e.LocationID = ev.AltID
	}
	e.Raw = append(json.RawMessage(nil), body...)
	return &e, nil
}

// Order decodes an OrderCreate or OrderStatusUpdate payload.
func (e *WebhookEvent) Order() (*OrderDetail, error) {
	var o OrderDetail
	// Called directly, not through json.Unmarshal, which would scan the
	// body twice more before handing it over.
	if err := o.UnmarshalJSON(e.Raw); err != nil {
		return nil, fmt.Errorf("ghl: %s payload: %w", e.Type, err)
	}
	return &o, nil
}

// Invoice decodes an Invoice* payload.
func (e *WebhookEvent) Invoice() (*Invoice, error) {
	var inv Invoice
	if err := inv.UnmarshalJSON(e.Raw); err != nil {
		return nil, fmt.Errorf("ghl: %s payload: %w", e.Type, err)
	}
	return &inv, nil
}
