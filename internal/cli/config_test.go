package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeConfig writes a config file named name into a new directory and
// returns its path.
func writeConfig(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// connectedDir is a data directory holding one connection, to location,
// made with flags alone (no GHL is asked: --no-verify), so that a command
// reading the directory the config file names says so by listing it.
func connectedDir(t *testing.T, location string) string {
	t.Helper()
	dir := t.TempDir()
	if code, out, errOut := run(t, "connect", "--location", location, "--token", "pit-config-test", "--base-url", "http://127.0.0.1:1",
		"--no-verify", "--data-dir", dir, "--log-level", "error"); code != 0 {
		t.Fatalf("connect: exit %d\n%s%s", code, out, errOut)
	}
	return dir
}

// setting finds a setting's line in config check's output: its value and
// where it came from.
func setting(t *testing.T, out, name string) (value, source string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +=\s(.*?)\s+\(([^()]*)\)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("config check shows no setting %s:\n%s", name, out)
	}
	return strings.TrimSpace(m[1]), m[2]
}

// TestConfigFileApplies runs commands with the same settings written in
// each of the three formats: the data directory they read, the log format
// they fail in, and values of every type, as config check reports them.
func TestConfigFileApplies(t *testing.T) {
	t.Parallel()
	for format, body := range map[string]string{
		"toml": `data-dir = "%DIR%"
log-format = "json"
[serve]
poll-interval = "1m"
workers = 3
key-rate = 2.5
secure-cookies = true
webhook-backoff = ["1s", "2s"]
alert-email = "ops@example.com"
`,
		"yaml": `data-dir: "%DIR%"
log-format: json
serve:
  poll-interval: 1m
  workers: 3
  key-rate: 2.5
  secure-cookies: true
  webhook-backoff: [1s, 2s]
  alert-email: ops@example.com
`,
		"json": `{"data-dir": "%DIR%", "log-format": "json",
 "serve": {"poll-interval": "1m", "workers": 3, "key-rate": 2.5, "secure-cookies": true,
  "webhook-backoff": ["1s", "2s"], "alert-email": "ops@example.com"}}
`,
	} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			loc := "loc-config-" + format
			dir := connectedDir(t, loc)
			path := writeConfig(t, "rankr."+format, strings.ReplaceAll(body, "%DIR%", filepath.ToSlash(dir)))

			code, out, errOut := run(t, "--config", path, "status")
			if code != 0 || !strings.Contains(out, loc) {
				t.Fatalf("status with data-dir from the %s file: exit %d\n%s%s", format, code, out, errOut)
			}
			// The file's log format is the globals' too: the error is a JSON line.
			code, _, errOut = run(t, "orders", "show", "no-such-order", "--config", path)
			var line map[string]any
			if code == 0 || json.Unmarshal([]byte(strings.TrimSpace(errOut)), &line) != nil || line["msg"] != "rankr stopped" ||
				!strings.Contains(line["error"].(string), "not found") {
				t.Fatalf("a failing command with log-format json from the %s file: exit %d, stderr %q", format, code, errOut)
			}

			code, out, errOut = run(t, "--config", path, "config", "check")
			if code != 0 || !strings.Contains(out, path+": valid "+strings.ToUpper(format)) {
				t.Fatalf("config check of the %s file: exit %d\n%s%s", format, code, out, errOut)
			}
			for name, want := range map[string]string{
				"data-dir": dir, "log-format": "json", "poll-interval": "1m0s", "workers": "3", "key-rate": "2.5",
				"secure-cookies": "true", "webhook-backoff": "1s, 2s", "alert-email": "ops@example.com",
			} {
				value, source := setting(t, out, name)
				key := name
				if name != "data-dir" && name != "log-format" {
					key = "serve." + name
				}
				if value != want || source != "config "+key {
					t.Errorf("%s file: %s = %s (%s), want %s (config %s)", format, name, value, source, want, key)
				}
			}
			if value, source := setting(t, out, "walk-interval"); value != "6h0m0s" || source != "default" {
				t.Errorf("%s file: walk-interval, not in the file, = %s (%s)", format, value, source)
			}
		})
	}
}

