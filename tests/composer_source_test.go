package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	packages_model "wharf/models/packages"
)

// p2Version is what these tests read of a p2 version object.
type p2Version struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Dist    *struct {
		Type      string `json:"type"`
		URL       string `json:"url"`
		Reference string `json:"reference"`
	} `json:"dist"`
	Source *struct {
		Type      string `json:"type"`
		URL       string `json:"url"`
		Reference string `json:"reference"`
	} `json:"source"`
}

// decodeP2 decodes a p2 document: exactly one package, named name.
func decodeP2(t *testing.T, body, name string) []p2Version {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &top); err != nil || len(top) != 1 || top["packages"] == nil {
		t.Fatalf("p2 document must be {\"packages\":…}: %v\n%s", err, body)
	}
	var pkgs map[string][]p2Version
	if err := json.Unmarshal(top["packages"], &pkgs); err != nil {
		t.Fatalf("p2 document: %v\n%s", err, body)
	}
	if len(pkgs) != 1 || pkgs[name] == nil {
		t.Fatalf("p2 document must hold %s only: %s", name, body)
	}
	for _, v := range pkgs[name] {
		if v.Name != name {
			t.Fatalf("version object of %q in %s's document: %s", v.Name, name, body)
		}
	}
	return pkgs[name]
}

