package tests

import (
	"net/http"
	"testing"
)

// TestReview18UntaggedModuleLatest: a repository with a go.mod but no
// tag yet has a module the proxy answers for (@latest is the default
// branch's pseudo-version, proxy.go Latest), but its @v/list is 404
// ("has no versions", List in services/packages/go/proxy.go: a
// module with no package row yet). The go command asks @v/list first and
// gives up on 404 ("module not found"); it asks @latest only after a 200
// list without a suitable version. So `go get HOST/owner/repo@latest`
// through the proxy fails for every repository without tags (and the
// module's page tells users to do exactly that). Expected: @v/list of a
// module that this instance's repository holds answers 200 with an empty
// body, and the go command resolves @latest to the pseudo-version.
func TestReview18UntaggedModuleLatest(t *testing.T) {
	requireClient(t, "go")
	s := newServer(t)
	s.createUser(t, "alice")
	_, commit := r18Module(t, s, "alice", "m", false)
	base := "/api/packages/alice/go/127.0.0.1/alice/m"
	if code, _, body := s.do(t, "GET", base+"/@v/list", "", nil); code != http.StatusOK || body != "" {
		t.Errorf("@v/list of an untagged module: %d %q, want 200 and an empty body", code, body)
	}
	g := newGoCmd(t, t.TempDir(), "GOPROXY="+s.URL+"/api/packages/alice/go", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=127.0.0.1")
	out, err := g.run("mod", "download", "-json", "127.0.0.1/alice/m@latest")
	if err != nil {
		t.Errorf("go mod download 127.0.0.1/alice/m@latest (commit %s) through the proxy: %v\n%s", commit[:12], err, out)
	}
}
