package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// virtualFixture is an instance with three organisations and a virtual
// one: team-a (public), team-b (public), secret (private, alice's), and
// hub, whose owner is root.
type virtualFixture struct {
	s      *server
	rootH  map[string]string
	aliceH map[string]string
	bobH   map[string]string
}

func newVirtualFixture(t *testing.T) *virtualFixture {
	t.Helper()
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	f := &virtualFixture{s: s, rootH: tokenHeader(s.AdminToken), aliceH: basic("alice", "alice-password"), bobH: basic("bob", "bob-password")}
	root := s.client(t, gitea.SetToken(s.AdminToken))
	for _, name := range []string{"team-a", "team-b", "hub"} {
		if _, _, err := root.CreateOrg(gitea.CreateOrgOption{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "secret", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	return f
}

// putVirtual sets a virtual registry and returns the status and body.
func (f *virtualFixture) putVirtual(t *testing.T, owner, typ, body string, h map[string]string) (int, string) {
	t.Helper()
	status, _, out := f.s.do(t, "PUT", "/api/v1/packages/"+owner+"/-/virtual/"+typ, body, h)
	return status, out
}

func (f *virtualFixture) upload(t *testing.T, owner, name, version, content string, h map[string]string) {
	t.Helper()
	path := fmt.Sprintf("/api/packages/%s/generic/%s/%s/f.txt", owner, name, version)
	if status, _, body := f.s.do(t, "PUT", path, content, h); status != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", path, status, body)
	}
}

// TestVirtualConfiguration: the API sets and shows a virtual registry,
// hides credentials and owners the caller may not see, and refuses every
// bad configuration with 422 and a message, storing nothing.
func TestVirtualConfiguration(t *testing.T) {
	f := newVirtualFixture(t)
	const good = `{"members":[{"owner":"team-a","include":["lib-*"]},{"owner":"team-b"},{"url":"https://registry.example/npm","token":"s3cret"}],"publish_to":"team-b"}`
	status, body := f.putVirtual(t, "hub", "npm", good, f.rootH)
	if status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if strings.Contains(body, "s3cret") {
		t.Fatalf("the token is echoed: %s", body)
	}
	status, _, body = f.s.do(t, "GET", "/api/v1/packages/hub/-/virtual/npm", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET: %d %s", status, body)
	}
	var got struct {
		Virtual bool `json:"virtual"`
		Members []struct {
			Owner    string   `json:"owner"`
			URL      string   `json:"url"`
			HasToken bool     `json:"has_token"`
			Include  []string `json:"include"`
			Hidden   bool     `json:"hidden"`
		} `json:"members"`
		PublishTo string `json:"publish_to"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Virtual || len(got.Members) != 3 || got.Members[0].Owner != "team-a" || got.Members[0].Include[0] != "lib-*" ||
		got.Members[1].Owner != "team-b" || got.Members[2].URL != "https://registry.example/npm/" || !got.Members[2].HasToken ||
		got.PublishTo != "team-b" || strings.Contains(body, "s3cret") {
		t.Fatalf("GET shows %s", body)
	}

	// A private member is a hidden place to those who may not see it.
	status, body = f.putVirtual(t, "hub", "generic", `{"members":[{"owner":"secret"},{"owner":"team-a"}]}`, f.rootH)
	if status != http.StatusOK {
		t.Fatalf("PUT with a private member: %d %s", status, body)
	}
	_, _, body = f.s.do(t, "GET", "/api/v1/packages/hub/-/virtual/generic", "", f.bobH)
	if strings.Contains(body, "secret") || !strings.Contains(body, `"hidden":true`) {
		t.Fatalf("bob sees the private member: %s", body)
	}

	// Bad configurations: 422 with a message; the stored one stays.
	if status, body := f.putVirtual(t, "team-b", "generic", `{"members":[{"owner":"hub"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("team-b virtual: %d %s", status, body)
	}
	cases := []struct{ name, owner, typ, body, want string }{
		{"cycle", "hub", "generic", `{"members":[{"owner":"team-b"}]}`, "cycle"},
		{"itself", "hub", "npm", `{"members":[{"owner":"hub"}]}`, "own member"},
		{"no such owner", "hub", "npm", `{"members":[{"owner":"nobody"}]}`, `no owner "nobody"`},
		{"private owner bob cannot see", "hub", "npm", `{"members":[{"owner":"secret"}]}`, `no owner "secret"`},
		{"ftp upstream", "hub", "npm", `{"members":[{"url":"ftp://registry.example/"}]}`, "http(s)"},
		{"credentials in the url", "hub", "npm", `{"members":[{"url":"https://u:p@registry.example/"}]}`, "without credentials"},
		{"this instance", "hub", "npm", fmt.Sprintf(`{"members":[{"url":%q}]}`, f.s.URL+"/api/packages/team-a/npm/"), "this instance"},
		{"upstream for generic", "hub", "generic", `{"members":[{"url":"https://registry.example/"}]}`, "no upstreams"},
		{"both", "hub", "npm", `{"members":[{"owner":"team-a","url":"https://registry.example/"}]}`, "not both"},
		{"neither", "hub", "npm", `{"members":[{}]}`, "owner or a url"},
		{"twice", "hub", "npm", `{"members":[{"owner":"team-a"},{"owner":"TEAM-A"}]}`, "twice"},
		{"publish_to not a member", "hub", "npm", `{"members":[{"owner":"team-a"}],"publish_to":"team-b"}`, "publish_to"},
		{"bad pattern", "hub", "npm", `{"members":[{"owner":"team-a","include":["[a-"]}]}`, "pattern"},
		{"user, not organisation", "alice", "npm", `{"members":[{"owner":"team-a"}]}`, "only an organisation"},
		{"rubygems", "hub", "rubygems", `{"members":[{"owner":"team-a"}]}`, "npm, composer, cargo or generic"},
	}
	for _, c := range cases {
		h := f.rootH
		if c.name == "private owner bob cannot see" || c.owner == "alice" {
			h = f.bobH
			if c.owner == "alice" {
				h = f.aliceH
			}
		}
		if c.name == "private owner bob cannot see" {
			// bob owns an organisation of his own to configure.
			bob := f.s.client(t, gitea.SetBasicAuth("bob", "bob-password"))
			if _, _, err := bob.CreateOrg(gitea.CreateOrgOption{Name: "bobs"}); err != nil {
				t.Fatal(err)
			}
			c.owner = "bobs"
		}
		status, _, body := f.s.do(t, "PUT", "/api/v1/packages/"+c.owner+"/-/virtual/"+c.typ, c.body, h)
		if status != http.StatusUnprocessableEntity || !strings.Contains(apiMessage(t, body), c.want) {
			t.Errorf("%s: %d %s (want 422 mentioning %q)", c.name, status, body, c.want)
		}
	}
	_, _, body = f.s.do(t, "GET", "/api/v1/packages/hub/-/virtual/npm", "", f.rootH)
	if !strings.Contains(body, `"team-b"`) || !strings.Contains(body, "registry.example") {
		t.Fatalf("a refused PUT changed the stored registry: %s", body)
	}

	// Who may set it: an owner of the organisation or an administrator.
	if status, body := f.putVirtual(t, "hub", "npm", `{"members":[]}`, f.bobH); status != http.StatusForbidden {
		t.Fatalf("bob sets hub's registry: %d %s", status, body)
	}
	if status, body := f.putVirtual(t, "hub", "npm", `{"members":[]}`, nil); status != http.StatusUnauthorized {
		t.Fatalf("anonymous sets hub's registry: %d %s", status, body)
	}
	if status, body := f.putVirtual(t, "secret", "npm", `{"members":[]}`, f.bobH); status != http.StatusNotFound {
		t.Fatalf("bob configures a private organisation he cannot see: %d %s", status, body)
	}
	if status, body := f.putVirtual(t, "hub", "npm", `{"members":[],"extra":1}`, f.rootH); status != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %s", status, body)
	}

	// An empty list makes hub an ordinary registry again.
	if status, body := f.putVirtual(t, "hub", "npm", `{"members":[]}`, f.rootH); status != http.StatusOK || !strings.Contains(body, `"virtual":false`) {
		t.Fatalf("unmark: %d %s", status, body)
	}

	// Deleting an owner takes it out of the registries it is a member of
	// (team-b of hub's generic one), and its own go with it.
	if status, _, body := f.s.do(t, "PUT", "/api/v1/packages/hub/-/virtual/generic", `{"members":[{"owner":"team-b"},{"owner":"team-a"}]}`, f.rootH); status != http.StatusUnprocessableEntity {
		t.Fatalf("a cycle: %d %s", status, body)
	}
	if status, _, body := f.s.do(t, "PUT", "/api/v1/packages/hub/-/virtual/generic", `{"members":[{"owner":"team-a"},{"owner":"secret"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if status, _, body := f.s.do(t, "PUT", "/api/v1/packages/team-a/-/virtual/npm", `{"members":[{"owner":"team-b"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if status, _, body := f.s.do(t, "DELETE", "/api/v1/orgs/team-b", "", f.rootH); status != http.StatusNoContent {
		t.Fatalf("delete team-b: %d %s", status, body)
	}
	if status, _, body := f.s.do(t, "DELETE", "/api/v1/orgs/team-a", "", f.rootH); status != http.StatusNoContent {
		t.Fatalf("delete team-a: %d %s", status, body)
	}
	_, _, body = f.s.do(t, "GET", "/api/v1/packages/hub/-/virtual/generic", "", f.rootH)
	if strings.Contains(body, "team-a") || !strings.Contains(body, `"secret"`) {
		t.Fatalf("hub's generic registry after team-a was deleted: %s", body)
	}
	if status, _, body := f.s.do(t, "PUT", "/api/v1/packages/hub/-/virtual/generic", `{}`, f.rootH); status != http.StatusUnprocessableEntity {
		t.Fatalf("PUT without members: %d %s", status, body)
	}
}

// TestVirtualGeneric: a file resolves to the first member that has the
// package, never a mix; a private member's package is invisible to an
// outsider, who gets 404 rather than a later member's package of the
// name; uploads go to the publishing member or are refused naming it.
func TestVirtualGeneric(t *testing.T) {
	f := newVirtualFixture(t)
	f.upload(t, "team-a", "tool", "1.0.0", "tool from team-a", f.rootH)
	f.upload(t, "team-b", "tool", "2.0.0", "tool from team-b", f.rootH)
	f.upload(t, "team-b", "only-b", "1.0.0", "only in team-b", f.rootH)
	f.upload(t, "secret", "hidden", "1.0.0", "secret bytes", f.aliceH)
	f.upload(t, "team-b", "hidden", "1.0.0", "team-b's hidden", f.rootH)
	if status, body := f.putVirtual(t, "hub", "generic", `{"members":[{"owner":"secret"},{"owner":"team-a"},{"owner":"team-b"}]}`, f.aliceH); status != http.StatusForbidden {
		t.Fatalf("alice is no owner of hub: %d %s", status, body)
	}
	if status, body := f.putVirtual(t, "hub", "generic", `{"members":[{"owner":"secret"},{"owner":"team-a"},{"owner":"team-b"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	get := func(path string, h map[string]string) (int, string) {
		t.Helper()
		status, _, body := f.s.do(t, "GET", "/api/packages/hub/generic/"+path, "", h)
		return status, body
	}
	if status, body := get("tool/1.0.0/f.txt", nil); status != 200 || body != "tool from team-a" {
		t.Fatalf("tool 1.0.0: %d %q", status, body)
	}
	// team-a holds "tool": team-b's 2.0.0 is never mixed in.
	if status, body := get("tool/2.0.0/f.txt", nil); status != 404 {
		t.Fatalf("tool 2.0.0 from the second member: %d %q", status, body)
	}
	if status, body := get("only-b/1.0.0/f.txt", nil); status != 200 || body != "only in team-b" {
		t.Fatalf("only-b: %d %q", status, body)
	}
	// secret comes first and holds "hidden": alice reads it, bob gets 404
	// (not team-b's package of the name).
	if status, body := get("hidden/1.0.0/f.txt", f.aliceH); status != 200 || body != "secret bytes" {
		t.Fatalf("alice reads hidden: %d %q", status, body)
	}
	if status, body := get("hidden/1.0.0/f.txt", f.bobH); status != 404 || strings.Contains(body, "team-b") {
		t.Fatalf("bob reads hidden: %d %q", status, body)
	}
	// Uploads: refused without a publishing member, naming the members.
	status, _, body := f.s.do(t, "PUT", "/api/packages/hub/generic/new/1.0.0/f.txt", "x", f.rootH)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "team-a") {
		t.Fatalf("upload to hub without publish_to: %d %s", status, body)
	}
	if status, body := f.putVirtual(t, "hub", "generic", `{"members":[{"owner":"secret"},{"owner":"team-a"},{"owner":"team-b"}],"publish_to":"team-b"}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if status, _, body := f.s.do(t, "PUT", "/api/packages/hub/generic/new/1.0.0/f.txt", "x", f.bobH); status != http.StatusForbidden {
		t.Fatalf("bob may not write team-b: %d %s", status, body)
	}
	f.upload(t, "hub", "new", "1.0.0", "published through hub", f.rootH)
	if status, _, body := f.s.do(t, "GET", "/api/packages/team-b/generic/new/1.0.0/f.txt", "", nil); status != 200 || body != "published through hub" {
		t.Fatalf("the upload did not land in team-b: %d %q", status, body)
	}
	if status, _, body := f.s.do(t, "DELETE", "/api/packages/hub/generic/new/1.0.0", "", f.rootH); status != http.StatusUnprocessableEntity {
		t.Fatalf("delete through hub: %d %s", status, body)
	}
	// Patterns: team-a lets only lib-* through; "tool" now comes from team-b.
	if status, body := f.putVirtual(t, "hub", "generic", `{"members":[{"owner":"team-a","include":["lib-*"]},{"owner":"team-b"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if status, body := get("tool/2.0.0/f.txt", nil); status != 200 || body != "tool from team-b" {
		t.Fatalf("tool through the patterns: %d %q", status, body)
	}
	// Nested: mid is virtual over team-b; hub takes only only-* through
	// mid, then team-a. The patterns on the way apply to mid's members.
	if _, _, err := f.s.client(t, gitea.SetToken(f.s.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "mid"}); err != nil {
		t.Fatal(err)
	}
	if status, body := f.putVirtual(t, "mid", "generic", `{"members":[{"owner":"team-b"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT mid: %d %s", status, body)
	}
	if status, body := f.putVirtual(t, "hub", "generic", `{"members":[{"owner":"mid","include":["only-*"]},{"owner":"team-a"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT hub: %d %s", status, body)
	}
	if status, body := get("only-b/1.0.0/f.txt", nil); status != 200 || body != "only in team-b" {
		t.Fatalf("only-b through mid: %d %q", status, body)
	}
	if status, body := get("tool/1.0.0/f.txt", nil); status != 200 || body != "tool from team-a" {
		t.Fatalf("tool past mid's patterns: %d %q", status, body)
	}
	if status, body := f.putVirtual(t, "mid", "generic", `{"members":[{"owner":"hub"}]}`, f.rootH); status != http.StatusUnprocessableEntity {
		t.Fatalf("a cycle through a nested registry: %d %s", status, body)
	}
}
