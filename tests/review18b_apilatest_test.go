package tests

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/git"
)

// TestReview18bAPILatestDisagreesWithProxy: the packages API's
// /api/v1/packages/{owner}/go/{name}/-/latest (and the package page's
// "latest") is the core's Latest (services/packages/query.go): the
// highest version by CompareVersions, pre-releases and pseudo-versions
// included. For Go, "latest" is the go command's rule, which the proxy's
// @latest follows (proxy.go Latest; spec: highest release, then highest
// pre-release, then newest pseudo-version): with v1.0.0 released, a
// v1.1.0-rc.1 tag and a pseudo-version of a later commit (published by
// one request for it), the proxy and `go get MOD@latest` say v1.0.0
// while the API says the pseudo-version. Expected: the API's latest of a
// Go module is the version `go get MOD@latest` takes (a format hook for
// "latest", as Go's rule differs from plain ordering).
func TestReview18bAPILatestDisagreesWithProxy(t *testing.T) {
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
	b, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "b.go", Content: []byte("package m\n")}}, "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTag("alice", "m", gitea.CreateTagOption{TagName: "v1.1.0-rc.1", Target: b.NewID}); err != nil {
		t.Fatal(err)
	}
	cc, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "c.go", Content: []byte("package m\n")}}, "c")
	if err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	mod := "127.0.0.1/alice/m"
	base := "/api/packages/alice/go/" + mod
	if code, _, body := s.do(t, "GET", base+"/@v/"+cc.NewID[:12]+".info", "", nil); code != http.StatusOK {
		t.Fatalf("pseudo-version of %s: %d %s", cc.NewID[:12], code, body)
	}
	code, _, body := s.do(t, "GET", base+"/@latest", "", nil)
	var info struct{ Version, Time string }
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if code != http.StatusOK || dec.Decode(&info) != nil || info.Version != "v1.0.0" {
		t.Fatalf("proxy @latest: %d %q, want v1.0.0 (a control)", code, body)
	}
	code, _, body = s.do(t, "GET", "/api/v1/packages/alice/go/"+url.PathEscape(mod)+"/-/latest", "", nil)
	var pkg gitea.Package
	dec = json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if code != http.StatusOK || dec.Decode(&pkg) != nil {
		t.Fatalf("API latest: %d %s", code, body)
	}
	if pkg.Version != info.Version {
		t.Errorf("API latest of %s is %s, but the proxy's @latest (what go get %s@latest takes) is %s", mod, pkg.Version, mod, info.Version)
	}
}
