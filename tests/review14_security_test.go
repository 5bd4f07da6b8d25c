package tests

import (
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/git"
)

// review14Fixture: alice owns the organisation aorg, where bob may write;
// carol owns corg. alice has a private repository alice/secret; aorg has
// a public repository aorg/pub and a private one aorg/priv. Each
// organisation has a generic package and a cleanup rule.
type review14Fixture struct {
	s                *server
	aliceH, bobH     map[string]string
	carolH           map[string]string
	ruleA, ruleC     int64
	alice, bob, root *webClient
	carol            *webClient
}

func newReview14Fixture(t *testing.T) *review14Fixture {
	t.Helper()
	s := newServer(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		s.createUser(t, u)
	}
	f := &review14Fixture{s: s, aliceH: basic("alice", "alice-password"), bobH: basic("bob", "bob-password"), carolH: basic("carol", "carol-password")}
	must := func(status, want int, what, body string) {
		t.Helper()
		if status != want {
			t.Fatalf("%s: %d %s", what, status, body)
		}
	}
	status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"aorg","visibility":"public"}`, f.aliceH)
	must(status, 201, "create aorg", body)
	status, _, body = s.do(t, "PUT", "/api/v1/orgs/aorg/members/bob", `{"role":"write"}`, f.aliceH)
	must(status, 204, "bob joins aorg", body)
	status, _, body = s.do(t, "POST", "/api/v1/orgs", `{"username":"corg","visibility":"public"}`, f.carolH)
	must(status, 201, "create corg", body)

	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "secret", Private: true, AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		name    string
		private bool
	}{{"pub", false}, {"priv", true}} {
		if _, _, err := alice.CreateOrgRepo("aorg", gitea.CreateRepoOption{Name: r.name, Private: r.private, AutoInit: true}); err != nil {
			t.Fatal(err)
		}
	}
	carol := s.client(t, gitea.SetBasicAuth("carol", "carol-password"))
	if _, _, err := carol.CreateOrgRepo("corg", gitea.CreateRepoOption{Name: "cpub", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	s.putGenericFile(t, "aorg", "agen", "1.0", f.aliceH)
	s.putGenericFile(t, "corg", "cgen", "1.0", f.carolH)

	f.alice, f.bob, f.carol, f.root = newWebClient(t, s.URL), newWebClient(t, s.URL), newWebClient(t, s.URL), newWebClient(t, s.URL)
	f.alice.signIn("alice", "alice-password")
	f.bob.signIn("bob", "bob-password")
	f.carol.signIn("carol", "carol-password")
	f.root.signIn(s.AdminName, s.AdminPass)

	rule := url.Values{"type": {"generic"}, "enabled": {"on"}, "keep_count": {"5"}}
	for _, c := range []struct {
		w   *webClient
		org string
		id  *int64
	}{{f.alice, "aorg", &f.ruleA}, {f.carol, "corg", &f.ruleC}} {
		r := c.w.post("/org/"+c.org+"/settings/packages/rules/add", rule)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("add rule of %s: %d %s", c.org, r.Status, pageText(r.Body))
		}
		*c.id = f.ruleID(t, c.org)
	}
	return f
}

func (f *review14Fixture) ruleID(t *testing.T, org string) int64 {
	t.Helper()
	admin, err := f.s.App.Users.GetByName(context.Background(), f.s.AdminName)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := f.s.App.Cleanup.Rules(context.Background(), admin, org)
	if err != nil || len(rules) != 1 {
		t.Fatalf("rules of %s: %v %d", org, err, len(rules))
	}
	return rules[0].ID
}

// packageExists says whether the owner's generic package is stored.
func (f *review14Fixture) packageExists(t *testing.T, owner, name string) bool {
	t.Helper()
	o, err := f.s.App.Users.GetByName(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	_, err = packages_model.GetPackageByName(context.Background(), f.s.App.DB.Engine(), o.ID, packages_model.TypeGeneric, name)
	return err == nil
}

// TestReview14RedirectStaysLocal: redirect_to never leads off the site,
// even with the characters a browser strips from a URL (tab) or treats as
// a slash (backslash), and never splits the header.
func TestReview14RedirectStaysLocal(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	bad := []string{"//evil.example/", "/\\evil.example/", "https://evil.example/", "/\r\nSet-Cookie: x=y",
		"\t//evil.example/", "/%2F/evil.example/", "javascript:alert(1)", "/ /evil.example/"}
	check := func(what, loc string) {
		t.Helper()
		// What a browser does with the Location: strip tab and newlines,
		// treat a backslash as a slash.
		cleaned := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc)
		if !strings.HasPrefix(cleaned, "/") || strings.HasPrefix(cleaned, "//") {
			t.Errorf("%s: Location %q leaves the site", what, loc)
		}
	}
	for _, to := range bad {
		w := newWebClient(t, s.URL)
		r := w.post("/user/login", url.Values{"user_name": {"alice"}, "password": {"alice-password"}, "redirect_to": {to}})
		if r.Status >= 500 {
			t.Fatalf("sign in with redirect_to %q: %d", to, r.Status)
		}
		if r.Status == http.StatusSeeOther {
			check(fmt.Sprintf("sign-in redirect_to %q", to), r.Location)
		}
		if strings.Contains(r.Header.Get("Set-Cookie"), "x=y") {
			t.Errorf("redirect_to %q injected a header", to)
		}
		r = w.get("/user/login?redirect_to=" + url.QueryEscape(to))
		if r.Status >= 500 {
			t.Fatalf("signed-in login page with redirect_to %q: %d", to, r.Status)
		}
		if r.Status == http.StatusSeeOther {
			check(fmt.Sprintf("signed-in login page redirect_to %q", to), r.Location)
		}
	}
}

// TestReview14CrossOwnerPaths: a writer of one organisation cannot reach
// another's rules or packages by crafting the path or the form: the rule
// of aorg asked through corg's URL (by carol, owner of corg) is not found,
// a link names only the package owner's repositories, and a Composer
// source needs a repository the caller may read.
func TestReview14CrossOwnerPaths(t *testing.T) {
	f := newReview14Fixture(t)
	idA := fmt.Sprint(f.ruleA)
	for _, p := range []struct{ method, path string }{
		{"GET", "/org/corg/settings/packages/rules/" + idA},
		{"GET", "/org/corg/settings/packages/rules/" + idA + "/preview"},
		{"GET", "/org/corg/settings/packages/rules/" + idA + "/delete"},
		{"POST", "/org/corg/settings/packages/rules/" + idA},
		{"POST", "/org/corg/settings/packages/rules/" + idA + "/delete"},
		{"POST", "/org/corg/settings/packages/rules/" + idA + "/run"},
		{"GET", "/user/settings/packages/rules/" + idA},
		{"POST", "/user/settings/packages/rules/" + idA + "/delete"},
	} {
		var r webResponse
		if p.method == "GET" {
			r = f.carol.get(p.path)
		} else {
			r = f.carol.post(p.path, url.Values{"confirm": {"yes"}, "type": {"generic"}, "keep_count": {"0"}, "enabled": {"on"}})
		}
		if r.Status != http.StatusNotFound {
			t.Errorf("carol %s %s (aorg's rule): %d, want 404: %s", p.method, p.path, r.Status, pageText(r.Body))
		}
	}
	if f.ruleID(t, "aorg") != f.ruleA {
		t.Fatal("aorg's rule changed through corg's URL")
	}
	// carol is not a member of aorg: aorg's forms are refused.
	for _, p := range []string{"/org/aorg/settings/packages/rules/add", "/org/aorg/settings/packages/cargo/initialize",
		"/org/aorg/settings/packages/composer/add", "/aorg/-/packages/generic/agen/settings"} {
		r := f.carol.post(p, url.Values{"type": {"generic"}, "repository": {"corg/cpub"}, "action": {"delete"}, "confirm_name": {"agen"}, "confirm": {"yes"}})
		if r.Status != http.StatusForbidden {
			t.Errorf("carol POST %s: %d, want 403: %s", p, r.Status, pageText(r.Body))
		}
	}
	if !f.packageExists(t, "aorg", "agen") {
		t.Fatal("carol deleted aorg's package")
	}

	// bob writes aorg, not corg: no spelling of a path reaches corg's
	// package or settings.
	for _, p := range []string{"/aorg%2F..%2Fcorg/-/packages/generic/cgen/settings", "/CORG/-/packages/generic/cgen/settings",
		"/aorg/-/packages/generic/..%2F..%2F..%2Fcorg%2F-%2Fpackages%2Fgeneric%2Fcgen/settings", "/corg/-/packages/GENERIC/cgen/settings",
		"/org/aorg%2F..%2Fcorg/settings/packages/rules/add", "/org/CORG/settings/packages/rules/add"} {
		r := f.bob.post(p, url.Values{"action": {"delete"}, "confirm_name": {"cgen"}, "type": {"npm"}, "enabled": {"on"}})
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("bob POST %s: %d %s", p, r.Status, pageText(r.Body))
		}
	}
	if !f.packageExists(t, "corg", "cgen") || f.ruleID(t, "corg") != f.ruleC {
		t.Fatal("bob changed corg through a crafted path")
	}
	// bob writes aorg: linking aorg's package to another owner's
	// repository, or to alice's private one, by any spelling, is refused.
	for _, repo := range []string{"corg/cpub", "../corg/cpub", "alice/secret", "../alice/secret", "secret", "cpub", "%2e%2e/corg/cpub", "pub/../../corg/cpub"} {
		r := f.bob.post("/aorg/-/packages/generic/agen/settings", url.Values{"action": {"link"}, "repo_name": {repo}})
		if r.Status != http.StatusNotFound && r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
			t.Errorf("bob links agen to %q: %d %s", repo, r.Status, pageText(r.Body))
		}
	}
	// A Composer source of a repository bob may not read is not found.
	r := f.bob.post("/org/aorg/settings/packages/composer/add", url.Values{"repository": {"alice/secret"}})
	if r.Status != http.StatusNotFound {
		t.Errorf("bob adds alice/secret as a source: %d %s", r.Status, pageText(r.Body))
	}
	if strings.Contains(pageText(r.Body), "The package is now linked") {
		t.Error("a refused link was reported as done")
	}
}

// TestReview14Sessions: a session id planted before sign-in is useless
// after it; a session ends when its user is barred, deleted, or has the
// password changed by an administrator.
func TestReview14Sessions(t *testing.T) {
	f := newReview14Fixture(t)
	s := f.s

	// Fixation: a planted cookie is not the session after sign-in.
	w := newWebClient(t, s.URL)
	u, _ := url.Parse(s.URL)
	w.c.Jar.SetCookies(u, []*http.Cookie{{Name: "wharf_session", Value: "planted-by-attacker-0123456789abcdef0123", Path: "/"}})
	w.signIn("carol", "carol-password")
	if got := w.cookie("wharf_session"); got == "" || got == "planted-by-attacker-0123456789abcdef0123" {
		t.Fatalf("the planted session id %q survived sign-in", got)
	}
	// The cookie held before sign-in (a real one, from a visit) does not
	// carry the sign-in either.
	w2 := newWebClient(t, s.URL)
	w2.post("/user/login", url.Values{"user_name": {"carol"}, "password": {"wrong"}})
	before := w2.cookie("wharf_session")
	w2.signIn("carol", "carol-password")
	if before != "" {
		if before == w2.cookie("wharf_session") {
			t.Fatal("sign-in kept the session id of before")
		}
		anon := newWebClient(t, s.URL)
		anon.c.Jar.SetCookies(u, []*http.Cookie{{Name: "wharf_session", Value: before, Path: "/"}})
		if r := anon.get("/user/settings/packages"); r.Status == http.StatusOK {
			t.Fatal("the pre-sign-in session id is signed in")
		}
	}

	signedIn := func(w *webClient) bool {
		r := w.get("/user/settings/packages")
		return r.Status == http.StatusOK
	}
	if !signedIn(f.bob) || !signedIn(f.alice) || !signedIn(f.carol) {
		t.Fatal("fixture sessions are not signed in")
	}
	ctx := context.Background()
	admin := tokenHeader(s.AdminToken)
	// bob is barred from signing in.
	if _, err := s.App.DB.Xorm().Exec(`UPDATE "user" SET prohibit_login = ? WHERE lower_name = ?`, true, "bob"); err != nil {
		t.Fatal(err)
	}
	if signedIn(f.bob) {
		t.Error("a barred user's session still works")
	}
	// alice's password is changed by an administrator.
	if err := s.App.Users.ChangePassword(ctx, "alice", "another-password-1", false); err != nil {
		t.Fatal(err)
	}
	if signedIn(f.alice) {
		t.Error("a session survived an administrator's password change")
	}
	// dave, signed in, is deleted.
	s.createUser(t, "dave")
	dave := newWebClient(t, s.URL)
	dave.signIn("dave", "dave-password")
	if !signedIn(dave) {
		t.Fatal("dave is not signed in")
	}
	old := dave.cookie("wharf_session")
	if st, _, body := s.do(t, "DELETE", "/api/v1/admin/users/dave", "", admin); st != http.StatusNoContent {
		t.Fatalf("delete dave: %d %s", st, body)
	}
	replay := newWebClient(t, s.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "wharf_session", Value: old, Path: "/"}})
	if r := replay.get("/user/settings/packages"); r.Status == http.StatusOK {
		t.Error("a deleted user's session still works")
	}
	// A user made after the deletion may get dave's id (SQLite reuses the
	// highest rowid): dave's old session must not become theirs.
	s.createUser(t, "eve")
	replay = newWebClient(t, s.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "wharf_session", Value: old, Path: "/"}})
	if r := replay.get("/user/settings/packages"); r.Status == http.StatusOK {
		t.Errorf("a deleted user's session signs in as the next user: %s", pageText(r.Body))
	}
}

// TestReview14CrossSite: every form is refused when posted from another
// site (Sec-Fetch-Site, or an Origin of another site), and nothing
// changes.
func TestReview14CrossSite(t *testing.T) {
	f := newReview14Fixture(t)
	idA := fmt.Sprint(f.ruleA)
	posts := []struct {
		path string
		form url.Values
	}{
		{"/user/login", url.Values{"user_name": {"alice"}, "password": {"alice-password"}}},
		{"/user/logout", url.Values{}},
		{"/user/settings/change_password", url.Values{"old_password": {"alice-password"}, "password": {"hijacked-pass-1"}, "retype": {"hijacked-pass-1"}}},
		{"/user/settings/applications", url.Values{"name": {"evil"}, "scope": {"all"}}},
		{"/user/settings/applications/delete", url.Values{"name": {"x"}, "confirm": {"yes"}}},
		{"/aorg/-/packages/generic/agen/settings", url.Values{"action": {"delete"}, "confirm_name": {"agen"}}},
		{"/aorg/-/packages/generic/agen/settings/delete_version", url.Values{"version": {"1.0"}, "confirm": {"yes"}}},
		{"/org/aorg/settings/packages/cargo/initialize", url.Values{"confirm": {"yes"}}},
		{"/org/aorg/settings/packages/cargo/rebuild", url.Values{"confirm": {"yes"}}},
		{"/org/aorg/settings/packages/composer/add", url.Values{"repository": {"aorg/pub"}}},
		{"/org/aorg/settings/packages/composer/remove", url.Values{"repository": {"aorg/pub"}, "confirm": {"yes"}}},
		{"/org/aorg/settings/packages/rules/add", url.Values{"type": {"npm"}, "enabled": {"on"}}},
		{"/org/aorg/settings/packages/rules/" + idA, url.Values{"type": {"generic"}, "keep_count": {"0"}}},
		{"/org/aorg/settings/packages/rules/" + idA + "/delete", url.Values{"confirm": {"yes"}}},
		{"/org/aorg/settings/packages/rules/" + idA + "/run", url.Values{"confirm": {"yes"}}},
		{"/user/settings/packages/rules/add", url.Values{"type": {"npm"}, "enabled": {"on"}}},
		{"/-/admin/cleanup", url.Values{"task": {"uploads"}, "confirm": {"yes"}}},
	}
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "same-site", "Origin": "http://sub.127.0.0.1"},
		{"Sec-Fetch-Site": "", "Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "", "Origin": "null"},
	} {
		for _, p := range posts {
			for _, w := range []*webClient{f.alice, f.root} {
				r := w.send(http.MethodPost, p.path, p.form, hdr)
				if r.Status != http.StatusForbidden {
					t.Errorf("%v POST %s: %d, want 403: %s", hdr, p.path, r.Status, pageText(r.Body))
				}
			}
		}
	}
	if !f.packageExists(t, "aorg", "agen") || f.ruleID(t, "aorg") != f.ruleA {
		t.Fatal("a cross-site post changed something")
	}
	if r := f.alice.get("/user/settings/packages"); r.Status != http.StatusOK {
		t.Fatalf("alice was signed out or her password changed by a cross-site post: %d", r.Status)
	}
	if _, _, err := f.s.client(t, gitea.SetBasicAuth("alice", "alice-password")).GetMyUserInfo(); err != nil {
		t.Fatalf("alice's password changed by a cross-site post: %v", err)
	}
	// GET never changes anything: the confirmation pages only ask.
	for _, p := range []string{"/aorg/-/packages/generic/agen/settings/delete_version?version=1.0&confirm=yes",
		"/org/aorg/settings/packages/rules/" + idA + "/delete?confirm=yes", "/user/logout",
		"/org/aorg/settings/packages/composer/remove?repository=aorg/pub&confirm=yes"} {
		if r := f.alice.get(p); r.Status >= 500 {
			t.Fatalf("GET %s: %d", p, r.Status)
		}
	}
	if !f.packageExists(t, "aorg", "agen") || f.ruleID(t, "aorg") != f.ruleA {
		t.Fatal("a GET changed something")
	}
	if r := f.alice.get("/user/settings/packages"); r.Status != http.StatusOK {
		t.Fatalf("GET /user/logout signed alice out: %d", r.Status)
	}
}

// review14BadInputs are the ways a hostile or broken client garbles a URL
// part: invalid UTF-8, an encoded slash, huge and negative numbers. (NUL
// in a URL is reported separately: the web error page cannot render it.)
var review14BadInputs = []string{"%ff", "9223372036854775807", "922337203685477581", "184467440737095517", "2147483648", "0", "%c3%28", "%2F", "..%2F..", "99999999999999999999", "-1", "%22%3E%3Cscript%3E"}

// TestReview14BadInput: no page answers 5xx to a garbled path, query or
// form field, on SQLite and PostgreSQL, for anonymous and signed-in
// visitors, and a refused form stores nothing.
func TestReview14BadInput(t *testing.T) {
	f := newReview14Fixture(t)
	idA := fmt.Sprint(f.ruleA)
	var failures []string
	check := func(who, method, path string, r webResponse) {
		if r.Status >= 500 || strings.Contains(strings.ToLower(r.Body), "goroutine") || strings.Contains(r.Body, "pq:") {
			failures = append(failures, fmt.Sprintf("%s %s %s: %d %.200s", who, method, path, r.Status, pageText(r.Body)))
		}
	}
	pathTemplates := []string{
		"/%s", "/aorg/%s", "/aorg/-/packages/%s", "/aorg/-/packages/generic/%s", "/aorg/-/packages/generic/agen/%s",
		"/aorg/-/packages/generic/%s/settings", "/aorg/-/packages/npm/@a%%2F%s", "/aorg/%s/packages",
		"/org/%s/settings/packages/", "/org/aorg/settings/packages/rules/%s", "/org/aorg/settings/packages/rules/%s/preview",
		"/explore/%s", "/-/admin/%s", "/user/settings/applications/%s",
	}
	queryTemplates := []string{
		"/?page=%s", "/explore/repos?q=%s&page=%s", "/explore/organizations?page=%s&limit=%s", "/aorg?page=%s",
		"/aorg/-/packages?type=%s&q=%s&page=%s&limit=%s", "/aorg/-/packages/generic/agen?page=%s&limit=%s",
		"/aorg/pub?ref=%s", "/aorg/pub/packages?page=%s", "/aorg/-/packages/generic/agen/settings/delete_version?version=%s",
		"/org/aorg/settings/packages/composer/remove?repository=%s", "/user/settings/applications?page=%s",
		"/user/settings/applications/delete?name=%s", "/-/admin/packages?type=%s&q=%s&owner=%s&page=%s",
		"/-/admin/users?page=%s&limit=%s", "/-/admin/cleanup?page=%s", "/user/login?redirect_to=%s",
		"/user/settings/change_password?redirect_to=%s",
	}
	forms := []string{
		"/user/login", "/user/settings/change_password", "/user/settings/applications", "/user/settings/applications/delete",
		"/aorg/-/packages/generic/agen/settings", "/aorg/-/packages/generic/agen/settings/delete_version",
		"/org/aorg/settings/packages/composer/add", "/org/aorg/settings/packages/composer/remove",
		"/org/aorg/settings/packages/rules/add", "/org/aorg/settings/packages/rules/" + idA,
		"/-/admin/cleanup",
	}
	anon := newWebClient(t, f.s.URL)
	for _, c := range []struct {
		who string
		w   *webClient
	}{{"anonymous", anon}, {"alice", f.alice}, {"root", f.root}} {
		for _, in := range review14BadInputs {
			for _, pt := range pathTemplates {
				p := fmt.Sprintf(pt, in)
				check(c.who, "GET", p, c.w.get(p))
				check(c.who, "POST", p, c.w.post(p, url.Values{"confirm": {"yes"}}))
			}
			for _, qt := range queryTemplates {
				n := strings.Count(qt, "%s")
				args := make([]any, n)
				for i := range args {
					args[i] = in
				}
				p := fmt.Sprintf(qt, args...)
				check(c.who, "GET", p, c.w.get(p))
			}
		}
		for _, p := range forms {
			for _, v := range []string{"a\x00b", "\xff\xfe", strings.Repeat("x", 70000), "-1", "99999999999999999999", "../../corg/cpub", "%2F"} {
				form := url.Values{}
				for _, k := range []string{"user_name", "password", "old_password", "retype", "redirect_to", "name", "scope", "action",
					"repo_name", "version", "confirm_name", "repository", "type", "keep_count", "keep_pattern", "remove_days",
					"remove_pattern", "task", "page"} {
					form.Set(k, v)
				}
				form.Set("confirm", "yes")
				check(c.who, "POST", p+" form="+fmt.Sprintf("%.20q", v), c.w.post(p, form))
			}
		}
	}
	if !f.packageExists(t, "aorg", "agen") || f.ruleID(t, "aorg") != f.ruleA {
		t.Fatal("a garbled request changed something")
	}
	if len(failures) > 0 {
		t.Errorf("%d requests failed as server errors:\n%s", len(failures), strings.Join(failures, "\n"))
	}
}

// TestReview14TokenPage: a token made on the page is shown once, in a
// response no cache keeps, and is stored nowhere in clear (neither the
// session rows nor the token table); the next visit does not show it; the
// token itself may neither list, make nor revoke tokens on the page.
func TestReview14TokenPage(t *testing.T) {
	f := newReview14Fixture(t)
	r := f.alice.post("/user/settings/applications", url.Values{"name": {"ci"}, "scope": {"read:package"}})
	m := newTokenFieldRE.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("create a token: %d %s", r.Status, pageText(r.Body))
	}
	tok := m[1]
	if strings.Count(r.Body, tok) != 1 {
		t.Errorf("the new token appears %d times on its page", strings.Count(r.Body, tok))
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("the page with the new token may be cached: Cache-Control %q", cc)
	}
	if again := f.alice.get("/user/settings/applications"); strings.Contains(again.Body, tok) || strings.Contains(again.Body, tok[:20]) {
		t.Error("the token is shown again on the next visit")
	}
	for _, table := range []string{"session", "access_token"} {
		rows, err := f.s.App.DB.Xorm().QueryString("SELECT * FROM " + table)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for _, row := range rows {
			for col, v := range row {
				if strings.Contains(v, tok) {
					t.Errorf("%s.%s holds the token in clear", table, col)
				}
			}
		}
	}
	// The token (read:package) and an all-scope token of alice's may not
	// manage tokens through the page.
	all := packageToken(t, f.s, "alice", "all", "all")
	for _, tk := range []string{tok, all} {
		h := tokenHeader(tk)
		if st, _, body := f.s.do(t, "GET", "/user/settings/applications", "", h); st != http.StatusForbidden {
			t.Errorf("a token lists tokens: %d %s", st, snippet(body))
		}
		if st, _, body := f.s.do(t, "POST", "/user/settings/applications", "name=minted&scope=all",
			map[string]string{"Authorization": h["Authorization"], "Content-Type": "application/x-www-form-urlencoded"}); st != http.StatusForbidden {
			t.Errorf("a token mints a token: %d %s", st, snippet(body))
		}
		if st, _, body := f.s.do(t, "POST", "/user/settings/applications/delete", "name=ci&confirm=yes",
			map[string]string{"Authorization": h["Authorization"], "Content-Type": "application/x-www-form-urlencoded"}); st != http.StatusForbidden {
			t.Errorf("a token revokes a token: %d %s", st, snippet(body))
		}
	}
	if r := f.alice.get("/user/settings/applications"); strings.Contains(r.Body, "minted") || !strings.Contains(r.Body, ">ci<") {
		t.Errorf("tokens after the refused requests: %s", pageText(r.Body))
	}
	// A name with markup comes back escaped.
	r = f.alice.post("/user/settings/applications", url.Values{"name": {`<script>alert("x")</script>`}, "scope": {"read:package"}})
	if strings.Contains(r.Body, `<script>alert`) {
		t.Errorf("a token name is not escaped: %d", r.Status)
	}
}

// TestReview14MarkupEscaped: what publishers and users type (an npm
// package's description, licence, homepage, deprecation, dependencies; a
// Composer source or repository name in a refused form; a flash message)
// is shown as text; a javascript: homepage is no link.
func TestReview14MarkupEscaped(t *testing.T) {
	f := newReview14Fixture(t)
	evil := `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`
	tgz := npmTarball(pkgJSON("xss", "1.0.0"))
	s1, s5 := sha1.Sum(tgz), sha512.Sum512(tgz)
	manifest := map[string]any{"name": "xss", "version": "1.0.0", "description": evil, "license": evil,
		"homepage": "javascript:alert(3)", "deprecated": evil, "readme": evil,
		"repository":   map[string]string{"type": "git", "url": "javascript:alert(4)"},
		"dependencies": map[string]string{"dep" + evil: evil},
		"dist":         map[string]string{"shasum": hex.EncodeToString(s1[:]), "integrity": "sha512-" + base64.StdEncoding.EncodeToString(s5[:])}}
	doc := map[string]any{"_id": "xss", "name": "xss", "description": evil, "dist-tags": map[string]string{"latest": "1.0.0"},
		"versions": map[string]any{"1.0.0": manifest},
		"_attachments": map[string]any{"xss-1.0.0.tgz": map[string]any{"content_type": "application/octet-stream",
			"data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}}}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, body := f.s.do(t, "PUT", "/api/packages/aorg/npm/xss", string(b), f.aliceH); st != http.StatusCreated {
		t.Fatalf("publish: %d %s", st, body)
	}
	bad := func(what, body string) {
		t.Helper()
		low := strings.ToLower(body)
		for _, s := range []string{"<script>alert", "<img src=x", "javascript:alert", "onerror=alert(2)>"} {
			if strings.Contains(low, s) {
				t.Errorf("%s holds %q unescaped", what, s)
			}
		}
	}
	for _, p := range []string{"/aorg/-/packages/npm/xss", "/aorg/-/packages/npm/xss/1.0.0", "/aorg/-/packages", "/",
		"/aorg/-/packages/npm/xss/settings", "/-/admin/packages"} {
		r := f.root.get(p)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, r.Status, pageText(r.Body))
		}
		bad(p, r.Body)
		if p == "/aorg/-/packages/npm/xss/1.0.0" && !strings.Contains(r.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("the description is not shown as text: %s", pageText(r.Body))
		}
	}
	// Forms echo what was typed, escaped.
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/org/aorg/settings/packages/composer/add", url.Values{"repository": {"aorg/" + evil}}},
		{"/aorg/-/packages/npm/xss/settings", url.Values{"action": {"link"}, "repo_name": {evil}}},
		{"/aorg/-/packages/npm/xss/settings", url.Values{"action": {evil}}},
		{"/aorg/-/packages/npm/xss/settings", url.Values{"action": {"delete"}, "confirm_name": {evil}}},
		{"/org/aorg/settings/packages/rules/add", url.Values{"type": {evil}, "keep_pattern": {evil}}},
		{"/user/login", url.Values{"user_name": {evil}, "password": {"x"}, "redirect_to": {"/" + evil}}},
	} {
		r := f.alice.post(c.path, c.form)
		if r.Status >= 500 {
			t.Fatalf("POST %s: %d", c.path, r.Status)
		}
		bad("POST "+c.path, r.Body)
	}
	for _, p := range []string{"/org/aorg/settings/packages/composer/remove?repository=" + url.QueryEscape(evil),
		"/user/login?redirect_to=" + url.QueryEscape("/"+evil), "/user/settings/applications/delete?name=" + url.QueryEscape(evil),
		"/aorg/-/packages/npm/xss/settings/delete_version?version=" + url.QueryEscape(evil),
		"/aorg/-/packages?q=" + url.QueryEscape(evil) + "&type=" + url.QueryEscape(evil)} {
		r := f.alice.get(p)
		if r.Status >= 500 {
			t.Fatalf("GET %s: %d", p, r.Status)
		}
		bad("GET "+p, r.Body)
	}
	// A flash carries a name typed by the user: alice's link of pub.
	if r := f.alice.post("/aorg/-/packages/npm/xss/settings", url.Values{"action": {"link"}, "repo_name": {"pub"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("link: %d %s", r.Status, pageText(r.Body))
	}
	bad("the page after the link", f.alice.get("/aorg/-/packages/npm/xss/settings").Body)
}

// TestReview14SignInEdges: an organisation cannot sign in (whatever the
// password); an inactive user's live session ends; signing out clears the
// cookie; signing in as another user in the same browser replaces the
// session.
func TestReview14SignInEdges(t *testing.T) {
	f := newReview14Fixture(t)
	w := newWebClient(t, f.s.URL)
	for _, pw := range []string{"", "aorg-password", "alice-password"} {
		r := w.post("/user/login", url.Values{"user_name": {"aorg"}, "password": {pw}})
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			t.Errorf("an organisation signs in with %q: %d %s", pw, r.Status, pageText(r.Body))
		}
	}
	if r := w.get("/user/settings/packages"); r.Status == http.StatusOK {
		t.Fatal("signed in as an organisation")
	}

	signedInAs := func(w *webClient) string {
		r := w.get("/user/settings/packages")
		if r.Status != http.StatusOK {
			return ""
		}
		for _, n := range []string{"alice", "bob", "carol"} {
			if strings.Contains(r.Body, "Package settings of "+n) || strings.Contains(r.Body, "<title>Package settings · "+n) {
				return n
			}
		}
		return "?"
	}
	if got := signedInAs(f.carol); got != "carol" {
		t.Fatalf("carol's browser is signed in as %q", got)
	}
	// carol's browser signs in as bob: bob's session, not carol's.
	before := f.carol.cookie("wharf_session")
	f.carol.signIn("bob", "bob-password")
	if f.carol.cookie("wharf_session") == before {
		t.Error("signing in as another user kept the session id")
	}
	if got := signedInAs(f.carol); got != "bob" {
		t.Errorf("after signing in as bob the browser is %q", got)
	}
	// An inactive account's session ends.
	if _, err := f.s.App.DB.Xorm().Exec(`UPDATE "user" SET is_active = ? WHERE lower_name = ?`, false, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := signedInAs(f.alice); got != "" {
		t.Errorf("an inactive user's session is signed in as %q", got)
	}
	// Signing out clears the cookie and the old id is dead.
	old := f.root.cookie("wharf_session")
	r := f.root.post("/user/logout", url.Values{})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Status)
	}
	if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, "wharf_session=;") && !strings.Contains(sc, "Max-Age=0") && !strings.Contains(sc, "Expires=Thu, 01 Jan 1970") {
		t.Errorf("sign-out does not clear the cookie: %q", sc)
	}
	replay := newWebClient(t, f.s.URL)
	u, _ := url.Parse(f.s.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "wharf_session", Value: old, Path: "/"}})
	if r := replay.get("/-/admin"); r.Status == http.StatusOK {
		t.Error("the admin's session id works after signing out")
	}
}

// TestReview14EmbeddedVisibility: a private organisation's package linked
// to another owner's public repository is not listed on that
// repository's Packages tab for who may not see the organisation, nor on
// the home page, explore or the owner's pages; its page is refused.
func TestReview14EmbeddedVisibility(t *testing.T) {
	f := newReview14Fixture(t)
	ctx := context.Background()
	if st, _, body := f.s.do(t, "POST", "/api/v1/orgs", `{"username":"porg","visibility":"private"}`, f.aliceH); st != http.StatusCreated {
		t.Fatalf("create porg: %d %s", st, body)
	}
	f.s.putGenericFile(t, "porg", "hushhush", "1.0", f.aliceH)
	porg, err := f.s.App.Users.GetByName(ctx, "porg")
	if err != nil {
		t.Fatal(err)
	}
	corg, err := f.s.App.Users.GetByName(ctx, "corg")
	if err != nil {
		t.Fatal(err)
	}
	e := f.s.App.DB.Engine()
	p, err := packages_model.GetPackageByName(ctx, e, porg.ID, packages_model.TypeGeneric, "hushhush")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := f.s.App.Repos.Get(ctx, nil, corg.Name, "cpub")
	if err != nil {
		t.Fatal(err)
	}
	if err := packages_model.SetRepositoryLink(ctx, e, p.ID, rc.Repo.ID); err != nil {
		t.Fatal(err)
	}
	anon := newWebClient(t, f.s.URL)
	for _, c := range []struct {
		who string
		w   *webClient
	}{{"carol", f.carol}, {"bob", f.bob}, {"anonymous", anon}} {
		for _, path := range []string{"/corg/cpub/packages", "/", "/explore/repos", "/explore/organizations", "/corg", "/corg/-/packages", "/corg/cpub"} {
			r := c.w.get(path)
			if r.Status != http.StatusOK {
				t.Fatalf("%s GET %s: %d", c.who, path, r.Status)
			}
			if strings.Contains(r.Body, "hushhush") || strings.Contains(r.Body, "porg") {
				t.Errorf("%s sees the private organisation's package on %s: %s", c.who, path, pageText(r.Body))
			}
		}
		for _, path := range []string{"/porg/-/packages/generic/hushhush", "/porg/-/packages/generic/hushhush/1.0", "/porg/-/packages"} {
			r := c.w.get(path)
			if r.Status == http.StatusSeeOther && c.who == "anonymous" && strings.HasPrefix(r.Location, "/user/login?") {
				continue // sent to sign in
			}
			if r.Status != http.StatusNotFound || strings.Contains(pageText(r.Body), "hushhush") {
				t.Errorf("%s GET %s: %d %s", c.who, path, r.Status, pageText(r.Body))
			}
		}
	}
	// alice, porg's owner, sees it on the repository's tab.
	if r := f.alice.get("/corg/cpub/packages"); !strings.Contains(r.Body, "hushhush") {
		t.Errorf("porg's owner does not see its package on the tab: %s", pageText(r.Body))
	}
}

// TestReview14OversizedAndOddForms: a form past the limit is 413 (or
// refused before it is read), a multipart or text/plain body is a client
// error, and nothing is stored.
func TestReview14OversizedAndOddForms(t *testing.T) {
	f := newReview14Fixture(t)
	big := url.Values{"name": {strings.Repeat("a", 2<<20)}, "scope": {"all"}, "repository": {"aorg/pub"}, "type": {"npm"},
		"user_name": {"alice"}, "password": {"alice-password"}, "confirm": {"yes"}}
	paths := []string{"/user/login", "/user/settings/applications", "/org/aorg/settings/packages/composer/add",
		"/org/aorg/settings/packages/rules/add", "/aorg/-/packages/generic/agen/settings", "/-/admin/cleanup",
		"/user/settings/change_password"}
	for _, p := range paths {
		for _, w := range []*webClient{f.root, f.alice} {
			r := w.post(p, big)
			if r.Status != http.StatusRequestEntityTooLarge && (r.Status < 400 || r.Status >= 500) {
				t.Errorf("2 MiB form to %s: %d %s", p, r.Status, pageText(r.Body))
			}
			for _, ct := range []string{"multipart/form-data; boundary=x", "text/plain", "application/json"} {
				r := w.send(http.MethodPost, p, url.Values{"name": {"odd"}, "scope": {"all"}, "repository": {"aorg/pub"}, "type": {"npm"}},
					map[string]string{"Content-Type": ct})
				if r.Status >= 500 {
					t.Errorf("%s body to %s: %d %s", ct, p, r.Status, pageText(r.Body))
				}
			}
		}
	}
	if r := f.alice.get("/user/settings/packages"); r.Status != http.StatusOK {
		t.Fatalf("alice was signed out by a garbled form: %d", r.Status)
	}
	if r := f.root.get("/user/settings/applications"); strings.Contains(r.Body, "odd") || strings.Contains(r.Body, "aaaaaaaa") {
		t.Error("a garbled form made a token")
	}
	if r := f.alice.get("/org/aorg/settings/packages/"); strings.Contains(r.Body, "aorg/pub") {
		t.Error("a garbled form added a Composer source")
	}
	admin, err := f.s.App.Users.GetByName(context.Background(), f.s.AdminName)
	if err != nil {
		t.Fatal(err)
	}
	if rules, err := f.s.App.Cleanup.Rules(context.Background(), admin, "aorg"); err != nil || len(rules) != 1 {
		t.Errorf("aorg's rules after garbled forms: %v %d", err, len(rules))
	}
}

// TestReview14MustChangePassword: a session of an account that must change
// its password reaches nothing else, by any method or spelling of the
// path, until it does; no form posted meanwhile takes effect.
func TestReview14MustChangePassword(t *testing.T) {
	f := newReview14Fixture(t)
	tr := true
	if _, _, err := f.s.client(t, gitea.SetToken(f.s.AdminToken)).AdminCreateUser(gitea.CreateUserOption{
		Username: "mona", Email: "mona@example.com", Password: "mona-password", MustChangePassword: &tr}); err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, f.s.URL)
	r := w.post("/user/login", url.Values{"user_name": {"mona"}, "password": {"mona-password"}, "redirect_to": {"/"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/user/settings/change_password") {
		t.Fatalf("sign in: %d %q", r.Status, r.Location)
	}
	for _, p := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/user/settings/applications"}, {"POST", "/user/settings/applications"},
		{"POST", "/user/settings/packages/rules/add"}, {"GET", "/user/settings/packages"}, {"GET", "/user/settings/change_password/"},
		{"GET", "/user/settings/change_password/../applications"}, {"POST", "/user/settings/Change_Password"},
		{"GET", "/user/settings/change_passwor%64/../applications"}, {"GET", "/USER/settings/applications"},
	} {
		var r webResponse
		if p.method == "GET" {
			r = w.get(p.path)
		} else {
			r = w.post(p.path, url.Values{"name": {"sneaky"}, "scope": {"all"}, "type": {"npm"}, "enabled": {"on"}})
		}
		if r.Status == http.StatusOK || r.Status >= 500 {
			t.Errorf("%s %s before the change: %d %s", p.method, p.path, r.Status, pageText(r.Body))
		}
	}
	mona, err := f.s.App.Users.GetByName(context.Background(), "mona")
	if err != nil {
		t.Fatal(err)
	}
	if ts, n, err := f.s.App.Users.ListTokens(context.Background(), mona, db.ListOptions{Page: 1, PageSize: 50}); err != nil || n != 0 {
		t.Fatalf("mona's tokens before the change: %v %d %v", err, n, ts)
	}
	r = w.post("/user/settings/change_password", url.Values{"password": {"mona-new-password"}, "retype": {"mona-new-password"}, "redirect_to": {"/user/settings/applications"}})
	if r.Status != http.StatusSeeOther || r.Location != "/user/settings/applications" {
		t.Fatalf("change: %d %q %s", r.Status, r.Location, pageText(r.Body))
	}
	if r = w.get("/user/settings/applications"); r.Status != http.StatusOK {
		t.Fatalf("after the change: %d", r.Status)
	}
}

// TestReview14TokenAsPassword: a token sent as HTTP Basic's password is
// still a token: it may not manage tokens on the page nor change the
// password; a wrong Authorization header fails at once even with a valid
// session cookie.
func TestReview14TokenAsPassword(t *testing.T) {
	f := newReview14Fixture(t)
	all := packageToken(t, f.s, "alice", "all", "all")
	form := "application/x-www-form-urlencoded"
	for _, h := range []map[string]string{basic("alice", all), basic(all, "x-oauth-basic"), basic(all, "")} {
		if st, _, body := f.s.do(t, "GET", "/user/settings/applications", "", h); st != http.StatusForbidden && st != http.StatusUnauthorized {
			t.Errorf("token as Basic lists tokens: %d %s", st, snippet(body))
		}
		hh := map[string]string{"Authorization": h["Authorization"], "Content-Type": form}
		if st, _, body := f.s.do(t, "POST", "/user/settings/applications", "name=minted&scope=all", hh); st != http.StatusForbidden && st != http.StatusUnauthorized {
			t.Errorf("token as Basic mints a token: %d %s", st, snippet(body))
		}
		if st, _, body := f.s.do(t, "POST", "/user/settings/change_password", "old_password=&password=pwned-password-1&retype=pwned-password-1", hh); st != http.StatusForbidden && st != http.StatusUnauthorized {
			t.Errorf("token as Basic changes the password: %d %s", st, snippet(body))
		}
	}
	if _, _, err := f.s.client(t, gitea.SetBasicAuth("alice", "alice-password")).GetMyUserInfo(); err != nil {
		t.Fatalf("alice's password changed: %v", err)
	}
	// A wrong header beside a good session cookie: refused, not the
	// session's user.
	r := f.alice.send(http.MethodGet, "/user/settings/packages", nil, map[string]string{"Authorization": "token 0000000000000000000000000000000000000000"})
	if r.Status != http.StatusUnauthorized {
		t.Errorf("a wrong token beside a session: %d %s", r.Status, pageText(r.Body))
	}
	r = f.alice.send(http.MethodGet, "/user/settings/packages", nil, basic("alice", "wrong"))
	if r.Status != http.StatusUnauthorized {
		t.Errorf("a wrong password beside a session: %d %s", r.Status, pageText(r.Body))
	}
}

// TestReview14AdminEdges: an administrator demoted while signed in loses
// the admin pages at once; a read:admin token reads them but may not run
// a task.
func TestReview14AdminEdges(t *testing.T) {
	f := newReview14Fixture(t)
	if _, err := f.s.App.DB.Xorm().Exec(`UPDATE "user" SET is_admin = ? WHERE lower_name = ?`, true, "carol"); err != nil {
		t.Fatal(err)
	}
	if r := f.carol.get("/-/admin"); r.Status != http.StatusOK {
		t.Fatalf("promoted carol: %d", r.Status)
	}
	if _, err := f.s.App.DB.Xorm().Exec(`UPDATE "user" SET is_admin = ? WHERE lower_name = ?`, false, "carol"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/-/admin", "/-/admin/users", "/-/admin/packages", "/-/admin/cleanup"} {
		if r := f.carol.get(p); r.Status != http.StatusForbidden {
			t.Errorf("demoted carol GET %s: %d", p, r.Status)
		}
	}
	if r := f.carol.post("/-/admin/cleanup", url.Values{"task": {"uploads"}, "confirm": {"yes"}}); r.Status != http.StatusForbidden {
		t.Errorf("demoted carol runs a task: %d", r.Status)
	}
	tok, _, err := f.s.client(t, gitea.SetToken(f.s.AdminToken)).CreateAccessToken(gitea.CreateAccessTokenOption{Name: "ra", Scopes: []gitea.AccessTokenScope{"read:admin"}})
	if err != nil {
		// The API's token route wants a password.
		tok, _, err = f.s.client(t, gitea.SetBasicAuth(f.s.AdminName, f.s.AdminPass)).CreateAccessToken(gitea.CreateAccessTokenOption{Name: "ra", Scopes: []gitea.AccessTokenScope{"read:admin"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	h := tokenHeader(tok.Token)
	if st, _, body := f.s.do(t, "GET", "/-/admin/cleanup", "", h); st != http.StatusOK {
		t.Errorf("read:admin reads the cleanup page: %d %s", st, snippet(body))
	}
	h["Content-Type"] = "application/x-www-form-urlencoded"
	if st, _, body := f.s.do(t, "POST", "/-/admin/cleanup", "task=uploads&confirm=yes", h); st != http.StatusForbidden {
		t.Errorf("read:admin runs a task: %d %s", st, snippet(body))
	}
	if st, _, body := f.s.do(t, "POST", "/-/admin/cleanup", "task=no-such-task&confirm=yes", map[string]string{
		"Authorization": "token " + f.s.AdminToken, "Content-Type": "application/x-www-form-urlencoded"}); st < 400 || st >= 500 {
		t.Errorf("an unknown task: %d %s", st, snippet(body))
	}
}

// review14URLAttr finds the attributes that hold a URL.
var review14URLAttr = regexp.MustCompile(`(?i)\b(href|src|action|formaction|data|poster|background)\s*=\s*"([^"]*)"`)

