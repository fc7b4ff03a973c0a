package access

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/vault"
)

// The installation's own secrets, sealed by the vault in the store.
const (
	pepperSecret  = "api_key_pepper"
	signingPrefix = "audit_signing_key:"
)

func secretContext(name string) string { return "rankr install secret " + name }

// LoadHasher returns the hasher under the installation's pepper, making
// the pepper on first use.
func LoadHasher(ctx context.Context, st store.Store, v *vault.Vault) (*Hasher, error) {
	sealed, err := st.SecretGet(ctx, pepperSecret)
	if errors.Is(err, rankr.ErrNotFound) {
		pepper := make([]byte, 32)
		rand.Read(pepper)
		fresh, serr := v.Seal(pepper, secretContext(pepperSecret))
		if serr != nil {
			return nil, serr
		}
		sealed, err = st.SecretPut(ctx, pepperSecret, fresh) // a racing process's may win: then it is used
	}
	if err != nil {
		return nil, fmt.Errorf("reading the API key pepper: %w", err)
	}
	pepper, err := v.Open(sealed, secretContext(pepperSecret))
	if err != nil {
		return nil, fmt.Errorf("opening the API key pepper (is this the master key that made it?): %w", err)
	}
	return NewHasher(pepper), nil
}

// Signer signs audit checkpoints with the installation's Ed25519 key.
type Signer struct {
	install string
	priv    ed25519.PrivateKey
	id      string
}

// KeyID names a checkpoint signing key: the start of its public key's
// SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// SigningKeys opens every checkpoint signing key the installation has had,
// oldest first, making the first one on first use.
func SigningKeys(ctx context.Context, st store.Store, v *vault.Vault) ([]*Signer, error) {
	in, err := st.Installation(ctx)
	if err != nil {
		return nil, err
	}
	sealed, err := st.SecretList(ctx, signingPrefix)
	if err != nil {
		return nil, err
	}
	if len(sealed) == 0 {
		if _, err := RotateSigningKey(ctx, st, v); err != nil {
			return nil, err
		}
		if sealed, err = st.SecretList(ctx, signingPrefix); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(sealed))
	for n := range sealed {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*Signer, 0, len(names))
	for _, n := range names {
		seed, err := v.Open(sealed[n], secretContext(n))
		if err != nil {
			return nil, fmt.Errorf("opening the audit signing key %s: %w", n, err)
		}
		priv := ed25519.NewKeyFromSeed(seed)
		out = append(out, &Signer{install: in.ID, priv: priv, id: KeyID(priv.Public().(ed25519.PublicKey))})
	}
	return out, nil
}

// RotateSigningKey makes a new checkpoint signing key, used from then on;
// the old ones stay, so that the checkpoints they signed still verify.
func RotateSigningKey(ctx context.Context, st store.Store, v *vault.Vault) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	// Names sort by creation: the newest is the one that signs.
	name := signingPrefix + fmt.Sprintf("%016d", time.Now().UnixMilli()) + ":" + KeyID(pub)
	sealed, err := v.Seal(priv.Seed(), secretContext(name))
	if err != nil {
		return "", err
	}
	if _, err := st.SecretPut(ctx, name, sealed); err != nil {
		return "", err
	}
	return KeyID(pub), nil
}

// Current returns the signing key in use: the newest.
func Current(signers []*Signer) *Signer { return signers[len(signers)-1] }

// KeyID returns the signer's key id.
func (s *Signer) KeyID() string { return s.id }

// PublicKey returns the key that verifies the signer's checkpoints, as
// base64, for `rankr audit verify --pubkey`.
func (s *Signer) PublicKey() string {
	return base64.StdEncoding.EncodeToString(s.priv.Public().(ed25519.PublicKey))
}

// checkpointBody is what a checkpoint signs: the log's origin, its size
// and the hash of its last record, one per line (the shape of a
// transparency log's checkpoint).
func checkpointBody(install string, size int64, hash []byte) []byte {
	return []byte("rankr.audit/" + install + "\n" + strconv.FormatInt(size, 10) + "\n" +
		base64.StdEncoding.EncodeToString(hash) + "\n")
}

