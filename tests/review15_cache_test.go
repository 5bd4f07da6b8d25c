package tests

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/models/organization"
	packages_model "wharf/models/packages"
	packages_module "wharf/modules/packages"
	"wharf/modules/setting"
)

// review15Org makes alice (owner) of the organisation acme with bob a
// member who may write, and carol, who is no member.
func review15Org(t *testing.T, s *server, vis gitea.VisibleType) {
	t.Helper()
	for _, u := range []string{"alice", "bob", "carol"} {
		s.createUser(t, u)
	}
	if _, _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateOrg(gitea.CreateOrgOption{Name: "acme", Visibility: vis}); err != nil {
		t.Fatal(err)
	}
	alice, err := s.App.Users.GetByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Orgs.SetMember(t.Context(), alice, "acme", "bob", organization.RoleWrite); err != nil {
		t.Fatal(err)
	}
}

// review15Get GETs path with the headers given and returns the status,
// the headers and the body decoded (gzip or not); it checks that
// Content-Length is the length of the bytes sent.
func review15Get(t *testing.T, s *server, method, path string, h map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, nil)
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
	if method == http.MethodGet && resp.StatusCode == 200 && resp.Header.Get("Content-Length") != strconv.Itoa(len(b)) {
		t.Fatalf("%s %s: Content-Length %q for %d bytes", method, path, resp.Header.Get("Content-Length"), len(b))
	}
	if resp.Header.Get("Content-Encoding") == "gzip" && len(b) > 0 {
		b = gunzip(t, b)
	}
	return resp.StatusCode, resp.Header, b
}

// TestReview15NpmAddressesNeverCross: whatever order the copies of a
// packument are built and kept in (an administrator's first, a
// creator's, a member's, an anonymous one), in identity and gzip, a
// caller sees a real address only when it is an administrator or the
// address is its own; a validator of another caller's copy is never
// answered 304, and on a private owner never anything but 404.
func TestReview15NpmAddressesNeverCross(t *testing.T) {
	for _, vis := range []gitea.VisibleType{gitea.VisibleTypePublic, gitea.VisibleTypePrivate} {
		t.Run(string(vis), func(t *testing.T) {
			s := newServer(t)
			review15Org(t, s, vis)
			path := "/api/packages/acme/npm/leaky"
			aliceH, bobH := basic("alice", "alice-password"), basic("bob", "bob-password")
			for i, who := range []map[string]string{aliceH, bobH} {
				v := fmt.Sprintf("1.%d.0", i)
				if status, _, body := s.do(t, "PUT", path, npmPublishBody("leaky", v, nil, npmTarball(pkgJSON("leaky", v))), who); status != 201 {
					t.Fatalf("publish %s: %d %s", v, status, body)
				}
			}
			carolTok := packageToken(t, s, "carol", "carol-read", "read:package")
			bobTok := packageToken(t, s, "bob", "bob-read", "read:package")
			type caller struct {
				name     string
				h        map[string]string
				sees     []string // real addresses this caller is shown
				readable bool
			}
			callers := []caller{
				{"admin", tokenHeader(s.AdminToken), []string{"alice@example.com", "bob@example.com"}, true},
				{"alice", aliceH, []string{"alice@example.com"}, true},
				{"bob (token)", tokenHeader(bobTok), []string{"bob@example.com"}, true},
				{"bob", bobH, []string{"bob@example.com"}, true},
				{"carol", tokenHeader(carolTok), nil, vis == gitea.VisibleTypePublic},
				{"anonymous", nil, nil, vis == gitea.VisibleTypePublic},
			}
			etags := map[string][]string{}
			for round := range 3 { // built, kept, served from memory
				for _, c := range callers {
					for _, enc := range []string{"identity", "gzip"} {
						status, h, body := review15Get(t, s, "GET", path, with(c.h, "Accept-Encoding", enc))
						if !c.readable {
							if status != http.StatusNotFound {
								t.Fatalf("round %d: %s reads a private package: %d", round, c.name, status)
							}
							continue
						}
						if status != 200 {
							t.Fatalf("round %d: %s: %d %s", round, c.name, status, body)
						}
						for _, addr := range []string{"alice@example.com", "bob@example.com"} {
							want := false
							for _, s := range c.sees {
								want = want || s == addr
							}
							if got := bytes.Contains(body, []byte(addr)); got != want {
								t.Fatalf("round %d, %s in %s: shows %s: %v, want %v:\n%s", round, c.name, enc, addr, got, want, body)
							}
						}
						etags[c.name] = append(etags[c.name], h.Get("ETag"))
					}
				}
			}
			// A token without read:package is refused whatever it names.
			userOnly := tokenHeader(packageToken(t, s, "bob", "bob-user", "read:user"))
			for _, tags := range etags {
				for _, tag := range append(tags, "*") {
					if status, _, _ := review15Get(t, s, "GET", path, with(userOnly, "If-None-Match", tag)); status != http.StatusForbidden {
						t.Fatalf("a token without read:package, If-None-Match %s: %d", tag, status)
					}
				}
			}
			// Another caller's validators: never 304 for a copy that shows
			// other addresses, never anything but 404 where it may not read.
			for _, c := range callers {
				for _, other := range callers {
					if other.name == c.name || strings.Join(other.sees, ",") == strings.Join(c.sees, ",") {
						continue
					}
					for _, tag := range etags[other.name] {
						status, _, _ := review15Get(t, s, "GET", path, with(c.h, "If-None-Match", tag))
						want := 200
						if !c.readable {
							want = http.StatusNotFound
						}
						if status != want {
							t.Fatalf("%s with %s's validator %s: %d, want %d", c.name, other.name, tag, status, want)
						}
					}
				}
				if !c.readable {
					for _, m := range []string{"GET", "HEAD"} {
						if status, _, _ := review15Get(t, s, m, path, with(c.h, "If-None-Match", "*")); status != http.StatusNotFound {
							t.Fatalf("%s %s with If-None-Match *: %d", m, c.name, status)
						}
					}
				}
			}
		})
	}
}

