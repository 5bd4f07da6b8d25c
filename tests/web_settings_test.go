package tests

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// formBrowser is a cookie-keeping client that posts forms as a formBrowser does
// from the site's own pages (Sec-Fetch-Site: same-origin) and follows the
// post/redirect/get redirects.
type formBrowser struct {
	t *testing.T
	s *server
	c *http.Client
}

func newFormBrowser(t *testing.T, s *server) *formBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &formBrowser{t: t, s: s, c: &http.Client{Jar: jar}}
}

// page is a response as a formBrowser ends up with it.
type formPage struct {
	Status int
	Header http.Header
	Body   string
	// Path is where the redirects ended (path and query).
	Path string
}

func (b *formBrowser) send(req *http.Request) formPage {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return formPage{Status: resp.StatusCode, Header: resp.Header, Body: string(body), Path: resp.Request.URL.RequestURI()}
}

func (b *formBrowser) get(path string) formPage {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.s.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.send(req)
}

// postFrom posts a form with the Sec-Fetch-Site a formBrowser would send.
func (b *formBrowser) postFrom(site, path string, form url.Values) formPage {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", site)
	return b.send(req)
}

func (b *formBrowser) post(path string, form url.Values) formPage {
	b.t.Helper()
	return b.postFrom("same-origin", path, form)
}

func (b *formBrowser) signIn(user, pass string) {
	b.t.Helper()
	p := b.post("/user/login", url.Values{"user_name": {user}, "password": {pass}})
	if p.Status != http.StatusOK || p.Path != "/" {
		b.t.Fatalf("sign in as %s: %d at %s\n%s", user, p.Status, p.Path, p.Body)
	}
}

// expect fails unless the page has the status and every text given (HTML
// unescaped).
func (p formPage) expect(t *testing.T, what string, status int, texts ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d (at %s)\n%s", what, p.Status, status, p.Path, p.Body)
	}
	text := html.UnescapeString(p.Body)
	for _, s := range texts {
		if !strings.Contains(text, s) {
			t.Fatalf("%s: the page lacks %q (at %s)\n%s", what, s, p.Path, p.Body)
		}
	}
}

func (s *server) putGenericFile(t *testing.T, owner, name, version string, h map[string]string) {
	t.Helper()
	status, _, body := s.do(t, "PUT", "/api/packages/"+owner+"/generic/"+name+"/"+version+"/"+name+".bin", "bytes of "+name+" "+version, h)
	if status != http.StatusCreated {
		t.Fatalf("upload %s %s: %d %s", name, version, status, body)
	}
}

func (s *server) makeRepo(t *testing.T, owner, name string, h map[string]string) {
	t.Helper()
	path := "/api/v1/user/repos"
	if owner != "" {
		path = "/api/v1/orgs/" + owner + "/repos"
	}
	if status, _, body := s.do(t, "POST", path, `{"name":"`+name+`"}`, h); status != http.StatusCreated {
		t.Fatalf("create repository %s: %d %s", name, status, body)
	}
}

var newTokenFieldRE = regexp.MustCompile(`id="new-token" value="([0-9a-f]{40})"`)

