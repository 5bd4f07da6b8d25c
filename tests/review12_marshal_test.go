package tests

import (
	"net/http"
	"strings"
	"testing"

	"wharf/modules/packages/rubygems/gemtest"
)

func review12Specs(t *testing.T, s *server, owner, file string) string {
	t.Helper()
	st, _, body := s.do(t, "GET", gemsPath(owner)+file, "", nil)
	if st != http.StatusOK {
		t.Fatalf("%s: %d", file, st)
	}
	return strings.TrimSpace(string(gemtest.RunRuby(t, []byte(body),
		`require "zlib"; require "rubygems"; puts Marshal.load(Zlib.gunzip($stdin.read)).map { |n, v, p| [n, v.to_s, p].join(" ") }.sort.join(";")`)))
}

// TestReview12MarshalAfterChanges: the Marshal indexes follow yank,
// unyank and removal through the packages API.
func TestReview12MarshalAfterChanges(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	api := map[string]string{"Authorization": "token " + key}
	for _, f := range []string{"hola-1.0.0.gem", "hola-1.0.0-x86_64-linux.gem", "hola-2.0.0.beta1.gem", "tiny-0.1.2.gem"} {
		b, _ := gemFixture(t, f)
		s.mustPushGem(t, "alice", key, b)
	}
	check := func(step, specs, latest, pre string) {
		t.Helper()
		for _, c := range [][2]string{{"specs.4.8.gz", specs}, {"latest_specs.4.8.gz", latest}, {"prerelease_specs.4.8.gz", pre}} {
			if got := review12Specs(t, s, "alice", c[0]); got != c[1] {
				t.Errorf("%s: %s = %q, want %q", step, c[0], got, c[1])
			}
		}
	}
	check("pushed", "hola 1.0.0 ruby;hola 1.0.0 x86_64-linux;tiny 0.1.2 ruby", "hola 1.0.0 ruby;hola 1.0.0 x86_64-linux;tiny 0.1.2 ruby", "hola 2.0.0.beta1 ruby")
	if st, _, b := s.do(t, "POST", "/api/v1/packages/alice/rubygems/hola/1.0.0/-/yank", "", api); st/100 != 2 {
		t.Fatalf("yank %d %s", st, b)
	}
	check("api yank", "tiny 0.1.2 ruby", "tiny 0.1.2 ruby", "hola 2.0.0.beta1 ruby")
	if st, _, _ := s.do(t, "GET", gemsPath("alice")+"quick/Marshal.4.8/hola-1.0.0.gemspec.rz", "", nil); st != http.StatusOK {
		t.Logf("quick gemspec of a yanked version: %d", st)
	}
	if st, _, b := s.do(t, "POST", "/api/v1/packages/alice/rubygems/hola/1.0.0/-/unyank", "", api); st/100 != 2 {
		t.Fatalf("unyank %d %s", st, b)
	}
	check("api unyank", "hola 1.0.0 ruby;hola 1.0.0 x86_64-linux;tiny 0.1.2 ruby", "hola 1.0.0 ruby;hola 1.0.0 x86_64-linux;tiny 0.1.2 ruby", "hola 2.0.0.beta1 ruby")
	if st, _, b := s.do(t, "DELETE", "/api/v1/packages/alice/rubygems/tiny/0.1.2", "", api); st/100 != 2 {
		t.Fatalf("delete %d %s", st, b)
	}
	check("api delete", "hola 1.0.0 ruby;hola 1.0.0 x86_64-linux", "hola 1.0.0 ruby;hola 1.0.0 x86_64-linux", "hola 2.0.0.beta1 ruby")
	if st, _, b := s.do(t, "DELETE", "/api/v1/packages/alice/rubygems/hola/1.0.0", "", api); st/100 != 2 {
		t.Fatalf("delete %d %s", st, b)
	}
	check("api delete of 1.0.0, the beta left", "", "", "hola 2.0.0.beta1 ruby")
	if st, _, _ := s.do(t, "GET", gemsPath("alice")+"quick/Marshal.4.8/hola-1.0.0.gemspec.rz", "", nil); st != http.StatusNotFound {
		t.Errorf("quick gemspec of a removed version: %d", st)
	}
}
