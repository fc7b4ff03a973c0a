package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
)

// Action is an item that runs.
type Action interface {
	Spec() Spec
	// Run does the action with an input already validated against the
	// spec's Input. In a dry run, an action whose effect is not read sends
	// nothing: it answers the request it would send and a simulated
	// output.
	Run(ctx context.Context, rc *RunCtx, input json.RawMessage) (Result, error)
}

// Invoker sends GHL operations; *ghl.Client is one. Every GHL call of
// the catalog goes through it, so that the location's rate budget,
// retries and token refresh live in one place.
type Invoker interface {
	Invoke(ctx context.Context, op ghl.Operation, call ghl.Call) (json.RawMessage, error)
}

// RunCtx is what a run of an action has besides its input.
type RunCtx struct {
	// Location is the GHL location the action runs for.
	Location string
	// GHL sends the location's GHL calls (nil when it has no connection:
	// GHL actions then fail, rankr's own may still run).
	GHL Invoker
	// DryRun sends nothing that changes anything.
	DryRun bool
	// IdemKey identifies this run of this step, the same on every retry
	// of it, for actions that dedupe by key.
	IdemKey string
	// Actor is who the audit log records for what the run changes.
	Actor rankr.AuditActor
}

// Result is what a run answers.
type Result struct {
	// Output is valid against the spec's Output; in a dry run of a write,
	// it is the spec's sample.
	Output json.RawMessage `json:"output,omitempty"`
	// DryRun says nothing was changed, and Output is simulated when the
	// action writes.
	DryRun bool `json:"dryRun,omitempty"`
	// Request is what the action sent (or, in a dry run, would send), with
	// secrets redacted.
	Request *Request `json:"request,omitempty"`
	// Summary says in a line what happened.
	Summary string `json:"summary,omitempty"`
	// Warnings are what went right but not as described: a GHL answer that
	// does not match GHL's own spec is kept as it came, and said here.
	Warnings []string `json:"warnings,omitempty"`
}

// Request is a request as an action sends it: to GHL (its method, path
// with the query, and body), or to one of rankr's own use cases (Method
// "RANKR" and the use case).
type Request struct {
	Method string          `json:"method"`
	Target string          `json:"target"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// secretSuffixes end the property names whose values never leave a run
// (compared without case, "_" or "-"): they are replaced in the requests
// and outputs a run keeps and shows.
var secretSuffixes = []string{"apikey", "publishablekey", "secret", "password", "token", "privatekey", "authorization"}

// Redact returns doc with the values of secret-looking properties (API
// keys, secrets, passwords, tokens) replaced by "[redacted]", at any depth.
// A document that is not JSON but may name a secret is returned as a note
// saying so.
func Redact(doc json.RawMessage) json.RawMessage {
	if len(doc) == 0 || !mayHoldSecrets(doc) {
		return doc
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return json.RawMessage(`"[not JSON]"`)
	}
	if !redactValue(v) {
		return doc
	}
	out, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`"[unencodable]"`)
	}
	return out
}

// redactValue redacts in place and reports whether it changed anything.
func redactValue(v any) bool {
	changed := false
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if secretName(k) {
				if s, ok := e.(string); !ok || s != "" {
					t[k] = "[redacted]"
					changed = true
				}
				continue
			}
			changed = redactValue(e) || changed
		}
	case []any:
		for _, e := range t {
			changed = redactValue(e) || changed
		}
	}
	return changed
}

// mayHoldSecrets is a cheap first look: a document with none of the
// secret suffixes anywhere in it (in any case) has no secret-looking
// property, and is not parsed.
func mayHoldSecrets(doc []byte) bool {
	lower := bytes.ToLower(doc)
	for _, suffix := range secretSuffixes {
		if bytes.Contains(lower, []byte(suffix)) {
			return true
		}
	}
	// Names written with "_" or "-" (api_key, client-secret) hold the
	// suffix only once those are taken out.
	return bytes.Contains(lower, []byte("_key")) || bytes.Contains(lower, []byte("-key"))
}

func secretName(k string) bool {
	k = strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(k))
	for _, suffix := range secretSuffixes {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}
