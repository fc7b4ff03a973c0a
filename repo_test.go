// Package repo_test checks rules that hold for the whole repository: every
// package is documented, and the public packages import nothing of ours that
// they must not.
package repo_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/rankr/rankr"

// packages returns each directory holding non-test Go files, with the files
// parsed (imports and comments).
func packages(t *testing.T) map[string][]*parsedFile {
	t.Helper()
	out := map[string][]*parsedFile{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		pf := &parsedFile{name: path, documented: f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name) || f.Doc != nil && f.Name.Name == "main"}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			pf.imports = append(pf.imports, p)
		}
		out[filepath.Dir(path)] = append(out[filepath.Dir(path)], pf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type parsedFile struct {
	name       string
	documented bool
	imports    []string
}

func TestEveryPackageIsDocumented(t *testing.T) {
	for dir, files := range packages(t) {
		documented := 0
		for _, f := range files {
			if f.documented {
				documented++
			}
		}
		if documented == 0 {
			t.Errorf("package %s has no package doc comment (\"// Package x ...\"); add a doc.go", dir)
		}
	}
}

// allowedImports: which of our packages a package may import. ghl is a
// public client usable on its own; the domain package is a leaf.
var allowedImports = map[string][]string{
	"ghl":            {},
	"ghl/sandbox":    {"ghl"},
	"internal/rankr": {},
	// Access control knows keys, the store and the vault, nothing that
	// syncs or serves GHL's data.
	"internal/access": {"internal/rankr", "internal/store", "internal/vault"},
	// The catalog runs GHL's operations and knows the domain's errors;
	// rankr's own actions are registered by internal/app.
	"internal/catalog": {"ghl", "internal/rankr"},
	// A test-support package, for every package's tests: ghl's too.
	"internal/testwait": {},
}

func TestLayeringRules(t *testing.T) {
	pkgs := packages(t)
	for dir, allowed := range allowedImports {
		for _, f := range pkgs[filepath.FromSlash(dir)] {
			for _, imp := range f.imports {
				rel, ours := strings.CutPrefix(imp, module+"/")
				if !ours {
					continue
				}
				ok := false
				for _, a := range allowed {
					ok = ok || rel == a
				}
				if !ok {
					t.Errorf("%s imports %s; package %s may import only %v of ours", f.name, imp, dir, allowed)
				}
			}
		}
	}
}

func TestScriptsAreExecutable(t *testing.T) {
	for _, p := range []string{"scripts/test", "scripts/bench", "scripts/compat", ".ci/run"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", p)
		}
	}
}

// TestTestSupportOnlyInTests keeps the packages made for tests (testwait,
// storetest, synctest, mailtest: named test… or …test) out of the product:
// only test files and other such packages import them.
func TestTestSupportOnlyInTests(t *testing.T) {
	isSupport := func(dir string) bool {
		base := filepath.Base(dir)
		return strings.HasPrefix(base, "test") || strings.HasSuffix(base, "test")
	}
	pkgs := packages(t)
	if _, ok := pkgs[filepath.FromSlash("internal/testwait")]; !ok {
		t.Fatal("internal/testwait not found: has it moved? Update this test")
	}
	for dir, files := range pkgs {
		if isSupport(dir) {
			continue
		}
		for _, f := range files {
			for _, imp := range f.imports {
				if rel, ours := strings.CutPrefix(imp, module+"/"); ours && isSupport(rel) {
					t.Errorf("%s imports %s, which is for tests only", f.name, imp)
				}
			}
		}
	}
}
