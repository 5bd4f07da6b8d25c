package common

import (
	"log/slog"
	"net/http"
	"strings"

	"wharf/modules/apperr"
	"wharf/modules/scope"
)

// RefuseNUL is middleware that answers a request whose path or query holds
// a NUL byte before any lookup: no name Wharf stores can hold one, and
// PostgreSQL refuses it in text, so such a request would otherwise fail as
// a server error (500, logged) for what is the client's mistake. A path
// with NUL names nothing (404 to a read; 400 to a write, which would create
// it); a query with one is invalid (400).
func RefuseNUL(log *slog.Logger, writeErr ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.ContainsRune(r.URL.Path, 0) && LevelFor(r) == scope.Read:
				WriteError(log, writeErr, w, r, apperr.New(apperr.NotFound, "not found"))
				return
			case strings.ContainsRune(r.URL.Path, 0):
				// A write names what it creates: say what is wrong with it.
				WriteError(log, writeErr, w, r, apperr.New(apperr.Invalid, "invalid name: the path must not hold NUL bytes"))
				return
			case strings.Contains(r.URL.RawQuery, "%00") || strings.ContainsRune(r.URL.RawQuery, 0):
				WriteError(log, writeErr, w, r, apperr.New(apperr.Invalid, "the query must not hold NUL bytes"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
