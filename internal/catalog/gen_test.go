package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/rankr/rankr/ghl"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var updateGHL = flag.Bool("update", false, "rewrite ghl.gen.json from the specs")

const ghlGenFile = "ghl.gen.json"

// ghlSpecDir is where GHL's official OpenAPI files and webhook schemas
// are: RANKR_GHL_SPEC_DIR, or the shared folder beside the repository.
func ghlSpecDir() string {
	if d := os.Getenv("RANKR_GHL_SPEC_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "ghl")
}

// TestGHLCatalogIsTheSpecs regenerates ghl.gen.json from GHL's specs and
// fails when the committed file differs: the catalog is derived data, and
// a hand edit or a spec update must not go unnoticed.
func TestGHLCatalogIsTheSpecs(t *testing.T) {
	dir := ghlSpecDir()
	if _, err := os.Stat(filepath.Join(dir, "apps", "payments.json")); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("GHL spec files not found in %s (set RANKR_GHL_SPEC_DIR): %v", dir, err)
	}
	cat, notes, err := genGHLCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		t.Log(n)
	}
	got, err := genEncode(cat)
	if err != nil {
		t.Fatal(err)
	}
	if *updateGHL {
		if err := os.WriteFile(ghlGenFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d actions, %d triggers, %d bytes", ghlGenFile, len(cat.Actions), len(cat.Triggers), len(got))
		return
	}
	want, err := os.ReadFile(ghlGenFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("ghl.gen.json is stale: run go test ./internal/catalog -run TestGHLCatalogIsTheSpecs -update")
	}
}

// TestGHLCatalogData holds the committed file to its promises: one action
// per client operation, unique keys, and samples that their schemas accept.
func TestGHLCatalogData(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(ghlGenFile)
	if err != nil {
		t.Fatal(err)
	}
	// Read as the loader reads it (ghl.go), refusing any field it would
	// not read.
	var cat ghlFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cat); err != nil {
		t.Fatal(err)
	}
	ops := ghl.Operations()
	if len(cat.Actions) != len(ops) || len(ops) != 110 {
		t.Fatalf("%d actions for %d operations, want 110 of each", len(cat.Actions), len(ops))
	}
	keys := map[string]bool{}
	for i, a := range cat.Actions {
		if a.Operation != ops[i].Name {
			t.Errorf("action %d is for %s, want %s (the order of ghl.Operations())", i, a.Operation, ops[i].Name)
		}
		if keys[a.Key] {
			t.Errorf("key %s is used twice", a.Key)
		}
		keys[a.Key] = true
		if !genKeyPattern.MatchString(a.Key) {
			t.Errorf("%s: the key is not ghl.<family>.<noun>.<verb>", a.Key)
		}
		switch a.Effect {
		case "read", "write", "destructive", "notify":
		default:
			t.Errorf("%s: effect %q", a.Key, a.Effect)
		}
		if a.Title == "" || a.Summary == "" {
			t.Errorf("%s: no title or summary", a.Key)
		}
		genMustValidate(t, a.Key+" input", a.Input, a.SampleInput)
		genMustValidate(t, a.Key+" output", a.Output, a.Sample)
	}
	if len(cat.Triggers) != len(genTriggerEvents) {
		t.Fatalf("%d triggers, want %d", len(cat.Triggers), len(genTriggerEvents))
	}
	for i, tr := range cat.Triggers {
		if tr.Event != genTriggerEvents[i].event {
			t.Errorf("trigger %d is %s, want %s", i, tr.Event, genTriggerEvents[i].event)
		}
		if keys[tr.Key] {
			t.Errorf("key %s is used twice", tr.Key)
		}
		keys[tr.Key] = true
		if tr.Title == "" || tr.Summary == "" {
			t.Errorf("%s: no title or summary", tr.Key)
		}
		if len(tr.Scopes) == 0 {
			t.Errorf("%s: no scopes", tr.Key)
		}
		genMustValidate(t, tr.Key, tr.Output, tr.Sample)
	}
}

func genMustValidate(t *testing.T, name string, schema, doc json.RawMessage) {
	t.Helper()
	if err := genValidate(schema, doc); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// genValidate compiles schema on its own (it must be self-contained) and
// validates doc against it.
func genValidate(schema, doc []byte) error {
	sdoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("x.json", sdoc); err != nil {
		return err
	}
	s, err := c.Compile("x.json")
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}
