package tests

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// collectURLs gathers every non-empty string under a key named url or
// ending in _url, anywhere in a decoded JSON document.
func collectURLs(v any, key string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			collectURLs(e, k, out)
		}
	case []any:
		for _, e := range x {
			collectURLs(e, key, out)
		}
	case string:
		if x != "" && (key == "url" || strings.HasSuffix(key, "_url")) {
			out[x] = key
		}
	}
}

// TestAPILinksResolve follows every URL field of the repository, branch,
// tag and commit answers, and each must answer 200: the tags' archive
// links, the commit links and languages_url used to 404.
func TestAPILinksResolve(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "linker")
	auth := basic("linker", "linker-password")
	c := s.client(t, gitea.SetBasicAuth("linker", "linker-password"))
	if _, _, err := c.CreateRepo(gitea.CreateRepoOption{Name: "site", AutoInit: true, Private: true}); err != nil {
		t.Fatal(err)
	}

	// A second commit with code in a few languages, some of which must not
	// count (vendored, hidden, documentation).
	work := t.TempDir()
	gitCmd{t, work}.must("clone", "-q", authURL(s.URL, "linker", "linker-password", "linker/site.git"), "site")
	g := gitCmd{t, filepath.Join(work, "site")}
	files := map[string]string{
		"main.go":            "package main\n\nfunc main() {}\n",
		"internal/x/x.go":    "package x\n",
		"web/app.js":         "console.log('hi')\n",
		"vendor/dep/dep.go":  "package dep // vendored: not counted\n",
		".github/tool.go":    "package tool // hidden: not counted\n",
		"docs/guide.md":      "# Guide\n",
		"web/lib.min.js":     "minified()\n",
		"scripts/install.sh": "#!/bin/sh\necho ok\n",
	}
	for name, content := range files {
		p := filepath.Join(g.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g.must("add", "-A")
	g.must("commit", "-q", "-m", "code")
	g.must("push", "-q", "origin", "main")
	if _, _, err := c.CreateTag("linker", "site", gitea.CreateTagOption{TagName: "v1.0.0", Message: "first release"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTag("linker", "site", gitea.CreateTagOption{TagName: "release/2.0"}); err != nil {
		t.Fatal(err)
	}

	urls := map[string]string{}
	for _, p := range []string{
		"/api/v1/repos/linker/site", "/api/v1/repos/linker/site/branches", "/api/v1/repos/linker/site/branches/main",
		"/api/v1/repos/linker/site/tags", "/api/v1/repos/linker/site/tags/v1.0.0", "/api/v1/repos/linker/site/tags/release/2.0",
		"/api/v1/repos/linker/site/git/commits/main",
	} {
		status, _, body := s.do(t, "GET", p, "", auth)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, status, body)
		}
		var doc any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		collectURLs(doc, "", urls)
	}
	for _, want := range []string{"zipball_url", "tarball_url", "languages_url", "clone_url", "html_url", "url"} {
		found := false
		for _, k := range urls {
			found = found || k == want
		}
		if !found {
			t.Fatalf("no %s among the links: %v", want, urls)
		}
	}
	var keys []string
	for u := range urls {
		keys = append(keys, u)
	}
	sort.Strings(keys)
	for _, u := range keys {
		field := urls[u]
		path, ok := strings.CutPrefix(u, s.URL)
		if !ok {
			t.Errorf("%s %q is not on this instance", field, u)
			continue
		}
		if field == "clone_url" {
			path += "/info/refs?service=git-upload-pack" // what git fetches first
		}
		status, hdr, body := s.do(t, "GET", path, "", auth)
		if status != http.StatusOK {
			t.Errorf("%s %s: %d %.200s", field, u, status, body)
			continue
		}
		switch {
		case field == "zipball_url":
			if _, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body))); err != nil {
				t.Errorf("%s is not a zip: %v", u, err)
			}
		case field == "tarball_url":
			zr, err := gzip.NewReader(strings.NewReader(body))
			if err == nil {
				_, err = io.Copy(io.Discard, zr)
			}
			if err != nil {
				t.Errorf("%s is not a tar.gz: %v", u, err)
			}
		case strings.Contains(u, "/api/v1/") && !strings.HasPrefix(hdr.Get("Content-Type"), "application/json"):
			t.Errorf("%s: content type %q", u, hdr.Get("Content-Type"))
		}
	}

	// The languages, counted from the default branch by extension.
	langs, _, err := c.GetRepoLanguages("linker", "site")
	if err != nil {
		t.Fatal(err)
	}
	size := func(names ...string) int64 {
		var n int64
		for _, name := range names {
			n += int64(len(files[name]))
		}
		return n
	}
	want := map[string]int64{"Go": size("main.go", "internal/x/x.go"), "JavaScript": size("web/app.js"), "Shell": size("scripts/install.sh")}
	if len(langs) != len(want) {
		t.Fatalf("languages = %v, want %v", langs, want)
	}
	for k, v := range want {
		if langs[k] != v {
			t.Fatalf("languages = %v, want %v", langs, want)
		}
	}
	if _, _, err := c.CreateRepo(gitea.CreateRepoOption{Name: "blank"}); err != nil {
		t.Fatal(err)
	}
	if status, _, body := s.do(t, "GET", "/api/v1/repos/linker/blank/languages", "", auth); status != http.StatusOK || strings.TrimSpace(body) != "{}" {
		t.Fatalf("languages of an empty repository: %d %s", status, body)
	}

	// The commit, through the SDK: its parent's link is a commit too.
	head := strings.TrimSpace(g.must("rev-parse", "HEAD"))
	parent := strings.TrimSpace(g.must("rev-parse", "HEAD^"))
	cm, _, err := c.GetSingleCommit("linker", "site", head)
	if err != nil {
		t.Fatal(err)
	}
	if cm.SHA != head || cm.RepoCommit == nil || cm.RepoCommit.Message != "code\n" || cm.RepoCommit.Author.Email != "t@example.com" ||
		len(cm.Parents) != 1 || cm.Parents[0].SHA != parent || cm.RepoCommit.Tree == nil || len(cm.RepoCommit.Tree.SHA) != 40 {
		t.Fatalf("GetSingleCommit = %+v %+v", cm, cm.RepoCommit)
	}
	if status, _, body := s.do(t, "GET", strings.TrimPrefix(cm.Parents[0].URL, s.URL), "", auth); status != http.StatusOK || !strings.Contains(body, parent) {
		t.Fatalf("parent link: %d %s", status, body)
	}
	if status, _, body := s.do(t, "GET", "/api/v1/repos/linker/site/git/commits/"+strings.Repeat("0", 40), "", auth); status != http.StatusNotFound {
		t.Fatalf("unknown commit: %d %s", status, body)
	}

	// The archive links keep the repository's access rules: the private
	// repository is hidden from others, and a token needs read:repository.
	if status, _, _ := s.do(t, "GET", "/linker/site/archive/v1.0.0.zip", "", nil); status != http.StatusNotFound && status != http.StatusUnauthorized {
		t.Fatalf("anonymous archive of a private repository: %d", status)
	}
	pkgTok, _, err := c.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "pkg", Scopes: []gitea.AccessTokenScope{"read:package"}})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body := s.do(t, "GET", "/linker/site/archive/v1.0.0.zip", "", tokenHeader(pkgTok.Token)); status != http.StatusForbidden {
		t.Fatalf("archive with a token without read:repository: %d %s", status, body)
	}
}
