package apperr_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"wharf/modules/apperr"
)

func TestKindOfAndPublicMessage(t *testing.T) {
	sentinel := apperr.New(apperr.NotFound, "user does not exist")
	wrapped := fmt.Errorf("load owner %q from table user: %w", "bob", sentinel)
	if got := apperr.KindOf(wrapped); got != apperr.NotFound {
		t.Fatalf("KindOf = %v, want not found", got)
	}
	if !errors.Is(wrapped, sentinel) {
		t.Fatal("errors.Is lost the sentinel through wrapping")
	}
	if got := apperr.PublicMessage(wrapped); got != "user does not exist" {
		t.Fatalf("PublicMessage = %q: callers' context must not leak", got)
	}
	plain := errors.New("pq: relation \"user\" does not exist")
	if apperr.KindOf(plain) != apperr.Internal || apperr.PublicMessage(plain) != "internal error" {
		t.Fatal("an unclassified error must be internal and hidden")
	}
	inner := apperr.Wrap(apperr.Invalid, errors.New("unexpected EOF"), "invalid JSON body")
	if got := apperr.PublicMessage(inner); got != "invalid JSON body: unexpected EOF" {
		t.Fatalf("PublicMessage = %q", got)
	}
	hidden := apperr.Wrap(apperr.Internal, errors.New("disk on fire"), "write blob")
	if apperr.PublicMessage(hidden) != "internal error" {
		t.Fatal("internal causes must stay hidden")
	}
}

func TestRetryLater(t *testing.T) {
	err := fmt.Errorf("authenticate: %w", apperr.RetryLater(90*time.Second, "too many failed sign-ins"))
	if apperr.KindOf(err) != apperr.TooManyRequests {
		t.Fatalf("KindOf = %v, want too many requests", apperr.KindOf(err))
	}
	if got := apperr.RetryAfterOf(err); got != 90*time.Second {
		t.Fatalf("RetryAfterOf = %v, want 1m30s", got)
	}
	if got := apperr.PublicMessage(err); got != "too many failed sign-ins" {
		t.Fatalf("PublicMessage = %q", got)
	}
	if apperr.RetryAfterOf(errors.New("plain")) != 0 || apperr.RetryAfterOf(apperr.New(apperr.Invalid, "x")) != 0 {
		t.Fatal("RetryAfterOf of an error without a delay must be 0")
	}
}

func TestUnavailable(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")
	err := fmt.Errorf("find access token: %w", apperr.WrapUnavailable(cause, 5*time.Second, "database unavailable, try again later"))
	if apperr.KindOf(err) != apperr.Unavailable || apperr.RetryAfterOf(err) != 5*time.Second {
		t.Fatalf("KindOf = %v, RetryAfterOf = %v", apperr.KindOf(err), apperr.RetryAfterOf(err))
	}
	if got := apperr.PublicMessage(err); got != "database unavailable, try again later" {
		t.Fatalf("PublicMessage = %q: the cause names hosts and must stay hidden", got)
	}
	if !errors.Is(err, cause) {
		t.Fatal("the cause must stay in the chain for the log")
	}
	// A classification the caller chose wins.
	conflict := apperr.Wrap(apperr.Conflict, err, "version exists")
	if apperr.KindOf(conflict) != apperr.Conflict || apperr.RetryAfterOf(conflict) != 0 {
		t.Fatalf("conflict wrapping an outage: KindOf = %v", apperr.KindOf(conflict))
	}
}
