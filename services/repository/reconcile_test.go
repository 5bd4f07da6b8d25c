package repository_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	repo_model "wharf/models/repo"
	"wharf/models/unittest"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/git"
	repo_service "wharf/services/repository"
)

// bareGit runs git in a bare repository, standing in for a push: it moves
// refs on disk exactly as receive-pack does, without telling Wharf.
func bareGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newCommit makes a commit on top of parent (same tree) in a bare repository.
func newCommit(t *testing.T, dir, parent, msg string) string {
	t.Helper()
	return bareGit(t, dir, "commit-tree", parent+"^{tree}", "-p", parent, "-m", msg)
}

// crasher is a fault hook that fails at one point while armed.
type crasher struct {
	mu sync.Mutex
	at repo_service.FaultPoint
}

func (c *crasher) arm(p repo_service.FaultPoint) { c.mu.Lock(); c.at = p; c.mu.Unlock() }

func (c *crasher) hook(_ context.Context, p repo_service.FaultPoint, _ int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p == c.at {
		return errors.New("simulated crash")
	}
	return nil
}

type event struct{ ref, old, new string }

func eventsOf(cs []repo_service.RefChange) []event {
	out := make([]event, len(cs))
	for i, c := range cs {
		out[i] = event{c.Ref, c.OldID, c.NewID}
	}
	return out
}

func assertEvents(t *testing.T, what string, got []repo_service.RefChange, want ...event) {
	t.Helper()
	if g := eventsOf(got); !slices.Equal(g, want) {
		t.Fatalf("%s: events\n%v\nwant\n%v", what, g, want)
	}
}

