package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/git"
	"wharf/modules/setting"
)

// TestReview18QuotaSkippedTag: a tag that cannot become a version gets a
// note with the reason (issue 18: "the version is skipped with a reason
// visible in the API"). The owner's package quota is such a reason, but
// registerTag (services/packages/go/register.go) turns only Invalid
// and TooLarge errors into notes; the quota's Forbidden error fails the
// tag's job (kept for a retry, which is fine should the quota grow), and
// the owner sees no reason anywhere: the version is just missing.
// Expected: /-/notes names the tag and the quota while it is not
// published.
func TestReview18QuotaSkippedTag(t *testing.T) {
	s := newServer(t, func(cfg *setting.Config) { cfg.Packages.LimitTotalOwnerCount = 1 })
	s.createUser(t, "alice")
	c, _ := r18Module(t, s, "alice", "m", false)
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.0.0", Target: "main"}); err != nil {
		t.Fatal(err)
	}
	rc, err := systemRepo(t, s, "alice", "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "two.go", Content: []byte("package m\n")}}, "two"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.1.0", Target: "main"}); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	if code, _, body := s.do(t, "GET", "/api/packages/alice/go/127.0.0.1/alice/m/@v/list", "", nil); code != http.StatusOK || body != "v1.0.0\n" {
		t.Fatalf("list under a quota of one version: %d %q", code, body)
	}
	if n := failedJobs(t, s); n != 0 {
		t.Logf("%d job(s) failed on the quota and wait for a retry", n)
	}
	code, _, nb := s.do(t, "GET", "/api/packages/alice/go/-/notes", "", basic("alice", "alice-password"))
	var notes []struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		Commit     string `json:"commit"`
		Reason     string `json:"reason"`
		Created    int64  `json:"created_unix"`
	}
	dec := json.NewDecoder(strings.NewReader(nb))
	dec.DisallowUnknownFields()
	if code != http.StatusOK || dec.Decode(&notes) != nil {
		t.Fatalf("notes: %d %q", code, nb)
	}
	for _, n := range notes {
		if n.Tag == "v1.1.0" && strings.Contains(n.Reason, "quota") {
			return
		}
	}
	t.Errorf("tag v1.1.0 was not published (quota) and no note says so: %s", nb)
}
