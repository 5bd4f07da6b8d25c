package tests

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
)

// TestComposerAutoRegisterRetriesDatabaseFailures: a database failure while
// auto-registering a pushed tag fails the delivery, which is retried, so
// the tag is registered once the database is back. It used to be a silent
// `continue`: the delivery succeeded and the tag was never registered.
// The failure is injected by taking away the organisation membership table
// that the registry's access check reads (the push itself does not need
// it: the repository is the pusher's own).
func TestComposerAutoRegisterRetriesDatabaseFailures(t *testing.T) {
	requireClient(t, "git")
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := newServerWithClock(t, now)
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "central"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "auto"}); err != nil {
		t.Fatal(err)
	}
	h := basic("alice", "alice-password")
	if status, _, body := s.do(t, "PUT", "/api/packages/central/composer/-/sources/alice/auto", "", h); status != 204 {
		t.Fatalf("add source: %d %s", status, body)
	}
	work := t.TempDir()
	g := gitCmd{t, filepath.Join(work, "auto")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "auto")
	writeLib(t, g.dir, "acme/auto", `Acme\Auto`, "auto", "")
	g.must("add", ".")
	g.must("commit", "-qm", "auto")
	remote := authURL(s.URL, "alice", "alice-password", "alice/auto.git")
	g.must("push", "-q", remote, "main")
	s.App.Jobs.RunOnce(t.Context())

	restore := s.hideTable(t, "org_user")
	g.must("tag", "v1.0.0")
	g.must("push", "-q", remote, "v1.0.0")
	if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	var pending int
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM job WHERE kind LIKE '%composer%'").Scan(&pending); err != nil || pending == 0 {
		t.Fatalf("the failed delivery must stay queued for a retry: %d jobs (%v)", pending, err)
	}

	restore()
	if status, _, body := s.do(t, "GET", "/api/packages/central/composer/p2/acme/auto.json", "", h); status != 404 {
		t.Fatalf("registered while the database failed? %d %s", status, body)
	}
	mu.Lock()
	clock = clock.Add(2 * time.Hour) // past any backoff
	mu.Unlock()
	if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	status, _, body := s.do(t, "GET", "/api/packages/central/composer/p2/acme/auto.json", "", h)
	if status != 200 || !strings.Contains(body, `"version":"1.0.0"`) {
		t.Fatalf("after the database came back and the delivery was retried: %d %s", status, body)
	}
}