// TestReview15ComposerSourceNeverCross: a p2 copy that shows a source
// repository is never served to a caller who may not read it now: a
// token without read:repository, a repository made private after the
// copy was kept, a validator of the copy with the source.
func TestReview15ComposerSourceNeverCross(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	review15Org(t, s, gitea.VisibleTypePublic)
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrgRepo("acme", gitea.CreateRepoOption{Name: "lib"}); err != nil {
		t.Fatal(err)
	}
	pushLibTag(t, s, t.TempDir(), "alice", "acme/lib", "acme/lib", `Acme\Lib`)
	if status, _, body := s.do(t, "POST", "/api/packages/acme/composer", `{"repository":"acme/lib","tag":"v1.0.0"}`,
		with(basic("alice", "alice-password"), "Content-Type", "application/json")); status != 201 {
		t.Fatalf("register: %d %s", status, body)
	}
	path := "/api/packages/acme/composer/p2/acme/lib.json"
	src := []byte(`"source":{"type":"git","url":"` + s.URL + `/acme/lib.git"`)
	shows := func(step, who string, h map[string]string, want bool) []string {
		t.Helper()
		var tags []string
		for range 2 {
			for _, enc := range []string{"identity", "gzip"} {
				status, hdr, body := review15Get(t, s, "GET", path, with(h, "Accept-Encoding", enc))
				if status != 200 {
					t.Fatalf("%s: %s: %d %s", step, who, status, body)
				}
				if got := bytes.Contains(body, src); got != want {
					t.Fatalf("%s: %s in %s shows the source: %v, want %v:\n%s", step, who, enc, got, want, body)
				}
				tags = append(tags, hdr.Get("ETag"))
			}
		}
		return tags
	}
	pkgOnly := tokenHeader(packageToken(t, s, "bob", "pkg-only", "read:package"))
	both := tokenHeader(packageToken(t, s, "bob", "both", "read:package", "read:repository"))
	withSource := shows("public repository", "alice", basic("alice", "alice-password"), true)
	shows("public repository", "anonymous", nil, true)
	shows("public repository", "bob's token with read:repository", both, true)
	noSource := shows("public repository", "bob's token without read:repository", pkgOnly, false)
	for _, tag := range withSource {
		if status, _, _ := review15Get(t, s, "GET", path, with(pkgOnly, "If-None-Match", tag)); status != 200 {
			t.Fatalf("a token without read:repository with the validator of a copy with the source: %d", status)
		}
	}
	_ = noSource
	// The owner made private: an outsider holding the validator of the copy
	// with the source is not told 304, nor anything but 404.
	if _, err := alice.EditOrg("acme", gitea.EditOrgOption{Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	carol := tokenHeader(packageToken(t, s, "carol", "carol", "read:package", "read:repository"))
	for _, tag := range append(withSource, "*") {
		for _, h := range []map[string]string{nil, carol} {
			if status, _, _ := review15Get(t, s, "GET", path, with(h, "If-None-Match", tag)); status != http.StatusNotFound {
				t.Fatalf("after the owner was made private, an outsider with the validator %s: %d", tag, status)
			}
		}
	}
	shows("private owner", "bob, a member", basic("bob", "bob-password"), true)
	shows("private owner", "bob's token without read:repository", pkgOnly, false)
}

// TestReview15DocumentHTTP: the HTTP of every cached JSON document (npm's
// two, Composer's p2 and packages.json), cold and warm: Accept-Encoding
// as RFC 9110 reads it (q-values, "*", "x-gzip", case), both decodings
// the same strict JSON, HEAD with the GET's headers, Vary and the ETag
// on every 304 (If-None-Match, lists, weak, "*"; Composer's
// If-Modified-Since), Content-Length of the bytes sent, and a Range
// request answered whole or as the right part.
func TestReview15DocumentHTTP(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	seedVersions(t, s, "acme", packages_model.TypeNpm, "doc", 20,
		func(v string) string { return `{"name":"doc","version":"` + v + `","description":"a package"}` },
		func(v string) string { return "doc-" + v + ".tgz" })
	seedVersions(t, s, "acme", packages_model.TypeComposer, "acme/doc", 20,
		func(v string) string {
			return `{"composer_json":{"name":"acme/doc"},"version_normalized":"` + v + `.0","dist_type":"zip"}`
		},
		func(v string) string { return "doc-" + v + ".zip" })
	docs := []struct {
		name string
		path string
		h    map[string]string
	}{
		{"npm packument", "/api/packages/acme/npm/doc", nil},
		{"npm install document", "/api/packages/acme/npm/doc", map[string]string{"Accept": "application/vnd.npm.install-v1+json"}},
		{"composer p2", "/api/packages/acme/composer/p2/acme/doc.json", nil},
		{"composer packages.json", "/api/packages/acme/composer/packages.json", nil},
	}
	encodings := []struct {
		header string
		gzip   bool
	}{
		{"", false}, {"identity", false}, {"gzip", true}, {"GZIP", true}, {"x-gzip", true}, {"*", true},
		{"gzip;q=0", false}, {"gzip; q=0.0", false}, {"gzip;Q=0", false}, {"gzip;q=0, *", false}, {"*, gzip;q=0", false},
		{"*;q=0", false}, {"*;q=0, gzip", true}, {"identity;q=0, gzip", true}, {"deflate, br", false},
		{"br;q=1.0, gzip;q=0.5", true}, {"gzip ; q=0.8", true}, {"gzip;q=0.001", true}, {"gzip;q=abc", false},
	}
	for _, d := range docs {
		for round := range 2 { // cold (built and sent as built), then warm
			_, _, want := review15Get(t, s, "GET", d.path, with(d.h, "Accept-Encoding", "identity"))
			if err := checkStrictJSON(want); err != nil {
				t.Fatalf("%s: %v", d.name, err)
			}
			for _, e := range encodings {
				h := with(d.h, "Accept-Encoding", e.header)
				if e.header == "" {
					h = d.h
				}
				status, hdr, body := review15Get(t, s, "GET", d.path, h)
				if status != 200 || !bytes.Equal(body, want) {
					t.Fatalf("%s, round %d, Accept-Encoding %q: %d, another document:\n%s\n%s", d.name, round, e.header, status, body, want)
				}
				gz := hdr.Get("Content-Encoding") == "gzip"
				if gz != e.gzip && (e.gzip == false || round == 1) {
					t.Fatalf("%s, round %d, Accept-Encoding %q: Content-Encoding %q", d.name, round, e.header, hdr.Get("Content-Encoding"))
				}
				if !strings.Contains(strings.Join(hdr.Values("Vary"), ","), "Accept-Encoding") {
					t.Fatalf("%s, Accept-Encoding %q: Vary %q", d.name, e.header, hdr.Values("Vary"))
				}
				if gz == strings.HasSuffix(hdr.Get("ETag"), `-gzip"`) == false {
					t.Fatalf("%s, Accept-Encoding %q: gzip %v with the ETag %s", d.name, e.header, gz, hdr.Get("ETag"))
				}
				// HEAD: the GET's headers (the cache is warm now).
				hs, hh, hb := review15Get(t, s, "HEAD", d.path, h)
				if hs != 200 || len(hb) != 0 || hh.Get("ETag") != hdr.Get("ETag") || hh.Get("Content-Length") != hdr.Get("Content-Length") ||
					hh.Get("Content-Encoding") != hdr.Get("Content-Encoding") {
					if round == 1 {
						t.Fatalf("%s, HEAD, Accept-Encoding %q: %d %v, the GET had %v", d.name, e.header, hs, hh, hdr)
					}
				}
				// Revalidation: every form names this copy.
				etag := hdr.Get("ETag")
				for _, inm := range []string{etag, "W/" + etag, `"nope", ` + etag, `"nope",W/` + etag + `, "other"`, "*"} {
					for _, m := range []string{"GET", "HEAD"} {
						rs, rh, rb := review15Get(t, s, m, d.path, with(h, "If-None-Match", inm))
						if rs != http.StatusNotModified || len(rb) != 0 {
							t.Fatalf("%s %s, If-None-Match %s: %d", m, d.name, inm, rs)
						}
						if !strings.Contains(strings.Join(rh.Values("Vary"), ","), "Accept-Encoding") || rh.Get("ETag") == "" {
							t.Fatalf("%s %s, If-None-Match %s: the 304 lacks Vary or ETag: %v", m, d.name, inm, rh)
						}
						if inm != "*" && rh.Get("ETag") != etag {
							t.Fatalf("%s %s, If-None-Match %s: the 304 names %s", m, d.name, inm, rh.Get("ETag"))
						}
					}
				}
				if rs, _, _ := review15Get(t, s, "GET", d.path, with(h, "If-None-Match", strings.TrimSuffix(etag, `"`)+`x"`)); rs != 200 {
					t.Fatalf("%s: another validator: %d", d.name, rs)
				}
				if lm := hdr.Get("Last-Modified"); lm != "" {
					rs, rh, _ := review15Get(t, s, "GET", d.path, with(h, "If-Modified-Since", lm))
					if rs != http.StatusNotModified || !strings.Contains(strings.Join(rh.Values("Vary"), ","), "Accept-Encoding") || rh.Get("ETag") == "" {
						t.Fatalf("%s: If-Modified-Since %s: %d %v", d.name, lm, rs, rh)
					}
				}
				// A Range: the whole document (200) or the part asked for.
				rs, rh, rb := review15Get(t, s, "GET", d.path, with(h, "Range", "bytes=0-9"))
				switch rs {
				case 200:
					if !bytes.Equal(rb, want) || rh.Get("Content-Range") != "" {
						t.Fatalf("%s: Range answered 200 with another body or a Content-Range %q", d.name, rh.Get("Content-Range"))
					}
				case http.StatusPartialContent:
					if len(rb) != 10 {
						t.Fatalf("%s: Range answered %d bytes", d.name, len(rb))
					}
				default:
					t.Fatalf("%s: Range: %d", d.name, rs)
				}
			}
		}
	}
}

// TestReview15CacheBound: with a small bound, a document larger than the
// cache may keep is served whole (identity and gzip, cold and again) and
// not kept; many callers, each with a copy of their own (every one a
// creator), never take the cache over its bound.
func TestReview15CacheBound(t *testing.T) {
	const bound = 64 << 10
	s := newServer(t, func(c *setting.Config) { c.Cache.PackageDocumentsMemory = bound })
	s.createUser(t, "acme")
	seedVersions(t, s, "acme", packages_model.TypeNpm, "huge", 40,
		func(v string) string {
			return `{"name":"huge","version":"` + v + `","description":"` + strings.Repeat("d", 1000) + `"}`
		},
		func(v string) string { return "huge-" + v + ".tgz" })
	var want []byte
	for round := range 3 {
		for _, enc := range []string{"identity", "gzip"} {
			status, _, body := review15Get(t, s, "GET", "/api/packages/acme/npm/huge", map[string]string{"Accept-Encoding": enc})
			if status != 200 || len(body) < bound/4 {
				t.Fatalf("round %d, %s: %d, %d bytes", round, enc, status, len(body))
			}
			if want == nil {
				want = body
			} else if !bytes.Equal(body, want) {
				t.Fatalf("round %d, %s: another document", round, enc)
			}
			if _, size := s.App.Documents.Size(); size > bound {
				t.Fatalf("round %d: %d bytes kept, over the bound of %d", round, size, bound)
			}
		}
	}

	// Many copies: every user published a version, so each gets a copy of
	// their own (their own address shown).
	s2 := newServer(t, func(c *setting.Config) { c.Cache.PackageDocumentsMemory = bound })
	review15Org(t, s2, gitea.VisibleTypePublic)
	alice, err := s2.App.Users.GetByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	const users = 30
	path := "/api/packages/acme/npm/many"
	for i := range users {
		name := fmt.Sprintf("u%02d", i)
		s2.createUser(t, name)
		if err := s2.App.Orgs.SetMember(t.Context(), alice, "acme", name, organization.RoleWrite); err != nil {
			t.Fatal(err)
		}
		v := fmt.Sprintf("1.%d.0", i)
		files := pkgJSON("many", v)
		files["package/README.md"] = strings.Repeat("r", 200)
		if status, _, body := s2.do(t, "PUT", path, npmPublishBody("many", v, nil, npmTarball(files)), basic(name, name+"-password")); status != 201 {
			t.Fatalf("publish %s: %d %s", v, status, body)
		}
	}
	for round := range 2 {
		for i := range users {
			name := fmt.Sprintf("u%02d", i)
			status, _, body := review15Get(t, s2, "GET", path, with(basic(name, name+"-password"), "Accept-Encoding", "gzip"))
			if status != 200 || !bytes.Contains(body, []byte(name+"@example.com")) || bytes.Count(body, []byte("@example.com")) != bytes.Count(body, []byte(name+"@example.com")) {
				t.Fatalf("round %d, %s: %d, its copy shows %d real addresses", round, name, status, bytes.Count(body, []byte("@example.com")))
			}
			if n, size := s2.App.Documents.Size(); size > bound {
				t.Fatalf("round %d, %s: %d documents of %d bytes, over the bound of %d", round, name, n, size, bound)
			}
		}
	}
}

// TestReview15StalenessOtherPaths: the paths the invalidation tests do
// not take change the caching process's documents too: the web UI's
// version and package deletion (npm, Composer, Cargo, RubyGems), yank and
// unyank through the REST API (Cargo, RubyGems), a package deleted and
// published again under its name, through either process.
func TestReview15StalenessOtherPaths(t *testing.T) {
	cp := newCachePair(t)
	a, b := cp.cached, cp.plain
	a.createUser(t, "alice")
	aliceH := basic("alice", "alice-password")
	tok := packageToken(t, a, "alice", "both", "write:package")
	webA, webB := newWebClient(t, a.URL), newWebClient(t, b.URL)
	webA.signIn("alice", "alice-password")
	webB.signIn("alice", "alice-password")
	webDeleteVersion := func(w *webClient, typ, name, version string) {
		t.Helper()
		r := w.post("/alice/-/packages/"+typ+"/"+url.PathEscape(name)+"/settings/delete_version", url.Values{"version": {version}, "confirm": {"yes"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("web: delete %s %s %s: %d %s", typ, name, version, r.Status, pageText(r.Body))
		}
	}
	webDeletePackage := func(w *webClient, typ, name string) {
		t.Helper()
		r := w.post("/alice/-/packages/"+typ+"/"+url.PathEscape(name)+"/settings", url.Values{"action": {"delete"}, "confirm_name": {name}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("web: delete %s %s: %d %s", typ, name, r.Status, pageText(r.Body))
		}
	}
	yank := func(s *server, typ, name, version, what string) {
		t.Helper()
		if status, _, body := s.do(t, "POST", "/api/v1/packages/alice/"+typ+"/"+name+"/"+version+"/-/"+what, "", aliceH); status != http.StatusNoContent {
			t.Fatalf("%s %s %s: %d %s", what, name, version, status, body)
		}
	}

	// npm
	npmPath := "/api/packages/alice/npm/again"
	npmPublish := func(s *server, v string) {
		t.Helper()
		if status, _, body := s.do(t, "PUT", npmPath, npmPublishBody("again", v, nil, npmTarball(pkgJSON("again", v))), aliceH); status != 201 {
			t.Fatalf("publish %s: %d %s", v, status, body)
		}
	}
	npmDocs := []*watched{
		{name: "npm packument", path: npmPath},
		{name: "alice's npm packument", path: npmPath, h: aliceH},
		{name: "npm install document", path: npmPath, h: map[string]string{"Accept": "application/vnd.npm.install-v1+json"}},
	}
	npmPublish(a, "1.0.0")
	npmPublish(a, "1.1.0")
	cp.check(t, "npm publishes", npmDocs, always)
	webDeleteVersion(webB, "npm", "again", "1.1.0")
	cp.check(t, "npm version deleted in the other process's web UI", npmDocs, always)
	webDeletePackage(webA, "npm", "again")
	npmPublish(b, "1.0.0") // the same name and version again, in the same second
	// The install document may be the same bytes (it has no _rev; the
	// same second): compared with the database's only.
	npmDocs[2] = &watched{name: "npm install document", path: npmPath, h: npmDocs[2].h}
	cp.check(t, "npm package deleted in the web UI and published again", npmDocs, always)

	// Composer
	h := with(aliceH, "Content-Type", "application/zip")
	upload := func(s *server, name, version string) {
		t.Helper()
		z := composerZip("", map[string]string{"composer.json": `{"name":"` + name + `","description":"` + version + `"}`})
		if status, _, body := s.do(t, "PUT", "/api/packages/alice/composer?version="+version, string(z), h); status != http.StatusCreated {
			t.Fatalf("upload %s %s: %d %s", name, version, status, body)
		}
	}
	upload(a, "alice/lib", "1.0.0")
	upload(a, "alice/lib", "1.1.0")
	upload(a, "alice/gone", "1.0.0")
	lib := &watched{name: "p2 of alice/lib", path: "/api/packages/alice/composer/p2/alice/lib.json", h: aliceH}
	index := &watched{name: "packages.json", path: "/api/packages/alice/composer/packages.json"}
	cp.check(t, "composer uploads", []*watched{lib, index}, always)
	webDeleteVersion(webB, "composer", "alice/lib", "1.1.0")
	cp.check(t, "composer version deleted in the web UI", []*watched{lib}, always)
	webDeletePackage(webB, "composer", "alice/gone")
	cp.check(t, "composer package deleted in the other process's web UI", []*watched{index}, always)

	// Cargo
	publish := func(s *server, v string) {
		t.Helper()
		if status, _, body := s.do(t, "PUT", "/api/packages/alice/cargo/api/v1/crates/new", cargoPublishBody("acorn", v), cargoAuth(tok)); status != 200 {
			t.Fatalf("publish %s: %d %s", v, status, body)
		}
	}
	crate := []*watched{{name: "cargo index file", path: "/api/packages/alice/cargo/ac/or/acorn", identity: true}}
	publish(a, "1.0.0")
	publish(a, "1.0.1")
	cp.check(t, "cargo publishes", crate, always)
	yank(b, "cargo", "acorn", "1.0.1", "yank")
	cp.check(t, "cargo yank through the REST API of the other process", crate, always)
	yank(a, "cargo", "acorn", "1.0.1", "unyank")
	cp.check(t, "cargo unyank through the REST API", crate, always)
	webDeleteVersion(webB, "cargo", "acorn", "1.0.1")
	cp.check(t, "cargo version deleted in the other process's web UI", crate, always)

	// RubyGems
	gems := []*watched{
		{name: "rubygems info", path: gemsPath("alice") + "info/hola", identity: true},
		{name: "rubygems versions", path: gemsPath("alice") + "versions", identity: true},
	}
	hola, _ := gemFixture(t, "hola-1.0.0.gem")
	beta, _ := gemFixture(t, "hola-2.0.0.beta1.gem")
	a.mustPushGem(t, "alice", tok, hola)
	a.mustPushGem(t, "alice", tok, beta)
	cp.check(t, "gem pushes", gems, always)
	yank(b, "rubygems", "hola", "1.0.0", "yank")
	cp.check(t, "gem yank through the REST API of the other process", gems, always)
	yank(a, "rubygems", "hola", "1.0.0", "unyank")
	cp.check(t, "gem unyank through the REST API", gems, always)
	webDeleteVersion(webB, "rubygems", "hola", "2.0.0.beta1")
	cp.check(t, "gem version deleted in the other process's web UI", gems, always)
}

// TestReview15NoAddressUnderRaces: while alice publishes and removes
// versions and bob publishes one (so who is a creator changes under the
// readers' feet, and builds read states newer than their stamps), no
// answer to bob, to carol or to an anonymous caller ever shows an address
// that is not the caller's own, in identity or gzip (-race).
func TestReview15NoAddressUnderRaces(t *testing.T) {
	s := newServer(t)
	review15Org(t, s, gitea.VisibleTypePublic)
	aliceH, bobH := basic("alice", "alice-password"), basic("bob", "bob-password")
	path := "/api/packages/acme/npm/racy"
	publish := func(h map[string]string, v string) {
		if status, _, body := s.do(t, "PUT", path, npmPublishBody("racy", v, nil, npmTarball(pkgJSON("racy", v))), h); status != 201 {
			t.Errorf("publish %s: %d %s", v, status, body)
		}
	}
	publish(aliceH, "0.0.1")
	carolH := basic("carol", "carol-password")
	done := make(chan struct{})
	errs := make(chan error, 16)
	readers := []struct {
		name string
		h    map[string]string
		own  string
	}{{"bob", bobH, "bob@example.com"}, {"carol", carolH, "carol@example.com"}, {"anonymous", nil, ""}}
	var wg sync.WaitGroup
	for _, r := range readers {
		for _, enc := range []string{"identity", "gzip"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+path, nil)
					for k, v := range r.h {
						req.Header.Set(k, v)
					}
					req.Header.Set("Accept-Encoding", enc)
					resp, err := docClient.Do(req)
					if err != nil {
						errs <- err
						return
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						errs <- err
						return
					}
					if resp.StatusCode != 200 {
						continue // the package may be gone for a moment
					}
					if resp.Header.Get("Content-Encoding") == "gzip" {
						b = gunzip(t, b)
					}
					n, own := bytes.Count(b, []byte("@example.com")), 0
					if r.own != "" {
						own = bytes.Count(b, []byte(r.own))
					}
					if n != own {
						errs <- fmt.Errorf("%s (%s) was shown another's address:\n%s", r.name, enc, b)
						return
					}
				}
			}()
		}
	}
	for i := range 8 {
		publish(aliceH, fmt.Sprintf("1.%d.0", i))
		if i == 3 {
			publish(bobH, "2.0.0")
		}
		if i == 5 {
			if status, _, body := s.do(t, "DELETE", "/api/v1/packages/acme/npm/racy/2.0.0", "", aliceH); status != http.StatusNoContent {
				t.Errorf("remove bob's version: %d %s", status, body)
			}
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestReview15DedupDigests: a large generic upload is stored with its
// SHA-256 only (the others come from a job later); a Composer upload of
// the same bytes shares its blob, and its p2 document, cached or not,
// shows the SHA-1 of the bytes at once, never an empty or stale one; the
// digests job running afterwards changes nothing the document shows.
func TestReview15DedupDigests(t *testing.T) {
	cp := newCachePair(t)
	a := cp.cached
	a.createUser(t, "alice")
	h := basic("alice", "alice-password")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range map[string][]byte{
		"composer.json": []byte(`{"name":"alice/big","description":"big"}`),
		"blob.bin":      bigBody(packages_module.DefaultMemoryLimit+(1<<20), 3),
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	z := buf.Bytes()
	sum := sha1.Sum(z)
	want := hex.EncodeToString(sum[:])
	if status, _, body := a.do(t, "PUT", "/api/packages/alice/generic/same/1.0/big.zip", string(z), h); status != http.StatusCreated {
		t.Fatalf("generic upload: %d %s", status, body)
	}
	if status, _, body := a.do(t, "PUT", "/api/packages/alice/composer?version=1.0.0", string(z), with(h, "Content-Type", "application/zip")); status != http.StatusCreated {
		t.Fatalf("composer upload: %d %s", status, body)
	}
	p2 := &watched{name: "p2 of alice/big", path: "/api/packages/alice/composer/p2/alice/big.json"}
	cp.check(t, "composer upload of a generic blob's bytes", []*watched{p2}, always)
	if !bytes.Contains(p2.last, []byte(`"shasum":"`+want+`"`)) {
		t.Fatalf("p2 does not show the SHA-1 %s of the archive:\n%s", want, p2.last)
	}
	if _, err := a.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	cp.check(t, "after the digests job", []*watched{p2}, func(*watched) bool { return false })
}

// TestReview15ComposerIndexFollowsGit: packages.json follows packages
// made and removed through git: a registered tag (the other process), a
// tag deleted by a push, and a repository deleted (its versions go with
// it, through a job).
func TestReview15ComposerIndexFollowsGit(t *testing.T) {
	requireClient(t, "git")
	cp := newCachePair(t)
	a, b := cp.cached, cp.plain
	a.createUser(t, "alice")
	h := basic("alice", "alice-password")
	alice := a.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	work := t.TempDir()
	repos := map[string]gitCmd{}
	for _, name := range []string{"one", "two"} {
		if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: name}); err != nil {
			t.Fatal(err)
		}
		repos[name] = pushLibTag(t, a, work, "alice", "alice/"+name, "alice/"+name, `Alice\Lib`)
	}
	index := &watched{name: "packages.json", path: "/api/packages/alice/composer/packages.json"}
	register := func(s *server, repo string) {
		t.Helper()
		if status, _, body := s.do(t, "POST", "/api/packages/alice/composer", `{"repository":"alice/`+repo+`","tag":"v1.0.0"}`, with(h, "Content-Type", "application/json")); status != http.StatusCreated {
			t.Fatalf("register %s: %d %s", repo, status, body)
		}
	}
	register(a, "one")
	cp.check(t, "a package registered from a tag", []*watched{index}, always)
	register(b, "two")
	cp.check(t, "a package registered from a tag in the other process", []*watched{index}, always)
	repos["one"].must("push", "-q", authURL(b.URL, "alice", "alice-password", "alice/one.git"), ":refs/tags/v1.0.0")
	for range 3 {
		if _, err := b.App.Jobs.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if status, _, body := fetch(t, b.URL, "/api/packages/alice/composer/p2/alice/one.json", nil); status != http.StatusNotFound {
		t.Fatalf("alice/one after its only tag was deleted: %d %s", status, body)
	}
	cp.check(t, "a package's only tag deleted by a push", []*watched{index}, always)
	if status, _, body := b.do(t, "DELETE", "/api/v1/repos/alice/two", "", h); status != http.StatusNoContent {
		t.Fatalf("delete the repository: %d %s", status, body)
	}
	for range 3 {
		if _, err := b.App.Jobs.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if status, _, body := fetch(t, a.URL, "/api/packages/alice/composer/p2/alice/two.json", nil); status != http.StatusNotFound {
		t.Fatalf("alice/two after its repository was deleted, from the caching process: %d %s", status, body)
	}
	cp.check(t, "a package's repository deleted", []*watched{index}, always)
}

// TestReview15InstanceNpmPrivate: the instance-level npm registry
// (/api/packages/-/npm/@owner/name) answers a validator of a private
// owner's package, "*" included, as it answers the request without one:
// 404 to an outsider or an anonymous caller, 403 to a token without
// read:package; 304 only to a member holding the current copy.
func TestReview15InstanceNpmPrivate(t *testing.T) {
	s := newServer(t)
	review15Org(t, s, gitea.VisibleTypePrivate)
	bob := basic("bob", "bob-password")
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/@acme%2fp", npmPublishBody("@acme/p", "1.0.0", nil, npmTarball(pkgJSON("@acme/p", "1.0.0"))), bob); status != 201 {
		t.Fatalf("publish: %d %s", status, body)
	}
	path := "/api/packages/-/npm/@acme%2fp"
	status, h, body := review15Get(t, s, "GET", path, bob)
	if status != 200 || !bytes.Contains(body, []byte("bob@example.com")) {
		t.Fatalf("bob: %d %s", status, body)
	}
	if status, _, _ := review15Get(t, s, "GET", path, with(bob, "If-None-Match", h.Get("ETag"))); status != http.StatusNotModified {
		t.Fatalf("bob revalidating: %d", status)
	}
	userOnly := tokenHeader(packageToken(t, s, "bob", "u", "read:user"))
	carol := tokenHeader(packageToken(t, s, "carol", "c", "read:package"))
	for _, c := range []struct {
		name string
		h    map[string]string
		want int
	}{{"anonymous", nil, 404}, {"carol", carol, 404}, {"bob's token without read:package", userOnly, 403}} {
		for _, inm := range []string{"", "*", h.Get("ETag"), "W/" + h.Get("ETag")} {
			hh := c.h
			if inm != "" {
				hh = with(c.h, "If-None-Match", inm)
			}
			if status, _, _ := review15Get(t, s, "GET", path, hh); status != c.want {
				t.Fatalf("%s, If-None-Match %q: %d, want %d", c.name, inm, status, c.want)
			}
		}
	}
}
