package web

import (
	"bytes"
	"html/template"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestBrowseTemplates renders every browsing template with representative
// data (signed in and not), checks what each must show and that the
// result is a well-formed page with a title, one <h1> and landmarks.
func TestBrowseTemplates(t *testing.T) {
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	signedIn := page{Title: "T", RootURL: "http://x/", WharfVersion: "1.0", Viewer: &viewer{Name: "alice", Session: true}}
	visitor := page{Title: "T", RootURL: "http://x/", WharfVersion: "1.0", LoginURL: "http://x/user/login?redirect_to=%2F"}
	pkgs := []packageItem{{Type: "npm", Name: "@a/b", Version: "1.10.0", Path: "alice/-/packages/npm/@a%2Fb/1.10.0", Created: "2026-01-02",
		Owner: "alice", OwnerPath: "alice", PackagePath: "alice/-/packages/npm/@a%2Fb", Versions: 3, Repository: "alice/lib", RepositoryPath: "alice/lib"}}
	repos := []repoItem{{Name: "lib", Path: "alice/lib", Description: "a lib", Private: true, Owner: "alice", Updated: "2026-01-02"}}
	pg := pager{Page: 2, PageSize: 1, Total: 3, PrevURL: "http://x/explore/repos?page=1", NextURL: "http://x/explore/repos?page=3"}
	files := []fileItem{{Name: "b-1.10.0.tgz", SHA256: "abc123", Size: 2048, URL: "http://x/api/packages/alice/npm/@a/b/-/b-1.10.0.tgz",
		WebURL: "http://x/alice/-/packages/npm/@a%2Fb/1.10.0/files/3"}, {Name: "later.zip", URL: "http://x/later.zip", WebURL: "http://x/later.zip", Pending: true}}
	cases := []struct {
		name      string
		data      any
		want, not []string
	}{
		{"home", homePage{page: visitor, Repos: repos, Packages: pkgs},
			[]string{"Sign in", `href="http://x/alice/lib"`, `href="http://x/alice/-/packages/npm/@a%2Fb/1.10.0"`, "How to use it"}, []string{"organisation(s)", "Database"}},
		{"home", homePage{page: signedIn, ReposHidden: true, PackagesHidden: true},
			[]string{"lacks read:repository", "lacks read:package", `href="http://x/user/settings/applications"`}, []string{"to see your own"}},
		{"explore/repos", exploreReposPage{page: signedIn, Query: "li", Repos: repos, Pager: pg},
			[]string{`value="li"`, "alice/lib", `rel="prev"`, `rel="next"`, `<label for="repo-q">`}, nil},
		{"explore/repos", exploreReposPage{page: visitor, Query: "zz"}, []string{"No repositories match."}, nil},
		{"explore/organizations", exploreOrgsPage{page: signedIn, Orgs: []ownerItem{{Name: "acme", Path: "acme", FullName: "Acme", Visibility: "private"}}, Pager: pg},
			[]string{`href="http://x/acme"`, "(Acme)", `<span class="badge">private</span>`}, nil},
		{"explore/organizations", exploreOrgsPage{page: visitor}, []string{"No organisations you may see."}, nil},
		{"owner", ownerPage{page: signedIn, Owner: "alice", OwnerPath: "alice", FullName: "Alice A", Website: "https://a.example", Location: "Here", Repos: repos, Pager: pg},
			[]string{`href="http://x/alice/lib"`, `href="http://x/alice/-/packages"`, "Alice A", `href="https://a.example"`, "private"}, nil},
		{"owner", ownerPage{page: visitor, Owner: "alice", OwnerPath: "alice", ReposHidden: true}, []string{"lacks read:repository"}, nil},
		{"packages", packagesPage{page: signedIn, Owner: "alice", OwnerPath: "alice", Items: pkgs, Total: 3, More: true, Types: []string{"npm", "cargo"},
			Type: "npm", Query: "a", Pager: pager{Page: 1, PageSize: 1, Total: 3, NextURL: "http://x/alice/-/packages?page=2"}},
			[]string{`<option value="npm" selected>`, `value="a"`, "the first 1 of 3", `href="http://x/alice/lib"`, `href="http://x/alice/-/packages/npm/@a%2Fb"`, "1.10.0"}, nil},
		{"packages", packagesPage{page: visitor, Owner: "alice", OwnerPath: "alice", Query: "zz"}, []string{"No packages match."}, nil},
		{"repo", repoPage{page: visitor, Owner: "alice", OwnerPath: "alice", Name: "lib", Path: "alice/lib", CloneURL: "http://x/alice/lib.git", DefaultBranch: "main",
			Branches: []string{"main", "dev"}, Tags: []string{"v2", "v1"}, Tab: "code", ReadmeName: "README.md", Readme: template.HTML("<h2 id=\"user-content-lib\">Lib</h2>"), ReadmeTruncated: true},
			[]string{"git clone http://x/alice/lib.git", "(default)", `<h2 id="user-content-lib">Lib</h2>`, "only its beginning", `href="http://x/alice/lib/packages"`, `aria-current="page">Code`}, nil},
		{"repo", repoPage{page: signedIn, Owner: "alice", OwnerPath: "alice", Name: "lib", Path: "alice/lib", Empty: true}, []string{"This repository is empty"}, nil},
		{"repo/packages", repoPackagesPage{repoPage: repoPage{page: signedIn, Owner: "alice", OwnerPath: "alice", Name: "lib", Path: "alice/lib", Tab: "packages"}, Items: pkgs, Pager: pg},
			[]string{`aria-current="page">Packages`, `href="http://x/alice/-/packages/npm/@a%2Fb"`, "1.10.0"}, nil},
		{"repo/packages", repoPackagesPage{repoPage: repoPage{page: visitor, Owner: "alice", Name: "lib", Tab: "packages"}}, []string{"No packages are linked"}, nil},
		{"package/versions", packageVersionsPage{page: signedIn, Owner: "alice", OwnerPath: "alice", Type: "npm", Name: "@a/b", PackagePath: "alice/-/packages/npm/@a%2Fb",
			Latest: "1.10.0", LatestPath: "alice/-/packages/npm/@a%2Fb/1.10.0", Repository: "alice/lib", RepositoryPath: "alice/lib", Total: 2, Pager: pg,
			Versions: []versionItem{{Version: "1.10.0", Path: "p/1.10.0", Created: "2026-01-02", Downloads: 7}, {Version: "1.0.0", Path: "p/1.0.0", Yanked: true, Note: "deprecated: old"}},
			Tags:     []tagItem{{Tag: "latest", Version: "1.10.0", Path: "p/1.10.0"}, {Tag: "next", Version: "2.0.0-rc.1", Path: "p/2.0.0-rc.1"}}},
			[]string{"latest <a href=\"http://x/alice/-/packages/npm/@a%2Fb/1.10.0\">1.10.0</a>", "yanked", "deprecated: old", `href="http://x/alice/lib"`, ">7<",
				"<code>next</code></td><td><a href=\"http://x/p/2.0.0-rc.1\">2.0.0-rc.1</a>"}, nil},
		{"package/versions", packageVersionsPage{page: visitor, Owner: "alice", Name: "x"}, []string{"No versions."}, []string{"<h2>Tags</h2>"}},
		{"package/versions", packageVersionsPage{page: visitor, Owner: "alice", Name: "x", Total: 3, Pager: pager{Page: 9, PageSize: 20, Total: 3,
			FirstURL: "http://x/alice/-/packages/npm/x"}}, []string{"Page 9 is past the end", `<a href="http://x/alice/-/packages/npm/x">Go to the first page</a>`}, []string{"No versions."}},
		{"packages", packagesPage{page: visitor, Owner: "alice", Pager: pager{Page: 4, PageSize: 20, Total: 3, FirstURL: "http://x/alice/-/packages?type=npm"}},
			[]string{"Page 4 is past the end", `href="http://x/alice/-/packages?type=npm">Go to the first page`}, []string{"No packages."}},
		{"explore/repos", exploreReposPage{page: visitor, Pager: pager{Page: 4, Total: 3, FirstURL: "http://x/explore/repos"}}, []string{"Page 4 is past the end"}, []string{"No repositories"}},
		{"explore/organizations", exploreOrgsPage{page: visitor, Pager: pager{Page: 4, Total: 3, FirstURL: "http://x/explore/organizations"}}, []string{"Page 4 is past the end"}, []string{"No organisations"}},
		{"owner", ownerPage{page: visitor, Owner: "alice", Pager: pager{Page: 4, Total: 3, FirstURL: "http://x/alice"}}, []string{"Page 4 is past the end"}, []string{"No repositories"}},
		{"owner", ownerPage{page: signedIn, Owner: "acme", IsOrg: true, SettingsPath: "org/acme/settings/packages"}, []string{`<a href="http://x/org/acme/settings/packages">Package settings</a>`}, nil},
		{"packages", packagesPage{page: signedIn, Owner: "alice", SettingsPath: "user/settings/packages"}, []string{`<a href="http://x/user/settings/packages">Package settings</a>`}, nil},
		{"owner", ownerPage{page: visitor, Owner: "alice"}, nil, []string{"Package settings"}},
		{"package", packageVersionPage{page: signedIn, Owner: "alice", OwnerPath: "alice", Type: "npm", Name: "@a/b", Version: "1.10.0", Created: "2026-01-02",
			PackagePath: "alice/-/packages/npm/@a%2Fb", Repository: "alice/lib", RepositoryPath: "alice/lib", Files: files, Description: "widgets",
			License: "MIT", Homepage: "https://h.example", Deprecated: "use 2", Yanked: true, Downloads: 5,
			Dependencies: []dependencyItem{{Name: "left-pad", Requirement: "^1.0", Kind: "dev"}}, Facts: []factItem{{Name: "Author", Value: "Al"}},
			SourceRepository: "alice/lib", SourceRepositoryPath: "alice/lib", SourceRef: "refs/tags/v1", SourceCommit: "deadbeef", Install: template.HTML("<pre>npm install @a/b@1.10.0</pre>"),
			SettingsPath: "alice/-/packages/npm/@a%2Fb/settings"},
			[]string{`href="http://x/alice/-/packages/npm/@a%2Fb/1.10.0/files/3"`, "2.0 KiB", "abc123", "Deprecated:", "Yanked:", "widgets", "MIT",
				`href="https://h.example"`, "left-pad", "refs/tags/v1", "deadbeef", "npm install @a/b@1.10.0", "5 download(s)", "Author", "built on its first download",
				`<a href="http://x/alice/-/packages/npm/@a%2Fb/settings">Settings</a>`}, nil},
		{"package", packageVersionPage{page: visitor, Owner: "alice", Name: "x", Version: "1"}, []string{"None."}, []string{"Source", "Deprecated:", "Yanked:", ">Settings<"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tmpl.ExecuteTemplate(&buf, c.name, c.data); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(out, w) {
					t.Errorf("shows %q", w)
				}
			}
			checkPage(t, out)
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// checkPage parses a page and checks its frame: a title, exactly one h1,
// main, and a label for every input and select.
func checkPage(t *testing.T, out string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	labels, inputs := map[string]bool{}, []string{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			count[n.Data]++
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch n.Data {
			case "label":
				labels[attr("for")] = true
			case "input", "select":
				if attr("type") != "hidden" {
					inputs = append(inputs, attr("id"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	// Exactly one h1: a README's headings start at h2 (modules/markup).
	if count["title"] != 1 || count["main"] != 1 || count["h1"] != 1 {
		t.Errorf("title %d, main %d, h1 %d", count["title"], count["main"], count["h1"])
	}
	for _, id := range inputs {
		if id == "" || !labels[id] {
			t.Errorf("an input or select (id %q) has no label", id)
		}
	}
}

// TestInstallTemplates renders each format's install instructions as the
// version page does, by name, and checks the exact lines.
func TestInstallTemplates(t *testing.T) {
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{tmpl: tmpl}
	files := []fileItem{{Name: "f.bin", URL: "http://x/api/packages/o.k/generic/f/1/f.bin"}}
	base := func(typ, name, scope string) installData {
		reg := "http://x/api/packages/o.k/" + typ + "/"
		return installData{RootURL: "http://x/", Owner: "o.k", Type: typ, Name: name, Version: "1.2.3", Registry: reg,
			RegistryURL: strings.TrimSuffix(reg, "/"), Scope: scope, Ident: ident("o.k"), Files: files}
	}
	cases := []struct {
		in   installData
		want []string
	}{
		{base("npm", "@o/w", "@o"), []string{"@o:registry=http://x/api/packages/o.k/npm/", "npm install @o/w@1.2.3"}},
		{base("npm", "plain", ""), []string{"npm install http://x/api/packages/o.k/npm/plain/-/plain-1.2.3.tgz"}},
		{base("composer", "v/n", "v"), []string{`"type": "composer"`, `"url": "http://x/api/packages/o.k/composer"`, "composer require v/n:1.2.3"}},
		{base("cargo", "crab", ""), []string{"[registries.o-k]", `index = "sparse+http://x/api/packages/o.k/cargo/"`, "cargo add crab@1.2.3 --registry o-k"}},
		{base("rubygems", "shiny", ""), []string{`source "http://x/api/packages/o.k/rubygems" do`, `gem "shiny", "1.2.3"`, `gem install shiny --version 1.2.3 --source http://x/api/packages/o.k/rubygems/`}},
		{base("generic", "f", ""), []string{"curl -fL -o f.bin http://x/api/packages/o.k/generic/f/1/f.bin"}},
		// A type without a template of its own gets the generic one.
		{base("future", "f", ""), []string{"curl -fL -o f.bin"}},
	}
	for _, c := range cases {
		out, err := h.installFor(c.in)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s install lacks %q:\n%s", c.in.Type, w, out)
			}
		}
	}
}

func TestPathSegments(t *testing.T) {
	cases := []struct {
		target, rest string
		want         []string
	}{
		{"/o/-/packages/npm/@s%2Fn/1.0.0", "@s%2Fn/1.0.0", []string{"@s/n", "1.0.0"}},
		{"/o/-/packages/npm/@s/n/1.0.0", "@s/n/1.0.0", []string{"@s", "n", "1.0.0"}},
		{"/o/-/packages/generic/a%25b", "a%b", []string{"a%b"}},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", c.target, nil)
		got, ok := pathSegments(r, c.rest)
		if !ok || strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: %q, want %q", c.target, got, c.want)
		}
	}
}

// TestSplitPackagePath: every shape of a package URL's rest, and the
// shapes that are no page.
func TestSplitPackagePath(t *testing.T) {
	cases := []struct {
		segs []string
		want packageTarget
		ok   bool
	}{
		{[]string{"widget"}, packageTarget{Name: "widget"}, true},
		{[]string{"@acme/widget"}, packageTarget{Name: "@acme/widget"}, true},
		// An encoded name may hold any number of slashes (a Go module
		// path); a raw-slash name only one.
		{[]string{"example.com/a/b"}, packageTarget{Name: "example.com/a/b"}, true},
		{[]string{"example.com/a/b", "v1.0.0"}, packageTarget{Name: "example.com/a/b", Version: "v1.0.0"}, true},
		{[]string{"@acme", "widget"}, packageTarget{Name: "@acme/widget", Alt: true, AltName: "@acme", AltVersion: "widget"}, true},
		{[]string{"widget", "1.0.0"}, packageTarget{Name: "widget/1.0.0", Alt: true, AltName: "widget", AltVersion: "1.0.0"}, true},
		{[]string{"@acme/widget", "1.0.0"}, packageTarget{Name: "@acme/widget", Version: "1.0.0"}, true},
		{[]string{"widget", "1.0/0"}, packageTarget{}, false},
		{[]string{"@acme", "widget", "1.0.0"}, packageTarget{Name: "@acme/widget", Version: "1.0.0"}, true},
		{[]string{"vendor", "name", "settings"}, packageTarget{Name: "vendor/name", Settings: true}, true},
		{[]string{"@acme/widget", "1.0.0", "x"}, packageTarget{}, false},
		// A version's file: name one segment (encoded slash or none) …
		{[]string{"widget", "1.0.0", "files", "42"}, packageTarget{Name: "widget", Version: "1.0.0", FileID: 42}, true},
		{[]string{"@acme/widget", "1.0.0", "files", "7"}, packageTarget{Name: "@acme/widget", Version: "1.0.0", FileID: 7}, true},
		// … or two (a raw slash).
		{[]string{"@acme", "widget", "2.0.0", "files", "9"}, packageTarget{Name: "@acme/widget", Version: "2.0.0", FileID: 9}, true},
		// "files" is never taken for a version.
		{[]string{"@acme", "widget", "files"}, packageTarget{}, false},
		{[]string{"widget", "1.0.0", "files"}, packageTarget{}, false},
		// Four segments are name/version/files/id, whatever they look like.
		{[]string{"@acme", "widget", "files", "1"}, packageTarget{Name: "@acme", Version: "widget", FileID: 1}, true},
		{[]string{"widget", "1.0.0", "file", "1"}, packageTarget{}, false},
		{[]string{"widget", "1.0.0", "files", "0"}, packageTarget{}, false},
		{[]string{"widget", "1.0.0", "files", "-3"}, packageTarget{}, false},
		{[]string{"widget", "1.0.0", "files", "x"}, packageTarget{}, false},
		{[]string{"widget", "1.0/0", "files", "1"}, packageTarget{}, false},
		{[]string{"a/b/c", "1.0.0", "files", "1"}, packageTarget{Name: "a/b/c", Version: "1.0.0", FileID: 1}, true},
		{[]string{"@acme/x", "widget", "2.0.0", "files", "9"}, packageTarget{}, false},
		{[]string{"@acme", "widget", "2.0.0", "files", "9", "x"}, packageTarget{}, false},
		{[]string{""}, packageTarget{}, false},
		{[]string{"widget", ""}, packageTarget{}, false},
		{[]string{"wid\x00get"}, packageTarget{}, false},
		{[]string{"wid\xffget"}, packageTarget{}, false},
	}
	for _, c := range cases {
		got, ok := splitPackagePath(c.segs)
		if !c.ok {
			if ok {
				t.Errorf("%q: got %+v, want no page", c.segs, got)
			}
			continue
		}
		if !ok || got != c.want {
			t.Errorf("%q: got %+v %v, want %+v", c.segs, got, ok, c.want)
		}
	}
}

// TestSplitRefPath: the longest known branch prefixes the file's path.
func TestSplitRefPath(t *testing.T) {
	branches := map[string]bool{"main": true, "feature": true, "feature/x": true}
	isBranch := func(s string) bool { return branches[s] }
	cases := []struct {
		segs         []string
		branch, file string
		ok           bool
	}{
		{[]string{"main", "logo.png"}, "main", "logo.png", true},
		{[]string{"main", "docs", "USAGE.md"}, "main", "docs/USAGE.md", true},
		{[]string{"feature", "x", "a.md"}, "feature/x", "a.md", true},
		{[]string{"feature", "y", "a.md"}, "feature", "y/a.md", true},
		{[]string{"main"}, "", "", false},
		{[]string{"feature", "x"}, "feature", "x", true},
		{[]string{"nope", "a.md"}, "", "", false},
		{[]string{"main", ""}, "", "", false},
	}
	for _, c := range cases {
		b, f, ok := splitRefPath(c.segs, isBranch)
		if ok != c.ok || b != c.branch || f != c.file {
			t.Errorf("%q: got %q %q %v, want %q %q %v", c.segs, b, f, ok, c.branch, c.file, c.ok)
		}
	}
}

// TestRawContentType: nothing a browser would run as a document.
func TestRawContentType(t *testing.T) {
	for _, c := range []struct{ head, want string }{
		{"<!DOCTYPE html><script>alert(1)</script>", "text/plain; charset=utf-8"},
		{"<html><body>x", "text/plain; charset=utf-8"},
		{`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, "text/plain; charset=utf-8"},
		{`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`, "text/plain; charset=utf-8"},
		{"# Usage\n", "text/plain; charset=utf-8"},
		{"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"},
		{"GIF89a", "image/gif"},
	} {
		if got := rawContentType([]byte(c.head)); got != c.want {
			t.Errorf("%q: %q, want %q", c.head, got, c.want)
		}
	}
}

// TestListPager: pager links use the list's escaped path (the form every
// other link uses) and keep the query; a page past the end links to the
// first page instead of a "previous" that is past the end too.
func TestListPager(t *testing.T) {
	h := &Handler{d: Deps{RootURL: "http://x/"}}
	path := "acme/-/packages/npm/@acme%2Fwidget"
	req := httptest.NewRequest("GET", "/acme/-/packages/npm/@acme%2Fwidget?page=2&limit=1", nil)
	p := h.listPager(req, path, pageOptions(req), 3)
	first := p.FirstURL
	if p.PrevURL != "http://x/"+path+"?limit=1" || p.NextURL != "http://x/"+path+"?limit=1&page=3" || first != "" {
		t.Errorf("middle page: prev %q next %q first %q", p.PrevURL, p.NextURL, first)
	}
	req = httptest.NewRequest("GET", "/acme/-/packages/npm/@acme/widget?page=9", nil)
	p = h.listPager(req, path, pageOptions(req), 3)
	first = p.FirstURL
	if first != "http://x/"+path || p.PrevURL != "" || p.NextURL != "" {
		t.Errorf("past the end: prev %q next %q first %q", p.PrevURL, p.NextURL, first)
	}
	req = httptest.NewRequest("GET", "/explore/repos?page=2&q=a%20b", nil)
	if first = h.listPager(req, "explore/repos", pageOptions(req), 0).FirstURL; first != "" {
		t.Errorf("an empty list is not past its end: %q", first)
	}
}