// Sign makes a checkpoint of the log at size with the given head hash.
func (s *Signer) Sign(size int64, hash []byte, base bool) rankr.AuditCheckpoint {
	return rankr.AuditCheckpoint{Size: size, Hash: hash, KeyID: s.id, At: time.Now().UTC(), Base: base,
		Signature: ed25519.Sign(s.priv, checkpointBody(s.install, size, hash))}
}

// Checkpoint signs the log's head when it grew since the last checkpoint,
// and reports whether it did.
func Checkpoint(ctx context.Context, st store.Store, s *Signer) (rankr.AuditCheckpoint, bool, error) {
	size, hash, err := st.AuditHead(ctx)
	if err != nil || size == 0 {
		return rankr.AuditCheckpoint{}, false, err
	}
	cps, err := st.AuditCheckpoints(ctx)
	if err != nil {
		return rankr.AuditCheckpoint{}, false, err
	}
	if len(cps) > 0 && cps[len(cps)-1].Size >= size {
		return rankr.AuditCheckpoint{}, false, nil
	}
	cp := s.Sign(size, hash, false)
	if err := st.AuditCheckpointAdd(ctx, cp); err != nil {
		return rankr.AuditCheckpoint{}, false, err
	}
	return cp, true, nil
}

// Checkpointer signs checkpoints as the log grows: every Interval, or
// sooner when Every records were appended, and prunes records past
// Retention.
type Checkpointer struct {
	Store    store.Store
	Signer   *Signer
	Logger   *slog.Logger
	Interval time.Duration // default 60 s
	Every    int64         // default 1000
	// Retention, when set, is how long records are kept (at least 90
	// days); older ones are pruned daily, leaving a signed base.
	Retention time.Duration
}

// MinRetention is the shortest audit retention allowed.
const MinRetention = 90 * 24 * time.Hour

// Run signs checkpoints until ctx ends.
func (c *Checkpointer) Run(ctx context.Context) {
	log := cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	interval, every := cmp.Or(c.Interval, time.Minute), cmp.Or(c.Every, 1000)
	poll := time.NewTicker(min(interval, 5*time.Second))
	defer poll.Stop()
	last, lastSize, lastPrune := time.Now(), int64(0), time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
		size, _, err := c.Store.AuditHead(ctx)
		if err != nil {
			log.Warn("reading the audit log's head", "error", err)
			continue
		}
		if size-lastSize < every && time.Since(last) < interval {
			continue
		}
		last = time.Now()
		cp, made, err := Checkpoint(ctx, c.Store, c.Signer)
		if err != nil {
			log.Error("signing an audit checkpoint", "error", err)
			continue
		}
		lastSize = size
		if made {
			// The log line is a copy kept outside the database: verify
			// against it with --checkpoint to see a log cut short.
			log.Info("audit checkpoint", "size", cp.Size, "hash", base64.StdEncoding.EncodeToString(cp.Hash), "key", cp.KeyID,
				"signature", base64.StdEncoding.EncodeToString(cp.Signature))
		}
		if c.Retention > 0 && time.Since(lastPrune) > 24*time.Hour {
			lastPrune = time.Now()
			if n, err := Prune(ctx, c.Store, c.Signer, time.Now().Add(-max(c.Retention, MinRetention))); err != nil {
				log.Error("pruning the audit log", "error", err)
			} else if n > 0 {
				log.Info("pruned the audit log", "records", n)
			}
		}
	}
}

