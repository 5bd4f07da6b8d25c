package tests

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	packages_model "wharf/models/packages"
	"wharf/modules/setting"
	packages_service "wharf/services/packages"
)

// npmVersionBody is what npm PUTs for name@version with the given
// dependencies (npmPublishBody's manifest has none).
func npmVersionBody(name, version string, deps map[string]string) string {
	pkg := map[string]any{"name": name, "version": version, "dependencies": deps}
	pj, _ := json.Marshal(pkg)
	tgz := npmTarball(map[string]string{"package/package.json": string(pj), "package/index.js": fmt.Sprintf("module.exports = %q;\n", name+"@"+version)})
	s1, s5 := sha1.Sum(tgz), sha512.Sum512(tgz)
	manifest := map[string]any{"name": name, "version": version, "dependencies": deps, "dist": map[string]string{
		"shasum": hex.EncodeToString(s1[:]), "integrity": "sha512-" + base64.StdEncoding.EncodeToString(s5[:])}}
	doc := map[string]any{"_id": name, "name": name, "dist-tags": map[string]string{"latest": version},
		"versions": map[string]any{version: manifest},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}}}
	b, _ := json.Marshal(doc)
	return string(b)
}

// npmPut publishes name@version to an owner's npm registry of s.
func npmPut(t testing.TB, s *server, owner, name, version string, deps map[string]string, h map[string]string) {
	t.Helper()
	path := "/api/packages/" + owner + "/npm/" + strings.Replace(name, "/", "%2f", 1)
	if status, _, body := s.do(t, "PUT", path, npmVersionBody(name, version, deps), h); status != http.StatusCreated {
		t.Fatalf("publish %s@%s to %s: %d %s", name, version, owner, status, body)
	}
}

