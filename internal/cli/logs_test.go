package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/testwait"
)

// TestDemoLogsAreJSONWithoutSecrets runs `rankr demo --log-format json`,
// drives it (webhooks from the sandbox's live changes, polling syncs,
// requests to its page and API with a good key and a bad one, a forged
// webhook), and checks every line it wrote to stderr: a JSON object with a
// time, a level and a message, holding no token, key or secret that the
// sandbox or the demo handed out, and none of the customers' names, emails,
// phones or addresses that the sandbox seeded.
func TestDemoLogsAreJSONWithoutSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug",
			"--locations", "2", "--orders", "40", "--activity", "0", "--seed", "7", "--data-dir", dir}, &stdout, &stderr)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if code := <-done; code != 0 && code != 130 {
			t.Errorf("demo: exit %d\n%s", code, redacted(stderr.String(), 3000))
		}
	}
	t.Cleanup(stop)

	testwait.UntilWhy(t, 2*time.Minute, "the demo's backfill", func() (bool, string) {
		return strings.Contains(stdout.String(), "Backfilled"), redacted(stdout.String()+stderr.String(), 2000)
	})
	out := stdout.String()
	page := regexp.MustCompile(`dashboard +http://([0-9.:]+)/#key=(\S+)`).FindStringSubmatch(out)
	sbURL := regexp.MustCompile(`GHL sandbox +(http://[0-9.:]+)`).FindStringSubmatch(out)
	if page == nil || sbURL == nil {
		t.Fatalf("the demo's banner lacks the page or the sandbox:\n%s", redacted(out, 2000))
	}
	addr, demoKey, sb := page[1], page[2], sbURL[1]

	var info sandbox.Info
	getJSON(t, sb+sandbox.AdminPrefix+"/info", &info)

	// Live changes: new orders reach the demo as signed webhooks.
	var created, mixed struct {
		Changes []sandbox.Change `json:"changes"`
	}
	postJSON(t, sb+sandbox.AdminPrefix+"/activity", `{"count": 12, "kind": "order.created"}`, &created)
	postJSON(t, sb+sandbox.AdminPrefix+"/activity", `{"count": 12}`, &mixed)
	testwait.UntilWhy(t, time.Minute, "the sandbox's webhooks delivered", func() (bool, string) {
		var ds struct {
			Deliveries []sandbox.Delivery `json:"deliveries"`
		}
		getJSON(t, sb+sandbox.AdminPrefix+"/webhooks", &ds)
		states := map[sandbox.DeliveryState]int{}
		for _, d := range ds.Deliveries {
			states[d.State]++
		}
		return len(ds.Deliveries) > 0 && states[sandbox.StateDelivered] == len(ds.Deliveries), fmt.Sprint(states)
	})

	// The page and the API, with the demo's key and with a made-up one.
	for _, req := range []struct{ path, key string }{
		{"/", demoKey}, {"/api/v1/orders?limit=5", demoKey}, {"/api/v1/connections", demoKey},
		{"/api/v1/orders?limit=5", "rnkr_test_nosuchkey_0123456789abcdefghijklmnopqrstuv"}, {"/healthz", ""},
	} {
		r, _ := http.NewRequest(http.MethodGet, "http://"+addr+req.path, nil)
		if req.key != "" {
			r.Header.Set("Authorization", "Bearer "+req.key)
		}
		resp, err := testClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// A webhook nobody signed: refused, and logged with its request's id.
	resp, err := testClient.Post("http://"+addr+"/webhooks/ghl", "application/json",
		strings.NewReader(`{"type":"OrderCreate","locationId":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	forgedID := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusUnauthorized || forgedID == "" {
		t.Fatalf("a forged webhook: %d, request id %q", resp.StatusCode, forgedID)
	}

	// The new orders are in the demo's database: the webhooks were applied,
	// and whatever applying them logs is in the log.
	if len(created.Changes) == 0 {
		t.Fatal("the sandbox made no orders")
	}
	newest := created.Changes[len(created.Changes)-1].RecordID
	testwait.Until(t, time.Minute, "the webhook's order in the demo's database", func() bool {
		code, _, _ := run(t, "orders", "show", newest, "--data-dir", dir, "--log-level", "error")
		return code == 0
	})
	testwait.Until(t, time.Minute, "the forged webhook's log line", func() bool {
		return strings.Contains(stderr.String(), forgedID)
	})
	// Read while the sandbox still runs: it stops with the demo.
	personal := seededPersonalData(t, sb)
	stop()

	masterKey, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{demoKey, strings.TrimSpace(string(masterKey))}
	for _, l := range info.Locations {
		secrets = append(secrets, l.Token)
	}
	secrets = append(secrets, info.OAuth.ClientSecrets...)
	lines := checkJSONLog(t, stderr.String(), secrets, personal)

	var refusal map[string]any
	for _, l := range lines {
		if l["msg"] == "webhook refused: bad signature" {
			refusal = l
		}
	}
	if refusal == nil || refusal["request"] != forgedID {
		t.Errorf("the forged webhook's refusal, logged with request %s: %v", forgedID, refusal)
	}
	if !strings.Contains(stderr.String(), `"msg":"created a new master key in `) {
		t.Errorf("the demo's new master key is not in its JSON log:\n%s", redacted(stderr.String(), 2000))
	}
}

// TestSyncLogsAreJSON runs connect and sync with --log-format json: the
// connection sync skips and the error sync stops with are JSON lines too,
// with the location, and without the token.
func TestSyncLogsAreJSON(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "")
	good, bad := s.sb.Locations()[0], s.sb.Locations()[1]
	jsonLogs := []string{"--log-format", "json", "--log-level", "debug"}
	s.must(t, append([]string{"connect", "--location", good.ID, "--token", good.Token, "--base-url", s.url}, jsonLogs...)...)
	// A token GHL refuses, taken unverified: sync stops that connection,
	// and the next sync skips it.
	s.must(t, append([]string{"connect", "--location", bad.ID, "--token", "pit-refused-token", "--base-url", s.url, "--no-verify"}, jsonLogs...)...)
	var all strings.Builder
	for range 2 {
		_, _, errOut := s.run(t, append([]string{"sync"}, jsonLogs...)...)
		all.WriteString(errOut)
	}
	code, _, errOut := s.run(t, append([]string{"sync", "--location", bad.ID}, jsonLogs...)...)
	if code == 0 {
		t.Fatal("a sync of only a stopped connection succeeded")
	}
	all.WriteString(errOut)
	lines := checkJSONLog(t, all.String(), []string{good.Token, bad.Token, "pit-refused-token"}, seededPersonalData(t, s.url))
	var skipped, stoppedWith bool
	for _, l := range lines {
		skipped = skipped || l["msg"] == "skipping a connection that is not active" && l["location"] == bad.ID
		stoppedWith = stoppedWith || l["msg"] == "rankr stopped" && l["level"] == "ERROR" && strings.Contains(fmt.Sprint(l["error"]), "no active connection")
	}
	if !skipped || !stoppedWith {
		t.Errorf("skipped %s logged: %v; the error logged: %v\n%s", bad.ID, skipped, stoppedWith, redacted(all.String(), 3000))
	}
}