// Prune drops the records older than before, leaving a signed base
// checkpoint at the newest record it drops.
func Prune(ctx context.Context, st store.Store, s *Signer, before time.Time) (int, error) {
	var last *rankr.AuditRecord
	after := int64(0)
	for {
		recs, err := st.AuditList(ctx, store.AuditListParams{AfterSeq: after, Limit: 1000})
		if err != nil {
			return 0, err
		}
		for i := range recs {
			if !recs[i].At.Before(before) {
				recs = recs[:i]
				break
			}
		}
		if len(recs) == 0 {
			break
		}
		last = &recs[len(recs)-1]
		after = last.Seq
		if len(recs) < 1000 {
			break
		}
	}
	if last == nil {
		return 0, nil
	}
	return st.AuditPrune(ctx, s.Sign(last.Seq, last.Hash, true))
}

// Report is the outcome of a verification.
type Report struct {
	Records, ValidRecords         int64
	Checkpoints, ValidCheckpoints int
	// FirstBad is the first record that fails (0: none), and Problem says
	// how.
	FirstBad int64
	Problem  string
	// From is the first record verified (after a pruned base).
	From int64
}

// OK reports whether everything verified.
func (r Report) OK() bool { return r.Problem == "" }

func (r Report) String() string {
	s := fmt.Sprintf("%d/%d records valid, %d/%d checkpoints valid", r.ValidRecords, r.Records, r.ValidCheckpoints, r.Checkpoints)
	if r.Problem != "" {
		s += "\n" + r.Problem
	}
	return s
}

// Verify checks the whole log: every record numbered without a gap and
// chained to the one before, every checkpoint signed by a trusted key
// (keys: key id → public key) and matching the records, and nothing cut
// off the end (the head, the last checkpoint, and extra, a checkpoint kept
// elsewhere, if given).
func Verify(ctx context.Context, st store.Store, install string, keys map[string]ed25519.PublicKey,
	extra *rankr.AuditCheckpoint) (Report, error) {
	cps, err := st.AuditCheckpoints(ctx)
	if err != nil {
		return Report{}, err
	}
	if extra != nil {
		cps = append(cps, *extra)
	}
	var rep Report
	rep.Checkpoints = len(cps)
	bad := func(seq int64, format string, args ...any) {
		if rep.Problem == "" {
			rep.FirstBad, rep.Problem = seq, fmt.Sprintf("first bad record: %d: ", seq)+fmt.Sprintf(format, args...)
		}
	}
	// Signatures first: a checkpoint that is not ours proves nothing.
	bySize := map[int64][]rankr.AuditCheckpoint{}
	var base *rankr.AuditCheckpoint
	var maxSize int64
	badCheckpoint := ""
	for i, cp := range cps {
		pub, ok := keys[cp.KeyID]
		if !ok || !ed25519.Verify(pub, checkpointBody(install, cp.Size, cp.Hash), cp.Signature) {
			if badCheckpoint == "" {
				badCheckpoint = fmt.Sprintf("checkpoint at %d is not signed by a trusted key (key %s): forged or from another installation", cp.Size, cp.KeyID)
			}
			continue
		}
		if cp.Base && (base == nil || cp.Size > base.Size) {
			base = &cps[i]
		}
		bySize[cp.Size] = append(bySize[cp.Size], cp)
		maxSize = max(maxSize, cp.Size)
	}
	head, headHash, err := st.AuditHead(ctx)
	if err != nil {
		return Report{}, err
	}
	next, prev := int64(1), []byte(nil)
	if base != nil {
		next, prev = base.Size+1, base.Hash
	}
	rep.From = next
	checked := map[int64]bool{}
	if base != nil {
		checked[base.Size] = true
	}
	for {
		recs, err := st.AuditList(ctx, store.AuditListParams{AfterSeq: next - 1, Limit: 1000})
		if err != nil {
			return Report{}, err
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			rep.Records++
			switch {
			case rec.Seq != next:
				bad(next, "missing (the next record stored is %d): deleted or reordered", rec.Seq)
			case !bytes.Equal(rankr.AuditChain(prev, rec.Body), rec.Hash):
				bad(rec.Seq, "its content does not match its hash: edited")
			default:
				seq, e, err := rankr.ParseAuditBody(rec.Body)
				switch {
				case err != nil || seq != rec.Seq:
					bad(rec.Seq, "its content is not a record numbered %d: edited", rec.Seq)
				case !indexMatches(e.Indexed(), rec.Index):
					bad(rec.Seq, "its searchable columns (time, actor, action, outcome) do not say what it does: edited")
				}
			}
			for _, cp := range bySize[rec.Seq] {
				if !bytes.Equal(cp.Hash, rankr.AuditChain(prev, rec.Body)) {
					bad(firstAfterValid(checked, rec.Seq), "the records up to %d do not match the checkpoint signed at %d: a record at or before it was changed", rec.Seq, rec.Seq)
				} else if rep.Problem == "" {
					checked[rec.Seq] = true
				}
			}
			if rep.Problem == "" {
				rep.ValidRecords++
			}
			prev = rec.Hash
			next = rec.Seq + 1
		}
	}
	last := next - 1
	switch {
	case maxSize > last:
		bad(last+1, "missing: a checkpoint covers %d records but the log ends at %d (cut short)", maxSize, last)
	case head > last:
		bad(last+1, "missing: the log's head says %d records but the log ends at %d (cut short)", head, last)
	case head == last && head > 0 && rep.Problem == "" && !bytes.Equal(headHash, prev):
		bad(last, "the log's head does not match its last record")
	}
	for size, list := range bySize {
		for range list {
			if checked[size] {
				rep.ValidCheckpoints++
			}
		}
	}
	if badCheckpoint != "" && rep.Problem == "" {
		rep.Problem = badCheckpoint
	}
	return rep, nil
}