// legacyNpmPackage stores a package whose name npm's publish rules refuse
// today (upper case, as JSONStream), through the registry core as a
// migration would: the upstream serves it like any other.
func legacyNpmPackage(t *testing.T, s *server, owner, name, version string) {
	t.Helper()
	ctx := context.Background()
	o, err := s.App.Users.GetByName(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	pj := fmt.Sprintf(`{"name":%q,"version":%q}`, name, version)
	tgz := npmTarball(map[string]string{"package/package.json": pj, "package/index.js": fmt.Sprintf("module.exports = %q;\n", name+"@"+version)})
	buf, err := s.App.Packages.NewUploadBuffer(bytes.NewReader(tgz), packages_model.TypeNpm)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	_, err = s.App.Packages.CreatePackageAndAddFile(ctx,
		&packages_service.VersionInfo{Owner: o, Type: packages_model.TypeNpm, Name: name, Version: version, Metadata: map[string]any{"name": name, "version": version}},
		&packages_service.FileInfo{Name: name + "-" + version + ".tgz", IsLead: true, Data: buf}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// installedVersion reads node_modules/<name>/package.json's version.
func installedVersion(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
	if err != nil {
		t.Fatalf("%s is not installed: %v", name, err)
	}
	var pj struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		t.Fatal(err)
	}
	return pj.Version
}

// strictPackument decodes a package document strictly: the fields npm
// reads, each version's dist.
type strictPackument struct {
	ID       string            `json:"_id"`
	Name     string            `json:"name"`
	DistTags map[string]string `json:"dist-tags"`
	Versions map[string]struct {
		Name         string            `json:"name"`
		Version      string            `json:"version"`
		Dependencies map[string]string `json:"dependencies"`
		Dist         struct {
			Tarball   string `json:"tarball"`
			Shasum    string `json:"shasum"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
	} `json:"versions"`
}

func decodePackument(t *testing.T, body string) strictPackument {
	t.Helper()
	var p strictPackument
	d := json.NewDecoder(strings.NewReader(body))
	if err := d.Decode(&p); err != nil {
		t.Fatalf("not a package document: %v\n%s", err, body)
	}
	if d.More() {
		t.Fatalf("trailing data after the document: %s", body)
	}
	return p
}

// virtualNpmFixture: hub is a virtual npm registry over team-a, team-b,
// secret (alice's, private) and an upstream Wharf's org "pub" (behind an
// upstream that answers garbage, which is skipped). Packages:
//
//	team-a: app-lib 1.0.0 (deps b-util, left-pad, JSONStream), @team-a/core 1.0.0
//	team-b: b-util 1.0.0, shadowed 1.0.0
//	secret: secret-pkg 1.0.0
//	upstream pub: left-pad 1.0.0 and 1.1.0, shadowed 9.0.0, secret-pkg 5.0.0, JSONStream 1.3.5
type virtualNpmFixture struct {
	*virtualFixture
	up      *server
	garbage *httptest.Server
	hub     string // the virtual registry's URL
}

func newVirtualNpmFixture(t *testing.T) *virtualNpmFixture {
	t.Helper()
	f := newVirtualFixture(t)
	up := newServer(t)
	if _, _, err := up.client(t, gitea.SetToken(up.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "pub"}); err != nil {
		t.Fatal(err)
	}
	upH := tokenHeader(up.AdminToken)
	npmPut(t, up, "pub", "left-pad", "1.0.0", nil, upH)
	npmPut(t, up, "pub", "left-pad", "1.1.0", nil, upH)
	npmPut(t, up, "pub", "shadowed", "9.0.0", nil, upH)
	npmPut(t, up, "pub", "secret-pkg", "5.0.0", nil, upH)
	legacyNpmPackage(t, up, "pub", "JSONStream", "1.3.5")

	npmPut(t, f.s, "team-a", "app-lib", "1.0.0", map[string]string{"b-util": "^1.0.0", "left-pad": "^1.0.0", "JSONStream": "^1.3.0"}, f.rootH)
	npmPut(t, f.s, "team-a", "@team-a/core", "1.0.0", nil, f.rootH)
	npmPut(t, f.s, "team-b", "b-util", "1.0.0", nil, f.rootH)
	npmPut(t, f.s, "team-b", "shadowed", "1.0.0", nil, f.rootH)
	npmPut(t, f.s, "secret", "secret-pkg", "1.0.0", nil, f.aliceH)

	// An upstream that answers every request with something that is not
	// an npm document: skipped with a warning.
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html>not json</html>"))
	}))
	t.Cleanup(garbage.Close)
	cfg := fmt.Sprintf(`{"members":[{"owner":"team-a"},{"owner":"team-b"},{"owner":"secret"},{"url":%q},{"url":%q,"token":%q}],"publish_to":"team-b"}`,
		garbage.URL+"/", up.URL+"/api/packages/pub/npm/", up.AdminToken)
	if status, body := f.putVirtual(t, "hub", "npm", cfg, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	return &virtualNpmFixture{virtualFixture: f, up: up, garbage: garbage, hub: f.s.URL + "/api/packages/hub/npm/"}
}

// TestVirtualNpmInstall: npm installs a tree spread over two local
// owners and an upstream through the virtual URL; the local "shadowed"
// wins over the upstream's higher version; with the upstream stopped and
// npm's cache cleared, the same tree installs from the cache owner.
func TestVirtualNpmInstall(t *testing.T) {
	requireClient(t, "npm")
	f := newVirtualNpmFixture(t)
	env := newJSEnv(t)
	deps := map[string]any{"app-lib": "^1.0.0", "shadowed": "*", "@team-a/core": "^1.0.0"}
	dir := env.project("app", f.hub, f.s.AdminToken, map[string]any{"name": "app", "version": "1.0.0", "dependencies": deps}, map[string]string{})
	install := func() {
		t.Helper()
		_ = os.RemoveAll(filepath.Join(dir, "node_modules"))
		_ = os.Remove(filepath.Join(dir, "package-lock.json"))
		_ = os.RemoveAll(filepath.Join(env.home, ".npm-cache"))
		env.must(dir, "npm", "install", "--no-audit")
		for name, want := range map[string]string{"app-lib": "1.0.0", "b-util": "1.0.0", "left-pad": "1.1.0", "JSONStream": "1.3.5", "@team-a/core": "1.0.0", "shadowed": "1.0.0"} {
			if got := installedVersion(t, dir, name); got != want {
				t.Errorf("%s: installed %s, want %s", name, got, want)
			}
		}
		lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(lock), f.up.URL) || strings.Contains(string(lock), "/api/packages/team-") {
			t.Fatalf("the lock file names a URL other than the virtual registry's:\n%s", lock)
		}
	}
	install()

	// The upstream's files are now packages of the cache owner, hub.
	for _, name := range []string{"left-pad", "JSONStream"} {
		status, _, body := f.s.do(t, "GET", "/api/v1/packages/hub/npm/"+name, "", f.rootH)
		if status != http.StatusOK {
			t.Fatalf("the cache owner has no %s: %d %s", name, status, body)
		}
	}

	// The upstream's packument: tarballs rewritten to this instance; the
	// garbage upstream before it is skipped with a warning.
	status, h, body := f.s.do(t, "GET", "/api/packages/hub/npm/left-pad", "", f.rootH)
	if status != http.StatusOK {
		t.Fatalf("left-pad: %d %s", status, body)
	}
	p := decodePackument(t, body)
	if p.Name != "left-pad" || len(p.Versions) != 2 || p.DistTags["latest"] != "1.1.0" {
		t.Fatalf("left-pad document: %s", body)
	}
	for v, pv := range p.Versions {
		if want := f.hub + "left-pad/-/left-pad-" + v + ".tgz"; pv.Dist.Tarball != want || !strings.HasPrefix(pv.Dist.Integrity, "sha512-") {
			t.Fatalf("left-pad@%s dist: %+v, want tarball %s", v, pv.Dist, want)
		}
	}
	if w := h.Get("Warning"); !strings.HasPrefix(w, `199 - "`) || !strings.Contains(w, f.garbage.URL) {
		t.Fatalf("no warning about the garbage upstream: %q", w)
	}

	// An outsider (anonymous) installing the private member's package
	// gets npm's 404, not the upstream's secret-pkg 5.0.0.
	outsider := env.project("outsider", f.hub, "", map[string]any{"name": "outsider", "version": "1.0.0", "dependencies": map[string]any{"secret-pkg": "*"}}, map[string]string{})
	out, err := env.run(outsider, "npm", "install", "--no-audit")
	if err == nil || !strings.Contains(out, "E404") {
		t.Fatalf("an outsider installs secret-pkg: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(outsider, "node_modules", "secret-pkg")); err == nil {
		t.Fatalf("secret-pkg installed for an outsider")
	}

	// The upstream goes away: the documents are served from their stored
	// copies, the tarballs from the cache owner.
	f.up.Stop()
	install()
}

// TestVirtualNpmAccess: a private member's package is invisible (404) to
// an outsider and to anonymous callers, never the upstream's package of
// the name; a name under a local owner's scope never goes upstream;
// abbreviated documents and ETags work through the virtual URL; a
// version by tag; search merges readable members.
func TestVirtualNpmAccess(t *testing.T) {
	f := newVirtualNpmFixture(t)
	get := func(path string, h map[string]string) (int, http.Header, string) {
		t.Helper()
		return f.s.do(t, "GET", "/api/packages/hub/npm/"+path, "", h)
	}
	for _, h := range []map[string]string{nil, f.bobH} {
		status, _, body := get("secret-pkg", h)
		if status != http.StatusNotFound || strings.Contains(body, "5.0.0") {
			t.Fatalf("secret-pkg to an outsider: %d %s", status, body)
		}
		var e struct {
			Error  string `json:"error"`
			Reason string `json:"reason"`
		}
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || e.Error != "not_found" {
			t.Fatalf("404 not in npm's shape: %s", body)
		}
		if status, _, _ := get("secret-pkg/-/secret-pkg-5.0.0.tgz", h); status != http.StatusNotFound {
			t.Fatalf("the upstream's secret-pkg tarball reached an outsider: %d", status)
		}
	}
	status, _, body := get("secret-pkg", f.aliceH)
	if p := decodePackument(t, body); status != http.StatusOK || len(p.Versions) != 1 || p.DistTags["latest"] != "1.0.0" {
		t.Fatalf("alice's secret-pkg: %d %s", status, body)
	}
	if tb := decodePackument(t, body).Versions["1.0.0"].Dist.Tarball; tb != f.hub+"secret-pkg/-/secret-pkg-1.0.0.tgz" {
		t.Fatalf("tarball URL not under the virtual registry: %s", tb)
	}
	if status, _, body := get("secret-pkg/-/secret-pkg-1.0.0.tgz", f.aliceH); status != http.StatusOK || len(body) == 0 {
		t.Fatalf("alice's tarball: %d", status)
	}

	// A name under a local owner's scope never goes upstream, even when
	// no member holds it.
	if status, _, body := get("@team-b%2fnothing", f.rootH); status != http.StatusNotFound {
		t.Fatalf("@team-b/nothing: %d %s", status, body)
	}
	// Scoped names in each form the normal registry accepts.
	for _, path := range []string{"@team-a%2fcore", "@team-a%2Fcore", "@team-a/core"} {
		status, _, body := get(path, nil)
		if p := decodePackument(t, body); status != http.StatusOK || p.Name != "@team-a/core" || p.Versions["1.0.0"].Dist.Tarball != f.hub+"@team-a/core/-/core-1.0.0.tgz" {
			t.Fatalf("%s: %d %s", path, status, body)
		}
	}
	if status, _, _ := get("@team-a/core/-/core-1.0.0.tgz", nil); status != http.StatusOK {
		t.Fatalf("scoped tarball: %d", status)
	}
	if status, _, _ := get("@team-a%2fcore/-/core-1.0.0.tgz", nil); status != http.StatusOK {
		t.Fatalf("scoped tarball, escaped name: %d", status)
	}

	// Abbreviated document and revalidation.
	corgi := map[string]string{"Accept": "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"}
	status, h, body := get("b-util", corgi)
	if status != http.StatusOK || h.Get("Content-Type") != "application/vnd.npm.install-v1+json" || strings.Contains(body, `"_rev"`) || h.Get("ETag") == "" {
		t.Fatalf("abbreviated: %d %v %s", status, h, body)
	}
	corgi["If-None-Match"] = h.Get("ETag")
	if status, _, _ := get("b-util", corgi); status != http.StatusNotModified {
		t.Fatalf("revalidation: %d", status)
	}
	// The upstream's document revalidates too.
	status, h, _ = get("left-pad", nil)
	if status != http.StatusOK || h.Get("ETag") == "" {
		t.Fatalf("left-pad: %d", status)
	}
	if status, _, _ := get("left-pad", map[string]string{"If-None-Match": h.Get("ETag")}); status != http.StatusNotModified {
		t.Fatalf("left-pad revalidation: %d", status)
	}

	// One version, by version and by tag, local and upstream.
	for _, c := range []struct{ path, want string }{{"b-util/1.0.0", "1.0.0"}, {"b-util/latest", "1.0.0"}, {"left-pad/latest", "1.1.0"}, {"left-pad/1.0.0", "1.0.0"}} {
		status, _, body := get(c.path, nil)
		var v struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Dist    struct {
				Tarball string `json:"tarball"`
			} `json:"dist"`
		}
		if err := json.Unmarshal([]byte(body), &v); status != http.StatusOK || err != nil || v.Version != c.want || !strings.HasPrefix(v.Dist.Tarball, f.hub) {
			t.Fatalf("%s: %d %s", c.path, status, body)
		}
	}
	if status, _, _ := get("left-pad/7.0.0", nil); status != http.StatusNotFound {
		t.Fatalf("missing upstream version: %d", status)
	}
	if status, _, body := get("nothing-anywhere", nil); status != http.StatusNotFound {
		t.Fatalf("a name nobody has: %d %s", status, body)
	}
	if status, _, body := get("bad%20name", nil); status != http.StatusBadRequest || !strings.Contains(body, "invalid package name") {
		t.Fatalf("a malformed name: %d %s", status, body)
	}

	// Search: readable members only, first member per name.
	search := func(h map[string]string) map[string]string {
		t.Helper()
		status, _, body := get("-/v1/search?text=&size=50", h)
		if status != http.StatusOK {
			t.Fatalf("search: %d %s", status, body)
		}
		var out struct {
			Objects []struct {
				Package struct {
					Name    string `json:"name"`
					Version string `json:"version"`
				} `json:"package"`
			} `json:"objects"`
			Total int `json:"total"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, o := range out.Objects {
			if _, dup := got[o.Package.Name]; dup {
				t.Fatalf("%s twice in %s", o.Package.Name, body)
			}
			got[o.Package.Name] = o.Package.Version
		}
		if out.Total != len(got) {
			t.Fatalf("total %d for %d objects", out.Total, len(got))
		}
		return got
	}
	if got := search(f.bobH); got["secret-pkg"] != "" || got["app-lib"] != "1.0.0" || got["shadowed"] != "1.0.0" || got["@team-a/core"] != "1.0.0" {
		t.Fatalf("bob's search: %v", got)
	}
	if got := search(f.aliceH); got["secret-pkg"] != "1.0.0" {
		t.Fatalf("alice's search: %v", got)
	}
	if status, _, body := get("-/ping", nil); status != http.StatusOK || strings.TrimSpace(body) != "{}" {
		t.Fatalf("ping: %d %s", status, body)
	}
	if status, _, body := get("-/whoami", f.bobH); status != http.StatusOK || !strings.Contains(body, `"bob"`) {
		t.Fatalf("whoami: %d %s", status, body)
	}
}

// TestVirtualNpmPublish: npm publish through the virtual URL lands in the
// publishing member; a name an earlier member holds, dist-tag changes,
// deprecation and unpublish through the virtual URL are refused with a
// message naming the owner's registry; without a publishing member the
// publish is refused with the members named.
func TestVirtualNpmPublish(t *testing.T) {
	requireClient(t, "npm")
	f := newVirtualNpmFixture(t)
	env := newJSEnv(t)
	dir := env.project("newpkg", f.hub, f.s.AdminToken, map[string]any{"name": "fresh-pkg", "version": "1.0.0"},
		map[string]string{"index.js": "module.exports = 1;\n"})
	env.must(dir, "npm", "publish")
	status, _, body := f.s.do(t, "GET", "/api/packages/team-b/npm/fresh-pkg", "", f.rootH)
	if p := decodePackument(t, body); status != http.StatusOK || p.DistTags["latest"] != "1.0.0" {
		t.Fatalf("fresh-pkg is not in team-b: %d %s", status, body)
	}
	if status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/fresh-pkg", "", nil); status != http.StatusOK || !strings.Contains(body, f.hub+"fresh-pkg/-/") {
		t.Fatalf("fresh-pkg through hub: %d %s", status, body)
	}

	// app-lib is team-a's, which comes before team-b.
	status, _, body = f.s.do(t, "PUT", "/api/packages/hub/npm/app-lib", npmVersionBody("app-lib", "2.0.0", nil), f.rootH)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "/api/packages/team-a/npm/") {
		t.Fatalf("publish over team-a's app-lib: %d %s", status, body)
	}
	// npm's own error output shows the message.
	out, err := env.run(dir, "npm", "dist-tag", "add", "fresh-pkg@1.0.0", "stable")
	if err == nil || !strings.Contains(out, "/api/packages/team-b/npm/") {
		t.Fatalf("dist-tag through hub: %v\n%s", err, out)
	}
	out, err = env.run(dir, "npm", "deprecate", "fresh-pkg@1.0.0", "old")
	if err == nil || !strings.Contains(out, "/api/packages/team-b/npm/") {
		t.Fatalf("deprecate through hub: %v\n%s", err, out)
	}
	out, err = env.run(dir, "npm", "unpublish", "fresh-pkg@1.0.0", "--force")
	if err == nil || !strings.Contains(out, "/api/packages/team-b/npm/") {
		t.Fatalf("unpublish through hub: %v\n%s", err, out)
	}
	if status, _, body := f.s.do(t, "GET", "/api/packages/team-b/npm/fresh-pkg", "", f.rootH); status != http.StatusOK || strings.Contains(body, "old") {
		t.Fatalf("fresh-pkg changed: %d %s", status, body)
	}

	// bob may not write to team-b.
	status, _, body = f.s.do(t, "PUT", "/api/packages/hub/npm/bobs-pkg", npmVersionBody("bobs-pkg", "1.0.0", nil), f.bobH)
	if status != http.StatusForbidden && status != http.StatusNotFound {
		t.Fatalf("bob publishes to team-b through hub: %d %s", status, body)
	}

	// Without publish_to: 422 naming the members, in npm's shape.
	cfg := `{"members":[{"owner":"team-a"},{"owner":"team-b"}]}`
	if status, body := f.putVirtual(t, "hub", "npm", cfg, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	status, _, body = f.s.do(t, "PUT", "/api/packages/hub/npm/other-pkg", npmVersionBody("other-pkg", "1.0.0", nil), f.rootH)
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || status != http.StatusUnprocessableEntity || !strings.Contains(e.Error, "team-a, team-b") {
		t.Fatalf("publish without publish_to: %d %s", status, body)
	}
}

// TestVirtualNpmUpstreamDown: an upstream that is down and whose document
// was never fetched is a 503 when nothing else can answer, a local
// package still installs, and an upstream tarball whose bytes do not
// match its document is refused and not stored.
func TestVirtualNpmUpstreamDown(t *testing.T) {
	f := newVirtualNpmFixture(t)
	f.up.Stop()
	status, h, body := f.s.do(t, "GET", "/api/packages/hub/npm/left-pad", "", nil)
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, `"error"`) {
		t.Fatalf("left-pad with every upstream failing: %d %v %s", status, h, body)
	}
	if status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/b-util", "", nil); status != http.StatusOK {
		t.Fatalf("a local package while the upstream is down: %d %s", status, body)
	}

	// An upstream whose tarball is not the one its document describes.
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tgz") {
			_, _ = w.Write(npmTarball(pkgJSON("liar", "1.0.0")))
			return
		}
		tgz := npmTarball(map[string]string{"package/package.json": `{"name":"liar","version":"1.0.0","x":1}`})
		s5 := sha512.Sum512(tgz)
		doc := map[string]any{"name": "liar", "dist-tags": map[string]string{"latest": "1.0.0"}, "versions": map[string]any{"1.0.0": map[string]any{
			"name": "liar", "version": "1.0.0", "dist": map[string]string{"tarball": "http://" + r.Host + "/liar/-/liar-1.0.0.tgz", "integrity": "sha512-" + base64.StdEncoding.EncodeToString(s5[:])}}}}
		_ = json.NewEncoder(w).Encode(doc)
	}))
	defer liar.Close()
	if status, body := f.putVirtual(t, "hub", "npm", fmt.Sprintf(`{"members":[{"owner":"team-a"},{"url":%q}]}`, liar.URL+"/"), f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	status, h, body = f.s.do(t, "GET", "/api/packages/hub/npm/liar/-/liar-1.0.0.tgz", "", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(h.Get("Warning"), "integrity") {
		t.Fatalf("a tarball that does not match: %d %v %s", status, h, body)
	}
	if status, _, body := f.s.do(t, "GET", "/api/v1/packages/hub/npm/liar", "", f.rootH); status != http.StatusNotFound {
		t.Fatalf("the mismatching tarball was stored: %d %s", status, body)
	}
}

// TestVirtualNpmStaleIfError: with every document revalidated (a TTL of
// 1 ns), a stopped upstream's document is served from its stored copy
// with a Warning saying so, and its cached tarball still downloads.
func TestVirtualNpmStaleIfError(t *testing.T) {
	up := newServer(t)
	if _, _, err := up.client(t, gitea.SetToken(up.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "pub"}); err != nil {
		t.Fatal(err)
	}
	npmPut(t, up, "pub", "left-pad", "1.0.0", nil, tokenHeader(up.AdminToken))
	s := newServer(t, func(c *setting.Config) { c.Packages.Virtual.MetadataTTL = time.Nanosecond })
	if _, _, err := s.client(t, gitea.SetToken(s.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "hub"}); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`{"members":[{"url":%q}]}`, up.URL+"/api/packages/pub/npm/")
	if status, _, body := s.do(t, "PUT", "/api/v1/packages/hub/-/virtual/npm", cfg, tokenHeader(s.AdminToken)); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	status, h, body := s.do(t, "GET", "/api/packages/hub/npm/left-pad", "", nil)
	if p := decodePackument(t, body); status != http.StatusOK || h.Get("Warning") != "" || p.DistTags["latest"] != "1.0.0" {
		t.Fatalf("left-pad: %d %v %s", status, h, body)
	}
	status, _, tgz := s.do(t, "GET", "/api/packages/hub/npm/left-pad/-/left-pad-1.0.0.tgz", "", nil)
	if status != http.StatusOK {
		t.Fatalf("tarball: %d", status)
	}

	up.Stop()
	status, h, body = s.do(t, "GET", "/api/packages/hub/npm/left-pad", "", nil)
	if p := decodePackument(t, body); status != http.StatusOK || !strings.Contains(h.Get("Warning"), "stale copy") || p.Versions["1.0.0"].Dist.Tarball != s.URL+"/api/packages/hub/npm/left-pad/-/left-pad-1.0.0.tgz" {
		t.Fatalf("left-pad with the upstream down: %d %v %s", status, h, body)
	}
	status, _, again := s.do(t, "GET", "/api/packages/hub/npm/left-pad/-/left-pad-1.0.0.tgz", "", nil)
	if status != http.StatusOK || again != tgz {
		t.Fatalf("cached tarball with the upstream down: %d", status)
	}
}
