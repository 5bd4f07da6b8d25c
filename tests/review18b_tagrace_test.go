package tests

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/routers"
	packages_service "wharf/services/packages"
)

// TestReview18bTagDeletedDuringPublish: the tag's twin of
// TestReview18bRepoDeletedDuringPublish. registerTag resolves the tag,
// builds the zip, and publish writes the version without looking at the
// tag again. A tag deleted while its zip is stored (FaultAfterBlob here)
// has its deletion event handled first: tagGone is true, removeVersions
// finds nothing yet. Then the version of the deleted tag is committed and
// stays: the proxy lists and serves v1.0.0 although no tag v1.0.0 exists
// ("removed when the tag is deleted", issue 18), and `go get` of it keeps
// working. Expected: the tag's deletion wins (the publish re-checks the
// ref in its transaction, or the deletion's job runs after it).
func TestReview18bTagDeletedDuringPublish(t *testing.T) {
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
		rc, err := s.App.Repos.Get(ctx, alice, "alice", "m")
		if err != nil {
			return err
		}
		if err := s.App.Repos.DeleteTag(ctx, alice, rc, "v1.0.0"); err != nil {
			delErr.Store(err.Error())
		}
		return nil
	}})
	s.createUser(t, "alice")
	c, a := r18Module(t, s, "alice", "m", false)
	srv.Store(s)
	// The tag's event is delivered inside the request: the tag may be gone
	// before it is read back for the answer.
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.0.0", Target: a}); err != nil && !fired.Load() {
		t.Fatal(err)
	}
	runJobs(t, s)
	if !fired.Load() {
		t.Fatal("the tag's zip was never stored (no FaultAfterBlob): the test set-up is wrong")
	}
	if e := delErr.Load(); e != nil {
		t.Fatalf("delete tag v1.0.0 while it is published: %v", e)
	}
	if _, _, err := c.GetTag("alice", "m", "v1.0.0"); err == nil {
		t.Fatal("tag v1.0.0 still exists after its deletion")
	}
	base := "/api/packages/alice/go/127.0.0.1/alice/m"
	if code, _, body := s.do(t, "GET", base+"/@v/list", "", nil); code == http.StatusOK && body != "" {
		t.Errorf("tag v1.0.0 was deleted while its version was being published, and @v/list still lists: %q", body)
	}
	if code, _, body := s.do(t, "GET", base+"/@v/v1.0.0.zip", "", nil); code == http.StatusOK {
		t.Errorf("tag v1.0.0 was deleted while its version was being published, and its zip is still served: %.60q", body)
	}
}
