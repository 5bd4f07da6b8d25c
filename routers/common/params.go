package common

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"
)

// Param returns a URL path parameter, percent-decoded. chi matches on the
// raw path when it holds escapes, so "%2e%2e" arrives encoded; decoding
// here makes validation see what the client meant. A malformed escape is
// returned as is, and fails whatever validation follows.
func Param(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}
