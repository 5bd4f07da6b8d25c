package tests

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	packages_model "wharf/models/packages"
)

// Review of issue 14 (the web UI) as a demanding user: every page reached
// by following links, as a visitor and as the administrator, has the frame
// the issue asks for; names with a slash work encoded and raw; versions are
// in the format's order; file links download the right bytes; a cleanup
// rule's preview lists what its run removes.

var (
	reHref     = regexp.MustCompile(`(?i)<a\s[^>]*href="([^"]*)"`)
	reTitle    = regexp.MustCompile(`(?is)<title>\s*([^<]*\S)\s*</title>`)
	reH1       = regexp.MustCompile(`(?i)<h1[\s>]`)
	reControl  = regexp.MustCompile(`(?i)<(input|select|textarea)\b([^>]*)>`)
	reAttrID   = regexp.MustCompile(`(?i)\bid="([^"]*)"`)
	reAttrType = regexp.MustCompile(`(?i)\btype="([^"]*)"`)
	reLabelFor = regexp.MustCompile(`(?i)<label\b[^>]*\bfor="([^"]*)"`)
	reFooter   = regexp.MustCompile(`(?is)<footer\b.*</footer>`)
	reVersions = regexp.MustCompile(`(?is)<h2>Versions</h2>.*?<tbody>(.*?)</tbody>`)
	reCellLink = regexp.MustCompile(`(?i)<tr><td><a href="[^"]*">([^<]*)</a>`)
)