// TestReview14ReadmeSanitized: a README's raw HTML and links cannot run
// script, load a frame, post a form, restyle or re-base the page, however
// they are spelled.
func TestReview14ReadmeSanitized(t *testing.T) {
	f := newReview14Fixture(t)
	ctx := context.Background()
	alice, err := f.s.App.Users.GetByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := f.s.App.Repos.Get(ctx, alice, "aorg", "pub")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join([]string{
		"# Title", "",
		"[a](JaVaScRiPt:alert(1)) [b](  javascript:alert(1)) [c](java\tscript:alert(1)) [d](&#106;avascript:alert(1))",
		"[e](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) [f](vbscript:msgbox(1)) <javascript:alert(1)>", "",
		"[ref]", "", "[ref]: javascript:alert(1)", "",
		`<a href="javascript:alert(1)">g</a> <a href="&#x6A;avascript:alert(1)">h</a> <a href="jav&#x09;ascript:alert(1)">i</a>`, "",
		`<iframe src="https://evil.example/"></iframe>`, "",
		`<form action="https://evil.example/"><input name="password" autofocus onfocus="alert(1)"><button formaction="javascript:alert(1)">x</button></form>`, "",
		`<svg onload="alert(1)"><script>alert(1)</script></svg>`, "",
		`<details open ontoggle="alert(1)"><summary>s</summary></details>`, "",
		`<style>body{display:none}</style><link rel="stylesheet" href="https://evil.example/x.css">`, "",
		`<meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/">`, "",
		`<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x.swf">`, "",
		`<img src="x" onerror="alert(1)"><img src="javascript:alert(1)"><p style="position:fixed;top:0">over</p>`, "",
		"```html\n<script>alert('in code')</script>\n```", "",
	}, "\n")
	if _, err := f.s.App.Repos.CommitAsSystem(ctx, rc, "main", []git.FileChange{{Path: "README.md", Content: []byte(readme)}}, "evil readme"); err != nil {
		t.Fatal(err)
	}
	r := f.bob.get("/aorg/pub")
	if r.Status != http.StatusOK {
		t.Fatalf("repository page: %d %s", r.Status, pageText(r.Body))
	}
	main := r.Body
	if i := strings.Index(main, "<main"); i >= 0 {
		main = main[i:]
	}
	low := strings.ToLower(main)
	for _, m := range review14URLAttr.FindAllStringSubmatch(main, -1) {
		v := strings.ToLower(strings.Map(func(r rune) rune {
			if r <= ' ' {
				return -1
			}
			return r
		}, html.UnescapeString(m[2])))
		for _, scheme := range []string{"javascript:", "vbscript:", "data:"} {
			if strings.HasPrefix(v, scheme) {
				t.Errorf("the README page has a %s URL: %s", scheme, m[0])
			}
		}
	}
	for _, s := range []string{"<script", "<iframe", "<form", "<input", "<button",
		"<svg", "onload=", "onerror=", "onfocus=", "ontoggle=", "<style", "<link", "<meta", "<base", "<object", "<embed",
		"style=", "formaction"} {
		if strings.Contains(low, s) {
			i := strings.Index(low, s)
			t.Errorf("the README page holds %q: …%s…", s, main[max(0, i-80):min(len(main), i+80)])
		}
	}
	if !strings.Contains(main, "&lt;script&gt;alert(&#39;in code&#39;)&lt;/script&gt;") && !strings.Contains(main, "&lt;script&gt;alert('in code')&lt;/script&gt;") {
		t.Errorf("a code block's markup is not shown as text: %s", pageText(main))
	}
}

