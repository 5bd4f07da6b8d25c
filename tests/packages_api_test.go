package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"code.gitea.io/sdk/gitea"
	"xorm.io/xorm/contexts"
)

// TestPackagesAPI drives the packages API with the SDK: list, get, latest,
// files, link and unlink, delete.
func TestPackagesAPI(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	bob := s.client(t, gitea.SetBasicAuth("bob", "bob-password"))
	h := basic("alice", "alice-password")
	// Uploaded out of order: latest must be by version, not upload.
	for _, v := range []string{"1.10.0", "1.2.0", "1.9.0"} {
		for _, f := range []string{"a.bin", "b.bin"} {
			if status, _, body := s.do(t, "PUT", "/api/packages/alice/generic/tool/"+v+"/"+f, "data "+v+f, h); status != 201 {
				t.Fatalf("upload: %d %s", status, body)
			}
		}
	}
	s.do(t, "PUT", "/api/packages/alice/generic/other/1.0/o.bin", "o", h)

	list, resp, err := alice.ListPackages("alice", gitea.ListPackagesOptions{})
	if err != nil || len(list) != 4 || resp.Header.Get("X-Total-Count") != "4" {
		t.Fatalf("ListPackages = %d, %v", len(list), err)
	}
	if list[0].Name != "other" || list[1].Name != "tool" || list[1].Creator == nil || list[1].Creator.UserName != "alice" || list[1].Owner.UserName != "alice" {
		t.Fatalf("ListPackages[0..1] = %+v %+v", list[0], list[1])
	}
	filtered, _, err := alice.ListPackages("alice", gitea.ListPackagesOptions{Type: "generic", Q: "too"})
	if err != nil || len(filtered) != 3 {
		t.Fatalf("filtered ListPackages = %d, %v", len(filtered), err)
	}
	if _, resp, err := alice.ListPackages("alice", gitea.ListPackagesOptions{Type: "maven"}); err == nil || resp.StatusCode != 400 {
		t.Fatalf("unknown type: %v", err)
	}
	paged, resp, err := alice.ListPackages("alice", gitea.ListPackagesOptions{ListOptions: gitea.ListOptions{Page: 2, PageSize: 3}})
	if err != nil || len(paged) != 1 || resp.PrevPage != 1 {
		t.Fatalf("page 2 = %d, %v", len(paged), err)
	}

	versions, _, err := alice.ListPackageVersions("alice", "generic", "tool", gitea.ListPackagesOptions{})
	if err != nil || len(versions) != 3 || versions[0].Version != "1.10.0" || versions[2].Version != "1.2.0" {
		t.Fatalf("ListPackageVersions = %v, %v", versions, err)
	}
	latest, _, err := bob.GetLatestPackage("alice", "generic", "tool")
	if err != nil || latest.Version != "1.10.0" {
		t.Fatalf("GetLatestPackage = %+v, %v", latest, err)
	}
	pkg, _, err := bob.GetPackage("alice", "generic", "tool", "1.9.0")
	if err != nil || pkg.Version != "1.9.0" || pkg.Type != "generic" || !strings.HasSuffix(pkg.HTMLURL, "/alice/-/packages/generic/tool/1.9.0") {
		t.Fatalf("GetPackage = %+v, %v", pkg, err)
	}
	files, _, err := bob.ListPackageFiles("alice", "generic", "tool", "1.9.0")
	if err != nil || len(files) != 2 || files[0].Name != "a.bin" || files[0].Size != int64(len("data 1.9.0a.bin")) || len(files[0].SHA512) != 128 {
		t.Fatalf("ListPackageFiles = %+v, %v", files, err)
	}

	// Link to a repository of the same owner; not to another owner's.
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "tool-src"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bob.CreateRepo(gitea.CreateRepoOption{Name: "bobs"}); err != nil {
		t.Fatal(err)
	}
	if resp, err := bob.LinkPackage("alice", "generic", "tool", "tool-src"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob linked alice's package: %v", err)
	}
	if resp, err := alice.LinkPackage("alice", "generic", "tool", "nope"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("link to a missing repository: %v", err)
	}
	if _, err := alice.LinkPackage("alice", "generic", "tool", "tool-src"); err != nil {
		t.Fatal(err)
	}
	pkg, _, _ = alice.GetPackage("alice", "generic", "tool", "1.9.0")
	if pkg.Repository == nil || pkg.Repository.Name != "tool-src" {
		t.Fatalf("linked package shows repository %+v", pkg.Repository)
	}
	if _, err := alice.UnlinkPackage("alice", "generic", "tool"); err != nil {
		t.Fatal(err)
	}
	if pkg, _, _ = alice.GetPackage("alice", "generic", "tool", "1.9.0"); pkg.Repository != nil {
		t.Fatal("unlink left the repository")
	}
	// Deleting a linked repository unlinks its packages.
	alice.LinkPackage("alice", "generic", "tool", "tool-src")
	if _, err := alice.DeleteRepo("alice", "tool-src"); err != nil {
		t.Fatal(err)
	}
	if pkg, _, _ = alice.GetPackage("alice", "generic", "tool", "1.9.0"); pkg.Repository != nil {
		t.Fatal("a deleted repository is still linked")
	}

	if resp, err := bob.DeletePackage("alice", "generic", "tool", "1.10.0"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob deleted alice's package: %v", err)
	}
	if _, err := alice.DeletePackage("alice", "generic", "tool", "1.10.0"); err != nil {
		t.Fatal(err)
	}
	if latest, _, err := alice.GetLatestPackage("alice", "generic", "tool"); err != nil || latest.Version != "1.9.0" {
		t.Fatalf("latest after deleting the highest: %+v, %v", latest, err)
	}
	if _, resp, err := alice.GetPackage("alice", "generic", "tool", "1.10.0"); err == nil || resp.StatusCode != 404 {
		t.Fatalf("deleted version: %v", err)
	}
	status, _, body := s.do(t, "DELETE", "/api/v1/admin/users/alice", "", tokenHeader(s.AdminToken))
	if status != 422 || !strings.Contains(body, "package") {
		t.Fatalf("deleting an owner of packages: %d %s", status, body)
	}
}

