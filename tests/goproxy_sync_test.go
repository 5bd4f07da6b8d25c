package tests

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	jobs_model "wharf/models/jobs"
	"wharf/modules/git"
	goproxy_service "wharf/services/packages/go"
)

// TestGoProxySyncRegistersExistingTags: the sync job the upgrade queues
// per repository registers the versions of tags that are already there
// (here: versions removed through the API while their tags stay), and a
// second run changes nothing.
func TestGoProxySyncRegistersExistingTags(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	repo, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "old", AutoInit: true})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.App.Repos.Get(t.Context(), nil, "alice", "old")
	if err != nil {
		t.Fatal(err)
	}
	mod := "127.0.0.1/alice/old"
	if _, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "go.mod", Content: []byte("module " + mod + "\n")}}, "go.mod"); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1.0.0", "v1.1.0"} {
		if _, _, err := alice.CreateTag("alice", "old", gitea.CreateTagOption{TagName: tag, Target: "main"}); err != nil {
			t.Fatal(err)
		}
	}
	runJobs(t, s)
	h := basic("alice", "alice-password")
	zipBefore := ""
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		if v == "v1.0.0" {
			_, _, zipBefore = s.do(t, "GET", "/api/packages/alice/go/"+mod+"/@v/v1.0.0.zip", "", nil)
		}
		if status, _, body := s.do(t, "DELETE", "/api/v1/packages/alice/go/"+url.PathEscape(mod)+"/"+v, "", h); status != http.StatusNoContent {
			t.Fatalf("delete %s: %d %s", v, status, body)
		}
	}
	if status, _, _ := s.do(t, "GET", "/api/packages/alice/go/"+mod+"/@v/list", "", nil); status != http.StatusNotFound {
		t.Fatalf("list after removal: %d", status)
	}

	for range 2 {
		if _, err := jobs_model.Enqueue(t.Context(), s.App.DB.Engine(), goproxy_service.JobSyncRepository, `{"repo_id":`+strconv.FormatInt(repo.ID, 10)+`}`, s.App.Jobs.Now()); err != nil {
			t.Fatal(err)
		}
		runJobs(t, s)
		status, _, body := s.do(t, "GET", "/api/packages/alice/go/"+mod+"/@v/list", "", nil)
		if status != http.StatusOK || body != "v1.0.0\nv1.1.0\n" {
			t.Fatalf("list after the sync: %d %q", status, body)
		}
	}
	if status, _, zip := s.do(t, "GET", "/api/packages/alice/go/"+mod+"/@v/v1.0.0.zip", "", nil); status != http.StatusOK || !strings.HasPrefix(zip, "PK") || zip != zipBefore {
		t.Fatalf("zip after the sync: %d, same bytes: %v", status, zip == zipBefore)
	}
}