// TestComposerSourceOfPrivateRepository: a version registered into the
// public organisation central from alice's PRIVATE repository names that
// repository ("source") only to callers who may read it, and only with
// credentials that reach repositories; everyone who may read the package
// still gets the dist archive, and composer installs from it. It used to
// show alice/secret.git to anonymous callers, to other users and to a
// token limited to packages.
func TestComposerSourceOfPrivateRepository(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "central"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "secret", Private: true}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	g := gitCmd{t, filepath.Join(work, "secret")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "secret")
	writeLib(t, g.dir, "acme/hidden", `Acme\Hidden`, "hidden 1.0", "")
	g.must("add", ".")
	g.must("commit", "-qm", "hidden 1.0")
	g.must("tag", "v1.0.0")
	g.must("push", "-q", authURL(s.URL, "alice", "alice-password", "alice/secret.git"), "main", "--tags")
	commit := strings.TrimSpace(g.must("rev-parse", "HEAD"))
	for _, b := range []string{`{"repository":"alice/secret","tag":"v1.0.0"}`, `{"repository":"alice/secret","branch":"main"}`} {
		if status, _, body := s.do(t, "POST", "/api/packages/central/composer", b, map[string]string{
			"Authorization": basic("alice", "alice-password")["Authorization"], "Content-Type": "application/json"}); status != 201 {
			t.Fatalf("register %s: %d %s", b, status, body)
		}
	}

	tokens := 0
	token := func(user string, scopes ...gitea.AccessTokenScope) map[string]string {
		c := s.client(t, gitea.SetBasicAuth(user, user+"-password"))
		tokens++
		tok, _, err := c.CreateAccessToken(gitea.CreateAccessTokenOption{Name: fmt.Sprintf("t%d", tokens), Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return tokenHeader(tok.Token)
	}
	cloneURL := s.URL + "/alice/secret.git"
	callers := []struct {
		name       string
		header     map[string]string
		seesSource bool
	}{
		{"anonymous", nil, false},
		{"another user", basic("bob", "bob-password"), false},
		{"another user's full token", token("bob", "all"), false},
		{"alice's token with only read:package", token("alice", "read:package"), false},
		{"alice's token with write:package", token("alice", "write:package"), false},
		{"alice", basic("alice", "alice-password"), true},
		{"alice's token with read:package and read:repository", token("alice", "read:package", "read:repository"), true},
		{"the administrator", basic(s.AdminName, s.AdminPass), true},
	}
	for _, c := range callers {
		for _, doc := range []struct{ file, version string }{{"acme/hidden.json", "1.0.0"}, {"acme/hidden~dev.json", "dev-main"}} {
			status, hdr, body := s.do(t, "GET", "/api/packages/central/composer/p2/"+doc.file, "", c.header)
			if status != 200 {
				t.Fatalf("%s: %s: %d %s", c.name, doc.file, status, body)
			}
			vs := decodeP2(t, body, "acme/hidden")
			if len(vs) != 1 || vs[0].Version != doc.version {
				t.Fatalf("%s: %s: %s", c.name, doc.file, body)
			}
			v := vs[0]
			if v.Dist == nil || v.Dist.Type != "zip" || v.Dist.Reference != commit || !strings.HasPrefix(v.Dist.URL, s.URL+"/api/packages/central/composer/files/") {
				t.Fatalf("%s: %s: every reader gets the dist: %s", c.name, doc.file, body)
			}
			if c.seesSource {
				if v.Source == nil || *v.Source != (struct {
					Type      string `json:"type"`
					URL       string `json:"url"`
					Reference string `json:"reference"`
				}{"git", cloneURL, commit}) {
					t.Fatalf("%s may read alice/secret: %s: source %+v\n%s", c.name, doc.file, v.Source, body)
				}
			} else {
				if v.Source != nil || strings.Contains(body, "alice/secret") || strings.Contains(body, "secret.git") {
					t.Fatalf("%s may not read alice/secret, yet %s names it:\n%s", c.name, doc.file, body)
				}
			}
			// A cache between callers must not hand one caller's body to
			// another.
			if !strings.Contains(hdr.Get("Cache-Control"), "private") || !strings.Contains(strings.Join(hdr.Values("Vary"), ","), "Authorization") {
				t.Fatalf("%s: %s: Cache-Control %q, Vary %q", c.name, doc.file, hdr.Get("Cache-Control"), hdr.Values("Vary"))
			}
			// The archive downloads for every reader of the package.
			status, _, zip := s.do(t, "GET", strings.TrimPrefix(v.Dist.URL, s.URL), "", c.header)
			if status != 200 || !strings.HasPrefix(zip, "PK\x03\x04") {
				t.Fatalf("%s: dist of %s: %d %.200q", c.name, doc.version, status, zip)
			}
		}
	}

	// composer installs for bob, who cannot read the source repository:
	// from the dist archive alone.
	requireClient(t, "composer")
	requireClient(t, "php")
	app := newComposerProject(t, s, "central", "bob", "bob-password", map[string]string{"acme/hidden": "^1.0"})
	app.must("composer", "install", "--no-progress")
	if got := app.say(`Acme\Hidden\Lib`); got != "hidden 1.0" {
		t.Fatalf("bob's install says %q", got)
	}
	dev := newComposerProject(t, s, "central", "bob", "bob-password", map[string]string{"acme/hidden": "dev-main"})
	dev.must("composer", "install", "--no-progress")
	if got := dev.say(`Acme\Hidden\Lib`); got != "hidden 1.0" {
		t.Fatalf("bob's dev-main install says %q", got)
	}
}

// TestComposerSourceQueriesAreConstant: with source repositories to check
// (a private one of alice's and a public one of bob's), a p2 document
// still costs the same number of queries with 3 versions as with 300, and
// shows each source as the caller may see it.
func TestComposerSourceQueriesAreConstant(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "central"}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "secret", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	open, _, err := s.client(t, gitea.SetBasicAuth("bob", "bob-password")).CreateRepo(gitea.CreateRepoOption{Name: "open"})
	if err != nil {
		t.Fatal(err)
	}
	seed := func(name string, n int) {
		i := 0
		seedVersions(t, s, "central", packages_model.TypeComposer, name, n,
			func(v string) string {
				i++
				repo, url := secret.ID, s.URL+"/alice/secret.git"
				if i%2 == 0 {
					repo, url = open.ID, s.URL+"/bob/open.git"
				}
				return fmt.Sprintf(`{"composer_json":{"name":%q},"version_normalized":"%s.0","dist_type":"zip","source":{"repo_id":%d,"ref":"refs/tags/v%s","commit":"%040d","url":%q}}`,
					name, v, repo, v, i, url)
			},
			func(v string) string { return "x-" + v + ".zip" })
	}
	seed("acme/small", 3)
	seed("acme/large", 300)
	q := &queryCounter{}
	s.App.DB.Xorm().AddHook(q)
	var mu sync.Mutex
	fetch := func(name string, header map[string]string) (int64, []p2Version) {
		mu.Lock()
		defer mu.Unlock()
		before := q.n.Load()
		status, _, body := s.do(t, "GET", "/api/packages/central/composer/p2/"+name+".json", "", header)
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		return q.n.Load() - before, decodeP2(t, body, name)
	}
	for _, c := range []struct {
		name        string
		header      map[string]string
		seesPrivate bool
	}{{"alice", basic("alice", "alice-password"), true}, {"bob", basic("bob", "bob-password"), false}, {"anonymous", nil, false}} {
		small, _ := fetch("acme/small", c.header)
		large, vs := fetch("acme/large", c.header)
		t.Logf("%s: a p2 document with sources costs %d queries", c.name, large)
		if small != large {
			t.Fatalf("%s: %d queries for 3 versions, %d for 300", c.name, small, large)
		}
		var private, public int
		for _, v := range vs {
			switch {
			case v.Source == nil:
			case v.Source.URL == s.URL+"/alice/secret.git":
				private++
			case v.Source.URL == s.URL+"/bob/open.git":
				public++
			default:
				t.Fatalf("source %+v", v.Source)
			}
		}
		if public != 150 || (private == 150) != c.seesPrivate || (private != 0 && private != 150) {
			t.Fatalf("%s sees %d sources of alice/secret and %d of bob/open (of 150 each)", c.name, private, public)
		}
	}
}

