package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

func sealedTests() map[string]func(*testing.T, store.Store) {
	return map[string]func(*testing.T, store.Store){
		"SealedCounts":  testSealedCounts,
		"SealedPages":   testSealedPages,
		"SealedReplace": testSealedReplace,

		"WebhookSecretRotation": testWebhookSecretRotation,
		"WebhookEndpointAudit":  testWebhookEndpointAudit,
	}
}

// fakeSealed is bytes laid out as the vault's sealed secrets are (format
// tag, 8-byte master key id, the rest): the store reads the id and nothing
// else.
func fakeSealed(keyID byte, body string) []byte {
	return append([]byte{'r', 'k', 'v', '1', keyID, keyID, keyID, keyID, keyID, keyID, keyID, keyID}, body...)
}

func hexID(keyID byte) string {
	return fmt.Sprintf("%02x%02x%02x%02x%02x%02x%02x%02x", keyID, keyID, keyID, keyID, keyID, keyID, keyID, keyID)
}

func putConnection(t *testing.T, s store.Store, loc string, sealed []byte) {
	t.Helper()
	if _, err := s.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: loc, BaseURL: "http://127.0.0.1:1",
		Credential: sealed, CredentialKind: "pit", Now: t0}); err != nil {
		t.Fatal(err)
	}
}

// Counts group every sealed column's secrets by the key id in their first
// bytes; a column holding NULL (an endpoint never rotated) counts nothing.
func testSealedCounts(t *testing.T, s store.Store) {
	for i := range 5 {
		putConnection(t, s, fmt.Sprintf("L%d", i), fakeSealed(byte(1+i%2), "token"))
	}
	if _, err := s.SecretPut(ctx, "pepper", fakeSealed(2, "pepper")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebhookEndpointCreate(ctx, store.WebhookEndpointCreateParams{ID: "ep_a", URL: "https://example.com/h",
		Secret: fakeSealed(3, "whsec"), Events: []string{"*"}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	counts, err := s.SealedCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range counts {
		got[c.Kind+"/"+c.KeyID] += c.Count
	}
	want := map[string]int{"connection/" + hexID(1): 3, "connection/" + hexID(2): 2, "install secret/" + hexID(2): 1,
		"webhook endpoint/" + hexID(3): 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d secrets, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("counts %v, want %v", got, want)
	}
}

// Pages walk one kind by key, leave out a key id when asked, and refuse a
// kind that is not in the table.
func testSealedPages(t *testing.T, s store.Store) {
	for i := range 7 {
		key := byte(1)
		if i == 3 {
			key = 2
		}
		putConnection(t, s, fmt.Sprintf("L%d", i), fakeSealed(key, fmt.Sprint("token", i)))
	}
	var keys []string
	after := ""
	for {
		page, err := s.SealedPage(ctx, store.SealedPageParams{Kind: "connection", AfterKey: after, ExceptKeyID: hexID(2), Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("a page of %d, limit 2", len(page))
		}
		for _, p := range page {
			if p.Kind != "connection" || !bytes.HasPrefix(p.Sealed, fakeSealed(1, "")) {
				t.Errorf("page holds %s %s %q", p.Kind, p.Key, p.Sealed)
			}
			keys = append(keys, p.Key)
		}
		after = page[len(page)-1].Key
	}
	if want := []string{"L0", "L1", "L2", "L4", "L5", "L6"}; !slices.Equal(keys, want) {
		t.Errorf("paged %v, want %v", keys, want)
	}
	all, err := s.SealedPage(ctx, store.SealedPageParams{Kind: "connection"})
	if err != nil || len(all) != 7 {
		t.Errorf("every connection: %d, %v", len(all), err)
	}
	if _, err := s.SealedPage(ctx, store.SealedPageParams{Kind: "nope"}); !errors.Is(err, rankr.ErrInvalid) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := s.SealedPage(ctx, store.SealedPageParams{Kind: "connection", ExceptKeyID: "zz"}); !errors.Is(err, rankr.ErrInvalid) {
		t.Errorf("bad key id: %v", err)
	}
}

// A replacement is a compare-and-set on the old bytes: a secret written
// since it was read keeps what was written.
func testSealedReplace(t *testing.T, s store.Store) {
	putConnection(t, s, "L1", fakeSealed(1, "one"))
	putConnection(t, s, "L2", fakeSealed(1, "two"))
	if _, err := s.SecretPut(ctx, "pepper", fakeSealed(1, "pepper")); err != nil {
		t.Fatal(err)
	}
	// L2 is connected again (a new token) after the reseal read it.
	putConnection(t, s, "L2", fakeSealed(1, "two, again"))
	n, err := s.SealedReplace(ctx, []store.SealedReplacement{
		{Kind: "connection", Key: "L1", Old: fakeSealed(1, "one"), New: fakeSealed(2, "one")},
		{Kind: "connection", Key: "L2", Old: fakeSealed(1, "two"), New: fakeSealed(2, "two")},
		{Kind: "install secret", Key: "pepper", Old: fakeSealed(1, "pepper"), New: fakeSealed(2, "pepper")},
		{Kind: "connection", Key: "L9", Old: fakeSealed(1, "gone"), New: fakeSealed(2, "gone")},
	})
	if err != nil || n != 2 {
		t.Fatalf("replaced %d, %v; want 2", n, err)
	}
	for loc, want := range map[string][]byte{"L1": fakeSealed(2, "one"), "L2": fakeSealed(1, "two, again")} {
		c, err := s.ConnectionGet(ctx, loc)
		if err != nil || !bytes.Equal(c.Credential, want) {
			t.Errorf("%s holds %q (%v), want %q", loc, c.Credential, err, want)
		}
	}
	if p, err := s.SecretGet(ctx, "pepper"); err != nil || !bytes.Equal(p, fakeSealed(2, "pepper")) {
		t.Errorf("pepper %q, %v", p, err)
	}
	for _, bad := range [][]store.SealedReplacement{
		{{Kind: "nope", Key: "x", Old: []byte("a"), New: []byte("b")}},
		{{Kind: "connection", Key: "L1", New: []byte("b")}},
	} {
		if _, err := s.SealedReplace(ctx, bad); !errors.Is(err, rankr.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
}
