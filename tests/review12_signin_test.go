package tests

import (
	"encoding/base64"
	"net/http"
	"testing"
)

// TestReview12SignInBadName: gem signin's form with a key name PostgreSQL
// cannot store (NUL, invalid UTF-8) must be a 4xx in plain text, never a
// 5xx, and mint nothing.
func TestReview12SignInBadName(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice-password"))
	for _, body := range []string{"name=a%00b&push_rubygem=true", "name=%ff%fe&push_rubygem=true", "name=%c2&index_rubygems=true", "name=%1b%5b31m&push_rubygem=true"} {
		st, hdr, b := s.do(t, "POST", gemsPath("alice")+"api/v1/api_key", body,
			map[string]string{"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"})
		if st >= 500 || st == http.StatusOK {
			t.Errorf("%s: %d %q (%s), want a 4xx", body, st, b, hdr.Get("Content-Type"))
		}
	}
}
