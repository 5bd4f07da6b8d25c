package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/git"
)

// TestReview18bHeadQuery: `go get MOD@HEAD` (the go command's module
// query for the repository's default branch head, `go help
// module-queries`; it works in direct mode: codehost resolves "HEAD") is
// sent to the proxy as @v/HEAD.info (escaped !h!e!a!d). Query →
// commitOf (services/packages/go/proxy.go) only knows branches, tags
// and hashes, so the proxy answers 404 "unknown revision HEAD" and the
// go command fails. Expected: HEAD resolves like the default branch (the
// pseudo-version of its head commit).
func TestReview18bHeadQuery(t *testing.T) {
	requireClient(t, "go")
	s := newServer(t)
	s.createUser(t, "alice")
	c, a := r18Module(t, s, "alice", "m", false)
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.0.0", Target: a}); err != nil {
		t.Fatal(err)
	}
	rc, err := systemRepo(t, s, "alice", "m")
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "two.go", Content: []byte("package m\n")}}, "two")
	if err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	g := newGoCmd(t, t.TempDir(), "GOPROXY="+s.URL+"/api/packages/alice/go", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=127.0.0.1")
	out, err := g.run("mod", "download", "-json", "127.0.0.1/alice/m@HEAD")
	var d modDownload
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if derr := dec.Decode(&d); err != nil || derr != nil || !strings.HasSuffix(d.Version, "-"+u.NewID[:12]) {
		t.Errorf("go mod download 127.0.0.1/alice/m@HEAD through the proxy: %v, %q; want the pseudo-version of main's head %s\n%s", err, d.Version, u.NewID[:12], out)
	}
}
