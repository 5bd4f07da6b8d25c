package tests

import (
	"archive/zip"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

func TestRepoSDK(t *testing.T) {
	s := newServer(t)
	events := record(s)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	bob := s.client(t, gitea.SetBasicAuth("bob", "bob-password"))
	anon := s.client(t)

	repo, resp, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "Tools", Description: "handy", AutoInit: true, DefaultBranch: "trunk"})
	if err != nil || resp.StatusCode != http.StatusCreated || repo.FullName != "alice/Tools" || repo.DefaultBranch != "trunk" || repo.Empty || !repo.Permissions.Admin {
		t.Fatalf("CreateRepo = %+v, %v", repo, err)
	}
	if repo.CloneURL != s.URL+"/alice/Tools.git" {
		t.Fatalf("clone url %q", repo.CloneURL)
	}
	if _, resp, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "tools"}); err == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("existing repository: %v, want 409", err)
	}
	empty, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "empty", Private: true})
	if err != nil || !empty.Empty || !empty.Private {
		t.Fatalf("empty private repo: %+v, %v", empty, err)
	}
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "guild"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateOrgRepo("guild", gitea.CreateRepoOption{Name: "shared"}); err != nil {
		t.Fatal(err)
	}
	if _, resp, err := bob.CreateOrgRepo("guild", gitea.CreateRepoOption{Name: "intruder"}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("non-member org repo creation: %v", err)
	}

	got, _, err := bob.GetRepo("alice", "tools")
	if err != nil || got.ID != repo.ID || got.Permissions.Push || !got.Permissions.Pull {
		t.Fatalf("GetRepo as bob = %+v, %v", got, err)
	}
	if _, resp, err := bob.GetRepo("alice", "empty"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("private repo must be 404 to others: %v", err)
	}
	list, resp, err := anon.ListUserRepos("alice", gitea.ListReposOptions{})
	if err != nil || len(list) != 1 || list[0].Name != "Tools" || resp.Header.Get("X-Total-Count") != "1" {
		t.Fatalf("ListUserRepos anonymous = %+v, %v", list, err)
	}
	list, _, err = alice.ListMyRepos(gitea.ListReposOptions{})
	if err != nil || len(list) != 2 {
		t.Fatalf("ListMyRepos = %+v, %v", list, err)
	}
	orgRepos, _, err := anon.ListOrgRepos("guild", gitea.ListOrgReposOptions{})
	if err != nil || len(orgRepos) != 1 || orgRepos[0].Name != "shared" {
		t.Fatalf("ListOrgRepos = %+v, %v", orgRepos, err)
	}

	branches, _, err := anon.ListRepoBranches("alice", "tools", gitea.ListRepoBranchesOptions{})
	if err != nil || len(branches) != 1 || branches[0].Name != "trunk" || branches[0].Commit.Message != "Initial commit\n" {
		t.Fatalf("ListRepoBranches = %+v, %v", branches, err)
	}
	head := branches[0].Commit.ID
	if b, _, err := anon.GetRepoBranch("alice", "tools", "trunk"); err != nil || b.Name != "trunk" || b.Commit.ID != head {
		t.Fatalf("GetRepoBranch = %+v, %v", b, err)
	}
	readme, _, err := anon.GetFile("alice", "tools", "trunk", "README.md")
	if err != nil || string(readme) != "# Tools\n\nhandy\n" {
		t.Fatalf("GetFile = %q, %v", readme, err)
	}

	events.take()
	tag, resp, err := alice.CreateTag("alice", "tools", gitea.CreateTagOption{TagName: "v1.0.0", Message: "first release", Target: "trunk"})
	if err != nil || resp.StatusCode != http.StatusCreated || tag.Commit.SHA != head || tag.Message != "first release\n" || tag.ID == head {
		t.Fatalf("CreateTag = %+v, %v", tag, err)
	}
	if _, _, err := alice.CreateTag("alice", "tools", gitea.CreateTagOption{TagName: "light"}); err != nil {
		t.Fatal(err)
	}
	if got := events.take(); len(got) != 2 || !strings.HasPrefix(got[0], "refs/tags/v1.0.0 0..") || !strings.HasPrefix(got[1], "refs/tags/light 0..") {
		t.Fatalf("tag events: %v", got)
	}
	if _, resp, err := alice.CreateTag("alice", "tools", gitea.CreateTagOption{TagName: "v1.0.0"}); err == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("existing tag: %v, want 409", err)
	}
	if _, resp, err := alice.CreateTag("alice", "tools", gitea.CreateTagOption{TagName: "v2", Target: "nowhere"}); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown target: %v, want 404", err)
	}
	if _, resp, err := bob.CreateTag("alice", "tools", gitea.CreateTagOption{TagName: "bobs"}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("tag without write: %v, want 403", err)
	}
	tags, _, err := anon.ListRepoTags("alice", "tools", gitea.ListRepoTagsOptions{})
	if err != nil || len(tags) != 2 {
		t.Fatalf("ListRepoTags = %+v, %v", tags, err)
	}
	if one, _, err := anon.GetTag("alice", "tools", "v1.0.0"); err != nil || one.Commit.SHA != head {
		t.Fatalf("GetTag = %+v, %v", one, err)
	}

	// Archives: the same bytes every time, the tree under the repo name.
	zip1, _, err := anon.GetArchive("alice", "tools", "v1.0.0", gitea.ZipArchive)
	if err != nil {
		t.Fatal(err)
	}
	zip2, _, err := anon.GetArchive("alice", "tools", head, gitea.ZipArchive)
	if err != nil || !bytes.Equal(zip1, zip2) {
		t.Fatalf("archives of one commit differ (%v)", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zip1), int64(len(zip1)))
	if err != nil || len(zr.File) != 2 || zr.File[1].Name != "Tools/README.md" {
		t.Fatalf("zip entries: %v", err)
	}
	tgz, _, err := anon.GetArchive("alice", "tools", "trunk", gitea.TarGZArchive)
	if err != nil || len(tgz) < 20 || tgz[0] != 0x1f || tgz[1] != 0x8b {
		t.Fatalf("tar.gz archive: %d bytes, %v", len(tgz), err)
	}

	if _, err := alice.DeleteTag("alice", "tools", "light"); err != nil {
		t.Fatal(err)
	}
	if got := events.take(); len(got) != 1 || !strings.HasPrefix(got[0], "refs/tags/light ") || !strings.HasSuffix(got[0], "..0") {
		t.Fatalf("delete tag events: %v", got)
	}
	if resp, err := alice.DeleteTag("alice", "tools", "light"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleting a missing tag: %v", err)
	}

	// A user who owns repositories cannot be deleted.
	admin := s.client(t, gitea.SetToken(s.AdminToken))
	resp, err = admin.AdminDeleteUser("alice")
	if err == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "Tools") {
		t.Fatalf("deleting a user with repositories: %v", err)
	}

	// Deleting a repository publishes one deletion per ref.
	events.take()
	if resp, err := bob.DeleteRepo("alice", "tools"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob deleted alice's repository: %v", err)
	}
	if _, err := alice.DeleteRepo("alice", "tools"); err != nil {
		t.Fatal(err)
	}
	got2 := sorted(events.take())
	if len(got2) != 2 || !strings.HasPrefix(got2[0], "refs/heads/trunk ") || !strings.HasPrefix(got2[1], "refs/tags/v1.0.0 ") {
		t.Fatalf("repository deletion events: %v", got2)
	}
	if _, resp, err := alice.GetRepo("alice", "tools"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted repository: %v", err)
	}
}

