package access

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"strings"
)

// A key reads rnkr_{live|test}_{id}_{secret}{check}: the id (12 base32
// characters) finds the key's row, the secret (32 base62 characters, 190
// bits) is what makes it unguessable, and check (a CRC-32 of everything
// before it, in 6 base62 characters) lets a mistyped or made-up key be
// refused without touching the database. Secret scanners can look for
// KeyPattern.
const (
	idLen     = 12
	secretLen = 32
	checkLen  = 6
)

// KeyPattern matches a Rankr API key (for secret scanners).
const KeyPattern = `rnkr_(live|test)_[a-z2-7]{12}_[0-9A-Za-z]{38}`

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformedKey means a string is not a Rankr API key: wrong shape or a
// checksum that does not match.
var ErrMalformedKey = errors.New("not a Rankr API key (rnkr_live_… or rnkr_test_…), or mistyped")

// newToken returns a new key and its id.
func newToken(test bool) (token, id string) {
	b := make([]byte, 8)
	rand.Read(b)
	id = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:idLen]
	secret := make([]byte, secretLen)
	for i := range secret {
		secret[i] = base62[randBelow(62)]
	}
	env := "live"
	if test {
		env = "test"
	}
	body := "rnkr_" + env + "_" + id + "_" + string(secret)
	return body + check(body), id
}

// randBelow returns a uniform random number in [0, n), n ≤ 256.
func randBelow(n int) int {
	limit := 256 - 256%n // reject the bytes that would bias the result
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// check is the CRC-32 of s in 6 base62 digits.
func check(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, checkLen)
	for i := checkLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return string(out)
}

// ParseKey checks a key's shape and checksum and returns its id and whether
// it is a test key. It reads nothing but the string.
func ParseKey(token string) (id string, test bool, err error) {
	if !wellFormed(token) {
		return "", false, ErrMalformedKey
	}
	body, sum := token[:len(token)-checkLen], token[len(token)-checkLen:]
	if check(body) != sum {
		return "", false, ErrMalformedKey
	}
	test = strings.HasPrefix(token, "rnkr_test_")
	id = token[len("rnkr_live_") : len("rnkr_live_")+idLen]
	return id, test, nil
}

// wellFormed reports whether s matches KeyPattern, without a regular
// expression's cost on every request.
func wellFormed(s string) bool {
	const head = len("rnkr_live_")
	if len(s) != head+idLen+1+secretLen+checkLen || !strings.HasPrefix(s, "rnkr_live_") && !strings.HasPrefix(s, "rnkr_test_") {
		return false
	}
	for i := head; i < head+idLen; i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	if s[head+idLen] != '_' {
		return false
	}
	for i := head + idLen + 1; i < len(s); i++ {
		if !strings.ContainsRune(base62, rune(s[i])) {
			return false
		}
	}
	return true
}

// Display shows a key without its secret: its prefix, id and last four
// characters.
func Display(id string, test bool, last4 string) string {
	env := "live"
	if test {
		env = "test"
	}
	return "rnkr_" + env + "_" + id + "_…" + last4
}

// Hasher turns keys and secrets into HMACs under the installation's pepper,
// so that the database holds nothing that can be used as a key.
type Hasher struct {
	keys  []byte // for API keys
	audit []byte // for secrets named in audit records
	// session signs the dashboard's session cookies.
	session []byte
}

// NewHasher derives the hasher's keys from the pepper.
func NewHasher(pepper []byte) *Hasher {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, pepper)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	return &Hasher{keys: derive("rankr api keys"), audit: derive("rankr audit secrets"), session: derive("rankr sessions")}
}

// Key returns the HMAC of a key.
func (h *Hasher) Key(token string) []byte { return mac(h.keys, token) }

// Secret returns how an audit record names a secret: its HMAC, never the
// secret. `rankr audit hash VALUE` computes the same to find it.
func (h *Hasher) Secret(value string) string {
	return "hmac-sha256:" + hex.EncodeToString(mac(h.audit, value))
}

func mac(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}