// TestWebSettingsTokens: a signed-in formBrowser creates a token with check
// box scopes, sees it once (not cached), uses it against the API, and
// revokes it after a confirmation; bad input stores nothing; a token
// cannot reach the page; a cross-site post is refused.
func TestWebSettingsTokens(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	b := newFormBrowser(t, s)
	b.signIn("alice", "alice-password")

	b.get("/user/settings/applications").expect(t, "applications", 200, "Generate a new token", "You have no access tokens.", "/user/settings/change_password")

	p := b.post("/user/settings/applications", url.Values{"name": {"ci"}, "scope": {"read:user", "write:package"}})
	p.expect(t, "create token", 200, "Copy it now", "write:package, read:user")
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("the page with the new token has Cache-Control %q", cc)
	}
	m := newTokenFieldRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no token on the page:\n%s", p.Body)
	}
	token := m[1]
	// Shown once: the list shows only its last eight characters.
	again := b.get("/user/settings/applications")
	again.expect(t, "applications after", 200, "…"+token[32:], "never")
	if strings.Contains(again.Body, token) {
		t.Fatal("the token is shown again after its creation")
	}
	status, _, body := s.do(t, "GET", "/api/v1/user", "", tokenHeader(token))
	if status != 200 || !strings.Contains(body, `"login":"alice"`) {
		t.Fatalf("the new token against /api/v1/user: %d %s", status, body)
	}

	// A token may not reach the page, let alone make tokens.
	status, _, _ = s.do(t, "GET", "/user/settings/applications", "", tokenHeader(token))
	if status != http.StatusForbidden {
		t.Fatalf("a token on the applications page: %d, want 403", status)
	}
	// Refused input is shown back with the service's message; nothing is stored.
	b.post("/user/settings/applications", url.Values{"name": {"bad\x1bname"}, "scope": {"read:user"}}).
		expect(t, "control character", 422, "without control characters")
	b.post("/user/settings/applications", url.Values{"name": {"noscope"}}).expect(t, "no scope", 400, "must have a scope")
	b.post("/user/settings/applications", url.Values{"name": {"nul\x00"}, "scope": {"read:user"}}).expect(t, "NUL in the name", 400)
	b.post("/user/settings/applications", url.Values{"name": {"x"}, "scope": {"write:everything"}}).expect(t, "bad scope", 400, "invalid access token scope")
	b.postFrom("cross-site", "/user/settings/applications", url.Values{"name": {"evil"}, "scope": {"all"}}).expect(t, "cross-site create", 403)
	// A browser that sends only Origin (no Sec-Fetch-Site), from elsewhere.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/user/settings/applications", strings.NewReader("name=evil2&scope=all"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	b.send(req).expect(t, "cross-origin create", 403)
	list := b.get("/user/settings/applications").Body
	if strings.Count(list, "Revoke “") != 1 {
		t.Fatalf("refused creations stored tokens:\n%s", list)
	}

	// Revoking: a confirmation page, a post without the confirmation is
	// refused, a cross-site one too, then the real one.
	b.get("/user/settings/applications/delete?name=ci").expect(t, "revoke confirmation", 200, "Revoke the token “ci”", "…"+token[32:])
	b.post("/user/settings/applications/delete", url.Values{"name": {"ci"}}).expect(t, "revoke unconfirmed", 400)
	b.postFrom("cross-site", "/user/settings/applications/delete", url.Values{"name": {"ci"}, "confirm": {"yes"}}).expect(t, "revoke cross-site", 403)
	if status, _, _ := s.do(t, "GET", "/api/v1/user", "", tokenHeader(token)); status != 200 {
		t.Fatalf("a refused revocation revoked the token: %d", status)
	}
	p = b.post("/user/settings/applications/delete", url.Values{"name": {"ci"}, "confirm": {"yes"}})
	p.expect(t, "revoke", 200, "has been revoked", "You have no access tokens.")
	if p.Path != "/user/settings/applications" {
		t.Fatalf("revoking ended at %s", p.Path)
	}
	if status, _, _ := s.do(t, "GET", "/api/v1/user", "", tokenHeader(token)); status != http.StatusUnauthorized {
		t.Fatalf("the revoked token: %d, want 401", status)
	}
	b.get("/user/settings/applications/delete?name=ci").expect(t, "revoked token's confirmation", 404)

	// A visitor is sent to sign in.
	anon := newFormBrowser(t, s)
	anon.get("/user/settings/applications").expect(t, "anonymous", 200, "Sign in")
}

