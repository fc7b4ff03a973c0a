package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

func accessTests() map[string]func(*testing.T, store.Store) {
	return map[string]func(*testing.T, store.Store){
		"Installation":        testInstallation,
		"InstallSecrets":      testInstallSecrets,
		"APIKeys":             testAPIKeys,
		"KeyRoll":             testKeyRoll,
		"KeyTouch":            testKeyTouch,
		"KeyWarnExpiring":     testKeyWarnExpiring,
		"AuditChain":          testAuditChain,
		"AuditAtomic":         testAuditAtomic,
		"AuditCheckpoints":    testAuditCheckpoints,
		"AuditListFilters":    testAuditListFilters,
		"AuditConcurrentKeys": testAuditConcurrentKeys,
	}
}

func entry(action string) rankr.AuditEntry {
	return rankr.AuditEntry{At: time.Now(), Actor: rankr.AuditActor{Type: rankr.ActorHost, ID: "ops"}, Action: action,
		Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "api_key", ID: "k"}}
}

func apiKey(id string) rankr.APIKey {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return rankr.APIKey{ID: id, Name: "ci", Hash: []byte("hash-" + id), Last4: "abcd", Role: "viewer",
		Scopes: []string{"orders:read", "events:read"}, Locations: []string{"L1"}, AllowIPs: []string{"10.0.0.0/8"},
		CreatedBy: rankr.HostActor, CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
}

// Every process sees the same installation, made once.
func testInstallation(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			in, err := s.Installation(ctx)
			if err != nil {
				t.Error(err)
			}
			ids[i] = in.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("installations %v", ids)
		}
	}
	if err := s.InstallationSetAllowIPs(ctx, []string{"10.0.0.0/8", "2001:db8::/32"}, entry("installation.allow_ips_changed")); err != nil {
		t.Fatal(err)
	}
	in, err := s.Installation(ctx)
	if err != nil || in.ID != ids[0] || fmt.Sprint(in.AllowIPs) != "[10.0.0.0/8 2001:db8::/32]" {
		t.Fatalf("%+v %v", in, err)
	}
	if size, _, _ := s.AuditHead(ctx); size != 1 {
		t.Errorf("the change wrote %d audit records, want 1", size)
	}
}

