package access

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/realclientip/realclientip-go"
)

// MaxAllowIPs bounds an allow-list (the installation's and each key's).
const MaxAllowIPs = 50

// ParseAllowList checks CIDRs (IPv4 or IPv6; a bare address is a /32 or
// /128) and returns them in canonical form. An empty list allows every
// address.
func ParseAllowList(cidrs []string) ([]netip.Prefix, []string, error) {
	if len(cidrs) > MaxAllowIPs {
		return nil, nil, fmt.Errorf("an allow-list holds at most %d entries, got %d", MaxAllowIPs, len(cidrs))
	}
	var prefixes []netip.Prefix
	var text []string
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, nil, fmt.Errorf("%q is neither an IP address nor a CIDR (such as 203.0.113.0/24 or 2001:db8::/32)", c)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return nil, nil, fmt.Errorf("%q: an IPv4-mapped range must be /96 or narrower (it covers IPv4 addresses only); write the IPv4 CIDR", c)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		p = p.Masked()
		if !p.IsValid() {
			return nil, nil, fmt.Errorf("%q is not a valid CIDR", c)
		}
		prefixes = append(prefixes, p)
		text = append(text, p.String())
	}
	return prefixes, text, nil
}

// allowed reports whether addr is in every non-empty list: a key's list can
// narrow the installation's, never widen it.
func allowed(addr netip.Addr, lists ...[]netip.Prefix) bool {
	addr = addr.Unmap()
	for _, list := range lists {
		if len(list) == 0 {
			continue
		}
		in := false
		for _, p := range list {
			if p.Contains(addr) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	return true
}

// ClientIP reads a request's client address. X-Forwarded-For is read only
// when the socket's peer is one of the trusted proxies, and then from the
// right, skipping trusted hops: the leftmost entries are whatever the
// client chose to send.
type ClientIP struct {
	trusted  []netip.Prefix
	strategy realclientip.Strategy
}

// NewClientIP returns a resolver trusting the given proxies (CIDRs); with
// none, the peer's address is the client's.
func NewClientIP(trustedProxies []string) (*ClientIP, error) {
	prefixes, text, err := ParseAllowList(trustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	c := &ClientIP{trusted: prefixes}
	if len(text) > 0 {
		nets, err := realclientip.AddressesAndRangesToIPNets(text...)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %w", err)
		}
		s, err := realclientip.NewRightmostTrustedRangeStrategy("X-Forwarded-For", nets)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %w", err)
		}
		c.strategy = s
	}
	return c, nil
}

// Resolve returns the client's address and the socket peer's.
func (c *ClientIP) Resolve(r *http.Request) (client, peer netip.Addr) {
	peer = remoteAddr(r.RemoteAddr)
	if c.strategy == nil || !allowed(peer, c.trusted) || !peer.IsValid() {
		return peer, peer
	}
	if s := c.strategy.ClientIP(r.Header, r.RemoteAddr); s != "" {
		host, _ := realclientip.SplitHostZone(s)
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap(), peer
		}
	}
	// Every hop is a trusted proxy, or the header is missing: the nearest
	// untrusted party is the peer itself.
	return peer, peer
}

func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
