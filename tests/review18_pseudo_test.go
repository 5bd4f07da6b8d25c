package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
	"golang.org/x/mod/module"

	"wharf/modules/git"
)

// TestReview18ExistingPseudoVersionAfterNewTags: a pseudo-version names a
// commit, its time, and some tag before it. The go command makes a new one
// from the highest tag before the commit, but when it resolves an
// existing one it accepts any base that is a tag on an ancestor, or none
// (v0.0.0-…), because "we don't know when the parent tags were added, and
// the highest-tagged parent may not have existed when the pseudo-version
// was first resolved" (cmd/go/internal/modfetch/coderepo.go,
// validatePseudoVersion). Wharf's pseudo() in
// services/packages/go/proxy.go instead demands exactly the
// pseudo-version it would make today (want != version → 404). So a go.mod
// that pinned v0.0.0-…-<commit> before the repository got its first tag
// (or v1.0.1-0.… before v1.1.0 was tagged), made in direct mode or by
// another proxy, fails through Wharf forever after, while GOPROXY=direct
// builds it. Expected: 200 with that version, as the go command accepts
// it.
func TestReview18ExistingPseudoVersionAfterNewTags(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	c, _ := r18Module(t, s, "alice", "m", false)
	rc, err := systemRepo(t, s, "alice", "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.0.0", Target: "main"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "two.go", Content: []byte("package m\n")}}, "two"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.1.0", Target: "main"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "three.go", Content: []byte("package m\n")}}, "three"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	head, err := s.App.Repos.Commit(t.Context(), rc, "main")
	if err != nil {
		t.Fatal(err)
	}
	when, rev := head.Committer().When, head.ID()[:12]
	base := "/api/packages/alice/go/127.0.0.1/alice/m/@v/"
	// What Wharf makes today (a control: served).
	fresh := module.PseudoVersion("", "v1.1.0", when, rev)
	if code, _, body := s.do(t, "GET", base+fresh+".info", "", nil); code != http.StatusOK {
		t.Fatalf("%s.info: %d %q", fresh, code, body)
	}
	for _, v := range []string{
		module.PseudoVersion("", "", when, rev),       // made before any tag existed
		module.PseudoVersion("", "v1.0.0", when, rev), // made before v1.1.0 was tagged
	} {
		code, _, body := s.do(t, "GET", base+v+".info", "", nil)
		if code != http.StatusOK {
			t.Errorf("%s.info: %d %q, want 200: the go command accepts this pseudo-version of %s", v, code, strings.TrimSpace(body), rev)
			continue
		}
		var info struct{ Version, Time string }
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&info); err != nil || info.Version != v {
			t.Errorf("%s.info: %q (%v), want Version %s", v, body, err, v)
		}
	}
}
