package tests

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// TestPackagesEarlyErrorsInFormatShape: failures decided before a
// format's handler runs — wrong credentials, a token without the package
// scope, an owner the caller may not see — answer in that format's own
// error shape, so npm and composer show the message instead of an
// unparsable body.
func TestPackagesEarlyErrorsInFormatShape(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	repoTok, _, err := alice.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "repo-only", Scopes: []gitea.AccessTokenScope{"read:repository"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "hidden", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	badPass := basic("alice", "wrong-password")
	scopeless := tokenHeader(repoTok.Token)
	bob := basic("bob", "bob-password")
	s.createUser(t, "bob")

	// npmShape decodes {"error": …} (and "reason" for not found), strictly.
	npmShape := func(t *testing.T, body string) string {
		t.Helper()
		var e struct {
			Error  string `json:"error"`
			Reason string `json:"reason"`
		}
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || e.Error == "" {
			t.Fatalf("not npm's error shape: %q (%v)", body, err)
		}
		return e.Error + " " + e.Reason
	}
	composerShape := func(t *testing.T, body string) string {
		t.Helper()
		var e struct {
			Errors []struct {
				Status  int    `json:"status"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || len(e.Errors) != 1 || e.Errors[0].Message == "" {
			t.Fatalf("not Composer's error shape: %q (%v)", body, err)
		}
		return e.Errors[0].Message
	}
	plainShape := func(t *testing.T, body string) string {
		t.Helper()
		if json.Valid([]byte(body)) && bytes.HasPrefix(bytes.TrimSpace([]byte(body)), []byte("{")) {
			t.Fatalf("generic answers in plain text, got JSON: %q", body)
		}
		return body
	}
	cases := []struct {
		name, path string
		header     map[string]string
		status     int
		shape      func(*testing.T, string) string
		want       string
	}{
		{"npm wrong password", "/api/packages/alice/npm/pkg", badPass, 401, npmShape, ""},
		{"npm instance wrong password", "/api/packages/-/npm/@alice%2fpkg", badPass, 401, npmShape, ""},
		{"npm token without package scope", "/api/packages/alice/npm/pkg", scopeless, 403, npmShape, "read:package"},
		{"npm hidden owner", "/api/packages/hidden/npm/pkg", bob, 404, npmShape, "not_found"},
		{"composer wrong password", "/api/packages/alice/composer/packages.json", badPass, 401, composerShape, ""},
		{"composer token without package scope", "/api/packages/alice/composer/packages.json", scopeless, 403, composerShape, "read:package"},
		{"composer hidden owner", "/api/packages/hidden/composer/packages.json", bob, 404, composerShape, ""},
		{"generic wrong password", "/api/packages/alice/generic/g/1.0/f.bin", badPass, 401, plainShape, ""},
		{"generic token without package scope", "/api/packages/alice/generic/g/1.0/f.bin", scopeless, 403, plainShape, "read:package"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, h, body := s.do(t, http.MethodGet, c.path, "", c.header)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			if msg := c.shape(t, body); !strings.Contains(msg, c.want) {
				t.Fatalf("message %q lacks %q", msg, c.want)
			}
			if strings.Contains(c.path, "/npm/") && h.Get("WWW-Authenticate") != "" {
				t.Fatalf("npm 401/403 must not carry WWW-Authenticate (npm reads it as a second-factor challenge): %q", h.Get("WWW-Authenticate"))
			}
		})
	}
}