func pending(t *testing.T, d *db.DB) int64 {
	t.Helper()
	n, err := jobs_model.CountPending(context.Background(), d.Engine())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func autoInit(t *testing.T, f *fixture, owner *user_model.User, name string) (*repo_service.Context, string) {
	t.Helper()
	rc, err := f.repos.Create(context.Background(), owner, owner.Name, repo_service.CreateOptions{Name: name, AutoInit: true})
	if err != nil {
		t.Fatal(err)
	}
	return rc, f.repos.Path(rc.Repo)
}

// TestPushAnnouncesEachChangedRefOnce: a push yields exactly one event per
// changed ref (created, moved, deleted, annotated tags by their tag
// object), the runner has nothing left to deliver, and reconciling when
// nothing changed announces nothing.
func TestPushAnnouncesEachChangedRefOnce(t *testing.T) {
	d := unittest.NewDB(t)
	f := newFixtureOn(t, d, filepath.Join(t.TempDir(), "repos"), nil, "http://localhost:3000/")
	ctx := context.Background()
	alice := f.user(t, "alice")
	rc, dir := autoInit(t, f, alice, "lib")
	m0 := bareGit(t, dir, "rev-parse", "refs/heads/main")
	assertEvents(t, "auto-init", f.events, event{"refs/heads/main", git.ZeroID, m0})

	f.events = nil
	if cs, err := f.repos.Reconcile(ctx, rc.Repo.ID); err != nil || len(cs) != 0 {
		t.Fatalf("reconcile with nothing changed: %v, %v", cs, err)
	}
	if n, err := f.jobs.RunOnce(ctx); n != 0 || err != nil || len(f.events) != 0 {
		t.Fatalf("nothing changed, yet %d jobs ran (%v), events %v", n, err, f.events)
	}

	m1 := newCommit(t, dir, m0, "second")
	bareGit(t, dir, "update-ref", "refs/heads/main", m1, m0)
	bareGit(t, dir, "branch", "feature", m0)
	bareGit(t, dir, "tag", "v1", m0)
	bareGit(t, dir, "tag", "-a", "-m", "release", "v2", m1)
	v2 := bareGit(t, dir, "rev-parse", "refs/tags/v2")
	f.repos.AfterPush(ctx, alice, rc, []git.RefUpdate{
		{Ref: "refs/heads/main", OldID: m0, NewID: m1}, {Ref: "refs/heads/feature", OldID: git.ZeroID, NewID: m0},
		{Ref: "refs/tags/v1", OldID: git.ZeroID, NewID: m0}, {Ref: "refs/tags/v2", OldID: git.ZeroID, NewID: v2},
	})
	assertEvents(t, "push", f.events,
		event{"refs/heads/feature", git.ZeroID, m0}, event{"refs/heads/main", m0, m1},
		event{"refs/tags/v1", git.ZeroID, m0}, event{"refs/tags/v2", git.ZeroID, v2})
	for _, c := range f.events {
		if c.DoerID != alice.ID || c.RepoID != rc.Repo.ID || c.RepoDeleted {
			t.Fatalf("event %+v: want alice's, of the repository", c)
		}
	}
	if n := pending(t, d); n != 0 {
		t.Fatalf("%d deliveries left queued after a normal push", n)
	}

	f.events = nil
	bareGit(t, dir, "tag", "-d", "v1")
	bareGit(t, dir, "update-ref", "refs/heads/feature", m1, m0)
	f.repos.AfterPush(ctx, alice, rc, []git.RefUpdate{{Ref: "refs/tags/v1", OldID: m0, NewID: git.ZeroID}, {Ref: "refs/heads/feature", OldID: m0, NewID: m1}})
	assertEvents(t, "second push", f.events, event{"refs/heads/feature", m0, m1}, event{"refs/tags/v1", m0, git.ZeroID})

	f.events = nil
	f.repos.AfterPush(ctx, alice, rc, nil) // a rejected push: nothing moved
	if cs, err := f.repos.Reconcile(ctx, rc.Repo.ID); err != nil || len(cs) != 0 || len(f.events) != 0 {
		t.Fatalf("nothing moved: changes %v (%v), events %v", cs, err, f.events)
	}
	if n, _ := f.jobs.RunOnce(ctx); n != 0 || len(f.events) != 0 {
		t.Fatalf("the runner delivered again: %d jobs, events %v", n, f.events)
	}
}

// TestCrashAfterRefsMovedIsAnnouncedAtRestart: git moved refs (an API tag
// deletion, a push) and the process "crashed" before recording them; the
// next start announces exactly those changes, once.
func TestCrashAfterRefsMovedIsAnnouncedAtRestart(t *testing.T) {
	d := unittest.NewDB(t)
	root := filepath.Join(t.TempDir(), "repos")
	crash := &crasher{}
	f := newFixtureOn(t, d, root, crash.hook, "http://localhost:3000/")
	ctx := context.Background()
	alice := f.user(t, "alice")
	rc, dir := autoInit(t, f, alice, "lib")
	m0 := bareGit(t, dir, "rev-parse", "refs/heads/main")
	tag, err := f.repos.CreateTag(ctx, alice, rc, "v1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	assertEvents(t, "create", f.events, event{"refs/heads/main", git.ZeroID, m0}, event{"refs/tags/v1", git.ZeroID, tag.ObjectID})

	crash.arm(repo_service.FaultRefsMoved)
	if err := f.repos.DeleteTag(ctx, alice, rc, "v1"); err == nil {
		t.Fatal("the injected crash did not stop the tag deletion")
	}
	if _, err := f.repos.Tag(ctx, rc, "v1"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("git should have deleted the tag before the crash: %v", err)
	}
	m1 := newCommit(t, dir, m0, "pushed")
	bareGit(t, dir, "update-ref", "refs/heads/main", m1, m0)
	f.repos.AfterPush(ctx, alice, rc, []git.RefUpdate{{Ref: "refs/heads/main", OldID: m0, NewID: m1}})
	if len(f.events) != 2 || pending(t, d) != 0 {
		t.Fatalf("the crashed changes were announced before the restart: %v", f.events)
	}

	// Restart on the same database and repositories.
	f2 := newFixtureOn(t, d, root, nil, "http://localhost:3000/")
	if err := f2.repos.ScheduleReconcileAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f2.jobs.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	assertEvents(t, "after restart", f2.events, event{"refs/heads/main", m0, m1}, event{"refs/tags/v1", tag.ObjectID, git.ZeroID})
	if n := pending(t, d); n != 0 {
		t.Fatalf("%d jobs left", n)
	}

	// Another restart finds nothing new.
	f3 := newFixtureOn(t, d, root, nil, "http://localhost:3000/")
	if err := f3.repos.ScheduleReconcileAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f3.repos.ScheduleReconcileAll(ctx); err != nil { // queued once, however often asked
		t.Fatal(err)
	}
	if n, err := f3.jobs.RunOnce(ctx); n != 1 || err != nil || len(f3.events) != 0 {
		t.Fatalf("second restart: %d jobs (%v), events %v", n, err, f3.events)
	}
}

// TestDeleteQueuesEventsInItsTransaction: a failure inside the deletion's
// transaction leaves the repository and queues nothing; a crash right
// after it committed leaves the events queued, and the runner of the next
// start delivers each once.
func TestDeleteQueuesEventsInItsTransaction(t *testing.T) {
	d := unittest.NewDB(t)
	root := filepath.Join(t.TempDir(), "repos")
	crash := &crasher{}
	f := newFixtureOn(t, d, root, crash.hook, "http://localhost:3000/")
	ctx := context.Background()
	alice := f.user(t, "alice")
	rc, dir := autoInit(t, f, alice, "lib")
	m0 := bareGit(t, dir, "rev-parse", "refs/heads/main")
	tag, err := f.repos.CreateTag(ctx, alice, rc, "v1", "", "annotated")
	if err != nil {
		t.Fatal(err)
	}
	// A ref on disk that no event announced yet (a crash before its push
	// was recorded) is deleted too.
	bareGit(t, dir, "branch", "stray", m0)
	f.events = nil

	crash.arm(repo_service.FaultDeleteTx)
	if err := f.repos.Delete(ctx, alice, "alice", "lib"); err == nil {
		t.Fatal("the injected failure did not stop the deletion")
	}
	if _, err := f.repos.Get(ctx, alice, "alice", "lib"); err != nil {
		t.Fatalf("a rolled back deletion removed the repository: %v", err)
	}
	if n := pending(t, d); n != 0 || len(f.events) != 0 {
		t.Fatalf("a rolled back deletion queued %d jobs, events %v", n, f.events)
	}

	crash.arm(repo_service.FaultDeleted)
	if err := f.repos.Delete(ctx, alice, "alice", "lib"); err == nil {
		t.Fatal("the injected crash did not stop the deletion")
	}
	if _, err := f.repos.Get(ctx, alice, "alice", "lib"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("deleted repository still found: %v", err)
	}
	if len(f.events) != 0 || pending(t, d) != 3 {
		t.Fatalf("before the restart: events %v, %d jobs queued; want none delivered, 3 queued", f.events, pending(t, d))
	}
	if refs, err := repo_model.GetRefs(ctx, d.Engine(), rc.Repo.ID); err != nil || len(refs) != 0 {
		t.Fatalf("recorded refs of a deleted repository: %v, %v", refs, err)
	}

	f2 := newFixtureOn(t, d, root, nil, "http://localhost:3000/")
	if err := f2.repos.ScheduleReconcileAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f2.jobs.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	assertEvents(t, "after restart", f2.events,
		event{"refs/heads/main", m0, git.ZeroID}, event{"refs/heads/stray", m0, git.ZeroID}, event{"refs/tags/v1", tag.ObjectID, git.ZeroID})
	for _, c := range f2.events {
		if !c.RepoDeleted || c.RepoID != rc.Repo.ID || c.DoerID != alice.ID {
			t.Fatalf("deletion event %+v", c)
		}
	}
	// The directory the crash left behind does not block the name.
	rc2, _ := autoInit(t, f2, alice, "lib")
	if len(f2.events) != 4 || f2.events[3].RepoID != rc2.Repo.ID || !f2.events[3].IsCreate() {
		t.Fatalf("the new repository's events: %+v", f2.events)
	}
}

// TestRepositoryFromBeforeRecordingIsAdopted: a repository whose refs were
// never recorded (created before migration 5) is taken as announced as it
// is, so that its old refs are not announced again; a push to it
// announces just what the push moved.
func TestRepositoryFromBeforeRecordingIsAdopted(t *testing.T) {
	d := unittest.NewDB(t)
	f := newFixtureOn(t, d, filepath.Join(t.TempDir(), "repos"), nil, "http://localhost:3000/")
	ctx := context.Background()
	alice := f.user(t, "alice")
	forget := func(id int64) {
		t.Helper()
		if _, err := d.Xorm().Exec("UPDATE repository SET refs_recorded = ? WHERE id = ?", false, id); err != nil {
			t.Fatal(err)
		}
		if err := repo_model.DeleteRefsOfRepo(ctx, d.Engine(), id); err != nil {
			t.Fatal(err)
		}
	}
	old, oldDir := autoInit(t, f, alice, "old")
	pushed, pushedDir := autoInit(t, f, alice, "pushed")
	forget(old.Repo.ID)
	forget(pushed.Repo.ID)
	f.events = nil

	if cs, err := f.repos.Reconcile(ctx, old.Repo.ID); err != nil || len(cs) != 0 {
		t.Fatalf("adopting: %v, %v", cs, err)
	}
	m0 := bareGit(t, oldDir, "rev-parse", "refs/heads/main")
	bareGit(t, oldDir, "tag", "v1", m0)
	if cs, err := f.repos.Reconcile(ctx, old.Repo.ID); err != nil || len(cs) != 1 || cs[0].Ref != "refs/tags/v1" || !cs[0].IsCreate() {
		t.Fatalf("after adoption a new tag is one change: %v, %v", cs, err)
	}

	p0 := bareGit(t, pushedDir, "rev-parse", "refs/heads/main")
	p1 := newCommit(t, pushedDir, p0, "next")
	bareGit(t, pushedDir, "update-ref", "refs/heads/main", p1, p0)
	bareGit(t, pushedDir, "tag", "v2", p1)
	f.repos.AfterPush(ctx, alice, pushed, []git.RefUpdate{{Ref: "refs/heads/main", OldID: p0, NewID: p1}, {Ref: "refs/tags/v2", OldID: git.ZeroID, NewID: p1}})
	assertEvents(t, "first push after the upgrade", f.events, event{"refs/heads/main", p0, p1}, event{"refs/tags/v2", git.ZeroID, p1})
}

// TestConcurrentReconcilesAnnounceOnce: reconciliations of one repository
// that run at the same time announce each change once between them.
func TestConcurrentReconcilesAnnounceOnce(t *testing.T) {
	d := unittest.NewDB(t)
	f := newFixtureOn(t, d, filepath.Join(t.TempDir(), "repos"), nil, "http://localhost:3000/")
	ctx := context.Background()
	alice := f.user(t, "alice")
	rc, dir := autoInit(t, f, alice, "lib")
	m0 := bareGit(t, dir, "rev-parse", "refs/heads/main")
	for _, tag := range []string{"a", "b", "c"} {
		bareGit(t, dir, "tag", tag, m0)
	}
	var mu sync.Mutex
	var all []string
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			cs, err := f.repos.Reconcile(ctx, rc.Repo.ID)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, c := range cs {
				all = append(all, c.Ref)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	if want := []string{"refs/tags/a", "refs/tags/b", "refs/tags/c"}; !slices.Equal(all, want) {
		t.Fatalf("announced %v, want each of %v once", all, want)
	}
}