// review14Seed makes a public organisation with a repository, an npm
// package with a scoped name in several versions (prereleases included)
// and a generic package with two files, and returns the generic file's
// bytes by name.
func review14Seed(t *testing.T, s *server) map[string][]byte {
	t.Helper()
	admin := s.client(t, gitea.SetToken(s.AdminToken))
	if _, _, err := admin.CreateOrg(gitea.CreateOrgOption{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := admin.CreateOrgRepo("acme", gitea.CreateRepoOption{Name: "core"}); err != nil {
		t.Fatal(err)
	}
	h := tokenHeader(s.AdminToken)
	h["Content-Type"] = "application/json"
	for _, v := range []string{"1.0.0-beta.1", "1.0.0", "1.10.0", "1.2.0", "2.0.0-rc.1", "0.9.0"} {
		body := npmPublishBody("@acme/widget", v, nil, npmTarball(pkgJSON("@acme/widget", v)))
		if status, _, out := s.do(t, "PUT", "/api/packages/acme/npm/@acme%2fwidget", body, h); status != http.StatusCreated {
			t.Fatalf("npm publish %s: %d %s", v, status, out)
		}
	}
	files := map[string][]byte{"hello.txt": []byte("hello generic bytes\n"), "blob.bin": bytes.Repeat([]byte{0, 1, 2, 255}, 1000)}
	for _, v := range []string{"1.0", "1.2", "1.10"} {
		for name, b := range files {
			if status, _, out := s.do(t, "PUT", "/api/packages/acme/generic/tools/"+v+"/"+name, string(b), tokenHeader(s.AdminToken)); status != http.StatusCreated {
				t.Fatalf("generic upload %s/%s: %d %s", v, name, status, out)
			}
		}
	}
	return files
}

// checkFrame fails the test for each part of the frame a page lacks.
func checkFrame(t *testing.T, who, path, body string) {
	t.Helper()
	if m := reTitle.FindStringSubmatch(body); m == nil {
		t.Errorf("%s %s: no <title>", who, path)
	}
	if n := len(reH1.FindAllString(body, -1)); n != 1 {
		t.Errorf("%s %s: %d <h1>, want 1", who, path, n)
	}
	for _, tag := range []string{"<header", "<nav", `<main id="main"`, "<footer"} {
		if !strings.Contains(body, tag) {
			t.Errorf("%s %s: no %s landmark", who, path, tag)
		}
	}
	if !strings.Contains(reFooter.FindString(body), "Wharf test") {
		t.Errorf("%s %s: the footer does not show Wharf's version", who, path)
	}
	labelled := map[string]bool{}
	for _, m := range reLabelFor.FindAllStringSubmatch(body, -1) {
		labelled[m[1]] = true
	}
	for _, m := range reControl.FindAllStringSubmatch(body, -1) {
		typ := ""
		if tm := reAttrType.FindStringSubmatch(m[2]); tm != nil {
			typ = strings.ToLower(tm[1])
		}
		if typ == "hidden" || typ == "submit" {
			continue
		}
		id := ""
		if im := reAttrID.FindStringSubmatch(m[2]); im != nil {
			id = im[1]
		}
		if !labelled[id] && !strings.Contains(m[2], "aria-label") {
			t.Errorf("%s %s: a control without a label: %s", who, path, m[0])
		}
	}
}

// crawl follows every link of the site from start and checks each page;
// it returns the local paths it saw and the bodies of the files it
// downloaded, by path.
func crawl(t *testing.T, s *server, w *webClient, who string, start []string) (seen map[string]int, downloads map[string][]byte) {
	t.Helper()
	seen, downloads = map[string]int{}, map[string][]byte{}
	queue := slices.Clone(start)
	for len(queue) > 0 && len(seen) < 400 {
		p := queue[0]
		queue = queue[1:]
		if _, ok := seen[p]; ok {
			continue
		}
		r := w.get(p)
		seen[p] = r.Status
		if r.Status >= 500 {
			t.Errorf("%s %s: %d %s", who, p, r.Status, pageText(r.Body))
			continue
		}
		ct := r.Header.Get("Content-Type")
		if r.Status >= 400 && !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s %s: %d answered as %q, not an HTML page", who, p, r.Status, ct)
		}
		if r.Status >= 300 && r.Status < 400 {
			if loc := localPath(s, p, r.Location); loc != "" {
				queue = append(queue, loc)
			}
			continue
		}
		if strings.HasPrefix(p, "/api/") || strings.Contains(p, "/files/") {
			downloads[p] = []byte(r.Body)
			continue
		}
		if !strings.HasPrefix(ct, "text/html") {
			continue
		}
		checkFrame(t, who, p, r.Body)
		for _, m := range reHref.FindAllStringSubmatch(r.Body, -1) {
			loc := localPath(s, p, html.UnescapeString(m[1]))
			if loc == "" || strings.Contains(loc, "/user/logout") || strings.Contains(loc, "swagger") ||
				strings.Contains(loc, "redirect_to=%2Fuser%2Flogin") {
				continue
			}
			queue = append(queue, loc)
		}
	}
	return seen, downloads
}

// localPath resolves href against the page at from and returns it as a
// path with query when it is on this site, "" otherwise.
func localPath(s *server, from, href string) string {
	base, _ := url.Parse(s.URL + from)
	u, err := base.Parse(href)
	if err != nil || u.Host != base.Host {
		return ""
	}
	u.Fragment = ""
	return u.RequestURI()
}

// TestReview14CrawlFrames walks the whole site by its links as a visitor
// and as the administrator: no page answers 5xx, every HTML page has a
// title, one h1, landmarks, Wharf's version in the footer and a label for
// every control; error answers are HTML; the file links download the bytes
// that were uploaded.
func TestReview14CrawlFrames(t *testing.T) {
	s := newServer(t)
	files := review14Seed(t, s)
	start := []string{"/", "/explore/repos", "/explore/organizations", "/acme", "/acme/core", "/acme/-/packages",
		"/-/admin", "/user/settings/applications", "/user/settings/packages", "/org/acme/settings/packages", "/no-such-owner-x"}

	visitor := newWebClient(t, s.URL)
	seenV, dlV := crawl(t, s, visitor, "visitor", start)
	admin := newWebClient(t, s.URL)
	admin.signIn(s.AdminName, s.AdminPass)
	seenA, dlA := crawl(t, s, admin, "admin", append(start, "/acme/-/packages/npm/@acme%2Fwidget/settings",
		"/acme/-/packages/generic/tools/settings"))

	if len(seenV) < 20 || len(seenA) < 30 {
		t.Errorf("the walk reached %d pages as a visitor and %d as the admin: too few to judge the site", len(seenV), len(seenA))
	}
	for _, want := range []string{"/acme/-/packages/npm/@acme%2Fwidget", "/acme/-/packages/generic/tools/1.10", "/acme/core/packages"} {
		if seenV[want] != http.StatusOK || seenA[want] != http.StatusOK {
			t.Errorf("%s: visitor %d, admin %d; want both to reach it by links with 200", want, seenV[want], seenA[want])
		}
	}
	for _, want := range []string{"/-/admin/packages", "/-/admin/cleanup", "/org/acme/settings/packages/rules/add"} {
		if seenA[want] != http.StatusOK {
			t.Errorf("admin %s: %d, want 200 reached by links", want, seenA[want])
		}
	}
	// A signed-in user on a page that does not exist gets the 404 page.
	if got := seenA["/no-such-owner-x"]; got != http.StatusNotFound {
		t.Errorf("admin /no-such-owner-x: %d, want 404", got)
	}
	for _, dl := range []map[string][]byte{dlV, dlA} {
		for _, v := range []string{"1.0", "1.2", "1.10"} {
			// The page links each file to its web download route
			// (…/{version}/files/{id}), which a browser session reaches.
			prefix := "/acme/-/packages/generic/tools/" + v + "/files/"
			for name, want := range files {
				found := false
				for p, got := range dl {
					found = found || strings.HasPrefix(p, prefix) && bytes.Equal(got, want)
				}
				if !found {
					t.Errorf("download %s of %s by its page link (%s…): not reached with the %d uploaded bytes", name, v, prefix, len(want))
				}
			}
		}
	}
}

// TestReview14NamesAndOrder: a scoped npm name works encoded and raw on the
// package and version pages, versions are listed by semver (prereleases
// below their release), and the version pages' file links download the
// published tarball.
func TestReview14NamesAndOrder(t *testing.T) {
	s := newServer(t)
	review14Seed(t, s)
	w := newWebClient(t, s.URL)
	w.signIn(s.AdminName, s.AdminPass)

	var first string
	for _, p := range []string{"/acme/-/packages/npm/@acme%2Fwidget", "/acme/-/packages/npm/@acme/widget", "/acme/-/packages/npm/%40acme%2fwidget"} {
		r := w.get(p)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", p, r.Status, pageText(r.Body))
		}
		m := reVersions.FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatalf("%s: no versions table: %s", p, pageText(r.Body))
		}
		var got []string
		for _, c := range reCellLink.FindAllStringSubmatch(m[1], -1) {
			got = append(got, c[1])
		}
		want := []string{"2.0.0-rc.1", "1.10.0", "1.2.0", "1.0.0", "1.0.0-beta.1", "0.9.0"}
		if !slices.Equal(got, want) {
			t.Errorf("%s: versions %v, want %v", p, got, want)
		}
		if first == "" {
			first = pageText(r.Body)
		} else if pageText(r.Body) != first {
			t.Errorf("%s differs from the encoded URL's page", p)
		}
	}
	for _, p := range []string{"/acme/-/packages/npm/@acme%2Fwidget/1.10.0", "/acme/-/packages/npm/@acme/widget/1.10.0"} {
		r := w.get(p)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, "npm install @acme/widget@1.10.0") ||
			!strings.Contains(r.Body, "@acme:registry="+s.URL+"/api/packages/acme/npm/") {
			t.Fatalf("%s: %d, want the install lines: %s", p, r.Status, pageText(r.Body))
		}
		link := regexp.MustCompile(`href="([^"]*)" download>widget-1\.10\.0\.tgz<`).FindStringSubmatch(r.Body)
		if link == nil {
			t.Fatalf("%s: the tarball is not a download link", p)
		}
		resp, err := http.Get(html.UnescapeString(link[1]))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(b, npmTarball(pkgJSON("@acme/widget", "1.10.0"))) {
			t.Errorf("%s: the file link answered %d with %d bytes, not the published tarball", p, resp.StatusCode, len(b))
		}
	}
}

