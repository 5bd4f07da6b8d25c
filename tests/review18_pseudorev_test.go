package tests

import (
	"net/http"
	"testing"

	"golang.org/x/mod/module"
)

// TestReview18PseudoVersionRevisionLength: a pseudo-version names its
// commit by exactly 12 hex digits; the go command refuses any other
// length ("revision is shorter/longer than canonical",
// cmd/go/internal/modfetch/coderepo.go validatePseudoVersion), so each
// commit has one name per base. pseudo() in
// services/packages/go/proxy.go finds the commit with
// CommitByPrefix(rev), which takes 7 to 40 digits, and since it no longer
// compares with the name it would make, publishes v0.0.0-<time>-<7 or 40
// digits> as further versions of the same commit, which GOPROXY=direct
// refuses. Expected: 404 for a revision that is not the commit's 12-digit
// short name.
func TestReview18PseudoVersionRevisionLength(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	_, commit := r18Module(t, s, "alice", "m", false)
	rc, err := systemRepo(t, s, "alice", "m")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.App.Repos.Commit(t.Context(), rc, commit)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/packages/alice/go/127.0.0.1/alice/m/@v/"
	good := module.PseudoVersion("", "", c.Committer().When, commit[:12])
	if code, _, body := s.do(t, "GET", base+good+".info", "", nil); code != http.StatusOK {
		t.Fatalf("control %s: %d %q", good, code, body)
	}
	for _, rev := range []string{commit[:7], commit[:11], commit[:13], commit} {
		v := module.PseudoVersion("", "", c.Committer().When, rev)
		if code, _, body := s.do(t, "GET", base+v+".info", "", nil); code != http.StatusNotFound {
			t.Errorf("%s.info: %d %q, want 404: the go command refuses a %d-digit revision", v, code, body, len(rev))
		}
	}
}