// queryCounter counts SQL statements.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) BeforeProcess(c *contexts.ContextHook) (context.Context, error) {
	q.n.Add(1)
	return c.Ctx, nil
}
func (q *queryCounter) AfterProcess(*contexts.ContextHook) error { return nil }

// TestPackageListQueriesAreConstant: a page of the packages API costs the
// same number of queries however many packages the owner has.
func TestPackageListQueriesAreConstant(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	h := basic("alice", "alice-password")
	tok, _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateAccessToken(gitea.CreateAccessTokenOption{Name: "t", Scopes: []gitea.AccessTokenScope{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	q := &queryCounter{}
	s.App.DB.Xorm().AddHook(q)
	count := func() int64 {
		before := q.n.Load()
		status, _, body := s.do(t, "GET", "/api/v1/packages/alice?limit=50", "", tokenHeader(tok.Token))
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		return q.n.Load() - before
	}
	upload := func(from, to int) {
		for i := from; i < to; i++ {
			if status, _, body := s.do(t, "PUT", fmt.Sprintf("/api/packages/alice/generic/p%03d/1.0/f", i), "x", h); status != 201 {
				t.Fatalf("%d %s", status, body)
			}
		}
	}
	upload(0, 5)
	small := count()
	upload(5, 120)
	large := count()
	if small != large {
		t.Fatalf("a page cost %d queries with 5 packages and %d with 120", small, large)
	}
	t.Logf("a page of the packages API costs %d queries", large)
	if large > 10 {
		t.Fatalf("a page costs %d queries", large)
	}
}
