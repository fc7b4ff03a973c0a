package access

import (
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/store/storetest"
)

// auditRig is a store with ten audit records and checkpoints at 4 and 8.
type auditRig struct {
	st      store.Store
	db      *sql.DB
	install string
	signers []*Signer
}

func newAuditRig(t *testing.T, open storetest.Opener) *auditRig {
	t.Helper()
	st := open(t)
	v := newVault(t)
	signers, err := SigningKeys(ctx, st, v)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := st.Installation(ctx)
	for i := 1; i <= 10; i++ {
		e := rankr.AuditEntry{At: time.Now().Add(time.Duration(i-11) * time.Hour), Actor: rankr.AuditActor{Type: rankr.ActorHost, ID: "ops"},
			Action: fmt.Sprintf("test.step%d", i), Outcome: rankr.AuditSuccess}
		if err := st.AuditAppend(ctx, e); err != nil {
			t.Fatal(err)
		}
		if i == 4 || i == 8 {
			if _, made, err := Checkpoint(ctx, st, Current(signers)); err != nil || !made {
				t.Fatalf("checkpoint at %d: %v %v", i, made, err)
			}
		}
	}
	return &auditRig{st: st, db: st.(*sqlstore.Store).DB(), install: in.ID, signers: signers}
}

func (a *auditRig) verify(t *testing.T, extra *rankr.AuditCheckpoint) Report {
	t.Helper()
	rep, err := Verify(ctx, a.st, a.install, TrustedKeys(a.signers), extra)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// editBody changes a record's content in place, as someone with write
// access to the database could. (Both engines take $N placeholders.)
func (a *auditRig) editBody(t *testing.T, seq int64, from, to string) {
	t.Helper()
	var body []byte
	if err := a.db.QueryRowContext(ctx, `SELECT body FROM audit_log WHERE seq = $1`, seq).Scan(&body); err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(body), from, to, 1)
	if edited == string(body) {
		t.Fatalf("record %d has no %q", seq, from)
	}
	if _, err := a.db.ExecContext(ctx, `UPDATE audit_log SET body = $1 WHERE seq = $2`, []byte(edited), seq); err != nil {
		t.Fatal(err)
	}
}

func (a *auditRig) exec(t *testing.T, query string) {
	t.Helper()
	if _, err := a.db.ExecContext(ctx, query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestAuditVerifies(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		a := newAuditRig(t, open)
		rep := a.verify(t, nil)
		if !rep.OK() || rep.String() != "10/10 records valid, 2/2 checkpoints valid" {
			t.Fatalf("%s", rep)
		}
	})
}

// Any edit, deletion, reordering or truncation names the first bad record.
func TestAuditTampering(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		sql   []string
		first int64
		says  string
	}{
		{"an edited record", []string{"edit 6"}, 6, "edited"},
		{"an edited record with its hash recomputed", nil, 5, "checkpoint"}, // done in Go below
		{"a deleted record", []string{`DELETE FROM audit_log WHERE seq = 3`}, 3, "missing"},
		{"a record hidden from searches", []string{`UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 4`}, 4, "searchable columns"},
		{"two records swapped", []string{
			`UPDATE audit_log SET seq = 100 WHERE seq = 5`, `UPDATE audit_log SET seq = 5 WHERE seq = 6`,
			`UPDATE audit_log SET seq = 6 WHERE seq = 100`}, 5, ""},
		{"the newest records cut off", []string{`DELETE FROM audit_log WHERE seq > 6`}, 7, "cut short"},
		{"records, head and checkpoints cut off", []string{`DELETE FROM audit_log WHERE seq > 6`,
			`DELETE FROM audit_checkpoints WHERE size > 6`, `UPDATE audit_head SET size = 6`}, 7, "cut short"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			each(t, func(t *testing.T, open storetest.Opener) {
				a := newAuditRig(t, open)
				// A checkpoint kept outside the database, as the log line
				// or `rankr audit checkpoint` gives it.
				size, hash, _ := a.st.AuditHead(ctx)
				outside := Current(a.signers).Sign(size, hash, false)
				for _, q := range c.sql {
					if q == "edit 6" {
						a.editBody(t, 6, "step6", "stepX")
						continue
					}
					a.exec(t, q)
				}
				if c.sql == nil {
					// Rewrite record 6 and every hash after it, as someone
					// with write access but no signing key could.
					recs, _ := a.st.AuditList(ctx, store.AuditListParams{AfterSeq: 4})
					all, _ := a.st.AuditList(ctx, store.AuditListParams{Limit: 4})
					prev := all[3].Hash
					for _, r := range recs {
						body := r.Body
						if r.Seq == 6 {
							body = []byte(strings.Replace(string(body), "step6", "stepX", 1))
						}
						prev = rankr.AuditChain(prev, body)
						if _, err := a.db.ExecContext(ctx, `UPDATE audit_log SET body = $1, hash = $2 WHERE seq = $3`, body, prev, r.Seq); err != nil {
							t.Fatal(err)
						}
						if _, err := a.db.ExecContext(ctx, `UPDATE audit_log SET action = 'test.stepX' WHERE seq = 6`); err != nil {
							t.Fatal(err)
						}
					}
					if _, err := a.db.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, prev); err != nil {
						t.Fatal(err)
					}
				}
				rep := a.verify(t, &outside)
				if rep.OK() || rep.FirstBad != c.first || !strings.Contains(rep.Problem, c.says) {
					t.Fatalf("after %s: %s (first bad %d, want %d)", c.name, rep, rep.FirstBad, c.first)
				}
				if !strings.Contains(rep.Problem, fmt.Sprintf("first bad record: %d", c.first)) {
					t.Errorf("the report does not name record %d: %s", c.first, rep.Problem)
				}
			})
		})
	}
}

