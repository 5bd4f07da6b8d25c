package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	repo_model "wharf/models/repo"
)

// The callers of the authorization matrix, in the order of its columns.
// The tokens are the org owner's: they carry the owner's full rights, so
// only their scopes limit them.
const (
	cAnon   = iota // no credentials
	cOther         // a signed-in user with no role anywhere (all-scope token)
	cReader        // read member of every organisation (all-scope token)
	cWriter        // write member (all-scope token)
	cOwner         // owner of every organisation (password)
	cAdmin         // site administrator (all-scope token)
	cPkgR          // owner's token: read:package
	cPkgW          // owner's token: write:package
	cRepoR         // owner's token: read:repository
	cRepoW         // owner's token: write:repository
	cOrgR          // owner's token: read:organization,read:user
	cAll           // owner's token: all
	nCallers
)

var callerNames = [nCallers]string{"anon", "other", "reader", "writer", "owner", "admin",
	"tok-read:package", "tok-write:package", "tok-read:repository", "tok-write:repository", "tok-read:organization", "tok-all"}

// st is one expected status per caller, in the column order above.
type st [nCallers]int

func w(anon, other, reader, writer, owner, admin, pkgR, pkgW, repoR, repoW, orgR, all int) st {
	return st{anon, other, reader, writer, owner, admin, pkgR, pkgW, repoR, repoW, orgR, all}
}

// hidden is a name that a 200 answer shows only to the callers in sees
// (who may read the thing it names) and never to the others.
type hidden struct {
	name string
	sees []int
}

// authzRow is one route on one owner: the expected status per caller, and
// the names its body may show only to some.
type authzRow struct {
	method, path string
	// path may hold {c}, replaced by the caller's number.
	// body, when set, gives a request body for caller c (unique per caller
	// for writes, so that one caller's success cannot make another's fail).
	body func(c int) string
	want st
	hide []hidden
	// page: a web page. An anonymous visitor who may not see it is sent
	// to sign in and back (pageRow); the test checks where to.
	page bool
}

// pageRow marks a row as a web page: where an anonymous caller gets 401
// (sign in needed) or 404 (a private owner's page looks missing) from the
// API, the page (GET) answers 303 to /user/login?redirect_to=<the page>.
// Callers with an Authorization header keep the API's answer, and so do
// form posts. A page row's body is sent as a form.
func pageRow(r authzRow) authzRow {
	r.page = true
	if a := r.want[cAnon]; r.method == http.MethodGet && (a == http.StatusUnauthorized || a == http.StatusNotFound) {
		r.want[cAnon] = http.StatusSeeOther
	}
	return r
}

// signInRedirect is where a page sends an anonymous visitor who may not
// see it.
func signInRedirect(path string) string {
	return "/user/login?redirect_to=" + url.QueryEscape(path)
}

// The organisations, one per visibility; each has a public and a private
// repository.
var matrixOrgs = []struct{ name, visibility string }{
	{"pub-org", "public"}, {"lim-org", "limited"}, {"priv-org", "private"},
}