// TestReview14ForgedCookie: a session cookie that is not one the server
// gave (too long, odd characters, another user's id spelled in it) is an
// anonymous visit, never a 5xx.
func TestReview14ForgedCookie(t *testing.T) {
	f := newReview14Fixture(t)
	for _, v := range []string{strings.Repeat("A", 5000), "x", "%00", "%ff%fe", "' OR '1'='1", "1", "uid=1", strings.Repeat("0", 64), strings.Repeat("9", 65),
		f.alice.cookie("wharf_session") + "x", strings.ToUpper(f.alice.cookie("wharf_session"))} {
		for _, p := range []string{"/", "/user/settings/packages", "/aorg/-/packages/generic/agen"} {
			st, _, body := doNoRedirect(t, f.s, "GET", p, "", map[string]string{"Cookie": "wharf_session=" + v})
			if st >= 500 {
				t.Errorf("cookie %.20q on %s: %d %s", v, p, st, snippet(body))
			}
			if p == "/user/settings/packages" && st == http.StatusOK {
				t.Errorf("cookie %.20q is signed in", v)
			}
		}
	}
}

// review14ValueAttr is a form field's value, echoing what was asked.
var review14ValueAttr = regexp.MustCompile(`value="[^"]*"`)

// TestReview14ListsHide: the home page, explore pages and owner pages list
// only what the viewer may see: a limited organisation to signed-in users,
// a private organisation to its members, a private repository to who may
// read it, and their packages likewise; a search does not find them.
func TestReview14ListsHide(t *testing.T) {
	f := newReview14Fixture(t)
	for _, o := range []struct{ name, vis string }{{"lorg", "limited"}, {"porg", "private"}} {
		if st, _, body := f.s.do(t, "POST", "/api/v1/orgs", fmt.Sprintf(`{"username":%q,"visibility":%q}`, o.name, o.vis), f.aliceH); st != http.StatusCreated {
			t.Fatalf("create %s: %d %s", o.name, st, body)
		}
		if _, _, err := f.s.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateOrgRepo(o.name, gitea.CreateRepoOption{Name: o.name + "-repo", AutoInit: true}); err != nil {
			t.Fatal(err)
		}
		f.s.putGenericFile(t, o.name, o.name+"-pkg", "1.0", f.aliceH)
	}
	f.s.putGenericFile(t, "alice", "alice-pkg", "1.0", f.aliceH)
	carolPkg := packageToken(t, f.s, "carol", "pkg", "read:package")
	anon := newWebClient(t, f.s.URL)
	type viewer struct {
		name   string
		get    func(string) (int, string)
		hidden []string
	}
	web := func(w *webClient) func(string) (int, string) {
		return func(p string) (int, string) { r := w.get(p); return r.Status, r.Body }
	}
	viewers := []viewer{
		{"anonymous", web(anon), []string{"lorg", "porg", "alice/secret", "priv"}},
		{"carol", web(f.carol), []string{"porg", "secret", "aorg/priv", ">priv<"}},
		{"carol read:package", func(p string) (int, string) {
			st, _, body := doNoRedirect(t, f.s, "GET", p, "", tokenHeader(carolPkg))
			return st, body
		}, []string{"porg", "secret", "priv", "lorg-repo"}},
	}
	for _, v := range viewers {
		for _, p := range []string{"/", "/explore/repos", "/explore/repos?q=secret", "/explore/repos?q=priv", "/explore/repos?q=porg",
			"/explore/organizations", "/explore/organizations?q=porg", "/alice", "/alice/-/packages", "/aorg", "/aorg/-/packages",
			"/?page=2", "/explore/repos?page=1&limit=1000"} {
			st, body := v.get(p)
			if st >= 500 {
				t.Fatalf("%s GET %s: %d", v.name, p, st)
			}
			if st != http.StatusOK {
				continue
			}
			text := body
			if i := strings.Index(text, "<main"); i >= 0 {
				text = text[i:]
			}
			// The search field shows the query back.
			text = review14ValueAttr.ReplaceAllString(text, "")
			for _, h := range v.hidden {
				if strings.Contains(text, h) {
					t.Errorf("%s sees %q on %s: %s", v.name, h, p, pageText(body))
				}
			}
		}
	}
	// carol sees the limited organisation; bob the private repository of
	// aorg; the lists are not simply empty.
	if _, body := web(f.carol)("/explore/organizations"); !strings.Contains(body, "lorg") {
		t.Errorf("carol does not see the limited organisation: %s", pageText(body))
	}
	if _, body := web(f.bob)("/aorg"); !strings.Contains(body, "priv") {
		t.Errorf("bob, a writer of aorg, does not see aorg/priv: %s", pageText(body))
	}
}

