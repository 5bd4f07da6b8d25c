package common_test

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"testing"

	"wharf/routers/common"
)

func TestMetricsToken(t *testing.T) {
	m := common.NewMetrics(&sql.DB{}, "sqlite3")
	h := m.Handler("s3cret-token")
	cases := []struct {
		auth string
		want int
	}{
		{"Bearer s3cret-token", http.StatusOK},
		{"", http.StatusUnauthorized},
		{"Bearer s3cret-tokeN", http.StatusUnauthorized},
		{"Bearer s3cret-token2", http.StatusUnauthorized},
		{"Bearer s3cret-toke", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{"bearer s3cret-token", http.StatusUnauthorized},
		{"s3cret-token", http.StatusUnauthorized},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("Authorization %q: status %d, want %d", c.auth, w.Code, c.want)
		}
		if c.want == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: 401 without WWW-Authenticate", c.auth)
		}
	}
	// Without a token the registry is open.
	w := httptest.NewRecorder()
	m.Handler("").ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("no token configured: status %d", w.Code)
	}
}
