package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/git"
	"wharf/modules/packages/cargo/cargotest"
	"wharf/modules/packages/rubygems/gemtest"
)

// page GETs a web page without following redirects, with optional
// credentials, and returns the status, Location and body.
func (s *server) page(t *testing.T, path string, header map[string]string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// webPublishNpm publishes an npm version with a description, license,
// dependencies and, when deprecated is set, a deprecation message.
func webPublishNpm(t *testing.T, s *server, token, owner, name, version, deprecated string) {
	t.Helper()
	pkg := map[string]any{"name": name, "version": version, "description": "widgets for " + name, "license": "MIT",
		"homepage": "https://example.com/widget", "dependencies": map[string]string{"left-pad": "^1.3.0"}}
	if deprecated != "" {
		pkg["deprecated"] = deprecated
	}
	pj, _ := json.Marshal(pkg)
	tgz := npmTarball(map[string]string{"package/package.json": string(pj)})
	var doc map[string]any
	if err := json.Unmarshal([]byte(npmPublishBody(name, version, nil, tgz)), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc["versions"].(map[string]any)[version].(map[string]any)
	for k, v := range pkg {
		m[k] = v
	}
	body, _ := json.Marshal(doc)
	if status, _, out := s.do(t, "PUT", "/api/packages/"+owner+"/npm/"+strings.Replace(name, "/", "%2f", 1), string(body), tokenHeader(token)); status != 201 {
		t.Fatalf("publish %s@%s: %d %s", name, version, status, out)
	}
}

// TestWebBrowse walks the browsing pages as a visitor, the owner and
// another user: what each may see, the package pages of every format with
// their install instructions and download links, names with a slash
// encoded and raw, and a private owner that sends a visitor to sign in
// and is missing for another user.
func TestWebBrowse(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	aliceH, bobH := basic("alice", "alice-password"), basic("bob", "bob-password")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	tok, _, err := alice.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "web", Scopes: []gitea.AccessTokenScope{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "secret", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "web", Description: "the web lib", AutoInit: true, DefaultBranch: "main"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "diary", Private: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateOrgRepo("secret", gitea.CreateRepoOption{Name: "hidden"}); err != nil {
		t.Fatal(err)
	}

	// The README, with what must not reach a browser, and a composer.json
	// to register the repository's tags from.
	aliceUser, err := s.App.Users.GetByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.App.Repos.Get(ctx, aliceUser, "alice", "web")
	if err != nil {
		t.Fatal(err)
	}
	readme := "# Web Lib\n\nUse **it** well.\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1))\n\n<img src=\"x.png\" onerror=\"alert(2)\">\n"
	if _, err := s.App.Repos.CommitAsSystem(ctx, rc, "main", []git.FileChange{
		{Path: "README.md", Content: []byte(readme)},
		{Path: "composer.json", Content: []byte(`{"name":"alice/web-lib","description":"a lib from git","license":"MIT","require":{"php":">=8.1"}}`)},
	}, "readme and composer.json"); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1.0.0", "v2.0.0"} {
		if _, _, err := alice.CreateTag("alice", "web", gitea.CreateTagOption{TagName: tag, Target: "main"}); err != nil {
			t.Fatal(err)
		}
	}

	// Packages of every format.
	for _, v := range []struct{ version, deprecated string }{{"1.0.0", "use 1.10"}, {"1.9.0", ""}, {"1.10.0", ""}} {
		webPublishNpm(t, s, tok.Token, "alice", "@alice/widget", v.version, v.deprecated)
	}
	if status, _, body := s.do(t, "POST", "/api/v1/packages/alice/npm/@alice%2Fwidget/-/link/web", "", tokenHeader(tok.Token)); status != http.StatusCreated && status != http.StatusNoContent {
		t.Fatalf("link: %d %s", status, body)
	}
	if status, _, body := s.do(t, "POST", "/api/packages/alice/composer", `{"repository":"web","tag":"v1.0.0"}`,
		map[string]string{"Authorization": "token " + tok.Token, "Content-Type": "application/json"}); status != http.StatusCreated {
		t.Fatalf("composer register: %d %s", status, body)
	}
	toolBytes := "tool bytes"
	if status, _, body := s.do(t, "PUT", "/api/packages/alice/generic/tool/1.0/tool.bin", toolBytes, tokenHeader(tok.Token)); status != http.StatusCreated {
		t.Fatalf("generic upload: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/alice/cargo/api/v1/crates/new", string(cargotest.GoodBody("crab", "0.1.0")), tokenHeader(tok.Token)); status != http.StatusOK {
		t.Fatalf("cargo publish: %d %s", status, body)
	}
	if status, body := s.pushGem(t, "alice", tok.Token, gemtest.Gem(gemtest.Metadata("shiny", "1.2.0"))); status != http.StatusOK {
		t.Fatalf("gem push: %d %s", status, body)
	}
	if status, body := s.yankGem(t, "alice", tok.Token, url.Values{"gem_name": {"shiny"}, "version": {"1.2.0"}}); status != http.StatusOK {
		t.Fatalf("gem yank: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/secret/generic/hush/1.0/hush.bin", "secret bytes", tokenHeader(tok.Token)); status != http.StatusCreated {
		t.Fatalf("secret upload: %d %s", status, body)
	}

	type check struct {
		name, path string
		header     map[string]string
		status     int
		want, not  []string
	}
	root := s.URL + "/"
	toolSum := sha256.Sum256([]byte(toolBytes))
	checks := []check{
		{"home anonymous", "/", nil, 200,
			[]string{"Sign in", `href="` + root + `alice/web"`, "@alice/widget", "How to use it"}, []string{"hush", "diary", "secret/hidden"}},
		{"home owner", "/", aliceH, 200, []string{"alice/diary", "hush", "secret/hidden"}, nil},
		{"explore repos anonymous", "/explore/repos", nil, 200, []string{"alice/web"}, []string{"diary", "hidden"}},
		{"explore repos search", "/explore/repos?q=we", aliceH, 200, []string{"alice/web"}, []string{"diary"}},
		{"explore repos owner", "/explore/repos", aliceH, 200, []string{"alice/web", "alice/diary", "secret/hidden"}, nil},
		{"explore repos other user", "/explore/repos", bobH, 200, []string{"alice/web"}, []string{"diary", "hidden"}},
		{"explore repos paging", "/explore/repos?limit=1", aliceH, 200, []string{`rel="next"`, "3 in all"}, nil},
		{"explore orgs anonymous", "/explore/organizations", nil, 200, nil, []string{"secret"}},
		{"explore orgs member", "/explore/organizations", aliceH, 200, []string{`href="` + root + `secret"`}, nil},
		{"owner page", "/alice", nil, 200, []string{`href="` + root + `alice/web"`, `href="` + root + `alice/-/packages"`}, []string{"diary"}},
		{"owner page owner", "/alice", aliceH, 200, []string{"diary", "private"}, nil},
		{"owner packages", "/alice/-/packages", nil, 200,
			[]string{"@alice/widget", `href="` + root + `alice/-/packages/npm/@alice%2Fwidget/1.10.0"`, "alice/web-lib", "crab", "shiny", "tool",
				`href="` + root + `alice/web"`}, []string{">1.9.0<"}},
		{"owner packages type", "/alice/-/packages?type=cargo", nil, 200, []string{"crab"}, []string{"@alice/widget", "shiny"}},
		{"owner packages search", "/alice/-/packages?q=wid", nil, 200, []string{"@alice/widget"}, []string{"crab"}},
		{"owner packages paging", "/alice/-/packages?limit=2&page=2", nil, 200, []string{`rel="prev"`, "5 in all"}, nil},
		{"owner packages bad type", "/alice/-/packages?type=nope", aliceH, 400, nil, nil},
		{"repo page", "/alice/web", nil, 200,
			[]string{"git clone " + root + "alice/web.git", `<h2 id="user-content-web-lib">Web Lib</h2>`, "<strong>it</strong>", "main"},
			[]string{"<script>alert", "javascript:", "onerror"}},
		{"repo packages tab", "/alice/web/packages", nil, 200, []string{"@alice/widget", `aria-current="page">Packages`}, nil},
		{"npm package encoded", "/alice/-/packages/npm/@alice%2Fwidget", nil, 200,
			[]string{"1.10.0", "1.9.0", "deprecated: use 1.10", `href="` + root + `alice/web"`}, nil},
		{"npm package raw", "/alice/-/packages/npm/@alice/widget", nil, 200, []string{"1.10.0", "deprecated: use 1.10"}, nil},
		{"npm version encoded", "/alice/-/packages/npm/@alice%2Fwidget/1.10.0", nil, 200,
			[]string{"@alice:registry=" + root + "api/packages/alice/npm/", "npm install @alice/widget@1.10.0",
				`href="` + root + `alice/-/packages/npm/@alice%2Fwidget/1.10.0/files/`, "widgets for @alice/widget", "left-pad", "^1.3.0", "MIT",
				"https://example.com/widget", `href="` + root + `alice/web"`}, nil},
		{"npm version raw", "/alice/-/packages/npm/@alice/widget/1.0.0", nil, 200, []string{"Deprecated:", "use 1.10"}, nil},
		{"composer package raw", "/alice/-/packages/composer/alice/web-lib", nil, 200, []string{"1.0.0"}, nil},
		{"composer package encoded", "/alice/-/packages/composer/alice%2Fweb-lib", nil, 200, []string{"1.0.0"}, nil},
		{"composer version", "/alice/-/packages/composer/alice/web-lib/1.0.0", nil, 200,
			[]string{`"url": "` + root + `api/packages/alice/composer"`, "composer require alice/web-lib:1.0.0",
				"refs/tags/v1.0.0", "a lib from git", "php", `href="` + root + `alice/web"`,
				`href="` + root + `api/packages/alice/composer/files/alice/web-lib/1.0.0/alice-web-lib-1.0.0-`}, nil},
		{"composer version encoded", "/alice/-/packages/composer/alice%2Fweb-lib/1.0.0", nil, 200, []string{"refs/tags/v1.0.0"}, nil},
		{"cargo version", "/alice/-/packages/cargo/crab/0.1.0", nil, 200,
			[]string{"[registries.alice]", `index = "sparse+` + root + `api/packages/alice/cargo/"`, "cargo add crab@0.1.0 --registry alice",
				`href="` + root + `alice/-/packages/cargo/crab/0.1.0/files/`}, nil},
		{"rubygems version", "/alice/-/packages/rubygems/shiny/1.2.0", nil, 200,
			[]string{`source "` + root + `api/packages/alice/rubygems" do`, `gem "shiny", "1.2.0"`,
				`href="` + root + `alice/-/packages/rubygems/shiny/1.2.0/files/`, "Yanked:"}, nil},
		{"rubygems package yank mark", "/alice/-/packages/rubygems/shiny", nil, 200, []string{"yanked"}, nil},
		{"generic version", "/alice/-/packages/generic/tool/1.0", nil, 200,
			[]string{"curl -fL -o tool.bin " + root + "api/packages/alice/generic/tool/1.0/tool.bin", hex.EncodeToString(toolSum[:]),
				`href="` + root + `alice/-/packages/generic/tool/1.0/files/`}, nil},
		{"missing version", "/alice/-/packages/generic/tool/9.9", aliceH, 404, nil, nil},
		{"missing package", "/alice/-/packages/npm/@alice/nothing", aliceH, 404, nil, nil},
		{"unknown type", "/alice/-/packages/nope/x", aliceH, 404, nil, nil},
		{"name not UTF-8", "/alice/-/packages/npm/%ff", aliceH, 404, nil, nil},
		{"version not UTF-8", "/alice/-/packages/generic/tool/%ff%fe", aliceH, 404, nil, nil},
		{"search not UTF-8", "/explore/repos?q=%ff", aliceH, 400, nil, nil},
		{"package search not UTF-8", "/alice/-/packages?q=%ff", aliceH, 400, nil, nil},
		{"private owner as other user", "/secret", bobH, 404, nil, nil},
		{"private packages as other user", "/secret/-/packages", bobH, 404, nil, nil},
		{"private package as other user", "/secret/-/packages/generic/hush/1.0", bobH, 404, nil, nil},
		{"private repo as other user", "/secret/hidden", bobH, 404, nil, nil},
		{"private owner as member", "/secret", aliceH, 200, []string{"hidden"}, nil},
		{"private packages as member", "/secret/-/packages", aliceH, 200, []string{"hush"}, nil},
		{"private repo of a user as other user", "/alice/diary", bobH, 404, nil, nil},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := s.page(t, c.path, c.header)
			if status != c.status {
				t.Fatalf("GET %s: %d, want %d\n%s", c.path, status, c.status, body)
			}
			if !strings.Contains(body, "<title>") || !strings.Contains(body, "<main") {
				t.Fatalf("GET %s is not a page of the site:\n%s", c.path, body)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q", c.path, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(body, w) {
					t.Errorf("GET %s shows %q", c.path, w)
				}
			}
			if t.Failed() {
				t.Logf("body:\n%s", body)
			}
		})
	}

	// A visitor who meets a private owner is sent to sign in and back.
	for _, path := range []string{"/secret", "/secret/-/packages", "/secret/-/packages/generic/hush/1.0", "/secret/hidden", "/alice/diary"} {
		status, loc, _ := s.page(t, path, nil)
		if want := "/user/login?redirect_to=" + url.QueryEscape(path); status != http.StatusSeeOther || loc != want {
			t.Errorf("anonymous GET %s: %d to %q, want 303 to %q", path, status, loc, want)
		}
	}

	// The download links are the protocols' own: each serves the file.
	_, _, composerPage := s.page(t, "/alice/-/packages/composer/alice/web-lib/1.0.0", nil)
	archive, _, _ := strings.Cut(composerPage[strings.Index(composerPage, root+"api/packages/alice/composer/files/")+len(root)-1:], `"`)
	for _, path := range []string{archive, "/api/packages/alice/generic/tool/1.0/tool.bin", "/api/packages/alice/npm/@alice/widget/-/widget-1.10.0.tgz",
		"/api/packages/alice/cargo/api/v1/crates/crab/0.1.0/download", "/api/packages/alice/rubygems/gems/shiny-1.2.0.gem"} {
		if status, _, body := s.do(t, "GET", path, "", nil); status != http.StatusOK || body == "" {
			t.Errorf("download %s: %d", path, status)
		}
	}

	// Download counts show on the version page.
	if _, _, body := s.page(t, "/alice/-/packages/generic/tool/1.0", nil); !strings.Contains(body, "1 download(s)") {
		t.Errorf("the version page does not count the download:\n%s", body)
	}

	// A token reaches the pages with the scopes the API asks: without
	// read:repository, the linked repository is left out.
	pkgOnly, _, err := alice.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "pkg-only", Scopes: []gitea.AccessTokenScope{"read:package"}})
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := s.page(t, "/alice/-/packages/npm/@alice%2Fwidget/1.10.0", tokenHeader(pkgOnly.Token))
	if status != 200 || strings.Contains(body, `href="`+root+`alice/web"`) {
		t.Errorf("a read:package token: %d, and the repository shown: %v", status, strings.Contains(body, `href="`+root+`alice/web"`))
	}
	if status, _, _ := s.page(t, "/alice/web/packages", tokenHeader(pkgOnly.Token)); status != http.StatusForbidden {
		t.Errorf("a read:package token on a repository tab: %d, want 403", status)
	}

	// A package's versions are paged in the format's order (semver: 1.0.24
	// above 1.0.9), whatever the upload order.
	seedVersions(t, s, "alice", "npm", "many", 25, func(v string) string { return `{"name":"many","version":"` + v + `"}` },
		func(v string) string { return "many-" + v + ".tgz" })
	_, _, first := s.page(t, "/alice/-/packages/npm/many?limit=10", nil)
	_, _, second := s.page(t, "/alice/-/packages/npm/many?limit=10&page=2", nil)
	row := func(v string) string { return `many/` + v + `">` + v + `</a></td>` }
	if i, j := strings.Index(first, row("1.0.24")), strings.Index(first, row("1.0.23")); i < 0 || j < i || !strings.Contains(first, "25 version(s)") ||
		!strings.Contains(first, `rel="next"`) || strings.Contains(first, row("1.0.9")) {
		t.Errorf("first page of versions:\n%s", first)
	}
	if !strings.Contains(second, row("1.0.9")) || !strings.Contains(second, row("1.0.14")) || strings.Contains(second, row("1.0.24")) || !strings.Contains(second, `rel="prev"`) {
		t.Errorf("second page of versions:\n%s", second)
	}
	if _, _, owner := s.page(t, "/alice/-/packages?q=many", nil); !strings.Contains(owner, `alice/-/packages/npm/many/1.0.24"`) {
		t.Errorf("the owner's list does not take the highest version as the latest:\n%s", owner)
	}

	// A raw-slash name followed by /settings goes to the encoded settings
	// URL (the settings page's own pattern).
	if status, loc, _ := s.page(t, "/alice/-/packages/composer/alice/web-lib/settings", aliceH); status != http.StatusSeeOther || loc != "/alice/-/packages/composer/alice%2Fweb-lib/settings" {
		t.Errorf("raw composer settings: %d to %q", status, loc)
	}
}

