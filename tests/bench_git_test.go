package tests

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// benchRepo generates a repository of commits commits whose blobs add up to
// about blobMiB MiB of incompressible data, pushes it to a fresh `wharf
// web` process and returns the process and the repository's path.
func benchRepo(b *testing.B, commits, blobMiB int) (*webProcess, string) {
	b.Helper()
	requireClient(b, "git")
	work := installedWork(b)
	env := binEnv(b)
	runBin(b, work, env, "admin", "user", "create", "--username", "bench", "--password", "bench-password", "--email", "b@example.com", "--must-change-password=false")
	token := strings.TrimSpace(runBin(b, work, env, "admin", "user", "generate-access-token", "--username", "bench", "--raw"))
	p := startWeb(b, work, env)
	c, err := gitea.NewClient(p.url, gitea.SetToken(token))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := c.CreateRepo(gitea.CreateRepoOption{Name: "big"}); err != nil {
		b.Fatal(err)
	}

	src := filepath.Join(b.TempDir(), "src.git")
	g := gitCmd{b, filepath.Dir(src)}
	g.must("init", "-q", "--bare", "-b", "main", src)
	cmd := exec.Command("git", "--git-dir", src, "fast-import", "--quiet")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(stdin)
	every := max(commits/blobMiB, 1)
	blob := make([]byte, 1<<20)
	for i := range commits {
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <b@example.com> %d +0000\ndata <<EOM\ncommit %d\nEOM\n", 1700000000+i, i)
		note := fmt.Sprintf("change %d\n", i)
		fmt.Fprintf(w, "M 644 inline notes/%d.txt\ndata %d\n%s\n", i%100, len(note), note)
		if i%every == 0 && i/every < blobMiB {
			if _, err := io.ReadFull(rand.Reader, blob); err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(w, "M 644 inline blobs/%d.bin\ndata %d\n", i/every, len(blob))
			w.Write(blob)
			w.WriteString("\n")
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
	gitCmd{b, src}.must("push", "-q", authURL(p.url, "bench", token, "bench/big.git"), "main")
	return p, p.url + "/bench/big.git"
}

// peakRSS reads the process's peak resident set (VmHWM) in MiB.
func peakRSS(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// BenchmarkGitClone: a full clone over HTTP of 1,000 commits and 50 MiB of
// blobs, with the real git. ns/op is one clone.
func BenchmarkGitClone(b *testing.B) {
	p, url := benchRepo(b, 1000, 50)
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		gitCmd{b, dir}.must("clone", "-q", "--bare", url, fmt.Sprintf("c%d.git", i))
	}
	b.StopTimer()
	b.ReportMetric(peakRSS(b, p.cmd.Process.Pid), "server-peak-RSS-MiB")
}

// BenchmarkArchive streams archives of the tree; MB/s is of the tree's
// size, and the server's peak RSS must not grow with the tree (compare the
// two sizes).
func BenchmarkArchive(b *testing.B) {
	for _, size := range []int{50, 200} {
		for _, format := range []string{"zip", "tar.gz"} {
			b.Run(fmt.Sprintf("tree=%dMiB/%s", size, format), func(b *testing.B) {
				p, _ := benchRepo(b, 1000, size)
				base := peakRSS(b, p.cmd.Process.Pid)
				b.SetBytes(int64(size) << 20)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					resp, err := http.Get(p.url + "/api/v1/repos/bench/big/archive/main." + format)
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 || n < int64(size)<<20 {
						b.Fatalf("archive: %d, %d bytes, %v", resp.StatusCode, n, err)
					}
				}
				b.StopTimer()
				b.ReportMetric(peakRSS(b, p.cmd.Process.Pid), "server-peak-RSS-MiB")
				b.ReportMetric(base, "server-RSS-before-MiB")
			})
		}
	}
}
