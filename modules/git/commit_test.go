package git_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/modules/apperr"
	"wharf/modules/git"
)

// requireGit skips without the git CLI, and fails under CI.
func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is required in CI")
		}
		t.Skip("git not installed; CI=true makes this a failure")
	}
}

// gitCLI runs the system git and returns its trimmed output.
func gitCLI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newBare(t *testing.T) (string, *git.Repo) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "index.git")
	if err := git.InitBare(dir, "main"); err != nil {
		t.Fatal(err)
	}
	return dir, openRepo(t, dir)
}

func openRepo(t *testing.T, dir string) *git.Repo {
	t.Helper()
	g, err := git.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var system = git.Signature{Name: "Wharf", Email: "noreply@example.com", When: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}

func set(p, content string) git.FileChange { return git.FileChange{Path: p, Content: []byte(content)} }
func del(p string) git.FileChange          { return git.FileChange{Path: p, Delete: true} }

// tree lists a commit's directories (with a trailing '/') and files with
// their contents.
func tree(t *testing.T, g *git.Repo, rev string) []string {
	t.Helper()
	c, err := g.ResolveCommit(rev)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = c.WalkTree(context.Background(), func(name string, isDir bool, _ func() (int64, error)) error {
		if isDir {
			out = append(out, name+"/")
			return nil
		}
		b, err := g.ReadFile(rev, name)
		out = append(out, name+"="+string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assertTree(t *testing.T, g *git.Repo, rev string, want ...string) {
	t.Helper()
	if got := tree(t, g, rev); !slices.Equal(got, want) {
		t.Fatalf("tree of %s:\n%s\nwant:\n%s", rev, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func sameSig(a, b git.Signature) bool {
	return a.Name == b.Name && a.Email == b.Email && a.When.Equal(b.When)
}

func head(t *testing.T, g *git.Repo) string {
	t.Helper()
	ref, err := g.Ref("refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	return ref.CommitID
}

// TestCommitFiles: nested paths are created, files updated, deletions
// prune empty directories, an unchanged tree writes no commit, and the
// system git reads every commit (fsck --strict, show, log, clone).
func TestCommitFiles(t *testing.T) {
	requireGit(t)
	dir, g := newBare(t)
	c1, err := g.CommitFiles("main", "", []git.FileChange{
		set("config.json", `{"dl":"x"}`), set("se/rd/serde", "serde 1.0.0\n"), set("1/a", "a\n"), set("3/s/syn", "syn\n"),
	}, system, "Initialize index")
	if err != nil {
		t.Fatal(err)
	}
	if head(t, g) != c1 {
		t.Fatalf("main is at %s, want %s", head(t, g), c1)
	}
	assertTree(t, g, "main", "1/", "1/a=a\n", "3/", "3/s/", "3/s/syn=syn\n", "config.json={\"dl\":\"x\"}", "se/", "se/rd/", "se/rd/serde=serde 1.0.0\n")

	c2, err := g.CommitFiles("main", c1, []git.FileChange{
		set("se/rd/serde", "serde 1.0.0\nserde 1.0.1\n"), set("se/rd/serde_json", "json\n"), del("1/a"),
	}, system, "Update serde")
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.ResolveCommit("main")
	if err != nil || c.ID() != c2 || !slices.Equal(c.ParentIDs(), []string{c1}) || c.Message() != "Update serde\n" || !sameSig(c.Author(), system) || !sameSig(c.Committer(), system) {
		t.Fatalf("second commit: %+v %v %q %+v, %v", c.ID(), c.ParentIDs(), c.Message(), c.Author(), err)
	}
	assertTree(t, g, "main", "3/", "3/s/", "3/s/syn=syn\n", "config.json={\"dl\":\"x\"}", "se/", "se/rd/",
		"se/rd/serde=serde 1.0.0\nserde 1.0.1\n", "se/rd/serde_json=json\n")

	// The same changes again, and deleting what is not there: no commit.
	same, err := g.CommitFiles("main", c2, []git.FileChange{set("se/rd/serde_json", "json\n"), del("1/a"), del("no/such/file"), del("config.json/below-a-file")}, system, "Again")
	if err != nil || same != c2 || head(t, g) != c2 {
		t.Fatalf("unchanged tree: %s, %v; main at %s, want %s", same, err, head(t, g), c2)
	}
	// ...but only if the branch is still where the caller thinks.
	if _, err := g.CommitFiles("main", c1, []git.FileChange{set("se/rd/serde_json", "json\n")}, system, "Stale"); !errors.Is(err, git.ErrRefMoved) {
		t.Fatalf("unchanged tree on a stale parent: %v, want ErrRefMoved", err)
	}

	c3, err := g.CommitFiles("main", c2, []git.FileChange{del("se/rd/serde"), del("se/rd/serde_json"), del("3/s/syn")}, system, "Remove all crates")
	if err != nil {
		t.Fatal(err)
	}
	assertTree(t, g, "main", "config.json={\"dl\":\"x\"}")

	// git's entry order: a directory sorts as if its name ended in '/'.
	c4, err := g.CommitFiles("main", c3, []git.FileChange{set("a/a.txt", "1"), set("a/a-b", "2"), set("a/a0", "3"), set("a/a/x", "4"), set("a/a/x.y", "5")}, system, "Order")
	if err != nil {
		t.Fatal(err)
	}

	gitCLI(t, "--git-dir", dir, "fsck", "--strict", "--no-dangling")
	if got := gitCLI(t, "--git-dir", dir, "show", c2+":se/rd/serde"); got != "serde 1.0.0\nserde 1.0.1" {
		t.Fatalf("git show: %q", got)
	}
	if got := gitCLI(t, "--git-dir", dir, "log", "--format=%an <%ae> %s", "main"); got != "Wharf <noreply@example.com> Order\n"+
		"Wharf <noreply@example.com> Remove all crates\nWharf <noreply@example.com> Update serde\nWharf <noreply@example.com> Initialize index" {
		t.Fatalf("git log:\n%s", got)
	}
	if got := gitCLI(t, "--git-dir", dir, "ls-tree", "--name-only", c4, "a/"); got != "a/a-b\na/a.txt\na/a\na/a0" {
		t.Fatalf("git ls-tree order:\n%s", got)
	}
	work := filepath.Join(t.TempDir(), "clone")
	gitCLI(t, "clone", "-q", dir, work)
	if b, err := os.ReadFile(filepath.Join(work, "a", "a", "x.y")); err != nil || string(b) != "5" {
		t.Fatalf("cloned file: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(work, "se")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the pruned directory is in the clone: %v", err)
	}
	if st := gitCLI(t, "-C", work, "status", "--porcelain"); st != "" {
		t.Fatalf("clone not clean: %s", st)
	}
}

// TestCommitFilesRefusals: bad paths and impossible changes are Invalid,
// a wrong expectation is ErrRefMoved, and none of them moves the branch.
func TestCommitFilesRefusals(t *testing.T) {
	_, g := newBare(t)
	c1, err := g.CommitFiles("main", "", []git.FileChange{set("config.json", "{}"), set("3/s/syn", "syn\n")}, system, "init")
	if err != nil {
		t.Fatal(err)
	}
	invalid := map[string][]git.FileChange{
		"empty path":             {set("", "x")},
		"absolute":               {set("/etc/passwd", "x")},
		"trailing slash":         {set("a/", "x")},
		"double slash":           {set("a//b", "x")},
		"dot":                    {set("a/./b", "x")},
		"dot dot":                {set("a/../b", "x")},
		".git":                   {set(".git/config", "x")},
		".GIT nested":            {set("a/.GIT/hooks/x", "x")},
		"NUL":                    {set("a\x00b", "x")},
		"twice":                  {set("a", "1"), del("a")},
		"file and directory":     {set("a", "1"), set("a/b", "2")},
		"below a file":           {set("config.json/x", "x")},
		"file over a directory":  {set("3", "x")},
		"delete a directory":     {del("3/s")},
		"deeper below a file":    {set("3/s/syn/x/y", "x")},
		"delete in a file's dir": {del("config.json"), set("config.json/x", "x")},
	}
	for name, cs := range invalid {
		if _, err := g.CommitFiles("main", c1, cs, system, name); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	for _, branch := range []string{"", "a..b", "-x"} {
		if _, err := g.CommitFiles(branch, c1, []git.FileChange{set("x", "x")}, system, "bad branch"); err == nil {
			t.Errorf("branch %q accepted", branch)
		}
	}
	if _, err := g.CommitFiles("main", "HEAD", []git.FileChange{set("x", "x")}, system, "not an id"); apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("parent \"HEAD\": %v, want Invalid", err)
	}
	if _, err := g.CommitFiles("main", "", []git.FileChange{set("x", "x")}, system, "root again"); !errors.Is(err, git.ErrRefMoved) {
		t.Errorf("root commit on an existing branch: %v, want ErrRefMoved", err)
	}
	if _, err := g.CommitFiles("other", c1, []git.FileChange{set("x", "x")}, system, "no such branch"); !errors.Is(err, git.ErrRefMoved) {
		t.Errorf("parent given for a missing branch: %v, want ErrRefMoved", err)
	}
	if head(t, g) != c1 {
		t.Fatal("a refused commit moved the branch")
	}
	if _, err := g.ReadFile("main", "3/s"); !errors.Is(err, git.ErrPathNotExist) {
		t.Errorf("ReadFile of a directory: %v", err)
	}
	if _, err := g.ReadFile("nope", "config.json"); !errors.Is(err, git.ErrRefNotExist) {
		t.Errorf("ReadFile of a missing branch: %v", err)
	}
}

// TestCommitTree: the new tree is exactly the files given, whatever the
// parent held; the same files again write no commit.
func TestCommitTree(t *testing.T) {
	requireGit(t)
	dir, g := newBare(t)
	c1, err := g.CommitFiles("main", "", []git.FileChange{set("config.json", "{}"), set("se/rd/serde", "old\n"), set("1/a", "a\n")}, system, "init")
	if err != nil {
		t.Fatal(err)
	}
	files := []git.File{{Path: "se/rd/serde", Content: []byte("new\n")}, {Path: "config.json", Content: []byte("{}")}, {Path: "2/ab", Content: []byte("ab\n")}}
	c2, err := g.CommitTree("main", c1, files, system, "Rebuild")
	if err != nil {
		t.Fatal(err)
	}
	assertTree(t, g, "main", "2/", "2/ab=ab\n", "config.json={}", "se/", "se/rd/", "se/rd/serde=new\n")
	if again, err := g.CommitTree("main", c2, files, system, "Rebuild again"); err != nil || again != c2 {
		t.Fatalf("rebuild with nothing new: %s, %v", again, err)
	}
	if _, err := g.CommitTree("main", c2, append(files, git.File{Path: "2/ab", Content: nil}), system, "dup"); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("a path given twice: %v", err)
	}
	empty, err := g.CommitTree("main", c2, nil, system, "Empty")
	if err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, "--git-dir", dir, "rev-parse", empty+"^{tree}"); got != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" {
		t.Fatalf("an empty rebuild's tree is %s, want git's empty tree", got)
	}
	gitCLI(t, "--git-dir", dir, "fsck", "--strict", "--no-dangling")
}

// TestCommitFilesCompareAndSwap: two writers on the same parent, each with
// its own Repo, as two jobs (or processes) are: one wins, the other gets
// ErrRefMoved, reads the branch again and lands on top; nothing is lost.
func TestCommitFilesCompareAndSwap(t *testing.T) {
	requireGit(t)
	dir, g := newBare(t)
	base, err := g.CommitFiles("main", "", []git.FileChange{set("config.json", "{}")}, system, "init")
	if err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	results := make([]error, 2)
	ids := make([]string, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			w, err := git.Open(dir)
			if err != nil {
				results[i] = err
				return
			}
			<-start
			ids[i], results[i] = w.CommitFiles("main", base, []git.FileChange{set("crate"+strconv.Itoa(i), "v1\n")}, system, "writer "+strconv.Itoa(i))
		})
	}
	close(start)
	wg.Wait()
	winner, loser := 0, 1
	if results[0] != nil {
		winner, loser = 1, 0
	}
	if results[winner] != nil || !errors.Is(results[loser], git.ErrRefMoved) {
		t.Fatalf("want one success and one ErrRefMoved, got %v and %v", results[0], results[1])
	}
	if head(t, g) != ids[winner] {
		t.Fatalf("main at %s, want the winner's %s", head(t, g), ids[winner])
	}
	// The loser re-reads and retries.
	retried, err := g.CommitFiles("main", head(t, g), []git.FileChange{set("crate"+strconv.Itoa(loser), "v1\n")}, system, "writer "+strconv.Itoa(loser))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := g.ResolveCommit(retried)
	if !slices.Equal(c.ParentIDs(), []string{ids[winner]}) {
		t.Fatalf("the retry's parents are %v, want the winner's commit", c.ParentIDs())
	}
	assertTree(t, g, "main", "config.json={}", "crate0=v1\n", "crate1=v1\n")

	// Many writers, each retrying on ErrRefMoved: every commit lands.
	const writers, each = 4, 8
	var moved sync.Map
	for w := range writers {
		wg.Go(func() {
			r, err := git.Open(dir)
			if err != nil {
				t.Error(err)
				return
			}
			for n := range each {
				p := path.Join("w"+strconv.Itoa(w), strconv.Itoa(n))
				for attempt := 0; ; attempt++ {
					ref, err := r.Ref("refs/heads/main")
					if err != nil {
						t.Error(err)
						return
					}
					_, err = r.CommitFiles("main", ref.CommitID, []git.FileChange{set(p, p)}, system, p)
					if err == nil {
						break
					}
					if !errors.Is(err, git.ErrRefMoved) || attempt > 1000 {
						t.Errorf("%s: %v after %d attempts", p, err, attempt)
						return
					}
					moved.Store(p, true)
				}
			}
		})
	}
	wg.Wait()
	count := gitCLI(t, "--git-dir", dir, "rev-list", "--count", "--first-parent", "main")
	if want := strconv.Itoa(3 + writers*each); count != want {
		t.Fatalf("main has %s commits, want %s", count, want)
	}
	files := tree(t, g, "main")
	for w := range writers {
		for n := range each {
			p := path.Join("w"+strconv.Itoa(w), strconv.Itoa(n))
			if !slices.Contains(files, p+"="+p) {
				t.Fatalf("%s lost; tree:\n%s", p, strings.Join(files, "\n"))
			}
		}
	}
	n := 0
	moved.Range(func(any, any) bool { n++; return true })
	t.Logf("%d of %d commits had to retry", n, writers*each)
	gitCLI(t, "--git-dir", dir, "fsck", "--strict", "--no-dangling")
}

// TestCommitFilesFollowsGitsLocking: a ref git is updating (its .lock
// exists) is not written and the lock is left to its owner; a branch
// git moved is not overwritten; a packed ref is read.
func TestCommitFilesFollowsGitsLocking(t *testing.T) {
	requireGit(t)
	dir, g := newBare(t)
	c1, err := g.CommitFiles("main", "", []git.FileChange{set("a", "1")}, system, "init")
	if err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := g.CommitFiles("main", c1, []git.FileChange{set("a", "2")}, system, "while git holds the lock"); !errors.Is(err, git.ErrRefMoved) {
		t.Fatalf("commit while git holds the lock: %v, want ErrRefMoved", err)
	}
	if _, err := os.Stat(lock); err != nil || head(t, g) != c1 {
		t.Fatalf("git's lock must stay (%v) and main must not move (%s)", err, head(t, g))
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}

	// A push moves main behind Wharf's back.
	pushed := gitCLI(t, "--git-dir", dir, "commit-tree", c1+"^{tree}", "-p", c1, "-m", "pushed")
	gitCLI(t, "--git-dir", dir, "update-ref", "refs/heads/main", pushed, c1)
	if _, err := g.CommitFiles("main", c1, []git.FileChange{set("a", "2")}, system, "stale"); !errors.Is(err, git.ErrRefMoved) {
		t.Fatalf("commit on a parent git moved away from: %v", err)
	}

	// After git gc, main lives only in packed-refs.
	gitCLI(t, "--git-dir", dir, "pack-refs", "--all", "--prune")
	if _, err := os.Stat(filepath.Join(dir, "refs", "heads", "main")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("main is still a loose ref: %v", err)
	}
	c3, err := g.CommitFiles("main", pushed, []git.FileChange{set("a", "2")}, system, "on a packed ref")
	if err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, "--git-dir", dir, "rev-parse", "main"); got != c3 {
		t.Fatalf("git sees main at %s, want %s", got, c3)
	}
	if _, err := os.Stat(lock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("our lock was left behind: %v", err)
	}
	gitCLI(t, "--git-dir", dir, "fsck", "--strict")
}

// TestLockWrites: one holder at a time, in this process too; a waiter
// gives up with its context.
func TestLockWrites(t *testing.T) {
	dir, g := newBare(t)
	unlock, err := g.LockWrites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	other := openRepo(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := other.LockWrites(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder while the first holds it: %v", err)
	}
	got := make(chan func(), 1)
	go func() {
		u, err := other.LockWrites(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("the lock was taken twice")
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	select {
	case u := <-got:
		if u != nil {
			u()
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter never got the lock")
	}
}

func FuzzValidFilePath(f *testing.F) {
	for _, s := range []string{"se/rd/serde", "config.json", "", "/a", "a/", "a//b", "../x", ".git", "a/.Git/b", "a\x00b", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := git.ValidFilePath(p)
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("%q: kind of %v", p, err)
			}
			return
		}
		if path.Clean(p) != p || path.IsAbs(p) || p == "." || strings.HasPrefix(p, "../") || p == ".." || strings.ContainsRune(p, 0) {
			t.Fatalf("%q accepted", p)
		}
		for _, seg := range strings.Split(p, "/") {
			if strings.EqualFold(seg, ".git") {
				t.Fatalf("%q accepted", p)
			}
		}
	})
}
