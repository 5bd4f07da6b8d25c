package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"wharf/modules/setting"
)

// TestWebBrowser walks through Wharf's pages in a real, headless Chromium
// as a person would, against the real server: a visitor who opens a
// private organisation's package is sent to sign in and back; reads the
// version's install instructions; goes to the repository (its README and
// tag) and its Packages tab; links another package to the repository on
// the package's settings page; creates an access token with check boxes,
// uses it with the API and revokes it; adds a cleanup rule whose preview
// lists exactly what its run removes; is refused a cross-site form post;
// signs out and is refused the package; an administrator runs a cleanup
// task and reads its result. Every step checks what the page says, and the
// main pages are saved as screenshots (WHARF_TEST_ARTIFACTS, else
// tests/artifacts/).
func TestWebBrowser(t *testing.T) {
	requireChromium(t)
	requireClient(t, "git")
	requireClient(t, "curl")
	// Blobs no package file references are collected at once, so that the
	// admin's blobs task has the removed versions' bytes to show.
	s := newServer(t, func(c *setting.Config) { c.Packages.BlobGCGrace = 0 })
	s.createUser(t, "alice")
	alice := basic("alice", "alice-password")
	f := newBrowserFixture(t, s, alice)

	b := newBrowser(t, s.URL, 4*time.Minute)
	version := "/acme/-/packages/generic/widget-cli/1.2.0"
	// step runs one part of the walk; the walk stops at the first that
	// fails, since the next ones build on it.
	step := func(name string, fn func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, func(t *testing.T) { b.t = t; fn(t) }) {
			b.t = t
			t.FailNow()
		}
	}

	// A visitor opens the private package and is sent to sign in, then
	// signs in and comes back to it.
	step("sign in and back", func(t *testing.T) {
		b.openOK(version)
		if loc := b.location(); loc != s.URL+signInRedirect(version) {
			b.fail("the private package sent a visitor to %s, want the sign-in page with redirect_to", loc)
		}
		b.says("h1", "Sign in")
		b.saysNot("main", "widget-cli")
		b.fill("main", "User name or email address", "alice")
		b.fill("main", "Password", "alice-password")
		b.pressOK("main", "Sign in")
		if loc := b.location(); loc != s.URL+version {
			b.fail("after signing in the browser is at %s, want %s", loc, s.URL+version)
		}
		b.says("header", "alice", "Sign out")
		b.saysNot("header", "Sign in")
	})

	step("home", func(t *testing.T) {
		b.openOK("/")
		b.says("h1", "Wharf")
		b.says("main", "Recent repositories", "acme/widgets", "Recent packages", "widget-cli", "widget-js")
		b.says("footer", "Wharf test")
		b.screenshot("home")
	})

	// The version page, reached from the home page by links: what it is,
	// where it comes from, how to install it.
	step("package version", func(t *testing.T) {
		b.openOK("/")
		b.follow("main table", "widget-cli")
		b.says("h1", "acme / widget-cli")
		b.follow("main table", "1.2.0")
		if loc := b.location(); loc != s.URL+version {
			b.fail("the version's link leads to %s, want %s", loc, s.URL+version)
		}
		b.says("h1", "acme / widget-cli 1.2.0")
		if title := b.title(); !strings.Contains(title, "widget-cli") || !strings.Contains(title, "Wharf") {
			b.fail("the title is %q", title)
		}
		b.says("main", "generic package", "from acme/widgets", "Install")
		// The install line works as the page says: copied, with a
		// read:package token in place of USERNAME:TOKEN, curl fetches the
		// file.
		var install string
		for _, l := range strings.Split(b.main(), "\n") {
			if strings.HasPrefix(l, "curl ") {
				install = l
			}
		}
		if !strings.Contains(install, s.URL+"/api/packages/acme/generic/widget-cli/1.2.0/widget-cli-1.2.0.tar.gz") || !strings.Contains(install, "USERNAME:TOKEN") {
			b.fail("the install line reads %q", install)
		}
		tok, _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateAccessToken(gitea.CreateAccessTokenOption{Name: "curl", Scopes: []gitea.AccessTokenScope{"read:package"}})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		cmd := exec.CommandContext(t.Context(), "sh", "-c", strings.NewReplacer("USERNAME", "alice", "TOKEN", tok.Token).Replace(install))
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the page's install line %q: %v\n%s", install, err, out)
		}
		got, err := os.ReadFile(filepath.Join(dir, "widget-cli-1.2.0.tar.gz"))
		if sum := sha256.Sum256(got); err != nil || hex.EncodeToString(sum[:]) != f.sha256["1.2.0"] {
			t.Fatalf("the install line fetched %d bytes that are not widget-cli 1.2.0 (%v)", len(got), err)
		}
		if _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).DeleteAccessToken("curl"); err != nil {
			t.Fatal(err)
		}
		files := b.cells("main table")
		if len(files) != 2 || files[1][0] != "widget-cli-1.2.0.tar.gz" || files[1][2] != f.sha256["1.2.0"] {
			b.fail("the files table reads %q, want widget-cli-1.2.0.tar.gz with SHA-256 %s", files, f.sha256["1.2.0"])
		}
		b.screenshot("package-version")

		// The package's page lists every version, highest first.
		b.follow("h1", "widget-cli")
		b.says("h1", "acme / widget-cli")
		versions := column(b.cells("main table"), 0)
		if !slices.Equal(versions, []string{"Version", "1.2.0", "1.1.0", "1.0.0"}) {
			b.fail("the versions read %q, want 1.2.0, 1.1.0, 1.0.0", versions)
		}
	})

	// The repository, from the package's link, then its Packages tab.
	step("repository and packages tab", func(t *testing.T) {
		b.openOK(version)
		b.follow("main", "acme/widgets")
		if loc := b.location(); loc != s.URL+"/acme/widgets" {
			b.fail("the repository link leads to %s", loc)
		}
		b.says("h1", "acme / widgets", "private")
		b.says("main", "git clone "+s.URL+"/acme/widgets.git", "main", "v1.2.0", "README.md",
			"Widgets for everyone", "Build widgets fast.")
		// The README is rendered: its bold word is bold, its list a list.
		if n := b.text(".markdown strong"); n != "fast" {
			b.fail("the README's bold text reads %q, want %q", n, "fast")
		}
		if items := b.text(".markdown li"); items != "sprockets\ncogs" {
			b.fail("the README's list reads %q", items)
		}
		b.screenshot("repository")

		b.follow("nav.tabs", "Packages")
		if loc := b.location(); loc != s.URL+"/acme/widgets/packages" {
			b.fail("the Packages tab is %s", loc)
		}
		rows := b.cells("main table")
		if len(rows) != 2 || rows[1][0] != "widget-cli" || rows[1][2] != "generic" || rows[1][3] != "1.2.0" {
			b.fail("the Packages tab lists %q, want widget-cli (generic, 1.2.0) alone", rows)
		}
		b.follow("main table", "widget-cli")
		b.says("h1", "acme / widget-cli")
		b.screenshot("packages-tab-package")
	})

	// widget-js is not linked yet: link it on its settings page, then the
	// tab lists it too.
	step("link a repository", func(t *testing.T) {
		b.openOK("/acme/-/packages/npm/widget-js/settings")
		b.says("h1", "Settings of widget-js")
		b.says("main", "Not linked to a repository.")
		b.choose("main", "Repository of acme", "widgets")
		b.pressOK("main", "Link")
		b.says("main", "Linked to acme/widgets.")
		b.saysNot("main", "Not linked")
		b.screenshot("package-settings")

		b.openOK("/acme/widgets/packages")
		names := column(b.cells("main table"), 0)
		slices.Sort(names)
		if !slices.Equal(names, []string{"Name", "widget-cli", "widget-js"}) {
			b.fail("after linking, the Packages tab lists %q", names)
		}
		b.screenshot("packages-tab")
		// The API sees the same link.
		status, _, body := s.do(t, "GET", "/api/v1/packages/acme/npm/widget-js/1.0.0", "", alice)
		if status != 200 || !strings.Contains(body, `"full_name":"acme/widgets"`) {
			t.Fatalf("the API's view of widget-js: %d %s", status, body)
		}
	})

	// An access token: made with check boxes, shown once, works with the
	// API, revoked, refused.
	step("access token", func(t *testing.T) {
		b.openOK("/user/settings/applications")
		b.says("h1", "Applications")
		b.says("main", "You have no access tokens.")
		b.fill("main", "Token name", "laptop")
		b.tick("main", "read:user")
		b.tick("main", "read:package")
		b.pressOK("main", "Generate token")
		b.says("main", "New access token “laptop”", "it is shown this once", "read:package", "read:user")
		token, err := chromedp.Run(b.ctx, chromedp.Value(b.find("main", "label", "Token", "")))
		if err != nil || len(token) < 20 {
			b.fail("the token field holds %q (%v)", token, err)
		}
		rows := b.cells("main table")
		if len(rows) != 2 || rows[1][0] != "laptop" || !strings.Contains(rows[1][1], "read:user") || !strings.HasSuffix(rows[1][4], token[len(token)-8:]) {
			b.fail("the token list reads %q", rows)
		}

		status, _, body := s.do(t, "GET", "/api/v1/user", "", tokenHeader(token))
		var me struct {
			Login string `json:"login"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &me) != nil || me.Login != "alice" {
			t.Fatalf("the new token on /api/v1/user: %d %s", status, body)
		}
		// Its scopes bound it: it may read packages, not write them.
		if status, _, body := s.do(t, "PUT", "/api/packages/alice/generic/x/1/x.bin", "x", tokenHeader(token)); status != http.StatusForbidden {
			t.Fatalf("a read-only token uploaded: %d %s", status, body)
		}

		// Shown once: the page, loaded again, no longer has it.
		b.openOK("/user/settings/applications")
		if strings.Contains(b.main(), token) {
			b.fail("the token is shown again")
		}
		b.says("main", "laptop")

		b.follow("main", "Revoke “laptop”…")
		b.says("h1", "Revoke access token")
		b.says("main", "laptop", "cannot be undone")
		b.pressOK("main", "Revoke token")
		b.says("main", "You have no access tokens.")
		if status, _, body := s.do(t, "GET", "/api/v1/user", "", tokenHeader(token)); status != http.StatusUnauthorized {
			t.Fatalf("the revoked token on /api/v1/user: %d %s", status, body)
		}
	})

	// A cleanup rule for acme's generic packages that keeps the newest:
	// the preview lists widget-cli 1.1.0 and 1.0.0, the run removes
	// exactly those.
	step("cleanup rule", func(t *testing.T) {
		b.openOK("/org/acme/settings/packages")
		b.says("h1", "Package settings of acme")
		b.says("main", "No cleanup rules.")
		b.follow("main", "Add a cleanup rule")
		b.says("h1", "Add a cleanup rule")
		b.choose("main", "Package type", "generic")
		b.fill("main", "Keep the newest versions", "1")
		b.pressOK("main", "Add rule")
		rules := b.cells("section[aria-labelledby=rules] table")
		if len(rules) != 2 || rules[1][0] != "generic" || rules[1][2] != "1" {
			b.fail("the rules table reads %q, want one generic rule keeping 1", rules)
		}
		b.follow("main", "Preview generic rule")
		b.says("h1", "Cleanup preview: generic packages of acme")
		b.says("main", "Running the rule now would remove 2 version(s)")
		preview := b.cells("table[aria-labelledby=remove]")
		want := [][2]string{{"widget-cli", "1.1.0"}, {"widget-cli", "1.0.0"}}
		if got := pairs(preview); !slices.Equal(got, want) {
			b.fail("the preview lists %q, want %q", got, want)
		}
		b.screenshot("cleanup-preview")

		b.pressOK("main", "Run now: remove these 2 version(s)")
		b.says("h1", "Cleanup run: generic packages of acme")
		b.says("main", "Removed 2 version(s)")
		if got := pairs(b.cells("table[aria-labelledby=remove]")); !slices.Equal(got, want) {
			b.fail("the run removed %q, the preview said %q", got, want)
		}
		b.screenshot("cleanup-run")

		// Exactly those are gone: the API and the package's page agree.
		left := apiVersions(t, s, alice, "acme", "generic", "widget-cli")
		if !slices.Equal(left, []string{"1.2.0"}) {
			t.Fatalf("after the run the API lists widget-cli %v, want [1.2.0]", left)
		}
		if js := apiVersions(t, s, alice, "acme", "npm", "widget-js"); !slices.Equal(js, []string{"1.0.0"}) {
			t.Fatalf("the generic rule touched npm's widget-js: %v", js)
		}
		b.openOK("/acme/-/packages/generic/widget-cli")
		if versions := column(b.cells("main table"), 0); !slices.Equal(versions, []string{"Version", "1.2.0"}) {
			b.fail("after the run the package page lists %q", versions)
		}
		if resp := b.open("/acme/-/packages/generic/widget-cli/1.1.0"); resp.Status != http.StatusNotFound {
			b.fail("a removed version's page: %d, want 404", resp.Status)
		}
		// An HTML error page with the site's frame and a way on.
		b.frame()
		b.says("h1", "Not Found")
		b.says("header", "alice", "Repositories")
	})

	// Another site's page posts forms to Wharf as soon as it loads: the
	// browser gets 403 and nothing changes.
	step("cross-site form posts", func(t *testing.T) {
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			target, fields := s.URL+"/user/settings/applications", map[string]string{"name": "evil", "scope": "all"}
			if r.URL.Path == "/logout" {
				target, fields = s.URL+"/user/logout", nil
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>Prize</title></head><body><form id="f" method="post" action="%s">`, html.EscapeString(target))
			for k, v := range fields {
				fmt.Fprintf(w, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(v))
			}
			fmt.Fprint(w, `</form><script>document.getElementById("f").submit()</script></body></html>`)
		}))
		defer evil.Close()
		// Another origin for the browser: localhost, where the app is
		// 127.0.0.1.
		evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

		for _, c := range []struct{ page, target string }{
			{"/token", s.URL + "/user/settings/applications"},
			{"/logout", s.URL + "/user/logout"},
		} {
			status := b.documentStatus(evilURL+c.page, c.target)
			if status != http.StatusForbidden {
				b.fail("the cross-site post to %s answered %d, want 403", c.target, status)
			}
			b.frame()
			b.says("main", "403", "cross-origin form posts are refused")
		}
		// Still signed in, and no token "evil".
		b.openOK("/user/settings/applications")
		b.says("header", "alice", "Sign out")
		b.saysNot("main", "evil")
		tokens, _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).ListAccessTokens(gitea.ListAccessTokensOptions{})
		if err != nil || len(tokens) != 0 {
			t.Fatalf("alice's tokens after the cross-site posts: %v %v", tokens, err)
		}
	})

	// Signing out ends the session: the private package sends the browser
	// to sign in again.
	step("sign out", func(t *testing.T) {
		b.openOK("/")
		b.pressOK("header", "Sign out")
		b.says("header", "Sign in")
		b.saysNot("header", "alice", "Sign out")
		b.openOK(version)
		if loc := b.location(); loc != s.URL+signInRedirect(version) {
			b.fail("after signing out the private package is at %s, want the sign-in page", loc)
		}
		b.says("h1", "Sign in")
		b.saysNot("main", "widget-cli 1.2.0")
	})

	// The administrator signs in from there and runs the blobs task: it
	// collects the bytes of the two versions the rule removed.
	step("admin cleanup task", func(t *testing.T) {
		// With the keyboard alone: type, and Enter in the password field
		// sends the form.
		b.fill("main", "User name or email address", s.AdminName)
		if resp := b.typeAndEnter("main", "Password", s.AdminPass); resp.Status != http.StatusOK {
			b.fail("signing in with Enter: status %d", resp.Status)
		}
		b.frame()
		b.says("h1", "acme / widget-cli 1.2.0")
		b.says("header", s.AdminName, "Site administration")

		b.follow("header", "Site administration")
		b.says("h1", "Site administration")
		b.screenshot("admin")
		b.openOK("/-/admin/packages")
		b.says("main", "acme", "widget-cli", "widget-js")
		b.screenshot("admin-packages")

		b.openOK("/-/admin/cleanup")
		b.says("h1", "Cleanup tasks")
		b.says("section[aria-labelledby=task-blobs]", "Not run yet.")
		b.tick("section[aria-labelledby=task-blobs]", "Yes, run blobs now")
		b.pressOK("section[aria-labelledby=task-blobs]", "Run now")
		b.says(".flash", `Task "blobs" finished: removed 0 version(s), 0 file(s), 2 blob(s) and 0 package(s)`)
		runs := b.cells("section[aria-labelledby=task-blobs] table")
		// Started, Finished, Versions, Files, Blobs, Packages, Bytes, Error.
		if len(runs) != 2 || runs[1][1] == "running" || runs[1][4] != "2" || runs[1][7] != "none" ||
			!strings.HasPrefix(runs[1][6], fmt.Sprint(f.size["1.0.0"]+f.size["1.1.0"])+" ") {
			b.fail("the blobs task's last runs read %q, want one finished run of 2 blobs, %d bytes", runs, f.size["1.0.0"]+f.size["1.1.0"])
		}
		b.screenshot("admin-cleanup")
	})

	t.Run("screenshots", func(t *testing.T) {
		for _, name := range []string{"home", "package-version", "repository", "packages-tab", "package-settings", "cleanup-preview", "admin", "admin-cleanup"} {
			p := filepath.Join(b.artifacts, "web-"+name+".png")
			if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
				t.Errorf("screenshot %s: %v", p, err)
			}
		}
	})
}

