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

// TestGoProxyPackagesAPIAndPage: a module version registered from a tag is
// a package like any other — listed and described by the packages API
// (its go.mod's requirements, its source tag and commit, its zip at the
// proxy's URL) and shown on its page with the go command's set-up — and a
// removal through the API is seen by the proxy at once.
func TestGoProxyPackagesAPIAndPage(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "lib", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	rc, err := s.App.Repos.Get(t.Context(), nil, "alice", "lib")
	if err != nil {
		t.Fatal(err)
	}
	mod := "127.0.0.1/alice/lib"
	goMod := "module " + mod + "\n\ngo 1.22\n\nrequire example.com/dep v1.4.0 // indirect\n"
	if _, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{{Path: "go.mod", Content: []byte(goMod)}, {Path: "lib.go", Content: []byte("package lib\n")}}, "lib"); err != nil {
		t.Fatal(err)
	}
	tag, _, err := alice.CreateTag("alice", "lib", gitea.CreateTagOption{TagName: "v1.0.0", Target: "main"})
	if err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	h := basic("alice", "alice-password")

	status, _, body := s.do(t, "GET", "/api/v1/packages/alice?type=go", "", h)
	var list []struct {
		Name       string `json:"name"`
		Version    string `json:"version"`
		Repository *struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 || list[0].Name != mod || list[0].Version != "v1.0.0" ||
		list[0].Repository == nil || list[0].Repository.FullName != "alice/lib" {
		t.Fatalf("list: %d %s", status, body)
	}
	apiPath := "/api/v1/packages/alice/go/" + url.PathEscape(mod) + "/v1.0.0"
	status, _, body = s.do(t, "GET", apiPath+"/files", "", h)
	if status != http.StatusOK || !strings.Contains(body, `"name":"v1.0.0.zip"`) {
		t.Fatalf("files: %d %s", status, body)
	}

	page := "/alice/-/packages/go/" + url.PathEscape(mod) + "/v1.0.0"
	status, _, body = s.do(t, "GET", page, "", h)
	for _, want := range []string{"export GOPROXY=" + s.URL + "/api/packages/alice/go", "go get " + mod + "@v1.0.0", "example.com/dep",
		tag.Commit.SHA[:10], "1.22", "v1.0.0.zip"} {
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("page lacks %q: %d %s", want, status, snippet(body))
		}
	}

	if status, _, body := s.do(t, "DELETE", apiPath, "", h); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}
	for _, p := range []string{"/@v/list", "/@v/v1.0.0.info", "/@v/v1.0.0.zip"} {
		if status, _, body := s.do(t, "GET", "/api/packages/alice/go/"+mod+p, "", nil); status != http.StatusNotFound {
			t.Fatalf("%s after removal: %d %s", p, status, body)
		}
	}
}