// TestConfigFileRelativePaths reads a relative path in the file as
// relative to the file, not to the directory rankr runs in.
func TestConfigFileRelativePaths(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "rankr.toml", "data-dir = \"data\"\nmaster-key-file = \"keys/master.key\"\n"+
		"master-key-previous-file = [\"keys/old.key\", \"/abs/older.key\"]\n")
	code, out, errOut := run(t, "--config", path, "config", "check", "status")
	if code != 0 {
		t.Fatalf("config check: exit %d\n%s%s", code, out, errOut)
	}
	if value, _ := setting(t, out, "data-dir"); value != filepath.Join(filepath.Dir(path), "data") {
		t.Errorf("data-dir = %s, want it beside the file, in %s", value, filepath.Dir(path))
	}
	if value, _ := setting(t, out, "master-key-file"); value != filepath.Join(filepath.Dir(path), "keys", "master.key") {
		t.Errorf("master-key-file = %s, want it beside the file", value)
	}
	if value, _ := setting(t, out, "master-key-previous-file"); value != filepath.Join(filepath.Dir(path), "keys", "old.key")+", /abs/older.key" {
		t.Errorf("master-key-previous-file = %s, want the relative one beside the file and the absolute one as it is", value)
	}
}

// TestConfigFlagAndEnvironmentWin gives the data directory in the file, and
// another on the command line or in the environment: those win, even over
// the command's own table. Not parallel: it sets environment variables.
func TestConfigFlagAndEnvironmentWin(t *testing.T) {
	fromFile, fromFlag, fromEnv := connectedDir(t, "loc-file"), connectedDir(t, "loc-flag"), connectedDir(t, "loc-env")
	for _, body := range []string{
		"data-dir = \"" + filepath.ToSlash(fromFile) + "\"\n",
		"[status]\ndata-dir = \"" + filepath.ToSlash(fromFile) + "\"\n",
	} {
		path := writeConfig(t, "rankr.toml", body)
		if code, out, errOut := run(t, "--config", path, "status"); code != 0 || !strings.Contains(out, "loc-file") {
			t.Fatalf("status from the file: exit %d\n%s%s", code, out, errOut)
		}
		code, out, errOut := run(t, "--config", path, "status", "--data-dir", fromFlag)
		if code != 0 || !strings.Contains(out, "loc-flag") || strings.Contains(out, "loc-file") {
			t.Errorf("the flag against the file %q: exit %d\n%s%s", body, code, out, errOut)
		}
		out = mustRun(t, "--config", path, "config", "check", "status", "--data-dir", fromFlag)
		if value, source := setting(t, out, "data-dir"); value != fromFlag || source != "flag" {
			t.Errorf("config check, the flag against the file: data-dir = %s (%s)", value, source)
		}

		t.Setenv("RANKR_DATA_DIR", fromEnv)
		code, out, errOut = run(t, "--config", path, "status")
		if code != 0 || !strings.Contains(out, "loc-env") || strings.Contains(out, "loc-file") {
			t.Errorf("the environment against the file %q: exit %d\n%s%s", body, code, out, errOut)
		}
		out = mustRun(t, "--config", path, "config", "check", "status")
		if value, source := setting(t, out, "data-dir"); value != fromEnv || source != "env RANKR_DATA_DIR" {
			t.Errorf("config check, the environment against the file: data-dir = %s (%s)", value, source)
		}
		// And the flag wins over both.
		code, out, _ = run(t, "--config", path, "status", "--data-dir", fromFlag)
		if code != 0 || !strings.Contains(out, "loc-flag") {
			t.Errorf("the flag against the environment and the file: exit %d\n%s", code, out)
		}
		os.Unsetenv("RANKR_DATA_DIR") // t.Setenv restores it at the end
	}

	// The file can be named by the environment, and config check shows a
	// password that the environment holds redacted.
	path := writeConfig(t, "rankr.yaml", "mail-from: rankr@example.com\n")
	t.Setenv("RANKR_CONFIG", path)
	t.Setenv("RANKR_SMTP_URL", "smtp://user:hunter2@127.0.0.1:2525")
	out := mustRun(t, "config", "check", "serve")
	if value, source := setting(t, out, "mail-from"); value != "rankr@example.com" || source != "config mail-from" {
		t.Errorf("RANKR_CONFIG: mail-from = %s (%s)", value, source)
	}
	if value, source := setting(t, out, "smtp-url"); strings.Contains(value, "hunter2") || !strings.Contains(value, "127.0.0.1:2525") ||
		source != "env RANKR_SMTP_URL" {
		t.Errorf("smtp-url from the environment shown as %s (%s)", value, source)
	}
}

