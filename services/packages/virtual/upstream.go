package virtual

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

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
	key := strconv.FormatInt(reg.V.ID, 10) + " " + url
	v, err, _ := s.flight.Do(key, func() (any, error) {
		// The fetch is shared by callers that may go away: it runs to its
		// own deadline, not the first caller's.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.d.Cfg.UpstreamTimeout)
		defer cancel()
		return s.revalidate(fctx, reg, up, url, accept, cached)
	})
	if err == nil {
		return answer(v.(*packages_model.UpstreamDocument), false, "")
	}
	if IsUpstreamError(err) && cached != nil {
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
		return d, packages_model.PutUpstreamDocument(ctx, s.d.DB.Engine(), d)
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
		ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), FetchedUnix: now}
	return d, packages_model.PutUpstreamDocument(ctx, s.d.DB.Engine(), d)
}

// Do sends req to the upstream up with its credentials, within the
// process's limit of upstream requests in flight. A failure to connect
// or a 5xx is an UpstreamError; other statuses are the caller's to read.
// Credentials go only to the upstream's own host: a redirect elsewhere
// (a CDN for tarballs) is followed without them.
func (s *Service) Do(ctx context.Context, up *Upstream, req *http.Request) (*http.Response, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, &UpstreamError{URL: req.URL.String(), Err: ctx.Err()}
	}
	release := func() { <-s.slots }
	up.Authorize(req)
	req.Header.Set("User-Agent", "Wharf (virtual registry)")
	resp, err := s.client.Do(req)
	if err != nil {
		release()
		return nil, &UpstreamError{URL: req.URL.String(), Err: err}
	}
	if resp.StatusCode >= 500 {
		_ = resp.Body.Close()
		release()
		return nil, &UpstreamError{URL: req.URL.String(), Err: fmt.Errorf("answered %s", resp.Status)}
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody frees the request's slot when its body is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
	done    bool
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	if !b.done {
		b.done = true
		b.release()
	}
	return err
}
