package tests

import (
	"fmt"
	"strings"
	"testing"
)

// TestReview11CargoAuthzTable prints who gets what on every Cargo route
// and the git index, per organisation visibility and caller (the columns of
// the authorization matrix), and checks the rules the README states.
func TestReview11CargoAuthzTable(t *testing.T) {
	s := newServer(t)
	f := newAuthzFixture(t, s)
	admin := cargoAuth(s.AdminToken)
	for _, o := range matrixOrgs {
		base := "/api/packages/" + o.name + "/cargo"
		for _, v := range []string{"1.0.0", "1.0.1"} {
			if status, _, body := s.do(t, "PUT", base+"/api/v1/crates/new", cargoPublishBody("acorn", v), admin); status != 200 {
				t.Fatalf("publish: %d %s", status, body)
			}
		}
		if status, _, body := s.do(t, "POST", "/api/v1/packages/"+o.name+"/cargo/-/index", "", tokenHeader(s.AdminToken)); status != 201 {
			t.Fatalf("index: %d %s", status, body)
		}
	}
	// Cargo sends the token bare; the fixture's headers are "token X".
	hdr := func(c int) map[string]string {
		h := f.headers[c]
		if v, ok := h["Authorization"]; ok && strings.HasPrefix(v, "token ") {
			return cargoAuth(strings.TrimPrefix(v, "token "))
		}
		return h
	}
	routes := []struct{ method, path, body string }{
		{"GET", "/cargo/config.json", ""},
		{"GET", "/cargo/ac/or/acorn", ""},
		{"GET", "/cargo/api/v1/crates?q=ac", ""},
		{"GET", "/cargo/api/v1/crates/acorn/owners", ""},
		{"PUT", "/cargo/api/v1/crates/acorn/owners", `{"users":["owner"]}`},
		{"GET", "/cargo/api/v1/crates/acorn/1.0.0/download", ""},
		{"HEAD", "/cargo/api/v1/crates/acorn/1.0.0/download", ""},
		{"DELETE", "/cargo/api/v1/crates/acorn/1.0.1/yank", ""},
		{"PUT", "/cargo/api/v1/crates/acorn/1.0.1/unyank", ""},
		{"GET", "/cargo/me", ""},
		{"GET", "/cargo/nonexistent/path/x/y", ""},
	}
	var out strings.Builder
	fmt.Fprintf(&out, "%-60s", "")
	for c := 0; c < nCallers; c++ {
		fmt.Fprintf(&out, " %5.5s", callerNames[c])
	}
	out.WriteString("\n")
	for _, o := range matrixOrgs {
		for _, r := range routes {
			fmt.Fprintf(&out, "%-60s", r.method+" "+o.name+r.path)
			for c := 0; c < nCallers; c++ {
				status, h, body := s.do(t, r.method, "/api/packages/"+o.name+r.path, r.body, hdr(c))
				fmt.Fprintf(&out, " %5d", status)
				if status >= 500 {
					t.Errorf("%s %s as %s: %d %s", r.method, r.path, callerNames[c], status, body)
				}
				if status >= 400 && r.method != "HEAD" && !strings.HasSuffix(r.path, "/me") {
					cargoErrors(t, body)
				}
				if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Cargo login_url=") {
					t.Errorf("%s %s as %s: 401 without the Cargo challenge", r.method, r.path, callerNames[c])
				}
			}
			out.WriteString("\n")
		}
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/v1/packages/" + o.name + "/cargo/-/index"},
			{"POST", "/api/v1/packages/" + o.name + "/cargo/-/index/rebuild"},
			{"GET", "/" + o.name + "/_cargo-index.git/info/refs?service=git-upload-pack"},
			{"GET", "/" + o.name + "/_cargo-index.git/info/refs?service=git-receive-pack"},
		} {
			fmt.Fprintf(&out, "%-60s", r.method+" "+strings.TrimPrefix(r.path, "/api/v1"))
			for c := 0; c < nCallers; c++ {
				status, _, _ := s.do(t, r.method, r.path, "", f.headers[c])
				fmt.Fprintf(&out, " %5d", status)
			}
			out.WriteString("\n")
		}
	}
	t.Log("\n" + out.String())
}