// mustRun runs a command line that must succeed, and returns its output.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, args...)
	if code != 0 {
		t.Fatalf("rankr %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// TestConfigFileRefusals checks each way a file is refused: by a command,
// which stops before it starts (nothing is created), and by config check,
// which lists the problems and exits 1. Each names the file and the key;
// no message repeats a secret.
func TestConfigFileRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, body string
		want             []string // in the command's error and config check's output
		secret           string   // in neither
	}{
		{name: "unknown key", file: "rankr.toml", body: "log-levle = \"debug\"\n",
			want: []string{`log-levle: unknown key (did you mean "log-level"?)`}},
		{name: "snake case", file: "rankr.yaml", body: "poll_interval: 1m\n",
			want: []string{`poll_interval: unknown key (did you mean "poll-interval"?)`}},
		{name: "camel case", file: "rankr.json", body: `{"dataDir": "/tmp"}`,
			want: []string{`dataDir: unknown key (did you mean "data-dir"?)`}},
		{name: "unknown key in a table", file: "rankr.toml", body: "[serve]\nadr = \"127.0.0.1:1\"\n",
			want: []string{`serve.adr: unknown key (did you mean "addr"?)`}},
		{name: "another command's key in a table", file: "rankr.toml", body: "[status]\npoll-interval = \"1m\"\n",
			want: []string{`status.poll-interval: unknown key`}},
		{name: "unknown table", file: "rankr.yaml", body: "srve:\n  addr: 127.0.0.1:1\n",
			want: []string{`srve: unknown command table (did you mean "serve"?)`}},
		{name: "a command as a key", file: "rankr.toml", body: "serve = \"yes\"\n",
			want: []string{`serve: "serve" is a command: write its settings in a table`}},
		{name: "a setting as a table", file: "rankr.toml", body: "[data-dir]\npath = \"x\"\n",
			want: []string{`data-dir: a setting, not a table`}},
		{name: "not a setting", file: "rankr.toml", body: "[orders.list]\njson = true\n",
			want: []string{`orders.list.json: not a setting`, "give --json on the command line"}},
		{name: "another config", file: "rankr.toml", body: "config = \"other.toml\"\n",
			want: []string{`config: a config file cannot name another`}},

		{name: "token", file: "rankr.toml", body: "[connect]\ntoken = \"pit-secret-in-file\"\n", secret: "pit-secret-in-file",
			want: []string{"connect.token: a secret, which rankr never reads from a config file: set RANKR_GHL_TOKEN in the environment instead"}},
		{name: "master key", file: "rankr.yaml", body: "master-key: c2VjcmV0LWtleS1pbi10aGUtZmlsZQ==\n", secret: "c2VjcmV0LWtleS1pbi10aGUtZmlsZQ",
			want: []string{"master-key: the master key is never read from a config file: set RANKR_MASTER_KEY", "master-key-file"}},
		{name: "client secret", file: "rankr.json", body: `{"oauth": {"configure": {"client-secret": "cs-secret-in-file"}}}`, secret: "cs-secret-in-file",
			want: []string{"oauth.configure.client-secret: a secret", "set RANKR_OAUTH_CLIENT_SECRET in the environment instead"}},
		{name: "a secret no flag takes", file: "rankr.toml", body: "password = \"pw-secret-in-file\"\n", secret: "pw-secret-in-file",
			want: []string{"password: names a secret, which rankr never reads from a config file"}},
		{name: "password in a URL", file: "rankr.toml", body: "smtp-url = \"smtp://user:pw-secret-in-url@127.0.0.1:2525\"\n", secret: "pw-secret-in-url",
			want: []string{"smtp-url: the value holds a password", "set RANKR_SMTP_URL in the environment instead"}},
		{name: "password in a query", file: "rankr.yaml", body: "db: postgres://127.0.0.1/rankr?password=pw-secret-in-query\n", secret: "pw-secret-in-query",
			want: []string{"db: the value holds a password", "set RANKR_DB in the environment instead"}},

		{name: "duration as a number", file: "rankr.toml", body: "[serve]\npoll-interval = 30\n",
			want: []string{`serve.poll-interval: want a duration in quotes, such as "30s" or "6h", got the number 30`}},
		{name: "malformed duration", file: "rankr.yaml", body: "serve:\n  poll-interval: soon\n",
			want: []string{`serve.poll-interval: `, `"soon"`}},
		{name: "number as a string", file: "rankr.json", body: `{"serve": {"workers": "eight"}}`,
			want: []string{`serve.workers: want a whole number, got the string "eight"`}},
		{name: "fraction for a whole number", file: "rankr.json", body: `{"sync": {"workers": 2.5}}`,
			want: []string{`sync.workers: want a whole number, got the number 2.5`}},
		{name: "string for a switch", file: "rankr.toml", body: "[serve]\nsecure-cookies = \"yes\"\n",
			want: []string{`serve.secure-cookies: want true or false, got the string "yes"`}},
		{name: "list for a string", file: "rankr.toml", body: "[serve]\naddr = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n",
			want: []string{`serve.addr: want a string, got a list`}},
		{name: "bad list item", file: "rankr.yaml", body: "serve:\n  webhook-backoff: [5s, 10]\n",
			want: []string{`serve.webhook-backoff: item 2: want a duration in quotes`}},
		{name: "bad choice", file: "rankr.toml", body: "log-format = \"xml\"\n",
			want: []string{`log-format: "xml" is not one of text, json`}},
		{name: "bad level", file: "rankr.toml", body: "log-level = \"loud\"\n",
			want: []string{`log-level: `, `"loud"`}},
		{name: "bad span", file: "rankr.toml", body: "[reconcile]\nunfulfilled-after = \"soon\"\n",
			want: []string{`reconcile.unfulfilled-after: `}},
		{name: "a date", file: "rankr.toml", body: "[serve]\naddr = 1979-05-27T07:32:00Z\n",
			want: []string{`serve.addr: want a string, got a `}},

		{name: "toml syntax", file: "rankr.toml", body: "log-level = \"debug\"\nworkers = [\n",
			want: []string{"line 2"}},
		{name: "yaml syntax", file: "rankr.yaml", body: "log-level: debug\n  workers: [\n",
			want: []string{"line 2"}},
		{name: "json syntax", file: "rankr.json", body: "{\"log-level\": \"debug\",\n}\n",
			want: []string{"line 2"}},
		{name: "json not an object", file: "rankr.json", body: `["log-level"]`,
			want: []string{"one JSON object"}},
		{name: "json twice", file: "rankr.json", body: "{}\n{}\n",
			want: []string{"more after the JSON object"}},
		{name: "yaml key not a string", file: "rankr.yaml", body: "serve:\n  1: x\n",
			want: []string{"serve: the key 1 is not a string"}},
		{name: "extension", file: "rankr.ini", body: "log-level = debug\n",
			want: []string{"name it .toml, .yaml, .yml or .json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tt.file, tt.body)
			dataDir := t.TempDir()
			code, out, errOut := run(t, "--config", path, "status", "--data-dir", dataDir)
			if code == 0 {
				t.Fatalf("status with the file %q: exit 0\n%s", tt.body, out)
			}
			if !strings.Contains(errOut, path) {
				t.Errorf("the command's error does not name the file %s: %s", path, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("the command's error lacks %q: %s", w, errOut)
				}
			}
			if entries, _ := os.ReadDir(dataDir); len(entries) != 0 {
				t.Errorf("status with a refused file created %v in its data directory", entries)
			}

			code, out, errOut = run(t, "--config", path, "config", "check")
			all := out + errOut
			if code != 1 {
				t.Errorf("config check of %q: exit %d, want 1\n%s", tt.body, code, all)
			}
			if !strings.Contains(all, path) || strings.Contains(out, ": valid ") || strings.Contains(all, "settings of") {
				t.Errorf("config check does not name the file or says it is valid:\n%s", all)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("config check lacks %q:\n%s", w, all)
				}
			}
			if tt.secret != "" && strings.Contains(all+errOut, tt.secret) {
				t.Errorf("the refusal repeats the secret:\n%s", all)
			}
		})
	}
}

