package tests

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
)

// BenchmarkVirtualNpm measures a virtual npm registry:
//   - merged: the package document of a package that three members hold
//     (200 versions each), warm, from 8 concurrent clients, beside the same
//     package's document at its owner's own registry in the same run
//     (reportLoad's baseline; ratio goal ≥ 0.8);
//   - upstream: an upstream's package document and tarball on a cache miss
//     (fetched from the upstream Wharf, the tarball checked and stored)
//     and on the hit after it, one client.
func BenchmarkVirtualNpm(b *testing.B) {
	b.Run("merged", func(b *testing.B) {
		s := newServer(b)
		root := s.client(b, gitea.SetToken(s.AdminToken))
		for _, name := range []string{"team-a", "team-b", "team-c", "hub"} {
			if _, _, err := root.CreateOrg(gitea.CreateOrgOption{Name: name}); err != nil {
				b.Fatal(err)
			}
		}
		for _, owner := range []string{"team-a", "team-b", "team-c"} {
			seedNpmVersions(b, s, owner, "shared", 200)
		}
		putVirtualNpm(b, s, `{"members":[{"owner":"team-a"},{"owner":"team-b"},{"owner":"team-c"}]}`)
		header := map[string]string{"Accept": "application/json", "Accept-Encoding": acceptGzip}
		virtualURL, ownerURL := s.URL+"/api/packages/hub/npm/shared", s.URL+"/api/packages/team-a/npm/shared"
		for _, u := range []string{virtualURL, ownerURL} {
			if err := checkNpmDocument(decodedBody(b, steadyFetch(b, u, header, http.StatusOK)), 200); err != nil {
				b.Fatalf("%s: %v", u, err)
			}
		}
		b.Run("warm", func(b *testing.B) {
			reportLoad(b, virtualURL, ownerURL, header, http.StatusOK)
			b.ReportMetric(peakRSS(b, os.Getpid()), "peak-RSS-MiB")
		})
	})
	b.Run("upstream", func(b *testing.B) {
		up := newServer(b)
		if _, _, err := up.client(b, gitea.SetToken(up.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "pub"}); err != nil {
			b.Fatal(err)
		}
		s := newServer(b)
		if _, _, err := s.client(b, gitea.SetToken(s.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "hub"}); err != nil {
			b.Fatal(err)
		}
		putVirtualNpm(b, s, fmt.Sprintf(`{"members":[{"url":%q}]}`, up.URL+"/api/packages/pub/npm/"))
		rounds := max(b.N, 20)
		// Every round is a package the virtual registry has not seen.
		upH := tokenHeader(up.AdminToken)
		for i := range rounds {
			npmPut(b, up, "pub", fmt.Sprintf("remote-%d", i), "1.0.0", nil, upH)
		}
		var docMiss, docHit, tgzMiss, tgzHit time.Duration
		timed := func(path string) time.Duration {
			start := time.Now()
			if status, _, body := s.do(b, "GET", "/api/packages/hub/npm/"+path, "", nil); status != http.StatusOK {
				b.Fatalf("%s: %d %s", path, status, body)
			}
			return time.Since(start)
		}
		for i := range rounds {
			name := fmt.Sprintf("remote-%d", i)
			docMiss += timed(name)
			docHit += timed(name)
			tgzMiss += timed(name + "/-/" + name + "-1.0.0.tgz")
			tgzHit += timed(name + "/-/" + name + "-1.0.0.tgz")
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(rounds) }
		b.ReportMetric(ms(docMiss), "doc-miss-ms")
		b.ReportMetric(ms(docHit), "doc-hit-ms")
		b.ReportMetric(ms(tgzMiss), "tarball-miss-ms")
		b.ReportMetric(ms(tgzHit), "tarball-hit-ms")
	})
}

func putVirtualNpm(b *testing.B, s *server, cfg string) {
	b.Helper()
	if status, _, body := s.do(b, "PUT", "/api/v1/packages/hub/-/virtual/npm", cfg, tokenHeader(s.AdminToken)); status != http.StatusOK {
		b.Fatalf("PUT virtual: %d %s", status, body)
	}
}
