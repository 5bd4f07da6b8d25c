package repository_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wharf/models/db"
	"wharf/models/unittest"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	jobs_service "wharf/services/jobs"
	org_service "wharf/services/org"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

type fixture struct {
	jobs   *jobs_service.Runner
	clock  time.Time
	users  *user_service.Service
	orgs   *org_service.Service
	repos  *repo_service.Service
	root   string
	events []repo_service.RefChange
}

func newFixture(t *testing.T, rootURL string, aliases ...string) *fixture {
	t.Helper()
	return newFixtureOn(t, unittest.NewDB(t), filepath.Join(t.TempDir(), "repos"), nil, rootURL, aliases...)
}

// newFixtureOn builds the services on an existing database and repository
// root (a restart, when they were used before), with an optional fault
// hook.
func newFixtureOn(t *testing.T, d *db.DB, root string, fault func(context.Context, repo_service.FaultPoint, int64) error, rootURL string, aliases ...string) *fixture {
	t.Helper()
	log := unittest.DiscardLogger()
	f := &fixture{root: root, clock: time.Unix(1_800_000_000, 0)}
	now := func() time.Time { return f.clock }
	f.jobs = jobs_service.NewRunner(d, log, now)
	f.users = user_service.New(user_service.Deps{DB: d, Log: log, Now: now, MinPasswordLength: 8})
	f.orgs = org_service.New(org_service.Deps{DB: d, Now: now, Users: f.users})
	f.repos = repo_service.New(repo_service.Deps{DB: d, Log: log, Now: now, Users: f.users, Jobs: f.jobs,
		Root: f.root, DefaultBranch: "main", RootURL: rootURL, HostAliases: aliases, Fault: fault})
	if err := f.repos.Init(); err != nil {
		t.Fatal(err)
	}
	f.repos.SubscribeRefChanges("test", func(_ context.Context, c repo_service.RefChange) error {
		f.events = append(f.events, c)
		return nil
	})
	return f
}

