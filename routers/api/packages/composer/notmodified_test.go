package composer

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestNotModified(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := now.Add(-time.Hour)
	for _, c := range []struct {
		name     string
		modified time.Time
		header   map[string]string
		want     bool
		lastMod  bool
	}{
		{"no condition", old, nil, false, true},
		{"If-Modified-Since current", old, map[string]string{"If-Modified-Since": now.Format(http.TimeFormat)}, true, true},
		{"If-Modified-Since older", old, map[string]string{"If-Modified-Since": old.Add(-time.Second).Format(http.TimeFormat)}, false, true},
		{"changed within 2 s", now.Add(-time.Second), map[string]string{"If-Modified-Since": now.Format(http.TimeFormat)}, false, false},
		{"If-None-Match decides alone", old, map[string]string{"If-None-Match": `"stale"`, "If-Modified-Since": now.Format(http.TimeFormat)}, false, true},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		if got := notModified(w, r, c.modified, now, `"e"`); got != c.want || (w.Header().Get("Last-Modified") != "") != c.lastMod {
			t.Errorf("%s: %v, Last-Modified %q", c.name, got, w.Header().Get("Last-Modified"))
		}
	}
}
