package tests

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"wharf/modules/packages/rubygems/gemtest"
)

// BenchmarkRubyGemsInfo: 8 concurrent clients fetching info/{name} of a gem
// with 1,000 versions; BenchmarkRubyGemsVersions: the versions file of an
// owner with 10,000 gems. Each in full, as Bundler's refresh asks (Range
// for the last bytes of its copy, with an ETag that no longer matches) and
// revalidated (304), beside a bare handler that serves the same bytes from
// memory on the same machine: req/s, p99, the baseline's req/s and the
// ratio.
func BenchmarkRubyGemsInfo(b *testing.B) {
	s := newServer(b)
	s.createUser(b, "acme")
	seedGems(b, s, "acme", 1, 1000)
	benchCompactFile(b, s.URL+gemsPath("acme")+"info/big", 1000)
}

func BenchmarkRubyGemsVersions(b *testing.B) {
	s := newServer(b)
	s.createUser(b, "acme")
	seedGems(b, s, "acme", 10000, 1)
	benchCompactFile(b, s.URL+gemsPath("acme")+"versions", 10000)
}

func benchCompactFile(b *testing.B, url string, lines int) {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag, digest := resp.Header.Get("ETag"), resp.Header.Get("Repr-Digest")
	if resp.StatusCode != 200 || etag == "" || bytes.Count(body, []byte("\n")) < lines {
		b.Fatalf("%s: %d, %d lines", url, resp.StatusCode, bytes.Count(body, []byte("\n")))
	}
	b.Logf("%s: %d bytes", url, len(body))
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("ETag", etag)
		h.Set("Repr-Digest", digest)
		h.Set("Accept-Ranges", "bytes")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	b.Cleanup(bare.Close)
	// Bundler asks for the bytes after its copy, minus one: here a copy
	// 200 bytes short.
	tail := "bytes=" + strconv.Itoa(len(body)-200) + "-"
	for _, c := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"full", nil, 200},
		{"range", map[string]string{"Range": tail, "If-None-Match": `"0123456789abcdef0123456789abcdef"`}, 206},
		{"304", map[string]string{"If-None-Match": etag}, 304},
	} {
		b.Run(c.name, func(b *testing.B) { reportLoad(b, url, bare.URL, c.header, c.want) })
	}
}

// BenchmarkRubyGemsPush: pushes of new versions of one gem, one after
// another (at least 100, whatever -benchtime), each appending to the
// versions file and rewriting the gem's info; pushes/s.
func BenchmarkRubyGemsPush(b *testing.B) {
	s := newServer(b)
	s.createUser(b, "acme")
	key := packageToken(b, s, "acme", "bench", "write:package")
	gems := make([][]byte, max(b.N, 100))
	for i := range gems {
		gems[i] = gemtest.Gem(gemtest.Metadata("bench-gem", "1.0."+strconv.Itoa(i)))
	}
	b.ResetTimer()
	start := time.Now()
	for _, g := range gems {
		s.mustPushGem(b, "acme", key, g)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(gems))/time.Since(start).Seconds(), "pushes/s")
}
