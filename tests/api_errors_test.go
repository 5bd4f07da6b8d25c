package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// TestBadInput checks that every client mistake gets a 4xx with Gitea's
// error shape and a message that says what was wrong, and nothing else.
func TestBadInput(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "owner1")
	owner := s.client(t, gitea.SetBasicAuth("owner1", "owner1-password"))
	if _, _, err := owner.CreateOrg(gitea.CreateOrgOption{Name: "hidden", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	readUser, _, err := s.client(t, gitea.SetBasicAuth("owner1", "owner1-password")).CreateAccessToken(gitea.CreateAccessTokenOption{Name: "ro", Scopes: []gitea.AccessTokenScope{"read:user"}})
	if err != nil {
		t.Fatal(err)
	}
	adminH := tokenHeader(s.AdminToken)
	ownerH := basic("owner1", "owner1-password")
	long := strings.Repeat("x", 41)

	cases := []struct {
		name         string
		method, path string
		body         string
		header       map[string]string
		status       int
		msg          string
	}{
		{"malformed JSON", "POST", "/api/v1/orgs", `{"username": "x"`, ownerH, 400, "invalid JSON"},
		{"not an object", "POST", "/api/v1/orgs", `[1,2]`, ownerH, 400, "invalid JSON"},
		{"empty body", "POST", "/api/v1/orgs", ``, ownerH, 400, "JSON object"},
		{"wrong type", "POST", "/api/v1/orgs", `{"username": 5}`, ownerH, 400, `"username"`},
		{"unknown field", "POST", "/api/v1/orgs", `{"username":"typo","visiblity":"private"}`, ownerH, 400, "visiblity"},
		{"trailing data", "POST", "/api/v1/orgs", `{"username":"a1"} {}`, ownerH, 400, "after the object"},
		{"over-long name", "POST", "/api/v1/orgs", `{"username":"` + long + `"}`, ownerH, 422, "longer than 40"},
		{"reserved name", "POST", "/api/v1/orgs", `{"username":"api"}`, ownerH, 422, "reserved"},
		{"reserved suffix", "POST", "/api/v1/orgs", `{"username":"team.git"}`, ownerH, 422, "reserved"},
		{"bad characters", "POST", "/api/v1/orgs", `{"username":"a/b"}`, ownerH, 422, "may only contain"},
		{"traversal name", "POST", "/api/v1/orgs", `{"username":".."}`, ownerH, 422, ""},
		{"bad visibility", "POST", "/api/v1/orgs", `{"username":"vis","visibility":"secret"}`, ownerH, 422, "visibility"},
		{"duplicate org", "POST", "/api/v1/orgs", `{"username":"HIDDEN"}`, ownerH, 422, "already exists"},
		{"org named like a user", "POST", "/api/v1/orgs", `{"username":"owner1"}`, ownerH, 422, "already exists"},
		{"duplicate user", "POST", "/api/v1/admin/users", `{"username":"Owner1","email":"o2@example.com","password":"password1"}`, adminH, 422, "already exists"},
		{"short password", "POST", "/api/v1/admin/users", `{"username":"shorty","email":"s@example.com","password":"abc"}`, adminH, 422, "password"},
		{"bad e-mail", "POST", "/api/v1/admin/users", `{"username":"mailless","email":"nope","password":"password1"}`, adminH, 422, "e-mail"},
		{"huge body", "POST", "/api/v1/orgs", `{"description":"` + strings.Repeat("a", 1<<20) + `"}`, ownerH, 413, "larger than"},
		{"wrong password", "GET", "/api/v1/user", ``, basic("owner1", "nope-nope"), 401, "password is wrong"},
		{"unknown user", "GET", "/api/v1/user", ``, basic("ghost", "password1"), 401, "password is wrong"},
		{"bogus token", "GET", "/api/v1/user", ``, tokenHeader(strings.Repeat("0", 40)), 401, "invalid access token"},
		{"unknown scheme", "GET", "/api/v1/user", ``, map[string]string{"Authorization": "Digest abc"}, 401, "unsupported"},
		{"bad basic", "GET", "/api/v1/user", ``, map[string]string{"Authorization": "Basic !!!"}, 401, "malformed"},
		{"no credentials", "GET", "/api/v1/user", ``, nil, 401, "sign in"},
		{"token without scope", "POST", "/api/v1/orgs", `{"username":"scoped"}`, tokenHeader(readUser.Token), 403, "write:organization"},
		{"token without read scope", "GET", "/api/v1/orgs/hidden", ``, tokenHeader(readUser.Token), 403, "read:organization"},
		{"non-admin on admin route", "POST", "/api/v1/admin/users", `{"username":"x1","email":"x1@example.com","password":"password1"}`, ownerH, 403, "administrator"},
		{"private org, anonymous", "GET", "/api/v1/orgs/hidden", ``, nil, 404, "does not exist"},
		{"unknown user lookup", "GET", "/api/v1/users/nobody", ``, nil, 404, "does not exist"},
		{"unknown route", "GET", "/api/v1/nothing/here", ``, nil, 404, "not found"},
		{"wrong method", "PUT", "/api/v1/version", ``, nil, 405, "not allowed"},
		{"bad paging", "GET", "/api/v1/users/search?page=two", ``, nil, 400, "page"},
		{"bad role", "PUT", "/api/v1/orgs/hidden/members/root", `{"role":"king"}`, ownerH, 422, "role"},
		{"bad token scope", "POST", "/api/v1/users/owner1/tokens", `{"name":"x","scopes":["root"]}`, ownerH, 400, "scope"},
		{"token without scope list", "POST", "/api/v1/users/owner1/tokens", `{"name":"x"}`, ownerH, 400, "must have a scope"},
		{"token for someone else", "POST", "/api/v1/users/root/tokens", `{"name":"x","scopes":["all"]}`, ownerH, 403, "your own"},
		{"delete the last admin (self)", "DELETE", "/api/v1/admin/users/root", ``, adminH, 422, "yourself"},
		{"delete the last owner", "DELETE", "/api/v1/admin/users/owner1", ``, adminH, 422, "hidden"},
		{"delete an unknown user", "DELETE", "/api/v1/admin/users/nobody", ``, adminH, 404, "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := s.do(t, c.method, c.path, c.body, c.header)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			msg := apiMessage(t, body)
			if !strings.Contains(msg, c.msg) {
				t.Fatalf("message %q does not contain %q", msg, c.msg)
			}
			// As in Gitea, the url names the API's documentation, whatever failed.
			var e struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.URL != s.URL+"/swagger.v1.json" {
				t.Fatalf("error url %q, want %s/swagger.v1.json (%v)", e.URL, s.URL, err)
			}
			if status == http.StatusUnauthorized && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic realm=") {
				t.Fatalf("401 without WWW-Authenticate: %v", hdr)
			}
		})
	}

	// Nothing was stored by the failed requests.
	orgs, _, err := s.client(t, gitea.SetToken(s.AdminToken)).AdminListOrgs(gitea.AdminListOrgsOptions{})
	if err != nil || len(orgs) != 1 || orgs[0].Name != "hidden" {
		t.Fatalf("only the one valid org may exist: %+v, %v", orgs, err)
	}
	users, _, err := s.client(t, gitea.SetToken(s.AdminToken)).AdminListUsers(gitea.AdminListUsersOptions{})
	if err != nil || len(users) != 2 {
		t.Fatalf("only root and owner1 may exist: %+v, %v", users, err)
	}
}
