package packages

import (
	"net/http"
	"strconv"
	"strings"

	"wharf/modules/doccache"
)

// AcceptsGzip reports whether the request's Accept-Encoding allows gzip:
// named ("gzip", or the old "x-gzip") or matched by "*", with a quality
// above 0 ("gzip;q=0" refuses it, and so does "*;q=0" when gzip is not
// named).
func AcceptsGzip(r *http.Request) bool {
	star := false
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, item := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			ok := quality(params) > 0
			if coding == "*" {
				star = ok
				continue
			}
			return ok
		}
	}
	return star
}

// quality is the q parameter of an Accept-Encoding item's parameters; 1
// when there is none, 0 when it is malformed.
func quality(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 {
			return 0
		}
		return q
	}
	return 1
}

// MatchesETag reports whether the request's If-None-Match names the
// document whose ETag is etag, in either representation (identity or
// gzip), by weak comparison, or is "*".
func MatchesETag(r *http.Request, etag string) bool {
	gz := doccache.GzipETag(etag)
	for _, v := range r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == etag || t == gz {
				return true
			}
		}
	}
	return false
}

// WriteNotModified answers 304 for the document whose ETag is etag, with
// the validator of the copy the client named (the identity or the gzip
// one: a client may hold either, e.g. the identity bytes of a document
// sent as it was built), else of the one the request would get.
func WriteNotModified(w http.ResponseWriter, r *http.Request, etag string) {
	w.Header().Add("Vary", "Accept-Encoding")
	gz := doccache.GzipETag(etag)
	named := ""
	for _, v := range r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(v, ",") {
			switch strings.TrimPrefix(strings.TrimSpace(t), "W/") {
			case etag:
				named = etag
			case gz:
				named = gz
			}
		}
	}
	switch {
	case named != "":
		etag = named
	case AcceptsGzip(r):
		etag = gz
	}
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusNotModified)
}

// ServeDocument sends a cached document: its gzip copy with
// Content-Encoding: gzip when the request accepts gzip and there is one
// (a document just built has none yet: it is compressed and kept after it
// is sent), its identity bytes otherwise, each with its own ETag, Vary: Accept-Encoding added
// to the Vary the caller set. The caller has set Content-Type and its
// caching headers and has answered conditional requests
// (MatchesETag/WriteNotModified), before building the document.
func ServeDocument(w http.ResponseWriter, r *http.Request, d *doccache.Document) error {
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	body, etag := d.Body, d.ETag
	if AcceptsGzip(r) && d.Gzip != nil {
		body, etag = d.Gzip, doccache.GzipETag(d.ETag)
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if _, err := w.Write(body); err != nil {
			return err
		}
	}
	if d.Pending() {
		// Just built: the client has it whole once flushed; the gzip copy
		// is made after that, and the document kept.
		_ = http.NewResponseController(w).Flush()
		d.Keep()
	}
	return nil
}
