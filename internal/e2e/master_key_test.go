package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/testwait"
	"github.com/rankr/rankr/internal/vault"
)

// TestMasterKeyRotation rotates the master key under 10,000 secrets, as an
// operator does: K2 becomes the key with K1 previous (everything opens),
// rankr keys master reseal runs beside a serving rankr, is killed with
// SIGKILL partway and run again, until nothing is under K1; then K1 is
// dropped and everything opens with K2 alone. A row still under the
// dropped key is named by the next reseal. No key and no secret ever shows
// in the processes' output.
func TestMasterKeyRotation(t *testing.T) {
	t.Parallel()
	for _, name := range databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testMasterKeyRotation(t, name)
		})
	}
}

const rotatedSecrets = 10_000

func testMasterKeyRotation(t *testing.T, dbName string) {
	dir := t.TempDir()
	db := openDatabase(t, dbName, dir)
	k1, k2 := vault.NewKey(), vault.NewKey()
	v1, v12, v2 := openVault(t, k1), openVault(t, k2, k1), openVault(t, k2)
	base := newRankrEnv(t, dir, db, "RANKR_WEBHOOK_ALLOW=127.0.0.0/8")
	env1 := base.with("RANKR_MASTER_KEY=" + k1)
	env12 := base.with("RANKR_MASTER_KEY="+k2, "RANKR_MASTER_KEY_PREVIOUS="+k1)
	env2 := base.with("RANKR_MASTER_KEY=" + k2)
	var outputs []*proc

	// Under K1: the installation's secrets (a key makes the pepper and the
	// audit signing key), an outbound endpoint, and 10,000 connections.
	outputs = append(outputs, run(t, env1, time.Minute, "keys", "create", "--role", "owner"))
	outputs = append(outputs, run(t, env1, time.Minute, "webhooks", "add", "http://127.0.0.1:9/hook"))
	st := db.open(t)
	insertConnections(t, st, v1, "L", rotatedSecrets)
	const all = rotatedSecrets + 3

	// K2 with K1 previous: everything opens, status says where it is.
	if failed := openEvery(t, st, v12); failed != 0 {
		t.Fatalf("%d secrets do not open with K2 and K1 previous", failed)
	}
	status := masterStatus(t, env12)
	if status[v1.KeyID()].State != "previous" || status[v1.KeyID()].Secrets != all || status[v2.KeyID()].State != "current" ||
		status[v2.KeyID()].Secrets != 0 {
		t.Fatalf("status before: %+v", status)
	}
	serve := start(t, env12, "serve", "--addr", "127.0.0.1:0", "--poll-interval", "1s")
	servingAddr(t, serve)

	// The reseal, killed once it is partway.
	reseal := start(t, env12, "keys", "master", "reseal", "--batch", "10")
	testwait.UntilWhy(t, time.Minute, "the reseal to get going", func() (bool, string) {
		if !reseal.running() {
			return true, "" // finished first: the rerun below has nothing left
		}
		n := underKey(t, st, v1.KeyID())
		return n < all, fmt.Sprintf("%d under K1", n)
	})
	reseal.kill()
	left := underKey(t, st, v1.KeyID())
	t.Logf("killed the reseal with %d of %d secrets left under K1", left, all)
	if left == 0 {
		t.Log("the reseal finished before the kill landed; the rerun has nothing to do")
	}
	if failed := openEvery(t, st, v12); failed != 0 {
		t.Fatalf("after the kill, %d secrets do not open", failed)
	}
	again := run(t, env12, 2*time.Minute, "keys", "master", "reseal")
	outputs = append(outputs, reseal, again)
	if want := "0 under " + v1.KeyID() + ": remove it from RANKR_MASTER_KEY_PREVIOUS"; !strings.Contains(again.stdout.String(), want) {
		t.Fatalf("the rerun says:\n%s\nwant %q", again.stdout.String(), want)
	}
	if !strings.Contains(again.stdout.String(), fmt.Sprintf("resealed %d secrets", left)) {
		t.Errorf("the rerun resealed other than the %d left:\n%s", left, again.stdout.String())
	}
	if !strings.Contains(reseal.stderr.String()+again.stderr.String(), `"key_id":"`+v1.KeyID()+`"`) ||
		!strings.Contains(serve.stderr.String(), "a secret opened with a previous master key") {
		t.Errorf("no warning naming K1's id for opens with it:\n%s", tail(again.stderr.String(), 2000))
	}
	if !serve.running() {
		t.Fatalf("serve ended during the reseal: %s", serve.state())
	}
	if n := underKey(t, st, v1.KeyID()); n != 0 {
		t.Fatalf("%d secrets still under K1", n)
	}
	audit := run(t, env12, time.Minute, "audit", "list", "--action", "master_key.", "--json")
	// Two started; the killed one never finished, unless it was done
	// before the kill landed (a fast machine).
	finished := 1
	if left == 0 {
		finished = 2
	}
	if n := strings.Count(audit.stdout.String(), "master_key.reseal_started"); n != 2 ||
		strings.Count(audit.stdout.String(), "master_key.reseal_finished") != finished {
		t.Errorf("audit records of the reseals (two started, %d finished):\n%s", finished, audit.stdout.String())
	}

	// K1 dropped: everything opens with K2 alone, the pepper too.
	serve.kill()
	outputs = append(outputs, serve, audit)
	if failed := openEvery(t, st, v2); failed != 0 {
		t.Fatalf("%d secrets do not open with K2 alone", failed)
	}
	if status := masterStatus(t, env2); len(status) != 1 || status[v2.KeyID()].Secrets != all {
		t.Fatalf("status with K2 alone: %+v", status)
	}
	outputs = append(outputs, run(t, env2, time.Minute, "keys", "create", "--role", "viewer"))

	// A row left under the dropped key: the reseal names it and fails.
	insertConnections(t, st, v1, "Lleft", 1)
	code := start(t, env2, "keys", "master", "reseal")
	code.wait(t, time.Minute)
	want := "connection Lleft0: sealed by master key " + v1.KeyID() + ", which is not given"
	if code.exitCode() != 1 || !strings.Contains(code.stdout.String()+code.stderr.String(), want) {
		t.Errorf("reseal with a row under a dropped key: %s\n%s%s\nwant %q", code.state(), code.stdout.String(), code.stderr.String(), want)
	}
	if status := masterStatus(t, env2); status[v1.KeyID()].State != "not given" || status[v1.KeyID()].Secrets != 1 {
		t.Errorf("status names the key not given: %+v", status)
	}
	outputs = append(outputs, code)

	for _, p := range outputs {
		out := p.stdout.String() + p.stderr.String()
		for _, secret := range []string{k1, k2, "pit-rotated-"} {
			if strings.Contains(out, secret) {
				t.Errorf("rankr %s printed a secret", p.name)
			}
		}
	}
}