// TestReview14RevokeOnlyOwnTokens: the revoke page names a token of the
// signed-in user only; another user's token of the same name is neither
// shown nor revoked.
func TestReview14RevokeOnlyOwnTokens(t *testing.T) {
	f := newReview14Fixture(t)
	bobTok := packageToken(t, f.s, "bob", "shared-name", "read:user")
	if r := f.alice.get("/user/settings/applications/delete?name=shared-name"); r.Status != http.StatusNotFound {
		t.Errorf("alice's revoke page for bob's token name: %d %s", r.Status, pageText(r.Body))
	}
	if r := f.alice.post("/user/settings/applications/delete", url.Values{"name": {"shared-name"}, "confirm": {"yes"}}); r.Status != http.StatusNotFound {
		t.Errorf("alice revokes bob's token name: %d %s", r.Status, pageText(r.Body))
	}
	if st, _, body := f.s.do(t, "GET", "/api/v1/user", "", tokenHeader(bobTok)); st != http.StatusOK {
		t.Errorf("bob's token after alice's attempts: %d %s", st, body)
	}
	// Revoking without the confirmation changes nothing.
	if r := f.bob.post("/user/settings/applications/delete", url.Values{"name": {"shared-name"}}); r.Status < 400 || r.Status >= 500 {
		t.Errorf("revoke without confirmation: %d", r.Status)
	}
	if st, _, _ := f.s.do(t, "GET", "/api/v1/user", "", tokenHeader(bobTok)); st != http.StatusOK {
		t.Error("a revocation without confirmation took effect")
	}
	if r := f.bob.post("/user/settings/applications/delete", url.Values{"name": {"shared-name"}, "confirm": {"yes"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("bob revokes his token: %d %s", r.Status, pageText(r.Body))
	}
	if st, _, _ := f.s.do(t, "GET", "/api/v1/user", "", tokenHeader(bobTok)); st != http.StatusUnauthorized {
		t.Errorf("a revoked token still works: %d", st)
	}
}
