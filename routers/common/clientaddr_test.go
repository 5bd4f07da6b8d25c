package common_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"wharf/routers/common"
	user_service "wharf/services/user"
)

func TestClientAddr(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	proxies := append([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, loopback...)
	cases := []struct {
		name    string
		remote  string
		xff     []string
		realIP  string
		trusted []netip.Prefix
		want    string
	}{
		{"direct client", "203.0.113.9:5000", nil, "", loopback, "203.0.113.9"},
		{"direct client cannot claim another address", "203.0.113.9:5000", []string{"198.51.100.1"}, "198.51.100.2", loopback, "203.0.113.9"},
		{"behind a local proxy", "127.0.0.1:40000", []string{"198.51.100.1"}, "", loopback, "198.51.100.1"},
		{"X-Real-IP from a local proxy", "127.0.0.1:40000", nil, "198.51.100.3", loopback, "198.51.100.3"},
		{"local proxy, no header", "127.0.0.1:40000", nil, "", loopback, "127.0.0.1"},
		{"spoofed entries left of the proxy's are ignored", "127.0.0.1:40000", []string{"1.2.3.4, 198.51.100.1"}, "", loopback, "198.51.100.1"},
		{"a chain of trusted proxies", "127.0.0.1:40000", []string{"1.2.3.4, 198.51.100.1, 10.0.0.5", "10.0.0.6"}, "", proxies, "198.51.100.1"},
		{"untrusted proxy in the chain stops the walk", "127.0.0.1:40000", []string{"1.2.3.4, 10.0.0.5"}, "", loopback, "10.0.0.5"},
		{"garbage stops the walk", "127.0.0.1:40000", []string{"1.2.3.4, not-an-ip, 10.0.0.5"}, "", proxies, "10.0.0.5"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, "", loopback, "2001:db8::1"},
		{"IPv4-mapped peer", "[::ffff:203.0.113.9]:443", nil, "", loopback, "203.0.113.9"},
		{"no trusted proxies", "127.0.0.1:40000", []string{"198.51.100.1"}, "", nil, "127.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got string
			h := common.ClientAddr(c.trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = user_service.ClientAddr(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if c.realIP != "" {
				r.Header.Set("X-Real-IP", c.realIP)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != c.want {
				t.Fatalf("client address = %q, want %q", got, c.want)
			}
		})
	}
}