// TestWebSettingsPackage: a writer links a package to a repository of its
// owner, deletes a version and then the package (its name typed), each
// through a confirmation; a scoped npm name works path-escaped; a reader
// of an organisation gets 403, a visitor is sent to sign in, and a
// cross-site post changes nothing.
func TestWebSettingsPackage(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	aliceH := basic("alice", "alice-password")
	s.makeRepo(t, "", "lib", aliceH)
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		s.putGenericFile(t, "alice", "tool", v, aliceH)
	}
	b := newFormBrowser(t, s)
	b.signIn("alice", "alice-password")
	const settings = "/alice/-/packages/generic/tool/settings"

	b.get(settings).expect(t, "settings", 200, "Settings of tool", `<option value="lib">lib</option>`, "Not linked to a repository.", `<option value="1.1.0">`)

	// Link, then a repository that does not exist.
	b.post(settings, url.Values{"action": {"link"}, "repo_name": {"lib"}}).expect(t, "link", 200, "now linked to alice/lib", `Linked to <a href="`+s.URL+`/alice/lib">alice/lib</a>`)
	status, _, body := s.do(t, "GET", "/api/v1/packages/alice/generic/tool/2.0.0", "", aliceH)
	if status != 200 || !strings.Contains(body, `"full_name":"alice/lib"`) {
		t.Fatalf("the API after linking: %d %s", status, body)
	}
	b.post(settings, url.Values{"action": {"link"}, "repo_name": {"nope"}}).expect(t, "link unknown", 404, `alice has no repository "nope"`)
	b.post(settings, url.Values{"action": {"unlink"}}).expect(t, "unlink", 200, "no longer linked", "Not linked to a repository.")
	b.post(settings, url.Values{"action": {"link"}, "repo_name": {"lib"}}).expect(t, "link again", 200, `Linked to <a href="`+s.URL+`/alice/lib">`)

	// Delete a version: the picker leads to a confirmation page.
	b.get(settings+"/delete_version?version=1.0.0").expect(t, "delete version confirmation", 200, "Delete tool 1.0.0", "1 file(s)")
	b.post(settings+"/delete_version", url.Values{"version": {"1.0.0"}}).expect(t, "unconfirmed version delete", 400)
	if status, _, _ := s.do(t, "GET", "/api/v1/packages/alice/generic/tool/1.0.0", "", aliceH); status != 200 {
		t.Fatalf("an unconfirmed delete removed the version: %d", status)
	}
	p := b.post(settings+"/delete_version", url.Values{"version": {"1.0.0"}, "confirm": {"yes"}})
	p.expect(t, "delete version", 200, "Version 1.0.0 of tool has been deleted")
	if p.Path != settings {
		t.Fatalf("deleting a version ended at %s", p.Path)
	}
	if strings.Contains(p.Body, `<option value="1.0.0">`) {
		t.Fatal("the deleted version is still offered")
	}
	if status, _, _ := s.do(t, "GET", "/api/v1/packages/alice/generic/tool/1.0.0", "", aliceH); status != 404 {
		t.Fatalf("the deleted version: %d, want 404", status)
	}

	// Tokens reach the page with the package scope only, as the API.
	for _, c := range []struct {
		scopes string
		status int
	}{{`["read:user"]`, 403}, {`["write:package"]`, 200}} {
		status, _, body := s.do(t, "POST", "/api/v1/users/alice/tokens", `{"name":"t`+c.scopes[2:7]+`","scopes":`+c.scopes+`}`, aliceH)
		if status != 201 {
			t.Fatalf("create token: %d %s", status, body)
		}
		tok := regexp.MustCompile(`"sha1":"([0-9a-f]{40})"`).FindStringSubmatch(body)
		if tok == nil {
			t.Fatalf("no token in %s", body)
		}
		status, _, body = s.do(t, "GET", settings, "", tokenHeader(tok[1]))
		if status != c.status {
			t.Fatalf("a token with %s on the settings: %d, want %d\n%s", c.scopes, status, c.status, body)
		}
		// Repositories are not a package token's data: none is named.
		if status == 200 && (!strings.Contains(body, "lacks read:repository") || strings.Contains(body, "alice/lib") || strings.Contains(body, `<option value="lib"`)) {
			t.Fatalf("a package token's settings page shows repositories:\n%s", body)
		}
	}

	// Another user: 403 on a user's package they may see; a visitor signs in.
	bob := newFormBrowser(t, s)
	bob.signIn("bob", "bob-password")
	bob.get(settings).expect(t, "bob on alice's package", 403)
	bob.post(settings, url.Values{"action": {"delete"}, "confirm_name": {"tool"}}).expect(t, "bob deletes", 403)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(s.URL + settings)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/user/login?redirect_to=") {
		t.Fatalf("a visitor on the settings: %d %s", resp.StatusCode, loc)
	}

	// Deleting the package: a wrong name is refused and keeps it, a
	// cross-site post is refused, the typed name deletes it.
	b.post(settings, url.Values{"action": {"delete"}, "confirm_name": {"Tool"}}).expect(t, "wrong name", 422, "type its name, tool, exactly")
	b.postFrom("cross-site", settings, url.Values{"action": {"delete"}, "confirm_name": {"tool"}}).expect(t, "cross-site delete", 403)
	if status, _, _ := s.do(t, "GET", "/api/v1/packages/alice/generic/tool/2.0.0", "", aliceH); status != 200 {
		t.Fatalf("a refused delete removed the package: %d", status)
	}
	p = b.post(settings, url.Values{"action": {"delete"}, "confirm_name": {"tool"}})
	if p.Path != "/alice/-/packages" || !strings.Contains(p.Body, "The package tool and all its versions have been deleted.") {
		t.Fatalf("deleting the package ended at %s with %d:\n%s", p.Path, p.Status, p.Body)
	}
	status, _, body = s.do(t, "GET", "/api/v1/packages/alice/generic/tool", "", aliceH)
	if status != 404 {
		t.Fatalf("the deleted package: %d %s", status, body)
	}

	// A scoped npm name: one path segment, its slash escaped.
	status, _, body = s.do(t, "PUT", "/api/packages/alice/npm/@scope%2fpkg", npmPublishBody("@scope/pkg", "1.0.0", nil, npmTarball(pkgJSON("@scope/pkg", "1.0.0"))), aliceH)
	if status != 201 {
		t.Fatalf("npm publish: %d %s", status, body)
	}
	const npmSettings = "/alice/-/packages/npm/@scope%2Fpkg/settings"
	b.get(npmSettings).expect(t, "npm settings", 200, "Settings of @scope/pkg", `action="`+s.URL+npmSettings+`"`)
	b.get(npmSettings+"/delete_version?version=1.0.0").expect(t, "npm version confirmation", 200, "Delete @scope/pkg 1.0.0")
	p = b.post(npmSettings+"/delete_version", url.Values{"version": {"1.0.0"}, "confirm": {"yes"}})
	if p.Path != "/alice/-/packages" || !strings.Contains(html.UnescapeString(p.Body), "the package @scope/pkg has been deleted") {
		t.Fatalf("deleting the last npm version ended at %s with %d:\n%s", p.Path, p.Status, p.Body)
	}
	if status, _, _ := s.do(t, "GET", "/api/packages/alice/npm/@scope%2fpkg", "", aliceH); status != 404 {
		t.Fatalf("the npm package after its last version went: %d", status)
	}

	// An organisation: a reader gets 403, a writer the page.
	if status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"acme","visibility":"private"}`, aliceH); status != 201 {
		t.Fatalf("create org: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/v1/orgs/acme/members/bob", `{"role":"read"}`, aliceH); status != 204 {
		t.Fatalf("add bob: %d %s", status, body)
	}
	s.putGenericFile(t, "acme", "kit", "1.0.0", aliceH)
	bob.get("/acme/-/packages/generic/kit/settings").expect(t, "reader on org package", 403)
	bob.post("/acme/-/packages/generic/kit/settings", url.Values{"action": {"delete"}, "confirm_name": {"kit"}}).expect(t, "reader deletes", 403)
	bob.get("/org/acme/settings/packages").expect(t, "reader on org settings", 403)
	b.get("/acme/-/packages/generic/kit/settings").expect(t, "org owner", 200, "Settings of kit")
	b.get("/org/acme/settings/packages").expect(t, "org owner's package settings", 200, "Package settings of acme", "Organisation", "No cleanup rules.")
	b.get("/org/alice/settings/packages").expect(t, "a user as an organisation", 404)
	// A writer of the organisation who is not an owner: the page, without
	// the owners' sections (the services decide).
	s.createUser(t, "dave")
	if status, _, body := s.do(t, "PUT", "/api/v1/orgs/acme/members/dave", `{"role":"write"}`, aliceH); status != 204 {
		t.Fatalf("add dave: %d %s", status, body)
	}
	dave := newFormBrowser(t, s)
	dave.signIn("dave", "dave-password")
	dave.get("/org/acme/settings/packages").expect(t, "org writer's package settings", 200, `only the owners of "acme" manage its cleanup rules`)
	dave.post("/org/acme/settings/packages/cargo/initialize", nil).expect(t, "org writer initialises the index", 403, "only an owner of acme")
	dave.get("/org/acme/settings/packages/rules/add").expect(t, "org writer's rule form", 403, "only the owners")
	dave.post("/org/acme/settings/packages/rules/add", url.Values{"type": {"generic"}}).expect(t, "org writer adds a rule", 403, "only the owners")
	if status, _, body := s.do(t, "GET", "/api/v1/packages/acme/-/rules", "", aliceH); status != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("the writer's rule: %d %s", status, body)
	}
	if status, _, _ := s.do(t, "GET", "/api/v1/packages/acme/generic/kit/1.0.0", "", aliceH); status != 200 {
		t.Fatalf("the reader's attempts removed the package: %d", status)
	}
	s.createUser(t, "carol")
	carol := newFormBrowser(t, s)
	carol.signIn("carol", "carol-password")
	carol.get("/acme/-/packages/generic/kit/settings").expect(t, "non-member on a private org", 404)
}

var (
	previewRowRE      = regexp.MustCompile(`<tr class="candidate"><td>([^<]*)</td><td>([^<]*)</td>`)
	rulePreviewLinkRE = regexp.MustCompile(`/user/settings/packages/rules/(\d+)/preview`)
)

func previewRows(body string) []string {
	var out []string
	for _, m := range previewRowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1])+"@"+html.UnescapeString(m[2]))
	}
	return out
}

// TestWebSettingsOwner: the user's package settings initialise and
// rebuild the cargo git index, add and remove a Composer source, and add
// a cleanup rule whose preview lists exactly what its run then removes;
// refused input stores nothing.
func TestWebSettingsOwner(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	aliceH := basic("alice", "alice-password")
	s.makeRepo(t, "", "lib", aliceH)
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
		s.putGenericFile(t, "alice", "tool", v, aliceH)
	}
	b := newFormBrowser(t, s)
	b.signIn("alice", "alice-password")
	const base = "/user/settings/packages"

	b.get(base).expect(t, "owner settings", 200, "Package settings of alice", "has no cargo git index", "No source repositories you may see.", "No cleanup rules.", "Storage used")

	// Cargo git index.
	b.post(base+"/cargo/initialize", nil).expect(t, "cargo init", 200, "alice/_cargo-index has been created", `index = "`+s.URL+"/alice/_cargo-index.git")
	status, _, body := s.do(t, "GET", "/api/v1/packages/alice/cargo/-/index", "", aliceH)
	if status != 200 || !strings.Contains(body, `"exists":true`) {
		t.Fatalf("the index after init: %d %s", status, body)
	}
	b.post(base+"/cargo/rebuild", nil).expect(t, "cargo rebuild", 200, "has been rebuilt")

	// Composer sources.
	b.post(base+"/composer/add", url.Values{"repository": {"alice/nope"}}).expect(t, "unknown source", 404, `repository "alice/nope" does not exist`, `value="alice/nope"`)
	b.post(base+"/composer/add", url.Values{"repository": {"lib"}}).expect(t, "source without owner", 400, "owner/name")
	b.post(base+"/composer/add", url.Values{"repository": {"alice/lib"}}).expect(t, "add source", 200, "Tags pushed to alice/lib", "Remove alice/lib…")
	sources := func() string {
		t.Helper()
		status, _, body := s.do(t, "GET", "/api/packages/alice/composer/-/sources", "", aliceH)
		if status != 200 {
			t.Fatalf("sources: %d %s", status, body)
		}
		return strings.TrimSpace(body)
	}
	if got := sources(); got != `[{"repository":"alice/lib"}]` {
		t.Fatalf("sources after adding: %s", got)
	}
	b.get(base+"/composer/remove?repository=alice%2Flib").expect(t, "remove source confirmation", 200, "Stop registering tags of alice/lib")
	b.post(base+"/composer/remove", url.Values{"repository": {"alice/lib"}}).expect(t, "unconfirmed remove", 400)
	b.post(base+"/composer/remove", url.Values{"repository": {"alice/lib"}, "confirm": {"yes"}}).expect(t, "remove source", 200, "no longer registers", "No source repositories you may see.")
	if got := sources(); got != `[]` {
		t.Fatalf("sources after removing: %s", got)
	}

	// Cleanup rules: refused input first, nothing stored.
	rules := func() string {
		t.Helper()
		status, _, body := s.do(t, "GET", "/api/v1/packages/alice/-/rules", "", aliceH)
		if status != 200 {
			t.Fatalf("rules: %d %s", status, body)
		}
		return strings.TrimSpace(body)
	}
	for _, c := range []struct {
		form url.Values
		msg  string
	}{
		{url.Values{"type": {"generic"}, "keep_pattern": {"("}}, "keep_pattern: invalid pattern"},
		{url.Values{"type": {"generic"}, "keep_count": {"-1"}}, "keep_count: must not be negative"},
		{url.Values{"type": {"generic"}, "remove_days": {"soon"}}, "remove_days: must be a whole number"},
		{url.Values{"type": {"nonsense"}}, "unknown package type"},
	} {
		b.post(base+"/rules/add", c.form).expect(t, "bad rule "+c.form.Encode(), 422, c.msg, "Add a cleanup rule")
	}
	// Bytes no text column holds: refused as the client's mistake, never a 500.
	b.post(base+"/rules/add", url.Values{"type": {"generic"}, "keep_pattern": {"a\x00"}}).expect(t, "NUL in a pattern", 400, "without NUL bytes")
	b.post(base+"/rules/add", url.Values{"type": {"generic"}, "remove_pattern": {"\xff"}}).expect(t, "invalid UTF-8 in a pattern", 400, "UTF-8")
	b.post(base+"/composer/add", url.Values{"repository": {"alice/\x00"}}).expect(t, "NUL in a source", 400)
	b.post(base+"/composer/add", url.Values{"repository": {"alice/li\x1bb"}}).expect(t, "control character in a source", 404)
	if got := rules(); got != "[]" {
		t.Fatalf("refused rules were stored: %s", got)
	}
	b.get(base+"/rules/add").expect(t, "rule form", 200, "Add a cleanup rule")
	p := b.post(base+"/rules/add", url.Values{"type": {"generic"}, "keep_count": {"2"}, "remove_days": {"0"}})
	p.expect(t, "add rule", 200, "has been added", "Preview generic rule")
	m := rulePreviewLinkRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no preview link:\n%s", p.Body)
	}
	rule := base + "/rules/" + m[1]
	b.post(base+"/rules/add", url.Values{"type": {"generic"}}).expect(t, "second generic rule", 409, "Add a cleanup rule")
	if got := rules(); strings.Count(got, `"id"`) != 1 {
		t.Fatalf("a refused second rule was stored: %s", got)
	}

	// Edit: a refused edit keeps the rule as it was.
	b.get(rule).expect(t, "edit form", 200, "Edit the cleanup rule for generic packages", `value="2"`)
	b.post(rule, url.Values{"type": {"generic"}, "keep_count": {"1"}, "remove_pattern": {"[z-a]"}}).expect(t, "bad edit", 422, "remove_pattern: invalid pattern")
	if got := rules(); !strings.Contains(got, `"keep_count":2`) || !strings.Contains(got, `"remove_pattern":""`) {
		t.Fatalf("a refused edit changed the rule: %s", got)
	}
	b.post(rule, url.Values{"type": {"generic"}, "keep_count": {"2"}, "remove_pattern": {"1\\.[0-2]\\.0"}}).expect(t, "edit", 200, "has been saved")

	// Preview, then run: exactly the preview's list goes.
	preview := b.get(rule + "/preview")
	preview.expect(t, "preview", 200, "would remove <strong>3 version(s)</strong>", "Run now: remove these 3 version(s)")
	want := previewRows(preview.Body)
	slices.Sort(want)
	if strings.Join(want, ",") != "tool@1.0.0,tool@1.1.0,tool@1.2.0" {
		t.Fatalf("the preview lists %v", want)
	}
	b.post(rule+"/run", nil).expect(t, "unconfirmed run", 400)
	action, form := runForm(t, preview)
	ran := b.post(action, form)
	ran.expect(t, "run", 200, "Cleanup run", "Removed <strong>3 version(s)</strong>")
	if cc := ran.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("the run's page has Cache-Control %q", cc)
	}
	got := previewRows(ran.Body)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("the run removed %v, the preview listed %v", got, want)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
		status, _, _ := s.do(t, "GET", "/api/v1/packages/alice/generic/tool/"+v, "", aliceH)
		gone := slices.Contains(want, "tool@"+v)
		if (gone && status != 404) || (!gone && status != 200) {
			t.Fatalf("version %s after the run: %d (removed by the run: %v)", v, status, gone)
		}
	}
	b.get(rule+"/preview").expect(t, "preview after the run", 200, "would remove <strong>0 version(s)</strong>", "Nothing.")

	// Delete the rule through its confirmation.
	b.get(rule+"/delete").expect(t, "delete rule confirmation", 200, "Delete the cleanup rule for generic packages of alice?")
	b.post(rule+"/delete", url.Values{"confirm": {"yes"}}).expect(t, "delete rule", 200, "has been deleted", "No cleanup rules.")
	if got := rules(); got != "[]" {
		t.Fatalf("rules after deleting: %s", got)
	}
	b.get(rule).expect(t, "deleted rule", 404)
}
