package repository_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/models/db"
	repo_model "wharf/models/repo"
	"wharf/models/unittest"
	"wharf/modules/git"
	jobs_service "wharf/services/jobs"
	org_service "wharf/services/org"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

// eventLog collects ref-change events from concurrent deliveries.
type eventLog struct {
	mu     sync.Mutex
	events []repo_service.RefChange
}

func (l *eventLog) add(_ context.Context, c repo_service.RefChange) error {
	l.mu.Lock()
	l.events = append(l.events, c)
	l.mu.Unlock()
	return nil
}

func (l *eventLog) take() []repo_service.RefChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

// newSystemFixture is newFixtureOn with a subscriber that concurrent
// writers may deliver to: one Wharf process on d and root.
func newSystemFixture(t *testing.T, d *db.DB, root string) (*fixture, *eventLog) {
	t.Helper()
	log := unittest.DiscardLogger()
	f := &fixture{root: root, clock: time.Unix(1_800_000_000, 0)}
	now := func() time.Time { return f.clock }
	f.jobs = jobs_service.NewRunner(d, log, now)
	f.users = user_service.New(user_service.Deps{DB: d, Log: log, Now: now, MinPasswordLength: 8})
	f.orgs = org_service.New(org_service.Deps{DB: d, Now: now, Users: f.users})
	f.repos = repo_service.New(repo_service.Deps{DB: d, Log: log, Now: now, Users: f.users, Jobs: f.jobs,
		Root: root, DefaultBranch: "main", RootURL: "https://git.example.com/"})
	if err := f.repos.Init(); err != nil {
		t.Fatal(err)
	}
	events := &eventLog{}
	f.repos.SubscribeRefChanges("test", events.add)
	return f, events
}