// A secret is written once: racing writers all get the first one's.
func testInstallSecrets(t *testing.T, s store.Store) {
	if _, err := s.SecretGet(ctx, "pepper"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing secret: %v", err)
	}
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Go(func() {
			v, err := s.SecretPut(ctx, "pepper", []byte(fmt.Sprint("sealed-", i)))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for _, v := range got {
		if !bytes.Equal(v, got[0]) {
			t.Fatalf("racing writers got different secrets: %q", got)
		}
	}
	if v, err := s.SecretGet(ctx, "pepper"); err != nil || !bytes.Equal(v, got[0]) {
		t.Fatalf("%q %v", v, err)
	}
	for _, n := range []string{"sign:1", "sign:2", "signx", "other"} {
		if _, err := s.SecretPut(ctx, n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.SecretList(ctx, "sign:")
	if err != nil || len(list) != 2 || string(list["sign:2"]) != "sign:2" {
		t.Fatalf("%q %v", list, err)
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	k := apiKey("kid1")
	if err := s.KeyCreate(ctx, k, entry("api_key.created")); err != nil {
		t.Fatal(err)
	}
	if err := s.KeyCreate(ctx, k, entry("api_key.created")); err == nil {
		t.Fatal("a key id was stored twice")
	}
	got, err := s.KeyGet(ctx, "kid1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != "viewer" || fmt.Sprint(got.Scopes) != "[orders:read events:read]" || fmt.Sprint(got.Locations) != "[L1]" ||
		!bytes.Equal(got.Hash, k.Hash) || !got.ExpiresAt.Equal(k.ExpiresAt) || got.CreatedBy != rankr.HostActor || !got.RevokedAt.IsZero() {
		t.Fatalf("stored %+v", got)
	}
	if _, err := s.KeyGet(ctx, "nope"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	role, allow := "operator", []string{"192.0.2.1/32"}
	if err := s.KeyUpdate(ctx, store.KeyUpdateParams{ID: "kid1", Role: &role, AllowIPs: &allow}, entry("api_key.role_changed")); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if n, err := s.KeyCount(ctx, now); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
	if err := s.KeyUpdate(ctx, store.KeyUpdateParams{ID: "kid1", RevokedAt: &now}, entry("api_key.revoked")); err != nil {
		t.Fatal(err)
	}
	got, _ = s.KeyGet(ctx, "kid1")
	if got.Role != "operator" || fmt.Sprint(got.AllowIPs) != "[192.0.2.1/32]" || got.RevokedAt.IsZero() {
		t.Fatalf("after updates %+v", got)
	}
	if err := s.KeyUpdate(ctx, store.KeyUpdateParams{ID: "kid1", Role: &role}, entry("api_key.role_changed")); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("changing a revoked key: %v", err)
	}
	if err := s.KeyUpdate(ctx, store.KeyUpdateParams{ID: "nope", Role: &role}, entry("x")); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("changing an unknown key: %v", err)
	}
	if n, _ := s.KeyCount(ctx, now); n != 0 {
		t.Errorf("a revoked key counts: %d", n)
	}
	if size, _, _ := s.AuditHead(ctx); size != 3 {
		t.Errorf("%d audit records for 3 changes", size)
	}
	keys, err := s.KeyList(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("%v %v", keys, err)
	}
}

// A roll adds the new key and shortens the old one's life, never
// lengthens it.
func testKeyRoll(t *testing.T, s store.Store) {
	old := apiKey("old1")
	if err := s.KeyCreate(ctx, old, entry("api_key.created")); err != nil {
		t.Fatal(err)
	}
	n := apiKey("new1")
	n.RotatedFrom = "old1"
	grace := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	if err := s.KeyRoll(ctx, store.KeyRollParams{Old: "old1", OldExpiresAt: grace, New: n}, entry("api_key.rolled")); err != nil {
		t.Fatal(err)
	}
	o, _ := s.KeyGet(ctx, "old1")
	nk, err := s.KeyGet(ctx, "new1")
	if err != nil || nk.RotatedFrom != "old1" || !o.ExpiresAt.Equal(grace) {
		t.Fatalf("old %+v new %+v %v", o, nk, err)
	}
	n2 := apiKey("new2")
	if err := s.KeyRoll(ctx, store.KeyRollParams{Old: "old1", OldExpiresAt: grace.Add(48 * time.Hour), New: n2}, entry("api_key.rolled")); err != nil {
		t.Fatal(err)
	}
	if o, _ = s.KeyGet(ctx, "old1"); !o.ExpiresAt.Equal(grace) {
		t.Errorf("a second roll lengthened the old key's life to %v", o.ExpiresAt)
	}
	// A roll whose audit record cannot be written does not happen.
	n3 := apiKey("new3")
	if err := s.KeyRoll(ctx, store.KeyRollParams{Old: "old1", OldExpiresAt: grace, New: n3}, rankr.AuditEntry{}); err == nil {
		t.Fatal("a roll without its audit record")
	}
	if _, err := s.KeyGet(ctx, "new3"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("the roll's key stayed: %v", err)
	}
}

// Last use is written at most once per interval.
func testKeyTouch(t *testing.T, s store.Store) {
	if err := s.KeyCreate(ctx, apiKey("t1"), entry("api_key.created")); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now().UTC().Truncate(time.Millisecond)
	touch := func(at time.Time, ip string) {
		if err := s.KeyTouch(ctx, store.KeyTouchParams{ID: "t1", At: at, IP: ip, UA: "curl/8", Every: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	touch(t1, "192.0.2.1")
	touch(t1.Add(10*time.Second), "192.0.2.2")
	k, _ := s.KeyGet(ctx, "t1")
	if !k.LastUsedAt.Equal(t1) || k.LastUsedIP != "192.0.2.1" || k.LastUsedUA != "curl/8" {
		t.Fatalf("after a touch within 30 s: %v %s", k.LastUsedAt, k.LastUsedIP)
	}
	touch(t1.Add(31*time.Second), "192.0.2.3")
	if k, _ = s.KeyGet(ctx, "t1"); k.LastUsedIP != "192.0.2.3" {
		t.Fatalf("a touch after 30 s was skipped: %s", k.LastUsedIP)
	}
}

// Keys are warned once 7 days before expiry and once 1 day before, with an
// event each time.
func testKeyWarnExpiring(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	soon := apiKey("soon")
	soon.ExpiresAt = now.Add(5 * 24 * time.Hour)
	later := apiKey("later")
	later.ExpiresAt = now.Add(60 * 24 * time.Hour)
	for _, k := range []rankr.APIKey{soon, later} {
		if err := s.KeyCreate(ctx, k, entry("api_key.created")); err != nil {
			t.Fatal(err)
		}
	}
	warned, err := s.KeyWarnExpiring(ctx, now)
	if err != nil || len(warned) != 1 || warned[0].ID != "soon" {
		t.Fatalf("%v %v", warned, err)
	}
	if warned, _ = s.KeyWarnExpiring(ctx, now.Add(time.Hour)); len(warned) != 0 {
		t.Fatalf("warned twice: %v", warned)
	}
	if warned, _ = s.KeyWarnExpiring(ctx, now.Add(4*24*time.Hour+time.Hour)); len(warned) != 1 || warned[0].ExpiryWarned != 1 {
		t.Fatalf("the last day's warning: %v", warned)
	}
	evs := Events(t, s, "")
	n := 0
	for _, e := range evs {
		if e.Kind == "key.expiring" && e.RecordID == "soon" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d key.expiring events, want 2", n)
	}
}

// verifyChain recomputes the chain and fails at the first break.
func verifyChain(t *testing.T, s store.Store) int64 {
	t.Helper()
	var prev []byte
	next := int64(1)
	for {
		recs, err := s.AuditList(ctx, store.AuditListParams{AfterSeq: next - 1, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if r.Seq != next {
				t.Fatalf("record %d follows %d", r.Seq, next-1)
			}
			if h := rankr.AuditChain(prev, r.Body); !bytes.Equal(h, r.Hash) {
				t.Fatalf("record %d breaks the chain", r.Seq)
			}
			prev, next = r.Hash, next+1
		}
	}
	size, head, err := s.AuditHead(ctx)
	if err != nil || size != next-1 || !bytes.Equal(head, prev) {
		t.Fatalf("head %d %x, records end at %d %x (%v)", size, head, next-1, prev, err)
	}
	return size
}

// Appends from many writers at once are numbered without gaps and chained
// in order.
func testAuditChain(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				e := entry(fmt.Sprintf("test.w%d", w))
				e.Changes = []byte(fmt.Sprintf(`{"i":%d}`, i))
				if err := s.AuditAppend(ctx, e, e); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := verifyChain(t, s); n != 160 {
		t.Fatalf("%d records, want 160", n)
	}
	recs, _ := s.AuditList(ctx, store.AuditListParams{Limit: 1})
	if recs[0].Actor.ID != "ops" || recs[0].Outcome != rankr.AuditSuccess || recs[0].Changes == nil {
		t.Fatalf("record read back %+v", recs[0])
	}
}

// The audit record is part of the change: when it cannot be written, the
// change is not made.
func testAuditAtomic(t *testing.T, s store.Store) {
	bad := rankr.AuditEntry{Action: "api_key.created"} // no actor, no outcome
	if err := s.KeyCreate(ctx, apiKey("a1"), bad); err == nil {
		t.Fatal("a key was created without its audit record")
	}
	if _, err := s.KeyGet(ctx, "a1"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("the key stayed: %v", err)
	}
	if err := s.KeyCreate(ctx, apiKey("a2"), entry("api_key.created")); err != nil {
		t.Fatal(err)
	}
	revoke := time.Now()
	if err := s.KeyUpdate(ctx, store.KeyUpdateParams{ID: "a2", RevokedAt: &revoke}, bad); err == nil {
		t.Fatal("a revocation without its audit record")
	}
	if k, _ := s.KeyGet(ctx, "a2"); !k.RevokedAt.IsZero() {
		t.Fatal("the revocation stayed")
	}
	if err := s.InstallationSetAllowIPs(ctx, []string{"10.0.0.0/8"}, bad); err == nil {
		t.Fatal("an allow-list change without its audit record")
	}
	if in, _ := s.Installation(ctx); len(in.AllowIPs) != 0 {
		t.Fatalf("the allow-list changed: %v", in.AllowIPs)
	}
	if n := verifyChain(t, s); n != 1 {
		t.Fatalf("%d records", n)
	}
}

func testAuditCheckpoints(t *testing.T, s store.Store) {
	for range 5 {
		if err := s.AuditAppend(ctx, entry("test.x")); err != nil {
			t.Fatal(err)
		}
	}
	recs, _ := s.AuditList(ctx, store.AuditListParams{})
	cp := rankr.AuditCheckpoint{Size: 3, Hash: recs[2].Hash, KeyID: "k1", Signature: []byte("sig"), At: time.Now()}
	for range 2 {
		if err := s.AuditCheckpointAdd(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	cp5 := cp
	cp5.Size, cp5.Hash = 5, recs[4].Hash
	if err := s.AuditCheckpointAdd(ctx, cp5); err != nil {
		t.Fatal(err)
	}
	cps, err := s.AuditCheckpoints(ctx)
	if err != nil || len(cps) != 2 || cps[0].Size != 3 || cps[1].Size != 5 || string(cps[0].Signature) != "sig" {
		t.Fatalf("%+v %v", cps, err)
	}
	// Pruning to record 4 leaves a base at 4 and drops the older.
	base := rankr.AuditCheckpoint{Size: 4, Hash: recs[3].Hash, KeyID: "k1", Signature: []byte("base"), Base: true}
	n, err := s.AuditPrune(ctx, base)
	if err != nil || n != 4 {
		t.Fatalf("pruned %d %v", n, err)
	}
	cps, _ = s.AuditCheckpoints(ctx)
	if len(cps) != 2 || cps[0].Size != 4 || !cps[0].Base || cps[1].Size != 5 {
		t.Fatalf("after pruning %+v", cps)
	}
	left, _ := s.AuditList(ctx, store.AuditListParams{})
	if len(left) != 1 || left[0].Seq != 5 {
		t.Fatalf("left %v", left)
	}
	if err := s.AuditAppend(ctx, entry("test.y")); err != nil {
		t.Fatal(err)
	}
	if size, _, _ := s.AuditHead(ctx); size != 6 {
		t.Fatalf("numbering restarted after a prune: %d", size)
	}
	wrong := base
	wrong.Size, wrong.Hash = 5, []byte("not it")
	if _, err := s.AuditPrune(ctx, wrong); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("a base that is not the record's: %v", err)
	}
}

func testAuditListFilters(t *testing.T, s store.Store) {
	old := entry("api_key.created")
	old.At = time.Now().Add(-48 * time.Hour)
	other := entry("webhook.bad_signature")
	other.Actor = rankr.AuditActor{Type: rankr.ActorGHL}
	keyed := entry("api_key.revoked")
	keyed.Actor = rankr.AuditActor{Type: rankr.ActorAPIKey, ID: "kid9"}
	if err := s.AuditAppend(ctx, old, other, keyed); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    store.AuditListParams
		want string
	}{
		{store.AuditListParams{}, "[1 2 3]"},
		{store.AuditListParams{Since: time.Now().Add(-time.Hour)}, "[2 3]"},
		{store.AuditListParams{Actor: "kid9"}, "[3]"},
		{store.AuditListParams{Actor: rankr.ActorGHL}, "[2]"},
		{store.AuditListParams{Action: "api_key."}, "[1 3]"},
		{store.AuditListParams{Action: "api_key.revoked"}, "[3]"},
		{store.AuditListParams{AfterSeq: 1, Limit: 1}, "[2]"},
		{store.AuditListParams{Newest: true}, "[3 2 1]"},
		{store.AuditListParams{Newest: true, Limit: 1}, "[3]"},
		{store.AuditListParams{Newest: true, BeforeSeq: 3, Limit: 1}, "[2]"},
		{store.AuditListParams{Newest: true, BeforeSeq: 3, Action: "api_key."}, "[1]"},
		{store.AuditListParams{BeforeSeq: 3, AfterSeq: 1}, "[2]"},
	} {
		recs, err := s.AuditList(ctx, c.p)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, r := range recs {
			seqs = append(seqs, r.Seq)
		}
		if fmt.Sprint(seqs) != c.want {
			t.Errorf("%+v: %v, want %s", c.p, seqs, c.want)
		}
	}
}

// Keys made concurrently each get their audit record, in one chain.
func testAuditConcurrentKeys(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := s.KeyCreate(ctx, apiKey(fmt.Sprint("c", i)), entry("api_key.created")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := verifyChain(t, s); n != 20 {
		t.Fatalf("%d records for 20 keys", n)
	}
}
