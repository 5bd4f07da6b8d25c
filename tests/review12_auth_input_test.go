package tests

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestReview12AuthHeaders: odd Authorization headers and multipart bodies
// on push and sign-in are a 4xx, never a 5xx.
func TestReview12AuthHeaders(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	gem, _ := gemFixture(t, "tiny-0.1.2.gem")
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, auth := range []string{"Bearer", "Bearer ", "token \xff\xfe", strings.Repeat("a", 9000), b64("al\x00ice:x"), b64("\xff:x"), b64("alice:\x00"), b64("alice"), "Basic %%%"} {
		for _, p := range []string{"api/v1/gems", "api/v1/api_key"} {
			st, _, body := s.do(t, "POST", gemsPath("alice")+p, string(gem), map[string]string{"Authorization": auth, "Content-Type": "application/octet-stream"})
			if st < 400 || st >= 500 {
				t.Errorf("%s with %q: %d %q", p, auth[:min(len(auth), 30)], st, body)
			}
		}
	}
	for _, ct := range []string{"multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=x"} {
		st, _, body := s.do(t, "POST", gemsPath("alice")+"api/v1/gems", "--x\r\nContent-Disposition: form-data; name=\"gem\"\r\n\r\n"+string(gem[:100]), map[string]string{"Authorization": key, "Content-Type": ct})
		if st < 400 || st >= 500 {
			t.Errorf("multipart %q: %d %q", ct, st, body)
		}
	}
}