// TestConfigCheckListsEveryProblem checks a file with several problems:
// config check lists each, by key, and counts them; the command lists them
// on one line.
func TestConfigCheckListsEveryProblem(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "rankr.yaml", "log-levle: debug\ntoken: pit-x-in-file\nserve:\n  workers: many\n  addr: 127.0.0.1:9999\n")
	code, out, _ := run(t, "--config", path, "config", "check")
	if code != 1 || !strings.Contains(out, path+": 3 problem(s):\n") {
		t.Fatalf("config check: exit %d\n%s", code, out)
	}
	for _, w := range []string{"\n  log-levle: unknown key", "\n  token: a secret", "\n  serve.workers: want a whole number"} {
		if !strings.Contains(out, w) {
			t.Errorf("config check lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "addr") || strings.Contains(out, "pit-x-in-file") {
		t.Errorf("config check reports the good key, or repeats the token:\n%s", out)
	}
	_, _, errOut := run(t, "--config", path, "version")
	if !strings.Contains(errOut, "log-levle: unknown key") || !strings.Contains(errOut, "serve.workers") ||
		!strings.Contains(errOut, "rankr config check --config "+path) {
		t.Errorf("version with the file: %s", errOut)
	}
}

// TestConfigCheckShowsTheSettings checks config check on a good file: what
// it validated, then the command's settings with their sources; and its
// errors when there is no file or the command does not parse.
func TestConfigCheckShowsTheSettings(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "rankr.toml", `log-level = "warn"
[serve]
addr = "127.0.0.1:9999"
smtp-url = "smtp://127.0.0.1:2525"
`)
	out := mustRun(t, "--config", path, "config", "check")
	if !strings.HasPrefix(out, path+": valid TOML\n\nsettings of `rankr serve`:\n") {
		t.Fatalf("config check, by default of serve:\n%s", out)
	}
	for name, want := range map[string][2]string{
		"log-level": {"WARN", "config log-level"}, "addr": {"127.0.0.1:9999", "config serve.addr"},
		"smtp-url": {"smtp://127.0.0.1:2525", "config serve.smtp-url"}, "workers": {"8", "default"},
		"webhook-key": {`""`, "default"},
	} {
		if value, source := setting(t, out, name); value != want[0] || source != want[1] {
			t.Errorf("%s = %s (%s), want %s (%s)", name, value, source, want[0], want[1])
		}
	}
	// Only settings: flags about one run (--json) are not among them.
	if strings.Contains(out, "  json ") || strings.Contains(out, "  config ") {
		t.Errorf("config check lists flags that are not settings:\n%s", out)
	}
	// The settings of another command, with its own flags on the line.
	out = mustRun(t, "config", "check", "--config", path, "reconcile", "report", "--location", "loc-1")
	if !strings.Contains(out, "settings of `rankr reconcile report`:") {
		t.Fatalf("config check reconcile report:\n%s", out)
	}
	if value, source := setting(t, out, "location"); value != "loc-1" || source != "flag" {
		t.Errorf("location = %s (%s)", value, source)
	}
	if strings.Contains(out, "addr") {
		t.Errorf("reconcile report's settings show serve's addr:\n%s", out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "check"}, "no config file to check: give --config PATH or set RANKR_CONFIG"},
		{[]string{"--config", filepath.Join(t.TempDir(), "missing.toml"), "config", "check"}, "reading the config file"},
		{[]string{"--config", path, "config", "check", "serve", "--bogus"}, "rankr serve --bogus: unknown flag --bogus"},
		{[]string{"--config", path, "config", "check", "nosuchcommand"}, "rankr nosuchcommand: "},
	} {
		code, out, errOut := run(t, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("rankr %s: exit %d, %q%q; want exit 1 and %q", strings.Join(tt.args, " "), code, out, errOut, tt.want)
		}
	}
}

