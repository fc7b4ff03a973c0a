package cli

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rankr/rankr/ghl"
)

// TestKeysAndAudit runs the key commands and checks what the audit log says
// of them, that it verifies, and that an edit to it is found.
func TestKeysAndAudit(t *testing.T) {
	t.Parallel()
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, db)
			var made struct {
				Key    string         `json:"key"`
				APIKey map[string]any `json:"apiKey"`
			}
			out := s.must(t, "keys", "create", "--role", "owner", "--name", "first", "--json")
			if err := json.Unmarshal([]byte(out), &made); err != nil || !strings.HasPrefix(made.Key, "rnkr_live_") {
				t.Fatalf("keys create: %s (%v)", out, err)
			}
			id := made.APIKey["id"].(string)
			if made.APIKey["state"] != "active" || made.APIKey["role"] != "owner" {
				t.Errorf("made %v", made.APIKey)
			}
			text := s.must(t, "keys", "create", "--role", "viewer", "--location", "L1", "--allow-ip", "203.0.113.0/24", "--expires", "7d")
			if !strings.Contains(text, "only time the key is shown") || !regexp.MustCompile(`rnkr_live_[a-z2-7]{12}_`).MatchString(text) {
				t.Errorf("keys create prints %s", text)
			}
			// Refusals say what is wrong.
			for args, want := range map[string]string{
				"keys create --role viewer --scope orders:write":   "role viewer cannot hold [orders:write]",
				"keys create --role viewer --expires 400d":         "at most 365 days",
				"keys create --role viewer --scope orders:*":       `unknown scope "orders:*"`,
				"keys create --role viewer --allow-ip 10.0.0.0/33": "neither an IP address nor a CIDR",
				"keys revoke nope": "key nope: not found",
			} {
				code, _, errOut := s.run(t, strings.Fields(args)...)
				if code == 0 || !strings.Contains(errOut, want) {
					t.Errorf("rankr %s: exit %d %q, want %q", args, code, errOut, want)
				}
			}
			list := s.must(t, "keys", "list")
			if strings.Contains(list, made.Key[len(made.Key)-38:]) || !strings.Contains(list, id) || !strings.Contains(list, "first") {
				t.Errorf("keys list:\n%s", list)
			}
			rolled := s.must(t, "keys", "roll", id, "--grace", "1h", "--json")
			var r struct {
				Key    string         `json:"key"`
				APIKey map[string]any `json:"apiKey"`
			}
			if err := json.Unmarshal([]byte(rolled), &r); err != nil || r.APIKey["rotatedFrom"] != id {
				t.Fatalf("roll: %s %v", rolled, err)
			}
			s.must(t, "keys", "set-role", r.APIKey["id"].(string), "admin")
			s.must(t, "keys", "allow-ips", "--installation", "--cidr", "127.0.0.0/8", "--cidr", "::1")
			s.must(t, "keys", "revoke", r.APIKey["id"].(string))
			if show := s.must(t, "keys", "show", r.APIKey["id"].(string)); !strings.Contains(show, "revoked") || !strings.Contains(show, "admin") {
				t.Errorf("keys show:\n%s", show)
			}

			// The log holds each change, the key only as its HMAC.
			lines := strings.Split(strings.TrimSpace(s.must(t, "audit", "list", "--json")), "\n")
			var actions []string
			for _, l := range lines {
				var rec struct {
					Action  string            `json:"action"`
					Secrets map[string]string `json:"secrets"`
				}
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Fatalf("audit list --json: %q: %v", l, err)
				}
				actions = append(actions, rec.Action)
				if strings.Contains(l, made.Key[len(made.Key)-38:]) {
					t.Errorf("an audit record holds a key: %s", l)
				}
			}
			want := "api_key.created api_key.created api_key.rolled api_key.role_changed installation.allow_ips_changed api_key.revoked"
			if got := strings.Join(actions, " "); got != want {
				t.Errorf("audit actions %s, want %s", got, want)
			}
			hash := strings.TrimSpace(s.must(t, "audit", "hash", made.Key))
			if !strings.HasPrefix(hash, "hmac-sha256:") || !strings.Contains(lines[0], hash) {
				t.Errorf("audit hash %s is not in the creation's record %s", hash, lines[0])
			}
			if got := s.must(t, "audit", "list", "--action", "api_key.", "--actor", "host"); strings.Count(got, "api_key.") != 5 {
				t.Errorf("filtered list:\n%s", got)
			}

			verified := s.must(t, "audit", "verify")
			if !strings.HasPrefix(verified, "6/6 records valid, ") || !strings.Contains(verified, "checkpoints valid") {
				t.Fatalf("audit verify: %s", verified)
			}
			pub := regexp.MustCompile(`public key (\S+)`).FindStringSubmatch(verified)
			if pub == nil {
				t.Fatalf("verify names no public key: %s", verified)
			}
			checkpoint := strings.TrimSpace(s.must(t, "audit", "checkpoint"))

			export := s.must(t, "audit", "export", "--format", "jsonl")
			if strings.Count(export, `"type":"record"`) != 6 || !strings.Contains(export, `"type":"checkpoint"`) {
				t.Errorf("export:\n%s", export)
			}
			csvOut := filepath.Join(s.dir, "audit.csv")
			s.must(t, "audit", "export", "--format", "csv", "-o", csvOut)
			b, err := os.ReadFile(csvOut)
			if err != nil || !strings.HasPrefix(string(b), "seq,ts,actor_type") || strings.Count(string(b), "\n") != 8 {
				t.Errorf("csv export (%v):\n%s", err, b)
			}

			// An edit is found, with or without the master key.
			target := db
			driver := "pgx"
			if target == "" {
				target, driver = filepath.Join(s.dir, "rankr.db"), "sqlite"
			}
			raw, err := sql.Open(driver, target)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			var body []byte
			if err := raw.QueryRow(`SELECT body FROM audit_log WHERE seq = 3`).Scan(&body); err != nil {
				t.Fatal(err)
			}
			edited := strings.Replace(string(body), `"outcome":"success"`, `"outcome":"failure"`, 1)
			if _, err := raw.Exec(`UPDATE audit_log SET body = $1 WHERE seq = 3`, []byte(edited)); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"audit", "verify"}, {"audit", "verify", "--pubkey", pub[1]}} {
				code, out, _ := s.run(t, args...)
				if code != 1 || !strings.Contains(out, "first bad record: 3") {
					t.Errorf("rankr %s after an edit: exit %d\n%s", strings.Join(args, " "), code, out)
				}
			}
			// Records cut off the end, head and checkpoints with them, are
			// found against a checkpoint kept elsewhere.
			if _, err := raw.Exec(`UPDATE audit_log SET body = $1 WHERE seq = 3`, body); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{`DELETE FROM audit_log WHERE seq > 5`, `DELETE FROM audit_checkpoints WHERE size > 5`,
				`UPDATE audit_head SET size = 5, hash = (SELECT hash FROM audit_log WHERE seq = 5)`} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			if out := s.must(t, "audit", "verify"); !strings.HasPrefix(out, "5/5 records valid") {
				t.Errorf("the cut log, on its own: %s", out)
			}
			code, out, _ := s.run(t, "audit", "verify", "--checkpoint", checkpoint)
			if code != 1 || !strings.Contains(out, "first bad record: 6") || !strings.Contains(out, "cut short") {
				t.Errorf("the cut log against the kept checkpoint: exit %d\n%s", code, out)
			}
		})
	}
}

// A new token for a connected location replaces the old one in place, and
// both the connection and the replacement are in the audit log, the tokens
// only as HMACs.
func TestConnectReplacesTheTokenAudited(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "")
	l := s.sb.Locations()[0]
	s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url, "--no-verify")
	if err := s.sb.AddToken(l.ID, "pit-rotated-token-0123456789", ghl.Scopes()...); err != nil {
		t.Fatal(err)
	}
	s.must(t, "connect", "--location", l.ID, "--token", "pit-rotated-token-0123456789", "--base-url", s.url)
	out := s.must(t, "audit", "list", "--json", "--action", "connection.")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"connection.connected"`) || !strings.Contains(lines[1], `"connection.token_replaced"`) {
		t.Fatalf("audit:\n%s", out)
	}
	if strings.Contains(out, l.Token) || strings.Contains(out, "pit-rotated") {
		t.Fatalf("a token in the audit log:\n%s", out)
	}
	hash := strings.TrimSpace(s.must(t, "audit", "hash", "pit-rotated-token-0123456789"))
	if !strings.Contains(lines[1], hash) {
		t.Errorf("the replacement's record lacks the new token's HMAC %s:\n%s", hash, lines[1])
	}
	s.must(t, "sync")
}
