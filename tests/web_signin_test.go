package tests

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"wharf/models/unittest"
	"wharf/modules/setting"
	"wharf/routers"
)

// TestWebSignIn: a browser signs in with the form (by name or by email),
// holds an HttpOnly, SameSite=Lax session cookie, sees a private
// organisation's pages, is sent to sign in and back when it is not signed
// in, and is refused after signing out, even replaying the old cookie.
// Redirects never leave the site, and a sign-in posted from another site
// is refused.
func TestWebSignIn(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "olga")
	admin := s.client(t, gitea.SetToken(s.AdminToken))
	if _, _, err := admin.AdminCreateOrg("olga", gitea.CreateOrgOption{Name: "secret-org", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}

	w := newWebClient(t, s.URL)
	// Not signed in: the private owner's page sends to sign-in and back.
	r := w.get("/secret-org?tab=x")
	if r.Status != http.StatusSeeOther || r.Location != "/user/login?redirect_to="+url.QueryEscape("/secret-org?tab=x") {
		t.Fatalf("anonymous private page: %d %q", r.Status, r.Location)
	}
	r = w.get(r.Location)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="redirect_to" value="/secret-org?tab=x"`) ||
		!strings.Contains(r.Body, "<title>Sign in · Wharf</title>") || !strings.Contains(r.Body, `<label for="password">`) {
		t.Fatalf("sign-in page: %d %s", r.Status, pageText(r.Body))
	}

	// A wrong password: the form again, with a message, 401.
	r = w.post("/user/login", url.Values{"user_name": {"alice"}, "password": {"wrong"}, "redirect_to": {"/secret-org"}})
	if r.Status != http.StatusUnauthorized || !strings.Contains(pageText(r.Body), "Wrong user name or password.") {
		t.Fatalf("wrong password: %d %s", r.Status, pageText(r.Body))
	}
	if w.cookie("wharf_session") != "" && w.get("/user/settings/change_password").Status != http.StatusSeeOther {
		t.Fatal("a failed sign-in signed in")
	}

	// By email; the cookie's flags.
	r = w.post("/user/login", url.Values{"user_name": {"Alice@Example.com"}, "password": {"alice-password"}, "redirect_to": {"/secret-org?tab=x"}})
	if r.Status != http.StatusSeeOther || r.Location != "/secret-org?tab=x" {
		t.Fatalf("sign in by email: %d %q %s", r.Status, r.Location, pageText(r.Body))
	}
	set := r.Header.Get("Set-Cookie")
	for _, want := range []string{"wharf_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Fatalf("session cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Fatalf("session cookie %q is Secure on an http ROOT_URL", set)
	}
	old := w.cookie("wharf_session")

	// Signed in, alice is not a member: the private organisation is 404,
	// an HTML page with the site's navigation.
	r = w.get("/secret-org")
	if r.Status != http.StatusNotFound || !strings.Contains(r.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(r.Body, `<nav aria-label="Site">`) || !strings.Contains(r.Body, "alice") {
		t.Fatalf("private org for a non-member: %d %s", r.Status, pageText(r.Body))
	}

	// Unknown pages are HTML 404s for a signed-in user; the API keeps its
	// JSON.
	if r = w.get("/-/no/such/page"); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "<h1>404") {
		t.Fatalf("unknown page: %d %s", r.Status, pageText(r.Body))
	}
	if status, h, _ := s.do(t, "GET", "/api/v1/no/such/thing", "", nil); status != http.StatusNotFound || !strings.Contains(h.Get("Content-Type"), "json") {
		t.Fatalf("unknown API path: %d %s", status, h.Get("Content-Type"))
	}

	// A visitor is sent to sign in only where a private owner may hide:
	// a name no owner can have is a 404, and an API path no route serves
	// is a client's plain 404, not a page.
	visitor := newWebClient(t, s.URL)
	for p, want := range map[string]string{"/api/unknown": "text/html", "/-/nothing/here": "text/html", "/api/packages/nope": "text/plain"} {
		if r = visitor.get(p); r.Status != http.StatusNotFound || !strings.HasPrefix(r.Header.Get("Content-Type"), want) {
			t.Errorf("visitor %s: %d %q, want 404 %s", p, r.Status, r.Header.Get("Content-Type"), want)
		}
	}
	if r = visitor.get("/no-such-owner"); r.Status != http.StatusSeeOther {
		t.Errorf("visitor /no-such-owner: %d, want the sign-in redirect (a private owner looks the same)", r.Status)
	}

	// Redirects stay on the site.
	for _, to := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		w2 := newWebClient(t, s.URL)
		r = w2.post("/user/login", url.Values{"user_name": {"alice"}, "password": {"alice-password"}, "redirect_to": {to}})
		if r.Status != http.StatusSeeOther || r.Location != "/" {
			t.Fatalf("redirect_to %q: %d %q", to, r.Status, r.Location)
		}
	}

	// Another site's form cannot sign in (login CSRF) nor sign out.
	w3 := newWebClient(t, s.URL)
	r = w3.send("POST", "/user/login", url.Values{"user_name": {"alice"}, "password": {"alice-password"}},
		map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	if r.Status != http.StatusForbidden || w3.cookie("wharf_session") != "" || !strings.Contains(pageText(r.Body), "cross-origin") {
		t.Fatalf("cross-site sign-in: %d %s", r.Status, pageText(r.Body))
	}
	r = w.send("POST", "/user/logout", url.Values{}, map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"})
	if r.Status != http.StatusForbidden {
		t.Fatalf("cross-site sign-out: %d", r.Status)
	}

	// Sign out: the session is gone from the database, so the old cookie
	// replayed is a visitor's.
	if r = w.post("/user/logout", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Status)
	}
	replay := newWebClient(t, s.URL)
	u, _ := url.Parse(s.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "wharf_session", Value: old}})
	if r = replay.get("/user/settings/change_password"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/user/login") {
		t.Fatalf("old cookie after sign-out: %d %q", r.Status, r.Location)
	}
}

// TestWebSessionSharedAndSecure: a session made by one process is known to
// another on the same database (sessions live in the database), and an
// https ROOT_URL makes the cookie Secure.
func TestWebSessionSharedAndSecure(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	w := newWebClient(t, s.URL)
	w.signIn("alice", "alice-password")

	// A second process: the same configuration and database.
	cfg := s.App.Cfg
	app2, err := routers.NewApp(context.Background(), cfg, routers.Options{Version: "test", Log: unittest.DiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(app2.Handler)
	t.Cleanup(func() { srv2.Close(); _ = app2.Close() })
	w2 := newWebClient(t, srv2.URL)
	u, _ := url.Parse(srv2.URL)
	w2.c.Jar.SetCookies(u, []*http.Cookie{{Name: "wharf_session", Value: w.cookie("wharf_session")}})
	r := w2.get("/user/settings/change_password")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Current password") {
		t.Fatalf("the other process does not know the session: %d %s", r.Status, pageText(r.Body))
	}

	secure := newServer(t, func(c *setting.Config) { c.Server.RootURL = "https://wharf.example/" })
	secure.createUser(t, "bob")
	ws := newWebClient(t, secure.URL)
	r = ws.post("/user/login", url.Values{"user_name": {"bob"}, "password": {"bob-password"}})
	if r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Set-Cookie"), "; Secure") {
		t.Fatalf("https ROOT_URL: %d cookie %q", r.Status, r.Header.Get("Set-Cookie"))
	}
}

// TestWebPasswordChange: an account that must change its password is sent
// to the page that does it from every page, and only then goes on; a
// voluntary change asks for the current password and ends the account's
// other sessions.
func TestWebPasswordChange(t *testing.T) {
	s := newServer(t)
	tr := true
	if _, _, err := s.client(t, gitea.SetToken(s.AdminToken)).AdminCreateUser(gitea.CreateUserOption{
		Username: "carol", Email: "carol@example.com", Password: "carol-password", MustChangePassword: &tr}); err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, s.URL)
	r := w.post("/user/login", url.Values{"user_name": {"carol"}, "password": {"carol-password"}, "redirect_to": {"/carol"}})
	if r.Status != http.StatusSeeOther || r.Location != "/user/settings/change_password?redirect_to=%2Fcarol" {
		t.Fatalf("must change: %d %q", r.Status, r.Location)
	}
	for _, p := range []string{"/", "/carol", "/user/settings/applications", "/explore/repos"} {
		if r = w.get(p); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/user/settings/change_password") {
			t.Fatalf("%s before the change: %d %q", p, r.Status, r.Location)
		}
	}
	r = w.get("/user/settings/change_password?redirect_to=%2Fcarol")
	if r.Status != http.StatusOK || !strings.Contains(pageText(r.Body), "must change its password") || strings.Contains(r.Body, "old_password") {
		t.Fatalf("forced change page: %d %s", r.Status, pageText(r.Body))
	}
	r = w.post("/user/settings/change_password", url.Values{"password": {"new-password-1"}, "retype": {"new-password-2"}, "redirect_to": {"/carol"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(pageText(r.Body), "differ") {
		t.Fatalf("different retype: %d %s", r.Status, pageText(r.Body))
	}
	r = w.post("/user/settings/change_password", url.Values{"password": {"x"}, "retype": {"x"}, "redirect_to": {"/carol"}})
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("too short a password: %d %s", r.Status, pageText(r.Body))
	}
	r = w.post("/user/settings/change_password", url.Values{"password": {"new-password-1"}, "retype": {"new-password-1"}, "redirect_to": {"/carol"}})
	if r.Status != http.StatusSeeOther || r.Location != "/carol" {
		t.Fatalf("change: %d %q %s", r.Status, r.Location, pageText(r.Body))
	}
	if r = w.get("/carol"); r.Status != http.StatusOK || !strings.Contains(pageText(r.Body), "Your password has been changed.") {
		t.Fatalf("after the change: %d %s", r.Status, pageText(r.Body))
	}

	// A second browser, then a voluntary change in the first: the second
	// is signed out; a wrong current password changes nothing.
	other := newWebClient(t, s.URL)
	other.signIn("carol", "new-password-1")
	r = w.post("/user/settings/change_password", url.Values{"old_password": {"wrong"}, "password": {"new-password-2"}, "retype": {"new-password-2"}})
	if r.Status != http.StatusUnauthorized || !strings.Contains(pageText(r.Body), "current password is wrong") {
		t.Fatalf("wrong current password: %d %s", r.Status, pageText(r.Body))
	}
	r = w.post("/user/settings/change_password", url.Values{"old_password": {"new-password-1"}, "password": {"new-password-2"}, "retype": {"new-password-2"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("voluntary change: %d %s", r.Status, pageText(r.Body))
	}
	if r = w.get("/user/settings/change_password"); r.Status != http.StatusOK {
		t.Fatalf("the changing browser was signed out: %d", r.Status)
	}
	if r = other.get("/user/settings/change_password"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/user/login") {
		t.Fatalf("the other browser still signed in after the password changed: %d %q", r.Status, r.Location)
	}
	if status, _, _ := s.do(t, "GET", "/api/v1/user", "", basic("carol", "new-password-2")); status != http.StatusOK {
		t.Fatalf("the new password over the API: %d", status)
	}
}

// TestWebSignInLimited: repeated failed sign-ins are refused for a while,
// with a page that says so and Retry-After, even with the right password.
func TestWebSignInLimited(t *testing.T) {
	s := newServer(t, func(c *setting.Config) { c.Security.LoginMaxFailures = 3 })
	s.createUser(t, "dave")
	w := newWebClient(t, s.URL)
	for i := range 3 {
		if r := w.post("/user/login", url.Values{"user_name": {"dave"}, "password": {"wrong"}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.Status)
		}
	}
	r := w.post("/user/login", url.Values{"user_name": {"dave"}, "password": {"dave-password"}})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" ||
		!strings.Contains(pageText(r.Body), "Too many failed sign-ins") || w.cookie("wharf_session") != "" {
		t.Fatalf("after the limit: %d retry-after %q %s", r.Status, r.Header.Get("Retry-After"), pageText(r.Body))
	}
}

// TestWebForcedChangeLater: a forced password change skips the current
// password only right after the sign-in that gave it; on a session left
// open (someone else at the browser, a cookie taken), it is asked.
func TestWebForcedChangeLater(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	s := newServerWithClock(t, func() time.Time { return time.Unix(clock.Load(), 0) })
	tr := true
	if _, _, err := s.client(t, gitea.SetToken(s.AdminToken)).AdminCreateUser(gitea.CreateUserOption{
		Username: "erin", Email: "erin@example.com", Password: "erin-password", MustChangePassword: &tr}); err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, s.URL)
	r := w.post("/user/login", url.Values{"user_name": {"erin"}, "password": {"erin-password"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/user/settings/change_password") {
		t.Fatalf("sign in: %d %q", r.Status, r.Location)
	}
	if r = w.get("/user/settings/change_password"); strings.Contains(r.Body, `name="old_password"`) {
		t.Fatal("right after sign-in the forced change asks the current password again")
	}
	clock.Add(int64(time.Hour / time.Second))
	r = w.get("/user/settings/change_password")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="old_password"`) {
		t.Fatalf("forced change an hour after sign-in: %d, asks the current password: %v", r.Status, strings.Contains(r.Body, "old_password"))
	}
	r = w.post("/user/settings/change_password", url.Values{"password": {"taken-over-1"}, "retype": {"taken-over-1"}})
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("forced change without the current password on an old session: %d %s", r.Status, pageText(r.Body))
	}
	r = w.post("/user/settings/change_password", url.Values{"old_password": {"erin-password"}, "password": {"new-password-1"}, "retype": {"new-password-1"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("forced change with the current password: %d %s", r.Status, pageText(r.Body))
	}
}
