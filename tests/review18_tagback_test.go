package tests

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/git"
)

// TestReview18TagMovedBackKeepsStaleNote: a tag moved after its version
// was published gets a note ("tag v1.0.0 now points at B, but version
// v1.0.0 was published from A and stays"). When the tag is moved back to
// A, registerTag finds the version of that very commit (samePublished
// returns it, services/packages/go/register.go) and returns without
// clearing the note (only a new publication clears it, in publish's
// transaction). /-/notes then keeps saying the tag points at B, which is
// false. Expected: the note goes once the tag and its version agree
// again.
func TestReview18TagMovedBackKeepsStaleNote(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	c, a := r18Module(t, s, "alice", "m", false)
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.0.0", Target: a}); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	rc, err := systemRepo(t, s, "alice", "m")
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "two.go", Content: []byte("package m\n")}}, "two")
	if err != nil {
		t.Fatal(err)
	}
	remote := authURL(s.URL, "alice", "alice-password", "alice/m.git")
	work := t.TempDir()
	gitCmd{t, work}.must("clone", "-q", remote, "m")
	g := gitCmd{t, filepath.Join(work, "m")}
	// move force-pushes the tag to another commit: one ref update, as
	// `git tag -f && git push -f` makes it.
	move := func(to string) {
		t.Helper()
		g.must("tag", "-f", "v1.0.0", to)
		g.must("push", "-q", "-f", remote, "refs/tags/v1.0.0")
		runJobs(t, s)
	}
	notes := func() []string {
		t.Helper()
		code, _, nb := s.do(t, "GET", "/api/packages/alice/go/-/notes", "", basic("alice", "alice-password"))
		var ns []struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
			Commit     string `json:"commit"`
			Reason     string `json:"reason"`
			Created    int64  `json:"created_unix"`
		}
		dec := json.NewDecoder(strings.NewReader(nb))
		dec.DisallowUnknownFields()
		if code != http.StatusOK || dec.Decode(&ns) != nil {
			t.Fatalf("notes: %d %q", code, nb)
		}
		var out []string
		for _, n := range ns {
			out = append(out, n.Tag+" "+n.Commit[:12]+": "+n.Reason)
		}
		return out
	}
	move(u.NewID)
	if n := notes(); len(n) != 1 || !strings.Contains(n[0], "now points at") {
		t.Fatalf("after moving v1.0.0 from %s to %s: notes %q, want the move noted", a[:12], u.NewID[:12], n)
	}
	move(a)
	if n := notes(); len(n) != 0 {
		t.Errorf("v1.0.0 points at %s again, the commit its version was published from, but the notes still say: %q", a[:12], n)
	}
}