// webFileLinks returns the web download links (…/files/{id}) of a version
// page, as local paths.
func webFileLinks(t *testing.T, root, body string) []string {
	t.Helper()
	re := regexp.MustCompile(`href="` + regexp.QuoteMeta(root) + `([^"]*/files/[0-9]+)"`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		out = append(out, "/"+html.UnescapeString(m[1]))
	}
	return out
}

// webPublishNpmTagged publishes an npm version under a dist-tag other
// than latest (npm publish --tag next).
func webPublishNpmTagged(t *testing.T, s *server, token, owner, name, version, tag string) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(npmPublishBody(name, version, nil, npmTarball(pkgJSON(name, version)))), &doc); err != nil {
		t.Fatal(err)
	}
	doc["dist-tags"] = map[string]string{tag: version}
	body, _ := json.Marshal(doc)
	if status, _, out := s.do(t, "PUT", "/api/packages/"+owner+"/npm/"+strings.Replace(name, "/", "%2f", 1), string(body), tokenHeader(token)); status != 201 {
		t.Fatalf("publish %s@%s --tag %s: %d %s", name, version, tag, status, out)
	}
}

// TestWebBrowseReviewFixes covers the browsing pages' review findings:
// a private owner's files download through the web route with the
// session (bytes, Range, download count) and are refused to others; npm's
// "latest" is its dist-tag; Settings links only for writers; a README
// fits its page (one h1, relative images through the raw route, which
// never serves HTML as HTML); pagers past the end.
func TestWebBrowseReviewFixes(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	tok, _, err := alice.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "web", Scopes: []gitea.AccessTokenScope{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "vault", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	root := s.URL + "/"
	aliceWeb, bobWeb, visitor := newWebClient(t, s.URL), newWebClient(t, s.URL), newWebClient(t, s.URL)
	aliceWeb.signIn("alice", "alice-password")
	bobWeb.signIn("bob", "bob-password")

	t.Run("private file through the web route", func(t *testing.T) {
		content := "0123456789 kit bytes"
		if status, _, body := s.do(t, "PUT", "/api/packages/vault/generic/kit/1.0/kit.bin", content, tokenHeader(tok.Token)); status != http.StatusCreated {
			t.Fatalf("upload: %d %s", status, body)
		}
		page := aliceWeb.get("/vault/-/packages/generic/kit/1.0")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "0 download(s)") {
			t.Fatalf("version page: %d %s", page.Status, pageText(page.Body))
		}
		links := webFileLinks(t, root, page.Body)
		if len(links) != 1 || !strings.HasPrefix(links[0], "/vault/-/packages/generic/kit/1.0/files/") || strings.Contains(page.Body, `href="`+root+`api/packages/vault`) {
			t.Fatalf("file links %q; the page:\n%s", links, page.Body)
		}
		r := aliceWeb.get(links[0])
		if r.Status != http.StatusOK || r.Body != content || r.Header.Get("ETag") == "" || !strings.Contains(r.Header.Get("Content-Disposition"), "kit.bin") {
			t.Fatalf("download with the session: %d %q %v", r.Status, r.Body, r.Header)
		}
		if r := aliceWeb.send(http.MethodHead, links[0], nil, nil); r.Status != http.StatusOK || r.Body != "" || r.Header.Get("Content-Length") != strconv.Itoa(len(content)) {
			t.Errorf("HEAD: %d %q %v", r.Status, r.Body, r.Header)
		}
		if p := aliceWeb.get("/vault/-/packages/generic/kit/1.0"); !strings.Contains(p.Body, "1 download(s)") {
			t.Errorf("the download is not counted once (HEAD is not a download): %s", pageText(p.Body))
		}
		r = aliceWeb.send(http.MethodGet, links[0], nil, map[string]string{"Range": "bytes=2-5"})
		if r.Status != http.StatusPartialContent || r.Body != content[2:6] {
			t.Errorf("range: %d %q, want 206 %q", r.Status, r.Body, content[2:6])
		}
		r = aliceWeb.send(http.MethodGet, links[0], nil, map[string]string{"If-None-Match": r.Header.Get("ETag")})
		if r.Status != http.StatusNotModified {
			t.Errorf("If-None-Match on the ETag: %d, want 304", r.Status)
		}
		if r := bobWeb.get(links[0]); r.Status != http.StatusNotFound || strings.Contains(r.Body, content) {
			t.Errorf("a non-member: %d, want 404", r.Status)
		}
		if r := visitor.get(links[0]); r.Status != http.StatusSeeOther || r.Location != "/user/login?redirect_to="+url.QueryEscape(links[0]) {
			t.Errorf("a visitor: %d to %q, want 303 to sign in", r.Status, r.Location)
		}
		// Another version's file id, a missing id and "files" without an
		// id are no file.
		for _, path := range []string{"/vault/-/packages/generic/kit/1.0/files/999999", "/vault/-/packages/generic/kit/1.0/files", "/vault/-/packages/generic/kit/2.0" + strings.TrimPrefix(links[0], "/vault/-/packages/generic/kit/1.0")} {
			if r := aliceWeb.get(path); r.Status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, r.Status)
			}
		}
	})

	t.Run("npm latest is the dist-tag", func(t *testing.T) {
		webPublishNpm(t, s, tok.Token, "alice", "@alice/widget", "1.9.0", "")
		webPublishNpm(t, s, tok.Token, "alice", "@alice/widget", "1.10.0", "")
		webPublishNpmTagged(t, s, tok.Token, "alice", "@alice/widget", "2.0.0-rc.1", "next")
		// A stable version above latest, published under another tag: npm
		// still installs latest.
		webPublishNpmTagged(t, s, tok.Token, "alice", "@alice/widget", "3.0.0", "canary")
		latest := `latest <a href="` + root + `alice/-/packages/npm/@alice%2Fwidget/1.10.0">1.10.0</a>`
		p := aliceWeb.get("/alice/-/packages/npm/@alice%2Fwidget")
		for _, w := range []string{latest, `<code>next</code></td><td><a href="` + root + `alice/-/packages/npm/@alice%2Fwidget/2.0.0-rc.1">2.0.0-rc.1</a>`,
			`<code>latest</code></td><td><a href="` + root + `alice/-/packages/npm/@alice%2Fwidget/1.10.0">1.10.0</a>`} {
			if !strings.Contains(p.Body, w) {
				t.Errorf("package page lacks %q:\n%s", w, p.Body)
			}
		}
		for _, path := range []string{"/alice/-/packages", "/"} {
			body := visitor.get(path).Body
			if !strings.Contains(body, `href="`+root+`alice/-/packages/npm/@alice%2Fwidget/1.10.0">1.10.0</a>`) || strings.Contains(body, ">2.0.0-rc.1<") || strings.Contains(body, ">3.0.0<") {
				t.Errorf("%s does not show npm's latest 1.10.0:\n%s", path, body)
			}
		}
		// Without a tag, the highest stable version: a prerelease only
		// when there is nothing else.
		for _, v := range []string{"1.0.0", "1.1.0-beta.1"} {
			if status, _, body := s.do(t, "PUT", "/api/packages/alice/generic/gadget/"+v+"/g.bin", "g "+v, tokenHeader(tok.Token)); status != http.StatusCreated {
				t.Fatalf("upload: %d %s", status, body)
			}
		}
		if body := visitor.get("/alice/-/packages/generic/gadget").Body; !strings.Contains(body, `latest <a href="`+root+`alice/-/packages/generic/gadget/1.0.0">`) {
			t.Errorf("generic latest is not the highest stable:\n%s", body)
		}
	})

	t.Run("settings links for writers", func(t *testing.T) {
		settings := `href="` + root + `alice/-/packages/npm/@alice%2Fwidget/settings">Settings</a>`
		for _, path := range []string{"/alice/-/packages/npm/@alice%2Fwidget", "/alice/-/packages/npm/@alice%2Fwidget/1.10.0"} {
			if body := aliceWeb.get(path).Body; !strings.Contains(body, settings) {
				t.Errorf("the writer sees no Settings on %s:\n%s", path, body)
			}
			if body := bobWeb.get(path).Body; strings.Contains(body, "/settings\"") {
				t.Errorf("a reader sees a Settings link on %s", path)
			}
		}
		if r := aliceWeb.get("/alice/-/packages/npm/@alice%2Fwidget/settings"); r.Status != http.StatusOK {
			t.Errorf("the Settings link's target: %d", r.Status)
		}
		own := `href="` + root + `user/settings/packages">Package settings</a>`
		for _, path := range []string{"/alice", "/alice/-/packages"} {
			if body := aliceWeb.get(path).Body; !strings.Contains(body, own) {
				t.Errorf("alice's own %s lacks her package settings", path)
			}
			if body := bobWeb.get(path).Body; strings.Contains(body, "Package settings") {
				t.Errorf("bob sees package settings on %s", path)
			}
		}
		org := `href="` + root + `org/vault/settings/packages">Package settings</a>`
		for _, path := range []string{"/vault", "/vault/-/packages"} {
			if body := aliceWeb.get(path).Body; !strings.Contains(body, org) {
				t.Errorf("the organisation's owner lacks its package settings on %s:\n%s", path, body)
			}
		}
		if r := aliceWeb.get("/org/vault/settings/packages"); r.Status != http.StatusOK {
			t.Errorf("the organisation's package settings: %d", r.Status)
		}
	})

	t.Run("README in its page and the raw route", func(t *testing.T) {
		if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "docs", AutoInit: true, DefaultBranch: "main"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := alice.CreateOrgRepo("vault", gitea.CreateRepoOption{Name: "inner", AutoInit: true, DefaultBranch: "main"}); err != nil {
			t.Fatal(err)
		}
		aliceUser, err := s.App.Users.GetByName(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
		readme := "# Main\n\n![logo](logo.png)\n\nSee [usage](docs/USAGE.md) and [the top](#main).\n\n## Readme\n\n[site](https://example.com/x)\n"
		files := []git.FileChange{
			{Path: "README.md", Content: []byte(readme)},
			{Path: "logo.png", Content: []byte(png)},
			{Path: "docs/USAGE.md", Content: []byte("# Usage\n")},
			{Path: "evil.html", Content: []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>")},
			{Path: "evil.svg", Content: []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>`)},
		}
		for _, r := range []struct{ owner, name string }{{"alice", "docs"}, {"vault", "inner"}} {
			rc, err := s.App.Repos.Get(ctx, aliceUser, r.owner, r.name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.App.Repos.CommitAsSystem(ctx, rc, "main", files, "docs"); err != nil {
				t.Fatal(err)
			}
		}
		p := visitor.get("/alice/docs")
		if n := strings.Count(p.Body, "<h1"); p.Status != http.StatusOK || n != 1 {
			t.Fatalf("repository page: %d with %d <h1>:\n%s", p.Status, n, p.Body)
		}
		rawBase := root + "alice/docs/raw/branch/main/"
		for _, w := range []string{`<h2 id="user-content-main">Main</h2>`, `<h3 id="user-content-readme">Readme</h3>`, `src="` + rawBase + `logo.png"`,
			`href="` + rawBase + `docs/USAGE.md"`, `href="#user-content-main"`, `href="https://example.com/x"`} {
			if !strings.Contains(p.Body, w) {
				t.Errorf("repository page lacks %q", w)
			}
		}
		if strings.Count(p.Body, `id="main"`) != 1 || strings.Count(p.Body, `id="readme"`) > 1 {
			t.Errorf("the README's ids collide with the page's:\n%s", p.Body)
		}
		if r := visitor.get("/alice/docs/raw/branch/main/logo.png"); r.Status != http.StatusOK || r.Body != png || r.Header.Get("Content-Type") != "image/png" {
			t.Errorf("the README's image: %d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		if r := visitor.get("/alice/docs/raw/branch/main/docs/USAGE.md"); r.Status != http.StatusOK || r.Body != "# Usage\n" {
			t.Errorf("the README's link: %d %q", r.Status, r.Body)
		}
		if r := visitor.send(http.MethodHead, "/alice/docs/raw/branch/main/logo.png", nil, nil); r.Status != http.StatusOK || r.Body != "" || r.Header.Get("Content-Length") != strconv.Itoa(len(png)) {
			t.Errorf("HEAD raw: %d %q %v", r.Status, r.Body, r.Header)
		}
		for _, f := range []string{"evil.html", "evil.svg"} {
			r := visitor.get("/alice/docs/raw/branch/main/" + f)
			ct := r.Header.Get("Content-Type")
			if r.Status != http.StatusOK || !strings.HasPrefix(ct, "text/plain") || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") ||
				r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("raw %s: %d, %q, CSP %q, nosniff %q", f, r.Status, ct, r.Header.Get("Content-Security-Policy"), r.Header.Get("X-Content-Type-Options"))
			}
		}
		for _, path := range []string{"/alice/docs/raw/branch/main/missing.png", "/alice/docs/raw/branch/nope/logo.png", "/alice/docs/raw/branch/main/docs",
			"/alice/docs/raw/branch/main/../logo.png"} {
			if r := visitor.get(path); r.Status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, r.Status)
			}
		}
		// A private repository's files: the member's session reads them,
		// another user gets 404, a visitor is sent to sign in.
		private := "/vault/inner/raw/branch/main/logo.png"
		if r := aliceWeb.get(private); r.Status != http.StatusOK || r.Body != png {
			t.Errorf("member: %d", r.Status)
		}
		if p := aliceWeb.get("/vault/inner"); !strings.Contains(p.Body, `src="`+root+`vault/inner/raw/branch/main/logo.png"`) {
			t.Errorf("the private README's image is not on the raw route:\n%s", p.Body)
		}
		if r := bobWeb.get(private); r.Status != http.StatusNotFound {
			t.Errorf("non-member: %d, want 404", r.Status)
		}
		if r := visitor.get(private); r.Status != http.StatusSeeOther || r.Location != "/user/login?redirect_to="+url.QueryEscape(private) {
			t.Errorf("visitor: %d to %q", r.Status, r.Location)
		}
	})

	t.Run("pagers", func(t *testing.T) {
		seedVersions(t, s, "alice", "npm", "@alice/many", 3, func(v string) string { return `{"name":"@alice/many","version":"` + v + `"}` },
			func(v string) string { return "many-" + v + ".tgz" })
		p := visitor.get("/alice/-/packages/npm/@alice/many?limit=1&page=2")
		for _, w := range []string{`href="` + root + `alice/-/packages/npm/@alice%2Fmany?limit=1&amp;page=3" rel="next"`,
			`href="` + root + `alice/-/packages/npm/@alice%2Fmany?limit=1" rel="prev"`} {
			if !strings.Contains(p.Body, w) {
				t.Errorf("versions pager lacks %q:\n%s", w, p.Body)
			}
		}
		for path, first := range map[string]string{
			"/alice/-/packages/npm/@alice%2Fmany?page=9": root + "alice/-/packages/npm/@alice%2Fmany",
			"/alice/-/packages?type=npm&page=9":          root + "alice/-/packages?type=npm",
			"/explore/repos?page=9":                      root + "explore/repos",
			"/alice?page=9":                              root + "alice",
		} {
			r := visitor.get(path)
			if r.Status != http.StatusOK || !strings.Contains(r.Body, "Page 9 is past the end") || !strings.Contains(r.Body, `href="`+html.EscapeString(first)+`">Go to the first page`) {
				t.Errorf("GET %s past the end: %d\n%s", path, r.Status, pageText(r.Body))
			}
		}
	})
}
