package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestReviewNULIsTheClientsMistake: a NUL byte in a name, a path, a query
// or the Basic user name is the client's mistake. On PostgreSQL, which
// refuses NUL in text, each of these answered 500 (and logged an error),
// for anonymous callers too; a NUL in the Basic user name did so on every
// route without counting as a failed sign-in. Now a path names nothing
// (404), a query is invalid (400), and credentials are wrong (401, counted),
// each in the family's own shape.
func TestReviewNULIsTheClientsMistake(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "bob")
	bob := basic("bob", "bob-password")
	if status, _, body := s.do(t, "POST", "/api/v1/user/repos", `{"name":"r","auto_init":true}`, bob); status != http.StatusCreated {
		t.Fatalf("create repo: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/bob/generic/g/1.0/f.bin", "x", bob); status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	const (
		api      = "api"      // Gitea's {"message","url"}
		plain    = "plain"    // text
		page     = "page"     // an HTML error page with the site's frame
		npm      = "npm"      // {"error"}: a package format answers in its client's shape
		composer = "composer" // {"errors":[{"status","message"}]}
	)
	for _, c := range []struct {
		path  string
		want  int
		shape string
	}{
		{"/api/v1/users/a%00b", 404, api},
		{"/api/v1/repos/bob/a%00b", 404, api},
		{"/api/v1/packages/bob?q=a%00b", 400, api},
		{"/api/v1/packages/bob/generic/a%00b", 404, api},
		{"/api/v1/packages/bob/generic/g/a%00b", 404, api},
		{"/api/v1/users/search?q=a%00b", 400, api},
		{"/bob/r/archive/a%00b.zip", 404, api},
		{"/api/packages/bob/npm/a%00b", 404, npm},
		{"/api/packages/bob/npm/-/v1/search?text=a%00b", 400, npm},
		{"/api/packages/-/npm/-/v1/search?text=a%00b", 400, npm},
		{"/api/packages/bob/composer/p2/a%00b/c.json", 404, composer},
		{"/api/packages/bob/composer/search.json?q=a%00b", 400, composer},
		{"/bob/a%00b", 404, page},
		{"/bob/-/packages/generic/a%00b/1.0", 404, page},
		{"/bob/a%00b/info/refs?service=git-upload-pack", 404, plain},
	} {
		for _, who := range []struct {
			name string
			h    map[string]string
		}{{"anonymous", nil}, {"bob", bob}} {
			status, h, body := s.do(t, "GET", c.path, "", who.h)
			if status != c.want {
				t.Errorf("GET %s as %s: %d, want %d: %s", c.path, who.name, status, c.want, body)
				continue
			}
			switch c.shape {
			case api:
				var e struct {
					Message string `json:"message"`
					URL     string `json:"url"`
				}
				dec := json.NewDecoder(strings.NewReader(body))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&e); err != nil || e.Message == "" || !strings.HasSuffix(e.URL, "/swagger.v1.json") {
					t.Errorf("GET %s as %s: not Gitea's error shape: %q", c.path, who.name, body)
				}
			case plain:
				if !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || strings.Contains(body, "internal error") {
					t.Errorf("GET %s as %s: %q %q", c.path, who.name, h.Get("Content-Type"), body)
				}
			case page:
				if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "<h1>404") || strings.Contains(body, "internal error") {
					t.Errorf("GET %s as %s: %q %q", c.path, who.name, h.Get("Content-Type"), body)
				}
			case npm:
				var e struct {
					Error string `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || strings.Contains(body, "internal error") {
					t.Errorf("GET %s as %s: not npm's error shape: %q", c.path, who.name, body)
				}
			case composer:
				var e struct {
					Errors []struct {
						Status  int    `json:"status"`
						Message string `json:"message"`
					} `json:"errors"`
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Status != c.want || strings.Contains(body, "internal error") {
					t.Errorf("GET %s as %s: not Composer's error shape: %q", c.path, who.name, body)
				}
			}
		}
	}

	// JSON bodies: a string with \u0000 is invalid (it was 500 on
	// PostgreSQL for a repository's description, an organisation's name,
	// a token's name, a new user's full name or address).
	jsonBob := map[string]string{"Content-Type": "application/json", "Authorization": bob["Authorization"]}
	jsonAdmin := map[string]string{"Content-Type": "application/json", "Authorization": "token " + s.AdminToken}
	for _, c := range []struct {
		method, path, body, field string
		h                         map[string]string
	}{
		{"POST", "/api/v1/user/repos", `{"name":"x1","description":"a\u0000b"}`, "description", jsonBob},
		{"POST", "/api/v1/orgs", `{"username":"o1","full_name":"a\u0000b"}`, "full_name", jsonBob},
		{"POST", "/api/v1/users/bob/tokens", `{"name":"a\u0000b","scopes":["all"]}`, "name", jsonBob},
		{"POST", "/api/v1/admin/users", `{"username":"u1","email":"u1@example.com","password":"password1","full_name":"a\u0000b"}`, "full_name", jsonAdmin},
		{"POST", "/api/v1/admin/users", `{"username":"u2","email":"u2\u0000@example.com","password":"password1"}`, "email", jsonAdmin},
	} {
		status, _, body := s.do(t, c.method, c.path, c.body, c.h)
		if status != http.StatusBadRequest {
			t.Errorf("%s %s with a NUL in %s: %d, want 400: %s", c.method, c.path, c.field, status, body)
			continue
		}
		if msg := apiMessage(t, body); !strings.Contains(msg, c.field) {
			t.Errorf("%s %s: the message does not name %s: %q", c.method, c.path, c.field, msg)
		}
	}

	// The Basic user name: wrong credentials, which count as a failure.
	for _, path := range []string{"/api/v1/user", "/api/packages/bob/generic/g/1.0/f.bin", "/bob/r.git/info/refs?service=git-upload-pack"} {
		status, _, body := s.do(t, "GET", path, "", basic("b\x00ob", "bob-password"))
		if status != http.StatusUnauthorized {
			t.Errorf("GET %s with a NUL in the user name: %d, want 401: %s", path, status, body)
		}
	}
	// A NUL-bearing token in Basic (token as user, empty password).
	if status, _, body := s.do(t, "GET", "/api/v1/user", "", basic("0123456789abcdef\x000123456789abcdef012345", "")); status != http.StatusUnauthorized {
		t.Errorf("a NUL in a token: %d, want 401: %s", status, body)
	}
	// npm's login reads the name from its body.
	status, _, body := s.do(t, "PUT", "/api/packages/bob/npm/-/user/org.couchdb.user:bob", `{"name":"b\u0000ob","password":"bob-password"}`,
		map[string]string{"Content-Type": "application/json"})
	if status != http.StatusUnauthorized {
		t.Errorf("npm login with a NUL in the name: %d, want 401: %s", status, body)
	}
}
