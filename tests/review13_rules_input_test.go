package tests

import (
	"net/http"
	"strings"
	"testing"
)

// TestReview13RuleHugeRemoveDays: remove_days is "remove only versions
// older than this many days". A huge value (an owner's "never by age")
// overflows time.Duration(r.RemoveDays)*24*time.Hour in selectVersions,
// the cutoff lands in the future or the far past at random, and a version
// published a moment ago must not be removed either way.
func TestReview13RuleHugeRemoveDays(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	if status, _, got := s.do(t, "PUT", "/api/packages/acme/generic/lib/1.0/a.bin", "fresh bytes", h); status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, got)
	}
	// 200000 days * 24h overflowed int64 nanoseconds (max ~106751 days):
	// such a rule is refused now, naming the field; the largest accepted
	// value removes nothing published now.
	if status, _, got := s.do(t, "POST", "/api/v1/packages/acme/-/rules", `{"type":"generic","remove_days":200000}`, h); status != http.StatusUnprocessableEntity || !strings.Contains(got, "remove_days") {
		t.Fatalf("remove_days=200000: %d %s, want 422 naming remove_days", status, got)
	}
	preview, run := ruleCall(t, s, "acme", "generic", `"remove_days":36500`, h)
	if len(preview.Remove) != 0 || len(run.Remove) != 0 {
		t.Fatalf("a version published now is removed by remove_days=36500: preview %s, run %s", preview.versions(), run.versions())
	}
	if status, _, got := s.do(t, "GET", "/api/packages/acme/generic/lib/1.0/a.bin", "", h); status != http.StatusOK {
		t.Fatalf("download after the run: %d %s", status, got)
	}
}

// TestReview13RuleHugeNumbers: keep_count and remove_days beyond the
// database column's range are bad input (a 4xx naming the field), never
// a 5xx (the columns are INT, 32-bit on PostgreSQL; Go's int is 64-bit).
func TestReview13RuleHugeNumbers(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	for _, c := range []struct{ field, body string }{
		{"keep_count", `{"type":"npm","keep_count":3000000000}`},
		{"remove_days", `{"type":"composer","remove_days":3000000000}`},
		{"keep_count", `{"type":"cargo","keep_count":1e30}`},
	} {
		status, _, got := s.do(t, "POST", "/api/v1/packages/acme/-/rules", c.body, h)
		if status >= 500 {
			t.Errorf("%s: %d %s", c.body, status, got)
		} else if status == http.StatusCreated {
			// Accepted: it must then read back as written.
			t.Logf("%s accepted: %s", c.body, got)
		} else if !strings.Contains(got, c.field) {
			t.Errorf("%s: %d %s (does not name %s)", c.body, status, got, c.field)
		}
	}
}
