package outbound_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/vault"
)

func TestGuardAddresses(t *testing.T) {
	t.Parallel()
	none := outbound.NewGuard(nil)
	loopback := outbound.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	everything, err := outbound.ParseAllow([]string{"0.0.0.0/0", "::/0", "169.254.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	all := outbound.NewGuard(everything)
	for _, c := range []struct {
		addr string
		// allowed by a guard with no allow-list, with 127.0.0.1/32, with
		// everything allowed
		none, loopback, all bool
		says                string
	}{
		{"169.254.169.254", false, false, false, "cloud metadata"},
		{"fd00:ec2::254", false, false, false, "cloud metadata"},
		{"100.100.100.200", false, false, false, "cloud metadata"},
		{"192.0.0.192", false, false, false, "cloud metadata"},
		{"::ffff:169.254.169.254", false, false, false, "cloud metadata"},
		{"64:ff9b::a9fe:a9fe", false, false, false, "cloud metadata"},
		{"2002:a9fe:a9fe::1", false, false, false, "cloud metadata"},
		{"169.254.1.1", false, false, false, "link-local"},
		{"fe80::1", false, false, false, "link-local"},
		{"fe80::1%eth0", false, false, false, "link-local"},
		{"0.0.0.0", false, false, false, "unspecified"},
		{"::", false, false, false, "unspecified"},
		{"224.0.0.1", false, false, false, "multicast"},
		{"ff02::1", false, false, false, "multicast"},
		{"255.255.255.255", false, false, false, "broadcast"},
		{"127.0.0.1", false, true, true, "loopback"},
		{"::ffff:127.0.0.1", false, true, true, "loopback"},
		{"127.0.0.2", false, false, true, "loopback"},
		{"::1", false, false, true, "loopback"},
		{"10.1.2.3", false, false, true, "private"},
		{"172.16.0.1", false, false, true, "private"},
		{"192.168.1.1", false, false, true, "private"},
		{"fd12::1", false, false, true, "private"},
		{"100.64.0.1", false, false, true, "carrier-grade NAT"},
		{"64:ff9b::a00:1", false, false, true, "private"},
		{"8.8.8.8", true, true, true, ""},
		{"2606:4700:4700::1111", true, true, true, ""},
		{"64:ff9b::808:808", false, false, true, "NAT64"},
	} {
		a := netip.MustParseAddr(c.addr)
		for _, g := range []struct {
			name  string
			g     *outbound.Guard
			allow bool
		}{{"no allow-list", none, c.none}, {"127.0.0.1 allowed", loopback, c.loopback}, {"everything allowed", all, c.all}} {
			err := g.g.CheckAddr(a)
			if (err == nil) != g.allow {
				t.Errorf("%s with %s: %v, want allowed=%v", c.addr, g.name, err, g.allow)
			}
			if err != nil && (!errors.Is(err, outbound.ErrDenied) || !strings.Contains(err.Error(), c.says)) {
				t.Errorf("%s with %s: %v, want it to say %q", c.addr, g.name, err, c.says)
			}
		}
	}
	if _, err := outbound.ParseAllow([]string{"127.0.0.1", " 10.0.0.0/8 ", ""}); err != nil {
		t.Fatal(err)
	}
	if _, err := outbound.ParseAllow([]string{"localhost"}); err == nil {
		t.Fatal("a name was accepted as a range")
	}
}

// listener is a TCP listener on 127.0.0.1 that counts the connections it
// gets and answers each with an HTTP 204.
type listener struct {
	ln    net.Listener
	conns atomic.Int32
}

func newListener(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{ln: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				l.conns.Add(1)
			}
		}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return l
}

func (l *listener) port() int { return l.ln.Addr().(*net.TCPAddr).Port }

// TestDialerRefusesBeforeConnecting sends requests through the webhooks'
// HTTP client: denied addresses fail with ErrDenied before any connection
// (a listener on 127.0.0.1 counts none), names included (localhost is
// judged by what it resolves to), and the same client connects once the
// address is allowed.
func TestDialerRefusesBeforeConnecting(t *testing.T) {
	t.Parallel()
	l := newListener(t)
	denied := outbound.NewGuard(nil).Client()
	for _, u := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/", l.port()),
		fmt.Sprintf("http://localhost:%d/", l.port()),
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", l.port()),
		"http://169.254.169.254/latest/meta-data/",
		"http://[fe80::1]/",
		"http://[fd00:ec2::254]/",
		"http://metadata.google.internal/computeMetadata/v1/",
	} {
		resp, err := denied.Post(u, "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: sent", u)
		}
		if !errors.Is(err, outbound.ErrDenied) {
			t.Fatalf("%s: %v, want ErrDenied", u, err)
		}
	}
	if n := l.conns.Load(); n != 0 {
		t.Fatalf("the listener got %d connections from denied requests", n)
	}
	allowed := outbound.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).Client()
	resp, err := allowed.Post(fmt.Sprintf("http://localhost:%d/", l.port()), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatalf("allowed request: %v", err)
	}
	resp.Body.Close()
	if n := l.conns.Load(); n != 1 {
		t.Fatalf("the listener got %d connections, want 1", n)
	}
}

