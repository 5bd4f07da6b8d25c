package tests

import (
	"fmt"
	"strings"
	"testing"

	"wharf/modules/packages/rubygems/gemtest"
)

// TestRubyGemsAuthzMatrix puts the RubyGems routes through the
// authorization matrix's callers (anonymous, a user with no role, read and
// write members, the organisation's owner, an administrator, and tokens of
// each scope) on a public, a limited and a private organisation: reading
// the index and files, push, gem yank, the packages API's yank, and the
// sign-in that mints a key. An anonymous caller is challenged (401) where
// it may not read, as Bundler needs; a user who may not see the owner gets
// 404; a token without the package scope 403.
func TestRubyGemsAuthzMatrix(t *testing.T) {
	s := newServer(t)
	f := newAuthzFixture(t, s)
	admin := tokenHeader(s.AdminToken)
	gem := func(name string) string { return string(gemtest.Gem(gemtest.Metadata(name, "1.0.0"))) }
	var rows []authzRow
	for _, o := range matrixOrgs {
		vis := o.visibility
		pkgs := "/api/packages/" + o.name + "/rubygems/"
		for _, name := range []string{"seed"} {
			if status, _, body := s.do(t, "POST", pkgs+"api/v1/gems", gem(name), admin); status != 200 {
				t.Fatalf("push %s: %d %s", name, status, body)
			}
		}
		for c := 0; c < nCallers; c++ {
			for _, prefix := range []string{"yk", "uy"} {
				if status, _, body := s.do(t, "POST", pkgs+"api/v1/gems", gem(fmt.Sprintf("%s%d", prefix, c)), admin); status != 200 {
					t.Fatalf("push: %d %s", status, body)
				}
			}
		}
		read := pick(vis,
			w(200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
			w(401, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
			w(401, 404, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200))
		write := pick(vis,
			w(401, 403, 403, 200, 200, 200, 403, 200, 403, 403, 403, 200),
			w(401, 403, 403, 200, 200, 200, 403, 200, 403, 403, 403, 200),
			w(401, 404, 403, 200, 200, 200, 403, 200, 403, 403, 403, 200))
		rows = append(rows,
			authzRow{method: "HEAD", path: pkgs, want: read},
			authzRow{method: "GET", path: pkgs + "versions", want: read},
			authzRow{method: "GET", path: pkgs + "info/seed", want: read},
			authzRow{method: "GET", path: pkgs + "specs.4.8.gz", want: read},
			authzRow{method: "GET", path: pkgs + "quick/Marshal.4.8/seed-1.0.0.gemspec.rz", want: read},
			authzRow{method: "GET", path: pkgs + "gems/seed-1.0.0.gem", want: read},
			authzRow{method: "POST", path: pkgs + "api/v1/gems", body: func(c int) string { return gem(fmt.Sprintf("pushed%d", c)) }, want: write},
			authzRow{method: "DELETE", path: pkgs + "api/v1/gems/yank", body: func(c int) string { return fmt.Sprintf("gem_name=yk%d&version=1.0.0", c) }, want: write},
			// The packages API: the user's rights, then the token's scope.
			authzRow{method: "POST", path: "/api/v1/packages/" + o.name + "/rubygems/uy{c}/1.0.0/-/yank", want: pick(vis,
				w(401, 403, 403, 204, 204, 204, 403, 204, 403, 403, 403, 204),
				w(401, 403, 403, 204, 204, 204, 403, 204, 403, 403, 403, 204),
				w(401, 404, 403, 204, 204, 204, 403, 204, 403, 403, 403, 204))},
			// A key is minted only for a password.
			authzRow{method: "POST", path: pkgs + "api/v1/api_key", body: func(c int) string { return fmt.Sprintf("name=key-%s-%d&push_rubygem=true", o.name, c) }, want: pick(vis,
				w(401, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403),
				w(401, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403),
				w(401, 404, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403))},
		)
	}
	cases := 0
	for _, row := range rows {
		for c := 0; c < nCallers; c++ {
			cases++
			path := strings.ReplaceAll(row.path, "{c}", fmt.Sprint(c))
			body := ""
			if row.body != nil {
				body = row.body(c)
			}
			status, _, got := s.do(t, row.method, path, body, f.headers[c])
			if status != row.want[c] {
				t.Errorf("%s %s as %s: status %d, want %d: %s", row.method, path, callerNames[c], status, row.want[c], snippet(got))
			}
		}
	}
	t.Logf("%d authorization cases", cases)
}
