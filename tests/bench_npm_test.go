package tests

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"testing"

	packages_model "wharf/models/packages"
)

// seedNpmVersions inserts n versions of one npm package, stored as a
// publish stores them.
func seedNpmVersions(t testing.TB, s *server, owner, name string, n int) {
	seedVersions(t, s, owner, packages_model.TypeNpm, name, n,
		func(v string) string {
			return fmt.Sprintf(`{"name":%q,"version":%q,"description":"d","dependencies":{"left-pad":"^1.0.0"},"engines":{"node":">=18"}}`, name, v)
		},
		func(v string) string { return name + "-" + v + ".tgz" })
}

// TestNpmPackumentQueriesAreConstant: a packument costs the same number of
// queries with 3 versions as with 300.
func TestNpmPackumentQueriesAreConstant(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	seedNpmVersions(t, s, "acme", "small", 3)
	seedNpmVersions(t, s, "acme", "large", 300)
	q := &queryCounter{}
	s.App.DB.Xorm().AddHook(q)
	count := func(name string) int64 {
		before := q.n.Load()
		status, _, body := s.do(t, "GET", "/api/packages/acme/npm/"+name, "", nil)
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		return q.n.Load() - before
	}
	small, large := count("small"), count("large")
	t.Logf("a packument costs %d queries", large)
	if small != large {
		t.Fatalf("%d queries for 3 versions, %d for 300", small, large)
	}
}

// BenchmarkNpmPublish50MiB publishes a 50 MiB tarball to a running `wharf
// web`; the server's peak RSS must stay well under twice the tarball.
func BenchmarkNpmPublish50MiB(b *testing.B) {
	work := installedWork(b)
	env := binEnv(b)
	runBin(b, work, env, "admin", "user", "create", "--username", "acme", "--password", "acme-password", "--email", "a@example.com", "--must-change-password=false")
	p := startWeb(b, work, env)
	payload := make([]byte, 50<<20)
	if _, err := rand.Read(payload); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		version := fmt.Sprintf("1.0.%d", i)
		tgz := npmTarball(map[string]string{"package/package.json": fmt.Sprintf(`{"name":"@acme/big","version":%q}`, version), "package/blob.bin": string(payload)})
		body := npmPublishBody("@acme/big", version, nil, tgz)
		b.SetBytes(int64(len(tgz)))
		b.StartTimer()
		req, _ := http.NewRequest(http.MethodPut, p.url+"/api/packages/acme/npm/@acme%2fbig", strings.NewReader(body))
		req.SetBasicAuth("acme", "acme-password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("publish: %d", resp.StatusCode)
		}
	}
	b.StopTimer()
	b.ReportMetric(peakRSS(b, p.cmd.Process.Pid), "server-peak-RSS-MiB")
}
