package ratelimit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the peers (load balancers, reverse proxies) whose
// X-Forwarded-For and X-Forwarded-Proto headers Aries believes
// (aries serve --trusted-proxies, docs/deployment.md#trusted-proxies).
// Behind a load balancer every request comes from the balancer's address;
// without this list, every source-address key (rate limits, sign-in
// throttles, the source of security events) would be the balancer's, and
// one stranger failing from anywhere would throttle everyone.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads CIDR prefixes ("10.0.0.0/8") or single
// addresses ("127.0.0.1"), separated by commas or spaces.
func ParseTrustedProxies(specs ...string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, spec := range specs {
		for _, f := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' }) {
			if strings.Contains(f, "/") {
				p, err := netip.ParsePrefix(f)
				if err != nil {
					return nil, fmt.Errorf("trusted proxy %q: want a CIDR prefix such as 10.0.0.0/8 or an address", f)
				}
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: want a CIDR prefix such as 10.0.0.0/8 or an address", f)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out, nil
}

func (t TrustedProxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddress returns the address of the client that sent r: the TCP
// peer, unless the peer is a trusted proxy, in which case it is the
// rightmost X-Forwarded-For entry that is not itself a trusted proxy. The
// entries left of that one were written by whoever sent the request to the
// first trusted proxy, so they prove nothing (a client can send any
// X-Forwarded-For it likes); each proxy appends the address it saw.
func (t TrustedProxies) ClientAddress(r *http.Request) netip.Addr {
	peer, ok := peerAddr(r.RemoteAddr)
	if !ok || len(t) == 0 || !t.contains(peer) {
		return peer
	}
	client := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(entries[j]))
			if err != nil {
				// Not an address a proxy would write: stop at the last
				// trusted hop rather than guess.
				return client
			}
			client = a.Unmap()
			if !t.contains(client) {
				return client
			}
		}
	}
	return client
}

func peerAddr(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(remote)
	return a.Unmap(), err == nil
}

// Middleware resolves the client's address once per request, before any
// handler keys anything on it: it rewrites r.RemoteAddr to that address, so
// RemoteIP, the logs and the API's upstream proxy (X-Forwarded-For) all see
// the client. X-Forwarded-For and X-Forwarded-Proto from a peer that is not
// trusted are removed: nothing behind this point may believe them.
func (t TrustedProxies) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := peerAddr(r.RemoteAddr)
		if !ok || len(t) == 0 || !t.contains(peer) {
			if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("X-Forwarded-Proto") != "" {
				r = r.Clone(r.Context())
				r.Header.Del("X-Forwarded-For")
				r.Header.Del("X-Forwarded-Proto")
			}
			next.ServeHTTP(w, r)
			return
		}
		client := t.ClientAddress(r)
		if client != peer {
			r2 := *r // a shallow copy is enough: only RemoteAddr changes
			// The port is the client's own, which a proxy does not
			// forward; 0 keeps the host:port form RemoteAddr promises.
			r2.RemoteAddr = net.JoinHostPort(client.String(), "0")
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}
