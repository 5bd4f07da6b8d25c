package git_test

import (
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/git"
)

func TestValidRefName(t *testing.T) {
	for _, ok := range []string{"main", "v1.2.3", "feature/login", "release-2.0", "a_b", "1.x", "ünïcode"} {
		if err := git.ValidRefName(ok); err != nil {
			t.Errorf("ValidRefName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "@", "..", "a..b", "../etc", "/abs", "a/", "-x", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b",
		"a\x00b", "a\nb", "x.lock", "a/.hidden", "a//b", "a@{1}", "end.", strings.Repeat("a", 256)} {
		if apperr.KindOf(git.ValidRefName(bad)) != apperr.Invalid {
			t.Errorf("ValidRefName(%q) accepted", bad)
		}
	}
}

func FuzzValidRefName(f *testing.F) {
	f.Add("v1.0.0")
	f.Add("../../etc/passwd")
	f.Fuzz(func(t *testing.T, name string) {
		if err := git.ValidRefName(name); err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("kind %v", apperr.KindOf(err))
			}
			return
		}
		if strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\x00\\ ") {
			t.Fatalf("accepted unsafe %q", name)
		}
	})
}
