package access

import (
	"errors"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestKeyFormat(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	scanner := regexp.MustCompile(KeyPattern)
	for _, test := range []bool{false, true} {
		for range 200 {
			tok, id := newToken(test)
			if seen[tok] || seen[id] {
				t.Fatalf("a key or id repeated: %s", id)
			}
			seen[tok], seen[id] = true, true
			gotID, gotTest, err := ParseKey(tok)
			if err != nil || gotID != id || gotTest != test {
				t.Fatalf("ParseKey(%s…) = %s %v %v", tok[:16], gotID, gotTest, err)
			}
			if !scanner.MatchString("export RANKR_KEY=" + tok + "\n") {
				t.Fatal("KeyPattern misses a key")
			}
			prefix := "rnkr_live_"
			if test {
				prefix = "rnkr_test_"
			}
			if !strings.HasPrefix(tok, prefix) || len(tok) != len(prefix)+idLen+1+secretLen+checkLen {
				t.Fatalf("shape of %s…", tok[:16])
			}
		}
	}
}

// Any one character changed, dropped or added is caught by the shape or
// the checksum, before any lookup.
func TestKeyChecksumCatchesTypos(t *testing.T) {
	t.Parallel()
	tok, _ := newToken(false)
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
	for i := range tok {
		for _, c := range alphabet {
			if byte(c) == tok[i] {
				continue
			}
			typo := tok[:i] + string(c) + tok[i+1:]
			if _, _, err := ParseKey(typo); !errors.Is(err, ErrMalformedKey) {
				t.Fatalf("a typo at %d (%c) passed", i, c)
			}
		}
	}
	for _, bad := range []string{"", tok[:len(tok)-1], tok + "A", "rk_live_" + tok[10:], " " + tok, strings.ToUpper(tok)} {
		if _, _, err := ParseKey(bad); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("ParseKey(%q) passed", bad)
		}
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	can := func(role string) []string {
		r, err := RoleRights(role)
		if err != nil {
			t.Fatal(err)
		}
		return r.List()
	}
	if got := can("owner"); !slices.Equal(got, Scopes) {
		t.Errorf("owner: %v", got)
	}
	if got := can("admin"); slices.Contains(got, "security:admin") || len(got) != len(Scopes)-1 {
		t.Errorf("admin: %v", got)
	}
	if got := can("auditor"); !slices.Equal(got, []string{"keys:read", "audit:read"}) {
		t.Errorf("auditor: %v", got)
	}
	for _, s := range can("viewer") {
		if !strings.HasSuffix(s, ":read") || s == "audit:read" || s == "keys:read" {
			t.Errorf("viewer holds %s", s)
		}
	}
	op := can("operator")
	for _, s := range []string{"orders:write", "reconcile:write", "webhooks:write", "orders:read"} {
		if !slices.Contains(op, s) {
			t.Errorf("operator lacks %s", s)
		}
	}
	for _, s := range []string{"keys:write", "connections:write", "security:admin", "audit:read"} {
		if slices.Contains(op, s) {
			t.Errorf("operator holds %s", s)
		}
	}
	if _, err := RoleRights("root"); err == nil {
		t.Error("an unknown role")
	}
}

func TestScopesWriteImpliesRead(t *testing.T) {
	t.Parallel()
	r, err := ParseScopes([]string{"orders:write", "audit:read"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.List(); !slices.Equal(got, []string{"orders:read", "orders:write", "audit:read"}) {
		t.Errorf("%v", got)
	}
	for _, bad := range []string{"orders:*", "*", "orders", "orders:admin", "all:read"} {
		if _, err := ParseScopes([]string{bad}); err == nil {
			t.Errorf("scope %q accepted", bad)
		}
	}
}

func TestAllowList(t *testing.T) {
	t.Parallel()
	list, text, err := ParseAllowList([]string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "::ffff:192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(text, " "); got != "203.0.113.0/24 2001:db8::/32 198.51.100.7/32 192.0.2.9/32" {
		t.Errorf("canonical %s", got)
	}
	for addr, want := range map[string]bool{
		"203.0.113.77": true, "::ffff:203.0.113.77": true, "2001:db8:1::5": true, "198.51.100.7": true,
		"192.0.2.9": true, "198.51.100.8": false, "2001:db9::1": false, "10.0.0.1": false,
	} {
		if got := allowed(netip.MustParseAddr(addr), list); got != want {
			t.Errorf("%s allowed %v, want %v", addr, got, want)
		}
	}
	// A key's list narrows the installation's.
	key, _, _ := ParseAllowList([]string{"203.0.113.64/26"})
	if allowed(netip.MustParseAddr("203.0.113.1"), list, key) || !allowed(netip.MustParseAddr("203.0.113.70"), list, key) {
		t.Error("the key's list does not narrow the installation's")
	}
	if !allowed(netip.MustParseAddr("10.0.0.1"), nil, nil) {
		t.Error("empty lists allow every address")
	}
	var many []string
	for i := range 51 {
		many = append(many, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}).String())
	}
	if _, _, err := ParseAllowList(many); err == nil {
		t.Error("51 entries accepted")
	}
	if _, _, err := ParseAllowList(many[:50]); err != nil {
		t.Error(err)
	}
	if _, _, err := ParseAllowList([]string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad CIDR accepted")
	}
}

// X-Forwarded-For is read only from trusted proxies, from the right.
func TestClientIP(t *testing.T) {
	t.Parallel()
	direct, _ := NewClientIP(nil)
	proxied, err := NewClientIP([]string{"10.0.0.0/8", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		ips        *ClientIP
		peer, xff  string
		client, at string
	}{
		{"no proxies: the header is ignored", direct, "198.51.100.1:5000", "203.0.113.5", "198.51.100.1", "198.51.100.1"},
		{"spoofed header from an untrusted peer", proxied, "198.51.100.1:5000", "203.0.113.5", "198.51.100.1", "198.51.100.1"},
		{"through a trusted proxy", proxied, "10.1.2.3:443", "203.0.113.5", "203.0.113.5", "10.1.2.3"},
		{"attacker prepends an allowed address", proxied, "10.1.2.3:443", "203.0.113.5, 198.51.100.66", "198.51.100.66", "10.1.2.3"},
		{"two trusted hops", proxied, "10.1.2.3:443", "198.51.100.66, 10.9.9.9", "198.51.100.66", "10.1.2.3"},
		{"IPv6 peer and client", proxied, "[fd00::1]:443", "2001:db8::7", "2001:db8::7", "fd00::1"},
		{"v4-mapped peer", direct, "[::ffff:192.0.2.4]:80", "", "192.0.2.4", "192.0.2.4"},
		{"only trusted hops", proxied, "10.1.2.3:443", "10.4.4.4", "10.1.2.3", "10.1.2.3"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		client, peer := c.ips.Resolve(r)
		if client.String() != c.client || peer.String() != c.at {
			t.Errorf("%s: client %s peer %s, want %s %s", c.name, client, peer, c.client, c.at)
		}
	}
}
