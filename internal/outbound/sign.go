package outbound

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every Standard Webhooks signing secret.
const SecretPrefix = "whsec_"

// secretBytes is the size of a new signing key: the spec asks for 24 to 64
// random bytes.
const secretBytes = 32

// NewSecret returns a new signing secret: whsec_ and base64 of 32 random
// bytes.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the HMAC key a secret stands for: the bytes its base64
// part decodes to.
func secretKey(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) < 24 || len(k) > 64 {
		// The error must not quote the secret.
		return nil, errors.New("the endpoint's signing secret is not whsec_ and base64 of 24 to 64 bytes")
	}
	return k, nil
}

// SignAll returns the webhook-signature header for a message signed by
// several keys: their signatures, space-separated, as Standard Webhooks
// allows during a secret's rotation (a receiver accepts the message when
// one of them verifies with the secret it has).
func SignAll(keys [][]byte, id string, at time.Time, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, at, body)
	}
	return strings.Join(sigs, " ")
}

// Sign returns the webhook-signature header for a message: "v1," and the
// base64 HMAC-SHA256, under key, of "id.timestamp.body".
func Sign(key []byte, id string, at time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(at.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