// TestAddRefusesUnsafeURLs checks endpoint URLs when they are added, with
// an error that says why.
func TestAddRefusesUnsafeURLs(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	t.Cleanup(func() { st.Close() })
	key, _ := vault.ParseKey(vault.NewKey())
	v, _ := vault.New(key)
	w := outbound.New(st, v, outbound.Config{})
	l := newListener(t)
	for _, c := range []struct {
		url    string
		denied bool
		says   string
	}{
		{"http://169.254.169.254/latest/meta-data/iam/security-credentials/", true, "cloud metadata"},
		{"http://[fe80::1]/hook", true, "link-local"},
		{"http://[fd00:ec2::254]/", true, "cloud metadata"},
		{"http://metadata.google.internal/computeMetadata/v1/", true, "metadata"},
		{"http://METADATA.google.internal./x", true, "metadata"},
		{fmt.Sprintf("http://127.0.0.1:%d/hook", l.port()), true, "--webhook-allow 127.0.0.1/32"},
		{fmt.Sprintf("http://localhost:%d/hook", l.port()), true, "loopback"},
		{"http://10.0.0.5/hook", true, "private"},
		{"http://0.0.0.0/", true, "unspecified"},
		{"ftp://example.com/hook", false, "only http and https"},
		{"file:///etc/passwd", false, "only http and https"},
		{"gopher://127.0.0.1/", false, "only http and https"},
		{"http://user:pass@example.com/", false, "no credentials"},
		{"http:///nohost", false, "no host"},
		{"https://example.com/#frag", false, "fragment"},
		{"::not a url", false, "webhook url"},
		{"http://1.0.0.1:70000/hook", false, "port 70000 is not between 1 and 65535"},
		{"https://example.com:0/hook", false, "port 0 is not"},
	} {
		_, _, err := w.Add(ctx, outbound.AddParams{URL: c.url})
		if !errors.Is(err, rankr.ErrInvalid) || errors.Is(err, outbound.ErrDenied) != c.denied || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want invalid (denied=%v) saying %q", c.url, err, c.denied, c.says)
		}
	}
	for _, events := range [][]string{{"webhook.*"}, {"order.["}, {"order created"}} {
		if _, _, err := outbound.New(st, v, outbound.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}).Add(ctx,
			outbound.AddParams{URL: fmt.Sprintf("http://127.0.0.1:%d/hook", l.port()), Events: events}); !errors.Is(err, rankr.ErrInvalid) {
			t.Errorf("events %v: %v, want invalid", events, err)
		}
	}
	if list, _ := st.WebhookEndpointList(ctx, store.WebhookEndpointListParams{Removed: true}); len(list) != 0 {
		t.Fatalf("refused endpoints were saved: %+v", list)
	}
	if n := l.conns.Load(); n != 0 {
		t.Fatalf("checking URLs connected %d times", n)
	}
}

// TestDispatchChecksEveryConnection adds an endpoint while loopback is
// allowed, then dispatches with a guard that does not allow it (the
// allow-list changed, or DNS now points elsewhere): nothing reaches the
// receiver and the delivery says why.
func TestDispatchChecksEveryConnection(t *testing.T) {
	t.Parallel()
	r := newRig(t, storetest.OpenSQLite, 2)
	rc := newReceiver(t, nil)
	e := rc.add(t, r.webhooks(t, outbound.Config{}), outbound.AddParams{Events: []string{rankr.OrderCreated}})
	r.backfill(t)
	strict := r.webhooks(t, outbound.Config{Allow: []netip.Prefix{}, MaxAttempts: 1})
	round, err := strict.RunOnce(ctx)
	if err != nil || round.Dead == 0 || round.Delivered != 0 {
		t.Fatalf("round %+v, %v", round, err)
	}
	if got := rc.requests(); len(got) != 0 {
		t.Fatalf("the receiver got %d requests", len(got))
	}
	for _, d := range deliveries(t, r.st, store.WebhookDeliveryListParams{EndpointID: e.ID}) {
		if d.State != rankr.DeliveryDead || !strings.Contains(d.LastError, "not sent") || !strings.Contains(d.LastError, "loopback") ||
			strings.Contains(d.LastError, "token=") {
			t.Fatalf("delivery %+v", d)
		}
	}
}

// TestRedirectsAreNotFollowed has a receiver redirect to another one: the
// attempt fails saying so, and the target gets nothing.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	r := newRig(t, storetest.OpenSQLite, 2)
	target := newReceiver(t, nil)
	mover := newReceiver(t, func(w http.ResponseWriter, req *http.Request, _ int) {
		http.Redirect(w, req, target.srv.URL+"/moved", http.StatusTemporaryRedirect)
	})
	w := r.webhooks(t, outbound.Config{MaxAttempts: 1})
	e := mover.add(t, w, outbound.AddParams{Events: []string{rankr.OrderCreated}})
	r.backfill(t)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ds := deliveries(t, r.st, store.WebhookDeliveryListParams{EndpointID: e.ID})
	if len(ds) == 0 {
		t.Fatal("no deliveries")
	}
	for _, d := range ds {
		if d.State != rankr.DeliveryDead || d.LastStatus != http.StatusTemporaryRedirect || !strings.Contains(d.LastError, "not followed") {
			t.Fatalf("delivery %+v", d)
		}
	}
	if n := len(target.requests()); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
}
