package tests

import (
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// TestSDKCompatibility drives the REST API with the Gitea Go SDK, the
// compatibility oracle: version, users, organisations, tokens.
func TestSDKCompatibility(t *testing.T) {
	s := newServer(t)
	admin := s.client(t, gitea.SetToken(s.AdminToken))

	v, _, err := admin.ServerVersion()
	if err != nil || !strings.HasPrefix(v, "1.25.0+wharf-") {
		t.Fatalf("ServerVersion = %q, %v", v, err)
	}
	if err := admin.CheckServerVersionConstraint(">= 1.20"); err != nil {
		t.Fatal(err)
	}
	me, _, err := admin.GetMyUserInfo()
	if err != nil || me.UserName != "root" || !me.IsAdmin {
		t.Fatalf("GetMyUserInfo = %+v, %v", me, err)
	}

	// Admin creates a user; the user signs in with Basic auth.
	f := false
	bob, resp, err := admin.AdminCreateUser(gitea.CreateUserOption{Username: "bob", Email: "bob@example.com", Password: "bob-password", FullName: "Bob Builder", MustChangePassword: &f})
	if err != nil || resp.StatusCode != http.StatusCreated || bob.UserName != "bob" || bob.FullName != "Bob Builder" {
		t.Fatalf("AdminCreateUser = %+v, %v", bob, err)
	}
	_, resp, err = admin.AdminCreateUser(gitea.CreateUserOption{Username: "BOB", Email: "other@example.com", Password: "bob-password"})
	if err == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("duplicate user: %v (status %d), want 422", err, resp.StatusCode)
	}
	bobBasic := s.client(t, gitea.SetBasicAuth("bob", "bob-password"))

	// Tokens: create with the password, use, list, delete by id and name.
	tok, resp, err := bobBasic.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "laptop", Scopes: []gitea.AccessTokenScope{"read:user", "write:organization"}})
	if err != nil || resp.StatusCode != http.StatusCreated || len(tok.Token) != 40 || tok.TokenLastEight != tok.Token[32:] {
		t.Fatalf("CreateAccessToken = %+v, %v", tok, err)
	}
	bobTok := s.client(t, gitea.SetToken(tok.Token))
	if me, _, err := bobTok.GetMyUserInfo(); err != nil || me.UserName != "bob" {
		t.Fatalf("GetMyUserInfo with the new token = %+v, %v", me, err)
	}
	legacy, _, err := bobBasic.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "old-style", Scopes: []gitea.AccessTokenScope{gitea.AccessTokenScopeRepo, gitea.AccessTokenScopeReadOrg}})
	if err != nil || len(legacy.Scopes) != 2 || legacy.Scopes[0] != "read:organization" || legacy.Scopes[1] != "write:repository" {
		t.Fatalf("legacy scopes = %+v, %v", legacy, err)
	}
	list, _, err := bobBasic.ListAccessTokens(gitea.ListAccessTokensOptions{})
	if err != nil || len(list) != 2 || list[0].Token != "" {
		t.Fatalf("ListAccessTokens = %+v, %v (tokens must never be shown again)", list, err)
	}
	if _, err := bobBasic.DeleteAccessToken("old-style"); err != nil {
		t.Fatalf("DeleteAccessToken by name: %v", err)
	}
	if _, err := bobBasic.DeleteAccessToken(tok.ID); err != nil {
		t.Fatalf("DeleteAccessToken by id: %v", err)
	}
	if _, resp, err := bobTok.GetMyUserInfo(); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a deleted token must be refused with 401: %v", err)
	}
	// A token must not mint tokens, even sent as a Basic password.
	bobAll, _, err := bobBasic.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "all", Scopes: []gitea.AccessTokenScope{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []map[string]string{tokenHeader(bobAll.Token), basic("bob", bobAll.Token)} {
		status, _, body := s.do(t, http.MethodPost, "/api/v1/users/bob/tokens", `{"name":"minted","scopes":["all"]}`, h)
		if status != http.StatusForbidden || !strings.Contains(apiMessage(t, body), "password") {
			t.Fatalf("token minting a token: %d %s", status, body)
		}
	}
	if _, err := bobBasic.DeleteAccessToken("all"); err != nil {
		t.Fatal(err)
	}

	// Organisations.
	org, resp, err := bobBasic.CreateOrg(gitea.CreateOrgOption{Name: "builders", FullName: "The Builders", Visibility: gitea.VisibleTypePrivate})
	if err != nil || resp.StatusCode != http.StatusCreated || org.Name != "builders" || org.Visibility != "private" {
		t.Fatalf("CreateOrg = %+v, %v", org, err)
	}
	if got, _, err := bobBasic.GetOrg("Builders"); err != nil || got.ID != org.ID || got.FullName != "The Builders" {
		t.Fatalf("GetOrg = %+v, %v", got, err)
	}
	if ok, _, err := bobBasic.CheckOrgMembership("builders", "bob"); err != nil || !ok {
		t.Fatalf("CheckOrgMembership = %v, %v", ok, err)
	}
	s.createUser(t, "carol")
	carol := s.client(t, gitea.SetBasicAuth("carol", "carol-password"))
	if _, resp, err := carol.GetOrg("builders"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a private org must be 404 to a stranger: %v", err)
	}
	orgs, _, err := bobBasic.ListMyOrgs(gitea.ListOrgsOptions{})
	if err != nil || len(orgs) != 1 || orgs[0].Name != "builders" {
		t.Fatalf("ListMyOrgs = %+v, %v", orgs, err)
	}
	perms, _, err := bobBasic.GetOrgPermissions("builders", "bob")
	if err != nil || !perms.IsOwner || !perms.CanWrite {
		t.Fatalf("GetOrgPermissions = %+v, %v", perms, err)
	}
	members, _, err := bobBasic.ListOrgMembership("builders", gitea.ListOrgMembershipOption{})
	if err != nil || len(members) != 1 || members[0].UserName != "bob" {
		t.Fatalf("ListOrgMembership = %+v, %v", members, err)
	}
	if _, err := carol.DeleteOrg("builders"); err == nil {
		t.Fatal("a stranger deleted the org")
	}

	// Looking up users.
	got, _, err := carol.GetUserInfo("BOB")
	if err != nil || got.ID != bob.ID || got.Email != "bob@example.com" || got.IsAdmin {
		t.Fatalf("GetUserInfo = %+v, %v", got, err)
	}
	byID, _, err := carol.GetUserByID(bob.ID)
	if err != nil || byID.UserName != "bob" {
		t.Fatalf("GetUserByID = %+v, %v", byID, err)
	}
	found, resp, err := carol.SearchUsers(gitea.SearchUsersOption{KeyWord: "bo"})
	if err != nil || len(found) != 1 || found[0].UserName != "bob" || resp.Header.Get("X-Total-Count") != "1" {
		t.Fatalf("SearchUsers = %+v, %v", found, err)
	}
	anon := s.client(t)
	if got, _, err := anon.GetUserInfo("bob"); err != nil || got.Email != "" {
		t.Fatalf("anonymous GetUserInfo must hide the e-mail: %+v, %v", got, err)
	}

	// Deleting: the org blocks its last owner's deletion; then both go.
	resp, err = admin.AdminDeleteUser("bob")
	if err == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "builders") {
		t.Fatalf("deleting the last owner of an org: %v, want 422 naming the org", err)
	}
	if _, err := bobBasic.DeleteOrg("builders"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AdminDeleteUser("bob"); err != nil {
		t.Fatal(err)
	}
	if _, resp, err := admin.GetUserInfo("bob"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted user still visible: %v", err)
	}
}

