package tests

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/routers"
	packages_service "wharf/services/packages"
)

// TestReview18bRepoDeletedDuringPublish: registerTag loads the
// repository, builds the zip and only then writes the version
// (services/packages/go/register.go publish); nothing in the version's
// transaction checks that the repository still exists. When the
// repository is deleted while the zip is being stored (here at
// FaultAfterBlob, with its deletion events delivered at once), the
// deletion's job finds no version to remove (removeVersions by the
// go.repo property), and the version is committed after it: a module
// version of a deleted repository that nothing will ever remove. The
// proxy (pathRepo finds no repository, so no permission check) and the
// packages API keep serving the deleted repository's code. Expected: the
// version's transaction refuses a repository that is gone (lock or re-read
// the repository row in it), so nothing of a deleted repository stays.
func TestReview18bRepoDeletedDuringPublish(t *testing.T) {
	var srv atomic.Pointer[server]
	var fired atomic.Bool
	var delErr atomic.Value
	s := newServerWithOptions(t, routers.Options{PackagesFault: func(ctx context.Context, p packages_service.FaultPoint) error {
		if p != packages_service.FaultAfterBlob || srv.Load() == nil || !fired.CompareAndSwap(false, true) {
			return nil
		}
		s := srv.Load()
		alice, err := s.App.Users.GetByName(ctx, "alice")
		if err != nil {
			return err
		}
		if err := s.App.Repos.Delete(ctx, alice, "alice", "m"); err != nil {
			delErr.Store(err.Error())
		}
		return nil
	}})
	s.createUser(t, "alice")
	c, a := r18Module(t, s, "alice", "m", false)
	srv.Store(s)
	// The tag's event is delivered inside the request, so the repository
	// may be gone before the tag is read back for the answer: an error is
	// expected then.
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.0.0", Target: a}); err != nil && !fired.Load() {
		t.Fatal(err)
	}
	runJobs(t, s)
	if !fired.Load() {
		t.Fatal("the tag's zip was never stored (no FaultAfterBlob): the test set-up is wrong")
	}
	if e := delErr.Load(); e != nil {
		t.Fatalf("delete alice/m while its tag is published: %v", e)
	}
	if _, err := systemRepo(t, s, "alice", "m"); err == nil {
		t.Fatal("alice/m still exists after its deletion")
	}
	mod := "127.0.0.1/alice/m"
	for _, p := range []string{
		"/api/packages/alice/go/" + mod + "/@v/v1.0.0.info",
		"/api/packages/alice/go/" + mod + "/@v/v1.0.0.zip",
		"/api/v1/packages/alice/go/" + url.PathEscape(mod) + "/v1.0.0",
	} {
		if code, _, body := s.do(t, "GET", p, "", nil); code == http.StatusOK {
			t.Errorf("alice/m was deleted while its tag v1.0.0 was being published, and GET %s still answers 200: %.120q", p, body)
		}
	}
}
