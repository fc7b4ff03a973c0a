package outbound

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/rankr/rankr/internal/rankr"
)

// FuzzParseURL checks endpoint URLs as `rankr webhooks add` takes them:
// nothing panics; a URL accepted is http or https with a host, no
// credentials and no fragment, and net/http can send to it; for an address
// written in the URL, the check on saving and the check on dialling agree.
// (Host names are not looked up: the fuzz stays off the network.)
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"https://hooks.example.com/rankr", "http://127.0.0.1:8080/x", "http://[::1]/", "http://[fe80::1%25eth0]/",
		"http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/", "http://[64:ff9b::a9fe:a9fe]/",
		"http://[2002:a9fe:a9fe::]/", "http://metadata.google.internal./", "http://METADATA/", "https://user:pw@example.com/",
		"https://example.com/#frag", "ftp://example.com/", "https:///path", "http://10.0.0.1:99999/", "http://1.0.0.0:70000", "http://1.0.0.1:0/", "http://0x7f.1/",
		"http://[::]/", "javascript:alert(1)", "//example.com", "http://exa mple.com/", "http://%31%32%37.0.0.1/", ""} {
		f.Add(s)
	}
	g := NewGuard(nil)
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseURL(raw)
		if err != nil {
			if !errors.Is(err, rankr.ErrInvalid) {
				t.Fatalf("ParseURL(%q): %v does not match rankr.ErrInvalid", raw, err)
			}
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || u.Fragment != "" {
			t.Fatalf("ParseURL(%q) accepted %#v", raw, u)
		}
		if _, err := http.NewRequest(http.MethodPost, raw, nil); err != nil {
			t.Fatalf("ParseURL(%q) accepted a URL net/http cannot send to: %v", raw, err)
		}
		host := u.Hostname()
		a, aerr := netip.ParseAddr(host)
		if aerr != nil && checkName(host) == nil {
			return // a name: CheckURL would look it up
		}
		saved := g.CheckURL(context.Background(), raw)
		if saved != nil && !errors.Is(saved, rankr.ErrInvalid) {
			t.Fatalf("CheckURL(%q): %v does not match rankr.ErrInvalid", raw, saved)
		}
		if aerr != nil {
			if saved == nil {
				t.Fatalf("CheckURL(%q) accepted a metadata service's name", raw)
			}
			return
		}
		port := u.Port()
		if port == "" {
			port = "443"
		}
		dialled := g.control("tcp", net.JoinHostPort(a.String(), port), nil)
		if (saved == nil) != (dialled == nil) {
			t.Fatalf("%q: saving says %v, dialling %s says %v", raw, saved, net.JoinHostPort(a.String(), port), dialled)
		}
	})
}

// neverAllowed are the ranges no allow-list opens, written out again here
// rather than taken from the guard, so that the test holds the guard to them.
var neverAllowed = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("100.100.100.200/32"), netip.MustParsePrefix("192.0.0.192/32"),
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("224.0.0.0/4"), netip.MustParsePrefix("255.255.255.255/32"),
	netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("ff00::/8"), netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
}

// carried returns the address and the IPv4 addresses it stands for: mapped
// (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
func carried(a netip.Addr) []netip.Addr {
	a = a.WithZone("")
	out := []netip.Addr{a, a.Unmap()}
	if a.Is6() && !a.Is4In6() {
		b := a.As16()
		if netip.MustParsePrefix("64:ff9b::/96").Contains(a) {
			out = append(out, netip.AddrFrom4([4]byte(b[12:])))
		}
		if netip.MustParsePrefix("2002::/16").Contains(a) {
			out = append(out, netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return out
}

// FuzzCheckAddr checks the guard's verdict on one address, with a fuzzed
// allow-list: the never-allowed ranges stay closed whatever is allowed and
// however the address is written; the default list closes loopback and
// private ranges; allowing more never closes anything; the dial-time check
// says the same.
func FuzzCheckAddr(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "127.0.0.1", "10.1.2.3", "169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
		"2002:a9fe:a9fe::1", "fe80::1%eth0", "::1", "::", "0.0.0.0", "fd00:ec2::254", "100.64.0.1", "2001:db8::1", "ff02::1",
		"::ffff:127.0.0.1", "64:ff9b::7f00:1", "255.255.255.255", "2606:4700::1111"} {
		f.Add(s, "127.0.0.0/8,10.0.0.0/8")
		f.Add(s, "0.0.0.0/0,::/0")
	}
	f.Add("\xa9\xfe\xa9\xfe", "169.254.0.0/16")
	f.Add(strings.Repeat("\x00", 10)+"\xff\xff\xa9\xfe\xa9\xfe", "::/0")
	all := NewGuard([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")})
	none := NewGuard(nil)
	f.Fuzz(func(t *testing.T, addr, allow string) {
		a, err := netip.ParseAddr(addr)
		if err != nil {
			var ok bool
			if a, ok = netip.AddrFromSlice([]byte(addr)); !ok {
				return
			}
		}
		prefixes, err := ParseAllow(strings.Split(allow, ","))
		if err != nil {
			prefixes = nil
		}
		for _, p := range prefixes {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("ParseAllow(%q) gave %v", allow, p)
			}
		}
		g := NewGuard(prefixes)
		byNone, byG, byAll := none.CheckAddr(a), g.CheckAddr(a), all.CheckAddr(a)
		for _, err := range []error{byNone, byG, byAll} {
			if err != nil && !errors.Is(err, ErrDenied) {
				t.Fatalf("%v: %v does not match ErrDenied", a, err)
			}
		}
		for _, c := range carried(a) {
			for _, p := range neverAllowed {
				if p.Contains(c) && (byG == nil || byAll == nil) {
					t.Fatalf("%v (carrying %v, in %v) allowed with --webhook-allow %q", a, c, p, allow)
				}
			}
			if (c.IsLoopback() || c.IsPrivate()) && byNone == nil {
				t.Fatalf("%v (carrying %v) allowed by default", a, c)
			}
		}
		if byNone == nil && (byG != nil || byAll != nil) || byG == nil && byAll != nil {
			t.Fatalf("%v: allowing more closed it: default %v, %q %v, everything %v", a, byNone, allow, byG, byAll)
		}
		if dialled := g.control("tcp", netip.AddrPortFrom(a, 443).String(), nil); (dialled == nil) != (byG == nil) {
			t.Fatalf("%v: CheckAddr says %v, the dialer %v", a, byG, dialled)
		}
	})
}
