package vault

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// A vault given previous keys opens what they sealed, says so each time
// (with the key's id, never the key), and names the keys it holds.
func TestPreviousKeysAreReported(t *testing.T) {
	t.Parallel()
	k1, k2 := key(1), key(2)
	old, _ := New(k1)
	sealed, err := old.Seal([]byte("pit-secret"), "connection:L1")
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	v.OnPrevious(func(id string) { mu.Lock(); seen = append(seen, id); mu.Unlock() })
	if got, err := v.Open(sealed, "connection:L1"); err != nil || string(got) != "pit-secret" {
		t.Fatalf("open with the previous key: %q, %v", got, err)
	}
	fresh, _ := v.Seal([]byte("new"), "connection:L2")
	if _, err := v.Open(fresh, "connection:L2"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []string{old.KeyID()}) || v.PreviousOpens() != 1 {
		t.Fatalf("reported %v, %d opens; want one open under %s", seen, v.PreviousOpens(), old.KeyID())
	}
	for _, id := range seen {
		if strings.Contains(id, hex.EncodeToString(k1)) || len(id) != 16 {
			t.Fatalf("key id %q", id)
		}
	}
	if ids := v.KeyIDs(); !slices.Equal(ids, []string{v.KeyID(), old.KeyID()}) {
		t.Errorf("KeyIDs %v", ids)
	}
	if !v.Holds(old.KeyID()) || v.Holds("0000000000000000") || v.Holds("nope") {
		t.Error("Holds")
	}
	if id, ok := KeyIDOf(sealed); !ok || id != old.KeyID() {
		t.Errorf("KeyIDOf %q %v", id, ok)
	}
	if _, ok := KeyIDOf([]byte("plain")); ok {
		t.Error("KeyIDOf plain bytes")
	}
	if !bytes.Equal(sealed[KeyIDOffset:KeyIDOffset+KeyIDSize], mustHex(t, old.KeyID())) {
		t.Error("the key id is not where KeyIDOffset says")
	}
	// Resealed, the secret is under the current key and opens quietly.
	resealed, err := v.Reseal(sealed, "connection:L1")
	if err != nil || v.Stale(resealed) {
		t.Fatalf("reseal: %v", err)
	}
	if _, err := v.Open(resealed, "connection:L1"); err != nil || v.PreviousOpens() != 2 {
		t.Fatalf("after reseal: %v, %d previous opens (the reseal's own open counts)", err, v.PreviousOpens())
	}
}

// A secret sealed by a key not given fails with an error naming the key's
// id, which is still an ErrSealed.
func TestKeyNotHeld(t *testing.T) {
	t.Parallel()
	old, _ := New(key(1))
	sealed, _ := old.Seal([]byte("s"), "c")
	v, _ := New(key(2))
	_, err := v.Open(sealed, "c")
	var nh *KeyNotHeldError
	if !errors.As(err, &nh) || nh.KeyID != old.KeyID() || !errors.Is(err, ErrSealed) {
		t.Fatalf("%v", err)
	}
	if !strings.Contains(err.Error(), old.KeyID()) || !strings.Contains(err.Error(), "not given") {
		t.Errorf("message %q", err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