func openVault(t *testing.T, master string, previous ...string) *vault.Vault {
	t.Helper()
	parse := func(s string) []byte {
		k, err := vault.ParseKey(s)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	var prev [][]byte
	for _, p := range previous {
		prev = append(prev, parse(p))
	}
	v, err := vault.New(parse(master), prev...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// insertConnections writes n suspended connections (serve leaves them
// alone) with tokens sealed by v, in bulk.
func insertConnections(t *testing.T, st store.Store, v *vault.Vault, prefix string, n int) {
	t.Helper()
	col, _ := store.SealedColumnOf("connection")
	sqlDB := st.(*sqlstore.Store).DB()
	tx, err := sqlDB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// One prepared statement, run per row: the race detector makes the
	// pure-Go SQLite slow to parse big statements.
	ins, err := tx.Prepare(`INSERT INTO connections (location_id, base_url, credential, credential_kind, state, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`)
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	now := time.Now().UnixMilli()
	for i := range n {
		loc := fmt.Sprintf("%s%d", prefix, i)
		sealed, err := v.Seal(fmt.Appendf(nil, "pit-rotated-%d", i), col.Context(loc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ins.Exec(loc, "http://127.0.0.1:9", sealed, "pit", "suspended", now, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// openEvery opens every sealed secret in the database with v and returns
// how many do not open.
func openEvery(t *testing.T, st store.Store, v *vault.Vault) int {
	t.Helper()
	failed := 0
	for _, col := range store.SealedColumns {
		after := ""
		for {
			page, err := st.SealedPage(context.Background(), store.SealedPageParams{Kind: col.Kind, AfterKey: after, Limit: 5000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, s := range page {
				if _, err := v.Open(s.Sealed, col.Context(s.Key)); err != nil {
					failed++
				}
			}
			after = page[len(page)-1].Key
		}
	}
	return failed
}

func underKey(t *testing.T, st store.Store, keyID string) int {
	t.Helper()
	counts, err := st.SealedCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		if c.KeyID == keyID {
			n += c.Count
		}
	}
	return n
}

type keyStatus struct {
	State   string `json:"state"`
	Secrets int    `json:"secrets"`
}

// masterStatus runs rankr keys master status --json, by key id.
func masterStatus(t *testing.T, env rankrEnv) map[string]keyStatus {
	t.Helper()
	p := run(t, env, time.Minute, "keys", "master", "status", "--json")
	var list []struct {
		KeyID string `json:"keyId"`
		keyStatus
	}
	if err := json.Unmarshal([]byte(p.stdout.String()), &list); err != nil {
		t.Fatalf("status: %v\n%s", err, p.stdout.String())
	}
	out := map[string]keyStatus{}
	for _, k := range list {
		out[k.KeyID] = k.keyStatus
	}
	return out
}
