package validation_test

import (
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/validation"
)

func TestOwnerName(t *testing.T) {
	good := []string{"a", "bob", "Bob", "team-42", "a.b", "a_b", "x1", strings.Repeat("a", 40), "admins", "user1"}
	for _, n := range good {
		if err := validation.OwnerName(n); err != nil {
			t.Errorf("OwnerName(%q) = %v", n, err)
		}
	}
	bad := []string{"", strings.Repeat("a", 41), "-bob", "bob-", ".bob", "bo--b", "bo.-b", "bo b", "bób", "bob/x",
		"..", "api", "API", "admin", "-", "user", "org", "assets", "bob.git", "bob.keys", "a\x00b", "%2e%2e"}
	for _, n := range bad {
		err := validation.OwnerName(n)
		if apperr.KindOf(err) != apperr.Unprocessable {
			t.Errorf("OwnerName(%q) = %v, want unprocessable", n, err)
		}
	}
}

func TestEmail(t *testing.T) {
	for _, e := range []string{"a@b", "first.last+tag@example.co.uk"} {
		if err := validation.Email(e); err != nil {
			t.Errorf("Email(%q) = %v", e, err)
		}
	}
	for _, e := range []string{"", "nobody", "a@b@c", "a b@c", "<a@b>", strings.Repeat("a", 250) + "@b.com"} {
		if validation.Email(e) == nil {
			t.Errorf("Email(%q) accepted", e)
		}
	}
}

func FuzzOwnerName(f *testing.F) {
	f.Add("bob")
	f.Add("../etc")
	f.Fuzz(func(t *testing.T, name string) {
		err := validation.OwnerName(name)
		if err != nil {
			if apperr.KindOf(err) != apperr.Unprocessable {
				t.Fatalf("unexpected kind for %q: %v", name, err)
			}
			return
		}
		if strings.ContainsAny(name, "/\\\x00 ") || strings.Contains(name, "..") || len(name) > validation.MaxNameLength {
			t.Fatalf("accepted unsafe name %q", name)
		}
	})
}

func TestRepoName(t *testing.T) {
	for _, n := range []string{"wharf", "my-lib", "lib_2", "a.b", ".dotfiles", "x", strings.Repeat("r", 100)} {
		if err := validation.RepoName(n); err != nil {
			t.Errorf("RepoName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", "-", "a/b", "../x", "%2e%2e", "a b", "repo.git", "x.WIKI", strings.Repeat("r", 101), "a\x00"} {
		if apperr.KindOf(validation.RepoName(n)) != apperr.Unprocessable {
			t.Errorf("RepoName(%q) accepted", n)
		}
	}
}

func FuzzRepoName(f *testing.F) {
	f.Add("wharf")
	f.Fuzz(func(t *testing.T, name string) {
		if validation.RepoName(name) == nil && (name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || strings.HasSuffix(strings.ToLower(name), ".git")) {
			t.Fatalf("accepted unsafe %q", name)
		}
	})
}

func TestStorableText(t *testing.T) {
	for s, want := range map[string]bool{"": true, "acme/lib": true, "ünïcödé": true, "a\x00b": false, "a\xffb": false, "\xc3": false} {
		if got := validation.StorableText(s); got != want {
			t.Errorf("StorableText(%q) = %v, want %v", s, got, want)
		}
	}
}
