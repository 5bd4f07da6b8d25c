package packages

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"GZIP;Q=0.5", true},
		{"x-gzip", true},
		{"identity", false},
		{"*", true},
		{"*;q=0", false},
		{"gzip;q=0, *", false},
		{"*;q=0, gzip", true},
		{"deflate, br", false},
		{"gzip;q=nonsense", false},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if c.header != "" {
			r.Header.Set("Accept-Encoding", c.header)
		}
		if got := AcceptsGzip(r); got != c.want {
			t.Errorf("Accept-Encoding %q: %v, want %v", c.header, got, c.want)
		}
	}
}

func TestMatchesETag(t *testing.T) {
	const etag = `"abc"`
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`"abc-gzip"`, true},
		{`"x", "abc-gzip"`, true},
		{`"abd"`, false},
		{`*`, true},
		{`abc`, false},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if c.header != "" {
			r.Header.Set("If-None-Match", c.header)
		}
		if got := MatchesETag(r, etag); got != c.want {
			t.Errorf("If-None-Match %q: %v, want %v", c.header, got, c.want)
		}
	}
}

func TestWriteNotModifiedNamesTheClientsCopy(t *testing.T) {
	const etag = `"abc"`
	for _, c := range []struct{ inm, accept, want string }{
		{`"abc"`, "gzip", `"abc"`},
		{`"abc-gzip"`, "", `"abc-gzip"`},
		{`W/"abc-gzip"`, "gzip", `"abc-gzip"`},
		{`*`, "gzip", `"abc-gzip"`},
		{`*`, "", `"abc"`},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("If-None-Match", c.inm)
		if c.accept != "" {
			r.Header.Set("Accept-Encoding", c.accept)
		}
		w := httptest.NewRecorder()
		WriteNotModified(w, r, etag)
		if w.Code != http.StatusNotModified || w.Header().Get("ETag") != c.want || w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("If-None-Match %s, Accept-Encoding %q: %d %v, want ETag %s", c.inm, c.accept, w.Code, w.Header(), c.want)
		}
	}
}
