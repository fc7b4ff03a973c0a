package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	t.Parallel()
	v, err := New(key(1))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("pit-0000-secret-token")
	sealed, err := v.Seal(secret, "connection:L1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) || bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("the sealed bytes contain the secret")
	}
	again, _ := v.Seal(secret, "connection:L1")
	if bytes.Equal(sealed, again) {
		t.Fatal("sealing twice gave the same bytes")
	}
	got, err := v.Open(sealed, "connection:L1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open = %q, %v", got, err)
	}

	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	other, _ := New(key(2))
	for name, open := range map[string]func() ([]byte, error){
		"wrong context": func() ([]byte, error) { return v.Open(sealed, "connection:L2") },
		"tampered":      func() ([]byte, error) { return v.Open(tampered, "connection:L1") },
		"wrong key":     func() ([]byte, error) { return other.Open(sealed, "connection:L1") },
		"truncated":     func() ([]byte, error) { return v.Open(sealed[:20], "connection:L1") },
		"not sealed":    func() ([]byte, error) { return v.Open(secret, "connection:L1") },
	} {
		got, err := open()
		if !errors.Is(err, ErrSealed) || got != nil {
			t.Errorf("%s: %q, %v", name, got, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s: the error shows the secret", name)
		}
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old, _ := New(key(1))
	sealed, _ := old.Seal([]byte("tok"), "c")
	rotated, err := New(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if !rotated.Stale(sealed) {
		t.Fatal("a secret sealed by the old key is not stale")
	}
	resealed, err := rotated.Reseal(sealed, "c")
	if err != nil || rotated.Stale(resealed) {
		t.Fatalf("reseal: %v", err)
	}
	onlyNew, _ := New(key(2))
	if got, err := onlyNew.Open(resealed, "c"); err != nil || string(got) != "tok" {
		t.Fatalf("open after rotation: %q, %v", got, err)
	}
	if _, err := onlyNew.Open(sealed, "c"); !errors.Is(err, ErrSealed) {
		t.Fatalf("the retired key still opens: %v", err)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := ParseKey(bad); err == nil || !strings.Contains(err.Error(), "32 random bytes") {
			t.Errorf("ParseKey(%q) = %v", bad, err)
		}
	}
	k, err := ParseKey(NewKey())
	if err != nil || len(k) != KeySize {
		t.Fatalf("NewKey does not parse: %v", err)
	}

	path := filepath.Join(t.TempDir(), "sub", "master.key")
	if _, _, err := LoadKeyFile(path, false); err == nil {
		t.Fatal("a missing key file was accepted")
	}
	k1, created, err := LoadKeyFile(path, true)
	if err != nil || !created {
		t.Fatalf("create: %v, %v", created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	k2, created, err := LoadKeyFile(path, true)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatal("the key file was not reused")
	}
}