// A checkpoint not signed by one of the installation's keys proves
// nothing, and says so.
func TestAuditForgedCheckpoint(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		a := newAuditRig(t, open)
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		forger := &Signer{install: a.install, priv: priv, id: KeyID(priv.Public().(ed25519.PublicKey))}
		size, hash, _ := a.st.AuditHead(ctx)
		if err := a.st.AuditCheckpointAdd(ctx, forger.Sign(size, hash, false)); err != nil {
			t.Fatal(err)
		}
		rep := a.verify(t, nil)
		if rep.OK() || !strings.Contains(rep.Problem, "not signed by a trusted key") || rep.ValidCheckpoints != 2 || rep.Checkpoints != 3 {
			t.Fatalf("%s", rep)
		}
		// Another installation's checkpoint does not verify here either.
		other := &Signer{install: "ins_other", priv: Current(a.signers).priv, id: Current(a.signers).id}
		cp := other.Sign(size, hash, false)
		if _, err := Verify(ctx, a.st, a.install, TrustedKeys(a.signers), &cp); err != nil {
			t.Fatal(err)
		}
		rep, _ = Verify(ctx, a.st, a.install, TrustedKeys(a.signers), &cp)
		if rep.OK() {
			t.Fatalf("another installation's checkpoint verified: %s", rep)
		}
	})
}

// After the signing key is rotated, old checkpoints still verify, and new
// ones are signed by the new key.
func TestAuditSigningKeyRotation(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		st := open(t)
		v := newVault(t)
		first, err := SigningKeys(ctx, st, v)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := st.Installation(ctx)
		appendN := func(n int) {
			for range n {
				if err := st.AuditAppend(ctx, rankr.AuditEntry{Actor: rankr.AuditActor{Type: rankr.ActorSystem}, Action: "test.x", Outcome: rankr.AuditSuccess}); err != nil {
					t.Fatal(err)
				}
			}
		}
		appendN(3)
		if _, _, err := Checkpoint(ctx, st, Current(first)); err != nil {
			t.Fatal(err)
		}
		newID, err := RotateSigningKey(ctx, st, v)
		if err != nil {
			t.Fatal(err)
		}
		signers, err := SigningKeys(ctx, st, v)
		if err != nil || len(signers) != 2 || Current(signers).KeyID() != newID {
			t.Fatalf("%d signers, current %s, want %s (%v)", len(signers), Current(signers).KeyID(), newID, err)
		}
		appendN(3)
		cp, _, err := Checkpoint(ctx, st, Current(signers))
		if err != nil || cp.KeyID != newID {
			t.Fatalf("%+v %v", cp, err)
		}
		rep, err := Verify(ctx, st, in.ID, TrustedKeys(signers), nil)
		if err != nil || !rep.OK() || rep.ValidCheckpoints != 2 {
			t.Fatalf("%s %v", rep, err)
		}
		// Without the old key, its checkpoint is not trusted.
		rep, _ = Verify(ctx, st, in.ID, TrustedKeys(signers[1:]), nil)
		if rep.OK() {
			t.Fatal("a checkpoint verified without its key")
		}
	})
}

// Pruning leaves a signed base from which the rest still verifies.
func TestAuditPruneKeepsAVerifiableLog(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, open storetest.Opener) {
		a := newAuditRig(t, open)
		// Record i is 11-i hours old: 1 to 5 are older than 5.5 hours.
		n, err := Prune(ctx, a.st, Current(a.signers), time.Now().Add(-5*time.Hour-30*time.Minute))
		if err != nil || n != 5 {
			t.Fatalf("pruned %d %v", n, err)
		}
		rep := a.verify(t, nil)
		if !rep.OK() || rep.From != 6 || rep.Records != 5 {
			t.Fatalf("after pruning: %s, from %d", rep, rep.From)
		}
		// A record edited after the base is still caught.
		a.editBody(t, 7, "step7", "stepY")
		if rep = a.verify(t, nil); rep.OK() || rep.FirstBad != 7 {
			t.Fatalf("after an edit: %s", rep)
		}
	})
}

func TestCheckpointLine(t *testing.T) {
	t.Parallel()
	cp := rankr.AuditCheckpoint{Size: 42, Hash: []byte("0123456789abcdef0123456789abcdef"), KeyID: "abcd", Signature: []byte("sig")}
	got, err := ParseCheckpointLine(FormatCheckpointLine(cp))
	if err != nil || got.Size != 42 || string(got.Hash) != string(cp.Hash) || got.KeyID != "abcd" || string(got.Signature) != "sig" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"", "1 2 3", "x aGk= k c2ln", "0 aGk= k c2ln", "1 !!! k c2ln"} {
		if _, err := ParseCheckpointLine(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
