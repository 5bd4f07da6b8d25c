// Package common holds what every router shares: the one mapping from
// errors to statuses, the handler adapter, authentication, JSON, paging,
// request logging and metrics.
package common

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"wharf/models/db"
	"wharf/modules/apperr"
	"wharf/modules/storage"
)

var statusOf = map[apperr.Kind]int{
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Unprocessable:   http.StatusUnprocessableEntity,
	apperr.Unauthorized:    http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.TooLarge:        http.StatusRequestEntityTooLarge,
	apperr.TooManyRequests: http.StatusTooManyRequests,
	apperr.Unavailable:     http.StatusServiceUnavailable,
}

// OutageRetryAfter is the Retry-After of an answer refused because the
// database or the object storage cannot be reached: long enough for a
// restart to make progress, short enough that clients which retry get
// through soon after.
const OutageRetryAfter = 5 * time.Second

// Status is the only place that turns an error into an HTTP status.
func Status(err error) int {
	if s, ok := statusOf[apperr.KindOf(err)]; ok {
		return s
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// ErrorWriter writes an error answer in a protocol's own shape. status is
// already decided; msg is safe to show.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, msg string)

// HandlerFunc is a handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Realm is sent in WWW-Authenticate so that clients (git, curl, npm) know to
// send Basic credentials.
const Realm = `Basic realm="Wharf"`

// Handle adapts h: an error becomes a status from Status and a body from
// writeErr. Server errors are logged here, once, with the request id; the
// client sees only "internal error".
func Handle(log *slog.Logger, writeErr ErrorWriter, h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(log, writeErr, w, r, err)
		}
	}
}

// Classify gives an unclassified failure to reach the database or the
// object storage the kind Unavailable (503 with Retry-After). The storage
// marks its own failures (storage.UnavailableError); the database's are
// recognised by type and SQLSTATE (db.IsUnavailable), unless the request's
// context is done: then the client's own connection broke or it gave up,
// and a network error says nothing about the database.
func Classify(r *http.Request, err error) error {
	if apperr.KindOf(err) != apperr.Internal {
		return err
	}
	if storage.IsUnavailable(err) {
		return apperr.WrapUnavailable(err, OutageRetryAfter, "storage unavailable, try again later")
	}
	if r.Context().Err() == nil && db.IsUnavailable(err) {
		return apperr.WrapUnavailable(err, OutageRetryAfter, "database unavailable, try again later")
	}
	return err
}

// WriteError answers with err (for middleware that fails before a handler).
func WriteError(log *slog.Logger, writeErr ErrorWriter, w http.ResponseWriter, r *http.Request, err error) {
	err = Classify(r, err)
	status := Status(err)
	msg := apperr.PublicMessage(err)
	var mbe *http.MaxBytesError
	if status == http.StatusRequestEntityTooLarge && errors.As(err, &mbe) {
		msg = "request body is too large"
	}
	if status >= 500 {
		if r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			// The client went away: nothing failed on our side, and
			// nobody reads the answer.
			log.DebugContext(r.Context(), "request abandoned by the client", "method", r.Method, "path", r.URL.Path, "err", err)
		} else {
			log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", Realm)
	}
	WriteRetryAfter(w, err)
	writeErr(w, r, status, msg)
}

// WriteRetryAfter sets Retry-After when err says when to try again.
func WriteRetryAfter(w http.ResponseWriter, err error) {
	if d := apperr.RetryAfterOf(err); d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
}

// WritePlain is the ErrorWriter of plain-text protocols (git, generic
// packages): the message on one line, which curl and git print as is.
func WritePlain(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}
