// Package access decides who may use Rankr and records what they did.
//
// It holds Rankr's API keys (their format, checked before any database
// access; their HMAC at rest under a pepper sealed by the vault), the scopes
// and roles that bound what a key may do, IP allow-lists and how a client's
// address is read behind trusted proxies, the HTTP guard every route but
// GHL's webhooks and the probes passes through (with the dashboard's
// session cookie), and the audit log's integrity: signed checkpoints over
// the hash chain the store keeps, and their verification.
//
// Package access imports internal/rankr, internal/store and internal/vault
// of ours, and nothing that syncs or serves GHL data.
package access