func (f *fixture) user(t *testing.T, name string) *user_model.User {
	t.Helper()
	u, err := f.users.Create(context.Background(), user_service.CreateOptions{Name: name, Email: name + "@example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestResolveURL(t *testing.T) {
	f := newFixture(t, "https://git.example.com/", "git.internal", "old.example.com:8443")
	ctx := context.Background()
	alice := f.user(t, "Alice")
	rc, err := f.repos.Create(ctx, alice, "alice", repo_service.CreateOptions{Name: "Widget"})
	if err != nil {
		t.Fatal(err)
	}
	ours := []string{
		"https://git.example.com/alice/widget",
		"https://git.example.com/alice/widget.git",
		"https://git.example.com/alice/widget/",
		"https://git.example.com/alice/widget.git/",
		"https://GIT.Example.com/ALICE/Widget.GIT",
		"https://git.example.com:443/alice/widget",
		"http://git.example.com:443/alice/widget",
		"git+https://git.example.com/alice/widget.git",
		"git+ssh://git@git.example.com/alice/widget.git",
		"ssh://git@git.example.com/alice/widget.git",
		"ssh://git@git.example.com:2222/alice/widget.git",
		"git://git.example.com/alice/widget.git",
		"git@git.example.com:alice/widget.git",
		"git@git.example.com:/alice/widget.git",
		"git.example.com:alice/widget",
		"https://git.internal/alice/widget",
		"http://git.internal:8080/alice/widget.git",
		"git@git.internal:alice/widget.git",
		"https://old.example.com:8443/alice/widget",
		"  https://git.example.com/alice/widget  ",
	}
	for _, u := range ours {
		got, err := f.repos.ResolveURL(ctx, u)
		if err != nil || got.ID != rc.Repo.ID {
			t.Errorf("ResolveURL(%q) = %v, %v; want the widget repository", u, got, err)
		}
	}
	foreign := []string{
		"https://github.com/alice/widget",
		"https://git.example.com.evil.com/alice/widget",
		"https://evil.com/git.example.com/alice/widget",
		"http://git.example.com/alice/widget",  // port 80, ROOT_URL serves 443
		"https://old.example.com/alice/widget", // the alias names port 8443
		"git@github.com:alice/widget.git",
		"https://git.example.com/alice/other", // no such repository
		"https://git.example.com/bob/widget",  // no such owner
		"https://git.example.com/alice/widget/tree/main",
		"https://git.example.com/alice",
		"https://git.example.com/",
		"file:///srv/git/alice/widget.git",
		"ftp://git.example.com/alice/widget",
		"alice/widget",
		"widget",
		"",
		"https://git.example.com/alice/../alice/widget/x",
		"git@git.example.com",
		"https://user@/alice/widget",
		"%%%",
	}
	for _, u := range foreign {
		got, err := f.repos.ResolveURL(ctx, u)
		if err != repo_service.ErrNotOurs {
			t.Errorf("ResolveURL(%q) = %v, %v; want ErrNotOurs", u, got, err)
		}
	}
}

func TestResolveURLUnderSubPath(t *testing.T) {
	f := newFixture(t, "http://localhost:3000/forge/")
	ctx := context.Background()
	bob := f.user(t, "bob")
	if _, err := f.repos.Create(ctx, bob, "bob", repo_service.CreateOptions{Name: "lib"}); err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]bool{
		"http://localhost:3000/forge/bob/lib.git": true,
		"git+http://localhost:3000/forge/bob/lib": true,
		"git@localhost:bob/lib.git":               true,
		"http://localhost:3000/bob/lib.git":       false,
		"http://localhost:3001/forge/bob/lib.git": false,
	} {
		_, err := f.repos.ResolveURL(ctx, u)
		if (err == nil) != want {
			t.Errorf("ResolveURL(%q) err = %v, want found=%v", u, err, want)
		}
	}
}

func TestCreateAndDelete(t *testing.T) {
	f := newFixture(t, "http://localhost:3000/")
	ctx := context.Background()
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	if _, err := f.orgs.Create(ctx, alice, org_service.CreateOptions{Name: "team"}); err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.SetMember(ctx, alice, "team", "bob", 1); err != nil {
		t.Fatal(err)
	}
	_, err := f.repos.Create(ctx, bob, "team", repo_service.CreateOptions{Name: "x"})
	if apperr.KindOf(err) != apperr.Forbidden {
		t.Fatalf("a read member created an org repository: %v", err)
	}
	rc, err := f.repos.Create(ctx, alice, "team", repo_service.CreateOptions{Name: "App", AutoInit: true, Description: "the app"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.root, "team", "app.git")
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		t.Fatalf("repository not on disk at %s: %v", path, err)
	}
	if len(f.events) != 1 || f.events[0].Ref != "refs/heads/main" || !f.events[0].IsCreate() || f.events[0].DoerID != alice.ID {
		t.Fatalf("auto-init events: %+v", f.events)
	}
	_, err = f.repos.Create(ctx, alice, "team", repo_service.CreateOptions{Name: "app"})
	if apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("duplicate repository: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(f.root, ".tmp"))
	if len(entries) != 0 {
		t.Fatalf("temp dirs left behind: %v", entries)
	}
	for _, name := range []string{"..", "a/b", "x.git", ""} {
		if _, err := f.repos.Create(ctx, alice, "alice", repo_service.CreateOptions{Name: name}); apperr.KindOf(err) != apperr.Unprocessable {
			t.Errorf("Create(%q) = %v", name, err)
		}
	}
	if err := f.orgs.Delete(ctx, alice, "team"); apperr.KindOf(err) != apperr.Unprocessable {
		t.Fatalf("deleting an org that owns a repository: %v", err)
	}
	if err := f.repos.Delete(ctx, bob, "team", "app"); apperr.KindOf(err) != apperr.Forbidden {
		t.Fatalf("a read member deleted the repository: %v", err)
	}
	f.events = nil
	if err := f.repos.Delete(ctx, alice, "team", "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("directory still there: %v", err)
	}
	if len(f.events) != 1 || !f.events[0].IsDelete() || !f.events[0].RepoDeleted || f.events[0].RepoID != rc.Repo.ID || len(f.events[0].OldID) != 40 {
		t.Fatalf("deletion events: %+v", f.events)
	}
	if _, err := f.repos.Get(ctx, alice, "team", "app"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("deleted repository still found: %v", err)
	}
	// The name is free again.
	if _, err := f.repos.Create(ctx, alice, "team", repo_service.CreateOptions{Name: "app"}); err != nil {
		t.Fatal(err)
	}
}

// TestFailingSubscriberIsRetried: a subscriber's failure does not fail the
// change, and the delivery is retried from the jobs table.
func TestFailingSubscriberIsRetried(t *testing.T) {
	f := newFixture(t, "http://localhost:3000/")
	ctx := context.Background()
	var delivered []string
	fail := true
	f.repos.SubscribeRefChanges("flaky", func(_ context.Context, c repo_service.RefChange) error {
		if fail {
			fail = false
			return errors.New("index unavailable")
		}
		delivered = append(delivered, c.Ref)
		return nil
	})
	alice := f.user(t, "alice")
	if _, err := f.repos.Create(ctx, alice, "alice", repo_service.CreateOptions{Name: "lib", AutoInit: true}); err != nil {
		t.Fatalf("a failing subscriber failed the change: %v", err)
	}
	if len(f.events) != 1 || len(delivered) != 0 {
		t.Fatalf("events %v, delivered %v", f.events, delivered)
	}
	if n, _ := f.jobs.RunOnce(ctx); n != 0 {
		t.Fatal("the retry ran before its backoff")
	}
	f.clock = f.clock.Add(time.Minute)
	if n, err := f.jobs.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("retry ran %d jobs, %v", n, err)
	}
	if len(delivered) != 1 || delivered[0] != "refs/heads/main" || len(f.events) != 1 {
		t.Fatalf("after retry: delivered %v, events %v (the healthy subscriber must not get it twice)", delivered, f.events)
	}
}
