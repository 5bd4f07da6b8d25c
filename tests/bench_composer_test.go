package tests

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	packages_model "wharf/models/packages"
)

// seedComposerVersions inserts n uploaded versions of one package.
func seedComposerVersions(t testing.TB, s *server, owner, name string, n int) {
	seedVersions(t, s, owner, packages_model.TypeComposer, name, n,
		func(v string) string {
			return fmt.Sprintf(`{"composer_json":{"name":%q,"require":{"php":">=8.1"},"autoload":{"psr-4":{"Acme\\":"src/"}}},"version_normalized":"%s.0","dist_type":"zip"}`, name, v)
		},
		func(v string) string { return "x-" + v + ".zip" })
}

// TestComposerMetadataQueriesAreConstant: a p2 document costs the same
// number of queries with 3 versions as with 300.
func TestComposerMetadataQueriesAreConstant(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	seedComposerVersions(t, s, "acme", "acme/small", 3)
	seedComposerVersions(t, s, "acme", "acme/large", 300)
	q := &queryCounter{}
	s.App.DB.Xorm().AddHook(q)
	count := func(name string) int64 {
		before := q.n.Load()
		if status, _, body := s.do(t, "GET", "/api/packages/acme/composer/p2/"+name+".json", "", nil); status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		return q.n.Load() - before
	}
	small, large := count("acme/small"), count("acme/large")
	t.Logf("a p2 document costs %d queries", large)
	if small != large {
		t.Fatalf("%d queries for 3 versions, %d for 300", small, large)
	}
}

// BenchmarkComposerRegister100Tags registers 100 tags from git and runs
// the jobs until every archive is built; ns/op is the whole run.
func BenchmarkComposerRegister100Tags(b *testing.B) {
	requireClient(b, "git")
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newServer(b)
		s.createUser(b, "acme")
		acme := s.client(b, gitea.SetBasicAuth("acme", "acme-password"))
		if _, _, err := acme.CreateRepo(gitea.CreateRepoOption{Name: "lib"}); err != nil {
			b.Fatal(err)
		}
		src := filepath.Join(b.TempDir(), "src.git")
		gitCmd{b, filepath.Dir(src)}.must("init", "-q", "--bare", "-b", "main", src)
		cmd := exec.Command("git", "--git-dir", src, "fast-import", "--quiet")
		stdin, _ := cmd.StdinPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(stdin)
		for t := range 100 {
			cj := `{"name":"acme/lib","autoload":{"psr-4":{"Acme\\":"src/"}}}`
			src := fmt.Sprintf("<?php // %d\n%s", t, strings.Repeat("// filler\n", 2000))
			fmt.Fprintf(w, "commit refs/heads/main\ncommitter B <b@example.com> %d +0000\ndata 2\nc\n", 1700000000+t)
			fmt.Fprintf(w, "M 644 inline composer.json\ndata %d\n%s\nM 644 inline src/Lib.php\ndata %d\n%s\n", len(cj), cj, len(src), src)
			fmt.Fprintf(w, "reset refs/tags/v1.0.%d\nfrom refs/heads/main\n\n", t)
		}
		w.Flush()
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		gitCmd{b, src}.must("push", "-q", authURL(s.URL, "acme", "acme-password", "acme/lib.git"), "main", "--tags")
		h := map[string]string{"Authorization": basic("acme", "acme-password")["Authorization"], "Content-Type": "application/x-www-form-urlencoded"}
		b.StartTimer()
		for t := range 100 {
			if status, _, body := s.do(b, "POST", "/api/packages/acme/composer", fmt.Sprintf("repository=lib&tag=v1.0.%d", t), h); status != 201 {
				b.Fatalf("register: %d %s", status, body)
			}
		}
		if _, err := s.App.Jobs.RunOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_, _, body := s.do(b, "GET", "/api/packages/acme/composer/p2/acme/lib.json", "", basic("acme", "acme-password"))
		if strings.Count(body, `"shasum":"`) != 100 || strings.Contains(body, `"shasum":""`) {
			b.Fatalf("not every archive was built")
		}
	}
}
