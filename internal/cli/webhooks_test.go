package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/testwait"
)

// lockedBuffer is a buffer a running command writes while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// secretsPrinted are what commands print once on purpose: kept out of a
// test's failure output.
var secretsPrinted = regexp.MustCompile(`(rnkr_(?:live|test)_|whsec_|pit-)[A-Za-z0-9_+/=-]+`)

// redacted is the end of a command's output, without its secrets.
func redacted(s string, n int) string {
	s = secretsPrinted.ReplaceAllString(s, "${1}[redacted]")
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// hookReceiver is an endpoint on 127.0.0.1 that answers 500 until told to
// take messages, and counts each message id it gets.
type hookReceiver struct {
	srv *httptest.Server
	up  atomic.Bool

	mu    sync.Mutex
	kinds map[string]string // message id -> type
	seen  map[string]int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{kinds: map[string]string{}, seen: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Type string `json:"type"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &m)
		h.mu.Lock()
		h.kinds[r.Header.Get("webhook-id")] = m.Type
		h.seen[r.Header.Get("webhook-id")]++
		h.mu.Unlock()
		if !h.up.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

type deliveryView struct {
	ID         string `json:"id"`
	EndpointID string `json:"endpointId"`
	Kind       string `json:"kind"`
	State      string `json:"state"`
	LastStatus int    `json:"lastStatus"`
}

func (s *setup) deliveries(t *testing.T, args ...string) []deliveryView {
	t.Helper()
	var out []deliveryView
	if err := json.Unmarshal([]byte(s.must(t, append([]string{"webhooks", "deliveries", "--json", "--limit", "1000"}, args...)...)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWebhooksAddListReplay adds an endpoint for fulfillment and order
// events, fulfills an order, and lets serve send what changed to a receiver
// that is down: the deliveries die (one attempt allowed), replay queues them
// again, and serve delivers them.
func TestWebhooksAddListReplay(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "")
	l := s.sb.Locations()[0]
	s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url)
	s.must(t, "sync", "--location", l.ID)
	rc := newHookReceiver(t)
	url := rc.srv.URL + "/rankr"

	if code, _, errOut := s.run(t, "webhooks", "add", url); code == 0 || !strings.Contains(errOut, "--webhook-allow 127.0.0.1/32") {
		t.Fatalf("a loopback endpoint was added without the allow-list: %d %s", code, errOut)
	}
	if code, _, errOut := s.run(t, "webhooks", "add", "http://169.254.169.254/latest/meta-data/", "--webhook-allow", "169.254.0.0/16"); code == 0 ||
		!strings.Contains(errOut, "cloud metadata") {
		t.Fatalf("a metadata endpoint was added: %d %s", code, errOut)
	}
	var added struct {
		Endpoint struct {
			ID     string   `json:"id"`
			Events []string `json:"events"`
		} `json:"endpoint"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(s.must(t, "webhooks", "add", url, "--webhook-allow", "127.0.0.1/32", "--json")), &added); err != nil {
		t.Fatal(err)
	}
	ep := added.Endpoint.ID
	if !strings.HasPrefix(ep, "ep_") || !strings.HasPrefix(added.Secret, "whsec_") || strings.Join(added.Endpoint.Events, ",") != "order.*,fulfillment.*" {
		t.Fatalf("added %+v", added)
	}
	out := s.must(t, "webhooks", "add", url+"/other", "--webhook-allow", "127.0.0.1/32", "--events", "subscription.*", "--location", l.ID)
	if !strings.Contains(out, "whsec_") || !strings.Contains(out, "shown this once") {
		t.Fatalf("add said: %s", out)
	}
	list := s.must(t, "webhooks", "list", "--json")
	if !strings.Contains(list, ep) || strings.Contains(list, added.Secret) || strings.Contains(list, "secret") {
		t.Fatalf("list --json: %s", list)
	}
	if out := s.must(t, "webhooks", "list"); !strings.Contains(out, ep) || !strings.Contains(out, "enabled") || strings.Contains(out, "whsec_") {
		t.Fatalf("list: %s", out)
	}

	// Changes after the endpoint was added: a fulfillment pushed to GHL,
	// then synced back.
	tr, _ := s.sb.Truth(l.ID)
	var order string
	for _, o := range tr.Locations[0].Orders {
		if o.PaymentStatus == "paid" && o.Item.FulfillmentStatus == "unfulfilled" && len(o.Detail.Items) > 0 && o.Detail.Items[0].Product.ProductType == "PHYSICAL" {
			order = o.Item.ID
			break
		}
	}
	s.must(t, "fulfill", order, "--tracking", "1ZHOOK001", "--carrier", "UPS")
	s.must(t, "sync", "--location", l.ID)

	ctx, cancel := context.WithCancel(context.Background())
	var serveOut bytes.Buffer
	var serveErr lockedBuffer
	served := make(chan int)
	go func() {
		served <- Main(ctx, s.args("serve", "--addr", "127.0.0.1:0", "--webhook-allow", "127.0.0.1/32",
			"--webhook-max-attempts", "1"), &serveOut, &serveErr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-served; code != 0 {
			t.Errorf("serve: exit %d\n%s", code, serveErr.String())
		}
	})

	// The fan-out queues every delivery of the events at hand at once, so
	// once some exist, all are there.
	var dead []deliveryView
	testwait.Until(t, time.Minute, "deliveries dead", func() bool {
		all := s.deliveries(t, "--endpoint", ep)
		dead = s.deliveries(t, "--state", "dead", "--endpoint", ep)
		return len(all) > 0 && len(dead) == len(all)
	})
	kinds := map[string]bool{}
	for _, d := range dead {
		kinds[d.Kind] = true
		if d.LastStatus != 500 || d.EndpointID != ep {
			t.Fatalf("dead delivery %+v", d)
		}
	}
	for _, k := range []string{"fulfillment.push_requested", "fulfillment.pushed", "fulfillment.created", "order.fulfillment_status_changed"} {
		if !kinds[k] {
			t.Fatalf("no %s delivery among %v", k, kinds)
		}
	}
	if out := s.must(t, "webhooks", "deliveries", "--state", "dead"); !strings.Contains(out, "answered 500") || !strings.Contains(out, "fulfillment.pushed") {
		t.Fatalf("deliveries: %s", out)
	}

	if code, _, errOut := s.run(t, "webhooks", "replay"); code == 0 || !strings.Contains(errOut, "say what to replay") {
		t.Fatalf("replay of nothing in particular: %d %s", code, errOut)
	}
	rc.up.Store(true)
	if out := s.must(t, "webhooks", "replay", "--dead", "--endpoint", ep, "--since", "1h"); !strings.Contains(out, "replaying "+strconv.Itoa(len(dead))+" deliveries") {
		t.Fatalf("replay said: %s", out)
	}
	testwait.UntilWhy(t, time.Minute, "replayed deliveries delivered", func() (bool, string) {
		all := s.deliveries(t, "--endpoint", ep)
		states := map[string]int{}
		for _, d := range all {
			states[fmt.Sprintf("%s %d", d.State, d.LastStatus)]++
		}
		if states[fmt.Sprintf("%s 200", rankr.DeliveryDelivered)] == len(dead) {
			return true, ""
		}
		return false, fmt.Sprintf("deliveries by state and last answer: %v; serve's log: %s", states, redacted(serveErr.String(), 3000))
	})
	rc.mu.Lock()
	for _, d := range dead {
		if rc.seen[d.ID] != 2 {
			t.Errorf("message %s (%s) received %d times, want 2 (the failure and the replay)", d.ID, d.Kind, rc.seen[d.ID])
		}
	}
	rc.mu.Unlock()
	if out := s.must(t, "webhooks", "replay", "--delivery", dead[0].ID); !strings.Contains(out, "replaying 1 deliveries") {
		t.Fatalf("replay one: %s", out)
	}
	if out := s.must(t, "webhooks", "replay", "--delivery", "msg_nope"); !strings.Contains(out, "nothing to replay") {
		t.Fatalf("replay of an unknown delivery: %s", out)
	}

	s.must(t, "webhooks", "disable", ep)
	if out := s.must(t, "webhooks", "list"); !strings.Contains(out, "disabled") {
		t.Fatalf("list after disable: %s", out)
	}
	s.must(t, "webhooks", "enable", ep)
	if out := s.must(t, "webhooks", "remove", ep); !strings.Contains(out, "removed") {
		t.Fatalf("remove said: %s", out)
	}
	if out := s.must(t, "webhooks", "list"); strings.Contains(out, ep) {
		t.Fatalf("a removed endpoint is listed: %s", out)
	}
	if out := s.must(t, "webhooks", "list", "--all"); !strings.Contains(out, "removed") {
		t.Fatalf("list --all: %s", out)
	}
	if code, _, errOut := s.run(t, "webhooks", "enable", ep); code == 0 || !strings.Contains(errOut, "was removed") {
		t.Fatalf("enable a removed endpoint: %d %s", code, errOut)
	}
}
