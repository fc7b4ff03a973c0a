package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// ErrDenied means an outbound webhook would go to an address Rankr does not
// send to: link-local, cloud metadata, loopback or private (unless
// allowed), and the like. Nothing was sent.
var ErrDenied = errors.New("outbound webhook address not allowed")

type rangeRule struct {
	prefix netip.Prefix
	what   string
}

func rules(what string, prefixes ...string) []rangeRule {
	out := make([]rangeRule, len(prefixes))
	for i, p := range prefixes {
		out[i] = rangeRule{netip.MustParsePrefix(p), what}
	}
	return out
}

// alwaysDenied are never dialled, whatever the allow-list says: nothing a
// subscriber needs lives there, and a request there is how a webhook URL
// steals cloud credentials. The metadata addresses come first so that the
// error names them.
var alwaysDenied = concat(
	rules("a cloud metadata address", "169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32", "192.0.0.192/32"),
	rules("a link-local address", "169.254.0.0/16", "fe80::/10"),
	rules("an unspecified address", "0.0.0.0/8", "::/128"),
	rules("a multicast address", "224.0.0.0/4", "ff00::/8"),
	rules("the broadcast address", "255.255.255.255/32"),
)

// deniedByDefault are dialled only when the allow-list covers them:
// they reach this machine or its private network.
var deniedByDefault = concat(
	rules("a loopback address", "127.0.0.0/8", "::1/128"),
	rules("a private address", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
	rules("a shared (carrier-grade NAT) address", "100.64.0.0/10"),
	rules("a reserved address", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
		"240.0.0.0/4", "2001:db8::/32", "100::/64", "::/96"),
	rules("a NAT64 or 6to4 address", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16"),
)

func concat[T any](parts ...[]T) []T {
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// deniedNames are metadata services reached by name. Their addresses are
// denied anyway; the names give a clear error before any lookup.
var deniedNames = map[string]bool{
	"metadata.google.internal": true, "metadata.goog": true, "metadata": true,
	"instance-data": true, "instance-data.ec2.internal": true,
}

// Guard decides which addresses outbound webhooks may go to.
type Guard struct {
	allow []netip.Prefix
}

// NewGuard returns a guard that also lets through the given ranges
// (loopback, private...), never the always-denied ones.
func NewGuard(allow []netip.Prefix) *Guard {
	return &Guard{allow: allow}
}

// ParseAllow reads allow-list entries: CIDRs (10.0.0.0/8) or single
// addresses (127.0.0.1).
func ParseAllow(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("webhook allow-list entry %q: want a CIDR like 10.0.0.0/8 or an address like 127.0.0.1", e)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// CheckAddr says whether an address may be dialled.
func (g *Guard) CheckAddr(a netip.Addr) error {
	a = a.WithZone("").Unmap()
	// An IPv6 address that carries an IPv4 one (NAT64, 6to4) is judged by
	// the IPv4 address too: 64:ff9b::a9fe:a9fe is 169.254.169.254.
	if v4, ok := embeddedV4(a); ok {
		if err := g.CheckAddr(v4); err != nil {
			return fmt.Errorf("%s carries %s: %w", a, v4, err)
		}
	}
	for _, r := range alwaysDenied {
		if r.prefix.Contains(a) {
			return fmt.Errorf("%w: %s is %s, never allowed", ErrDenied, a, r.what)
		}
	}
	for _, p := range g.allow {
		if p.Contains(a) {
			return nil
		}
	}
	for _, r := range deniedByDefault {
		if r.prefix.Contains(a) {
			return fmt.Errorf("%w: %s is %s (allow it with --webhook-allow %s if you mean it)", ErrDenied, a, r.what,
				netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return nil
}

// embeddedV4 returns the IPv4 address inside a NAT64 or 6to4 address.
func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case netip.MustParsePrefix("64:ff9b::/96").Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case netip.MustParsePrefix("2002::/16").Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// checkName refuses metadata services by name.
func checkName(host string) error {
	if deniedNames[strings.TrimSuffix(strings.ToLower(host), ".")] {
		return fmt.Errorf("%w: %s is a cloud metadata service, never allowed", ErrDenied, host)
	}
	return nil
}

// ParseURL checks the shape of an endpoint URL: http or https, a host, a
// port a connection can be made to, no credentials in it.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: webhook url: %v", rankr.ErrInvalid, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: webhook url %q: only http and https URLs are allowed", rankr.ErrInvalid, raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: webhook url %q has no host", rankr.ErrInvalid, raw)
	}
	if p := u.Port(); p != "" {
		// url.Parse takes any run of digits as a port; saving one no
		// connection can reach would fail every delivery instead.
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%w: webhook url %q: port %s is not between 1 and 65535", rankr.ErrInvalid, raw, p)
		}
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: webhook url: no credentials in the URL (requests are signed instead)", rankr.ErrInvalid)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%w: webhook url %q: no #fragment", rankr.ErrInvalid, raw)
	}
	return u, nil
}

// CheckURL checks an endpoint URL before it is saved: its shape, its host's
// name, and every address the host resolves to now. The dialer checks
// again on every connection, since DNS answers change.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := ParseURL(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if err := checkName(host); err != nil {
		return fmt.Errorf("%w: %w", rankr.ErrInvalid, err)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if addrs, err = net.DefaultResolver.LookupNetIP(lctx, "ip", host); err != nil {
			return fmt.Errorf("%w: webhook url: looking up %s: %v", rankr.ErrInvalid, host, err)
		}
	}
	for _, a := range addrs {
		if err := g.CheckAddr(a); err != nil {
			return fmt.Errorf("%w: webhook url host %s: %w", rankr.ErrInvalid, host, err)
		}
	}
	return nil
}

// control runs on every socket before it connects, with the address
// actually dialled (after DNS): this is the check that counts.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot judge address %q", ErrDenied, address)
	}
	return g.CheckAddr(ap.Addr())
}

// Client returns the HTTP client outbound webhooks are sent with: every
// connection checked by the guard, no proxy (a proxy would dial for us,
// unchecked), no redirects followed (a redirect could point anywhere; the
// attempt fails and says where it pointed).
func (g *Guard) Client() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	return &http.Client{
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				if err := checkName(host); err != nil {
					return nil, err
				}
				return dialer.DialContext(ctx, network, addr)
			},
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           64,
			MaxIdleConnsPerHost:    4,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    10 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
