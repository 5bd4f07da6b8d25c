// Package apperr classifies errors by what the client did wrong (or that it did
// nothing wrong), so that one place in the routers can map them to statuses.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind says which class of failure an error belongs to.
type Kind int

const (
	// Internal is a failure of the server; the client only sees "internal error".
	Internal Kind = iota
	// Invalid is malformed input: bad syntax, wrong types, limits broken.
	Invalid
	// Unprocessable is well-formed input that breaks a rule (a taken or reserved
	// name, a user who still owns things). Gitea answers these with 422.
	Unprocessable
	// Unauthorized means credentials are missing or wrong.
	Unauthorized
	// Forbidden means the caller is known but lacks the right or the scope.
	Forbidden
	// NotFound means the thing does not exist or the caller may not see it.
	NotFound
	// Conflict means the thing already exists or changed under the caller.
	Conflict
	// TooLarge means an upload is over its size limit.
	TooLarge
	// TooManyRequests means the caller must wait before trying again; the
	// error's RetryAfter says how long.
	TooManyRequests
	// Unavailable means something the server depends on (the database, the
	// object storage) cannot be reached now: nobody did anything wrong, and
	// the request may succeed when tried again after RetryAfter.
	Unavailable
)

var kindNames = map[Kind]string{
	Internal: "internal", Invalid: "invalid", Unprocessable: "unprocessable",
	Unauthorized: "unauthorized", Forbidden: "forbidden", NotFound: "not found",
	Conflict: "conflict", TooLarge: "too large", TooManyRequests: "too many requests",
	Unavailable: "unavailable",
}

func (k Kind) String() string { return kindNames[k] }

// Error is a classified error. Msg is safe to show to clients; Err, if set, is
// the cause and is shown too unless the kind is Internal.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
	// RetryAfter, when positive, is how long the client should wait before
	// trying again (sent as Retry-After).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a classified error with a formatted message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap classifies err, prefixing it with a formatted message.
func Wrap(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: err}
}

// RetryLater returns a TooManyRequests error that asks the client to wait d.
func RetryLater(d time.Duration, format string, args ...any) *Error {
	return &Error{Kind: TooManyRequests, Msg: fmt.Sprintf(format, args...), RetryAfter: d}
}

// WrapUnavailable classifies err as a dependency that cannot be reached
// now, asking the client to try again after retryAfter.
func WrapUnavailable(err error, retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Kind: Unavailable, Msg: fmt.Sprintf(format, args...), Err: err, RetryAfter: retryAfter}
}

// classified returns the first classified error in err's chain, or nil.
func classified(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// RetryAfterOf returns the RetryAfter of the first classified error in
// err's chain, or 0.
func RetryAfterOf(err error) time.Duration {
	if e := classified(err); e != nil {
		return e.RetryAfter
	}
	return 0
}

// KindOf returns the kind of the first classified error in err's chain, or
// Internal when there is none.
func KindOf(err error) Kind {
	if e := classified(err); e != nil {
		return e.Kind
	}
	return Internal
}

// PublicMessage returns the text a client may see for err: the classified
// error's own text (without the wrapping context added by callers, which can
// name internals), or "internal error". An Unavailable error shows only its
// message: its cause names hosts and drivers.
func PublicMessage(err error) string {
	e := classified(err)
	switch {
	case e == nil || e.Kind == Internal:
		return "internal error"
	case e.Kind == Unavailable:
		return e.Msg
	}
	return e.Error()
}