// TestAuthForms accepts every credential form Gitea clients send.
func TestAuthForms(t *testing.T) {
	s := newServer(t)
	tok := s.AdminToken
	forms := map[string]map[string]string{
		"basic password":        basic("root", "root-password"),
		"basic user+token":      basic("root", tok),
		"basic token+x-oauth":   basic(tok, "x-oauth-basic"),
		"basic token+empty":     basic(tok, ""),
		"token header":          tokenHeader(tok),
		"bearer header":         {"Authorization": "Bearer " + tok},
		"lower-case scheme":     {"Authorization": "bearer " + tok},
		"basic other+token too": basic("anyone", tok),
	}
	for name, h := range forms {
		t.Run(name, func(t *testing.T) {
			status, _, body := s.do(t, http.MethodGet, "/api/v1/user", "", h)
			if status != http.StatusOK || !strings.Contains(body, `"login":"root"`) {
				t.Fatalf("status %d: %s", status, body)
			}
		})
	}
}

// TestPaging follows Gitea's page/limit, X-Total-Count and Link.
func TestPaging(t *testing.T) {
	s := newServer(t)
	for _, n := range []string{"user-a", "user-b", "user-c", "user-d", "user-e"} {
		s.createUser(t, n)
	}
	admin := s.client(t, gitea.SetToken(s.AdminToken))
	users, resp, err := admin.SearchUsers(gitea.SearchUsersOption{ListOptions: gitea.ListOptions{Page: 2, PageSize: 2}, KeyWord: "user-"})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].UserName != "user-c" || users[1].UserName != "user-d" {
		t.Fatalf("page 2 = %v", users)
	}
	if resp.Header.Get("X-Total-Count") != "5" {
		t.Fatalf("X-Total-Count = %q", resp.Header.Get("X-Total-Count"))
	}
	if resp.NextPage != 3 || resp.PrevPage != 1 || resp.FirstPage != 1 || resp.LastPage != 3 {
		t.Fatalf("Link pages: next %d prev %d first %d last %d (%s)", resp.NextPage, resp.PrevPage, resp.FirstPage, resp.LastPage, resp.Header.Get("Link"))
	}
	all, _, err := admin.AdminListUsers(gitea.AdminListUsersOptions{ListOptions: gitea.ListOptions{PageSize: 1000}})
	if err != nil || len(all) != 6 {
		t.Fatalf("a limit over the maximum is clamped, not refused: %d users, %v", len(all), err)
	}
}
