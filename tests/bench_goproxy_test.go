package tests

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// BenchmarkGoProxy measures the Go module proxy:
//   - list and info: `@v/list` and a version's `.info` of a module with
//     500 version tags, from 8 concurrent clients, each beside a plain
//     handler serving the same bytes from memory in the same run
//     (reportLoad; ratio = Wharf / bare);
//   - zip: the first request of a commit of a large tree by its hash (its
//     pseudo-version's zip built from git by the module zip rules, checked
//     and stored), in MiB of source per second, beside golang.org/x/mod/zip.CreateFromDir writing the zip of
//     the same files from a checkout on disk to /dev/null.
func BenchmarkGoProxy(b *testing.B) {
	requireClient(b, "git")
	s := newServer(b)
	s.createUser(b, "alice")
	alice := s.client(b, gitea.SetBasicAuth("alice", "alice-password"))
	remote := func(repo string) string { return authURL(s.URL, "alice", "alice-password", "alice/"+repo+".git") }
	host := strings.Split(strings.TrimPrefix(s.URL, "http://"), ":")[0]

	b.Run("tags500", func(b *testing.B) {
		if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "many"}); err != nil {
			b.Fatal(err)
		}
		work := b.TempDir()
		g := gitCmd{b, work}
		g.must("init", "-q", "-b", "main")
		mod := host + "/alice/many"
		writeFiles(b, work, map[string]string{"go.mod": "module " + mod + "\n\ngo 1.21\n", "many.go": "package many\n"})
		g.must("add", ".")
		g.must("commit", "-qm", "one")
		for i := range 500 {
			g.must("tag", fmt.Sprintf("v1.%d.0", i))
		}
		g.must("push", "-q", remote("many"), "main", "--tags")
		runJobs(b, s)
		base := s.URL + "/api/packages/alice/go/" + mod + "/@v/"
		list := steadyFetch(b, base+"list", nil, http.StatusOK)
		if n := strings.Count(string(list.body), "\n"); n != 500 {
			b.Fatalf("list has %d versions, want 500", n)
		}
		for _, c := range []struct{ name, url string }{{"list", base + "list"}, {"info", base + "v1.250.0.info"}} {
			r := steadyFetch(b, c.url, nil, http.StatusOK)
			bare := bareServer(b, r)
			b.Run(c.name, func(b *testing.B) {
				reportLoad(b, c.url, bare.URL, nil, http.StatusOK)
				b.ReportMetric(peakRSS(b, os.Getpid()), "peak-RSS-MiB")
			})
		}
	})

	b.Run("zip", func(b *testing.B) {
		if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "big"}); err != nil {
			b.Fatal(err)
		}
		work := b.TempDir()
		g := gitCmd{b, work}
		g.must("init", "-q", "-b", "main")
		mod := host + "/alice/big"
		files := map[string]string{"go.mod": "module " + mod + "\n\ngo 1.21\n"}
		// 400 files of 128 KiB (50 MiB): source-like text, which deflates
		// as real code does.
		line := strings.Repeat("// the quick brown fox jumps over the lazy dog 0123456789\n", 1)
		body := strings.Repeat(line, 128<<10/len(line))
		size := int64(0)
		for i := range 400 {
			name := fmt.Sprintf("pkg%02d/file%03d.go", i%20, i)
			files[name] = fmt.Sprintf("package pkg%02d\n", i%20) + body
			size += int64(len(files[name]))
		}
		writeFiles(b, work, files)
		g.must("add", ".")
		g.must("commit", "-qm", "big")
		g.must("push", "-q", remote("big"), "main")
		runJobs(b, s)
		mib := float64(size) / (1 << 20)
		var wharf, bare time.Duration
		rounds := max(b.N, 3)
		if testing.Short() {
			rounds = max(b.N, 1)
		}
		for i := range rounds {
			// A new commit, asked for by hash: the request resolves it to
			// a pseudo-version and builds, checks and stores its zip.
			writeFiles(b, work, map[string]string{"pkg00/round.go": fmt.Sprintf("package pkg00\n\nconst Round = %d\n", i)})
			g.must("add", ".")
			g.must("commit", "-qm", fmt.Sprintf("round %d", i))
			g.must("push", "-q", remote("big"), "main")
			runJobs(b, s)
			hash := strings.TrimSpace(g.must("rev-parse", "HEAD"))[:12]
			start := time.Now()
			status, _, body := s.do(b, "GET", "/api/packages/alice/go/"+mod+"/@v/"+hash+".info", "", nil)
			wharf += time.Since(start)
			if status != http.StatusOK || !strings.Contains(body, hash) {
				b.Fatalf("%s: %d %s", hash, status, body)
			}
			start = time.Now()
			out, err := os.Create(os.DevNull)
			if err != nil {
				b.Fatal(err)
			}
			if err := modzip.CreateFromDir(out, module.Version{Path: mod, Version: "v0.0.0-20260101000000-" + hash}, work); err != nil {
				b.Fatal(err)
			}
			out.Close()
			bare += time.Since(start)
		}
		rate := func(d time.Duration) float64 { return mib * float64(rounds) / d.Seconds() }
		b.ReportMetric(rate(wharf), "MiB/s")
		b.ReportMetric(rate(bare), "baseline-MiB/s")
		b.ReportMetric(rate(wharf)/rate(bare), "ratio")
	})
}
