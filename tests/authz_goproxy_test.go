package tests

import (
	"fmt"
	"net/http"
	"testing"

	"code.gitea.io/sdk/gitea"

	repo_model "wharf/models/repo"
	"wharf/modules/git"
	repo_service "wharf/services/repository"
)

// goAuthzFixture gives each organisation's pub-repo and priv-repo a go.mod
// and the tag v1.0.0 (a module version each), and a non-canonical tag
// v1.2 (a note each), as the owner.
func goAuthzFixture(t *testing.T, s *server, owner *gitea.Client) {
	t.Helper()
	for _, o := range matrixOrgs {
		for _, repo := range []string{"pub-repo", "priv-repo"} {
			mod := "module 127.0.0.1/" + o.name + "/" + repo + "\n\ngo 1.21\n"
			rc, err := s.App.Repos.Get(t.Context(), nil, o.name, repo)
			if err != nil {
				rc, err = systemRepo(t, s, o.name, repo)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "go.mod", Content: []byte(mod)}}, "go.mod"); err != nil {
				t.Fatal(err)
			}
			for _, tag := range []string{"v1.0.0", "v1.2"} {
				if _, _, err := owner.CreateTag(o.name, repo, gitea.CreateTagOption{TagName: tag, Target: "main"}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	runJobs(t, s)
}

// goAuthzRows are the Go proxy's rows of one organisation. A module is
// its repository's code: a private repository's is published only where
// every reader of the owner's packages reads the repository (a private
// organisation), so in a public or limited one it is not found for
// anyone (the token without a package scope is refused first).
func goAuthzRows(org, vis string, protoRead, protoWrite st) []authzRow {
	base := "/api/packages/" + org + "/go/127.0.0.1/" + org
	privRead := protoRead
	if vis != "private" {
		for c := range privRead {
			if privRead[c] == http.StatusOK {
				privRead[c] = http.StatusNotFound
			}
		}
	}
	notesSee := []int{cReader, cWriter, cOwner, cAdmin, cPkgR, cPkgW, cAll}
	return []authzRow{
		{method: "GET", path: base + "/pub-repo/@v/list", want: protoRead},
		{method: "GET", path: base + "/pub-repo/@v/v1.0.0.zip", want: protoRead},
		{method: "GET", path: base + "/pub-repo/@latest", want: protoRead},
		{method: "GET", path: base + "/priv-repo/@v/list", want: privRead},
		{method: "GET", path: base + "/priv-repo/@v/v1.0.0.info", want: privRead},
		{method: "GET", path: base + "/priv-repo/@v/v1.0.0.zip", want: privRead},
		// A commit asked for by branch: the pseudo-version is published
		// on this request, so it is refused where a tag would be.
		{method: "GET", path: base + "/priv-repo/@v/main.info", want: privRead},
		{method: "GET", path: "/api/packages/" + org + "/go/-/notes", want: protoRead,
			hide: []hidden{{"priv-repo", notesSee}}},
		{method: "PUT", path: "/api/packages/" + org + "/go/upload", want: protoWrite, body: func(c int) string {
			mod := fmt.Sprintf("example.com/up%d", c)
			return string(composerZip(mod+"@v1.0.0/", map[string]string{"go.mod": "module " + mod + "\n", "up.go": "package up\n"}))
		}},
	}
}

// systemRepo is a repository as the system sees it.
func systemRepo(t *testing.T, s *server, owner, name string) (*repo_service.Context, error) {
	t.Helper()
	u, err := s.App.Users.GetByName(t.Context(), owner)
	if err != nil {
		return nil, err
	}
	r, err := repo_model.GetRepositoryByName(t.Context(), s.App.DB.Engine(), u.ID, name)
	if err != nil {
		return nil, err
	}
	return s.App.Repos.SystemContext(t.Context(), r.ID)
}
