package tests

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/models/unittest"
	"wharf/modules/setting"
	"wharf/routers"
	repo_service "wharf/services/repository"
)

// refRecorder is an extra ref-change subscriber that keeps what it got.
type refRecorder struct {
	mu     sync.Mutex
	events []string // "ref old→new"
}

func (r *refRecorder) on(_ context.Context, c repo_service.RefChange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	what := "moved"
	switch {
	case c.IsCreate():
		what = "created"
	case c.IsDelete():
		what = "deleted"
	}
	r.events = append(r.events, c.Ref+" "+what)
	return nil
}

func (r *refRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	slices.Sort(out)
	return out
}

// startOn builds the app on cfg (a restart when cfg was used before),
// with a fault hook and a recording subscriber, and serves it on addr.
func startOn(t *testing.T, cfg setting.Config, addr string, fault func(context.Context, repo_service.FaultPoint, int64) error, rec *refRecorder) (*server, func()) {
	t.Helper()
	app, err := routers.NewApp(context.Background(), cfg, routers.Options{Version: "test", Log: unittest.DiscardLogger(), RepoFault: fault})
	if err != nil {
		t.Fatal(err)
	}
	app.Repos.SubscribeRefChanges("recorder", rec.on)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(app.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			srv.Close()
			_ = app.Close()
		}
	}
	t.Cleanup(stop)
	return &server{URL: "http://" + addr, App: app}, stop
}

// TestRefChangesLostInACrashAreAnnouncedAfterRestart: a push and an API
// tag deletion "crash" after git moved the refs and before anything was
// recorded; the Composer versions registered from the deleted tags stay.
// Restarted on the same data, the app announces exactly those changes and
// the versions go; a normal push announces each changed ref once, and a
// restart with nothing changed announces nothing.
func TestRefChangesLostInACrashAreAnnouncedAfterRestart(t *testing.T) {
	requireClient(t, "git")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := setting.Load(setting.LoadOptions{WorkPath: t.TempDir(), Env: []string{"WHARF__SERVER__ROOT_URL=http://" + addr}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = unittest.DatabaseConfig(t)

	var crashing atomic.Bool
	fault := func(_ context.Context, p repo_service.FaultPoint, _ int64) error {
		if crashing.Load() && p == repo_service.FaultRefsMoved {
			return errors.New("simulated crash")
		}
		return nil
	}
	rec := &refRecorder{}
	s, stop := startOn(t, cfg, addr, fault, rec)
	admin, err := s.App.Users.Bootstrap(context.Background(), "root", "root@example.com", "root-password")
	if err != nil {
		t.Fatal(err)
	}
	s.AdminToken = admin.Token
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "lib"}); err != nil {
		t.Fatal(err)
	}

	work := t.TempDir()
	g := gitCmd{t, filepath.Join(work, "lib")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "lib")
	if err := os.WriteFile(filepath.Join(g.dir, "composer.json"), []byte(`{"name":"acme/lib"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	g.must("add", ".")
	g.must("commit", "-qm", "one")
	g.must("tag", "v1.0.0")
	g.must("tag", "v2.0.0")
	remote := authURL(s.URL, "alice", "alice-password", "alice/lib.git")
	g.must("push", "-q", remote, "main", "--tags")
	if got, want := rec.take(), []string{"refs/heads/main created", "refs/tags/v1.0.0 created", "refs/tags/v2.0.0 created"}; !slices.Equal(got, want) {
		t.Fatalf("push: events %v, want %v", got, want)
	}
	g.must("commit", "-q", "--allow-empty", "-m", "two")
	g.must("push", "-q", remote, "main")
	if got, want := rec.take(), []string{"refs/heads/main moved"}; !slices.Equal(got, want) {
		t.Fatalf("second push: events %v, want %v", got, want)
	}

	h := map[string]string{"Authorization": basic("alice", "alice-password")["Authorization"], "Content-Type": "application/json"}
	for _, tag := range []string{"v1.0.0", "v2.0.0"} {
		if status, _, out := s.do(t, "POST", "/api/packages/alice/composer", `{"repository":"lib","tag":"`+tag+`"}`, h); status != 201 {
			t.Fatalf("register %s: %d %s", tag, status, out)
		}
	}
	versionStatus := func(s *server, v string) int {
		t.Helper()
		_, resp, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).GetPackage("alice", "composer", "acme/lib", v)
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}

	// The crashes: git moves the refs, nothing records them.
	crashing.Store(true)
	g.must("push", "-q", remote, "--delete", "v1.0.0")
	if status, _, _ := s.do(t, "DELETE", "/api/v1/repos/alice/lib/tags/v2.0.0", "", basic("alice", "alice-password")); status != 500 {
		t.Fatalf("the crashed tag deletion answered %d", status)
	}
	if out := g.must("ls-remote", "--tags", remote); out != "" {
		t.Fatalf("git should have deleted both tags before the crash: %s", out)
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("crashed changes announced: %v", got)
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		if st := versionStatus(s, v); st != 200 {
			t.Fatalf("version %s before the restart: %d (the crash should have kept it)", v, st)
		}
	}
	stop()

	// Restart on the same database and repositories.
	rec2 := &refRecorder{}
	s2, stop2 := startOn(t, cfg, addr, nil, rec2)
	if _, err := s2.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := rec2.take(), []string{"refs/tags/v1.0.0 deleted", "refs/tags/v2.0.0 deleted"}; !slices.Equal(got, want) {
		t.Fatalf("after the restart: events %v, want %v", got, want)
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		if st := versionStatus(s2, v); st != 404 {
			t.Fatalf("version %s of a deleted tag after the restart: %d, want 404", v, st)
		}
	}
	stop2()

	rec3 := &refRecorder{}
	s3, _ := startOn(t, cfg, addr, nil, rec3)
	if _, err := s3.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := rec3.take(); len(got) != 0 {
		t.Fatalf("a restart with nothing changed announced %v", got)
	}
	// And a tag made through the API is announced once, at once.
	if _, _, err := s3.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateTag("alice", "lib", gitea.CreateTagOption{TagName: "v3.0.0"}); err != nil {
		t.Fatal(err)
	}
	if got, want := rec3.take(), []string{"refs/tags/v3.0.0 created"}; !slices.Equal(got, want) {
		t.Fatalf("API tag: events %v, want %v", got, want)
	}
	if n, _ := s3.App.Jobs.RunOnce(t.Context()); n != 0 {
		t.Fatalf("%d deliveries were left to the runner", n)
	}
}
