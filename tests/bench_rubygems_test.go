package tests

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
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
		b.Run(c.name, func(b *testing.B) {
			rate, p99 := gemLoad(b, url, c.header, c.want)
			base, _ := gemLoad(b, bare.URL, c.header, c.want)
			b.ReportMetric(rate, "req/s")
			b.ReportMetric(p99, "p99-ms")
			b.ReportMetric(base, "baseline-req/s")
			b.ReportMetric(rate/base, "ratio")
		})
	}
}

// gemLoad sends GET url from 8 concurrent clients (at least 400 requests,
// whatever -benchtime), each answer of status want read whole, and returns
// requests/s and the p99 latency in ms.
func gemLoad(b *testing.B, url string, header map[string]string, want int) (float64, float64) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	per := max((b.N+7)/8, 50)
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range per {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				for k, v := range header {
					req.Header.Set(k, v)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					b.Errorf("%s: %d, want %d", url, resp.StatusCode, want)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		b.FailNow()
	}
	slices.Sort(lat)
	return float64(len(lat)) / elapsed.Seconds(), float64(lat[len(lat)*99/100].Microseconds()) / 1000
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
