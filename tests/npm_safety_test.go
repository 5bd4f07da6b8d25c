package tests

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// npmDoc is the part of a full package document these tests read,
// decoded strictly.
type npmDoc struct {
	ID       string                     `json:"_id"`
	Rev      string                     `json:"_rev"`
	Name     string                     `json:"name"`
	DistTags map[string]string          `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"`
	Time     map[string]string          `json:"time"`
	Readme   string                     `json:"readme"`
	// Fields the latest manifest may carry.
	Description string `json:"description"`
	Maintainers []struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"maintainers"`
}

func decodeStrict(t *testing.T, body string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, body)
	}
}

// npmPackage drives one package of owner acme over the npm protocol.
type npmPackage struct {
	t    *testing.T
	s    *server
	name string // @acme/…
	path string // /api/packages/acme/npm/@acme%2f…
	h    map[string]string
}

func newNpmPackage(t *testing.T, s *server, bare string) *npmPackage {
	return &npmPackage{t: t, s: s, name: "@acme/" + bare, path: "/api/packages/acme/npm/@acme%2f" + bare, h: basic("acme", "acme-password")}
}

func (p *npmPackage) publish(version string) {
	p.t.Helper()
	if status, _, body := p.s.do(p.t, "PUT", p.path, npmPublishBody(p.name, version, nil, npmTarball(pkgJSON(p.name, version))), p.h); status != 201 {
		p.t.Fatalf("publish %s: %d %s", version, status, body)
	}
}

// doc reads the document as npm does before a write (?write=true), raw
// and decoded.
func (p *npmPackage) doc(header map[string]string) (map[string]any, npmDoc) {
	p.t.Helper()
	status, _, body := p.s.do(p.t, "GET", p.path+"?write=true", "", header)
	if status != 200 {
		p.t.Fatalf("GET %s: %d %s", p.name, status, body)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		p.t.Fatal(err)
	}
	var d npmDoc
	decodeStrict(p.t, body, &d)
	return raw, d
}

func (p *npmPackage) rev() string {
	p.t.Helper()
	_, d := p.doc(p.h)
	return d.Rev
}

// versions lists the stored versions, sorted.
func (p *npmPackage) versions() []string {
	p.t.Helper()
	_, d := p.doc(p.h)
	var vs []string
	for v := range d.Versions {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// without is the document raw minus some versions, as npm PUTs it.
func without(raw map[string]any, versions ...string) string {
	vs := raw["versions"].(map[string]any)
	for _, v := range versions {
		delete(vs, v)
	}
	b, _ := json.Marshal(raw)
	return string(b)
}

func npmError(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}
	decodeStrict(t, body, &e)
	if e.Error == "" {
		t.Fatalf("not npm's error shape: %s", body)
	}
	return e.Error
}

// TestNpmUnpublishStaleRevision: a document read before a publish cannot
// unpublish what was published since. The PUT, the whole-package DELETE
// and the tarball DELETE of npm's unpublish flow all compare the revision
// and answer 409 when it is stale, as the npm registry does; with the
// current revision the same steps work.
func TestNpmUnpublishStaleRevision(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	p := newNpmPackage(t, s, "stale")
	p.publish("1.0.0")
	p.publish("1.1.0")

	// The client reads the document to unpublish 1.0.0 …
	raw, d := p.doc(p.h)
	stale := d.Rev
	// … and 1.2.0 is published before its PUT arrives.
	p.publish("1.2.0")
	status, _, body := s.do(t, "PUT", p.path+"/-rev/"+stale, without(raw, "1.0.0"), p.h)
	if status != http.StatusConflict || !strings.Contains(npmError(t, body), "conflict") {
		t.Fatalf("stale PUT: %d %s, want 409", status, body)
	}
	for _, path := range []string{p.path + "/-rev/" + stale, p.path + "/-/stale-1.0.0.tgz/-rev/" + stale} {
		if status, _, body := s.do(t, "DELETE", path, "", p.h); status != http.StatusConflict {
			t.Fatalf("stale DELETE %s: %d %s, want 409", path, status, body)
		}
	}
	if got := p.versions(); !slices.Equal(got, []string{"1.0.0", "1.1.0", "1.2.0"}) {
		t.Fatalf("a stale unpublish removed versions: %v", got)
	}
	if _, d := p.doc(nil); d.DistTags["latest"] != "1.2.0" {
		t.Fatalf("latest = %q, want 1.2.0", d.DistTags["latest"])
	}

	// npm's own flow, with fresh revisions: PUT the document without
	// 1.2.0 (latest), read the new revision, DELETE the tarball with it.
	raw, d = p.doc(p.h)
	if status, _, body := s.do(t, "PUT", p.path+"/-rev/"+d.Rev, without(raw, "1.2.0"), p.h); status != 200 {
		t.Fatalf("PUT with the current revision: %d %s", status, body)
	}
	_, after := p.doc(p.h)
	if after.Rev == d.Rev {
		t.Fatal("the revision did not change with the unpublish")
	}
	if after.DistTags["latest"] != "1.1.0" {
		t.Fatalf("latest after unpublishing it = %q, want 1.1.0 (the highest left)", after.DistTags["latest"])
	}
	if status, _, body := s.do(t, "DELETE", p.path+"/-/stale-1.2.0.tgz/-rev/"+after.Rev, "", p.h); status != 200 {
		t.Fatalf("tarball DELETE of a version already gone: %d %s", status, body)
	}
	if got := p.versions(); !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("after the unpublish: %v", got)
	}
	// The tarball DELETE of a version still there removes it.
	if status, _, body := s.do(t, "DELETE", p.path+"/-/stale-1.0.0.tgz/-rev/"+p.rev(), "", p.h); status != 200 {
		t.Fatalf("tarball DELETE: %d %s", status, body)
	}
	if got := p.versions(); !slices.Equal(got, []string{"1.1.0"}) {
		t.Fatalf("after the tarball DELETE: %v", got)
	}

	// A document without versions (npm owner add/rm) is not an unpublish
	// of every version.
	status, _, body = s.do(t, "PUT", p.path+"/-rev/"+p.rev(), `{"_id":"@acme/stale","_rev":"x","maintainers":[{"name":"bob","email":"bob@example.com"}]}`, p.h)
	if status != http.StatusBadRequest || !strings.Contains(npmError(t, body), "maintainers") {
		t.Fatalf("maintainers-only PUT: %d %s", status, body)
	}
	if got := p.versions(); !slices.Equal(got, []string{"1.1.0"}) {
		t.Fatalf("a maintainers-only PUT removed versions: %v", got)
	}

	// The whole package: a stale revision is refused, the current one works.
	if status, _, _ := s.do(t, "DELETE", p.path+"/-rev/"+stale, "", p.h); status != http.StatusConflict {
		t.Fatalf("stale package DELETE: %d", status)
	}
	if status, _, body := s.do(t, "DELETE", p.path+"/-rev/"+p.rev(), "", p.h); status != 200 {
		t.Fatalf("package DELETE: %d %s", status, body)
	}
	if status, _, _ := s.do(t, "GET", p.path, "", p.h); status != 404 {
		t.Fatalf("after the package DELETE: %d", status)
	}
}

// TestNpmRevisionChangesOnEveryChange: the revision is new after every
// change of the package, whichever path made it (also one that undoes an
// earlier change), is the same for every viewer, and does not move with a
// download.
func TestNpmRevisionChangesOnEveryChange(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	acme := s.client(t, gitea.SetBasicAuth("acme", "acme-password"))
	p := newNpmPackage(t, s, "revs")
	seen := map[string]string{}
	step := func(what string) {
		t.Helper()
		r := p.rev()
		if prev, ok := seen[r]; ok {
			t.Fatalf("after %s the revision is %s, as after %s", what, r, prev)
		}
		seen[r] = what
		if _, anon := p.doc(nil); anon.Rev != r {
			t.Fatalf("after %s: the owner sees revision %s, an anonymous caller %s", what, r, anon.Rev)
		}
	}
	ok := func(status int, body string) {
		t.Helper()
		if status != 200 && status != 201 {
			t.Fatalf("%d %s", status, body)
		}
	}
	deprecate := func(msg string) {
		t.Helper()
		body := `{"_id":"@acme/revs","name":"@acme/revs","versions":{"1.0.0":{"name":"@acme/revs","version":"1.0.0","deprecated":` + string(mustMarshal(msg)) + `}}}`
		status, _, got := s.do(t, "PUT", p.path, body, p.h)
		ok(status, got)
	}
	tagPath := "/api/packages/acme/npm/-/package/@acme%2frevs/dist-tags/beta"

	p.publish("1.0.0")
	step("the first publish")
	p.publish("1.1.0")
	step("a second publish")
	status, _, body := s.do(t, "PUT", tagPath, `"1.0.0"`, p.h)
	ok(status, body)
	step("a dist-tag added")
	status, _, body = s.do(t, "DELETE", tagPath, "", p.h)
	ok(status, body)
	step("the dist-tag removed")
	deprecate("use 1.1.0")
	step("a deprecation")
	deprecate("")
	step("the deprecation withdrawn")
	before := p.rev()
	if status, _, _ := s.do(t, "GET", p.path+"/-/revs-1.0.0.tgz", "", nil); status != 200 {
		t.Fatalf("download: %d", status)
	}
	if p.rev() != before {
		t.Fatal("a download changed the revision")
	}
	p.publish("1.2.0")
	step("a third publish")
	if _, err := acme.DeletePackage("acme", "npm", "@acme/revs", "1.2.0"); err != nil {
		t.Fatal(err)
	}
	step("a version deleted through the packages API")
	p.publish("1.2.0")
	step("the same version published again")
	raw, d := p.doc(p.h)
	status, _, body = s.do(t, "PUT", p.path+"/-rev/"+d.Rev, without(raw, "1.0.0"), p.h)
	ok(status, body)
	step("an npm unpublish")
}

func mustMarshal(v any) []byte { b, _ := json.Marshal(v); return b }

// TestNpmConcurrentUnpublishOneWins: clients that read the same revision
// and unpublish at once: one succeeds, the others get 409, and exactly one
// version goes (the check and the removal are one transaction, with the
// package locked on PostgreSQL as on SQLite).
func TestNpmConcurrentUnpublishOneWins(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	p := newNpmPackage(t, s, "race")
	all := []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"}
	for _, v := range all {
		p.publish(v)
	}
	_, d := p.doc(p.h)
	bodies := make([]string, 4)
	for i := range bodies {
		raw, _ := p.doc(p.h)
		bodies[i] = without(raw, all[i])
	}
	statuses := make([]int, len(bodies))
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _, _ = s.do(t, "PUT", p.path+"/-rev/"+d.Rev, bodies[i], p.h)
		}()
	}
	wg.Wait()
	won, conflicts := 0, 0
	for _, st := range statuses {
		switch st {
		case 200:
			won++
		case http.StatusConflict:
			conflicts++
		}
	}
	if won != 1 || conflicts != len(bodies)-1 {
		t.Fatalf("statuses %v: want one 200 and the rest 409", statuses)
	}
	if got := p.versions(); len(got) != len(all)-1 {
		t.Fatalf("versions left: %v, want exactly one removed", got)
	}
}

// TestNpmPublishDist: a publish whose dist is missing or malformed, or
// whose digests do not match the attachment, is refused with 400 in npm's
// shape and stores nothing; yarn 1's dist (shasum only) is accepted.
func TestNpmPublishDist(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	acme := s.client(t, gitea.SetBasicAuth("acme", "acme-password"))
	h := basic("acme", "acme-password")
	const name = "@acme/dist"
	tgz := npmTarball(pkgJSON(name, "1.0.0"))
	s1, s5 := sha1.Sum(tgz), sha512.Sum512(tgz)
	shasum, integrity := hex.EncodeToString(s1[:]), "sha512-"+base64.StdEncoding.EncodeToString(s5[:])
	other := sha1.Sum([]byte("other"))
	// withDist is npm's publish body with versions[v].dist replaced (nil:
	// removed).
	withDist := func(dist any) string {
		var doc map[string]any
		json.Unmarshal([]byte(npmPublishBody(name, "1.0.0", nil, tgz)), &doc)
		m := doc["versions"].(map[string]any)["1.0.0"].(map[string]any)
		if dist == nil {
			delete(m, "dist")
		} else {
			m["dist"] = dist
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(doc)
		return buf.String()
	}
	cases := []struct {
		name string
		dist any
		msg  string
	}{
		{"missing", nil, "dist is missing"},
		{"null", json.RawMessage("null"), "dist is missing"},
		{"a string", "sha512-abc", "not an object"},
		{"an array", []string{shasum}, "not an object"},
		{"empty", map[string]any{}, "neither shasum nor integrity"},
		{"only a tarball", map[string]any{"tarball": "http://x/y.tgz"}, "neither shasum nor integrity"},
		{"shasum a number", map[string]any{"shasum": 12, "integrity": integrity}, "shasum is not a string"},
		{"integrity an object", map[string]any{"shasum": shasum, "integrity": map[string]string{}}, "integrity is not a string"},
		{"shasum not hex", map[string]any{"shasum": "zz", "integrity": integrity}, "not a hex SHA-1"},
		{"shasum mismatch", map[string]any{"shasum": hex.EncodeToString(other[:]), "integrity": integrity}, "shasum mismatch"},
		{"shasum mismatch, no integrity", map[string]any{"shasum": hex.EncodeToString(other[:])}, "shasum mismatch"},
		{"integrity mismatch, no shasum", map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64))}, "integrity mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/@acme%2fdist", withDist(c.dist), h)
			if msg := npmError(t, body); status != http.StatusBadRequest || !strings.Contains(msg, c.msg) {
				t.Fatalf("%d %s, want 400 containing %q", status, body, c.msg)
			}
		})
	}
	if pkgs, _, err := acme.ListPackages("acme", gitea.ListPackagesOptions{}); err != nil || len(pkgs) != 0 {
		t.Fatalf("refused publishes stored something: %+v, %v", pkgs, err)
	}
	// yarn 1 declares the shasum only.
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/@acme%2fdist", withDist(map[string]any{"shasum": shasum, "tarball": "http://x/y.tgz"}), h); status != 201 {
		t.Fatalf("a shasum-only dist: %d %s", status, body)
	}
}

// TestNpmEmailsHidden: npm documents show a user's real address only to
// the user itself and to admins; anonymous callers and other users see the
// no-reply address in _npmUser, maintainers, search results and the user
// document npm owner add reads.
func TestNpmEmailsHidden(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	s.createUser(t, "bob")
	p := newNpmPackage(t, s, "mail")
	p.publish("1.0.0")
	const real = "acme@example.com"
	noReply := "acme@noreply.127.0.0.1"
	owner := "/api/packages/acme/npm/"
	instance := "/api/packages/-/npm/"
	for _, c := range []struct {
		who    string
		header map[string]string
		want   string
	}{
		{"anonymous", nil, noReply},
		{"another user", basic("bob", "bob-password"), noReply},
		{"the user itself", basic("acme", "acme-password"), real},
		{"an admin", tokenHeader(s.AdminToken), real},
	} {
		t.Run(c.who, func(t *testing.T) {
			get := func(path string, header map[string]string) string {
				t.Helper()
				status, _, body := s.do(t, "GET", path, "", header)
				if status != 200 {
					t.Fatalf("GET %s: %d %s", path, status, body)
				}
				if c.want != real && strings.Contains(body, real) {
					t.Fatalf("GET %s shows the real address:\n%s", path, body)
				}
				return body
			}
			for _, base := range []string{owner, instance} {
				body := get(base+"@acme%2fmail", c.header)
				var d npmDoc
				decodeStrict(t, body, &d)
				if len(d.Maintainers) != 1 || d.Maintainers[0].Name != "acme" || d.Maintainers[0].Email != c.want {
					t.Fatalf("maintainers: %+v, want acme <%s>", d.Maintainers, c.want)
				}
				var v struct {
					NpmUser struct {
						Name  string `json:"name"`
						Email string `json:"email"`
					} `json:"_npmUser"`
				}
				json.Unmarshal(d.Versions["1.0.0"], &v)
				if v.NpmUser.Name != "acme" || v.NpmUser.Email != c.want {
					t.Fatalf("_npmUser: %+v, want acme <%s>", v.NpmUser, c.want)
				}
				// The install document carries no people at all.
				get(base+"@acme%2fmail", map[string]string{"Accept": "application/vnd.npm.install-v1+json", "Authorization": c.header["Authorization"]})

				var search struct {
					Objects []struct {
						Package struct {
							Name      string            `json:"name"`
							Publisher map[string]string `json:"publisher"`
						} `json:"package"`
					} `json:"objects"`
				}
				json.Unmarshal([]byte(get(base+"-/v1/search?text=mail", c.header)), &search)
				if len(search.Objects) != 1 || search.Objects[0].Package.Publisher["email"] != c.want {
					t.Fatalf("search %s: %+v, want publisher <%s>", base, search.Objects, c.want)
				}
			}
			var u struct {
				Name  string `json:"name"`
				Email string `json:"email"`
			}
			decodeStrict(t, get(owner+"-/user/org.couchdb.user:acme", c.header), &u)
			if u.Name != "acme" || u.Email != c.want {
				t.Fatalf("user document: %+v, want acme <%s>", u, c.want)
			}
		})
	}
}
