package common_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"wharf/modules/apperr"
	"wharf/modules/storage"
	"wharf/routers/common"
)

func TestWriteErrorTooManyRequests(t *testing.T) {
	cases := []struct {
		after time.Duration
		want  string
	}{
		{90 * time.Second, "90"},
		{1500 * time.Millisecond, "2"}, // rounded up: retrying earlier would be refused again
		{time.Millisecond, "1"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			err := fmt.Errorf("authenticate: %w", apperr.RetryLater(c.after, "too many failed sign-in attempts"))
			if s := common.Status(err); s != http.StatusTooManyRequests {
				t.Fatalf("Status = %d, want 429", s)
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			var gotStatus int
			var gotMsg string
			common.WriteError(slog.New(slog.DiscardHandler), func(w http.ResponseWriter, r *http.Request, status int, msg string) {
				gotStatus, gotMsg = status, msg
				common.WritePlain(w, r, status, msg)
			}, w, r, err)
			if gotStatus != http.StatusTooManyRequests || w.Code != http.StatusTooManyRequests {
				t.Fatalf("status = %d / %d, want 429", gotStatus, w.Code)
			}
			if gotMsg != "too many failed sign-in attempts" {
				t.Fatalf("message = %q", gotMsg)
			}
			if got := w.Header().Get("Retry-After"); got != c.want {
				t.Fatalf("Retry-After = %q, want %q", got, c.want)
			}
		})
	}
	// Other errors carry no Retry-After.
	w := httptest.NewRecorder()
	common.WriteError(slog.New(slog.DiscardHandler), common.WritePlain, w, httptest.NewRequest(http.MethodGet, "/", nil),
		apperr.New(apperr.Unauthorized, "bad password"))
	if w.Code != http.StatusUnauthorized || w.Header().Get("Retry-After") != "" {
		t.Fatalf("401: status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

// A request whose client went away (its context ended) is not a server
// failure and is not logged as one; a real internal error still is.
func TestWriteErrorClientGoneIsNotAnError(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	common.WriteError(log, common.WritePlain, httptest.NewRecorder(), r, fmt.Errorf("wait to check password: %w", context.Canceled))
	if strings.Contains(buf.String(), "level=ERROR") {
		t.Fatalf("a client that left was logged as an error: %s", buf.String())
	}
	buf.Reset()
	common.WriteError(log, common.WritePlain, httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), errors.New("disk on fire"))
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Fatalf("an internal error was not logged: %q", buf.String())
	}
	buf.Reset()
	// A cancellation that is not the client's (its request is still live)
	// stays an error.
	common.WriteError(log, common.WritePlain, httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), context.Canceled)
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Fatalf("a cancellation of a live request was not logged: %q", buf.String())
	}
}

// An unreachable database is an outage: 503 with Retry-After, its cause
// hidden from the client and logged. It is recognised by type and SQLSTATE:
// a query the database refuses, a look-alike message, or a network error
// of a client that went away stay what they were.
func TestWriteErrorDatabaseUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, dialErr := net.Dial("tcp", addr) // refused: nothing listens there now
	if dialErr == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	cases := []struct {
		name string
		err  error
		gone bool
		want int
	}{
		{"refused", fmt.Errorf("find access token: %w", dialErr), false, http.StatusServiceUnavailable},
		{"bad connection", fmt.Errorf("commit transaction: %w", driver.ErrBadConn), false, http.StatusServiceUnavailable},
		{"connection done", fmt.Errorf("get user: %w", sql.ErrConnDone), false, http.StatusServiceUnavailable},
		{"admin shutdown", &pq.Error{Code: "57P01", Message: "terminating connection due to administrator command"}, false, http.StatusServiceUnavailable},
		{"shutting down", fmt.Errorf("get package: %w", &pq.Error{Code: "57P03", Message: "the database system is shutting down"}), false, http.StatusServiceUnavailable},
		{"connection failure", &pq.Error{Code: "08006"}, false, http.StatusServiceUnavailable},
		{"too many connections", &pq.Error{Code: "53300"}, false, http.StatusServiceUnavailable},
		{"labelled internal", apperr.Wrap(apperr.Internal, dialErr, "lock package"), false, http.StatusServiceUnavailable},
		{"unique violation", &pq.Error{Code: "23505"}, false, http.StatusInternalServerError},
		{"syntax error", &pq.Error{Code: "42601"}, false, http.StatusInternalServerError},
		{"look-alike text", errors.New("dial tcp: connection refused"), false, http.StatusInternalServerError},
		{"client mistake", apperr.Wrap(apperr.Invalid, dialErr, "bad request"), false, http.StatusBadRequest},
		{"client gone", fmt.Errorf("read upload: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true, http.StatusInternalServerError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			r := httptest.NewRequest(http.MethodGet, "/api/v1/user", nil)
			if c.gone {
				ctx, cancel := context.WithCancel(r.Context())
				cancel()
				r = r.WithContext(ctx)
			}
			w := httptest.NewRecorder()
			common.WriteError(log, common.WritePlain, w, r, c.err)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d", w.Code, c.want)
			}
			if c.want != http.StatusServiceUnavailable {
				if w.Header().Get("Retry-After") != "" {
					t.Fatalf("Retry-After %q on a %d", w.Header().Get("Retry-After"), w.Code)
				}
				return
			}
			if got := w.Header().Get("Retry-After"); got != "5" {
				t.Fatalf("Retry-After = %q, want 5", got)
			}
			if body := w.Body.String(); body != "database unavailable, try again later\n" {
				t.Fatalf("body %q: the cause must stay hidden", body)
			}
			if logged := buf.String(); !strings.Contains(logged, "level=ERROR") || !strings.Contains(logged, "database unavailable") || strings.Count(logged, "\n") != 1 {
				t.Fatalf("want one error line naming the outage, got %q", logged)
			}
		})
	}
}

// The object storage marks its outages itself; they answer 503 with
// Retry-After and hide the cause, also when a service labelled them
// internal.
func TestWriteErrorStorageUnavailable(t *testing.T) {
	cause := &storage.UnavailableError{Err: errors.New(`stat blob: Head "http://10.0.0.9:9000/wharf/x": dial tcp 10.0.0.9:9000: connect: connection refused`)}
	for _, err := range []error{
		fmt.Errorf("store package file: %w", cause),
		apperr.Wrap(apperr.Internal, cause, "build archive"),
	} {
		w := httptest.NewRecorder()
		common.WriteError(slog.New(slog.DiscardHandler), common.WritePlain, w, httptest.NewRequest(http.MethodPut, "/", nil), err)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" || w.Body.String() != "storage unavailable, try again later\n" {
			t.Fatalf("%v: status %d, Retry-After %q, body %q", err, w.Code, w.Header().Get("Retry-After"), w.Body.String())
		}
	}
}
