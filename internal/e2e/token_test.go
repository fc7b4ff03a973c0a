package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/testwait"
)

// TestTokenNeverStoredInClear connects, syncs and serves on SQLite with
// debug logs, then reads every file in the data directory (the database,
// its WAL and shared-memory files, while a serve process holds them open)
// and every process's output: the GHL token must appear in none of them,
// neither as is nor encoded in base64 or hex, and the API key nowhere but
// where rankr keys create showed it.
func TestTokenNeverStoredInClear(t *testing.T) {
	t.Parallel()
	sb, url := newSandbox(t, sandbox.Config{Seed: 5, Locations: 1, Orders: 60}, sandbox.Faults{})
	loc := sb.Locations()[0]
	dir := t.TempDir()
	db := sqliteDB(t, dir)
	env := newRankrEnv(t, dir, db, "RANKR_LOG_LEVEL=debug")

	procs := connectAll(t, env, url, sb.Locations())
	// Failed requests make the client log its retries, with GHL's errors:
	// the output holds more than a summary.
	if err := sb.SetFaults(sandbox.Faults{ErrorRate: 0.1, Rate429: 0.05}); err != nil {
		t.Fatal(err)
	}
	sync := run(t, env, 60*time.Second, "sync")
	procs = append(procs, sync)
	if err := sb.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	if out := sync.stderr.String(); !strings.Contains(out, "ghl: retrying") {
		t.Errorf("rankr sync logged no retry at debug level: the output check sees too little:\n%s", tail(out, 2000))
	}
	procs = append(procs, run(t, env, 30*time.Second, "status", "--json"))
	procs = append(procs, run(t, env, 30*time.Second, "orders", "list", "--location", loc.ID, "--json"))

	// A serve process keeps the WAL and shared-memory files in place (a
	// process that ends cleanly folds the WAL back into the database and
	// removes it), and polls, so that its work lands in them.
	serve := start(t, env, "serve", "--addr", "127.0.0.1:0", "--poll-interval", "1s")
	procs = append(procs, serve)
	statusURL := servingAddr(t, serve) + "/api/status"
	key, keyProc := apiKey(t, env, "viewer")
	procs = append(procs, keyProc)
	first := time.Now().UTC()
	testwait.UntilWhy(t, 30*time.Second, "a poll by rankr serve", func() (bool, string) {
		st, err := serveStatus(statusURL, key)
		if err != nil {
			return false, err.Error()
		}
		if len(st) != 1 || !st[0].Sync.LastPoll.After(first) {
			return false, "no poll since serve started"
		}
		return true, ""
	})

	token := []byte(loc.Token)
	if len(token) < 16 {
		t.Fatalf("the sandbox's token %q is too short to search for", token)
	}
	// The token in base64 looks different depending on where it starts
	// relative to the encoder's 3-byte groups: look for the whole groups
	// of each of the three alignments.
	needles := map[string][]byte{
		"in clear": token,
		"in hex":   []byte(hex.EncodeToString(token)),
	}
	for k := range 3 {
		whole := token[k : k+(len(token)-k)/3*3]
		needles[fmt.Sprintf("in base64 (alignment %d)", k)] = []byte(base64.StdEncoding.EncodeToString(whole))
		needles[fmt.Sprintf("in URL base64 (alignment %d)", k)] = []byte(base64.URLEncoding.EncodeToString(whole))
	}

	var files []string
	walked := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files = append(files, filepath.Base(path))
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		walked += len(b)
		for how, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s holds the token %s", path, how)
			}
		}
		if bytes.Contains(b, []byte(key)) || bytes.Contains(b, []byte(key[len(key)-38:])) {
			t.Errorf("%s holds the API key or its secret", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rankr.db", "rankr.db-wal", "rankr.db-shm"} {
		if !slices.Contains(files, want) {
			t.Errorf("the data directory lacks %s (it holds %v): the check did not see it", want, files)
		}
	}
	t.Logf("read %d bytes in %v", walked, files)

	serve.kill() // its output is complete once it has ended
	for _, p := range procs {
		for name, out := range map[string]string{"stdout": p.stdout.String(), "stderr": p.stderr.String()} {
			for how, n := range needles {
				if strings.Contains(out, string(n)) {
					t.Errorf("the %s of rankr %s holds the token %s", name, p.name, how)
				}
			}
			// The key is shown once, by the command that made it.
			if strings.Contains(out, key[len(key)-38:]) && (p != keyProc || name != "stdout") {
				t.Errorf("the %s of rankr %s holds the API key", name, p.name)
			}
		}
	}
}
