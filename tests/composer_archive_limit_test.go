package tests

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/setting"
)

// TestComposerOverLimitArchiveIsRemembered: once the archive of a
// registered version's commit is found over LIMIT_SIZE_COMPOSER, later
// downloads answer 413 at once, without building it again; they used to
// rebuild (reading the repository up to the limit) on every download. The
// proof: with the repository's directory taken away, a download still
// answers 413 (a build would fail to open it). A raised limit, and a
// version moved to another commit, are tried again.
func TestComposerOverLimitArchiveIsRemembered(t *testing.T) {
	requireClient(t, "git")
	const limit = 256 << 10
	var limits map[string]int64
	var repoRoot string
	s := newServer(t, func(c *setting.Config) {
		c.Packages.LimitSize["composer"] = limit
		// The test changes the limit of the running app through the
		// configuration's map (between requests, never during one).
		limits, repoRoot = c.Packages.LimitSize, c.Repository.Root
	})
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "big"}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	g := gitCmd{t, filepath.Join(work, "big")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "big")
	writeLib(t, g.dir, "acme/big", `Acme\Big`, "big", "")
	writeRandom := func() {
		t.Helper()
		blob := make([]byte, 4*limit) // random: the zip cannot compress it under the limit
		_, _ = rand.Read(blob)
		if err := os.WriteFile(filepath.Join(g.dir, "data.bin"), blob, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeRandom()
	g.must("add", ".")
	g.must("commit", "-qm", "big")
	g.must("tag", "v1.0.0")
	remote := authURL(s.URL, "alice", "alice-password", "alice/big.git")
	g.must("push", "-q", remote, "main", "--tags")
	h := basic("alice", "alice-password")
	if status, _, body := s.do(t, "POST", "/api/packages/alice/composer", `{"repository":"big","tag":"v1.0.0"}`,
		map[string]string{"Authorization": h["Authorization"], "Content-Type": "application/json"}); status != 201 {
		t.Fatalf("register: %d %s", status, body)
	}
	// The build job registration queued finds the archive over the limit.
	if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	distURL := func() string {
		t.Helper()
		status, _, body := s.do(t, "GET", "/api/packages/alice/composer/p2/acme/big.json", "", h)
		if status != 200 {
			t.Fatalf("p2: %d %s", status, body)
		}
		vs := decodeP2(t, body, "acme/big")
		if len(vs) != 1 || vs[0].Dist == nil {
			t.Fatalf("p2: %s", body)
		}
		return strings.TrimPrefix(vs[0].Dist.URL, s.URL)
	}
	download := func(want int) string {
		t.Helper()
		status, _, body := s.do(t, "GET", distURL(), "", h)
		if status != want {
			t.Fatalf("download: %d %.300q (want %d)", status, body, want)
		}
		return body
	}
	over := func() {
		t.Helper()
		body := download(413)
		if msgs := composerErrors(t, body); !strings.Contains(msgs[0], "archive of acme/big 1.0.0") || !strings.Contains(msgs[0], "limit") {
			t.Fatalf("message: %q", msgs)
		}
	}
	over()

	// The repository is out of reach: a build would fail (500/404); the
	// remembered refusal answers 413 without one.
	dir := filepath.Join(repoRoot, "alice", "big.git")
	if err := os.Rename(dir, dir+".away"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		over()
	}
	if err := os.Rename(dir+".away", dir); err != nil {
		t.Fatal(err)
	}

	// A raised limit builds it.
	limits["composer"] = 64 << 20
	if zip := download(200); !strings.HasPrefix(zip, "PK\x03\x04") {
		t.Fatalf("after the limit was raised: %.100q", zip)
	}

	// Back to the low limit, the tag moves to another commit over it: the
	// moved version is refused (and remembered) for its new commit, then
	// moves to a commit that fits and is built.
	limits["composer"] = limit
	writeRandom()
	g.must("commit", "-qam", "bigger")
	g.must("tag", "-f", "v1.0.0")
	g.must("push", "-q", "--force", remote, "main", "v1.0.0")
	if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	over()
	g.must("rm", "-q", "data.bin")
	g.must("commit", "-qm", "small")
	g.must("tag", "-f", "v1.0.0")
	g.must("push", "-q", "--force", remote, "main", "v1.0.0")
	if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if zip := download(200); !strings.HasPrefix(zip, "PK\x03\x04") {
		t.Fatalf("after the tag moved to a commit that fits: %.100q", zip)
	}
}
