package tests

import (
	"net/http"
	"strings"
	"testing"

	"wharf/modules/packages/rubygems/gemtest"
)

// TestReview12OddPlatforms: odd platforms are refused with a 4xx or
// accepted with a file, a quick gemspec and an info line that agree.
func TestReview12OddPlatforms(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	for i, plat := range []string{
		"platform: x86_64-linux-musl", "platform: universal-darwin-22", "platform: java", "platform: X86_64-LINUX",
		"platform: mswin32-60", "platform: x86-mingw32", "platform: current", "platform: ''", "platform: 'x86_64 linux'",
		"platform: !ruby/object:Gem::Platform\n  cpu: x86_64\n  os: linux\n  version:", "platform: ../../x", "platform: a,b", "platform: 'a|b'",
		"platform: x86_64-linux-gnu", "platform: arm64-darwin", "platform: \"\\u00e9\"",
	} {
		ver := "1.0." + string(rune('0'+i%10)) + string(rune('a'+i))
		st, body := s.pushGem(t, "alice", key, gemtest.Gem(gemtest.Replace(gemtest.Metadata("odd", ver), "platform", plat)))
		if st >= 500 || st != 200 && st/100 != 4 {
			t.Errorf("%q: %d %s", plat, st, body)
			continue
		}
		if st != 200 {
			t.Logf("%q: %d %s", plat, st, strings.TrimSpace(body))
			continue
		}
		t.Logf("%q: 200 %s", plat, strings.TrimSpace(body))
		// "Successfully registered gem: odd (VER-PLAT)"
		full := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(body), "Successfully registered gem: odd ("), ")")
		for _, p := range []string{"gems/odd-" + full + ".gem", "quick/Marshal.4.8/odd-" + full + ".gemspec.rz"} {
			if st, _, b := s.do(t, "GET", gemsPath("alice")+p, "", nil); st != http.StatusOK {
				t.Errorf("%q: %s: %d %q", plat, p, st, b)
			}
		}
	}
	v := review12CheckIndex(t, s, "alice", "odd platforms", "")
	_, _, info := s.do(t, "GET", gemsPath("alice")+"info/odd", "", nil)
	t.Logf("versions:\n%s\ninfo:\n%s", v, info)
}
