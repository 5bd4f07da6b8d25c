package tests

import (
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/git"
)

// TestReview18bOversizedGoModQuery: a go.mod over the module zip limit
// (16 MiB) is bad input the proxy must answer 404/410 for (issue 18: "the
// proxy answers 404/410 with a plain-text message"; any other 4xx is a
// hard error to the go command, which then does not fall through to the
// next GOPROXY entry). Query's tagsFor (services/packages/go/proxy.go)
// reads the commit's go.mod to decide about +incompatible tags and
// passes readGoMod's Invalid error up unchanged, so `.info` of the branch
// or of the commit's hash answers 400. Expected: 404 with the reason, as
// publishPseudo answers for the same go.mod.
func TestReview18bOversizedGoModQuery(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	c := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := c.CreateRepo(gitea.CreateRepoOption{Name: "big"}); err != nil {
		t.Fatal(err)
	}
	rc, err := systemRepo(t, s, "alice", "big")
	if err != nil {
		t.Fatal(err)
	}
	goMod := "module 127.0.0.1/alice/big\n\ngo 1.21\n" + strings.Repeat("// padding\n", (16<<20)/11+1)
	u, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{
		{Path: "go.mod", Content: []byte(goMod)},
		{Path: "big.go", Content: []byte("package big\n")},
	}, "big go.mod")
	if err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	base := "/api/packages/alice/go/127.0.0.1/alice/big"
	for _, p := range []string{"/@v/main.info", "/@v/" + u.NewID[:12] + ".info", "/@latest"} {
		code, _, body := s.do(t, "GET", base+p, "", nil)
		if code != http.StatusNotFound && code != http.StatusGone {
			t.Errorf("GET %s with a go.mod of %d bytes: %d %q, want 404 or 410", p, len(goMod), code, body)
		}
	}
}
