package virtual

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// ViaHeader marks the requests a virtual registry sends upstream with
// the sending process's mark. A request that comes back carrying its own
// mark (an upstream that is this instance under another name, or behind
// a proxy) is a loop: LoopDetected refuses it at once instead of letting
// it wait on itself.
const ViaHeader = "Wharf-Virtual-Via"

// LoopDetected says whether a request came from this process's own
// upstream fetches.
func (s *Service) LoopDetected(h http.Header) bool {
	for _, v := range h.Values(ViaHeader) {
		for m := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(m) == s.mark {
				return true
			}
		}
	}
	return false
}

func newMark() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type privateKey struct{}

// withPrivate says whether the request's connection may reach loopback
// and private addresses.
func withPrivate(ctx context.Context, allow bool) context.Context {
	return context.WithValue(ctx, privateKey{}, allow)
}

var errPrivateAddress = errors.New("the upstream resolves to a loopback, private or link-local address, which only an administrator may configure")

// newClient is the client upstream requests go through. Its dialer checks
// the address each connection actually reaches (not only the name given
// at configuration time, which DNS can change): loopback, private,
// link-local and unspecified addresses are refused unless the request's
// upstream allows them. Redirects keep credentials only on the
// upstream's own origin.
func newClient(tr http.RoundTripper, headerTimeout time.Duration) *http.Client {
	if tr == nil {
		dialer := &net.Dialer{Timeout: headerTimeout, KeepAlive: 30 * time.Second}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil // an upstream is reached directly, as the dialer checks
		t.ResponseHeaderTimeout = headerTimeout
		t.MaxResponseHeaderBytes = 64 << 10
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			allow, _ := ctx.Value(privateKey{}).(bool)
			d := *dialer
			d.Control = func(network, address string, _ syscall.RawConn) error {
				host, _, err := net.SplitHostPort(address)
				if err != nil {
					return err
				}
				ip := net.ParseIP(host)
				if ip == nil {
					return fmt.Errorf("dial %s: not an address", address)
				}
				if !allow && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()) {
					return errPrivateAddress
				}
				return nil
			}
			return d.DialContext(ctx, network, addr)
		}
		tr = t
	}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("more than 10 redirects")
		}
		if !sameOrigin(via[0].URL, req.URL) {
			req.Header.Del("Authorization")
		}
		return nil
	}}
}
