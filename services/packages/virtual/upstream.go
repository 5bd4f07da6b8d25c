package virtual

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/upstream"
)

// MaxDocumentSize bounds a document fetched from an upstream.
const MaxDocumentSize = 64 << 20

// Upstream is an upstream registry member.
type Upstream = upstream.Target

// UpstreamError is an upstream that failed: it did not answer, answered
// 5xx, or sent what cannot be used. The member is skipped; the caller is
// told only when no member can answer.
type UpstreamError = upstream.Error

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
// when the upstream fails, the copy is served anyway (stale-if-error),
// unless it refused the credentials. A 404 from the upstream is NotFound
// (and remembered like a document). Concurrent fetches of one document in
// this process are one request.
func (s *Service) FetchDocument(ctx context.Context, reg *Registry, up *Upstream, url string, accept string) (*Document, error) {
	e := s.d.DB.Engine()
	// Kept under the registry that lists the upstream (with its
	// credentials), not the one asked through: a nested registry's copy
	// is never another list's.
	vid := reg.V.ID
	if id, ok := reg.docs[up]; ok {
		vid = id
	}
	cached, err := packages_model.GetUpstreamDocument(ctx, e, vid, url)
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
	key := strconv.FormatInt(vid, 10) + " " + accept + " " + url
	ch := s.flight.DoChan(key, func() (any, error) {
		// The fetch is shared by callers that may go away: it runs to its
		// own deadline, not the first caller's.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.d.Cfg.UpstreamTimeout)
		defer cancel()
		return s.revalidate(fctx, vid, up, url, accept, cached)
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
	if d.Status == statusNotFound {
		return nil, apperr.New(apperr.NotFound, "not found upstream")
	}
	return &Document{Body: d.Body, Stale: stale, Warning: warning}, nil
}

// The statuses a stored document records (its column keeps the HTTP
// numbers the first release wrote).
const (
	statusFound    = 200
	statusNotFound = 404
)

// revalidate asks the upstream and stores what it answers.
func (s *Service) revalidate(ctx context.Context, vid int64, up *Upstream, url, accept string, cached *packages_model.UpstreamDocument) (*packages_model.UpstreamDocument, error) {
	var v upstream.Validators
	if cached != nil && cached.Status == statusFound {
		v = upstream.Validators{ETag: cached.ETag, LastModified: cached.LastModified}
	}
	resp, err := s.client.Get(ctx, *up, url, accept, v)
	if err != nil {
		return nil, err
	}
	now := s.d.Now().Unix()
	switch resp.Status {
	case upstream.NotModified:
		if cached == nil || cached.Status != statusFound {
			return nil, &UpstreamError{URL: url, Err: errors.New("answered 304 Not Modified to an unconditional request")}
		}
		if err := packages_model.TouchUpstreamDocument(ctx, s.d.DB.Engine(), cached.ID, now); err != nil {
			return nil, err
		}
		return cached, nil
	case upstream.NotFound:
		d := &packages_model.UpstreamDocument{VirtualID: vid, URL: url, Status: statusNotFound, FetchedUnix: now}
		return d, s.store(ctx, d)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocumentSize+1))
	if err != nil {
		return nil, &UpstreamError{URL: url, Err: err}
	}
	if len(body) > MaxDocumentSize {
		return nil, &UpstreamError{URL: url, Err: fmt.Errorf("document larger than %d bytes", MaxDocumentSize)}
	}
	d := &packages_model.UpstreamDocument{VirtualID: vid, URL: url, Status: statusFound, Body: body,
		ETag: fits(resp.ETag, 512), LastModified: fits(resp.LastModified, 64), FetchedUnix: now}
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

// Open asks the upstream up for the file at url (a tarball, an archive,
// a crate; any URL: the credentials go only to up's origin). Found comes
// with its body, to close; NotFound is apperr NotFound; a failure is an
// UpstreamError. The answer's headers must come within UPSTREAM_TIMEOUT
// and the body must keep moving; ctx bounds the rest.
func (s *Service) Open(ctx context.Context, up *Upstream, url string) (*upstream.Response, error) {
	resp, err := s.client.Get(ctx, *up, url, "", upstream.Validators{})
	if err != nil {
		return nil, err
	}
	switch resp.Status {
	case upstream.Found:
		return resp, nil
	case upstream.NotFound:
		return nil, apperr.New(apperr.NotFound, "not found upstream")
	}
	return nil, &UpstreamError{URL: url, Err: errors.New("answered 304 Not Modified to an unconditional request")}
}

// LoopDetected says whether a request (its headers) came from this
// process's own upstream fetches: an upstream that is this instance
// under another name, or behind a proxy.
func (s *Service) LoopDetected(h map[string][]string) bool { return s.client.LoopDetected(h) }

// Once runs fetch once for the concurrent callers that give the same key
// (a file's first download from an upstream): the first runs it, detached
// from its own cancellation and bounded by UPSTREAM_TIMEOUT per wait; the
// others wait for it and get its result. Each caller still leaves when
// its own ctx ends.
func (s *Service) Once(ctx context.Context, key string, fetch func(ctx context.Context) (any, error)) (any, error) {
	ch := s.files.DoChan(key, func() (any, error) {
		return fetch(context.WithoutCancel(ctx))
	})
	select {
	case res := <-ch:
		return res.Val, res.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// UpstreamsKey names a caller's upstreams (Resolution.Upstreams) in a
// single-flight key: callers who may use different upstreams never share
// a fetch (nor its warnings).
func UpstreamsKey(ups []*Upstream) string {
	urls := make([]string, len(ups))
	for i, up := range ups {
		urls[i] = up.URL
	}
	return strings.Join(urls, " ")
}
