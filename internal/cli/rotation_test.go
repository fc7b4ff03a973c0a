package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rankr/rankr/internal/vault"
)

// TestRotationCommands runs the rotation commands as an operator does:
// an endpoint's signing secret rotated (printed once, audited, the grace
// bounded), the endpoint changes audited as the host's, then the master
// key rotated with --master-key-previous-file, resealed, and dropped.
func TestRotationCommands(t *testing.T) {
	t.Parallel()
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, db)
			var added struct {
				Endpoint struct {
					ID string `json:"id"`
				} `json:"endpoint"`
				Secret string `json:"secret"`
			}
			out := s.must(t, "webhooks", "add", "http://127.0.0.1:9/hook", "--webhook-allow", "127.0.0.1/32", "--json")
			if err := json.Unmarshal([]byte(out), &added); err != nil || added.Endpoint.ID == "" {
				t.Fatalf("webhooks add: %s (%v)", redactWhsec(out), err)
			}
			id := added.Endpoint.ID
			rotated := s.must(t, "webhooks", "rotate-secret", id, "--grace", "2h")
			secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(rotated)
			if secret == "" || secret == added.Secret || !strings.Contains(rotated, "both secrets sign every delivery until") {
				t.Fatalf("rotate-secret:\n%s", redactWhsec(rotated))
			}
			if code, _, errOut := s.run(t, "webhooks", "rotate-secret", id, "--grace", "200h"); code == 0 || !strings.Contains(errOut, "0 to 168h") {
				t.Errorf("a grace over 7 days: exit %d %s", code, errOut)
			}
			if list := s.must(t, "webhooks", "list", "--json"); !strings.Contains(list, `"previousUntil"`) || strings.Contains(list, "whsec_") {
				t.Errorf("list during the grace:\n%s", list)
			}
			s.must(t, "webhooks", "disable", id)
			s.must(t, "webhooks", "enable", id)
			s.must(t, "webhooks", "replay", "--endpoint", id)
			s.must(t, "webhooks", "rotate-secret", id, "--grace", "0s")
			s.must(t, "webhooks", "remove", id)
			var actions []string
			for _, line := range strings.Split(strings.TrimSpace(s.must(t, "audit", "list", "--json")), "\n") {
				var rec struct {
					Action  string            `json:"action"`
					Actor   map[string]string `json:"actor"`
					Secrets map[string]string `json:"secrets"`
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(line, "whsec_") {
					t.Errorf("an audit record holds a secret: %s", redactWhsec(line))
				}
				if !strings.HasPrefix(rec.Action, "webhook_") {
					continue
				}
				if rec.Actor["type"] != "host" {
					t.Errorf("%s by %v", rec.Action, rec.Actor)
				}
				if (rec.Action == "webhook_endpoint.created" || rec.Action == "webhook_endpoint.secret_rotated") &&
					!strings.HasPrefix(rec.Secrets["secret"], "hmac-sha256:") {
					t.Errorf("%s names its secret %v", rec.Action, rec.Secrets)
				}
				actions = append(actions, rec.Action)
			}
			want := "webhook_endpoint.created webhook_endpoint.secret_rotated webhook_endpoint.disabled webhook_endpoint.enabled " +
				"webhook_delivery.replayed webhook_endpoint.secret_rotated webhook_endpoint.removed"
			if strings.Join(actions, " ") != want {
				t.Errorf("audit:\n%v\nwant\n%s", actions, want)
			}
			// The hash the audit log names the secret by is the one
			// rankr audit hash gives.
			code, hashed, _ := s.run(t, "audit", "hash", secret)
			if h := strings.TrimSpace(hashed); code != 0 || !strings.Contains(s.must(t, "audit", "list", "--json"), h) {
				t.Errorf("audit hash: exit %d, %s is in no record", code, h)
			}

			// The master key: a new one, the old one previous.
			oldFile := s.flags[3]
			newFile := filepath.Join(s.dir, "master-2.key")
			if err := os.WriteFile(newFile, []byte(vault.NewKey()), 0o600); err != nil {
				t.Fatal(err)
			}
			oldKey, _, _ := vault.LoadKeyFile(oldFile, false)
			newKey, _, _ := vault.LoadKeyFile(newFile, false)
			oldV, _ := vault.New(oldKey)
			newV, _ := vault.New(newKey)
			rotatedFlags := func(args ...string) []string {
				flags := append([]string{}, s.flags...)
				flags[3] = newFile
				return append(append(args, flags...), "--master-key-previous-file", oldFile)
			}
			_, status, _ := run(t, rotatedFlags("keys", "master", "status")...)
			if !regexp.MustCompile(newV.KeyID()+`\s+current\s+0`).MatchString(status) ||
				!regexp.MustCompile(oldV.KeyID()+`\s+previous\s+3\s+webhook endpoint 1, install secret 2`).MatchString(status) ||
				!strings.Contains(status, "3 secrets are still under "+oldV.KeyID()+": run rankr keys master reseal") {
				t.Fatalf("status:\n%s", status)
			}
			code, dry, errOut := run(t, rotatedFlags("keys", "master", "reseal", "--dry-run")...)
			if code != 0 || !strings.Contains(dry, "dry run: 3 secrets would be resealed") {
				t.Fatalf("dry run: exit %d\n%s%s", code, dry, errOut)
			}
			code, resealed, errOut := run(t, rotatedFlags("keys", "master", "reseal")...)
			if code != 0 || !strings.Contains(resealed, "resealed 3 secrets") ||
				!strings.Contains(resealed, "0 under "+oldV.KeyID()+": remove it from RANKR_MASTER_KEY_PREVIOUS") {
				t.Fatalf("reseal: exit %d\n%s%s", code, resealed, errOut)
			}
			// Dropped: the new key alone opens everything (a key can be made
			// with the resealed pepper).
			s.flags[3] = newFile
			if status := s.must(t, "keys", "master", "status"); strings.Contains(status, oldV.KeyID()) ||
				!regexp.MustCompile(newV.KeyID()+`\s+current\s+3`).MatchString(status) {
				t.Errorf("status with the new key alone:\n%s", status)
			}
			s.must(t, "keys", "create", "--role", "viewer")
			for _, o := range []string{status, dry, resealed} {
				for _, k := range []string{keyText(t, oldFile), keyText(t, newFile)} {
					if strings.Contains(o, k) {
						t.Error("a master key was printed")
					}
				}
			}
		})
	}
}

func keyText(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// redactWhsec hides signing secrets in what a failing test prints.
func redactWhsec(s string) string {
	return regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).ReplaceAllString(s, "whsec_…")
}
