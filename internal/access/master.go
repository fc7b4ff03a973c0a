package access

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/vault"
)

// MasterKeyCount is how many sealed secrets one master key sealed, by kind
// (store.SealedColumn.Kind).
type MasterKeyCount struct {
	KeyID   string
	Current bool // the key that seals now
	Held    bool // given to this process: its secrets open
	Kinds   map[string]int
	Total   int
}

// MasterStatus counts the sealed secrets under each master key id: the
// current key first, then the other keys held, then those not held (whose
// secrets cannot be opened), each group by id.
func MasterStatus(ctx context.Context, st store.Sealed, v *vault.Vault) ([]MasterKeyCount, error) {
	counts, err := st.SealedCount(ctx)
	if err != nil {
		return nil, err
	}
	by := map[string]*MasterKeyCount{}
	for _, id := range v.KeyIDs() {
		by[id] = &MasterKeyCount{KeyID: id, Current: id == v.KeyID(), Held: true, Kinds: map[string]int{}}
	}
	for _, c := range counts {
		m, ok := by[c.KeyID]
		if !ok {
			m = &MasterKeyCount{KeyID: c.KeyID, Held: v.Holds(c.KeyID), Kinds: map[string]int{}}
			by[c.KeyID] = m
		}
		m.Kinds[c.Kind] += c.Count
		m.Total += c.Count
	}
	out := make([]MasterKeyCount, 0, len(by))
	for _, m := range by {
		out = append(out, *m)
	}
	rank := func(m MasterKeyCount) int {
		switch {
		case m.Current:
			return 0
		case m.Held:
			return 1
		}
		return 2
	}
	slices.SortFunc(out, func(a, b MasterKeyCount) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.KeyID, b.KeyID))
	})
	return out, nil
}

// ResealOptions tune a reseal.
type ResealOptions struct {
	// Batch is how many secrets are replaced per transaction (default 500).
	Batch int
	// DryRun counts what would be resealed and changes nothing.
	DryRun bool
	// Actor is who runs it, for the audit log.
	Actor Actor
	// Progress, when set, is told the secrets resealed so far after each
	// batch.
	Progress func(resealed int)
}

// ResealFailure is a secret that could not be resealed: its kind, its row
// and why. It never holds the secret.
type ResealFailure struct {
	Kind  string
	Key   string
	KeyID string // the master key that sealed it
	Err   error
}

func (f ResealFailure) Error() string {
	var notHeld *vault.KeyNotHeldError
	if errors.As(f.Err, &notHeld) {
		return fmt.Sprintf("%s %s: sealed by master key %s, which is not given", f.Kind, f.Key, notHeld.KeyID)
	}
	return fmt.Sprintf("%s %s: sealed by master key %s, does not open: the bytes were changed or copied from another row", f.Kind, f.Key, f.KeyID)
}

// ResealResult says what a reseal did.
type ResealResult struct {
	Before   []MasterKeyCount
	After    []MasterKeyCount // equal to Before on a dry run
	Resealed int              // replaced (on a dry run: would be)
	// Changed were written by someone else between read and replace (a
	// connect replacing a token): theirs stands, sealed by whichever key
	// they had.
	Changed int
	Failed  []ResealFailure
}

// Reseal seals again, with the current master key, every secret a previous
// key sealed, while rankr keeps running: each batch replaces secrets with
// compare-and-set (store.Sealed), so that nothing written meanwhile is
// overwritten, and a reseal stopped at any point (even killed) leaves what
// it resealed resealed: run again, it does the rest. It appends one audit
// record when it starts and one when it ends. Secrets that cannot be
// opened (their key is not held, their bytes do not open) are left as they
// are and reported in Failed, and the reseal fails with ErrResealIncomplete.
func Reseal(ctx context.Context, st store.Store, v *vault.Vault, opts ResealOptions) (ResealResult, error) {
	var res ResealResult
	before, err := MasterStatus(ctx, st, v)
	if err != nil {
		return res, err
	}
	res.Before, res.After = before, before
	current := v.KeyID()
	audit := func(action, outcome string, changes map[string]any) error {
		if opts.DryRun {
			return nil
		}
		return st.AuditAppend(ctx, rankr.AuditEntry{At: time.Now(), Actor: opts.Actor.audit(), Action: action,
			Outcome: outcome, Target: rankr.AuditTarget{Type: "master_key", ID: current}, Changes: mustJSON(changes)})
	}
	if err := audit("master_key.reseal_started", rankr.AuditSuccess, map[string]any{
		"current": current, "secrets": countsView(before),
	}); err != nil {
		return res, err
	}
	batch := cmp.Or(opts.Batch, 500)
	for _, col := range store.SealedColumns {
		after := ""
		for {
			page, err := st.SealedPage(ctx, store.SealedPageParams{Kind: col.Kind, AfterKey: after, ExceptKeyID: current, Limit: batch})
			if err != nil {
				return res, err
			}
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].Key
			var repl []store.SealedReplacement
			for _, s := range page {
				id, _ := vault.KeyIDOf(s.Sealed)
				fresh, err := v.Reseal(s.Sealed, col.Context(s.Key))
				if err != nil {
					res.Failed = append(res.Failed, ResealFailure{Kind: col.Kind, Key: s.Key, KeyID: id, Err: err})
					continue
				}
				repl = append(repl, store.SealedReplacement{Kind: col.Kind, Key: s.Key, Old: s.Sealed, New: fresh})
			}
			if opts.DryRun {
				res.Resealed += len(repl)
			} else if len(repl) > 0 {
				n, err := st.SealedReplace(ctx, repl)
				if err != nil {
					return res, err
				}
				res.Resealed += n
				res.Changed += len(repl) - n
			}
			if opts.Progress != nil {
				opts.Progress(res.Resealed)
			}
			if len(page) < batch {
				break
			}
		}
	}
	if !opts.DryRun {
		if res.After, err = MasterStatus(ctx, st, v); err != nil {
			return res, err
		}
	}
	outcome := rankr.AuditSuccess
	if len(res.Failed) > 0 {
		outcome = rankr.AuditFailure
	}
	failedByKey := map[string]int{}
	for _, f := range res.Failed {
		failedByKey[f.KeyID]++
	}
	if err := audit("master_key.reseal_finished", outcome, map[string]any{
		"current": current, "resealed": res.Resealed, "changedMeanwhile": res.Changed, "failed": len(res.Failed),
		"failedByKey": failedByKey, "secrets": countsView(res.After),
	}); err != nil {
		return res, err
	}
	if len(res.Failed) > 0 {
		return res, fmt.Errorf("%w: %d secrets do not open (first: %v)", ErrResealIncomplete, len(res.Failed), res.Failed[0])
	}
	return res, nil
}

// ErrResealIncomplete means some secrets could not be resealed.
var ErrResealIncomplete = errors.New("the reseal is incomplete")

// countsView is the counts as audit records keep them: by key id, then
// kind.
func countsView(counts []MasterKeyCount) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, m := range counts {
		if m.Total > 0 {
			out[m.KeyID] = maps.Clone(m.Kinds)
		}
	}
	return out
}
