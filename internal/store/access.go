package store

import (
	"context"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// Access keeps who may use Rankr and what they did: the installation's
// settings and sealed secrets, API keys, and the audit log.
//
// Every change to keys or settings takes the audit entry that records it
// and writes both in one transaction: if the entry cannot be written, the
// change is not made. The audit log is append-only and numbered without
// gaps, each record chained to the one before (rankr.AuditChain), so that
// appends from several processes are serialized.
type Access interface {
	// Installation returns this installation's settings, creating them
	// (with a new id) on first use.
	Installation(ctx context.Context) (rankr.Installation, error)
	// InstallationSetAllowIPs replaces the installation's IP allow-list.
	InstallationSetAllowIPs(ctx context.Context, cidrs []string, audit rankr.AuditEntry) error

	// SecretPut stores a sealed secret of the installation under a name
	// unless one is stored already, and returns the one stored: processes
	// racing to create the same secret agree on the winner's.
	SecretPut(ctx context.Context, name string, sealed []byte) ([]byte, error)
	// SecretGet returns a sealed secret, or rankr.ErrNotFound.
	SecretGet(ctx context.Context, name string) ([]byte, error)
	// SecretList returns the sealed secrets whose names start with prefix.
	SecretList(ctx context.Context, prefix string) (map[string][]byte, error)

	// KeyCreate stores a new key.
	KeyCreate(ctx context.Context, k rankr.APIKey, audit rankr.AuditEntry) error
	// KeyGet returns a key, or rankr.ErrNotFound.
	KeyGet(ctx context.Context, id string) (rankr.APIKey, error)
	// KeyList returns every key, newest first.
	KeyList(ctx context.Context) ([]rankr.APIKey, error)
	// KeyUpdate changes a key: its role, allow-list, expiry or revocation.
	// It fails with rankr.ErrNotFound for an unknown key and
	// rankr.ErrConflict for a revoked one.
	KeyUpdate(ctx context.Context, p KeyUpdateParams, audit rankr.AuditEntry) error
	// KeyRoll stores the key replacing another, sets the old one to
	// expire at OldExpiresAt (not later than it would anyway), and hands
	// the keys the old one made to the new one, in one transaction.
	KeyRoll(ctx context.Context, p KeyRollParams, audit rankr.AuditEntry) error
	// KeyTouch records a key's last use, unless one was recorded less
	// than Every ago.
	KeyTouch(ctx context.Context, p KeyTouchParams) error
	// KeyWarnExpiring returns the keys, not revoked, that expire within
	// 7 days and have not been warned for that window yet (7 days, then
	// 1 day before), marks them warned and appends a key.expiring event for
	// each, in one transaction.
	KeyWarnExpiring(ctx context.Context, now time.Time) ([]rankr.APIKey, error)
	// KeyCount counts the keys that are neither revoked nor expired.
	KeyCount(ctx context.Context, now time.Time) (int, error)

	// AuditAppend appends entries to the audit log in one transaction.
	AuditAppend(ctx context.Context, entries ...rankr.AuditEntry) error
	// AuditList lists records in order, or newest first.
	AuditList(ctx context.Context, p AuditListParams) ([]rankr.AuditRecord, error)
	// AuditHead returns the number of records ever appended and the hash
	// of the last one.
	AuditHead(ctx context.Context) (int64, []byte, error)
	// AuditCheckpointAdd stores a signed checkpoint; one of the same size
	// stored already is kept.
	AuditCheckpointAdd(ctx context.Context, cp rankr.AuditCheckpoint) error
	// AuditCheckpoints returns the checkpoints by size.
	AuditCheckpoints(ctx context.Context) ([]rankr.AuditCheckpoint, error)
	// AuditPrune deletes the records up to and including base.Size, keeps
	// base (a signed checkpoint of exactly that size) as the point the log
	// is verified from, and drops the checkpoints older than it.
	AuditPrune(ctx context.Context, base rankr.AuditCheckpoint) (int, error)
}

// KeyUpdateParams changes a key. Nil fields are left as they are.
type KeyUpdateParams struct {
	ID        string
	Role      *string
	AllowIPs  *[]string
	ExpiresAt *time.Time
	RevokedAt *time.Time
}

// KeyRollParams replaces Old with New.
type KeyRollParams struct {
	Old          string
	OldExpiresAt time.Time
	New          rankr.APIKey
}

// KeyTouchParams records a key's use.
type KeyTouchParams struct {
	ID    string
	At    time.Time
	IP    string
	UA    string
	Every time.Duration
}

// AuditListParams selects audit records. Empty fields do not filter.
type AuditListParams struct {
	AfterSeq int64
	// BeforeSeq, when set, lists records before that one.
	BeforeSeq int64
	// Newest lists the newest records first (a page of BeforeSeq's).
	Newest bool
	Since  time.Time
	Actor  string // an actor id (key id, user) or type
	Action string // an action, or a prefix ending in "." (api_key.)
	Limit  int    // default 100, at most 10,000
}
