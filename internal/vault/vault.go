// Package vault seals secrets (GHL tokens today; OAuth refresh tokens and
// client secrets later) before they reach the database, with envelope
// encryption: each secret gets its own random data key, which is sealed by
// the master key. Everything is AES-256-GCM.
//
// A sealed secret names the master key that sealed it, so that the master
// key can be rotated: a Vault opens secrets sealed by any key it holds, and
// seals new ones with its current key. Each secret is bound to a context
// (say, the connection's location id): a ciphertext copied to another row
// does not open.
//
// Package vault imports nothing of ours.
package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// KeySize is the size of a master key: 32 random bytes.
const KeySize = 32

// magic starts every sealed secret and names the format.
var magic = []byte("rkv1")

const (
	keyIDSize  = 8
	nonceSize  = 12
	tagSize    = 16
	wrappedLen = nonceSize + KeySize + tagSize
)

// ErrSealed means a sealed secret does not open: wrong key, wrong context or
// tampered bytes. The error never says which, nor shows any of the secret.
var ErrSealed = errors.New("vault: the secret does not open with the keys given")

// KeyNotHeldError is the error of opening a secret sealed by a master key
// the vault was not given. It names the key by its id, never the key, and
// is an ErrSealed.
type KeyNotHeldError struct {
	KeyID string // hex, as KeyID and SealedKeyID give it
}

func (e *KeyNotHeldError) Error() string {
	return "vault: sealed by master key " + e.KeyID + ", which is not given"
}

// Is makes a KeyNotHeldError an ErrSealed.
func (e *KeyNotHeldError) Is(target error) bool { return target == ErrSealed }

// Vault seals and opens secrets. It is safe for concurrent use once
// OnPrevious, if called, has been.
type Vault struct {
	current [keyIDSize]byte
	keys    map[[keyIDSize]byte]cipher.AEAD
	order   [][keyIDSize]byte // current first, then the previous keys as given

	onPrevious    func(keyID string)
	previousOpens atomic.Int64
}

// New returns a vault that seals with master and opens secrets sealed by
// master or by any of previous (keys being rotated out).
func New(master []byte, previous ...[]byte) (*Vault, error) {
	v := &Vault{keys: map[[keyIDSize]byte]cipher.AEAD{}}
	for i, k := range append([][]byte{master}, previous...) {
		if len(k) != KeySize {
			return nil, fmt.Errorf("vault: a master key must be %d bytes, got %d", KeySize, len(k))
		}
		aead, err := newAEAD(k)
		if err != nil {
			return nil, err
		}
		id := keyID(k)
		if _, dup := v.keys[id]; !dup {
			v.order = append(v.order, id)
		}
		v.keys[id] = aead
		if i == 0 {
			v.current = id
		}
	}
	return v, nil
}

// OnPrevious makes the vault call fn, with the key's id, each time it opens
// a secret sealed by a previous key: the sign that a reseal is due. Call it
// before the vault is shared; fn must be safe for concurrent use.
func (v *Vault) OnPrevious(fn func(keyID string)) { v.onPrevious = fn }

// PreviousOpens counts the secrets opened with a previous key so far.
func (v *Vault) PreviousOpens() int64 { return v.previousOpens.Load() }

// KeyID is the id of the current master key, the one that seals: 16 hex
// digits, which say nothing of the key.
func (v *Vault) KeyID() string { return hex.EncodeToString(v.current[:]) }

// KeyIDs are the ids of every master key held, the current one first.
func (v *Vault) KeyIDs() []string {
	out := make([]string, len(v.order))
	for i, id := range v.order {
		out[i] = hex.EncodeToString(id[:])
	}
	return out
}

// Holds reports whether the vault holds the master key of an id.
func (v *Vault) Holds(keyID string) bool {
	var id [keyIDSize]byte
	b, err := hex.DecodeString(keyID)
	if err != nil || len(b) != keyIDSize {
		return false
	}
	copy(id[:], b)
	_, ok := v.keys[id]
	return ok
}

// KeyIDOf returns the id of the master key a ciphertext names, without
// opening it, and false when it is not a sealed secret at all.
func KeyIDOf(sealed []byte) (string, bool) {
	id, ok := sealedKeyID(sealed)
	if !ok {
		return "", false
	}
	return hex.EncodeToString(id[:]), true
}

