package tests

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/git"
)

// r18Module creates owner/name (public or private), commits a go.mod
// declaring 127.0.0.1/owner/name and a Go file to main, and returns the
// owner's client and the commit id.
func r18Module(t *testing.T, s *server, owner, name string, private bool) (*gitea.Client, string) {
	t.Helper()
	c := s.client(t, gitea.SetBasicAuth(owner, owner+"-password"))
	if _, _, err := c.CreateRepo(gitea.CreateRepoOption{Name: name, Private: private}); err != nil {
		t.Fatal(err)
	}
	rc, err := systemRepo(t, s, owner, name)
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{
		{Path: "go.mod", Content: []byte("module 127.0.0.1/" + owner + "/" + name + "\n\ngo 1.21\n")},
		{Path: "m.go", Content: []byte("package " + strings.ReplaceAll(name, "-", "") + "\n")},
	}, "module")
	if err != nil {
		t.Fatal(err)
	}
	return c, u.NewID
}

func r18Zip(files map[string]string) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(content))
	}
	zw.Close()
	return buf.String()
}

// TestReview18RepoDeletedLeavesPseudoVersions: deleting a repository
// removes only the versions registered from its tags (the "go.source"
// property, services/packages/go/register.go OnRefChange); a
// pseudo-version published on request (publishPseudo, no source property)
// stays. After the repository is gone the proxy still answers its @latest
// and .zip with the deleted repository's code, and the packages API still
// lists it. Expected: a deleted repository's module versions all go (as its
// tag versions do), so the proxy answers 404/410.
func TestReview18RepoDeletedLeavesPseudoVersions(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	c, commit := r18Module(t, s, "alice", "gone", false)
	base := "/api/packages/alice/go/127.0.0.1/alice/gone"
	code, _, body := s.do(t, "GET", base+"/@v/"+commit[:12]+".info", "", nil)
	if code != http.StatusOK {
		t.Fatalf("pseudo-version of %s: %d %s", commit, code, body)
	}
	var info struct{ Version, Time string }
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil || !strings.HasSuffix(info.Version, commit[:12]) {
		t.Fatalf("pseudo-version info %q: %v", body, err)
	}
	if _, err := c.DeleteRepo("alice", "gone"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	for _, p := range []string{"/@latest", "/@v/" + info.Version + ".info", "/@v/" + info.Version + ".zip"} {
		if code, _, body := s.do(t, "GET", base+p, "", nil); code != http.StatusNotFound && code != http.StatusGone {
			t.Errorf("GET %s after the repository was deleted: %d %.200q, want 404/410", p, code, body)
		}
	}
	pkgs, _, err := c.ListPackages("alice", gitea.ListPackagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		if p.Name == "127.0.0.1/alice/gone" {
			t.Errorf("the packages API still lists %s %s of the deleted repository", p.Name, p.Version)
		}
	}
}

// TestReview18OrgMadePublicLeaksPrivateRepoModule: a private repository's
// tags are published only when the owner is private (publishable,
// register.go), because then every reader of the owner's packages reads
// the repository. When the organisation is later made public, nothing
// withdraws those versions: the proxy hides them (pathRepo checks the
// repository), but the packages API and the package web pages, which only
// check the owner's package visibility, list the version, show its go.mod
// and serve its zip (the private repository's code) to anonymous callers.
// Expected: the module of a repository the caller may not read is not
// shown or served through any door (or its versions are withdrawn when the
// owner's visibility no longer allows them).
func TestReview18OrgMadePublicLeaksPrivateRepoModule(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	c := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := c.CreateOrg(gitea.CreateOrgOption{Name: "corp", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateOrgRepo("corp", gitea.CreateRepoOption{Name: "secret", Private: true}); err != nil {
		t.Fatal(err)
	}
	rc, err := systemRepo(t, s, "corp", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Repos.CommitAsSystem(t.Context(), rc, "main", []git.FileChange{
		{Path: "go.mod", Content: []byte("module 127.0.0.1/corp/secret\n\ngo 1.21\n")},
		{Path: "secret.go", Content: []byte("package secret\n\nconst Key = \"hunter2\"\n")},
	}, "module"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTag("corp", "secret", gitea.CreateTagOption{TagName: "v1.0.0", Target: "main"}); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	mod := "127.0.0.1/corp/secret"
	files, _, err := c.ListPackageFiles("corp", "go", mod, "v1.0.0")
	if err != nil || len(files) != 1 {
		t.Fatalf("files of %s v1.0.0 as the owner: %v %v", mod, files, err)
	}
	// Making the organisation public is refused while it holds them (the
	// fix: its packages would show them to anyone) ...
	if code, _, body := s.do(t, "PATCH", "/api/v1/orgs/corp", `{"visibility":"public"}`, basic("alice", "alice-password")); code != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "private repositories") {
		t.Fatalf("make corp public while it holds a private repository's module: %d %s", code, body)
	}
	runJobs(t, s)
	// The proxy itself hides it (a control: this part passes).
	if code, _, body := s.do(t, "GET", "/api/packages/corp/go/"+mod+"/@v/v1.0.0.zip", "", nil); code != http.StatusNotFound {
		t.Fatalf("proxy zip of the private repository's module, anonymous: %d %.200q", code, body)
	}
	enc := url.PathEscape(mod)
	for _, p := range []string{
		"/api/v1/packages/corp/go/" + enc + "/v1.0.0",
		"/api/v1/packages/corp/go/" + enc + "/v1.0.0/files",
		"/corp/-/packages/go/" + enc + "/v1.0.0",
		"/corp/-/packages/go/" + enc + "/v1.0.0/files/" + strconv.FormatInt(files[0].ID, 10),
	} {
		code, h, body := s.do(t, "GET", p, "", nil)
		// (A page the owner hides sends an anonymous caller to sign in.)
		if code == http.StatusOK && (strings.Contains(body, mod) || strings.HasPrefix(body, "PK\x03\x04")) {
			t.Errorf("anonymous GET %s: 200 (%s, %d bytes, zip: %v) for the module of private repository corp/secret, want 404",
				p, h.Get("Content-Type"), len(body), strings.HasPrefix(body, "PK\x03\x04"))
		}
	}
	// ... and allowed once they are removed.
	if code, _, body := s.do(t, "DELETE", "/api/v1/packages/corp/go/"+enc+"/v1.0.0", "", basic("alice", "alice-password")); code != http.StatusNoContent {
		t.Fatalf("remove: %d %s", code, body)
	}
	if _, err := c.EditOrg("corp", gitea.EditOrgOption{Visibility: gitea.VisibleTypePublic}); err != nil {
		t.Fatal(err)
	}
}

// TestReview18UploadCaseFoldedModulePaths: module paths that differ only
// in case are different modules to the go command (that is why the
// protocol case-encodes them: example.com/!foo vs example.com/foo), but
// the upload stores a version of example.com/foo into the existing
// package example.com/Foo (the package name lookup folds case,
// CreatePackageAndAddFile in services/packages/go/upload.go). The
// result: example.com/foo is 404, and example.com/Foo lists v1.0.1 whose
// .mod says "module example.com/foo" and whose zip holds
// example.com/foo@v1.0.1/… files, which the go command refuses for
// example.com/Foo. Expected: either both modules are served separately,
// or the second upload is refused (4xx) and example.com/Foo never lists a
// version of another module path.
func TestReview18UploadCaseFoldedModulePaths(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	up := func(mod, v string) int {
		code, _, body := s.do(t, "PUT", "/api/packages/alice/go/upload", r18Zip(map[string]string{
			mod + "@" + v + "/go.mod": "module " + mod + "\n", mod + "@" + v + "/a.go": "package foo\n"}), basic("alice", "alice-password"))
		if code >= 500 {
			t.Fatalf("upload %s@%s: %d %s", mod, v, code, body)
		}
		return code
	}
	if code := up("example.com/Foo", "v1.0.0"); code != http.StatusCreated {
		t.Fatalf("upload example.com/Foo@v1.0.0: %d", code)
	}
	second := up("example.com/foo", "v1.0.1")
	if second == http.StatusCreated {
		if code, _, body := s.do(t, "GET", "/api/packages/alice/go/example.com/foo/@v/v1.0.1.info", "", nil); code != http.StatusOK {
			t.Errorf("example.com/foo@v1.0.1 was accepted (201) but its .info is %d %q", code, body)
		}
	}
	// Whatever happened to the second upload, every version example.com/Foo
	// lists must be a version of example.com/Foo.
	_, _, list := s.do(t, "GET", "/api/packages/alice/go/example.com/!foo/@v/list", "", nil)
	for _, v := range strings.Fields(list) {
		code, _, mod := s.do(t, "GET", "/api/packages/alice/go/example.com/!foo/@v/"+v+".mod", "", nil)
		if code != http.StatusOK || mod != "module example.com/Foo\n" {
			t.Errorf("example.com/Foo lists %s, whose .mod is %d %q: a version of another module path", v, code, mod)
			continue
		}
		_, _, z := s.do(t, "GET", "/api/packages/alice/go/example.com/!foo/@v/"+v+".zip", "", nil)
		zr, err := zip.NewReader(strings.NewReader(z), int64(len(z)))
		if err != nil {
			t.Fatalf("zip of example.com/Foo@%s: %v", v, err)
		}
		for _, f := range zr.File {
			if !strings.HasPrefix(f.Name, "example.com/Foo@"+v+"/") {
				t.Errorf("zip of example.com/Foo@%s holds %s", v, f.Name)
			}
		}
	}
}

// TestReview18UploadOtherOwnersModulePath: an owner's registry accepts an
// upload whose module path is another owner's repository on this
// instance's own host (127.0.0.1/bob/lib uploaded into alice's registry),
// and then serves it: /api/packages/alice/go/127.0.0.1/bob/lib/… answers
// alice's code for bob's module (pathRepo in proxy.go checks only paths
// of the registry's own owner, and Upload in upload.go checks none). A
// team whose GOPROXY is alice's (an organisation's) registry gets the
// forged module instead of bob's; go-get discovery for that path points
// at bob's proxy. Expected: an upload whose module path is on one of this
// instance's hosts (ROOT_URL's or HOST_ALIASES) and names another owner
// is refused with 4xx, and nothing is stored.
func TestReview18UploadOtherOwnersModulePath(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	bc, _ := r18Module(t, s, "bob", "lib", false)
	if _, _, err := bc.CreateTag("bob", "lib", gitea.CreateTagOption{TagName: "v1.0.0", Target: "main"}); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s)
	mod := "127.0.0.1/bob/lib"
	code, _, body := s.do(t, "PUT", "/api/packages/alice/go/upload", r18Zip(map[string]string{
		mod + "@v1.0.1/go.mod": "module " + mod + "\n", mod + "@v1.0.1/lib.go": "package lib // alice's code\n"}), basic("alice", "alice-password"))
	if code < 400 || code >= 500 {
		t.Errorf("alice uploads bob's module path %s into her registry: %d %q, want 4xx", mod, code, body)
	}
	if code, _, body := s.do(t, "GET", "/api/packages/alice/go/"+mod+"/@v/v1.0.1.zip", "", nil); code == http.StatusOK {
		t.Errorf("alice's registry serves %s@v1.0.1 (%d bytes), a module path of bob's repository", mod, len(body))
	}
}
