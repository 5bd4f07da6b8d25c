package common_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wharf/modules/apperr"
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
