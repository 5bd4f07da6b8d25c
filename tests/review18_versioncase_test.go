package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/git"
)

// TestReview18TagVersionsDifferingInCase: semantic-version pre-release
// identifiers are case-sensitive (v1.0.0-RC.1 and v1.0.0-rc.1 are two
// versions, ordered by ASCII; the go command's direct mode lists both),
// but the registry core looks versions up case-folded
// (models/packages GetVersion: lower_version). So publish
// (services/packages/go/register.go) finds v1.0.0-RC.1 when it
// registers tag v1.0.0-rc.1, and samePublished takes it for a tag moved
// after publication: v1.0.0-rc.1 is never served, and the note says "tag
// v1.0.0-rc.1 now points at …, but version v1.0.0-RC.1 was published
// from …", though that tag never moved. Expected: v1.0.0-rc.1 is served,
// or, if the registry cannot keep both, its note says why (a version that
// differs only in case from another), not that the tag moved.
func TestReview18TagVersionsDifferingInCase(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	c, _ := r18Module(t, s, "alice", "m", false)
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.0.0-RC.1", Target: "main"}); err != nil {
		t.Fatal(err)
	}
	rc, err := systemRepo(t, s, "alice", "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "two.go", Content: []byte("package m\n")}}, "two"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.0.0-rc.1", Target: "main"}); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	code, _, body := s.do(t, "GET", "/api/packages/alice/go/127.0.0.1/alice/m/@v/v1.0.0-rc.1.info", "", nil)
	if code == http.StatusOK {
		var info struct{ Version, Time string }
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&info); err != nil || info.Version != "v1.0.0-rc.1" {
			t.Errorf("v1.0.0-rc.1.info: %q (%v)", body, err)
		}
		return
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
		if n.Tag == "v1.0.0-rc.1" {
			if strings.Contains(n.Reason, "now points at") || strings.Contains(n.Reason, "published from") {
				t.Errorf("v1.0.0-rc.1 is not served (%q), and its note says the tag moved, which it never did: %q", strings.TrimSpace(body), n.Reason)
			}
			return
		}
	}
	t.Errorf("v1.0.0-rc.1 is not served (%q) and has no note: %s", strings.TrimSpace(body), nb)
}
