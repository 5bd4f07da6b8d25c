package tests

import (
	"encoding/base64"
	"net/http"
	"testing"

	"wharf/models/unittest"
)

// TestReview16BadBytesAreNotServerErrors: names and tokens with a NUL
// byte or invalid UTF-8 that reach the plain SQL lookups (owner by name,
// package by name, token candidates by their last eight bytes) are the
// client's mistake on every backend: PostgreSQL refuses such text in a
// query (SQLSTATE 22021), which must become a 4xx (no such owner, no such
// package, a bad token), never a 500.
//
// A token's candidates are looked up by its last eight bytes, so a token
// of valid UTF-8 can still send invalid UTF-8 to the database when those
// bytes cut a character in two ("ab€€€": the last eight bytes start in
// the middle of the first €). npm's logout (DELETE /-/user/token/{token})
// sends the token in the path, where nothing checks it at all.
func TestReview16BadBytesAreNotServerErrors(t *testing.T) {
	t.Logf("backend: %s", unittest.Backend())
	s := newServer(t)
	s.createUser(t, "bob")
	basicRaw := func(user, pass string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
	}
	const cutToken = "ab€€€" // 11 bytes, valid UTF-8; the last 8 start mid-rune
	for _, c := range []struct {
		name, method, path string
		header             map[string]string
		want               int
	}{
		{"token header cutting a rune", "GET", "/api/packages/bob/npm/-/whoami", map[string]string{"Authorization": "token " + cutToken}, 401},
		{"bearer header cutting a rune", "GET", "/api/v1/user", map[string]string{"Authorization": "Bearer " + cutToken}, 401},
		{"basic token as user cutting a rune", "GET", "/api/v1/user", basicRaw(cutToken, ""), 401},
		{"token header invalid utf-8", "GET", "/api/v1/user", map[string]string{"Authorization": "token abcdefgh\xff"}, 401},
		{"basic user invalid utf-8", "GET", "/api/v1/user", basicRaw("bo\xffb", "bob-password"), 401},
		{"basic user NUL", "GET", "/api/v1/user", basicRaw("bo\x00b", "bob-password"), 401},
		{"npm logout invalid utf-8", "DELETE", "/api/packages/bob/npm/-/user/token/abcdefgh%FF", nil, 401},
		{"npm logout NUL", "DELETE", "/api/packages/bob/npm/-/user/token/abcdefgh%00", nil, 401},
		{"npm logout cutting a rune", "DELETE", "/api/packages/bob/npm/-/user/token/ab%E2%82%AC%E2%82%AC%E2%82%AC", nil, 401},
		{"npm packument invalid utf-8", "GET", "/api/packages/bob/npm/a%FFb", nil, 404},
		{"npm scoped packument invalid utf-8", "GET", "/api/packages/bob/npm/@a%FF%2fb", nil, 404},
		{"npm tarball invalid utf-8", "GET", "/api/packages/bob/npm/a%FFb/-/a%FFb-1.0.0.tgz", nil, 404},
		{"composer p2 invalid utf-8", "GET", "/api/packages/bob/composer/p2/a%FF/b.json", nil, 404},
		{"composer p2 NUL", "GET", "/api/packages/bob/composer/p2/a/b%00.json", nil, 404},
		{"composer dist invalid utf-8", "GET", "/api/packages/bob/composer/files/a%FF/b/1.0.0/a-b-1.0.0.zip", nil, 404},
		{"cargo index invalid utf-8", "GET", "/api/packages/bob/cargo/a%FF/b%FF/a%FFb%FF", nil, 404},
		{"cargo download invalid utf-8", "GET", "/api/packages/bob/cargo/api/v1/crates/a%FFb/1.0.0/download", nil, 404},
		{"rubygems info invalid utf-8", "GET", "/api/packages/bob/rubygems/info/a%FF", nil, 404},
		{"rubygems info NUL", "GET", "/api/packages/bob/rubygems/info/a%00", nil, 404},
		{"owner invalid utf-8, npm", "GET", "/api/packages/b%FFob/npm/x", nil, 404},
		{"owner invalid utf-8, composer", "GET", "/api/packages/b%FFob/composer/packages.json", nil, 404},
		{"owner invalid utf-8, cargo", "GET", "/api/packages/b%FFob/cargo/config.json", nil, 404},
		{"owner invalid utf-8, rubygems", "GET", "/api/packages/b%FFob/rubygems/versions", nil, 404},
		{"owner NUL, rubygems", "GET", "/api/packages/b%00ob/rubygems/versions", nil, 404},
		{"owner invalid utf-8, generic", "GET", "/api/packages/b%FFob/generic/g/1.0/f.bin", nil, 404},
		{"owner invalid utf-8, api", "GET", "/api/v1/users/b%FFob", nil, 404},
		{"owner invalid utf-8, repo", "GET", "/api/v1/repos/b%FFob/r", nil, 404},
	} {
		status, _, body := s.do(t, c.method, c.path, "", c.header)
		if status >= 500 {
			t.Errorf("%s: %s %s answered %d (want %d): %s", c.name, c.method, c.path, status, c.want, body)
		} else if status != c.want {
			t.Logf("%s: %s %s answered %d (expected %d): %.120s", c.name, c.method, c.path, status, c.want, body)
		}
	}
	// The account is untouched by all of it.
	if status, _, body := s.do(t, "GET", "/api/v1/user", "", basic("bob", "bob-password")); status != http.StatusOK {
		t.Fatalf("bob signs in: %d %s", status, body)
	}
}
