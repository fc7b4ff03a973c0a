package daemon_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/vault"
)

// A daemon given a previous master key opens what it sealed, and warns,
// naming the key's id (never the key), once for a burst of such opens; the
// vault counts every one.
func TestPreviousMasterKeyWarns(t *testing.T) {
	t.Parallel()
	oldText, newText := vault.NewKey(), vault.NewKey()
	oldKey, _ := vault.ParseKey(oldText)
	newKey, _ := vault.ParseKey(newText)
	old, _ := vault.New(oldKey)
	sealed, err := old.Seal([]byte("pit-previous"), "connection:L1")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	d, err := daemon.Open(context.Background(), daemon.Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "rankr.db"),
		MasterKey: newKey, PreviousMasterKeys: [][]byte{oldKey}, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if got, err := d.Vault.Open(sealed, "connection:L1"); err != nil || string(got) != "pit-previous" {
				t.Errorf("open with the previous key: %q, %v", got, err)
			}
		})
	}
	wg.Wait()
	if n := d.Vault.PreviousOpens(); n != 50 {
		t.Errorf("%d previous-key opens counted, want 50", n)
	}
	var warnings int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "a secret opened with a previous master key: run rankr keys master reseal" {
			continue
		}
		warnings++
		if rec["level"] != "WARN" || rec["key_id"] != old.KeyID() {
			t.Errorf("warning %s", line)
		}
	}
	if warnings != 1 {
		t.Errorf("%d warnings for a burst of opens, want 1:\n%s", warnings, logs.String())
	}
	if s := logs.String(); strings.Contains(s, oldText) || strings.Contains(s, newText) || strings.Contains(s, "pit-previous") {
		t.Error("the log holds a key or a secret")
	}
}
