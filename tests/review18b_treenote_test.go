package tests

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestReview18bNonCommitVersionTagNoNote: a version tag that names a tree
// or a blob instead of a commit (`git tag v1.0.0 HEAD^{tree}`, an
// annotated `git tag -a v1.0.1 HEAD:go.mod`) can be no module version.
// registerTag (services/packages/go/register.go) takes the failed commit
// lookup for "deleted meanwhile" and returns without a note, so the tag
// is skipped silently: /-/notes says nothing, and the owner cannot learn
// why `go get MOD@v1.0.0` fails. Issue 18: bad input is "skipped with a
// reason visible in the API". Expected: one note per such tag, saying it
// names no commit.
func TestReview18bNonCommitVersionTagNoNote(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	r18Module(t, s, "alice", "m", false)
	remote := authURL(s.URL, "alice", "alice-password", "alice/m.git")
	work := t.TempDir()
	gitCmd{t, work}.must("clone", "-q", remote, "m")
	g := gitCmd{t, filepath.Join(work, "m")}
	g.must("-c", "user.name=A", "-c", "user.email=a@example.com", "tag", "v1.0.0", "HEAD^{tree}")
	g.must("-c", "user.name=A", "-c", "user.email=a@example.com", "tag", "-a", "-m", "a blob", "v1.0.1", "HEAD:go.mod")
	g.must("push", "-q", remote, "refs/tags/v1.0.0", "refs/tags/v1.0.1")
	runJobs(t, s)
	code, _, body := s.do(t, "GET", "/api/packages/alice/go/-/notes", "", basic("alice", "alice-password"))
	var ns []struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		Commit     string `json:"commit"`
		Reason     string `json:"reason"`
		Created    int64  `json:"created_unix"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if code != http.StatusOK || dec.Decode(&ns) != nil {
		t.Fatalf("notes: %d %q", code, body)
	}
	got := map[string]bool{}
	for _, n := range ns {
		got[n.Tag] = true
	}
	for _, tag := range []string{"v1.0.0", "v1.0.1"} {
		if !got[tag] {
			t.Errorf("tag %s names no commit and is no module version, but /-/notes has no note for it: %s", tag, body)
		}
	}
	if code, _, body := s.do(t, "GET", "/api/packages/alice/go/127.0.0.1/alice/m/@v/v1.0.0.info", "", nil); code != http.StatusNotFound && code != http.StatusGone {
		t.Errorf("v1.0.0.info of a tag naming a tree: %d %q, want 404", code, body)
	}
}
