// Package upstream is the HTTP client of virtual registries: it fetches
// documents and files from upstream registries and answers in the
// registry's terms (found, not modified, not found, credentials refused,
// failed), so that the services that use it never handle HTTP.
//
// What it guarantees for every request: credentials go only to the
// upstream's own origin (scheme, host and port), never to a CDN it points
// at or redirects to; loopback and private addresses are reached only for
// a target that allows them, checked at every connection (so DNS cannot
// move a public name there later); the answer's headers come within the
// timeout and the body must keep moving; a process has a bounded number
// of requests in flight; each request carries the process's mark
// (ViaHeader), so that one that comes back to its sender is recognised.
package upstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Target is an upstream registry.
type Target struct {
	// URL is the registry's base URL, ending in "/".
	URL      string
	Username string
	Token    string
	// AllowPrivate lets requests reach loopback and private addresses
	// (an administrator's configuration).
	AllowPrivate bool
}

// Error is an upstream that failed: it did not answer in time, answered
// 5xx or an unexpected status, or sent what cannot be used.
type Error struct {
	URL string
	Err error
	// Denied: the upstream refused the credentials (401, 403).
	Denied bool
}

func (e *Error) Error() string { return fmt.Sprintf("upstream %s: %v", e.URL, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Status is what an upstream answered.
type Status int

// The answers.
const (
	// Found: the body follows.
	Found Status = iota
	// NotModified: the validators sent still hold.
	NotModified
	// NotFound: the upstream has no such document or file (404, 410).
	NotFound
)

// Response is an upstream's answer.
type Response struct {
	Status Status
	// Body is set when Found; close it.
	Body         io.ReadCloser
	ETag         string
	LastModified string
	// Size is the body's length, -1 when unknown.
	Size int64
}

// Validators make a request conditional.
type Validators struct{ ETag, LastModified string }

// ViaHeader carries the marks of the processes a request went through.
const ViaHeader = "Wharf-Virtual-Via"

// Options configure a Client.
type Options struct {
	// Timeout bounds the wait for an answer's headers, and each wait for
	// the body's next bytes.
	Timeout time.Duration
	// MaxRequests is how many requests are in flight at once; more wait.
	MaxRequests int
	// Transport replaces the guarded one (tests of a transport's own).
	Transport http.RoundTripper
}

// Client sends requests to upstreams.
type Client struct {
	http    *http.Client
	timeout time.Duration
	slots   chan struct{}
	mark    string
}

// New returns a client.
func New(o Options) *Client {
	if o.MaxRequests <= 0 {
		o.MaxRequests = 16
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return &Client{http: newHTTPClient(o.Transport, o.Timeout), timeout: o.Timeout, slots: make(chan struct{}, o.MaxRequests),
		mark: hex.EncodeToString(b)}
}

// LoopDetected says whether a request carrying header h came from this
// client's own requests.
func (c *Client) LoopDetected(h http.Header) bool {
	for _, v := range h.Values(ViaHeader) {
		for m := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(m) == c.mark {
				return true
			}
		}
	}
	return false
}

// Get asks the upstream t for url (any URL: the credentials go only to
// t's origin), with accept as the Accept header when given and v's
// validators when set. A 404 or 410 is NotFound, a 304 NotModified, a 200
// Found with its body; a 401 or 403 is an Error that is Denied; anything
// else, or no answer, is an Error.
func (c *Client) Get(ctx context.Context, t Target, rawURL, accept string, v Validators) (*Response, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, &Error{URL: rawURL, Err: ctx.Err()}
	}
	var once sync.Once
	release := func() { once.Do(func() { <-c.slots }) }
	rctx, cancel := context.WithCancel(withPrivate(ctx, t.AllowPrivate))
	fail := func(err error, denied bool) (*Response, error) {
		cancel()
		release()
		return nil, &Error{URL: rawURL, Err: err, Denied: denied}
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fail(err, false)
	}
	if base, err := url.Parse(t.URL); err == nil && sameOrigin(base, req.URL) {
		switch {
		case t.Username != "":
			req.SetBasicAuth(t.Username, t.Token)
		case t.Token != "":
			req.Header.Set("Authorization", "Bearer "+t.Token)
		}
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	req.Header.Set("User-Agent", "Wharf (virtual registry)")
	req.Header.Set(ViaHeader, c.mark)
	resp, err := c.http.Do(req)
	if err != nil {
		return fail(err, false)
	}
	out := &Response{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Size: resp.ContentLength}
	switch resp.StatusCode {
	case http.StatusOK:
		out.Status = Found
		out.Body = &idleBody{ReadCloser: resp.Body, url: rawURL, timer: time.AfterFunc(c.timeout, cancel), idle: c.timeout,
			done: func() { cancel(); release() }}
		return out, nil
	case http.StatusNotModified:
		out.Status = NotModified
	case http.StatusNotFound, http.StatusGone:
		out.Status = NotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		_ = resp.Body.Close()
		return fail(fmt.Errorf("refused the credentials (%s)", resp.Status), true)
	default:
		_ = resp.Body.Close()
		return fail(fmt.Errorf("answered %s", resp.Status), false)
	}
	_ = resp.Body.Close()
	cancel()
	release()
	return out, nil
}

// sameOrigin: one scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && CanonicalHost(a.Hostname()) == CanonicalHost(b.Hostname()) && Port(a) == Port(b)
}

// CanonicalHost is a host name as compared: lower case, without the
// trailing dot of a fully qualified name.
func CanonicalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// Port is u's port, the scheme's default when none is given.
func Port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return map[string]string{"http": "80", "https": "443"}[u.Scheme]
}

// idleBody fails a read that waits longer than idle (the request's
// context is cancelled), and frees the request's slot when closed.
type idleBody struct {
	io.ReadCloser
	url   string
	timer *time.Timer
	idle  time.Duration
	done  func()
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = &Error{URL: b.url, Err: err}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.ReadCloser.Close()
	b.done()
	return err
}

type privateKey struct{}

func withPrivate(ctx context.Context, allow bool) context.Context {
	return context.WithValue(ctx, privateKey{}, allow)
}

// ErrPrivateAddress is a connection refused by the address guard.
var ErrPrivateAddress = errors.New("the upstream resolves to a loopback, private or link-local address, which only an administrator may configure")

// IsPrivate says whether ip is one only an administrator's upstream may
// reach.
func IsPrivate(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()
}

func newHTTPClient(tr http.RoundTripper, timeout time.Duration) *http.Client {
	if tr == nil {
		dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil // the dialer checks the address an upstream is reached at
		t.ResponseHeaderTimeout = timeout
		t.MaxResponseHeaderBytes = 64 << 10
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			allow, _ := ctx.Value(privateKey{}).(bool)
			d := *dialer
			d.Control = func(_, address string, _ syscall.RawConn) error {
				host, _, err := net.SplitHostPort(address)
				if err != nil {
					return err
				}
				ip := net.ParseIP(host)
				if ip == nil {
					return fmt.Errorf("dial %s: not an address", address)
				}
				if !allow && IsPrivate(ip) {
					return ErrPrivateAddress
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
