package tests

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"code.gitea.io/sdk/gitea"

	user_model "wharf/models/user"
	"wharf/modules/git"
	"wharf/routers"
	org_service "wharf/services/org"
	packages_service "wharf/services/packages"
)

// TestReview18bTreeTagBreaksModule: git lets a tag name a tree (or a
// blob) instead of a commit (`git tag t HEAD^{tree}`), and the server
// accepts the push. The proxy's repository lookups list every tag with its
// commit (repo_service.Tags → git.Repo.TagInfo, which fails for a tag
// that peels to no commit), and one such tag makes the whole list an
// error: every query that looks at tags — .info of a branch or a commit
// hash (Query → tagsFor), pseudo-versions (pseudo), an untagged module's
// @v/list and @latest (holdsModule) — answers 500 "internal error" for
// the repository's module, and the go command fails hard (5xx does not
// fall through). Expected: a tag that names no commit is skipped (it can
// be no module version), and the queries answer as before it was pushed.
func TestReview18bTreeTagBreaksModule(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	_, a := r18Module(t, s, "alice", "m", false)
	mod := "127.0.0.1/alice/m"
	base := "/api/packages/alice/go/" + mod
	paths := []string{"/@v/main.info", "/@v/" + a[:12] + ".info", "/@latest", "/@v/list"}
	before := map[string]string{}
	for _, p := range paths {
		code, _, body := s.do(t, "GET", base+p, "", nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s before the tree tag: %d %s", p, code, body)
		}
		before[p] = body
	}
	remote := authURL(s.URL, "alice", "alice-password", "alice/m.git")
	work := t.TempDir()
	gitCmd{t, work}.must("clone", "-q", remote, "m")
	g := gitCmd{t, filepath.Join(work, "m")}
	g.must("tag", "tree", "HEAD^{tree}")
	g.must("push", "-q", remote, "refs/tags/tree")
	runJobs(t, s)
	for _, p := range paths {
		code, _, body := s.do(t, "GET", base+p, "", nil)
		if code != http.StatusOK || body != before[p] {
			t.Errorf("GET %s after a tag naming a tree was pushed: %d %q, want 200 %q as before", p, code, body, before[p])
		}
	}
}

// TestReview18bOrgMadePublicDuringPublish: Orgs.Edit refuses to make a
// private organisation visible while it holds Go versions of its private
// repositories (services/org/org.go), counting them in its transaction.
// But publish (services/packages/go/register.go) decides publishable()
// from the owner as it was read before the zip was built, and does not
// look again inside the transaction that writes the version. A tag
// registered while the organisation is made visible (here: the change
// lands after the zip's bytes are stored, FaultAfterBlob, before the
// version's transaction) publishes the private repository's code as a
// package of a now public organisation: the packages API lists it and
// serves its zip to anonymous callers — what the refusal in Edit exists
// to prevent. Expected: the version's transaction checks the owner's
// visibility under its lock (or Edit and publish serialise on one lock),
// so one of the two is refused.
func TestReview18bOrgMadePublicDuringPublish(t *testing.T) {
	var srv atomic.Pointer[server]
	var fired atomic.Bool
	var editErr atomic.Value
	s := newServerWithOptions(t, routers.Options{PackagesFault: func(ctx context.Context, p packages_service.FaultPoint) error {
		if p != packages_service.FaultAfterBlob || srv.Load() == nil || !fired.CompareAndSwap(false, true) {
			return nil
		}
		s := srv.Load()
		alice, err := s.App.Users.GetByName(ctx, "alice")
		if err != nil {
			return err
		}
		pub := user_model.VisibilityPublic
		if _, err := s.App.Orgs.Edit(ctx, alice, "corp", org_service.Info{Visibility: &pub}); err != nil {
			editErr.Store(err.Error())
		}
		return nil
	}})
	s.createUser(t, "alice")
	c := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := c.CreateOrg(gitea.CreateOrgOption{Name: "corp", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateOrgRepo("corp", gitea.CreateRepoOption{Name: "secret", Private: true}); err != nil {
		t.Fatal(err)
	}
	rc, err := systemRepo(t, s, "corp", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{
		{Path: "go.mod", Content: []byte("module 127.0.0.1/corp/secret\n\ngo 1.21\n")},
		{Path: "secret.go", Content: []byte("package secret\n\nconst Key = \"hunter2\"\n")},
	}, "module"); err != nil {
		t.Fatal(err)
	}
	srv.Store(s)
	if _, _, err := c.CreateTag("corp", "secret", gitea.CreateTagOption{TagName: "v1.0.0", Target: "main"}); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	if !fired.Load() {
		t.Fatal("the tag's zip was never stored (no FaultAfterBlob): the test set-up is wrong")
	}
	org, err := s.App.Users.GetByName(t.Context(), "corp")
	if err != nil {
		t.Fatal(err)
	}
	if org.Visibility != user_model.VisibilityPublic {
		// Edit was refused: the race was closed on that side. Then the
		// version may exist (the organisation stayed private).
		t.Logf("making corp public during the publish was refused: %v", editErr.Load())
		return
	}
	mod := "127.0.0.1/corp/secret"
	for _, p := range []string{
		"/api/v1/packages/corp/go/" + url.PathEscape(mod) + "/v1.0.0",
		"/api/v1/packages/corp/go/" + url.PathEscape(mod) + "/v1.0.0/files",
	} {
		code, _, body := s.do(t, "GET", p, "", nil)
		if code == http.StatusOK && strings.Contains(body, mod) {
			t.Errorf("corp was made public while its private repository's tag was being published, and anonymous GET %s answers 200 with the version: %.200s", p, body)
		}
	}
}
