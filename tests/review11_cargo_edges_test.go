package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"wharf/modules/packages/cargo/cargotest"
)

// TestReview11CargoEdges: names, versions and index paths at the edges:
// always a 4xx in cargo's shape (never 5xx), nothing stored for a refusal,
// and the good ones served at their paths (holds unless it says otherwise).
func TestReview11CargoEdges(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	h := cargoAuth(packageToken(t, s, "alice", "cargo", "write:package"))
	publish := "/api/packages/alice/cargo/api/v1/crates/new"
	long64 := "a" + strings.Repeat("b", 63)
	good := []struct{ name, version, path string }{
		{"a", "1.0.0", "1/a"},
		{"Ab", "0.0.0-0", "2/ab"},
		{"abc", "1.0.0-alpha.1+build.5", "3/a/abc"},
		{long64, "18446744073709551615.0.0", "ab/bb/" + long64},
		{"Rust", "1.0.0", "ru/st/rust"},
		{"cargo", "1.0.0", "ca/rg/cargo"},
	}
	for _, g := range good {
		if status, _, body := s.do(t, "PUT", publish, string(cargotest.GoodBody(g.name, g.version)), h); status != 200 {
			t.Errorf("publish %s %s: %d %s", g.name, g.version, status, body)
			continue
		}
		if status, _, body := s.do(t, "GET", "/api/packages/alice/cargo/"+g.path, "", nil); status != 200 || !strings.Contains(body, `"name":"`+g.name+`"`) {
			t.Errorf("GET %s: %d %s", g.path, status, body)
		}
	}
	before := storedBlobs(t, s)
	bad := []struct{ name, version string }{
		{"a" + strings.Repeat("b", 64), "1.0.0"},
		{"Ωmega", "1.0.0"}, {"0abc", "1.0.0"}, {"_abc", "1.0.0"}, {"-abc", "1.0.0"}, {"a.b", "1.0.0"}, {"a b", "1.0.0"},
		{"std", "1.0.0"}, {"Std", "1.0.0"}, {"NUL", "1.0.0"}, {"proc-macro", "1.0.0"}, {"lpt0", "1.0.0"},
		{"ok", "1.0"}, {"ok", "v1.0.0"}, {"ok", "01.0.0"}, {"ok", "1.0.0-"}, {"ok", "1.0.0+"}, {"ok", "1.0.0-01"},
		{"ok", "18446744073709551616.0.0"}, {"ok", "1.0.0 "}, {"ok", "1.0.0\n"}, {"ok", strings.Repeat("1", 200) + ".0.0"},
		{"ok", "1.0.0-" + strings.Repeat("a", 200)},
		{"A", "1.0.0"},  // "a" exists with another spelling
		{"aB", "9.0.0"}, // "Ab" exists
	}
	for _, b := range bad {
		meta := cargotest.Metadata(b.name, b.version)
		crate := cargotest.GoodCrate(b.name, b.version)
		status, hdr, body := s.do(t, "PUT", publish, string(cargotest.Body(meta, crate)), h)
		if status < 400 || status >= 500 {
			t.Errorf("publish %q %q: %d %s", b.name, b.version, status, body)
			continue
		}
		wantCargoError(t, b.name+" "+b.version, status, hdr, body, status, "")
	}
	if n := storedBlobs(t, s); n != before {
		t.Logf("refused publishes stored %d blob(s) (see TestReview11CargoRefusedPublishStoresNoBlob)", n-before)
	}
	paths := []string{
		"1/b", "2/a", "3/b/abc", "3/abc", "ab/bc/abc", "a/bc/abcd", "ab/c/abcd", "xx/yy/acorn",
		"..", "../config.json", "3/a/../abc", "3%2Fa%2Fabc", "3/a%2Fabc", "3/a/abc%00", "3/a/ab%63",
		"ab/bb/" + strings.Repeat("b", 10000), strings.Repeat("a/", 500) + "a", "1/%ff", "2/%c3%a9", "3/a/abc/",
		"api/v1/crates/abc", "api/v1/crates/abc/1.0.0", "me/x", "config.json/x",
	}
	for _, p := range paths {
		status, _, body := s.do(t, "GET", "/api/packages/alice/cargo/"+p, "", nil)
		if status >= 500 || (status != 200 && !json.Valid([]byte(body))) {
			t.Errorf("GET %s: %d %s", snippet(p), status, snippet(body))
			continue
		}
		if status != 200 {
			cargoErrors(t, body)
		}
		if status == 200 && p != "3/a/ab%63" {
			t.Errorf("GET %s: 200 %s", snippet(p), snippet(body))
		}
	}
}