func indexMatches(a, b rankr.AuditIndex) bool {
	return a.At.Equal(b.At) && a.ActorType == b.ActorType && a.ActorID == b.ActorID && a.Action == b.Action && a.Outcome == b.Outcome
}

// firstAfterValid is the first record after the newest checkpoint that
// verified below seq: where a change the chain hides must be.
func firstAfterValid(checked map[int64]bool, seq int64) int64 {
	from := int64(0)
	for s := range checked {
		if s < seq && s > from {
			from = s
		}
	}
	return from + 1
}

// ParseCheckpointLine reads a checkpoint as `rankr audit checkpoint` prints
// it: "SIZE HASH KEYID SIGNATURE", hash and signature in base64.
func ParseCheckpointLine(s string) (rankr.AuditCheckpoint, error) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return rankr.AuditCheckpoint{}, errors.New("a checkpoint reads SIZE HASH KEYID SIGNATURE")
	}
	size, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || size <= 0 {
		return rankr.AuditCheckpoint{}, fmt.Errorf("checkpoint size %q is not a positive number", f[0])
	}
	hash, err1 := base64.StdEncoding.DecodeString(f[1])
	sig, err2 := base64.StdEncoding.DecodeString(f[3])
	if err1 != nil || err2 != nil {
		return rankr.AuditCheckpoint{}, errors.New("a checkpoint's hash and signature are base64")
	}
	return rankr.AuditCheckpoint{Size: size, Hash: hash, KeyID: f[2], Signature: sig}, nil
}

// FormatCheckpointLine writes a checkpoint for ParseCheckpointLine.
func FormatCheckpointLine(cp rankr.AuditCheckpoint) string {
	return fmt.Sprintf("%d %s %s %s", cp.Size, base64.StdEncoding.EncodeToString(cp.Hash), cp.KeyID,
		base64.StdEncoding.EncodeToString(cp.Signature))
}

// TrustedKeys returns the public keys of signers, by key id.
func TrustedKeys(signers []*Signer) map[string]ed25519.PublicKey {
	out := map[string]ed25519.PublicKey{}
	for _, s := range signers {
		pub := s.priv.Public().(ed25519.PublicKey)
		out[s.id] = pub
	}
	return out
}

// ParsePublicKey reads a base64 Ed25519 public key (as Signer.PublicKey
// prints it).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("a public key is the base64 of 32 bytes, as `rankr audit verify` prints it")
	}
	return ed25519.PublicKey(b), nil
}
