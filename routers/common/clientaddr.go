package common

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	user_service "wharf/services/user"
)

// ClientAddr is middleware that records the client's address in the request
// context (user_service.WithClientAddr), where the password checks count
// failures against it. The address is the TCP peer's, unless the peer is one
// of the trusted reverse proxies: then it is the nearest address in
// X-Forwarded-For (or X-Real-IP) that is not a trusted proxy, so that
// clients behind one proxy are not all counted as one.
func ClientAddr(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a := clientAddr(r, trusted); a.IsValid() {
				r = r.WithContext(user_service.WithClientAddr(r.Context(), a.String()))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	if len(hops) == 0 {
		if a := parseAddr(r.Header.Get("X-Real-IP")); a.IsValid() {
			return a
		}
		return peer
	}
	// Each proxy appends the address it received from, so the rightmost
	// untrusted entry is the first one a trusted proxy vouches for; the
	// entries left of it are whatever the client chose to send.
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseAddr(hops[i])
		if !a.IsValid() {
			break
		}
		client = a
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client
}

// parseAddr reads "ip", "ip:port" or "[ipv6]:port".
func parseAddr(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