// checkJSONLog checks that every line of log is a JSON object with time,
// level and msg, and holds none of secrets and personal. It returns the
// lines, decoded.
func checkJSONLog(t *testing.T, log string, secrets, personal []string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for i, line := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
		if line == "" {
			continue
		}
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Errorf("stderr line %d is not JSON (%v): %s", i+1, err, redacted(line, 500))
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if s, _ := l[k].(string); s == "" {
				t.Errorf("stderr line %d has no %s: %s", i+1, k, redacted(line, 500))
			}
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("stderr line %d holds a secret: %s", i+1, redacted(strings.ReplaceAll(line, s, "[THE SECRET]"), 500))
			}
		}
		if secretsPrinted.MatchString(line) {
			t.Errorf("stderr line %d holds something shaped like a key or token: %s", i+1, redacted(line, 500))
		}
		for _, p := range personal {
			if strings.Contains(line, p) {
				t.Errorf("stderr line %d holds a customer's %q: %s", i+1, p, redacted(line, 500))
			}
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		t.Error("nothing was logged")
	}
	return lines
}

// personalKeys are the fields of the sandbox's records that hold a
// customer's personal data. A snapshot's or an invoice contact's name is
// one too (see seededPersonalData).
var personalKeys = map[string]bool{"contactname": true, "contactemail": true, "email": true, "phone": true,
	"phoneno": true, "ipaddress": true, "postalcode": true}

// seededPersonalData is every customer name, email, phone, IP address and
// postal code the sandbox at url holds.
func seededPersonalData(t *testing.T, url string) []string {
	t.Helper()
	var truth any
	getJSON(t, url+sandbox.AdminPrefix+"/truth", &truth)
	seen := map[string]bool{}
	var walk func(v any, parent string)
	walk = func(v any, parent string) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				lk := strings.ToLower(k)
				s, isString := vv.(string)
				contact := strings.HasPrefix(parent, "contact")
				// Short values (a country code) would be found in any line.
				if isString && len(s) >= 5 && (personalKeys[lk] || contact && (lk == "name" || lk == "lastname" || lk == "firstname" && len(s) >= 6)) {
					seen[s] = true
				}
				walk(vv, lk)
			}
		case []any:
			for _, vv := range x {
				walk(vv, parent)
			}
		}
	}
	walk(truth, "")
	if len(seen) == 0 {
		t.Fatal("the sandbox's truth holds no personal data to look for: has it changed shape?")
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	return out
}

// testClient keeps no connections open: the package's leak check would
// find their goroutines.
var testClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := testClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func postJSON(t *testing.T, url, body string, v any) {
	t.Helper()
	resp, err := testClient.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s %s", url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
}
