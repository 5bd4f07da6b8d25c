package tests

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
	"time"

	"wharf/modules/packages/rubygems/gemtest"
)

// BenchmarkRubyGemsVersions: the versions file of an owner with 10,000
// gems, measured as every document is (benchDocument: warm, 304, Bundler's
// range, cold); BenchmarkDocuments/rubygems-versions has one gem of 200 and
// 1,000 versions.
func BenchmarkRubyGemsVersions(b *testing.B) {
	k := documentKind{
		name: "rubygems-versions-10k-gems", path: "rubygems/versions", header: map[string]string{"Accept-Encoding": acceptGzip},
		seed: func(b *testing.B, s *server, tok string, n int) {
			seedGems(b, s, "acme", n, 1)
			s.mustPushGem(b, "acme", tok, gemtest.Gem(gemtest.Metadata("big", "2.0.0")))
		},
		check: func(body []byte, n int) error {
			if got := bytes.Count(body, []byte("\ngem")); got != n {
				return fmt.Errorf("%d gems, want %d", got, n)
			}
			return nil
		},
		change: changeRubyGemsDocument, moves: true, validator: "etag", ranged: true,
	}
	benchDocument(b, k, 10000)
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