// TestReview14RulePreviewIsTheRun: for several rule shapes, the preview
// page lists exactly the versions its run then removes.
func TestReview14RulePreviewIsTheRun(t *testing.T) {
	cases := []struct {
		name string
		form url.Values
	}{
		{"keep newest 1", url.Values{"keep_count": {"1"}}},
		{"remove matching", url.Values{"remove_pattern": {`1\.(2|10)`}}},
		{"keep matching, remove the rest", url.Values{"keep_pattern": {`1\.0`}}},
		{"full name", url.Values{"match_full_name": {"on"}, "remove_pattern": {`tools/1\.1.*`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			review14Seed(t, s)
			w := newWebClient(t, s.URL)
			w.signIn(s.AdminName, s.AdminPass)
			form := url.Values{"type": {"generic"}, "keep_count": {"0"}, "remove_days": {"0"}}
			for k, v := range tc.form {
				form[k] = v
			}
			if r := w.post("/org/acme/settings/packages/rules/add", form); r.Status != http.StatusSeeOther {
				t.Fatalf("add rule: %d %s", r.Status, pageText(r.Body))
			}
			settings := w.get("/org/acme/settings/packages")
			m := regexp.MustCompile(`href="[^"]*(/org/acme/settings/packages/rules/\d+)/preview"`).FindStringSubmatch(settings.Body)
			if m == nil {
				t.Fatalf("no preview link: %s", pageText(settings.Body))
			}
			preview := w.get(m[1] + "/preview")
			if preview.Status != http.StatusOK {
				t.Fatalf("preview: %d %s", preview.Status, pageText(preview.Body))
			}
			listed := map[string]bool{}
			for _, row := range regexp.MustCompile(`<tr class="candidate"><td>tools</td><td>([^<]+)</td>`).FindAllStringSubmatch(preview.Body, -1) {
				listed[row[1]] = true
			}
			// The run button's form, as the page has it (its stamp).
			action, runValues := runForm(t, formPage{Status: preview.Status, Header: preview.Header, Body: preview.Body})
			if run := w.post(action, runValues); run.Status >= 400 {
				t.Fatalf("run: %d %s", run.Status, pageText(run.Body))
			}
			for _, v := range []string{"1.0", "1.2", "1.10"} {
				status, _, _ := s.do(t, "GET", "/api/packages/acme/generic/tools/"+v+"/hello.txt", "", nil)
				if gone := status == http.StatusNotFound; gone != listed[v] {
					t.Errorf("version %s: listed by the preview %v, removed by the run %v (%d); preview: %s", v, listed[v], gone, status, pageText(preview.Body))
				}
			}
		})
	}
}

// TestReview14Paging: the owner's package list, the admin's package list
// and a package's version list page through everything exactly once, in
// order, and their next/previous links keep the filters and the search.
func TestReview14Paging(t *testing.T) {
	s := newServer(t)
	if _, _, err := s.client(t, gitea.SetToken(s.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	meta := func(string) string { return "{}" }
	want := map[string]bool{}
	for i := range 55 {
		name := fmt.Sprintf("pkg%02d", i)
		seedVersions(t, s, "acme", packages_model.TypeGeneric, name, 1, meta, func(string) string { return "f.bin" })
		want[name] = true
	}
	seedVersions(t, s, "acme", packages_model.TypeGeneric, "other", 1, meta, func(string) string { return "f.bin" })
	seedVersions(t, s, "acme", packages_model.TypeGeneric, "many", 60, meta, func(v string) string { return "f-" + v + ".bin" })
	w := newWebClient(t, s.URL)
	w.signIn(s.AdminName, s.AdminPass)
	reNext := regexp.MustCompile(`href="([^"]*)" rel="next"`)
	walk := func(first string, row *regexp.Regexp, keep ...string) []string {
		t.Helper()
		var got []string
		for p, n := first, 0; p != "" && n < 20; n++ {
			r := w.get(p)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", p, r.Status, pageText(r.Body))
			}
			for _, m := range row.FindAllStringSubmatch(r.Body, -1) {
				got = append(got, m[1])
			}
			p = ""
			if m := reNext.FindStringSubmatch(r.Body); m != nil {
				p = localPath(s, first, html.UnescapeString(m[1]))
				for _, k := range keep {
					if !strings.Contains(p, k) {
						t.Errorf("%s: the next link %s drops %s", first, p, k)
					}
				}
			}
		}
		return got
	}
	names := func(got []string) map[string]bool {
		m := map[string]bool{}
		for _, n := range got {
			if m[n] {
				t.Errorf("%s listed twice", n)
			}
			m[n] = true
		}
		return m
	}
	rowOwner := regexp.MustCompile(`<tr><td><a href="[^"]*/acme/-/packages/generic/[^"]*">(pkg\d\d|other|many)</a>`)
	if got := names(walk("/acme/-/packages?type=generic&q=pkg&limit=20", rowOwner, "type=generic", "q=pkg", "limit=20")); !maps.Equal(got, want) {
		t.Errorf("owner's list, type and search kept over the pages: %d names %v, want the %d pkgNN", len(got), got, len(want))
	}
	rowAdmin := regexp.MustCompile(`<td><a href="[^"]*/acme/-/packages/generic/[^"]*">(pkg\d\d|other|many)</a>`)
	if got := names(walk("/-/admin/packages?owner=acme&type=generic&q=pkg", rowAdmin, "owner=acme", "type=generic", "q=pkg")); !maps.Equal(got, want) {
		t.Errorf("admin's list, filters kept over the pages: %d names %v, want the %d pkgNN", len(got), got, len(want))
	}
	versions := walk("/acme/-/packages/generic/many?limit=20", reCellLink, "limit=20")
	var wantVersions []string
	for i := 59; i >= 0; i-- {
		wantVersions = append(wantVersions, fmt.Sprintf("1.%d.%d", i/100, i%100))
	}
	if !slices.Equal(versions, wantVersions) {
		t.Errorf("versions over the pages: %v, want %v", versions, wantVersions)
	}
}

// installBlocks returns the <pre> blocks of a version page's Install
// section, unescaped, as a reader copies them.
func installBlocks(t *testing.T, w *webClient, path string) []string {
	t.Helper()
	r := w.get(path)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, r.Status, pageText(r.Body))
	}
	m := regexp.MustCompile(`(?s)<h2>Install</h2>(.*?)<h2>`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("%s: no Install section", path)
	}
	var blocks []string
	for _, b := range regexp.MustCompile(`(?s)<pre>(.*?)</pre>`).FindAllStringSubmatch(m[1], -1) {
		blocks = append(blocks, html.UnescapeString(b[1]))
	}
	return blocks
}