// TestAuthzMatrix checks who may do what across every route family (REST
// API, package protocols, git smart HTTP, web pages) on public, limited and
// private owners and repositories, for anonymous callers, users of each
// role and tokens of limited scopes. It also checks that a package linked
// to a repository of another owner never shows that repository to a
// caller who may not read it (the repository's own owner and privacy
// decide, and the token must carry read:repository). Web pages answer as
// the API does, except that an anonymous visitor who may not see a page
// is sent to sign in and back (303, checked without following it).
func TestAuthzMatrix(t *testing.T) {
	s := newServer(t)
	f := newAuthzFixture(t, s)

	var rows []authzRow
	for _, o := range matrixOrgs {
		rows = append(rows, authzRows(o.name, o.visibility)...)
		rows = append(rows, cleanupAuthzRows(t, s, o.name, o.visibility)...)
		rows = append(rows, virtualAuthzRows(o.name, o.visibility)...)
		read, write := protoStatuses(o.visibility)
		rows = append(rows, goAuthzRows(o.name, o.visibility, read, write)...)
		rows = append(rows, webSettingsAuthzRows(t, s, o.name, o.visibility)...)
	}
	rows = append(rows, authzUserRows()...)
	rows = append(rows, cleanupAdminAuthzRows()...)
	rows = append(rows, webAccountAuthzRows()...)

	cases := 0
	for _, row := range rows {
		for c := 0; c < nCallers; c++ {
			cases++
			path := strings.ReplaceAll(row.path, "{c}", fmt.Sprint(c))
			name := fmt.Sprintf("%s %s as %s", row.method, path, callerNames[c])
			body := ""
			if row.body != nil {
				body = row.body(c)
			}
			h := f.headers[c]
			if row.page && body != "" {
				h = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
				for k, v := range f.headers[c] {
					h[k] = v
				}
			}
			status, hdr, got := doNoRedirect(t, s, row.method, path, body, h)
			if status != row.want[c] {
				t.Errorf("%s: status %d, want %d: %s", name, status, row.want[c], snippet(got))
				continue
			}
			if status == http.StatusSeeOther && row.page && row.method == http.MethodGet {
				if loc := hdr.Get("Location"); loc != signInRedirect(path) {
					t.Errorf("%s: sent to %q, want %q", name, loc, signInRedirect(path))
				}
			}
			if status != http.StatusOK {
				continue
			}
			for _, h := range row.hide {
				shows := strings.Contains(got, h.name)
				may := false
				for _, sc := range h.sees {
					may = may || sc == c
				}
				if shows && !may {
					t.Errorf("%s: the answer shows %q, which this caller may not read: %s", name, h.name, snippet(got))
				}
				if !shows && may {
					t.Errorf("%s: the answer lacks %q, which this caller may read: %s", name, h.name, snippet(got))
				}
			}
		}
	}
	t.Logf("%d authorization cases", cases)
	if cases < 200 {
		t.Fatalf("only %d cases", cases)
	}
}

