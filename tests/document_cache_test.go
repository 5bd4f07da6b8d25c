package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
	"github.com/klauspost/compress/gzip"

	"wharf/models/organization"
	packages_model "wharf/models/packages"
	"wharf/models/unittest"
	"wharf/modules/setting"
	"wharf/routers"
)

// docClient never asks for gzip on its own nor decodes it, so the tests
// see the representations the server chose.
var docClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// fetch GETs path with the headers given and returns the status, the
// headers and the body as sent (gzip bytes stay gzip).
func fetch(t *testing.T, base, path string, h map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := docClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func with(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for hk, hv := range h {
		out[hk] = hv
	}
	return out
}

// cachePair is two processes on one database: cached keeps documents in
// memory (the default bound), plain keeps none, so its documents are
// always built from the database: what a current document is.
type cachePair struct {
	cached, plain *server
}

func newCachePair(t *testing.T) *cachePair {
	a := newServer(t)
	cfg := a.App.Cfg
	cfg.Cache.PackageDocumentsMemory = 0
	appB, err := routers.NewApp(context.Background(), cfg, routers.Options{Version: "test", Log: unittest.DiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if appB.Documents != nil {
		t.Fatal("a zero bound made a cache")
	}
	srvB := httptest.NewServer(appB.Handler)
	t.Cleanup(func() { srvB.Close(); _ = appB.Close() })
	return &cachePair{cached: a, plain: &server{URL: srvB.URL, App: appB, AdminToken: a.AdminToken}}
}

// watched is one document as one caller gets it.
type watched struct {
	name string
	path string
	h    map[string]string
	// identity: the format sends no gzip copy (RubyGems, whose versions
	// file Bundler reads by ranges; Cargo).
	identity bool
	last     []byte
	etag     string
}

// check fetches each document from the caching process and compares it
// with the one the other process builds from the database: the same
// bytes, in identity and (decoded) in gzip; a changed document has a new
// ETag, and the ETag given out before the change no longer gets a 304,
// while the current one does. changed says which documents the step must
// have changed.
func (cp *cachePair) check(t *testing.T, step string, docs []*watched, changed func(*watched) bool) {
	t.Helper()
	for _, d := range docs {
		// Twice: the first may build, the second is served from memory.
		var body []byte
		var etag string
		for range 2 {
			status, h, b := fetch(t, cp.cached.URL, d.path, with(d.h, "Accept-Encoding", "identity"))
			if status != 200 || h.Get("Content-Encoding") != "" {
				t.Fatalf("%s: %s: %d %v %s", step, d.name, status, h, b)
			}
			if body != nil && (!bytes.Equal(b, body) || h.Get("ETag") != etag) {
				t.Fatalf("%s: %s: two reads differ", step, d.name)
			}
			body, etag = b, h.Get("ETag")
		}
		status, _, want := fetch(t, cp.plain.URL, d.path, with(d.h, "Accept-Encoding", "identity"))
		if status != 200 {
			t.Fatalf("%s: %s from the second process: %d %s", step, d.name, status, want)
		}
		if !bytes.Equal(body, want) {
			t.Fatalf("%s: %s is stale in the caching process:\n%s\nthe database has:\n%s", step, d.name, body, want)
		}
		tags := []string{etag}
		if !d.identity {
			status, h, gz := fetch(t, cp.cached.URL, d.path, with(d.h, "Accept-Encoding", "gzip, deflate, br"))
			if status != 200 || h.Get("Content-Encoding") != "gzip" || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Accept-Encoding") {
				t.Fatalf("%s: %s in gzip: %d %v", step, d.name, status, h)
			}
			if got := gunzip(t, gz); !bytes.Equal(got, body) {
				t.Fatalf("%s: %s: the gzip body decodes to another document:\n%s\n%s", step, d.name, got, body)
			}
			if h.Get("ETag") == etag || h.Get("Content-Length") != fmt.Sprint(len(gz)) {
				t.Fatalf("%s: %s: gzip ETag %s (identity %s), length %s of %d", step, d.name, h.Get("ETag"), etag, h.Get("Content-Length"), len(gz))
			}
			tags = append(tags, h.Get("ETag"))
		}
		for _, tag := range tags {
			if status, _, b := fetch(t, cp.cached.URL, d.path, with(d.h, "If-None-Match", tag)); status != http.StatusNotModified || len(b) != 0 {
				t.Fatalf("%s: %s: If-None-Match of the current copy: %d", step, d.name, status)
			}
		}
		if d.last != nil {
			if changed(d) {
				if bytes.Equal(d.last, body) || d.etag == etag {
					t.Fatalf("%s: %s did not change", step, d.name)
				}
				// With an If-Modified-Since that would pass: If-None-Match
				// decides alone.
				stale := with(with(d.h, "If-None-Match", d.etag), "If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")
				if status, _, _ := fetch(t, cp.cached.URL, d.path, stale); status != 200 {
					t.Fatalf("%s: %s: the ETag from before the change got %d", step, d.name, status)
				}
			} else if !bytes.Equal(d.last, body) {
				t.Fatalf("%s: %s changed:\n%s\n%s", step, d.name, d.last, body)
			}
		}
		d.last, d.etag = body, etag
	}
}

func always(*watched) bool { return true }

// TestDocumentCacheNpmInvalidation: every change of an npm package, made
// through either of two processes on one database, gives the caching
// process's next document the database's state, for every copy (the
// public one, a creator's, an administrator's, the install document).
func TestDocumentCacheNpmInvalidation(t *testing.T) {
	cp := newCachePair(t)
	a, b := cp.cached, cp.plain
	a.createUser(t, "alice")
	a.createUser(t, "bob")
	if _, _, err := a.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateOrg(gitea.CreateOrgOption{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	alice, err := a.App.Users.GetByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.App.Orgs.SetMember(t.Context(), alice, "acme", "bob", organization.RoleWrite); err != nil {
		t.Fatal(err)
	}
	aliceH, bobH := basic("alice", "alice-password"), basic("bob", "bob-password")
	path := "/api/packages/acme/npm/cached"
	publish := func(s *server, h map[string]string, version string) {
		t.Helper()
		if status, _, body := s.do(t, "PUT", path, npmPublishBody("cached", version, nil, npmTarball(pkgJSON("cached", version))), h); status != 201 {
			t.Fatalf("publish %s: %d %s", version, status, body)
		}
	}
	ok := func(status int, _ http.Header, body string) {
		t.Helper()
		if status >= 300 {
			t.Fatalf("%d %s", status, body)
		}
	}
	install := map[string]string{"Accept": "application/vnd.npm.install-v1+json"}
	docs := []*watched{
		{name: "public packument", path: path},
		{name: "alice's packument", path: path, h: aliceH},
		{name: "bob's packument", path: path, h: bobH},
		{name: "the admin's packument", path: path, h: tokenHeader(a.AdminToken)},
		{name: "install document", path: path, h: install},
	}
	full := func(d *watched) bool { return d.h == nil || d.h["Accept"] == "" }

	publish(a, aliceH, "1.0.0")
	cp.check(t, "first publish", docs, always)
	publish(b, bobH, "1.1.0")
	cp.check(t, "publish through the other process", docs, always)
	ok(a.do(t, "PUT", "/api/packages/acme/npm/-/package/cached/dist-tags/beta", `"1.0.0"`, aliceH))
	cp.check(t, "dist-tag added", docs, always)
	ok(b.do(t, "DELETE", "/api/packages/acme/npm/-/package/cached/dist-tags/beta", "", aliceH))
	cp.check(t, "dist-tag removed through the other process", docs, always)
	ok(a.do(t, "PUT", path, `{"_id":"cached","name":"cached","versions":{"1.0.0":{"name":"cached","version":"1.0.0","deprecated":"use 1.1.0"}}}`, aliceH))
	cp.check(t, "deprecation", docs, always)
	publish(a, aliceH, "1.2.0")
	publish(a, aliceH, "1.3.0")
	cp.check(t, "two publishes", docs, always)
	_, _, body := b.do(t, "GET", path+"?write=true", "", aliceH)
	ok(b.do(t, "DELETE", path+"/-/cached-1.2.0.tgz/-rev/"+mustRev(t, body), "", aliceH))
	cp.check(t, "npm unpublish of a version through the other process", docs, always)
	if status, _, body := a.do(t, "DELETE", "/api/v1/packages/acme/npm/cached/1.3.0", "", aliceH); status != http.StatusNoContent {
		t.Fatalf("API removal: %d %s", status, body)
	}
	cp.check(t, "removal through the packages API", docs, always)
	if _, run := ruleCall(t, a, "acme", "npm", `"enabled":true,"keep_count":1`, aliceH); run.versions() != "1.0.0" {
		t.Fatalf("the rule removed %q", run.versions())
	}
	cp.check(t, "a cleanup rule's run", docs, always)
	if status, _, body := a.do(t, "DELETE", "/api/v1/admin/users/bob", "", tokenHeader(a.AdminToken)); status != http.StatusNoContent {
		t.Fatalf("delete bob: %d %s", status, body)
	}
	docs = append(docs[:2], docs[3:]...) // bob can no longer sign in
	cp.check(t, "the creator of the version left deleted", docs, full)
}

// mustRev reads a packument's _rev.
func mustRev(t *testing.T, body string) string {
	t.Helper()
	var d npmDoc
	decodeStrict(t, body, &d)
	if d.Rev == "" {
		t.Fatalf("no _rev: %s", body)
	}
	return d.Rev
}

// TestDocumentCacheComposerInvalidation: the same for Composer's p2
// documents and packages.json: uploads, a new package, a registered tag
// moved by a push, removals through the API and a rule, through either
// process.
func TestDocumentCacheComposerInvalidation(t *testing.T) {
	requireClient(t, "git")
	cp := newCachePair(t)
	a, b := cp.cached, cp.plain
	a.createUser(t, "alice")
	if _, _, err := a.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateOrg(gitea.CreateOrgOption{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	h := basic("alice", "alice-password")
	upload := func(s *server, name, version string) {
		t.Helper()
		z := composerZip("", map[string]string{"composer.json": `{"name":"` + name + `","description":"` + version + `"}`})
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version="+version, string(z), h); status != http.StatusCreated {
			t.Fatalf("upload %s %s: %d %s", name, version, status, body)
		}
	}
	base := "/api/packages/acme/composer"
	lib := []*watched{
		{name: "p2 of acme/lib", path: base + "/p2/acme/lib.json", h: h},
		{name: "p2 of acme/lib, anonymous", path: base + "/p2/acme/lib.json"},
	}
	index := &watched{name: "packages.json", path: base + "/packages.json"}

	upload(a, "acme/lib", "1.0.0")
	cp.check(t, "first upload", append(lib, index), always)
	upload(b, "acme/lib", "1.1.0")
	cp.check(t, "upload through the other process", lib, always)
	cp.check(t, "upload of a version", []*watched{index}, func(*watched) bool { return false })
	upload(b, "acme/other", "1.0.0")
	cp.check(t, "a new package through the other process", []*watched{index}, always)

	// A version registered from a tag, and the tag moved by a push.
	if _, _, err := a.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateRepo(gitea.CreateRepoOption{Name: "core"}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	core := gitCmd{t, filepath.Join(work, "core")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "core")
	writeLib(t, core.dir, "acme/core", `Acme\Core`, "core 1.0", "")
	core.must("add", ".")
	core.must("-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "-qm", "core 1.0")
	core.must("tag", "v1.0.0")
	remote := authURL(a.URL, "alice", "alice-password", "alice/core.git")
	core.must("push", "-q", remote, "main", "--tags")
	status, _, body := a.do(t, "POST", base, `{"repository":"alice/core","tag":"v1.0.0"}`, with(h, "Content-Type", "application/json"))
	if status != http.StatusCreated {
		t.Fatalf("register: %d %s", status, body)
	}
	coreDocs := []*watched{
		{name: "p2 of acme/core", path: base + "/p2/acme/core.json", h: h},
		{name: "p2 of acme/core, anonymous", path: base + "/p2/acme/core.json"},
	}
	if _, err := a.App.Jobs.RunOnce(t.Context()); err != nil { // the archive
		t.Fatal(err)
	}
	cp.check(t, "registered from a tag", coreDocs, always)
	writeLib(t, core.dir, "acme/core", `Acme\Core`, "core 1.0 fixed", "")
	core.must("-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "-qam", "fix")
	core.must("tag", "-f", "v1.0.0")
	core.must("push", "-q", "--force", authURL(b.URL, "alice", "alice-password", "alice/core.git"), "v1.0.0")
	// The push (through the other process) moves the version at once;
	// its archive is built by a job afterwards.
	cp.check(t, "the tag moved", coreDocs, always)
	if _, err := a.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	cp.check(t, "the moved tag's archive built", coreDocs, always)

	if status, _, body := b.do(t, "DELETE", "/api/v1/packages/acme/composer/acme%2Flib/1.0.0", "", h); status != http.StatusNoContent {
		t.Fatalf("API removal: %d %s", status, body)
	}
	cp.check(t, "removal through the packages API of the other process", lib, always)
	if status, _, body := a.do(t, "DELETE", "/api/v1/packages/acme/composer/acme%2Fother/1.0.0", "", h); status != http.StatusNoContent {
		t.Fatalf("API removal: %d %s", status, body)
	}
	cp.check(t, "a package's last version removed", []*watched{index}, always)
	upload(a, "acme/lib", "1.2.0")
	cp.check(t, "another upload", lib, always)
	if _, run := ruleCall(t, b, "acme", "composer", `"enabled":true,"keep_count":1`, h); run.versions() != "1.1.0" {
		t.Fatalf("the rule removed %q", run.versions())
	}
	cp.check(t, "a cleanup rule's run through the other process", lib, always)
}

// TestDocumentCacheRevalidationBuildsNothing: a request whose
// If-None-Match names the current copy is answered 304 with the queries
// of the access check and the package's stamp only: as many as a warm
// answer from memory, fewer than a build, and the same for 3 versions
// as for 150. HEAD answers the headers of GET.
func TestDocumentCacheRevalidationBuildsNothing(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	manifest := func(v string) string { return `{"name":"x","version":"` + v + `","description":"a package"}` }
	q := &queryCounter{}
	s.App.DB.Xorm().AddHook(q)
	count := func(path string, h map[string]string, want int) (int64, http.Header) {
		t.Helper()
		before := q.n.Load()
		status, hdr, body := fetch(t, s.URL, path, h)
		if status != want {
			t.Fatalf("%s: %d, want %d: %s", path, status, want, body)
		}
		return q.n.Load() - before, hdr
	}
	type costs struct{ cold, warm, revalidate int64 }
	measure := func(path string, h map[string]string) costs {
		var c costs
		var hdr http.Header
		c.cold, _ = count(path, h, 200)
		c.warm, hdr = count(path, h, 200)
		c.revalidate, _ = count(path, with(h, "If-None-Match", hdr.Get("ETag")), http.StatusNotModified)
		if n, _ := count(path, with(h, "If-None-Match", `"other", W/`+hdr.Get("ETag")), http.StatusNotModified); n != c.revalidate {
			t.Fatalf("%s: a weak If-None-Match in a list cost %d queries, %d alone", path, n, c.revalidate)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, s.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := docClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) != 0 || resp.Header.Get("ETag") != hdr.Get("ETag") || resp.Header.Get("Content-Length") != hdr.Get("Content-Length") {
			t.Fatalf("HEAD %s: %d %v (GET: %v)", path, resp.StatusCode, resp.Header, hdr)
		}
		return c
	}
	for _, n := range []int{3, 150} {
		name := fmt.Sprintf("p%d", n)
		seedVersions(t, s, "acme", packages_model.TypeNpm, name, n, manifest, func(v string) string { return name + "-" + v + ".tgz" })
		seedVersions(t, s, "acme", packages_model.TypeComposer, "acme/"+name, n,
			func(v string) string {
				return `{"composer_json":{"name":"acme/` + name + `"},"version_normalized":"` + v + `.0","dist_type":"zip"}`
			},
			func(v string) string { return name + "-" + v + ".zip" })
	}
	for _, d := range []struct {
		name string
		path func(n int) string
		h    map[string]string
	}{
		{"npm packument", func(n int) string { return fmt.Sprintf("/api/packages/acme/npm/p%d", n) }, nil},
		{"npm install document", func(n int) string { return fmt.Sprintf("/api/packages/acme/npm/p%d", n) },
			map[string]string{"Accept": "application/vnd.npm.install-v1+json", "Accept-Encoding": "gzip"}},
		{"npm packument, signed in", func(n int) string { return fmt.Sprintf("/api/packages/acme/npm/p%d", n) }, basic("acme", "acme-password")},
		{"composer p2", func(n int) string { return fmt.Sprintf("/api/packages/acme/composer/p2/acme/p%d.json", n) }, nil},
		{"composer packages.json", func(int) string { return "/api/packages/acme/composer/packages.json" }, nil},
	} {
		small, large := measure(d.path(3), d.h), measure(d.path(150), d.h)
		t.Logf("%s: queries %+v with 3 versions, %+v with 150", d.name, small, large)
		if small.revalidate != small.warm || large.revalidate != large.warm || small.revalidate != large.revalidate {
			t.Errorf("%s: a 304 cost %d and %d queries, a warm answer %d and %d", d.name, small.revalidate, large.revalidate, small.warm, large.warm)
		}
		if d.name != "composer packages.json" && (small.revalidate >= small.cold || large.revalidate >= large.cold) {
			t.Errorf("%s: a 304 cost %d/%d queries, a build %d/%d: it built", d.name, small.revalidate, large.revalidate, small.cold, large.cold)
		}
	}
}

// TestDocumentCacheStaysUnderItsBound: with a small bound and many
// packages, the cache's size never passes the bound, and what it serves
// is still each package's own document.
func TestDocumentCacheStaysUnderItsBound(t *testing.T) {
	const bound = 200 << 10
	s := newServer(t, func(c *setting.Config) { c.Cache.PackageDocumentsMemory = bound })
	s.createUser(t, "acme")
	for i := range 40 {
		name := fmt.Sprintf("pkg%02d", i)
		seedVersions(t, s, "acme", packages_model.TypeNpm, name, 30,
			func(v string) string {
				return `{"name":"x","version":"` + v + `","description":"` + strings.Repeat("d", 100) + `"}`
			},
			func(v string) string { return name + "-" + v + ".tgz" })
	}
	for round := range 2 {
		for i := range 40 {
			name := fmt.Sprintf("pkg%02d", i)
			for _, h := range []map[string]string{nil, {"Accept": "application/vnd.npm.install-v1+json"}} {
				status, _, body := fetch(t, s.URL, "/api/packages/acme/npm/"+name, h)
				if status != 200 || !strings.Contains(string(body), `"name":"`+name+`"`) {
					t.Fatalf("round %d, %s: %d %.200s", round, name, status, body)
				}
				n, size := s.App.Documents.Size()
				if size > bound {
					t.Fatalf("round %d, %s: %d documents of %d bytes, over the bound of %d", round, name, n, size, bound)
				}
			}
		}
	}
	if n, size := s.App.Documents.Size(); n == 0 || size < bound/2 {
		t.Fatalf("the cache holds %d documents of %d bytes: it was not used", n, size)
	}
}

// TestDocumentCacheComposerSourceFollowsPermissions: a p2 document's
// copy is chosen by the source repositories the caller may read now, so
// a membership given or taken changes what the next request shows with
// nothing to invalidate (the package did not change).
func TestDocumentCacheComposerSourceFollowsPermissions(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateOrgRepo("acme", gitea.CreateRepoOption{Name: "secret", Private: true}); err != nil {
		t.Fatal(err)
	}
	pushLibTag(t, s, t.TempDir(), "alice", "acme/secret", "acme/hidden", `Acme\Hidden`)
	if status, _, body := s.do(t, "POST", "/api/packages/acme/composer", `{"repository":"acme/secret","tag":"v1.0.0"}`,
		with(basic("alice", "alice-password"), "Content-Type", "application/json")); status != 201 {
		t.Fatalf("register: %d %s", status, body)
	}
	path := "/api/packages/acme/composer/p2/acme/hidden.json"
	bob := basic("bob", "bob-password")
	source := func(step string, h map[string]string, want bool) string {
		t.Helper()
		var etag string
		for range 2 { // built, then from memory
			status, hdr, body := fetch(t, s.URL, path, with(h, "Accept-Encoding", "identity"))
			if status != 200 {
				t.Fatalf("%s: %d %s", step, status, body)
			}
			if got := strings.Contains(string(body), `"source":{"type":"git","url":"`+s.URL+`/acme/secret.git"`); got != want {
				t.Fatalf("%s: shows the source: %v, want %v: %s", step, got, want, body)
			}
			etag = hdr.Get("ETag")
		}
		return etag
	}
	aliceTag := source("alice, an owner", basic("alice", "alice-password"), true)
	before := source("bob, not a member", bob, false)
	o, err := s.App.Users.GetByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Orgs.SetMember(t.Context(), o, "acme", "bob", organization.RoleRead); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := fetch(t, s.URL, path, with(bob, "If-None-Match", before)); status != 200 {
		t.Fatalf("bob's copy from before he could read the repository got %d", status)
	}
	if member := source("bob, a member", bob, true); member != aliceTag {
		t.Fatalf("bob and alice read the same repositories but got two copies: %s %s", member, aliceTag)
	}
	if err := s.App.Orgs.RemoveMember(t.Context(), o, "acme", "bob"); err != nil {
		t.Fatal(err)
	}
	if again := source("bob, no longer a member", bob, false); again != before {
		t.Fatalf("bob's copy without the repository changed its ETag: %s, was %s", again, before)
	}
	if status, _, body := s.do(t, "DELETE", "/api/v1/repos/acme/secret", "", basic("alice", "alice-password")); status != http.StatusNoContent {
		t.Fatalf("delete the repository: %d %s", status, body)
	}
	// Its registered versions go with it: no copy from memory survives.
	if status, _, body := fetch(t, s.URL, path, basic("alice", "alice-password")); status != http.StatusNotFound {
		t.Fatalf("after the repository was deleted: %d %s", status, body)
	}
}

// TestDocumentCacheConcurrentReadersAndPublishes: readers in identity and
// gzip while versions are published; each answer is a whole document
// (gzip decodes, JSON parses), and once the publishes are done the cached
// document is the database's.
func TestDocumentCacheConcurrentReadersAndPublishes(t *testing.T) {
	cp := newCachePair(t)
	a := cp.cached
	a.createUser(t, "acme")
	h := basic("acme", "acme-password")
	path := "/api/packages/acme/npm/busy"
	publish := func(v string) {
		if status, _, body := a.do(t, "PUT", path, npmPublishBody("busy", v, nil, npmTarball(pkgJSON("busy", v))), h); status != 201 {
			t.Errorf("publish %s: %d %s", v, status, body)
		}
	}
	publish("0.0.1")
	done := make(chan struct{})
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			enc := []string{"identity", "gzip"}[i%2]
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, a.URL+path, nil)
				req.Header.Set("Accept-Encoding", enc)
				resp, err := docClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.Header.Get("Content-Encoding") == "gzip" {
					zr, zerr := gzip.NewReader(bytes.NewReader(b))
					if zerr == nil {
						b, err = io.ReadAll(zr)
					} else {
						err = zerr
					}
				}
				if err != nil || resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte(`{"_id":"busy"`)) || !bytes.HasSuffix(b, []byte("}")) {
					errs <- fmt.Errorf("%s: %d %v %.100s", enc, resp.StatusCode, err, b)
					return
				}
			}
		}()
	}
	for i := range 10 {
		publish(fmt.Sprintf("1.0.%d", i))
	}
	close(done)
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	cp.check(t, "after the publishes", []*watched{{name: "packument", path: path}}, always)
}

// TestDocumentCacheCargoAndRubyGemsInvalidation: Cargo's index file and
// RubyGems' info and versions files, kept in the shared cache, follow
// publishes and yanks made through either process.
func TestDocumentCacheCargoAndRubyGemsInvalidation(t *testing.T) {
	cp := newCachePair(t)
	a, b := cp.cached, cp.plain
	a.createUser(t, "alice")
	tok := packageToken(t, a, "alice", "both", "write:package")
	crate := []*watched{{name: "cargo index file", path: "/api/packages/alice/cargo/ac/or/acorn", identity: true}}
	publish := func(s *server, v string) {
		t.Helper()
		if status, _, body := s.do(t, "PUT", "/api/packages/alice/cargo/api/v1/crates/new", cargoPublishBody("acorn", v), cargoAuth(tok)); status != 200 {
			t.Fatalf("publish %s: %d %s", v, status, body)
		}
	}
	publish(a, "1.0.0")
	cp.check(t, "cargo publish", crate, always)
	publish(b, "1.0.1")
	cp.check(t, "cargo publish through the other process", crate, always)
	if status, _, body := b.do(t, "DELETE", "/api/packages/alice/cargo/api/v1/crates/acorn/1.0.1/yank", "", cargoAuth(tok)); status != 200 {
		t.Fatalf("yank: %d %s", status, body)
	}
	cp.check(t, "cargo yank through the other process", crate, always)

	gems := []*watched{
		{name: "rubygems info", path: gemsPath("alice") + "info/hola", identity: true},
		{name: "rubygems versions", path: gemsPath("alice") + "versions", identity: true},
	}
	hola, _ := gemFixture(t, "hola-1.0.0.gem")
	beta, _ := gemFixture(t, "hola-2.0.0.beta1.gem")
	a.mustPushGem(t, "alice", tok, hola)
	cp.check(t, "gem push", gems, always)
	b.mustPushGem(t, "alice", tok, beta)
	cp.check(t, "gem push through the other process", gems, always)
	if status, body := b.yankGem(t, "alice", tok, url.Values{"gem_name": {"hola"}, "version": {"1.0.0"}}); status != http.StatusOK {
		t.Fatalf("gem yank: %d %s", status, body)
	}
	cp.check(t, "gem yank through the other process", gems, always)
}
