package virtual

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
)

// MaxDocumentSize bounds a document fetched from an upstream.
const MaxDocumentSize = 64 << 20

// UpstreamError is an upstream that failed: it did not answer, answered
// 5xx, or sent what cannot be used. The member is skipped; the caller is
// told only when no member can answer.
type UpstreamError struct {
	URL string
	Err error
	// Denied: the upstream refused the credentials (401, 403). What was
	// fetched with them before is not served from the stored copy.
	Denied bool
}

func (e *UpstreamError) Error() string { return fmt.Sprintf("upstream %s: %v", e.URL, e.Err) }
func (e *UpstreamError) Unwrap() error { return e.Err }

// IsUpstreamError says whether err is an upstream's failure.
func IsUpstreamError(err error) bool {
	var ue *UpstreamError
	return errors.As(err, &ue)
}

// Unavailable is what the client hears when no member could answer
// because upstreams failed.
func Unavailable(err error) error {
	return apperr.WrapUnavailable(err, 30*time.Second, "the upstream registry did not answer")
}

// Document is a document an upstream served, as stored.
type Document struct {
	Body []byte
	// Stale says the upstream failed and this is the stored copy.
	Stale bool
	// Warning says why the copy is stale.
	Warning string
}

// FetchDocument is the upstream's document at url (a URL under up.URL),
// cached for the registry: a copy younger than METADATA_TTL is served
// as it is; an older one is revalidated with its ETag or Last-Modified;
// when the upstream fails, the copy is served anyway (stale-if-error).
// A 404 from the upstream is NotFound (and remembered like a document).
// Concurrent fetches of one document in this process are one request.
func (s *Service) FetchDocument(ctx context.Context, reg *Registry, up *Upstream, url string, accept string) (*Document, error) {
	e := s.d.DB.Engine()
	cached, err := packages_model.GetUpstreamDocument(ctx, e, reg.V.ID, url)
	if err != nil {
		return nil, err
	}
	now := s.d.Now()
	if cached != nil && now.Sub(time.Unix(cached.FetchedUnix, 0)) < s.d.Cfg.MetadataTTL {
		return answer(cached, false, "")
	}
	if len(url) > maxDocumentURL {
		return nil, &UpstreamError{URL: url[:64] + "…", Err: fmt.Errorf("a document URL longer than %d bytes", maxDocumentURL)}
	}
	key := strconv.FormatInt(reg.V.ID, 10) + " " + accept + " " + url
	ch := s.flight.DoChan(key, func() (any, error) {
		// The fetch is shared by callers that may go away: it runs to its
		// own deadline, not the first caller's.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.d.Cfg.UpstreamTimeout)
		defer cancel()
		return s.revalidate(fctx, reg, up, url, accept, cached)
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	err = res.Err
	if err == nil {
		return answer(res.Val.(*packages_model.UpstreamDocument), false, "")
	}
	var ue *UpstreamError
	if errors.As(err, &ue) && !ue.Denied && cached != nil {
		s.d.Log.WarnContext(ctx, "upstream failed; serving the stored copy", "url", url, "err", err)
		return answer(cached, true, err.Error())
	}
	return nil, err
}

func answer(d *packages_model.UpstreamDocument, stale bool, warning string) (*Document, error) {
	if d.Status == http.StatusNotFound {
		return nil, apperr.New(apperr.NotFound, "not found upstream")
	}
	return &Document{Body: d.Body, Stale: stale, Warning: warning}, nil
}

// revalidate asks the upstream and stores what it answers.
func (s *Service) revalidate(ctx context.Context, reg *Registry, up *Upstream, url, accept string, cached *packages_model.UpstreamDocument) (*packages_model.UpstreamDocument, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &UpstreamError{URL: url, Err: err}
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if cached != nil && cached.Status == http.StatusOK {
		if cached.ETag != "" {
			req.Header.Set("If-None-Match", cached.ETag)
		}
		if cached.LastModified != "" {
			req.Header.Set("If-Modified-Since", cached.LastModified)
		}
	}
	resp, err := s.Do(ctx, up, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	now := s.d.Now().Unix()
	switch {
	case resp.StatusCode == http.StatusNotModified && cached != nil && cached.Status == http.StatusOK:
		if err := packages_model.TouchUpstreamDocument(ctx, s.d.DB.Engine(), cached.ID, now); err != nil {
			return nil, err
		}
		return cached, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		d := &packages_model.UpstreamDocument{VirtualID: reg.V.ID, URL: url, Status: http.StatusNotFound, FetchedUnix: now}
		return d, s.store(ctx, d)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, &UpstreamError{URL: url, Err: fmt.Errorf("refused the credentials (%s)", resp.Status), Denied: true}
	case resp.StatusCode != http.StatusOK:
		return nil, &UpstreamError{URL: url, Err: fmt.Errorf("answered %s", resp.Status)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocumentSize+1))
	if err != nil {
		return nil, &UpstreamError{URL: url, Err: err}
	}
	if len(body) > MaxDocumentSize {
		return nil, &UpstreamError{URL: url, Err: fmt.Errorf("document larger than %d bytes", MaxDocumentSize)}
	}
	d := &packages_model.UpstreamDocument{VirtualID: reg.V.ID, URL: url, Status: http.StatusOK, Body: body,
		ETag: fits(resp.Header.Get("ETag"), 512), LastModified: fits(resp.Header.Get("Last-Modified"), 64), FetchedUnix: now}
	return d, s.store(ctx, d)
}

// maxDocumentURL is the longest document URL the cache keeps (its column).
const maxDocumentURL = 2048

// fits is a validator that fits its column, or none: an upstream's odd
// header costs a revalidation, never a failed store.
func fits(v string, max int) string {
	if len(v) > max {
		return ""
	}
	return v
}

// store replaces the stored copy in one transaction, so that a failure
// keeps the old copy for stale-if-error.
func (s *Service) store(ctx context.Context, d *packages_model.UpstreamDocument) error {
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error { return packages_model.PutUpstreamDocument(ctx, tx, d) })
}

// Do sends req to the upstream up, within the process's limit of
// upstream requests in flight. A failure to connect or a 5xx is an
// UpstreamError; other statuses are the caller's to read. The answer's
// headers must come within UPSTREAM_TIMEOUT, and the body must keep
// moving: a read that waits longer than that fails; ctx bounds the rest.
//
// Credentials go only to the upstream's own origin (scheme, host and
// port): a request elsewhere (a CDN for tarballs), or a redirect there,
// is sent without them. Loopback and private addresses are reached only
// when an administrator configured the upstream (AllowPrivate).
func (s *Service) Do(ctx context.Context, up *Upstream, req *http.Request) (*http.Response, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, &UpstreamError{URL: req.URL.String(), Err: ctx.Err()}
	}
	var once sync.Once
	release := func() { once.Do(func() { <-s.slots }) }
	if base, err := url.Parse(up.URL); err == nil && sameOrigin(base, req.URL) {
		up.Authorize(req)
	}
	req.Header.Set("User-Agent", "Wharf (virtual registry)")
	req.Header.Add(ViaHeader, s.mark)
	rctx, cancel := context.WithCancel(withPrivate(req.Context(), up.AllowPrivate))
	req = req.WithContext(rctx)
	resp, err := s.client.Do(req)
	if err != nil {
		cancel()
		release()
		return nil, &UpstreamError{URL: req.URL.String(), Err: err}
	}
	if resp.StatusCode >= 500 {
		_ = resp.Body.Close()
		cancel()
		release()
		return nil, &UpstreamError{URL: req.URL.String(), Err: fmt.Errorf("answered %s", resp.Status)}
	}
	resp.Body = newIdleBody(resp.Body, req.URL.String(), s.d.Cfg.UpstreamTimeout, cancel, release)
	return resp, nil
}

// sameOrigin: one scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && canonicalHost(a.Hostname()) == canonicalHost(b.Hostname()) && port(a) == port(b)
}

// idleBody fails a read that waits longer than idle (the request's
// context is cancelled), and frees the request's slot when closed.
type idleBody struct {
	io.ReadCloser
	url     string
	timer   *time.Timer
	idle    time.Duration
	cancel  context.CancelFunc
	release func()
}

func newIdleBody(rc io.ReadCloser, url string, idle time.Duration, cancel context.CancelFunc, release func()) *idleBody {
	return &idleBody{ReadCloser: rc, url: url, timer: time.AfterFunc(idle, cancel), idle: idle, cancel: cancel, release: release}
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = &UpstreamError{URL: b.url, Err: err}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.ReadCloser.Close()
	b.cancel()
	b.release()
	return err
}