func readAll(t *testing.T, f *fixture, rc *repo_service.Context, ref, name string) string {
	t.Helper()
	r, _, _, err := f.repos.OpenFile(context.Background(), rc, ref, name)
	if err != nil {
		t.Fatalf("open %s:%s: %v", ref, name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCommitAsSystem: the system commits into a repository its org owner
// created, whoever's Context it is given; each commit is recorded and
// announced as the system's, like a push; the same changes again commit
// nothing; a rebuild replaces the tree.
func TestCommitAsSystem(t *testing.T) {
	d := unittest.NewDB(t)
	f, log := newSystemFixture(t, d, filepath.Join(t.TempDir(), "repos"))
	ctx := context.Background()
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	if _, err := f.orgs.Create(ctx, alice, org_service.CreateOptions{Name: "team"}); err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.SetMember(ctx, alice, "team", "bob", 1); err != nil { // read
		t.Fatal(err)
	}
	// The org's owner creates the index repository; Create needs nothing
	// more for the Cargo service.
	created, err := f.repos.Create(ctx, alice, "team", repo_service.CreateOptions{Name: "_cargo-index"})
	if err != nil {
		t.Fatal(err)
	}
	// The publisher may only read the repository: the system writes anyway.
	rc, err := f.repos.Get(ctx, bob, "team", "_cargo-index")
	if err != nil || rc.Mode != repo_service.ModeRead {
		t.Fatalf("bob's view: %+v, %v", rc, err)
	}
	dir := f.repos.Path(rc.Repo)

	u1, err := f.repos.CommitAsSystem(ctx, rc, "main", []git.FileChange{
		{Path: "config.json", Content: []byte(`{"dl":"https://git.example.com/api/packages/team/cargo/api/v1/crates"}`)},
	}, "Initialize index")
	if err != nil {
		t.Fatal(err)
	}
	if u1.Ref != "refs/heads/main" || u1.OldID != git.ZeroID || !git.IsCommitID(u1.NewID) {
		t.Fatalf("root commit update: %+v", u1)
	}
	c, err := f.repos.Commit(ctx, rc, "refs/heads/main")
	if err != nil || c.ID() != u1.NewID {
		t.Fatalf("Commit(refs/heads/main) = %v, %v; want %s", c, err, u1.NewID)
	}
	if a := c.Author(); a.Name != "Wharf" || a.Email != "noreply@git.example.com" || !a.When.Equal(f.clock) || c.Committer().Email != a.Email {
		t.Fatalf("author %+v, committer %+v", a, c.Committer())
	}
	assertSystemEvents(t, log.take(), created.Repo.ID, event{"refs/heads/main", git.ZeroID, u1.NewID})
	assertRecorded(t, d, rc.Repo.ID, u1.NewID)
	if r, err := repo_model.GetRepositoryByID(ctx, d.Engine(), rc.Repo.ID); err != nil || r.IsEmpty {
		t.Fatalf("after the first commit the repository is empty=%v (%v)", r.IsEmpty, err)
	}

	u2, err := f.repos.CommitAsSystem(ctx, rc, "main", []git.FileChange{
		{Path: "se/rd/serde", Content: []byte("{\"name\":\"serde\",\"vers\":\"1.0.0\"}\n")}, {Path: "3/s/syn", Content: []byte("{}\n")},
	}, "Update serde 1.0.0")
	if err != nil || u2.OldID != u1.NewID {
		t.Fatalf("second commit: %+v, %v", u2, err)
	}
	if got := readAll(t, f, rc, "main", "se/rd/serde"); got != "{\"name\":\"serde\",\"vers\":\"1.0.0\"}\n" {
		t.Fatalf("se/rd/serde = %q", got)
	}
	assertSystemEvents(t, log.take(), created.Repo.ID, event{"refs/heads/main", u1.NewID, u2.NewID})

	// A job run again: nothing to commit, nothing announced.
	same, err := f.repos.CommitAsSystem(ctx, rc, "main", []git.FileChange{{Path: "3/s/syn", Content: []byte("{}\n")}}, "Update syn")
	if err != nil || same.OldID != u2.NewID || same.NewID != u2.NewID {
		t.Fatalf("unchanged: %+v, %v", same, err)
	}
	if evs := log.take(); len(evs) != 0 {
		t.Fatalf("an unchanged tree announced %v", eventsOf(evs))
	}

	u3, err := f.repos.CommitTreeAsSystem(ctx, rc, "main", []git.File{
		{Path: "config.json", Content: []byte("{}")}, {Path: "se/rd/serde", Content: []byte("rebuilt\n")},
	}, "Rebuild index")
	if err != nil || u3.OldID != u2.NewID {
		t.Fatalf("rebuild: %+v, %v", u3, err)
	}
	if _, _, _, err := f.repos.OpenFile(ctx, rc, "main", "3/s/syn"); !errors.Is(err, git.ErrPathNotExist) {
		t.Fatalf("a file the rebuild left out is still there: %v", err)
	}
	assertSystemEvents(t, log.take(), created.Repo.ID, event{"refs/heads/main", u2.NewID, u3.NewID})
	assertRecorded(t, d, rc.Repo.ID, u3.NewID)
	if n := pending(t, d); n != 0 {
		t.Fatalf("%d deliveries left queued", n)
	}
	if got := bareGit(t, dir, "log", "--format=%an <%ae> %s", "main"); got != "Wharf <noreply@git.example.com> Rebuild index\n"+
		"Wharf <noreply@git.example.com> Update serde 1.0.0\nWharf <noreply@git.example.com> Initialize index" {
		t.Fatalf("git log:\n%s", got)
	}
	bareGit(t, dir, "fsck", "--strict", "--no-dangling")

	// A branch name git refuses, or a path: Invalid, nothing moves.
	if _, err := f.repos.CommitAsSystem(ctx, rc, "a..b", nil, "x"); err == nil {
		t.Fatal("an invalid branch name was accepted")
	}
	if _, err := f.repos.CommitAsSystem(ctx, rc, "main", []git.FileChange{{Path: "../x"}}, "x"); err == nil {
		t.Fatal("an invalid path was accepted")
	}
	if evs := log.take(); len(evs) != 0 {
		t.Fatalf("refused commits announced %v", eventsOf(evs))
	}
}

// TestCommitAsSystemRetriesWhileGitHoldsTheBranch: while a push holds the
// branch's lock the commit retries, lands once the lock is gone, and
// gives up with ErrRefMoved (leaving git's lock alone) if it never goes.
func TestCommitAsSystemRetriesWhileGitHoldsTheBranch(t *testing.T) {
	d := unittest.NewDB(t)
	f, log := newSystemFixture(t, d, filepath.Join(t.TempDir(), "repos"))
	ctx := context.Background()
	alice := f.user(t, "alice")
	rc, dir := autoInit(t, f, alice, "_cargo-index")
	m0 := bareGit(t, dir, "rev-parse", "refs/heads/main")
	log.take()
	lock := filepath.Join(dir, "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := f.repos.CommitAsSystem(ctx, rc, "main", []git.FileChange{{Path: "a", Content: []byte("1")}}, "blocked")
	if !errors.Is(err, git.ErrRefMoved) {
		t.Fatalf("commit while the branch stays locked: %v, want ErrRefMoved", err)
	}
	if _, err := os.Stat(lock); err != nil || bareGit(t, dir, "rev-parse", "refs/heads/main") != m0 || len(log.take()) != 0 {
		t.Fatalf("a failed commit touched the branch or git's lock (%v)", err)
	}

	// The retries span at least 100ms; the "push" ends after 20.
	time.AfterFunc(20*time.Millisecond, func() { _ = os.Remove(lock) })
	u, err := f.repos.CommitAsSystem(ctx, rc, "main", []git.FileChange{{Path: "a", Content: []byte("1")}}, "after the push")
	if err != nil || u.OldID != m0 {
		t.Fatalf("commit after the lock went: %+v, %v", u, err)
	}
	assertSystemEvents(t, log.take(), rc.Repo.ID, event{"refs/heads/main", m0, u.NewID})
}

// TestConcurrentCommitsAsSystem: writers in two "processes" (services on
// the same database and repositories), two goroutines each, commit at the
// same time: every commit lands, each is announced once as its own event,
// in a chain, and the recorded ref is the head. Run with
// WHARF_TEST_DB=postgres as well.
func TestConcurrentCommitsAsSystem(t *testing.T) {
	d := unittest.NewDB(t)
	root := filepath.Join(t.TempDir(), "repos")
	f1, log1 := newSystemFixture(t, d, root)
	f2, log2 := newSystemFixture(t, d, root)
	ctx := context.Background()
	alice := f1.user(t, "alice")
	rc, dir := autoInit(t, f1, alice, "_cargo-index")
	m0 := bareGit(t, dir, "rev-parse", "refs/heads/main")
	log1.take()
	rc2, err := f2.repos.SystemContext(ctx, rc.Repo.ID)
	if err != nil {
		t.Fatal(err)
	}

	const each = 5
	var wg sync.WaitGroup
	for w, p := range []struct {
		f  *fixture
		rc *repo_service.Context
	}{{f1, rc}, {f1, rc}, {f2, rc2}, {f2, rc2}} {
		wg.Go(func() {
			for n := range each {
				name := "w" + strconv.Itoa(w) + "/" + strconv.Itoa(n)
				if _, err := p.f.repos.CommitAsSystem(ctx, p.rc, "main", []git.FileChange{{Path: name, Content: []byte(name)}}, "Add "+name); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	head := bareGit(t, dir, "rev-parse", "refs/heads/main")
	commits := strings.Fields(bareGit(t, dir, "rev-list", "--first-parent", "main"))
	if len(commits) != 1+4*each {
		t.Fatalf("main has %d commits, want %d", len(commits), 1+4*each)
	}
	files := strings.Fields(bareGit(t, dir, "ls-tree", "-r", "--name-only", "main"))
	for w := range 4 {
		for n := range each {
			if name := "w" + strconv.Itoa(w) + "/" + strconv.Itoa(n); !slices.Contains(files, name) {
				t.Fatalf("%s lost: %v", name, files)
			}
		}
	}
	// One event per commit, from each commit's parent to it.
	parentOf := map[string]string{}
	for i := 0; i+1 < len(commits); i++ {
		parentOf[commits[i]] = commits[i+1]
	}
	events := append(log1.take(), log2.take()...)
	if len(events) != 4*each {
		t.Fatalf("%d events for %d commits: %v", len(events), 4*each, eventsOf(events))
	}
	seen := map[string]bool{}
	for _, e := range events {
		if e.Ref != "refs/heads/main" || e.DoerID != 0 || seen[e.NewID] || parentOf[e.NewID] != e.OldID {
			t.Fatalf("event %+v: want each commit once, from its parent, by the system", e)
		}
		seen[e.NewID] = true
	}
	if commits[len(commits)-1] != m0 {
		t.Fatal("the system commits are not on the auto-init commit")
	}
	assertRecorded(t, d, rc.Repo.ID, head)
	if n := pending(t, d); n != 0 {
		t.Fatalf("%d deliveries left queued", n)
	}
	bareGit(t, dir, "fsck", "--strict", "--no-dangling")
}

// TestCommitAsSystemCrashIsAnnouncedAtRestart: a crash between the commit
// and its announcement loses nothing: the next start announces it, as
// the system's.
func TestCommitAsSystemCrashIsAnnouncedAtRestart(t *testing.T) {
	d := unittest.NewDB(t)
	root := filepath.Join(t.TempDir(), "repos")
	crash := &crasher{}
	f := newFixtureOn(t, d, root, crash.hook, "http://localhost:3000/")
	ctx := context.Background()
	alice := f.user(t, "alice")
	rc, dir := autoInit(t, f, alice, "_cargo-index")
	m0 := bareGit(t, dir, "rev-parse", "refs/heads/main")
	f.events = nil

	crash.arm(repo_service.FaultRefsMoved)
	if _, err := f.repos.CommitAsSystem(ctx, rc, "main", []git.FileChange{{Path: "a", Content: []byte("1")}}, "crashed"); err == nil {
		t.Fatal("the injected crash did not stop the commit")
	}
	m1 := bareGit(t, dir, "rev-parse", "refs/heads/main")
	if m1 == m0 || len(f.events) != 0 {
		t.Fatalf("want the commit made and not announced: main %s, events %v", m1, f.events)
	}

	f2 := newFixtureOn(t, d, root, nil, "http://localhost:3000/")
	if err := f2.repos.ScheduleReconcileAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f2.jobs.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	assertEvents(t, "after restart", f2.events, event{"refs/heads/main", m0, m1})
	if f2.events[0].DoerID != 0 {
		t.Fatalf("announced as user %d, want the system", f2.events[0].DoerID)
	}
}

func assertSystemEvents(t *testing.T, got []repo_service.RefChange, repoID int64, want ...event) {
	t.Helper()
	assertEvents(t, "system commit", got, want...)
	for _, c := range got {
		if c.DoerID != 0 || c.RepoID != repoID || c.RepoDeleted {
			t.Fatalf("event %+v: want the system's, of repository %d", c, repoID)
		}
	}
}

func assertRecorded(t *testing.T, d *db.DB, repoID int64, main string) {
	t.Helper()
	refs, err := repo_model.GetRefs(context.Background(), d.Engine(), repoID)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"refs/heads/main": main}; !maps.Equal(refs, want) {
		t.Fatalf("recorded refs %v, want %v", refs, want)
	}
}
