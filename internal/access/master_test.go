package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/vault"
)

func masterKey(t *testing.T) []byte {
	k, err := vault.ParseKey(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustVault(t *testing.T, master []byte, previous ...[]byte) *vault.Vault {
	t.Helper()
	v, err := vault.New(master, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func connectionContext(loc string) string {
	c, _ := store.SealedColumnOf("connection")
	return c.Context(loc)
}

func connect(t *testing.T, st store.Store, v *vault.Vault, loc, token string) {
	t.Helper()
	sealed, err := v.Seal([]byte(token), connectionContext(loc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: loc, BaseURL: "http://127.0.0.1:1",
		Credential: sealed, CredentialKind: "pit"}); err != nil {
		t.Fatal(err)
	}
}

// openAll opens every sealed secret with v, and returns those that do not
// open by row.
func openAll(t *testing.T, st store.Store, v *vault.Vault) map[string]error {
	t.Helper()
	failed := map[string]error{}
	for _, col := range store.SealedColumns {
		after := ""
		for {
			page, err := st.SealedPage(ctx, store.SealedPageParams{Kind: col.Kind, AfterKey: after, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, s := range page {
				if _, err := v.Open(s.Sealed, col.Context(s.Key)); err != nil {
					failed[col.Kind+" "+s.Key] = err
				}
			}
			after = page[len(page)-1].Key
		}
	}
	return failed
}

func countOf(counts []MasterKeyCount, id string) MasterKeyCount {
	for _, c := range counts {
		if c.KeyID == id {
			return c
		}
	}
	return MasterKeyCount{}
}

// A rotation: secrets of every kind sealed under K1 open with K2 (+K1
// previous), a reseal moves them all to K2, after which K2 alone opens
// everything; a row under a key not given and a ciphertext copied from
// another row are named, left as they are, and the reseal says it is
// incomplete. Start and end are audited, with counts and no secret.
func TestResealRotatesEverySecret(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		st := open(t)
		k0, k1, k2 := masterKey(t), masterKey(t), masterKey(t)
		v1 := mustVault(t, k1)
		if _, err := LoadHasher(ctx, st, v1); err != nil {
			t.Fatal(err)
		}
		if _, err := SigningKeys(ctx, st, v1); err != nil {
			t.Fatal(err)
		}
		const n = 120
		for i := range n {
			connect(t, st, v1, fmt.Sprintf("L%04d", i), fmt.Sprintf("pit-token-%d", i))
		}
		whsec, _ := v1.Seal([]byte("whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"), "webhook-endpoint:ep_one")
		if _, err := st.WebhookEndpointCreate(ctx, store.WebhookEndpointCreateParams{ID: "ep_one", URL: "https://example.com/h",
			Secret: whsec, Events: []string{"*"}}); err != nil {
			t.Fatal(err)
		}
		connect(t, st, mustVault(t, k0), "Llost", "pit-lost")
		// L0007's ciphertext, copied to another connection's row.
		c7, _ := st.ConnectionGet(ctx, "L0007")
		if _, err := st.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: "Lcopy", BaseURL: "http://127.0.0.1:1",
			Credential: c7.Credential, CredentialKind: "pit"}); err != nil {
			t.Fatal(err)
		}
		copied, _ := st.ConnectionGet(ctx, "Lcopy")
		if _, err := v1.Open(copied.Credential, connectionContext("Lcopy")); !errors.Is(err, vault.ErrSealed) {
			t.Fatalf("a ciphertext copied to another row opens: %v", err)
		}

		v2 := mustVault(t, k2, k1)
		if failed := openAll(t, st, v2); len(failed) != 2 || failed["connection Llost"] == nil || failed["connection Lcopy"] == nil {
			t.Fatalf("with K2 and K1 previous, these do not open: %v", failed)
		}
		before, err := MasterStatus(ctx, st, v2)
		if err != nil {
			t.Fatal(err)
		}
		lostID, _ := vault.KeyIDOf(mustConnection(t, st, "Llost").Credential)
		if c := countOf(before, v1.KeyID()); c.Current || !c.Held || c.Total != n+4 || c.Kinds["connection"] != n+1 ||
			c.Kinds["install secret"] != 2 || c.Kinds["webhook endpoint"] != 1 {
			t.Fatalf("K1 before: %+v", c)
		}
		if c := countOf(before, lostID); c.Held || c.Total != 1 || before[len(before)-1].KeyID != lostID {
			t.Fatalf("the lost key: %+v in %+v", c, before)
		}
		if before[0].KeyID != v2.KeyID() || !before[0].Current || before[0].Total != 0 {
			t.Fatalf("the current key first: %+v", before)
		}

		dry, err := Reseal(ctx, st, v2, ResealOptions{DryRun: true, Batch: 7, Actor: Host("ops")})
		if !errors.Is(err, ErrResealIncomplete) || dry.Resealed != n+3 || len(dry.Failed) != 2 {
			t.Fatalf("dry run: %+v, %v", dry, err)
		}
		if again, _ := MasterStatus(ctx, st, v2); countOf(again, v1.KeyID()).Total != n+4 {
			t.Fatal("a dry run changed secrets")
		}
		if recs, _ := st.AuditList(ctx, store.AuditListParams{Action: "master_key."}); len(recs) != 0 {
			t.Fatalf("a dry run wrote %d audit records", len(recs))
		}

		res, err := Reseal(ctx, st, v2, ResealOptions{Batch: 7, Actor: Host("ops")})
		if !errors.Is(err, ErrResealIncomplete) || res.Resealed != n+3 || res.Changed != 0 || len(res.Failed) != 2 {
			t.Fatalf("reseal: %+v, %v", res, err)
		}
		msgs := []string{res.Failed[0].Error(), res.Failed[1].Error()}
		joined := strings.Join(msgs, "\n")
		if !strings.Contains(joined, "connection Llost: sealed by master key "+lostID+", which is not given") ||
			!strings.Contains(joined, "connection Lcopy: sealed by master key "+v1.KeyID()+", does not open") {
			t.Errorf("failures:\n%s", joined)
		}
		if c := countOf(res.After, v1.KeyID()); c.Total != 1 || c.Kinds["connection"] != 1 {
			t.Errorf("K1 after: %+v (only the copied row)", c)
		}
		if c := countOf(res.After, v2.KeyID()); c.Total != n+3 {
			t.Errorf("K2 after: %+v", c)
		}

		// K1 dropped: everything but the two bad rows opens, the pepper too.
		v3 := mustVault(t, k2)
		if failed := openAll(t, st, v3); len(failed) != 2 {
			t.Errorf("with K2 alone, these do not open: %v", failed)
		}
		if _, err := LoadHasher(ctx, st, v3); err != nil {
			t.Errorf("the pepper: %v", err)
		}
		for i := range n {
			loc := fmt.Sprintf("L%04d", i)
			got, err := v3.Open(mustConnection(t, st, loc).Credential, connectionContext(loc))
			if err != nil || string(got) != fmt.Sprintf("pit-token-%d", i) {
				t.Fatalf("%s: not its token after the reseal (%v)", loc, err)
			}
		}

		recs, err := st.AuditList(ctx, store.AuditListParams{Action: "master_key."})
		if err != nil || len(recs) != 2 {
			t.Fatalf("audit: %d records, %v", len(recs), err)
		}
		if recs[0].Action != "master_key.reseal_started" || recs[1].Action != "master_key.reseal_finished" ||
			recs[1].Outcome != rankr.AuditFailure || recs[0].Actor.Type != rankr.ActorHost || recs[0].Target.ID != v2.KeyID() {
			t.Errorf("audit records %+v", recs)
		}
		var fin struct {
			Resealed    int                       `json:"resealed"`
			Failed      int                       `json:"failed"`
			FailedByKey map[string]int            `json:"failedByKey"`
			Secrets     map[string]map[string]int `json:"secrets"`
		}
		if err := json.Unmarshal(recs[1].Changes, &fin); err != nil || fin.Resealed != n+3 || fin.Failed != 2 ||
			fin.FailedByKey[lostID] != 1 || fin.Secrets[v2.KeyID()]["connection"] != n {
			t.Errorf("finish record %s (%v)", recs[1].Changes, err)
		}
		for _, r := range recs {
			if bytes.Contains(r.Body, []byte("pit-")) || bytes.Contains(r.Body, []byte("whsec_")) {
				t.Errorf("audit record %d holds a secret: %s", r.Seq, r.Body)
			}
		}
	})
}

func mustConnection(t *testing.T, st store.Store, loc string) rankr.Connection {
	t.Helper()
	c, err := st.ConnectionGet(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// racingStore connects a location again (a new token, sealed by the new
// key) between the reseal's read of a batch and its replacement.
type racingStore struct {
	store.Store
	once   sync.Once
	during func()
}

func (r *racingStore) SealedReplace(ctx2 context.Context, repl []store.SealedReplacement) (int, error) {
	r.once.Do(r.during)
	return r.Store.SealedReplace(ctx2, repl)
}

// A connect that replaces a token while a reseal runs wins: the reseal's
// compare-and-set leaves the new token, and counts it as changed meanwhile.
func TestResealKeepsAConcurrentConnect(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		st := open(t)
		k1, k2 := masterKey(t), masterKey(t)
		v1 := mustVault(t, k1)
		for i := range 40 {
			connect(t, st, v1, fmt.Sprintf("L%04d", i), "old")
		}
		// The connect runs in another process, with the new key.
		other := mustVault(t, k2, k1)
		v2 := mustVault(t, k2, k1)
		race := &racingStore{Store: st, during: func() { connect(t, st, other, "L0003", "new") }}
		res, err := Reseal(ctx, race, v2, ResealOptions{Batch: 10, Actor: Host("ops")})
		if err != nil || res.Resealed != 39 || res.Changed != 1 {
			t.Fatalf("reseal: %+v, %v", res, err)
		}
		if got, err := v2.Open(mustConnection(t, st, "L0003").Credential, connectionContext("L0003")); err != nil || string(got) != "new" {
			t.Fatalf("L0003 does not hold the connect's token (%v): the reseal overwrote it", err)
		}

		// The same, with connects racing for real from another goroutine
		// (the old key's configuration: they must be resealed next time).
		for i := range 200 {
			connect(t, st, v1, fmt.Sprintf("M%04d", i), "old")
		}
		last := map[string]string{}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				loc, token := fmt.Sprintf("M%04d", (i*37)%200), fmt.Sprintf("token-%d", i)
				sealed, _ := v1.Seal([]byte(token), connectionContext(loc))
				if _, err := st.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: loc, BaseURL: "http://127.0.0.1:1",
					Credential: sealed, CredentialKind: "pit"}); err != nil {
					t.Error(err)
					return
				}
				last[loc] = token
			}
		}()
		res, err = Reseal(ctx, st, v2, ResealOptions{Batch: 5, Actor: Host("ops")})
		close(stop)
		<-done
		if err != nil {
			t.Fatal(err)
		}
		for loc, token := range last {
			got, err := v2.Open(mustConnection(t, st, loc).Credential, connectionContext(loc))
			if err != nil || string(got) != token {
				t.Fatalf("%s does not hold what the last connect wrote (%v)", loc, err)
			}
		}
		if failed := openAll(t, st, v2); len(failed) != 0 {
			t.Fatalf("do not open: %v", failed)
		}
	})
}
