package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/setting"
)

// adminBrowser is an HTTP client with a cookie jar that sends what a adminBrowser
// sends on its own site's pages.
type adminBrowser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newAdminBrowser(t *testing.T, s *server) *adminBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &adminBrowser{t: t, base: s.URL, client: &http.Client{Jar: jar}}
}

// send makes a request with the adminBrowser's cookies and returns the final
// status, URL and body (redirects followed).
func (b *adminBrowser) send(method, path string, form url.Values, header map[string]string) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, resp.Request.URL.Path, string(out)
}

func (b *adminBrowser) get(path string) (int, string) {
	b.t.Helper()
	status, _, body := b.send(http.MethodGet, path, nil, nil)
	return status, body
}

func (b *adminBrowser) signIn(name, password string) {
	b.t.Helper()
	status, at, body := b.send(http.MethodPost, "/user/login", url.Values{"user_name": {name}, "password": {password}, "redirect_to": {"/"}}, nil)
	if status != http.StatusOK || at != "/" {
		b.t.Fatalf("sign in as %s: %d at %s:\n%s", name, status, at, body)
	}
}

// adminMustContain fails unless body holds every one of want.
func adminMustContain(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, body)
		}
	}
}

// TestWebAdmin drives the admin pages as a adminBrowser: the dashboard's counts
// and storage, the users and organisations, every package with its size
// and the owners' totals against the bytes uploaded, a cleanup task run
// from its button and listed; and who is refused.
func TestWebAdmin(t *testing.T) {
	var ahead atomic.Int64 // seconds the app's clock is ahead of real time
	s := newServerWithClock(t, func() time.Time { return time.Now().Add(time.Duration(ahead.Load()) * time.Second) },
		func(c *setting.Config) { c.Packages.BlobGCGrace = time.Minute })
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice, bob := basic("alice", "alice-password"), basic("bob", "bob-password")
	aliceAPI := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := aliceAPI.CreateOrg(gitea.CreateOrgOption{Name: "acme", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	put := func(owner, path, content string, h map[string]string) {
		t.Helper()
		if status, _, body := s.do(t, "PUT", "/api/packages/"+owner+"/generic/"+path, content, h); status != 201 {
			t.Fatalf("upload %s/%s: %d %s", owner, path, status, body)
		}
	}
	put("alice", "tool/1.0/a.bin", "aaa", alice)        // 3 bytes
	put("alice", "tool/2.0/b.bin", "bbbbbbbbbb", alice) // 10
	put("alice", "tool/3.0/c.bin", "ccccccc", alice)    // 7
	put("alice", "lib/1.0/l.bin", "lllll", alice)       // 5
	put("acme", "big/1.0/x.bin", strings.Repeat("x", 100), alice)
	put("bob", "tool/1.0/a.bin", "aaa", bob) // the same blob as alice's
	// Removing tool 3.0 leaves its 7 bytes unreferenced.
	if status, _, body := s.do(t, "DELETE", "/api/packages/alice/generic/tool/3.0", "", alice); status != 204 {
		t.Fatalf("delete version: %d %s", status, body)
	}

	// Anonymous: sent to sign in and back.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(s.URL + "/-/admin/packages")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/user/login?redirect_to=%2F-%2Fadmin%2Fpackages" {
		t.Fatalf("anonymous: %d to %q", resp.StatusCode, loc)
	}

	admin := newAdminBrowser(t, s)
	admin.signIn(s.AdminName, s.AdminPass)

	status, body := admin.get("/-/admin")
	if status != 200 {
		t.Fatalf("dashboard: %d\n%s", status, body)
	}
	adminMustContain(t, "dashboard", body, "<h1>Site administration</h1>",
		`Users</a></th><td class="num">3</td>`, // root, alice, bob
		`Organisations</a></th><td class="num">1</td>`,
		`Repositories</th><td class="num">0</td>`,
		`Packages</a></th><td class="num">4</td>`, // alice tool, alice lib, acme big, bob tool
		// Referenced: aaa (once), b…, l…, x… = 3+10+5+100; unreferenced: c… = 7.
		`Referenced by package files</th><td class="num">4</td><td class="num">118</td>`,
		`<td class="num">1</td><td class="num">7</td>`,
		`href="`+s.URL+`/-/admin/cleanup"`)

	status, body = admin.get("/-/admin/users")
	if status != 200 {
		t.Fatalf("users: %d\n%s", status, body)
	}
	adminMustContain(t, "users", body, ">alice</a>", "alice@example.com", ">bob</a>", "root@example.com")
	if strings.Contains(body, ">acme</a>") {
		t.Error("the users list shows an organisation")
	}
	status, body = admin.get("/-/admin/users?q=ali")
	if status != 200 || !strings.Contains(body, ">alice</a>") || strings.Contains(body, ">bob</a>") {
		t.Errorf("users search: %d\n%s", status, body)
	}
	status, body = admin.get("/-/admin/orgs")
	if status != 200 {
		t.Fatalf("orgs: %d\n%s", status, body)
	}
	adminMustContain(t, "orgs", body, ">acme</a>", "<td>private</td>")
	if strings.Contains(body, ">alice</a>") {
		t.Error("the organisations list shows a user")
	}

	status, body = admin.get("/-/admin/packages")
	if status != 200 {
		t.Fatalf("packages: %d\n%s", status, body)
	}
	row := func(owner, name string, versions int, size int64, human string) string {
		return `<td><a href="` + s.URL + `/` + owner + `/-/packages">` + owner + `</a></td><td>generic</td><td><a href="` + s.URL + `/` + owner + `/-/packages/generic/` + name + `">` + name +
			`</a></td><td class="num">` + strconv.Itoa(versions) + `</td><td class="num">` + human + `</td><td class="num">` + strconv.FormatInt(size, 10) + `</td>`
	}
	total := func(owner string, packages, size int64) string {
		return `">` + owner + `</a></td><td class="num">` + strconv.FormatInt(packages, 10) + `</td><td class="num">` + strconv.FormatInt(size, 10) + ` B</td><td class="num">` + strconv.FormatInt(size, 10) + `</td>`
	}
	adminMustContain(t, "packages", body, "Packages (4)",
		row("acme", "big", 1, 100, "100 B"), row("alice", "lib", 1, 5, "5 B"), row("alice", "tool", 2, 13, "13 B"), row("bob", "tool", 1, 3, "3 B"),
		total("acme", 1, 100), total("alice", 2, 18), total("bob", 1, 3))
	// Owners' totals: largest first.
	if a, b, c := strings.Index(body, total("acme", 1, 100)), strings.Index(body, total("alice", 2, 18)), strings.Index(body, total("bob", 1, 3)); !(a < b && b < c) {
		t.Errorf("owners' totals are not largest first: %d %d %d", a, b, c)
	}
	status, body = admin.get("/-/admin/packages?owner=alice&type=generic&q=TO")
	if status != 200 {
		t.Fatalf("filtered packages: %d\n%s", status, body)
	}
	adminMustContain(t, "filtered packages", body, "Packages (1)", row("alice", "tool", 2, 13, "13 B"), total("alice", 1, 13))
	if strings.Contains(body, ">lib</a>") || strings.Contains(body, ">bob</a>") {
		t.Errorf("the filter let other packages through:\n%s", body)
	}
	if status, body = admin.get("/-/admin/packages?owner=nobody"); status != 200 || !strings.Contains(body, "No packages match.") {
		t.Errorf("unknown owner: %d\n%s", status, body)
	}
	if status, _ = admin.get("/-/admin/packages?type=nonsense"); status != 400 {
		t.Errorf("unknown type: %d, want 400", status)
	}
	// Text PostgreSQL refuses is a bad request, not a 500.
	for _, p := range []string{"/-/admin/packages?q=%ff", "/-/admin/packages?owner=%c3", "/-/admin/users?q=%ff", "/-/admin/orgs?q=%fe"} {
		if status, body = admin.get(p); status != 400 {
			t.Errorf("GET %s: %d, want 400\n%s", p, status, body)
		}
	}
	// A page past the end of int64 is an empty page (the page number is
	// capped far past any list), never an offset that overflows.
	for _, p := range []string{"/-/admin/packages?page=9223372036854775807", "/-/admin/users?page=9223372036854775807"} {
		if status, body = admin.get(p); status != 200 || !strings.Contains(body, "No ") {
			t.Errorf("GET %s: %d, want an empty page\n%s", p, status, body)
		}
	}
	if status, body = admin.get("/-/admin/packages?page=1000000"); status != 200 || !strings.Contains(body, "No packages match.") {
		t.Errorf("a page past the end: %d\n%s", status, body)
	}

	// A cleanup task run from its button: the blobs task collects the
	// unreferenced 7 bytes once they are past the grace period.
	status, body = admin.get("/-/admin/cleanup")
	if status != 200 {
		t.Fatalf("cleanup: %d\n%s", status, body)
	}
	for _, task := range []string{"rules", "empty", "blobs", "uploads"} {
		adminMustContain(t, "cleanup", body, `name="task" value="`+task+`"`)
	}
	if strings.Count(body, "Not run yet.") != 4 {
		t.Errorf("cleanup page before any run:\n%s", body)
	}
	ahead.Store(int64(time.Hour / time.Second))
	// Without the confirmation box ticked, nothing runs.
	status, at, body := admin.send(http.MethodPost, "/-/admin/cleanup", url.Values{"task": {"blobs"}}, nil)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "did not run: tick the box") || strings.Count(body, "Not run yet.") != 4 {
		t.Fatalf("unconfirmed run: %d\n%s", status, body)
	}
	status, at, body = admin.send(http.MethodPost, "/-/admin/cleanup", url.Values{"task": {"blobs"}, "confirm": {"yes"}}, nil)
	if status != 200 || at != "/-/admin/cleanup" {
		t.Fatalf("run blobs: %d at %s\n%s", status, at, body)
	}
	adminMustContain(t, "cleanup after run", body, `Task &#34;blobs&#34; finished: removed 0 version(s), 0 file(s), 1 blob(s) and 0 package(s), 7 B in all.`,
		`Last runs of blobs</caption>`, `<td class="num">0</td><td class="num">0</td><td class="num">1</td><td class="num">0</td><td class="num">7 (7 B)</td><td>none</td>`)
	if strings.Count(body, "Not run yet.") != 3 {
		t.Errorf("the other tasks show runs:\n%s", body)
	}
	// The flash is shown once; the run stays listed.
	if _, body = admin.get("/-/admin/cleanup"); strings.Contains(body, "finished: removed") || !strings.Contains(body, "Last runs of blobs") {
		t.Errorf("cleanup page reloaded:\n%s", body)
	}
	if status, body = admin.get("/-/admin"); status != 200 || !strings.Contains(body, `<td class="num">0</td><td class="num">0</td><td class="num">0 B</td>`) {
		t.Errorf("dashboard after the blobs run: %d\n%s", status, body)
	}
	if status, body = admin.get("/-/admin/nope"); status != 404 || !strings.Contains(body, "<title>") {
		t.Errorf("unknown admin page: %d\n%s", status, body)
	}
	// An unknown task is a 404 page.
	if status, _, _ = admin.send(http.MethodPost, "/-/admin/cleanup", url.Values{"task": {"nope"}, "confirm": {"yes"}}, nil); status != 404 {
		t.Errorf("unknown task: %d, want 404", status)
	}

	// A cross-site post is refused and runs nothing.
	status, _, body = admin.send(http.MethodPost, "/-/admin/cleanup", url.Values{"task": {"uploads"}, "confirm": {"yes"}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	if status != 403 {
		t.Errorf("cross-site post: %d, want 403\n%s", status, body)
	}
	if _, body = admin.get("/-/admin/cleanup"); strings.Count(body, "Not run yet.") != 3 {
		t.Errorf("the cross-site post ran a task:\n%s", body)
	}

	// A signed-in user who is not an administrator: 403 on every page and
	// the form.
	user := newAdminBrowser(t, s)
	user.signIn("bob", "bob-password")
	for _, p := range []string{"/-/admin", "/-/admin/users", "/-/admin/orgs", "/-/admin/packages", "/-/admin/cleanup"} {
		if status, body = user.get(p); status != 403 || !strings.Contains(body, "site administrator") {
			t.Errorf("non-admin GET %s: %d\n%s", p, status, body)
		}
	}
	if status, _, _ = user.send(http.MethodPost, "/-/admin/cleanup", url.Values{"task": {"uploads"}, "confirm": {"yes"}}, nil); status != 403 {
		t.Errorf("non-admin run: %d, want 403", status)
	}

	// Tokens: the admin's, without the admin scope, is refused; with it,
	// it reads the pages but a read-only admin token cannot run a task.
	token := func(c *gitea.Client, scope string) string {
		t.Helper()
		tok, _, err := c.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "t-" + scope, Scopes: []gitea.AccessTokenScope{gitea.AccessTokenScope(scope)}})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	rootAPI := s.client(t, gitea.SetBasicAuth(s.AdminName, s.AdminPass))
	noAdmin, readAdmin := token(rootAPI, "read:package"), token(rootAPI, "read:admin")
	if status, _, body := s.do(t, "GET", "/-/admin/packages", "", tokenHeader(noAdmin)); status != 403 || !strings.Contains(body, "admin") {
		t.Errorf("token without admin scope: %d\n%s", status, body)
	}
	if status, _, body := s.do(t, "GET", "/-/admin/packages", "", tokenHeader(readAdmin)); status != 200 || !strings.Contains(body, "Packages (4)") {
		t.Errorf("token with read:admin: %d\n%s", status, body)
	}
	if status, _, _ := s.do(t, "POST", "/-/admin/cleanup", "task=uploads&confirm=yes", map[string]string{"Authorization": "token " + readAdmin, "Content-Type": "application/x-www-form-urlencoded"}); status != 403 {
		t.Errorf("read:admin token ran a task: %d, want 403", status)
	}
	bobAll := token(s.client(t, gitea.SetBasicAuth("bob", "bob-password")), "all")
	if status, _, _ := s.do(t, "GET", "/-/admin", "", tokenHeader(bobAll)); status != 403 {
		t.Errorf("non-admin's token with every scope: %d, want 403", status)
	}

	// Paging: 50 more (empty) packages of bob's make 54, two pages of 50.
	ctx := context.Background()
	bobUser, err := s.App.Users.GetByName(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	err = s.App.DB.WithTx(ctx, func(tx db.Engine) error {
		for i := range 50 {
			if _, err := packages_model.GetOrInsertPackage(ctx, tx, &packages_model.Package{OwnerID: bobUser.ID, Type: packages_model.TypeGeneric, Name: fmt.Sprintf("p%02d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	status, body = admin.get("/-/admin/packages")
	adminMustContain(t, "first page", body, "Packages (54)", ">big</a>", ">p46</a>", `rel="next"`, "Page 1 · 54 in all", total("bob", 51, 3))
	if status != 200 || strings.Contains(body, ">p47</a>") || strings.Contains(body, `rel="prev"`) {
		t.Errorf("first page: %d\n%s", status, body)
	}
	status, body = admin.get("/-/admin/packages?page=2")
	adminMustContain(t, "second page", body, ">p47</a>", ">p49</a>", row("bob", "tool", 1, 3, "3 B"), `rel="prev"`, "Page 2 · 54 in all")
	if status != 200 || strings.Contains(body, ">big</a>") || strings.Contains(body, ">p46</a>") || strings.Contains(body, `rel="next"`) {
		t.Errorf("second page: %d\n%s", status, body)
	}
	_, body = admin.get("/-/admin/packages?owner=bob")
	adminMustContain(t, "bob's first page", body, "Packages (51)", `href="`+s.URL+`/-/admin/packages?owner=bob&amp;page=2" rel="next"`)
}

// TestWebAdminQueriesAreConstant: an admin page costs the same number of
// queries however many packages, owners, versions and runs it shows.
func TestWebAdminQueriesAreConstant(t *testing.T) {
	s := newServer(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		s.createUser(t, u)
	}
	admin := newAdminBrowser(t, s)
	admin.signIn(s.AdminName, s.AdminPass)
	q := &queryCounter{}
	s.App.DB.Xorm().AddHook(q)
	pages := []string{"/-/admin", "/-/admin/users", "/-/admin/orgs", "/-/admin/packages", "/-/admin/packages?type=generic&q=p", "/-/admin/cleanup"}
	count := func() map[string]int64 {
		out := map[string]int64{}
		for _, p := range pages {
			before := q.n.Load()
			if status, body := admin.get(p); status != 200 {
				t.Fatalf("GET %s: %d\n%s", p, status, body)
			}
			out[p] = q.n.Load() - before
		}
		return out
	}
	upload := func(from, to int) {
		for i := from; i < to; i++ {
			owner := []string{"alice", "bob", "carol"}[i%3]
			for v := range 1 + i%3 {
				path := fmt.Sprintf("/api/packages/%s/generic/p%03d/1.%d/f.bin", owner, i, v)
				if status, _, body := s.do(t, "PUT", path, strings.Repeat("x", i+v+1), basic(owner, owner+"-password")); status != 201 {
					t.Fatalf("%s: %d %s", path, status, body)
				}
			}
		}
	}
	runTask := func(task string) {
		if status, _, body := s.do(t, "POST", "/api/v1/admin/cleanup/"+task, "", tokenHeader(s.AdminToken)); status != 200 {
			t.Fatalf("run %s: %d %s", task, status, body)
		}
	}
	upload(0, 3)
	runTask("blobs")
	small := count()
	upload(3, 70)
	for range 7 {
		for _, task := range []string{"rules", "empty", "blobs", "uploads"} {
			runTask(task)
		}
	}
	large := count()
	for _, p := range pages {
		if small[p] != large[p] {
			t.Errorf("GET %s cost %d queries with 3 packages and %d with 70", p, small[p], large[p])
		}
		if large[p] > 15 {
			t.Errorf("GET %s costs %d queries", p, large[p])
		}
	}
	t.Logf("queries per admin page: %v", large)
}