// browserFixture is what the browser test finds on the server: alice's
// private organisation acme with a repository (README, tag) and packages.
type browserFixture struct {
	sha256 map[string]string // widget-cli's file per version
	size   map[string]int64
}

// newBrowserFixture builds it with the API and real clients: git pushes
// the repository's README and tag; widget-cli (generic, 3 versions) is
// linked to the repository through the API, widget-js (npm) is not.
func newBrowserFixture(t *testing.T, s *server, alice map[string]string) *browserFixture {
	t.Helper()
	must := func(status, want int, what, body string) {
		t.Helper()
		if status != want {
			t.Fatalf("%s: %d %s", what, status, body)
		}
	}
	status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"acme","visibility":"private"}`, alice)
	must(status, 201, "create acme", body)
	c := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := c.CreateOrgRepo("acme", gitea.CreateRepoOption{Name: "widgets", Description: "Widgets for everyone", Private: true}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	g := gitCmd{t, dir}
	g.must("init", "-q", "-b", "main")
	readme := "# Widgets\n\nBuild widgets **fast**.\n\n- sprockets\n- cogs\n"
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	g.must("add", "README.md")
	g.must("commit", "-q", "-m", "README")
	g.must("tag", "v1.2.0")
	g.must("push", "-q", authURL(s.URL, "alice", "alice-password", "acme/widgets.git"), "main", "v1.2.0")

	f := &browserFixture{sha256: map[string]string{}, size: map[string]int64{}}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		content := strings.Repeat("widget-cli "+v+"\n", 100)
		status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/widget-cli/"+v+"/widget-cli-"+v+".tar.gz", content, alice)
		must(status, 201, "upload widget-cli "+v, body)
		sum := sha256.Sum256([]byte(content))
		f.sha256[v], f.size[v] = hex.EncodeToString(sum[:]), int64(len(content))
	}
	status, _, body = s.do(t, "POST", "/api/v1/packages/acme/generic/widget-cli/-/link/widgets", "", alice)
	must(status, 201, "link widget-cli", body)
	status, _, body = s.do(t, "PUT", "/api/packages/acme/npm/widget-js", npmPublishBody("widget-js", "1.0.0", nil, npmTarball(pkgJSON("widget-js", "1.0.0"))), alice)
	must(status, 201, "publish widget-js", body)
	return f
}

// documentStatus opens a page that navigates on its own (a form that
// submits itself) and returns the status of the document the browser
// then loads from target.
func (b *browser) documentStatus(page, target string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	responses := chromedp.Events(ctx, network.ResponseReceived)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(page)); err != nil {
		b.fail("open %s: %v", page, err)
	}
	for ev, err := range responses {
		if err != nil {
			b.fail("waiting for the post to %s: %v", target, err)
		}
		if ev.Type == network.ResourceTypeDocument && ev.Response.URL == target {
			// Wait for that document to be the page shown.
			if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(
				`location.href === %s && document.readyState === "complete"`, jsString(target)))); err != nil {
				b.fail("the page of %s did not load: %v", target, err)
			}
			return ev.Response.Status
		}
	}
	b.fail("the browser never loaded %s", target)
	return 0
}

// column is one column of a table's rows (a missing cell reads "").
func column(rows [][]string, i int) []string {
	var out []string
	for _, r := range rows {
		if i < len(r) {
			out = append(out, r[i])
		} else {
			out = append(out, "")
		}
	}
	return out
}

// pairs reads a preview's rows (after the header) as package and version.
func pairs(rows [][]string) [][2]string {
	var out [][2]string
	for _, r := range rows[min(1, len(rows)):] {
		if len(r) >= 2 {
			out = append(out, [2]string{r[0], r[1]})
		}
	}
	return out
}

// apiVersions lists a package's versions through the packages API.
func apiVersions(t *testing.T, s *server, h map[string]string, owner, typ, name string) []string {
	t.Helper()
	status, _, body := s.do(t, "GET", "/api/v1/packages/"+owner+"?type="+typ+"&q="+url.QueryEscape(name), "", h)
	if status != 200 {
		t.Fatalf("list %s packages of %s: %d %s", typ, owner, status, body)
	}
	var ps []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(body), &ps); err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, p := range ps {
		if p.Name == name {
			vs = append(vs, p.Version)
		}
	}
	slices.Sort(vs)
	return vs
}
