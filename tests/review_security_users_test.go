package tests

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestReviewPrivateUserEmbedded: a private user (404 from /api/v1/users/
// for anyone but itself and admins) who publishes into a public
// organisation is embedded in the packages API as the version's creator;
// its e-mail address must not reach a signed-in stranger there (it did:
// every signed-in viewer got every embedded user's address).
func TestReviewPrivateUserEmbedded(t *testing.T) {
	s := newServer(t)
	admin := tokenHeader(s.AdminToken)
	status, _, body := s.do(t, "POST", "/api/v1/admin/users", `{"username":"shade","email":"shade@hidden.example","password":"shade-password",
		"must_change_password":false,"visibility":"private"}`, admin)
	if status != http.StatusCreated {
		t.Fatalf("create shade: %d %s", status, body)
	}
	s.createUser(t, "stranger")
	shade, stranger := basic("shade", "shade-password"), basic("stranger", "stranger-password")
	if status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"pub","visibility":"public"}`, shade); status != http.StatusCreated {
		t.Fatalf("create org: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/pub/generic/tool/1.0/f.bin", "bytes", shade); status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	if status, _, body := s.do(t, "GET", "/api/v1/users/shade", "", stranger); status != http.StatusNotFound {
		t.Fatalf("precondition: the stranger may not see shade: %d %s", status, body)
	}

	type user struct {
		Login string `json:"login"`
		Email string `json:"email"`
	}
	type pkg struct {
		Owner   user  `json:"owner"`
		Creator *user `json:"creator"`
	}
	creators := func(t *testing.T, path string, h map[string]string) []*user {
		t.Helper()
		status, _, body := s.do(t, "GET", path, "", h)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		var out []*user
		if strings.HasPrefix(strings.TrimSpace(body), "[") {
			var ps []pkg
			if err := json.Unmarshal([]byte(body), &ps); err != nil {
				t.Fatalf("GET %s: %v: %s", path, err, body)
			}
			for _, p := range ps {
				out = append(out, p.Creator)
			}
		} else {
			var p pkg
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("GET %s: %v: %s", path, err, body)
			}
			out = append(out, p.Creator)
		}
		if len(out) == 0 {
			t.Fatalf("GET %s: no package", path)
		}
		for _, c := range out {
			if c == nil || c.Login != "shade" {
				t.Fatalf("GET %s: creator %+v, want shade", path, c)
			}
		}
		if strings.Contains(body, "shade@hidden.example") && h != nil && h["Authorization"] == stranger["Authorization"] {
			t.Errorf("GET %s shows the private user's address to a stranger: %s", path, body)
		}
		return out
	}
	for _, path := range []string{"/api/v1/packages/pub", "/api/v1/packages/pub/generic/tool", "/api/v1/packages/pub/generic/tool/1.0",
		"/api/v1/packages/pub/generic/tool/-/latest"} {
		for _, c := range creators(t, path, stranger) {
			if c.Email != "" {
				t.Errorf("GET %s as a stranger: creator email %q, want none", path, c.Email)
			}
		}
		// Who may see shade still sees the address.
		for name, h := range map[string]map[string]string{"shade": shade, "admin": admin} {
			for _, c := range creators(t, path, h) {
				if c.Email != "shade@hidden.example" {
					t.Errorf("GET %s as %s: creator email %q, want the real one", path, name, c.Email)
				}
			}
		}
	}
}

// TestReviewMembershipProbes: the membership check and the permissions
// route must not tell a caller who may not list an organisation's members
// whether a user it may not see exists or belongs (GET …/members/{u}
// answered 204 to a stranger for a private member, …/permissions 403 for
// an existing private user but 404 for an unknown name, and a private
// organisation's name was confirmed by 422 "is an organisation").
func TestReviewMembershipProbes(t *testing.T) {
	s := newServer(t)
	admin := tokenHeader(s.AdminToken)
	status, _, body := s.do(t, "POST", "/api/v1/admin/users", `{"username":"shade","email":"shade@hidden.example","password":"shade-password",
		"must_change_password":false,"visibility":"private"}`, admin)
	if status != http.StatusCreated {
		t.Fatalf("create shade: %d %s", status, body)
	}
	s.createUser(t, "stranger")
	s.createUser(t, "member")
	shade, stranger, member := basic("shade", "shade-password"), basic("stranger", "stranger-password"), basic("member", "member-password")
	for _, o := range []string{`{"username":"pub","visibility":"public"}`, `{"username":"secretorg","visibility":"private"}`} {
		if status, _, body := s.do(t, "POST", "/api/v1/orgs", o, shade); status != http.StatusCreated {
			t.Fatalf("create org: %d %s", status, body)
		}
	}
	if status, _, body := s.do(t, "PUT", "/api/v1/orgs/pub/members/member", `{"role":"read"}`, shade); status != http.StatusNoContent {
		t.Fatalf("add member: %d %s", status, body)
	}

	for _, c := range []struct {
		who  string
		h    map[string]string
		path string
		want int
	}{
		// A stranger learns nothing: a private member, a public member, an
		// unknown name, a private organisation's name all look the same.
		{"stranger", stranger, "/api/v1/orgs/pub/members/shade", 404},
		{"stranger", stranger, "/api/v1/orgs/pub/members/member", 404},
		{"stranger", stranger, "/api/v1/orgs/pub/members/nobody", 404},
		{"stranger", stranger, "/api/v1/orgs/pub/members/secretorg", 404},
		{"anonymous", nil, "/api/v1/orgs/pub/members/shade", 404},
		{"anonymous", nil, "/api/v1/orgs/pub/members/member", 404},
		{"stranger", stranger, "/api/v1/users/shade/orgs/pub/permissions", 404},
		{"stranger", stranger, "/api/v1/users/nobody/orgs/pub/permissions", 404},
		{"stranger", stranger, "/api/v1/users/secretorg/orgs/pub/permissions", 404},
		// The caller itself, members and admins get the real answers.
		{"stranger", stranger, "/api/v1/orgs/pub/members/stranger", 404},
		{"member", member, "/api/v1/orgs/pub/members/member", 204},
		{"member", member, "/api/v1/orgs/pub/members/shade", 204},
		{"member", member, "/api/v1/orgs/pub/members/stranger", 404},
		{"shade", shade, "/api/v1/orgs/pub/members/member", 204},
		{"admin", admin, "/api/v1/orgs/pub/members/shade", 204},
		{"admin", admin, "/api/v1/orgs/pub/members/stranger", 404},
		{"member", member, "/api/v1/users/member/orgs/pub/permissions", 200},
		{"stranger", stranger, "/api/v1/users/member/orgs/pub/permissions", 403},
		{"admin", admin, "/api/v1/users/shade/orgs/pub/permissions", 200},
	} {
		status, _, body := s.do(t, "GET", c.path, "", c.h)
		if status != c.want {
			t.Errorf("GET %s as %s: %d, want %d: %s", c.path, c.who, status, c.want, body)
		}
		if status == http.StatusNotFound && len(bytes.TrimSpace([]byte(body))) > 0 {
			_ = apiMessage(t, body) // Gitea's shape, when there is a body
		}
	}
}
