package sandbox_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rankr/rankr/ghl"
)

// TestOperationsAreTheSpecs holds ghl.Operations() to the four official spec
// files: every operation of the specs is in the table once, with the spec's
// method, path and operationId, and the scope the table names is the one
// its security block names (none where the block names none).
func TestOperationsAreTheSpecs(t *testing.T) {
	t.Parallel()
	dir := defaultSpecDir
	if d := os.Getenv(specDirEnv); d != "" {
		dir = d
	}
	type specOp struct {
		id     string
		scopes []string
	}
	spec := map[string]specOp{} // by "METHOD /path"
	for _, name := range []string{"payments", "invoices", "products", "store"} {
		raw, err := os.ReadFile(filepath.Join(dir, "apps", name+".json"))
		if err != nil {
			t.Skipf("GHL OpenAPI spec not found (%v); set %s", err, specDirEnv)
		}
		var doc struct {
			Paths map[string]map[string]struct {
				OperationID string                `json:"operationId"`
				Security    []map[string][]string `json:"security"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s.json: %v", name, err)
		}
		for path, methods := range doc.Paths {
			for method, op := range methods {
				var scopes []string
				for _, block := range op.Security {
					for _, s := range block {
						scopes = append(scopes, s...)
					}
				}
				spec[strings.ToUpper(method)+" "+path] = specOp{op.OperationID, scopes}
			}
		}
	}
	seen := map[string]bool{}
	for _, op := range ghl.Operations() {
		key := op.Method + " " + op.Path
		s, ok := spec[key]
		switch {
		case !ok:
			t.Errorf("%s (%s) is in no spec", op.Name, key)
			continue
		case seen[key]:
			t.Errorf("%s (%s) is in the table twice", op.Name, key)
		case s.id != op.OperationID:
			t.Errorf("%s: operationId %q, the spec says %q", op.Name, op.OperationID, s.id)
		case op.Scope == "" && len(s.scopes) > 0:
			t.Errorf("%s names no scope; the spec's security block names %v", op.Name, s.scopes)
		case op.Scope != "" && !slices.Contains(s.scopes, op.Scope):
			t.Errorf("%s needs %s; the spec's security block names %v", op.Name, op.Scope, s.scopes)
		}
		seen[key] = true
	}
	for key, s := range spec {
		if !seen[key] {
			t.Errorf("the spec's %s (%s) is not in ghl.Operations()", s.id, key)
		}
	}
	if len(ghl.Operations()) != 110 || len(spec) != 110 {
		t.Errorf("%d operations in the table, %d in the specs; want 110", len(ghl.Operations()), len(spec))
	}
}