// TestComposerStaleTagDeletionKeepsVersion: a tag deletion whose delivery
// failed, retried after the tag was pushed again and registered again,
// leaves the version alone; it used to act on the ref name alone and
// remove the new version. A deletion delivered while the tag is really
// gone still removes it.
func TestComposerStaleTagDeletionKeepsVersion(t *testing.T) {
	requireClient(t, "git")
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := newServerWithClock(t, now)
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "lib"}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	g := gitCmd{t, filepath.Join(work, "lib")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "lib")
	writeLib(t, g.dir, "acme/lib", `Acme\Lib`, "lib 1.0", "")
	g.must("add", ".")
	g.must("commit", "-qm", "lib 1.0")
	g.must("tag", "v1.0.0")
	remote := authURL(s.URL, "alice", "alice-password", "alice/lib.git")
	g.must("push", "-q", remote, "main", "--tags")
	commit := strings.TrimSpace(g.must("rev-parse", "HEAD"))
	h := basic("alice", "alice-password")
	register := func(want int) {
		t.Helper()
		if status, _, body := s.do(t, "POST", "/api/packages/alice/composer", `{"repository":"lib","tag":"v1.0.0"}`,
			map[string]string{"Authorization": h["Authorization"], "Content-Type": "application/json"}); status != want {
			t.Fatalf("register: %d %s (want %d)", status, body, want)
		}
	}
	register(http.StatusCreated)
	if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	p2 := func() (int, string) {
		status, _, body := s.do(t, "GET", "/api/packages/alice/composer/p2/acme/lib.json", "", h)
		return status, body
	}

	// The deletion's delivery fails: the table it reads is away.
	restore := s.hideTable(t, "package_property")
	g.must("push", "-q", remote, "--delete", "v1.0.0")
	var pending int
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM job WHERE kind LIKE '%composer%'").Scan(&pending); err != nil || pending != 1 {
		t.Fatalf("the failed deletion must stay queued for a retry: %d jobs (%v)", pending, err)
	}
	restore()

	// The tag comes back and is registered again (it is: same commit).
	g.must("push", "-q", remote, "v1.0.0")
	register(http.StatusOK)

	// Now the failed deletion is retried.
	mu.Lock()
	clock = clock.Add(2 * time.Hour) // past any backoff
	mu.Unlock()
	if ran, err := s.App.Jobs.RunOnce(t.Context()); err != nil || ran == 0 {
		t.Fatalf("retry: ran %d, %v", ran, err)
	}
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM job WHERE kind LIKE '%composer%'").Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("the stale deletion must be done with, not retried forever: %d jobs (%v)", pending, err)
	}
	status, body := p2()
	if status != 200 {
		t.Fatalf("a stale deletion removed the version of a tag that exists: %d %s", status, body)
	}
	vs := decodeP2(t, body, "acme/lib")
	if len(vs) != 1 || vs[0].Version != "1.0.0" || vs[0].Dist == nil || vs[0].Dist.Reference != commit {
		t.Fatalf("after the stale deletion: %s", body)
	}
	if status, _, zip := s.do(t, "GET", strings.TrimPrefix(vs[0].Dist.URL, s.URL), "", h); status != 200 || !strings.HasPrefix(zip, "PK\x03\x04") {
		t.Fatalf("dist after the stale deletion: %d", status)
	}

	// A deletion of a tag that is gone still removes its version.
	g.must("push", "-q", remote, "--delete", "v1.0.0")
	if status, body := p2(); status != 404 {
		t.Fatalf("after the tag was deleted for real: %d %s", status, body)
	}
}