// runShell runs a copied command line with sh in dir.
func runShell(t *testing.T, dir string, env []string, line string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "sh", "-c", line)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

// runShellIn runs a copied command line with sh in dir, stdin given.
func runShellIn(t *testing.T, dir string, env []string, stdin, line string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "sh", "-c", line)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

// npmEnv is the environment of an npm with a home of its own.
func npmEnv(home string) []string {
	return append(os.Environ(), "HOME="+home, "npm_config_cache="+filepath.Join(home, "cache"), "npm_config_userconfig="+filepath.Join(home, "npmrc"),
		"npm_config_audit=false", "npm_config_fund=false", "npm_config_update_notifier=false")
}

// TestReview14InstallLinesWork copies a version page's install lines
// literally into a fresh project and runs the real client: npm with the
// .npmrc shown for a scoped package and the tarball line for an unscoped
// one, Bundler with the Gemfile lines, curl for generic files (names with
// a space, "&", "!", "#" and "$(" included: a quote is no valid name), and for a private organisation the
// credentials the page shows (USERNAME and TOKEN replaced, as a reader
// does): curl, npm, Composer's auth.json on a plain-HTTP instance, cargo's
// config.toml with cargo login, Bundler's config and gem's --source.
func TestReview14InstallLinesWork(t *testing.T) {
	s := newServer(t)
	files := review14Seed(t, s)
	w := newWebClient(t, s.URL)
	admin := newWebClient(t, s.URL)
	admin.signIn(s.AdminName, s.AdminPass)
	if _, _, err := s.client(t, gitea.SetToken(s.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "vault", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	// creds fills in the placeholders the page asks the reader to replace.
	creds := strings.NewReplacer("USERNAME", s.AdminName, "TOKEN", s.AdminToken).Replace
	// privateBlocks reads a private package's install lines as its
	// reader: the page tells where to create the token.
	privateBlocks := func(t *testing.T, path string) []string {
		t.Helper()
		if r := admin.get(path); !strings.Contains(r.Body, s.URL+"/user/settings/applications") || !strings.Contains(r.Body, "read:package") {
			t.Errorf("%s: the page does not say where to create a read:package token: %s", path, pageText(r.Body))
		}
		return installBlocks(t, admin, path)
	}
	publicHasNoHint := func(t *testing.T, path string) {
		t.Helper()
		if r := w.get(path); strings.Contains(r.Body, "not public") || strings.Contains(r.Body, "TOKEN") {
			t.Errorf("%s: a public owner's page asks for credentials: %s", path, pageText(r.Body))
		}
	}

	t.Run("generic", func(t *testing.T) {
		requireClient(t, "curl")
		blocks := installBlocks(t, w, "/acme/-/packages/generic/tools/1.10")
		if len(blocks) != 1 {
			t.Fatalf("generic install blocks: %q", blocks)
		}
		dir := t.TempDir()
		runShell(t, dir, os.Environ(), blocks[0])
		for name, want := range files {
			if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s after the page's curl lines: %v, %d bytes, want the %d uploaded", name, err, len(got), len(want))
			}
		}
	})

	t.Run("generic odd names, private", func(t *testing.T) {
		requireClient(t, "curl")
		odd := map[string][]byte{"a b.txt": []byte("spaced\n"), "x & y [1] !#~.txt": []byte("shell characters\n"), "$(id);echo pwned": []byte("not a command\n")}
		for name, b := range odd {
			if status, _, out := s.do(t, "PUT", "/api/packages/vault/generic/odd/1.0/"+url.PathEscape(name), string(b), tokenHeader(s.AdminToken)); status != http.StatusCreated {
				t.Fatalf("generic upload %q: %d %s", name, status, out)
			}
		}
		blocks := privateBlocks(t, "/vault/-/packages/generic/odd/1.0")
		if len(blocks) != 1 || strings.Count(blocks[0], "--user USERNAME:TOKEN") != len(odd) {
			t.Fatalf("generic install blocks: %q", blocks)
		}
		dir := t.TempDir()
		if out := runShell(t, dir, os.Environ(), creds(blocks[0])); strings.Contains(out, "pwned") {
			t.Errorf("a file name ran as a command:\n%s", out)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != len(odd) {
			t.Errorf("the curl lines wrote %d files, want %d: %v", len(entries), len(odd), entries)
		}
		for name, want := range odd {
			if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%q after the page's curl lines: %v, %q, want %q", name, err, got, want)
			}
		}
	})

	t.Run("npm scoped", func(t *testing.T) {
		requireClient(t, "npm")
		blocks := installBlocks(t, w, "/acme/-/packages/npm/@acme%2Fwidget/1.10.0")
		if len(blocks) != 2 {
			t.Fatalf("npm install blocks: %q", blocks)
		}
		dir, home := t.TempDir(), t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte(blocks[0]+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"app","version":"1.0.0"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		env := append(os.Environ(), "HOME="+home, "npm_config_cache="+filepath.Join(home, "cache"), "npm_config_userconfig="+filepath.Join(home, "npmrc"),
			"npm_config_audit=false", "npm_config_fund=false", "npm_config_update_notifier=false")
		runShell(t, dir, env, blocks[1])
		got, err := os.ReadFile(filepath.Join(dir, "node_modules", "@acme", "widget", "package.json"))
		if err != nil || !strings.Contains(string(got), `"1.10.0"`) {
			t.Errorf("node_modules/@acme/widget after %q: %v %s", blocks[1], err, got)
		}
	})

	t.Run("npm unscoped", func(t *testing.T) {
		requireClient(t, "npm")
		for _, owner := range []string{"acme", "vault"} {
			body := npmPublishBody("plain-"+owner, "1.0.0", nil, npmTarball(pkgJSON("plain-"+owner, "1.0.0")))
			if status, _, out := s.do(t, "PUT", "/api/packages/"+owner+"/npm/plain-"+owner, body, map[string]string{
				"Authorization": "token " + s.AdminToken, "Content-Type": "application/json"}); status != http.StatusCreated {
				t.Fatalf("npm publish plain-%s: %d %s", owner, status, out)
			}
		}
		for _, c := range []struct {
			owner  string
			blocks []string
		}{{"acme", installBlocks(t, w, "/acme/-/packages/npm/plain-acme/1.0.0")}, {"vault", privateBlocks(t, "/vault/-/packages/npm/plain-vault/1.0.0")}} {
			// The page never makes the owner's registry the default one: that
			// sends every other dependency there.
			for _, b := range c.blocks {
				for _, line := range strings.Split(b, "\n") {
					if strings.HasPrefix(strings.TrimSpace(line), "registry=") {
						t.Errorf("%s: the page tells to set the default registry: %q", c.owner, b)
					}
				}
			}
			dir, home := t.TempDir(), t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"app","version":"1.0.0"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			install := c.blocks[len(c.blocks)-1]
			if c.owner == "vault" {
				if len(c.blocks) != 2 {
					t.Fatalf("private unscoped npm install blocks: %q", c.blocks)
				}
				if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte(creds(c.blocks[0])+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				if len(c.blocks) != 1 {
					t.Fatalf("public unscoped npm install blocks: %q", c.blocks)
				}
				publicHasNoHint(t, "/acme/-/packages/npm/plain-acme/1.0.0")
			}
			runShell(t, dir, npmEnv(home), install)
			got, err := os.ReadFile(filepath.Join(dir, "node_modules", "plain-"+c.owner, "package.json"))
			if err != nil || !strings.Contains(string(got), `"1.0.0"`) {
				t.Errorf("node_modules/plain-%s after %q: %v %s", c.owner, install, err, got)
			}
		}
	})

	t.Run("npm scoped, private", func(t *testing.T) {
		requireClient(t, "npm")
		body := npmPublishBody("@vault/box", "2.0.0", nil, npmTarball(pkgJSON("@vault/box", "2.0.0")))
		if status, _, out := s.do(t, "PUT", "/api/packages/vault/npm/@vault%2fbox", body, map[string]string{
			"Authorization": "token " + s.AdminToken, "Content-Type": "application/json"}); status != http.StatusCreated {
			t.Fatalf("npm publish: %d %s", status, out)
		}
		blocks := privateBlocks(t, "/vault/-/packages/npm/@vault%2Fbox/2.0.0")
		if len(blocks) != 2 || !strings.Contains(blocks[0], "_authToken=TOKEN") {
			t.Fatalf("npm install blocks: %q", blocks)
		}
		dir, home := t.TempDir(), t.TempDir()
		writeFiles(t, dir, map[string]string{".npmrc": creds(blocks[0]) + "\n", "package.json": `{"name":"app","version":"1.0.0"}`})
		runShell(t, dir, npmEnv(home), blocks[1])
		if got, err := os.ReadFile(filepath.Join(dir, "node_modules", "@vault", "box", "package.json")); err != nil || !strings.Contains(string(got), `"2.0.0"`) {
			t.Errorf("node_modules/@vault/box after %q: %v %s", blocks[1], err, got)
		}
	})

	t.Run("composer on http, private", func(t *testing.T) {
		requireClient(t, "composer")
		requireClient(t, "php")
		z := composerZip("", map[string]string{"composer.json": `{"name":"vault/lib","description":"d","autoload":{"psr-4":{"Vault\\Lib\\":"src/"}}}`,
			"src/Lib.php": "<?php\nnamespace Vault\\Lib;\nclass Lib { public static function say(): string { return 'from the vault'; } }\n"})
		if status, _, out := s.do(t, "PUT", "/api/packages/vault/composer?version=1.0.0", string(z), tokenHeader(s.AdminToken)); status != http.StatusCreated {
			t.Fatalf("composer upload: %d %s", status, out)
		}
		blocks := privateBlocks(t, "/vault/-/packages/composer/vault%2Flib/1.0.0")
		if len(blocks) != 3 || !strings.Contains(blocks[0], `"secure-http": false`) || !strings.Contains(blocks[1], "http-basic") {
			t.Fatalf("composer install blocks: %q", blocks)
		}
		home := t.TempDir()
		dir := filepath.Join(home, "app")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{"composer.json": blocks[0], "auth.json": creds(blocks[1])})
		env := append(os.Environ(), "COMPOSER_HOME="+filepath.Join(home, ".composer"), "COMPOSER_CACHE_DIR="+filepath.Join(home, ".cache"),
			"COMPOSER_NO_INTERACTION=1", "COMPOSER_ALLOW_SUPERUSER=1")
		runShell(t, dir, env, blocks[2])
		if out := runShell(t, dir, env, `php -r 'require "vendor/autoload.php"; echo Vault\Lib\Lib::say();'`); out != "from the vault" {
			t.Errorf("the required library says %q", out)
		}
	})

	t.Run("cargo, private", func(t *testing.T) {
		if status, _, out := s.do(t, "PUT", "/api/packages/vault/cargo/api/v1/crates/new", cargoPublishBody("vaulted", "0.3.0"), tokenHeader(s.AdminToken)); status != http.StatusOK {
			t.Fatalf("cargo publish: %d %s", status, out)
		}
		// cargo with a home of its own and nothing configured in it: the
		// page's config.toml alone must be enough.
		c := newCargo(t, []cargoRegistry{{name: "unused", index: "sparse+" + s.URL + "/api/packages/acme/cargo/"}}, "")
		if err := os.WriteFile(filepath.Join(c.home, "config.toml"), []byte("[net]\nretry = 0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		blocks := privateBlocks(t, "/vault/-/packages/cargo/vaulted/0.3.0")
		if len(blocks) != 3 || !strings.Contains(blocks[0], `credential-provider = ["cargo:token"]`) {
			t.Fatalf("cargo install blocks: %q", blocks)
		}
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{".cargo/config.toml": blocks[0],
			"Cargo.toml": "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n", "src/main.rs": "fn main() {}\n"})
		env := append(slices.Clone(c.env), "PATH="+filepath.Dir(c.bin)+":"+os.Getenv("PATH"))
		runShellIn(t, dir, env, s.AdminToken+"\n", blocks[1])
		runShell(t, dir, env, blocks[2])
		if got := readFile(t, filepath.Join(dir, "Cargo.toml")); !strings.Contains(got, `vaulted = { version = "0.3.0", registry = "vault" }`) {
			t.Errorf("Cargo.toml after %q:\n%s", blocks[2], got)
		}
		runShell(t, dir, env, "cargo fetch")
		if got := readFile(t, filepath.Join(dir, "Cargo.lock")); !strings.Contains(got, `name = "vaulted"`) {
			t.Errorf("Cargo.lock after cargo fetch:\n%s", got)
		}
		// cargo login's link: the page that says where to make a token.
		if _, _, me := s.do(t, "GET", "/api/packages/vault/cargo/me", "", tokenHeader(s.AdminToken)); !strings.Contains(me, s.URL+"/user/settings/applications") ||
			!strings.Contains(me, `credential-provider = ["cargo:token"]`) {
			t.Errorf("/cargo/me:\n%s", me)
		}
	})

	t.Run("rubygems, private", func(t *testing.T) {
		g := newGemEnv(t)
		dir := g.buildGems(builtGem{name: "vault-gem", version: "0.2.0"})
		gem, err := os.ReadFile(filepath.Join(dir, "vault-gem-0.2.0.gem"))
		if err != nil {
			t.Fatal(err)
		}
		if status, _, out := s.do(t, "POST", "/api/packages/vault/rubygems/api/v1/gems", string(gem), tokenHeader(s.AdminToken)); status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("gem push: %d %s", status, out)
		}
		blocks := privateBlocks(t, "/vault/-/packages/rubygems/vault-gem/0.2.0")
		if len(blocks) != 3 || !strings.HasPrefix(blocks[0], "bundle config set --global ") {
			t.Fatalf("rubygems install blocks: %q", blocks)
		}
		proj := g.project(blocks[1] + "\n")
		sh := func(line string) string {
			t.Helper()
			cmd := g.cmd(proj, []string{"GEM_HOME=" + g.gemsDir(), "GEM_PATH=" + g.gemsDir()}, "sh", "-c", line)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			return string(out)
		}
		sh(creds(blocks[0]))
		g.must(proj, nil, "bundle", "install")
		if out := g.must(proj, nil, "bundle", "list"); !strings.Contains(out, "vault-gem (0.2.0)") {
			t.Errorf("bundle list after the page's lines:\n%s", out)
		}
		sh(creds(blocks[2]))
		if out := g.must(proj, nil, "gem", "list", "vault-gem"); !strings.Contains(out, "vault-gem (0.2.0)") {
			t.Errorf("gem list after %q:\n%s", blocks[2], out)
		}
	})

	t.Run("rubygems Gemfile", func(t *testing.T) {
		g := newGemEnv(t)
		dir := g.buildGems(builtGem{name: "plain-acme", version: "0.1.0"})
		gem, err := os.ReadFile(filepath.Join(dir, "plain-acme-0.1.0.gem"))
		if err != nil {
			t.Fatal(err)
		}
		if status, _, out := s.do(t, "POST", "/api/packages/acme/rubygems/api/v1/gems", string(gem), tokenHeader(s.AdminToken)); status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("gem push: %d %s", status, out)
		}
		blocks := installBlocks(t, w, "/acme/-/packages/rubygems/plain-acme/0.1.0")
		if len(blocks) != 2 {
			t.Fatalf("rubygems install blocks: %q", blocks)
		}
		proj := g.project(blocks[0] + "\n")
		g.must(proj, nil, "bundle", "install")
		if out := g.must(proj, nil, "bundle", "list"); !strings.Contains(out, "plain-acme (0.1.0)") {
			t.Errorf("bundle list after the page's Gemfile lines:\n%s", out)
		}
	})
}