// KeyIDOffset and KeyIDSize locate the master key's id in a sealed secret
// (0-based), for a database to group secrets by key without opening them.
const (
	KeyIDOffset = 4 // len(magic)
	KeyIDSize   = keyIDSize
)

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// keyID names a master key without revealing it.
func keyID(key []byte) [keyIDSize]byte {
	sum := sha256.Sum256(append([]byte("rankr vault key id\x00"), key...))
	var id [keyIDSize]byte
	copy(id[:], sum[:])
	return id
}

// Seal encrypts secret, bound to context.
func (v *Vault) Seal(secret []byte, context string) ([]byte, error) {
	dek := make([]byte, KeySize)
	if _, err := rand.Read(dek); err != nil {
		return nil, err
	}
	data, err := newAEAD(dek)
	if err != nil {
		return nil, err
	}
	out := append(bytes.Clone(magic), v.current[:]...)
	aad := v.aad(v.current, context)
	out, err = appendSealed(out, v.keys[v.current], dek, aad)
	if err != nil {
		return nil, err
	}
	return appendSealed(out, data, secret, aad)
}

func appendSealed(dst []byte, aead cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	dst = append(dst, nonce...)
	return aead.Seal(dst, nonce, plaintext, aad), nil
}

func (v *Vault) aad(id [keyIDSize]byte, context string) []byte {
	return append(append(bytes.Clone(magic), id[:]...), context...)
}

// Open decrypts a secret sealed with context.
func (v *Vault) Open(sealed []byte, context string) ([]byte, error) {
	id, ok := sealedKeyID(sealed)
	if !ok || len(sealed) < len(magic)+keyIDSize+wrappedLen+nonceSize+tagSize {
		return nil, ErrSealed
	}
	kek, ok := v.keys[id]
	if !ok {
		return nil, &KeyNotHeldError{KeyID: hex.EncodeToString(id[:])}
	}
	rest := sealed[len(magic)+keyIDSize:]
	aad := v.aad(id, context)
	dek, err := kek.Open(nil, rest[:nonceSize], rest[nonceSize:wrappedLen], aad)
	if err != nil {
		return nil, ErrSealed
	}
	data, err := newAEAD(dek)
	if err != nil {
		return nil, ErrSealed
	}
	rest = rest[wrappedLen:]
	secret, err := data.Open(nil, rest[:nonceSize], rest[nonceSize:], aad)
	if err != nil {
		return nil, ErrSealed
	}
	if id != v.current {
		v.previousOpens.Add(1)
		if v.onPrevious != nil {
			v.onPrevious(hex.EncodeToString(id[:]))
		}
	}
	return secret, nil
}

func sealedKeyID(sealed []byte) ([keyIDSize]byte, bool) {
	var id [keyIDSize]byte
	if !bytes.HasPrefix(sealed, magic) || len(sealed) < len(magic)+keyIDSize {
		return id, false
	}
	copy(id[:], sealed[len(magic):])
	return id, true
}

// Stale reports whether sealed was sealed by another key than the current
// one, and so should be resealed during a rotation.
func (v *Vault) Stale(sealed []byte) bool {
	id, ok := sealedKeyID(sealed)
	return !ok || id != v.current
}

// Reseal opens a secret and seals it again with the current key.
func (v *Vault) Reseal(sealed []byte, context string) ([]byte, error) {
	secret, err := v.Open(sealed, context)
	if err != nil {
		return nil, err
	}
	return v.Seal(secret, context)
}

// ParseKey reads a master key written as base64 (standard or URL alphabet,
// padded or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("vault: the master key is %d bytes; it must be base64 of %d random bytes (e.g. openssl rand -base64 32)", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("vault: the master key is not base64; it must be base64 of %d random bytes (e.g. openssl rand -base64 32)", KeySize)
}

// NewKey returns a new random master key, base64-encoded.
func NewKey() string {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.StdEncoding.EncodeToString(k)
}

// LoadKeyFile reads the master key from path. When the file does not exist
// and create is true, it writes a new key there (mode 0600) and reports that
// it did.
func LoadKeyFile(path string, create bool) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return nil, false, fmt.Errorf("reading the master key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	encoded := NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadKeyFile(path, false) // another process won the race
		}
		return nil, false, err
	}
	if _, err := f.WriteString(encoded + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Close(); err != nil {
		return nil, false, err
	}
	k, _ := ParseKey(encoded)
	return k, true, nil
}
