package web

import (
	"bytes"
	"strings"
	"testing"

	packages_model "wharf/models/packages"
)

// TestAdminTemplatesRender renders every admin page with representative
// data and checks what each must show.
func TestAdminTemplatesRender(t *testing.T) {
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	base := page{Title: "T", RootURL: "http://x/", WharfVersion: "1.0", Viewer: &viewer{Name: "root", IsAdmin: true, Session: true}, Flash: "Task \"blobs\" finished"}
	frame := func(section string) adminPage { return adminPage{page: base, Section: section} }
	pg := pager{Page: 2, PageSize: 50, Total: 120, PrevURL: "http://x/-/admin/users?page=1&q=a", NextURL: "http://x/-/admin/users?page=3&q=a"}
	cases := []struct {
		name string
		data any
		want []string
	}{
		{"admin/dashboard", adminDashboardPage{adminPage: frame("dashboard"),
			Counts:  &packages_model.SiteCounts{Users: 7, Orgs: 3, Repos: 11, Packages: 13},
			Storage: &packages_model.StorageUsage{ReferencedBlobs: 4, ReferencedBytes: 2048, UnreferencedBlobs: 1, UnreferencedBytes: 3 << 20}},
			[]string{"<h1>Site administration</h1>", `<td class="num">7</td>`, `<td class="num">3</td>`, `<td class="num">11</td>`, `<td class="num">13</td>`,
				"2.0 KiB", "3.0 MiB", `<td class="num">3145728</td>`, `href="http://x/-/admin/cleanup"`, `href="http://x/-/admin" aria-current="page"`, "Task &#34;blobs&#34; finished"}},
		{"admin/users", adminOwnersPage{adminPage: frame("users"), Query: "a<b", Pager: pg, Items: []adminOwnerItem{
			{Name: "alice", Path: "alice", FullName: "Alice A", Email: "alice@example.com", Admin: true, Active: true, MustChange: true, ProhibitLogin: false, Created: 1_700_000_000}}},
			[]string{"<h1>Users</h1>", `href="http://x/alice"`, "alice@example.com", "<td>yes</td><td>yes</td><td>yes</td><td>no</td><td>2023-11-14</td>",
				`value="a&lt;b"`, `<label for="q">`, `rel="next"`, "Page 2 · 120 in all", `href="http://x/-/admin/users" aria-current="page"`}},
		{"admin/users", adminOwnersPage{adminPage: frame("users"), Query: "zz"}, []string{"No users match “zz”."}},
		{"admin/orgs", adminOwnersPage{adminPage: frame("orgs"), Items: []adminOwnerItem{{Name: "acme", Path: "acme", Visibility: "private", Created: 1_700_000_000}}},
			[]string{"<h1>Organisations</h1>", `href="http://x/acme"`, "<td>private</td>", `href="http://x/-/admin/orgs" aria-current="page"`}},
		{"admin/packages", adminPackagesPage{adminPage: frame("packages"), Owner: "alice", Type: "npm", Query: "b",
			Types: []string{"generic", "npm"}, Total: 1, Pager: pager{Page: 1, PageSize: 50, Total: 1},
			Items:  []adminPackageItem{{Owner: "alice", OwnerPath: "alice", Type: "npm", Name: "@a/b", Path: "alice/-/packages/npm/@a%2Fb", Versions: 3, Size: 1536, Created: 1_700_000_000}},
			Owners: []adminOwnerTotal{{Owner: "alice", FilterURL: "http://x/-/admin/packages?owner=alice", Packages: 1, Size: 1536}}},
			[]string{"<h1>Packages</h1>", `<option value="npm" selected>`, `value="alice"`, `href="http://x/alice/-/packages/npm/@a%2Fb"`, "@a/b",
				`<td class="num">3</td>`, "1.5 KiB", `<td class="num">1536</td>`, `href="http://x/-/admin/packages?owner=alice"`, "Packages (1)", "Owners' totals"}},
		{"admin/packages", adminPackagesPage{adminPage: frame("packages"), Types: []string{"generic"}}, []string{"No packages match.", "No owner has matching packages."}},
		{"admin/cleanup", adminCleanupPage{adminPage: frame("cleanup"), Tasks: []adminCleanupTask{
			{Name: "blobs", Description: "Remove blobs.", Runs: []adminCleanupRun{
				{Started: 1_700_000_000, Finished: 1_700_000_060, Blobs: 2, Bytes: 4096},
				{Started: 1_699_000_000, Error: "disk on fire"}}},
			{Name: "uploads", Description: "Remove temps."}}, Error: "Task \"blobs\" did not run"},
			[]string{"<h1>Cleanup tasks</h1>", `method="post" action="http://x/-/admin/cleanup"`, `name="task" value="blobs"`, "Run now",
				"2023-11-14 22:13 UTC", "2023-11-14 22:14 UTC", "running", "disk on fire", "4096 (4.0 KiB)", "Not run yet.", `name="task" value="uploads"`,
				`<input type="checkbox" id="confirm-blobs" name="confirm" value="yes" required>`, `<label for="confirm-blobs">`, `role="alert">Task &#34;blobs&#34; did not run`}},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, c.name, c.data); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out := buf.String()
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q:\n%s", c.name, w, out)
			}
		}
		if n := strings.Count(out, "<h1"); n != 1 {
			t.Errorf("%s has %d h1 elements", c.name, n)
		}
		if !strings.Contains(out, "<title>T · Wharf</title>") {
			t.Errorf("%s lacks its title", c.name)
		}
	}
}
