package tests

import (
	"net/http"
	"testing"
)

// TestReview14ReadInvalidUTF8IsNeverAServerError: names, versions and
// search words that are not UTF-8 (which PostgreSQL refuses in text)
// reach the web pages as a client's mistake: not found for a name in the
// path or a looked-up version, 400 for a search filter; never 500.
func TestReview14ReadInvalidUTF8IsNeverAServerError(t *testing.T) {
	s := newServer(t)
	adm := basic(s.AdminName, s.AdminPass)
	if st, _, b := s.do(t, http.MethodPut, "/api/packages/root/generic/widget/1.0/f.txt", "hello", adm); st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, b)
	}
	for path, want := range map[string]int{
		"/root/%FF":                             http.StatusNotFound,
		"/root/%FF/packages":                    http.StatusNotFound,
		"/root/%FF/raw/branch/main/README.md":   http.StatusNotFound,
		"/root/-/packages/generic/%FF":          http.StatusNotFound,
		"/root/-/packages/generic/widget/%FF":   http.StatusNotFound,
		"/root/-/packages/generic/%FF/settings": http.StatusNotFound,
		"/root/-/packages/generic/widget/settings/delete_version?version=%FF": http.StatusNotFound,
		"/user/settings/applications/delete?name=%FF":                         http.StatusNotFound,
		"/explore/repos?q=%FF":        http.StatusBadRequest,
		"/root/-/packages?q=%FF":      http.StatusBadRequest,
		"/-/admin/packages?owner=%FF": http.StatusBadRequest,
		"/-/admin/users?q=%FF":        http.StatusBadRequest,
	} {
		st, hd, _ := s.do(t, http.MethodGet, path, "", adm)
		if st != want {
			t.Errorf("GET %s: %d, want %d", path, st, want)
		}
		if ct := hd.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q, want the HTML error page", path, ct)
		}
	}
}
