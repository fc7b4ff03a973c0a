package rankr

import (
	"crypto/sha256"
	"encoding/json"
	"time"
)

// APIKey is a Rankr API key as stored: never the key itself, only an HMAC
// of it (Hash) and enough to show it (its id and last four characters).
type APIKey struct {
	ID   string `json:"id"` // the key id, part of the key, used to look it up
	Name string `json:"name,omitempty"`
	// Test marks a rnkr_test_ key (live otherwise).
	Test  bool   `json:"test,omitempty"`
	Hash  []byte `json:"-"`
	Last4 string `json:"last4"`
	Role  string `json:"role"`
	// Scopes are the scopes asked for when the key was made; what the key
	// may do is these as far as its role and its creator's current rights
	// allow (see the access package).
	Scopes []string `json:"scopes"`
	// Locations, when set, are the only locations the key may see.
	Locations []string `json:"locations,omitempty"`
	// AllowIPs, when set, are the CIDRs the key may be used from.
	AllowIPs []string `json:"allowIps,omitempty"`
	// CreatedBy is the id of the key that made this one, or "host" for a
	// key made on the host with the database and master key.
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	RevokedAt   time.Time `json:"revokedAt,omitzero"`
	RotatedFrom string    `json:"rotatedFrom,omitempty"`
	// LastUsed* are written at most every 30 s, so they may lag that much.
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
	LastUsedIP string    `json:"lastUsedIp,omitempty"`
	LastUsedUA string    `json:"lastUsedUserAgent,omitempty"`
	// ExpiryWarned is the last key.expiring warning sent: 7 or 1 (days
	// before expiry), 0 for none yet.
	ExpiryWarned int `json:"-"`
}

// HostActor is the creator of keys made on the host (rankr keys create),
// who holds every right.
const HostActor = "host"

// Installation is what this Rankr installation keeps about itself.
type Installation struct {
	ID string `json:"id"`
	// AllowIPs, when set, are the CIDRs from which any key may be used; a
	// key's own list narrows it further.
	AllowIPs  []string  `json:"allowIps,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Audit outcomes.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
	AuditDenied  = "denied"
)

// Audit actor types.
const (
	ActorHost   = "host"    // someone on the host running the CLI
	ActorAPIKey = "api_key" // a request signed with an API key
	ActorSystem = "system"  // rankr itself (a job, a rotation pass)
	ActorGHL    = "ghl"     // a webhook from GHL
)

// AuditEntry is one thing to record in the audit log: who did what to
// what, from where, and how it went. Secrets appear in it only as HMACs
// (see the access package), never in clear.
type AuditEntry struct {
	At      time.Time         `json:"ts"`
	Actor   AuditActor        `json:"actor"`
	Action  string            `json:"action"` // e.g. api_key.created
	Outcome string            `json:"outcome"`
	Code    string            `json:"code,omitempty"` // why, for a failure or a denial
	Target  AuditTarget       `json:"target"`
	Request AuditRequest      `json:"request,omitzero"`
	Changes json.RawMessage   `json:"changes,omitempty"`
	Secrets map[string]string `json:"secrets,omitempty"`
	// Count aggregates entries that are otherwise the same (denials per
	// minute); 0 means 1.
	Count int `json:"count,omitempty"`
}

// AuditActor is who acted.
type AuditActor struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"` // key id, OS user, job name
	Role string `json:"role,omitempty"`
}

// AuditTarget is what was acted on.
type AuditTarget struct {
	Type       string `json:"type,omitempty"`
	ID         string `json:"id,omitempty"`
	LocationID string `json:"locationId,omitempty"`
}

// AuditRequest is where a request came from.
type AuditRequest struct {
	ID     string `json:"id,omitempty"`
	IP     string `json:"ip,omitempty"`     // the client, as resolved through trusted proxies
	PeerIP string `json:"peerIp,omitempty"` // the socket's peer
	UA     string `json:"ua,omitempty"`
}

// AuditRecord is an entry as the log holds it: numbered without gaps and
// chained to the record before it.
type AuditRecord struct {
	Seq int64 `json:"seq"`
	AuditEntry
	// Body is the record's canonical JSON, the bytes that are hashed.
	Body []byte `json:"-"`
	// Hash is AuditChain(previous record's Hash, Body).
	Hash []byte `json:"-"`
	// Index is what the log's searchable columns say of the record; they
	// must say what Body does.
	Index AuditIndex `json:"-"`
}

// AuditIndex is the part of a record its store searches by.
type AuditIndex struct {
	At                                  time.Time
	ActorType, ActorID, Action, Outcome string
}

// Indexed returns what the searchable columns of a record of e hold.
func (e AuditEntry) Indexed() AuditIndex {
	return AuditIndex{At: e.At.UTC().Truncate(time.Millisecond), ActorType: e.Actor.Type, ActorID: e.Actor.ID, Action: e.Action,
		Outcome: e.Outcome}
}

// auditBody is the canonical form of a record: a version, then the fields
// in a fixed order (encoding/json writes struct fields in order and map
// keys sorted, so the same record always gives the same bytes).
type auditBody struct {
	V   int   `json:"v"`
	Seq int64 `json:"seq"`
	AuditEntry
}

// AuditBody returns the canonical JSON of entry e numbered seq. Times are
// kept to the millisecond, as the store keeps them.
func AuditBody(seq int64, e AuditEntry) ([]byte, error) {
	e.At = e.At.UTC().Truncate(time.Millisecond)
	return json.Marshal(auditBody{V: 1, Seq: seq, AuditEntry: e})
}

// ParseAuditBody reads a record's canonical JSON back.
func ParseAuditBody(body []byte) (int64, AuditEntry, error) {
	var b auditBody
	err := json.Unmarshal(body, &b)
	return b.Seq, b.AuditEntry, err
}

// AuditChain is the hash of a record: SHA-256 over a domain tag, the
// previous record's hash (nil for the first record) and the record's body.
// Editing, removing or reordering any record changes every hash after it.
func AuditChain(prev, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte("rankr.audit.v1\x00"))
	h.Write(prev)
	h.Write(body)
	return h.Sum(nil)
}

// AuditCheckpoint is a signed statement of the log's size and head hash.
type AuditCheckpoint struct {
	Size      int64     `json:"size"`
	Hash      []byte    `json:"hash"`
	KeyID     string    `json:"keyId"`
	Signature []byte    `json:"signature"`
	At        time.Time `json:"at"`
	// Base marks the checkpoint left when older records were pruned: the
	// log is verified from it.
	Base bool `json:"base,omitempty"`
}