// TestConfigCommandTables checks that a table applies to its command alone
// (and a group's table to the group's commands), winning over the top of
// the file there.
func TestConfigCommandTables(t *testing.T) {
	t.Parallel()
	top, forStatus := connectedDir(t, "loc-top"), connectedDir(t, "loc-status")
	path := writeConfig(t, "rankr.toml", `data-dir = "`+filepath.ToSlash(top)+`"
location = "loc-top"
[status]
data-dir = "`+filepath.ToSlash(forStatus)+`"
[serve]
addr = "127.0.0.1:9999"
[reconcile]
location = "loc-group"
[reconcile.report]
location = "loc-report"
`)
	if out := mustRun(t, "--config", path, "status"); !strings.Contains(out, "loc-status") || strings.Contains(out, "loc-top") {
		t.Errorf("status with its own table:\n%s", out)
	}
	if out := mustRun(t, "--config", path, "audit", "list"); !strings.Contains(out, "loc-top") || strings.Contains(out, "loc-status") {
		t.Errorf("audit list, which has no table, reads the top's data directory:\n%s", out)
	}
	for _, tt := range []struct {
		cmd                 []string
		name, value, source string
	}{
		{[]string{"status"}, "data-dir", forStatus, "config status.data-dir"},
		{[]string{"sync"}, "data-dir", top, "config data-dir"},
		{[]string{"serve"}, "addr", "127.0.0.1:9999", "config serve.addr"},
		{[]string{"sandbox"}, "addr", "127.0.0.1:8090", "default"},
		{[]string{"demo"}, "addr", "127.0.0.1:8080", "default"},
		{[]string{"reconcile", "report"}, "location", "loc-report", "config reconcile.report.location"},
		{[]string{"reconcile", "run"}, "location", "loc-group", "config reconcile.location"},
		{[]string{"notices", "list"}, "location", "loc-top", "config location"},
	} {
		out := mustRun(t, append([]string{"--config", path, "config", "check"}, tt.cmd...)...)
		if value, source := setting(t, out, tt.name); value != tt.value || source != tt.source {
			t.Errorf("rankr %s: %s = %s (%s), want %s (%s)", strings.Join(tt.cmd, " "), tt.name, value, source, tt.value, tt.source)
		}
	}
}
