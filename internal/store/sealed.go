package store

import "context"

// SealedColumn is a database column that holds secrets sealed by the vault
// (see package vault): where it is, how its rows are named, and the context
// each secret is bound to. Rotating the master key reseals every column in
// SealedColumns, so a new sealed column is one more entry there and nothing
// else.
type SealedColumn struct {
	// Kind names the column's secrets for people (and audit records):
	// "connection", "webhook endpoint"...; unique.
	Kind string
	// Table, Key and Column are the table, its key column (text, unique)
	// and the sealed column (bytes; NULL where a row has no secret).
	Table, Key, Column string
	// Context is the vault context a row's secret is sealed with, from its
	// key. It must agree with the code that seals the column.
	Context func(key string) string
}

// SealedColumns are every sealed column, in the order a reseal walks them.
var SealedColumns = []SealedColumn{
	// The GHL token of a connection (syncer.CredentialContext).
	{Kind: "connection", Table: "connections", Key: "location_id", Column: "credential",
		Context: func(loc string) string { return "connection:" + loc }},
	// An outbound endpoint's signing secret, and the one it replaced
	// during a rotation's grace (outbound's secretContext: both are the
	// endpoint's, and a rotation moves one to the other as it is).
	{Kind: "webhook endpoint", Table: "webhook_endpoints", Key: "id", Column: "secret",
		Context: func(id string) string { return "webhook-endpoint:" + id }},
	{Kind: "webhook endpoint previous secret", Table: "webhook_endpoints", Key: "id", Column: "previous_secret",
		Context: func(id string) string { return "webhook-endpoint:" + id }},
	// The installation's own secrets: the API key pepper and the audit
	// log's signing keys (access's secretContext).
	{Kind: "install secret", Table: "install_secrets", Key: "name", Column: "sealed",
		Context: func(name string) string { return "rankr install secret " + name }},
	// OAuth installs' tokens and the app's client secrets (package oauth's
	// accessContext, refreshContext and secretContext). An OAuth
	// connection's own credential is empty, and skipped.
	{Kind: "oauth access token", Table: "oauth_tokens", Key: "id", Column: "access_token",
		Context: func(id string) string { return "oauth-token:" + id + ":access" }},
	{Kind: "oauth refresh token", Table: "oauth_tokens", Key: "id", Column: "refresh_token",
		Context: func(id string) string { return "oauth-token:" + id + ":refresh" }},
	{Kind: "oauth client secret", Table: "oauth_client_secrets", Key: "id", Column: "sealed",
		Context: func(id string) string { return "oauth-client-secret:" + id }},
}

// SealedColumnOf returns the sealed column of a kind.
func SealedColumnOf(kind string) (SealedColumn, bool) {
	for _, c := range SealedColumns {
		if c.Kind == kind {
			return c, true
		}
	}
	return SealedColumn{}, false
}

// Sealed reads and replaces the sealed secrets of every column in
// SealedColumns, for master-key rotation. It never opens a secret: it
// reads the id of the master key that sealed each one from its first bytes
// (vault.KeyIDOffset), which the vault writes in clear for this purpose.
type Sealed interface {
	// SealedCount counts the sealed secrets of each kind by the id of the
	// master key that sealed them.
	SealedCount(ctx context.Context) ([]SealedCount, error)
	// SealedPage returns up to Limit secrets of a kind whose key is after
	// AfterKey, by key, leaving out those sealed by ExceptKeyID.
	SealedPage(ctx context.Context, p SealedPageParams) ([]SealedSecret, error)
	// SealedReplace replaces secrets with compare-and-set, in one
	// transaction: a secret is replaced only if it still holds Old, so that
	// a secret changed meanwhile (a token replaced by a new connect) keeps
	// its new value. It returns how many were replaced.
	SealedReplace(ctx context.Context, r []SealedReplacement) (int, error)
}

// SealedCount is how many secrets of a kind one master key sealed.
type SealedCount struct {
	Kind  string
	KeyID string // hex, as the vault names keys
	Count int
}

// SealedPageParams selects a page of secrets.
type SealedPageParams struct {
	Kind        string
	AfterKey    string
	ExceptKeyID string // hex; empty: every secret
	Limit       int    // default 500, at most 5000
}

// SealedSecret is one sealed secret and the row holding it.
type SealedSecret struct {
	Kind   string
	Key    string
	Sealed []byte
}

// SealedReplacement replaces a secret that still holds Old with New.
type SealedReplacement struct {
	Kind string
	Key  string
	Old  []byte
	New  []byte
}
