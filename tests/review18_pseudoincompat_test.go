package tests

import (
	"net/http"
	"testing"

	"golang.org/x/mod/module"
)

// TestReview18IncompatiblePseudoVersionWithGoMod: +incompatible marks a
// v2+ version of a module that has no go.mod; the go command refuses it
// for a commit that has one ("+incompatible suffix not allowed: module
// contains a go.mod file", cmd/go/internal/modfetch/coderepo.go). The
// proxy publishes v2.0.0-<time>-<rev>+incompatible for a commit whose
// go.mod declares the module: pseudo() accepts any base-less name but v1,
// and publishPseudo (services/packages/go/proxy.go) keeps the asked
// version's +incompatible without checking that the commit has no go.mod.
// Expected: 404, as for any version the go command would refuse.
func TestReview18IncompatiblePseudoVersionWithGoMod(t *testing.T) {
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
	v := module.PseudoVersion("v2", "", c.Committer().When, commit[:12]) + "+incompatible"
	if code, _, body := s.do(t, "GET", "/api/packages/alice/go/127.0.0.1/alice/m/@v/"+v+".info", "", nil); code != http.StatusNotFound {
		t.Errorf("%s.info for a commit with a go.mod: %d %q, want 404", v, code, body)
	}
	if code, _, body := s.do(t, "GET", "/api/packages/alice/go/127.0.0.1/alice/m/@v/"+v+".mod", "", nil); code == http.StatusOK {
		t.Errorf("%s.mod: 200 %q: a +incompatible version with a go.mod", v, body)
	}
}
