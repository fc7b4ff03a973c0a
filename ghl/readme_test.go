package ghl

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's operations table from Operations()")

// readmePath is the repository's README, beside this package.
const readmePath = "../README.md"

// The README's operations table between these markers is Operations() as
// a table, so that it cannot drift from the code.
const (
	tableBegin = "<!-- operations table: go test ./ghl -run TestReadmeOperations -update-readme -->"
	tableEnd   = "<!-- end of the operations table -->"
)

// operationsTable renders every operation: its API, method and path, the Go
// method, the scope it needs and whether the client may repeat it.
func operationsTable() string {
	var b strings.Builder
	b.WriteString("| # | API | Request | `ghl` method | Scope | Repeated on failure |\n|---|---|---|---|---|---|\n")
	for i, op := range Operations() {
		api, _, _ := strings.Cut(strings.TrimPrefix(op.Path, "/"), "/")
		scope := "(none in the spec)"
		if op.Scope != "" {
			scope = "`" + op.Scope + "`"
		}
		again := "no: an unknown outcome is reported"
		if op.Idempotent() {
			again = "yes"
		}
		fmt.Fprintf(&b, "| %d | %s | `%s %s` | `%s` | %s | %s |\n", i+1, api, op.Method, op.Path, op.Name, scope, again)
	}
	return b.String()
}

// TestReadmeOperations holds the README's table to Operations().
func TestReadmeOperations(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	before, rest, ok := strings.Cut(readme, tableBegin+"\n")
	table, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md has no operations table between %q and %q", tableBegin, tableEnd)
	}
	want := operationsTable()
	if table == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(readmePath, []byte(before+tableBegin+"\n"+want+tableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's operations table is not Operations(): run go test ./ghl -run TestReadmeOperations -update-readme")
}
