package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTemplatesRender parses every template and renders each page with a
// full view model, so that a typo fails here and not at start-up or on a
// request.
func TestTemplatesRender(t *testing.T) {
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	base := page{Title: "T", RootURL: "http://x/", WharfVersion: "1.0", Viewer: &viewer{Name: "alice", IsAdmin: true, Session: true}, Flash: "done"}
	cases := []struct {
		name string
		data any
		want string
	}{
		{"home", homePage{page: base, ShowInstance: true, DBType: "sqlite3", Users: 2, Orgs: 1}, "2 user(s), 1 organisation(s)"},
		{"error", errorPage{page: base, Status: 404, StatusText: "Not Found", Message: "no such thing"}, "no such thing"},
		{"user/login", signInPage{page: page{Title: "Sign in", RootURL: "http://x/"}, RedirectTo: "/a", Error: "Wrong"}, `name="redirect_to" value="/a"`},
		{"user/change_password", changePasswordPage{page: base, Forced: true}, "must change its password"},
		{"owner", ownerPage{page: base, Owner: "alice", OwnerPath: "alice", Repos: []repoItem{{Name: "lib", Path: "alice/lib", Private: true}}}, `href="http://x/alice/lib"`},
		{"owner", ownerPage{page: base, Owner: "alice", OwnerPath: "alice", ReposHidden: true, Repos: []repoItem{{Name: "lib", Path: "alice/lib"}}}, "lacks read:repository"},
		{"repo", repoPage{page: base, Owner: "alice", Name: "lib", CloneURL: "http://x/alice/lib.git", DefaultBranch: "main", Branches: []string{"main"}, Tags: []string{"v1"}}, "git clone http://x/alice/lib.git"},
		{"packages", packagesPage{page: base, Owner: "alice", Items: []packageItem{{Type: "npm", Name: "@a/b", Version: "1.0.0", Path: "alice/-/packages/npm/@a%2Fb/1.0.0"}}, Total: 3, More: true}, "first 1 of 3"},
		{"package", packageVersionPage{page: base, Owner: "alice", Name: "x", Version: "1", Files: []fileItem{{Name: "x.tgz", SHA256: "abc", Size: 9}}}, "x.tgz"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, c.name, c.data); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(buf.String(), c.want) {
			t.Fatalf("%s lacks %q:\n%s", c.name, c.want, buf.String())
		}
		// The header and the footer show Wharf's version, whatever version the page is
		// about (a package's must not hide it).
		if c.name != "user/login" && (!strings.Contains(buf.String(), "Wharf 1.0 ·") || !strings.Contains(buf.String(), `title="Wharf's version">1.0</span>`)) {
			t.Fatalf("%s: the footer lacks Wharf's version:\n%s", c.name, buf.String())
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"lib-1.0.tgz":      "lib-1.0.tgz",
		"a b.txt":          "'a b.txt'",
		"$(id);echo pwned": "'$(id);echo pwned'",
		"it's":             `'it'\''s'`,
		"":                 "''",
		"x\ny":             "'x\ny'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSafeRedirect(t *testing.T) {
	for in, want := range map[string]string{
		"/alice/-/packages?type=npm": "/alice/-/packages?type=npm",
		"//evil.example/":            "/",
		"/\\evil.example":            "/",
		"/\t/evil.example/":          "/",
		"/\n/evil.example/":          "/",
		"/ /evil":                    "/",
		"https://evil.example/":      "/",
		"javascript:alert(1)":        "/",
		"":                           "/",
	} {
		if got := safeRedirect(in); got != want {
			t.Errorf("safeRedirect(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIdent: registry names in client configurations (cargo's) are made
// of letters, digits, - and _, and start with a letter.
func TestIdent(t *testing.T) {
	for in, want := range map[string]string{"acme": "acme", "my.org": "my-org", "1acme": "wharf-1acme", "_x": "wharf-_x", "Ab_c-9": "Ab_c-9"} {
		if got := ident(in); got != want {
			t.Errorf("ident(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPanicIsAnHTMLPage: a page handler's panic is answered with the 500
// page and the site's navigation, not plain text or a dropped connection.
func TestPanicIsAnHTMLPage(t *testing.T) {
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{tmpl: tmpl, d: Deps{Log: slog.New(slog.DiscardHandler), RootURL: "http://x/", Version: "1.0"}}
	rec := httptest.NewRecorder()
	h.recoverPanic(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "<h1>500") || !strings.Contains(body, `<nav aria-label="Site">`) || strings.Contains(body, "boom") {
		t.Fatalf("panic answered %d %q:\n%s", rec.Code, rec.Header().Get("Content-Type"), body)
	}
}

// TestPastEndOnEveryList: every list with a pager says when the page
// asked is past its end, with a link to the first page.
func TestPastEndOnEveryList(t *testing.T) {
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	past := pager{Page: 9, PageSize: 20, Total: 3, FirstURL: "http://x/first"}
	base := page{Title: "T", RootURL: "http://x/", WharfVersion: "1.0", Viewer: &viewer{Name: "root", IsAdmin: true, Session: true}}
	for name, data := range map[string]any{
		"repo/packages":         repoPackagesPage{repoPage: repoPage{page: base}, Pager: past},
		"settings/applications": applicationsPage{page: base, Pager: past},
		"admin/users":           adminOwnersPage{adminPage: adminPage{page: base}, Pager: past},
		"admin/orgs":            adminOwnersPage{adminPage: adminPage{page: base}, Pager: past},
		"admin/packages":        adminPackagesPage{adminPage: adminPage{page: base}, Pager: past},
	} {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(buf.String(), `Page 9 is past the end of this list (3 in all). <a href="http://x/first">Go to the first page</a>`) {
			t.Errorf("%s does not say the page is past the end:\n%s", name, buf.String())
		}
	}
}
