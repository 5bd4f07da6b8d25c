package tests

import (
	"strings"
	"testing"
)

// TestReview12YankForms: gem yank bodies with bad fields are a 4xx in
// plain text, never a 5xx, and change nothing.
func TestReview12YankForms(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	b, _ := gemFixture(t, "hola-1.0.0.gem")
	s.mustPushGem(t, "alice", key, b)
	_, _, before := s.do(t, "GET", gemsPath("alice")+"versions", "", nil)
	for _, body := range []string{
		"gem_name=hola&version=1.0.0&platform=%00",
		"gem_name=hola&version=1.0.0&platform=%ff",
		"gem_name=hola&version=1.0.0&platform=" + strings.Repeat("x", 70000),
		"gem_name=hola&version=1.0.0&platform=java",
		"gem_name=hola&version=1.0",
		"gem_name=Hola&version=1.0.0",
		"gem_name=hola&version=1.0.0.a%00",
		"gem_name=" + strings.Repeat("h", 5000) + "&version=1.0.0",
		"gem_name=hola&version=" + strings.Repeat("1.", 3000) + "0",
		"gem_name=hola&version=1.0.0&platform=ruby%0a",
		"gem_name=hola&version=%zz",
		"gem_name=hola&gem_name=x&version=1.0.0&platform=x86_64-linux",
		"gem_name=..&version=1.0.0",
	} {
		st, hdr, resp := s.do(t, "DELETE", gemsPath("alice")+"api/v1/gems/yank", body,
			map[string]string{"Authorization": key, "Content-Type": "application/x-www-form-urlencoded"})
		short := body
		if len(short) > 80 {
			short = short[:80]
		}
		if st < 400 || st >= 500 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %s %q", short, st, hdr.Get("Content-Type"), resp)
		}
	}
	for _, p := range []string{"/api/v1/packages/alice/rubygems/hola%00/1.0.0/-/yank", "/api/v1/packages/alice/rubygems/hola/1.0.0%ff/-/yank", "/api/v1/packages/alice/rubygems/hola/1.0.0%00/-/unyank"} {
		st, _, resp := s.do(t, "POST", p, "", map[string]string{"Authorization": "token " + key})
		if st < 400 || st >= 500 {
			t.Errorf("%s: %d %q", p, st, resp)
		}
	}
	if _, _, after := s.do(t, "GET", gemsPath("alice")+"versions", "", nil); after != before {
		t.Errorf("versions changed:\n%s", after)
	}
}