// doNoRedirect is s.do without following redirects: a page that sends
// the caller elsewhere answers with its own 3xx and Location.
func doNoRedirect(t *testing.T, s *server, method, path, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// snippet is the start of a body for a failure message: one line, and
// for a page its main part.
func snippet(body string) string {
	if i := strings.Index(body, "<main>"); i >= 0 {
		body = body[i:]
	}
	body = strings.Join(strings.Fields(body), " ")
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return body
}

// authzFixture is the users, organisations, repositories, packages and
// tokens of the matrix, built once.
type authzFixture struct {
	headers [nCallers]map[string]string
}

func newAuthzFixture(t *testing.T, s *server) *authzFixture {
	t.Helper()
	ctx := context.Background()
	for _, u := range []string{"other", "reader", "writer", "owner"} {
		s.createUser(t, u)
	}
	owner := s.client(t, gitea.SetBasicAuth("owner", "owner-password"))
	ownerH := basic("owner", "owner-password")
	admin := tokenHeader(s.AdminToken)
	must := func(status int, want int, what, body string) {
		t.Helper()
		if status != want {
			t.Fatalf("%s: %d %s", what, status, body)
		}
	}

	// owner/secret-src: a private repository of a user, which only the
	// user and admins may read; priv-org/hidden-pub: a public repository
	// of a private organisation, which only its members and admins may
	// read. Packages of every organisation are linked to both.
	if _, _, err := owner.CreateRepo(gitea.CreateRepoOption{Name: "secret-src", Private: true, AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	for _, o := range matrixOrgs {
		status, _, body := s.do(t, "POST", "/api/v1/orgs", fmt.Sprintf(`{"username":%q,"visibility":%q}`, o.name, o.visibility), ownerH)
		must(status, 201, "create "+o.name, body)
		for u, role := range map[string]string{"reader": "read", "writer": "write"} {
			status, _, body := s.do(t, "PUT", "/api/v1/orgs/"+o.name+"/members/"+u, fmt.Sprintf(`{"role":%q}`, role), ownerH)
			must(status, 204, "add "+u, body)
		}
		for _, r := range []struct {
			name    string
			private bool
		}{{"pub-repo", false}, {"priv-repo", true}} {
			if _, _, err := owner.CreateOrgRepo(o.name, gitea.CreateRepoOption{Name: r.name, Private: r.private, AutoInit: true}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := owner.CreateTag(o.name, r.name, gitea.CreateTagOption{TagName: "v1", Target: "main"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := owner.CreateOrgRepo("priv-org", gitea.CreateRepoOption{Name: "hidden-pub", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	goAuthzFixture(t, s, owner)

	for _, o := range matrixOrgs {
		base := "/api/packages/" + o.name
		for _, p := range []string{"gen", "leaky", "leaky2", "linkme"} {
			status, _, body := s.do(t, "PUT", base+"/generic/"+p+"/1.0/f.bin", "bytes of "+p, admin)
			must(status, 201, "upload "+p, body)
		}
		for c := 0; c < nCallers; c++ {
			status, _, body := s.do(t, "PUT", fmt.Sprintf("%s/generic/del/1.0.%d/f.bin", base, c), "x", admin)
			must(status, 201, "upload del", body)
		}
		status, _, body := s.do(t, "PUT", base+"/npm/lib", npmPublishBody("lib", "1.0.0", nil, npmTarball(pkgJSON("lib", "1.0.0"))), admin)
		must(status, 201, "npm publish", body)
		zip := composerZip("", map[string]string{"composer.json": `{"name":"vendor/lib","description":"d"}`})
		status, _, body = s.do(t, "PUT", base+"/composer?version=1.0.0", string(zip), admin)
		must(status, 201, "composer upload", body)

		// The cross-owner links, as npm's auto-link and Composer's
		// registration make them for a publisher who may write the
		// repository.
		link := func(pkg string, typ packages_model.Type, repoOwner, repo string) {
			t.Helper()
			ownerUser, err := s.App.Users.GetByName(ctx, o.name)
			if err != nil {
				t.Fatal(err)
			}
			ru, err := s.App.Users.GetByName(ctx, repoOwner)
			if err != nil {
				t.Fatal(err)
			}
			err = s.App.DB.WithTx(ctx, func(tx db.Engine) error {
				p, err := packages_model.GetPackageByName(ctx, tx, ownerUser.ID, typ, pkg)
				if err != nil {
					return err
				}
				r, err := repo_model.GetRepositoryByName(ctx, tx, ru.ID, repo)
				if err != nil {
					return err
				}
				return packages_model.SetRepositoryLink(ctx, tx, p.ID, r.ID)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		link("leaky", packages_model.TypeGeneric, "owner", "secret-src")
		link("leaky2", packages_model.TypeGeneric, "priv-org", "hidden-pub")
		link("lib", packages_model.TypeNpm, "owner", "secret-src")
		link("vendor/lib", packages_model.TypeComposer, "owner", "secret-src")
	}

	// The owner signs in with the password; the other users with an
	// all-scope token of their own, which may do what the password may
	// (and saves a password hash per request).
	f := &authzFixture{}
	f.headers[cAnon] = nil
	f.headers[cOwner] = ownerH
	for c, u := range map[int]string{cOther: "other", cReader: "reader", cWriter: "writer"} {
		tok, _, err := s.client(t, gitea.SetBasicAuth(u, u+"-password")).CreateAccessToken(gitea.CreateAccessTokenOption{Name: "all", Scopes: []gitea.AccessTokenScope{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		f.headers[c] = tokenHeader(tok.Token)
	}
	f.headers[cAdmin] = admin
	for c, scopes := range map[int][]gitea.AccessTokenScope{
		cPkgR: {"read:package"}, cPkgW: {"write:package"}, cRepoR: {"read:repository"}, cRepoW: {"write:repository"},
		cOrgR: {"read:organization", "read:user"}, cAll: {"all"},
	} {
		tok, _, err := owner.CreateAccessToken(gitea.CreateAccessTokenOption{Name: callerNames[c], Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		f.headers[c] = tokenHeader(tok.Token)
	}
	return f
}

// Who may read the names the rows hide.
var (
	// owner/secret-src: its owner and admins (and the owner's token that
	// may read repositories).
	seesSecret = []int{cOwner, cAdmin, cAll}
	// priv-org/hidden-pub: members of priv-org and admins.
	seesHiddenPub = []int{cReader, cWriter, cOwner, cAdmin, cAll}
	// a private repository of an organisation, in a list of repositories.
	seesPrivRepo = []int{cReader, cWriter, cOwner, cAdmin, cRepoR, cRepoW, cAll}
	nobody       = []int{}
)

// pick chooses the expectation for the organisation's visibility.
func pick(vis string, public, limited, private st) st {
	switch vis {
	case "public":
		return public
	case "limited":
		return limited
	}
	return private
}

// authzRows are the rows of one organisation. Columns: anon, other,
// reader, writer, owner, admin, read:package, write:package,
// read:repository, write:repository, read:organization, all.
func authzRows(org, vis string) []authzRow {
	api := "/api/v1"
	pkgs := "/api/packages/" + org
	leak := []hidden{{"secret-src", seesSecret}, {"hidden-pub", seesHiddenPub}}

	// Data of the organisation's own kind: visible per the owner.
	orgRead := pick(vis,
		w(200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 200, 200),
		w(404, 200, 200, 200, 200, 200, 403, 403, 403, 403, 200, 200),
		w(404, 404, 200, 200, 200, 200, 403, 403, 403, 403, 200, 200))
	pubRepoRead := pick(vis,
		w(200, 200, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200),
		w(404, 200, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200),
		w(404, 404, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200))
	privRepoRead := w(404, 404, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200)
	pkgRead := pick(vis,
		w(200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
		w(404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
		w(404, 404, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200))
	pkgDelete := pick(vis,
		w(401, 403, 403, 204, 204, 204, 403, 204, 403, 403, 403, 204),
		w(401, 403, 403, 204, 204, 204, 403, 204, 403, 403, 403, 204),
		w(401, 404, 403, 204, 204, 204, 403, 204, 403, 403, 403, 204))
	pkgLink := pick(vis,
		w(401, 403, 403, 201, 201, 201, 403, 201, 403, 403, 403, 201),
		w(401, 403, 403, 201, 201, 201, 403, 201, 403, 403, 403, 201),
		w(401, 404, 403, 201, 201, 201, 403, 201, 403, 403, 403, 201))
	// The registry protocols.
	// The registry protocols: an owner the caller may not see is not
	// found, for anonymous callers too (as on the API; Gitea answers 401
	// there, but 404 for an owner that does not exist, which tells who
	// exists).
	protoRead, protoWrite := protoStatuses(vis)
	// git: an anonymous caller is challenged (401) where it cannot read.
	fetchPub := pick(vis,
		w(200, 200, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200),
		w(401, 200, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200),
		w(401, 404, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200))
	fetchPriv := w(401, 404, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200)
	pushPub := pick(vis,
		w(401, 403, 403, 200, 200, 200, 403, 403, 403, 200, 403, 200),
		w(401, 403, 403, 200, 200, 200, 403, 403, 403, 200, 403, 200),
		w(401, 404, 403, 200, 200, 200, 403, 403, 403, 200, 403, 200))
	pushPriv := w(401, 404, 403, 200, 200, 200, 403, 403, 403, 200, 403, 200)

	rows := []authzRow{
		{method: "GET", path: api + "/orgs/" + org, want: orgRead},
		{method: "GET", path: api + "/orgs/" + org + "/repos", want: pubRepoRead, hide: []hidden{{"priv-repo", seesPrivRepo}}},
		{method: "GET", path: api + "/packages/" + org, want: pkgRead, hide: leak},
		{method: "GET", path: api + "/packages/" + org + "?type=generic&q=leaky", want: pkgRead, hide: leak},
		{method: "GET", path: api + "/packages/" + org + "/generic/gen/1.0", want: pkgRead},
		{method: "GET", path: api + "/packages/" + org + "/generic/leaky/1.0", want: pkgRead, hide: leak[:1]},
		{method: "GET", path: api + "/packages/" + org + "/generic/leaky/-/latest", want: pkgRead, hide: leak[:1]},
		{method: "GET", path: api + "/packages/" + org + "/generic/leaky2", want: pkgRead, hide: leak[1:]},
		{method: "GET", path: api + "/packages/" + org + "/generic/leaky2/1.0/files", want: pkgRead},
		{method: "DELETE", path: api + "/packages/" + org + "/generic/del/1.0.{c}", want: pkgDelete},
		{method: "POST", path: api + "/packages/" + org + "/generic/linkme/-/link/pub-repo", want: pkgLink},

		{method: "GET", path: pkgs + "/generic/gen/1.0/f.bin", want: protoRead},
		{method: "PUT", path: pkgs + "/generic/up/1.0/{c}.bin", body: func(int) string { return "upload" }, want: protoWrite},
		{method: "GET", path: pkgs + "/npm/lib", want: protoRead, hide: []hidden{{"secret-src", nobody}}},
		{method: "PUT", path: pkgs + "/npm/pub{c}", want: protoWrite, body: func(c int) string {
			name := fmt.Sprintf("pub%d", c)
			return npmPublishBody(name, "1.0.0", nil, npmTarball(pkgJSON(name, "1.0.0")))
		}},
		{method: "GET", path: pkgs + "/composer/packages.json", want: protoRead},
		{method: "GET", path: pkgs + "/composer/p2/vendor/lib.json", want: protoRead, hide: []hidden{{"secret-src", nobody}}},
		// Cargo: an anonymous caller is challenged (401) where it may not
		// see the owner, since cargo sends its token only after a 401; each
		// caller publishes its own crate, which the index row reads (the
		// owner's write:package token's).
		{method: "GET", path: pkgs + "/cargo/config.json", want: pick(vis,
			w(200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
			w(401, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
			w(401, 404, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200))},
		{method: "PUT", path: pkgs + "/cargo/api/v1/crates/new", body: func(c int) string { return cargoPublishBody(fmt.Sprintf("crate%d", c), "1.0.0") }, want: pick(vis,
			w(401, 403, 403, 200, 200, 200, 403, 200, 403, 403, 403, 200),
			w(401, 403, 403, 200, 200, 200, 403, 200, 403, 403, 403, 200),
			w(401, 404, 403, 200, 200, 200, 403, 200, 403, 403, 403, 200))},
		{method: "GET", path: pkgs + fmt.Sprintf("/cargo/cr/at/crate%d", cPkgW), want: pick(vis,
			w(200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
			w(401, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
			w(401, 404, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200))},
		{method: "GET", path: api + "/packages/" + org + "/cargo/-/index", want: pkgRead},
		// The git index: made by an owner of the organisation or an admin
		// (201 the first time, 200 after).
		{method: "POST", path: api + "/packages/" + org + "/cargo/-/index", want: pick(vis,
			w(401, 403, 403, 403, 201, 200, 403, 200, 403, 403, 403, 200),
			w(401, 403, 403, 403, 201, 200, 403, 200, 403, 403, 403, 200),
			w(401, 404, 403, 403, 201, 200, 403, 200, 403, 403, 403, 200))},
		{method: "GET", path: "/" + org + "/_cargo-index.git/info/refs?service=git-upload-pack", want: fetchPub},

		{method: "GET", path: "/" + org + "/pub-repo.git/info/refs?service=git-upload-pack", want: fetchPub},
		{method: "GET", path: "/" + org + "/priv-repo.git/info/refs?service=git-upload-pack", want: fetchPriv},
		{method: "GET", path: "/" + org + "/pub-repo/info/refs?service=git-receive-pack", want: pushPub},
		{method: "GET", path: "/" + org + "/priv-repo.git/info/refs?service=git-receive-pack", want: pushPriv},

		pageRow(authzRow{method: "GET", path: "/" + org, want: orgRead, hide: []hidden{
			{"priv-repo", []int{cReader, cWriter, cOwner, cAdmin, cAll}},
			{"pub-repo", []int{cAnon, cOther, cReader, cWriter, cOwner, cAdmin, cAll}}}}),
		pageRow(authzRow{method: "GET", path: "/" + org + "/pub-repo", want: pubRepoRead}),
		pageRow(authzRow{method: "GET", path: "/" + org + "/priv-repo", want: privRepoRead}),
		{method: "GET", path: "/" + org + "/pub-repo/archive/v1.zip", want: pubRepoRead},
		{method: "GET", path: "/" + org + "/priv-repo/archive/v1.tar.gz", want: privRepoRead},
		pageRow(authzRow{method: "GET", path: "/" + org + "/-/packages", want: pkgRead}),
		pageRow(authzRow{method: "GET", path: "/" + org + "/-/packages/generic/leaky/1.0", want: pkgRead, hide: leak[:1]}),
		pageRow(authzRow{method: "GET", path: "/" + org + "/-/packages/generic/leaky2/1.0", want: pkgRead, hide: leak[1:]}),
		// A package's page (its versions), and a repository's Packages
		// tab, which needs both scopes: the repository's and the
		// packages'.
		pageRow(authzRow{method: "GET", path: "/" + org + "/-/packages/generic/gen", want: pkgRead}),
		pageRow(authzRow{method: "GET", path: "/" + org + "/-/packages/generic/leaky", want: pkgRead, hide: leak[:1]}),
		pageRow(authzRow{method: "GET", path: "/" + org + "/-/packages/generic/leaky2", want: pkgRead, hide: leak[1:]}),
		pageRow(authzRow{method: "GET", path: "/" + org + "/-/packages/npm/lib/1.0.0", want: pkgRead, hide: leak[:1]}),
		pageRow(authzRow{method: "GET", path: "/" + org + "/pub-repo/packages", want: bothScopes(pubRepoRead)}),
		pageRow(authzRow{method: "GET", path: "/" + org + "/priv-repo/packages", want: bothScopes(privRepoRead)}),
	}
	for _, repo := range []string{"pub-repo", "priv-repo"} {
		want := pubRepoRead
		if repo == "priv-repo" {
			want = privRepoRead
		}
		for _, sub := range []string{"", "/branches", "/branches/main", "/tags", "/tags/v1", "/raw/README.md", "/archive/main.zip", "/languages"} {
			rows = append(rows, authzRow{method: "GET", path: api + "/repos/" + org + "/" + repo + sub, want: want})
		}
	}
	return rows
}

// protoStatuses are the registry protocols' expectations for reading and
// publishing: an owner the caller may not see is not found, for anonymous
// callers too (as on the API; Gitea answers 401 there, but 404 for an
// owner that does not exist, which tells who exists).
func protoStatuses(vis string) (read, write st) {
	read = pick(vis,
		w(200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
		w(404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
		w(404, 404, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200))
	write = pick(vis,
		w(401, 403, 403, 201, 201, 201, 403, 201, 403, 403, 403, 201),
		w(404, 403, 403, 201, 201, 201, 403, 201, 403, 403, 403, 201),
		w(404, 404, 403, 201, 201, 201, 403, 201, 403, 403, 403, 201))
	return read, write
}

// bothScopes is a repository page's expectation for a page that also shows
// packages: a token needs read:package as well as read:repository.
func bothScopes(repoRead st) st {
	for _, c := range []int{cPkgR, cPkgW, cRepoR, cRepoW, cOrgR} {
		repoRead[c] = http.StatusForbidden
	}
	return repoRead
}

// authzUserRows are the rows of the user who owns the private repository
// the packages link to.
func authzUserRows() []authzRow {
	userRead := w(200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 200, 200)
	secretRead := w(404, 404, 404, 404, 200, 200, 403, 403, 200, 200, 403, 200)
	return []authzRow{
		{method: "GET", path: "/api/v1/users/owner", want: userRead},
		{method: "GET", path: "/api/v1/users/owner/repos", want: w(200, 200, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200),
			hide: []hidden{{"secret-src", []int{cOwner, cAdmin, cRepoR, cRepoW, cAll}}}},
		{method: "GET", path: "/api/v1/repos/owner/secret-src", want: secretRead},
		pageRow(authzRow{method: "GET", path: "/owner", want: userRead, hide: []hidden{{"secret-src", seesSecret}}}),
		pageRow(authzRow{method: "GET", path: "/owner/secret-src", want: secretRead}),
		pageRow(authzRow{method: "GET", path: "/owner/secret-src/packages", want: bothScopes(secretRead)}),
		// The lists of everything: what each caller may see, with the
		// scope the API's lists ask.
		pageRow(authzRow{method: "GET", path: "/", want: w(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200)}),
		pageRow(authzRow{method: "GET", path: "/explore/repos", want: w(200, 200, 200, 200, 200, 200, 403, 403, 200, 200, 403, 200),
			hide: []hidden{{"secret-src", []int{cOwner, cAdmin, cRepoR, cRepoW, cAll}},
				{"hidden-pub", []int{cReader, cWriter, cOwner, cAdmin, cRepoR, cRepoW, cAll}}}}),
		pageRow(authzRow{method: "GET", path: "/explore/organizations", want: w(200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 200, 200),
			hide: []hidden{{"lim-org", []int{cOther, cReader, cWriter, cOwner, cAdmin, cOrgR, cAll}},
				{"priv-org", []int{cReader, cWriter, cOwner, cAdmin, cOrgR, cAll}}}}),
		{method: "GET", path: "/owner/secret-src.git/info/refs?service=git-upload-pack", want: w(401, 404, 404, 404, 200, 200, 403, 403, 200, 200, 403, 200)},
	}
}

// webSettingsAuthzRows (after cleanupAuthzRows) are the settings pages of one organisation's
// packages: a package's settings (link, delete) and the organisation's
// package settings (cargo index, Composer sources, cleanup rules) are for
// writers of its packages (readers get 403, who may not see the owner
// 404, a visitor is sent to sign in); a token needs the package scope, as
// the packages API asks for the same data, and sees the owner's
// repositories (the link form's choices) only with read:repository, as
// the repository API asks. A rule's preview is for whom the rules API lets
// read rules: the organisation's owners and admins.
func webSettingsAuthzRows(t *testing.T, s *server, org, vis string) []authzRow {
	t.Helper()
	admin, err := s.App.Users.GetByName(context.Background(), s.AdminName)
	if err != nil {
		t.Fatal(err)
	}
	// The organisation's generic rule, which cleanupAuthzRows made.
	rules, err := s.App.Cleanup.Rules(context.Background(), admin, org)
	if err != nil {
		t.Fatal(err)
	}
	var rule *packages_model.CleanupRule
	for _, r := range rules {
		if r.Type == packages_model.TypeGeneric {
			rule = r
		}
	}
	if rule == nil {
		t.Fatalf("%s has no generic cleanup rule", org)
	}
	settings := pick(vis,
		w(401, 403, 403, 200, 200, 200, 200, 200, 403, 403, 403, 200),
		w(401, 403, 403, 200, 200, 200, 200, 200, 403, 403, 403, 200),
		w(404, 404, 403, 200, 200, 200, 200, 200, 403, 403, 403, 200))
	rulesRead := pick(vis,
		w(401, 403, 403, 403, 200, 200, 200, 200, 403, 403, 403, 200),
		w(401, 403, 403, 403, 200, 200, 200, 200, 403, 403, 403, 200),
		w(404, 404, 403, 403, 200, 200, 200, 200, 403, 403, 403, 200))
	// The link form lists the organisation's repositories to whom may
	// read them with this credential.
	repoChoices := []hidden{{"priv-repo", []int{cWriter, cOwner, cAdmin, cAll}}}
	// The forms: a success answers 303 back to the page (the rule's run
	// shows its result, 200). An anonymous post to an owner it may not
	// see finds nothing (404), as the package protocols answer.
	formWrite := func(ok int) st {
		return pick(vis,
			w(401, 403, 403, ok, ok, ok, 403, ok, 403, 403, 403, ok),
			w(404, 403, 403, ok, ok, ok, 403, ok, 403, 403, 403, ok),
			w(404, 404, 403, ok, ok, ok, 403, ok, 403, 403, 403, ok))
	}
	rulesRun := pick(vis,
		w(401, 403, 403, 403, 200, 200, 403, 200, 403, 403, 403, 200),
		w(401, 403, 403, 403, 200, 200, 403, 200, 403, 403, 403, 200),
		w(401, 404, 403, 403, 200, 200, 403, 200, 403, 403, 403, 200))
	for c := 0; c < nCallers; c++ {
		status, _, body := s.do(t, "PUT", fmt.Sprintf("/api/packages/%s/generic/webdel/1.0.%d/f.bin", org, c), "x", tokenHeader(s.AdminToken))
		if status != http.StatusCreated {
			t.Fatalf("upload webdel: %d %s", status, body)
		}
	}
	pkg := "/" + org + "/-/packages/generic/"
	orgSettings := "/org/" + org + "/settings/packages"
	rid := fmt.Sprint(rule.ID)
	return []authzRow{
		pageRow(authzRow{method: "POST", path: pkg + "linkme/settings", want: formWrite(303),
			body: func(int) string { return "action=link&repo_name=pub-repo" }}),
		pageRow(authzRow{method: "POST", path: pkg + "webdel/settings/delete_version", want: formWrite(303),
			body: func(c int) string { return fmt.Sprintf("version=1.0.%d&confirm=yes", c) }}),
		pageRow(authzRow{method: "GET", path: pkg + "gen/settings", want: settings, hide: repoChoices}),
		pageRow(authzRow{method: "GET", path: pkg + "leaky/settings", want: settings, hide: []hidden{{"secret-src", seesSecret}}}),
		pageRow(authzRow{method: "GET", path: pkg + "leaky2/settings", want: settings, hide: []hidden{{"hidden-pub", seesHiddenPub}}}),
		pageRow(authzRow{method: "GET", path: pkg + "gen/settings/delete_version?version=1.0", want: settings}),
		pageRow(authzRow{method: "GET", path: orgSettings, want: settings}),
		pageRow(authzRow{method: "GET", path: orgSettings + "/rules/add", want: rulesRead}),
		pageRow(authzRow{method: "GET", path: orgSettings + "/rules/" + rid, want: rulesRead}),
		pageRow(authzRow{method: "GET", path: orgSettings + "/rules/" + rid + "/delete", want: rulesRead}),
		pageRow(authzRow{method: "GET", path: orgSettings + "/rules/" + rid + "/preview", want: rulesRead}),
		// The run confirms a preview: its stamp, taken just before the
		// request (the selection moves as other rows upload and remove).
		pageRow(authzRow{method: "POST", path: orgSettings + "/rules/" + rid + "/run", want: rulesRun,
			body: func(int) string {
				_, sel, err := s.App.Cleanup.PreviewSelection(context.Background(), admin, org, rule.ID)
				if err != nil {
					t.Fatal(err)
				}
				return "confirm=yes&stamp=" + url.QueryEscape(sel.String())
			}}),
	}
}

// webAccountAuthzRows are the pages of the signed-in account and of the
// site's administration. A caller's own package settings need the package
// scope; access tokens are managed with a password or a browser session,
// never with a token; the admin pages are for site administrators, and a
// token reaches them only with the admin scope.
func webAccountAuthzRows() []authzRow {
	own := w(401, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200)
	tokens := w(401, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403)
	admin := w(401, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403)
	rows := []authzRow{
		pageRow(authzRow{method: "GET", path: "/user/settings/packages", want: own}),
		pageRow(authzRow{method: "GET", path: "/user/settings/applications", want: tokens}),
		pageRow(authzRow{method: "GET", path: "/user/settings/applications/delete?name=" + url.QueryEscape(callerNames[cAll]), want: tokens}),
		pageRow(authzRow{method: "POST", path: "/user/settings/applications", want: tokens,
			body: func(c int) string { return fmt.Sprintf("name=web%d&scope=read:user", c) }}),
		pageRow(authzRow{method: "POST", path: "/-/admin/cleanup", want: w(401, 403, 403, 403, 403, 303, 403, 403, 403, 403, 403, 403),
			body: func(int) string { return "task=uploads&confirm=yes" }}),
	}
	for _, p := range []string{"/-/admin", "/-/admin/users", "/-/admin/orgs", "/-/admin/packages", "/-/admin/cleanup"} {
		rows = append(rows, pageRow(authzRow{method: "GET", path: p, want: admin}))
	}
	return rows
}
