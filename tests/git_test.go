package tests

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/git"
	repo_service "wharf/services/repository"
)

// recorder collects ref-change events.
type recorder struct {
	mu     sync.Mutex
	events []repo_service.RefChange
}

func record(s *server) *recorder {
	r := &recorder{}
	s.App.Repos.SubscribeRefChanges("test-recorder", func(_ context.Context, c repo_service.RefChange) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, c)
		return nil
	})
	return r
}

// take returns the events so far as "ref old..new" lines and forgets them.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, e := range r.events {
		out[i] = fmt.Sprintf("%s %s..%s", e.Ref, short(e.OldID), short(e.NewID))
	}
	r.events = nil
	return out
}

func short(id string) string {
	if id == git.ZeroID {
		return "0"
	}
	return id[:7]
}

// gitCmd runs the real git in dir with a clean configuration.
type gitCmd struct {
	t   testing.TB
	dir string
}

func (g gitCmd) run(args ...string) (string, error) {
	cmd := exec.CommandContext(g.t.Context(), "git", args...)
	cmd.Dir = g.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=t@example.com")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (g gitCmd) must(args ...string) string {
	g.t.Helper()
	out, err := g.run(args...)
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (g gitCmd) rev(name string) string { return strings.TrimSpace(g.must("rev-parse", name))[:7] }

// authURL is the clone URL with credentials in it.
func authURL(base, user, secret, path string) string {
	u, _ := url.Parse(base + "/" + path)
	u.User = url.UserPassword(user, secret)
	return u.String()
}

func TestGitOverHTTP(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	events := record(s)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "lib", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	if got := events.take(); len(got) != 1 || !strings.HasPrefix(got[0], "refs/heads/main 0..") {
		t.Fatalf("auto_init events: %v", got)
	}
	tok, _, err := alice.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "git", Scopes: []gitea.AccessTokenScope{"write:repository"}})
	if err != nil {
		t.Fatal(err)
	}
	readTok, _, err := alice.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "ro", Scopes: []gitea.AccessTokenScope{"read:repository"}})
	if err != nil {
		t.Fatal(err)
	}

	// Anonymous clone of a public repository, with and without ".git".
	work := t.TempDir()
	g := gitCmd{t, filepath.Join(work, "lib")}
	gitCmd{t, work}.must("clone", "-q", s.URL+"/alice/lib.git")
	gitCmd{t, work}.must("clone", "-q", s.URL+"/alice/lib", "lib-again")
	if out := g.must("log", "--format=%s"); strings.TrimSpace(out) != "Initial commit" {
		t.Fatalf("cloned history: %q", out)
	}

	// Anonymous push: 401, git cannot prompt, nothing changes.
	if err := os.WriteFile(filepath.Join(g.dir, "a.txt"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.must("add", "a.txt")
	g.must("commit", "-qm", "add a")
	out, err := g.run("push", "origin", "main")
	if err == nil || !strings.Contains(out, "could not read Username") {
		t.Fatalf("anonymous push: %v\n%s", err, out)
	}
	// Authenticated without write: 403.
	out, err = g.run("push", authURL(s.URL, "bob", "bob-password", "alice/lib.git"), "main")
	if err == nil || !strings.Contains(out, "403") {
		t.Fatalf("push without write: %v\n%s", err, out)
	}
	// A read-only token may fetch but not push.
	out, err = g.run("push", authURL(s.URL, "alice", readTok.Token, "alice/lib.git"), "main")
	if err == nil || !strings.Contains(out, "403") {
		t.Fatalf("push with a read-only token: %v\n%s", err, out)
	}
	g.must("fetch", "-q", authURL(s.URL, "alice", readTok.Token, "alice/lib.git"))
	if got := events.take(); len(got) != 0 {
		t.Fatalf("failed pushes produced events: %v", got)
	}

	// Push with the password, then with a token.
	before := strings.TrimSpace(g.must("rev-parse", "origin/main"))[:7]
	g.must("push", "-q", authURL(s.URL, "alice", "alice-password", "alice/lib.git"), "main")
	if got, want := events.take(), []string{"refs/heads/main " + before + ".." + g.rev("main")}; !slices.Equal(got, want) {
		t.Fatalf("push events %v, want %v", got, want)
	}
	remote := authURL(s.URL, "alice", tok.Token, "alice/lib.git")
	g.must("tag", "v1.0.0")
	g.must("tag", "-a", "v1.1.0", "-m", "annotated")
	g.must("push", "-q", remote, "--tags")
	if got, want := events.take(), []string{"refs/tags/v1.0.0 0.." + g.rev("v1.0.0"), "refs/tags/v1.1.0 0.." + g.rev("v1.1.0")}; !slices.Equal(sorted(got), want) {
		t.Fatalf("push --tags events %v, want %v", got, want)
	}

	// Force-move a tag.
	oldTag := g.rev("v1.0.0")
	if err := os.WriteFile(filepath.Join(g.dir, "b.txt"), []byte("b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.must("add", "b.txt")
	g.must("commit", "-qm", "add b")
	g.must("tag", "-f", "v1.0.0")
	out, err = g.run("push", remote, "v1.0.0")
	if err == nil {
		t.Fatalf("a non-forced tag move must be refused:\n%s", out)
	}
	if got := events.take(); len(got) != 0 {
		t.Fatalf("a refused push produced events: %v", got)
	}
	g.must("push", "-q", "--force", remote, "v1.0.0")
	if got, want := events.take(), []string{"refs/tags/v1.0.0 " + oldTag + ".." + g.rev("v1.0.0")}; !slices.Equal(got, want) {
		t.Fatalf("force-push events %v, want %v", got, want)
	}

	// Delete a tag and a branch by push.
	g.must("push", "-q", remote, "HEAD:refs/heads/topic")
	events.take()
	g.must("push", "-q", remote, "--delete", "v1.1.0", "topic")
	if got := sorted(events.take()); len(got) != 2 || !strings.HasPrefix(got[0], "refs/heads/topic ") || !strings.HasSuffix(got[0], "..0") || !strings.HasPrefix(got[1], "refs/tags/v1.1.0 ") {
		t.Fatalf("push --delete events: %v", got)
	}

	// Protocol v2: the client says so and the server answers in v2.
	cmd := exec.CommandContext(t.Context(), "git", "-c", "protocol.version=2", "ls-remote", s.URL+"/alice/lib.git")
	cmd.Env = append(os.Environ(), "GIT_TRACE_PACKET=1", "GIT_CONFIG_GLOBAL=/dev/null")
	trace, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(trace), "< version 2") || !strings.Contains(string(trace), "refs/tags/v1.0.0") {
		t.Fatalf("protocol v2 ls-remote: %v\n%s", err, trace)
	}
	v2 := gitCmd{t, filepath.Join(work, "v2")}
	gitCmd{t, work}.must("-c", "protocol.version=2", "clone", "-q", "--filter=blob:none", s.URL+"/alice/lib.git", "v2")
	v2.must("-c", "protocol.version=2", "fetch", "-q", "origin", "tag", "v1.0.0")
	if v2.rev("v1.0.0") != g.rev("v1.0.0") {
		t.Fatal("v2 fetch got the wrong tag")
	}

	// The API sees what was pushed.
	tags, _, err := alice.ListRepoTags("alice", "lib", gitea.ListRepoTagsOptions{})
	if err != nil || len(tags) != 1 || tags[0].Name != "v1.0.0" || tags[0].Commit.SHA[:7] != g.rev("v1.0.0") {
		t.Fatalf("ListRepoTags = %+v, %v", tags, err)
	}
	repo, _, err := alice.GetRepo("alice", "lib")
	if err != nil || repo.Empty {
		t.Fatalf("GetRepo after push: %+v, %v", repo, err)
	}
	if out := g.must("fsck", "--strict"); strings.Contains(out, "error") {
		t.Fatal(out)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestGitPrivateRepository(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "corp"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateOrgRepo("corp", gitea.CreateRepoOption{Name: "secret", Private: true, AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	work := gitCmd{t, t.TempDir()}
	out, err := work.run("clone", s.URL+"/corp/secret.git", "anon")
	if err == nil || !strings.Contains(out, "could not read Username") {
		t.Fatalf("anonymous clone of a private repository: %v\n%s", err, out)
	}
	out, err = work.run("clone", authURL(s.URL, "bob", "bob-password", "corp/secret.git"), "bob")
	if err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("a stranger must see 404: %v\n%s", err, out)
	}
	// A read member may clone, not push; a write member may push.
	for role, canPush := range map[string]bool{"read": false, "write": true} {
		status, _, body := s.do(t, "PUT", "/api/v1/orgs/corp/members/bob", `{"role":"`+role+`"}`, basic("alice", "alice-password"))
		if status != http.StatusNoContent {
			t.Fatalf("set role: %d %s", status, body)
		}
		dir := "bob-" + role
		work.must("clone", "-q", authURL(s.URL, "bob", "bob-password", "corp/secret.git"), dir)
		g := gitCmd{t, filepath.Join(work.dir, dir)}
		g.must("commit", "-q", "--allow-empty", "-m", "by bob")
		out, err := g.run("push", "origin", "main")
		if (err == nil) != canPush {
			t.Fatalf("%s member push: %v\n%s", role, err, out)
		}
	}
}

// TestGitBadInput: malformed packs, gzip bodies, unknown repositories and
// concurrent pushes leave repositories intact and produce no stray events.
func TestGitBadInput(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	events := record(s)
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "lib", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	events.take()
	auth := basic("alice", "alice-password")

	// A receive-pack request whose pack is garbage: git's own error, no
	// ref change, no event.
	ref := strings.Repeat("1", 40)
	cmdLine := git.ZeroID + " " + ref + " refs/heads/evil\x00report-status\n"
	body := fmt.Sprintf("%04x%s0000PACK-this-is-not-a-pack", len(cmdLine)+4, cmdLine)
	h := map[string]string{"Content-Type": "application/x-git-receive-pack-request", "Authorization": auth["Authorization"]}
	status, _, resp := s.do(t, "POST", "/alice/lib.git/git-receive-pack", body, h)
	if status != http.StatusOK || !strings.Contains(resp, "unpack") {
		t.Fatalf("malformed pack: %d %q", status, resp)
	}
	if got := events.take(); len(got) != 0 {
		t.Fatalf("malformed pack produced events: %v", got)
	}
	branches, _, err := alice.ListRepoBranches("alice", "lib", gitea.ListRepoBranchesOptions{})
	if err != nil || len(branches) != 1 {
		t.Fatalf("branches after a malformed push: %+v, %v", branches, err)
	}

	// A gzip-encoded upload-pack request, as git sends for large fetches.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprintf(zw, "0000")
	zw.Close()
	status, _, _ = s.do(t, "POST", "/alice/lib.git/git-upload-pack", gz.String(),
		map[string]string{"Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "gzip"})
	if status != http.StatusOK {
		t.Fatalf("gzip upload-pack: %d", status)
	}
	status, _, resp = s.do(t, "POST", "/alice/lib.git/git-upload-pack", "not gzip",
		map[string]string{"Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "gzip"})
	if status != http.StatusBadRequest || !strings.Contains(resp, "gzip") {
		t.Fatalf("broken gzip: %d %q", status, resp)
	}
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/alice/nope.git/info/refs?service=git-upload-pack", http.StatusUnauthorized}, // anonymous: might be private
		{"/alice/lib.git/info/refs?service=git-frobnicate", http.StatusForbidden},
		{"/alice/lib.git/info/refs", http.StatusForbidden},
		{"/alice/..%2f..%2fetc.git/info/refs?service=git-upload-pack", http.StatusUnauthorized},
		{"/%2e%2e/lib.git/info/refs?service=git-upload-pack", http.StatusUnauthorized},
	} {
		status, _, _ := s.do(t, "GET", c.path, "", nil)
		if status != c.status {
			t.Errorf("GET %s: %d, want %d", c.path, status, c.status)
		}
	}
	status, _, _ = s.do(t, "GET", "/alice/nope.git/info/refs?service=git-upload-pack", "", auth)
	if status != http.StatusNotFound {
		t.Errorf("unknown repository, signed in: %d", status)
	}

	// Concurrent pushes of different branches: all land, each event once.
	work := gitCmd{t, t.TempDir()}
	work.must("clone", "-q", authURL(s.URL, "alice", "alice-password", "alice/lib.git"), "c")
	g := gitCmd{t, filepath.Join(work.dir, "c")}
	const n = 6
	for i := range n {
		g.must("commit", "-q", "--allow-empty", "-m", fmt.Sprint("c", i))
		g.must("branch", fmt.Sprint("b", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := g.run("push", "-q", "origin", fmt.Sprint("b", i))
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := sorted(events.take())
	if len(got) != n {
		t.Fatalf("%d events for %d pushes: %v", len(got), n, got)
	}
	for i, e := range got {
		if want := fmt.Sprintf("refs/heads/b%d 0..%s", i, g.rev(fmt.Sprint("b", i))); e != want {
			t.Errorf("event %q, want %q", e, want)
		}
	}
	if out, err := exec.Command("git", "--git-dir", filepath.Join(s.App.Cfg.Repository.Root, "alice", "lib.git"), "fsck", "--strict").CombinedOutput(); err != nil {
		t.Fatalf("fsck after concurrent pushes: %v\n%s", err, out)
	}
}