func TestRepoBadInput(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "lib", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	h := basic("alice", "alice-password")
	cases := []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "/api/v1/user/repos", `{"name":".."}`, 422, "reserved"},
		{"POST", "/api/v1/user/repos", `{"name":"a/b"}`, 422, "may only contain"},
		{"POST", "/api/v1/user/repos", `{"name":"x.git"}`, 422, "reserved"},
		{"POST", "/api/v1/user/repos", `{"name":"` + strings.Repeat("r", 101) + `"}`, 422, "longer than"},
		{"POST", "/api/v1/user/repos", `{"name":"ok","default_branch":"bad..branch"}`, 422, "default branch"},
		{"POST", "/api/v1/user/repos", `{"name":"ok","license":"MIT"}`, 422, "not supported"},
		{"POST", "/api/v1/user/repos", `{"name":"lib"}`, 409, "already exists"},
		{"POST", "/api/v1/user/repos", `{"nme":"typo"}`, 400, "nme"},
		{"GET", "/api/v1/repos/alice/lib/archive/..%2F..%2Fetc%2Fpasswd.zip", "", 400, "invalid ref"},
		{"GET", "/api/v1/repos/alice/lib/archive/%2e%2e.zip", "", 400, "invalid ref"},
		{"GET", "/api/v1/repos/alice/lib/archive/%2Fetc%2Fpasswd.tar.gz", "", 400, "invalid ref"},
		{"GET", "/api/v1/repos/alice/lib/archive/main.rar", "", 400, "archive format"},
		{"GET", "/api/v1/repos/alice/lib/archive/nope.zip", "", 404, "does not exist"},
		{"GET", "/api/v1/repos/alice/lib/archive/0123456789012345678901234567890123456789.zip", "", 404, "does not exist"},
		{"GET", "/api/v1/repos/alice/lib/raw/..%2F..%2Fconfig", "", 400, "invalid file path"},
		{"GET", "/api/v1/repos/alice/lib/raw/%2Fetc%2Fpasswd", "", 400, "invalid file path"},
		{"GET", "/api/v1/repos/alice/lib/raw/README.md?ref=..", "", 400, "invalid ref"},
		{"GET", "/api/v1/repos/alice/lib/raw/missing.txt", "", 404, "does not exist"},
		{"GET", "/api/v1/repos/alice/lib/tags/nope", "", 404, "does not exist"},
		{"GET", "/api/v1/repos/alice/lib/branches/nope", "", 404, "does not exist"},
		{"POST", "/api/v1/repos/alice/lib/tags", `{"tag_name":"../x"}`, 422, "tag name"},
		{"POST", "/api/v1/repos/alice/lib/tags", `{"tag_name":"a b"}`, 422, "tag name"},
		{"DELETE", "/api/v1/repos/alice/lib/tags/..", "", 400, "invalid ref"},
		{"GET", "/api/v1/repos/alice/nope", "", 404, "does not exist"},
		{"GET", "/api/v1/repos/nobody/lib", "", 404, "does not exist"},
	}
	for _, c := range cases {
		hdr := h
		if c.method == "GET" {
			hdr = nil
		}
		status, _, body := s.do(t, c.method, c.path, c.body, hdr)
		if status != c.status {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, status, c.status, body)
			continue
		}
		if msg := apiMessage(t, body); !strings.Contains(msg, c.msg) {
			t.Errorf("%s %s: message %q lacks %q", c.method, c.path, msg, c.msg)
		}
	}
	// Raw files are never served as something a browser would run.
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "site"}); err != nil {
		t.Fatal(err)
	}
	status, hdr, body := s.do(t, "GET", "/api/v1/repos/alice/lib/raw/README.md", "", nil)
	if status != 200 || hdr.Get("Content-Type") != "text/plain; charset=utf-8" || hdr.Get("X-Content-Type-Options") != "nosniff" || body != "# lib\n" {
		t.Fatalf("raw README: %d %v %q", status, hdr, body)
	}
}
