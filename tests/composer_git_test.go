package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// composerProject is a consumer project pointed at one owner's registry.
type composerProject struct {
	t    *testing.T
	home string
	dir  string
}

func newComposerProject(t *testing.T, s *server, owner, user, secret string, require map[string]string) *composerProject {
	t.Helper()
	home := t.TempDir()
	p := &composerProject{t: t, home: home, dir: filepath.Join(home, "app")}
	os.MkdirAll(p.dir, 0o755)
	req := []string{}
	for k, v := range require {
		req = append(req, fmt.Sprintf("%q:%q", k, v))
	}
	os.WriteFile(filepath.Join(p.dir, "composer.json"), []byte(fmt.Sprintf(`{"name":"me/app","require":{%s},"minimum-stability":"dev","prefer-stable":true,
		"repositories":[{"type":"composer","url":"%s/api/packages/%s/composer"},{"packagist.org":false}],"config":{"secure-http":false}}`,
		strings.Join(req, ","), s.URL, owner)), 0o644)
	os.WriteFile(filepath.Join(p.dir, "auth.json"), []byte(fmt.Sprintf(`{"http-basic":{%q:{"username":%q,"password":%q}}}`,
		strings.TrimPrefix(s.URL, "http://"), user, secret)), 0o644)
	return p
}

func (p *composerProject) run(name string, args ...string) (string, error) {
	cmd := exec.CommandContext(p.t.Context(), name, args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "COMPOSER_HOME="+filepath.Join(p.home, ".composer"), "COMPOSER_CACHE_DIR="+filepath.Join(p.home, ".cache"),
		"COMPOSER_NO_INTERACTION=1", "COMPOSER_ALLOW_SUPERUSER=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p *composerProject) must(name string, args ...string) string {
	p.t.Helper()
	out, err := p.run(name, args...)
	if err != nil {
		p.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func (p *composerProject) say(class string) string {
	p.t.Helper()
	return p.must("php", "-r", `require "vendor/autoload.php"; echo `+class+`::say();`)
}

// writeLib writes a one-class library that says msg.
func writeLib(t *testing.T, dir, name, namespace, msg string, require string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "composer.json"), []byte(fmt.Sprintf(`{"name":%q,"description":"lib","require":{%s},"autoload":{"psr-4":{%q:"src/"}}}`,
		name, require, namespace+`\`)), 0o644)
	os.WriteFile(filepath.Join(dir, "src", "Lib.php"), []byte(fmt.Sprintf("<?php\nnamespace %s;\nclass Lib { public static function say(): string { return %q; } }\n", namespace, msg)), 0o644)
}

// pushLibTag makes a work copy of repo ("owner/name", which must exist)
// in work holding writeLib's library name at tag v1.0.0, and pushes it as
// user (whose password is "<user>-password"). It returns the work copy.
func pushLibTag(t *testing.T, s *server, work, user, repo, name, namespace string) gitCmd {
	t.Helper()
	dir := filepath.Base(repo)
	g := gitCmd{t, filepath.Join(work, dir)}
	gitCmd{t, work}.must("init", "-q", "-b", "main", dir)
	writeLib(t, g.dir, name, namespace, name+" 1.0", "")
	g.must("add", ".")
	g.must("-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "-qm", name+" 1.0")
	g.must("tag", "v1.0.0")
	g.must("push", "-q", authURL(s.URL, user, user+"-password", repo+".git"), "main", "--tags")
	return g
}

// TestComposerFromGit registers versions from tags and branches (also of
// another owner's repository into a central registry) and installs them
// with the real composer, following tag moves, deletions and pushes.
func TestComposerFromGit(t *testing.T) {
	requireClient(t, "composer")
	requireClient(t, "php")
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "central"}); err != nil {
		t.Fatal(err)
	}
	bob := s.client(t, gitea.SetBasicAuth("bob", "bob-password"))
	for _, r := range []struct {
		c    *gitea.Client
		name string
	}{{alice, "core"}, {bob, "extra"}} {
		if _, _, err := r.c.CreateRepo(gitea.CreateRepoOption{Name: r.name}); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	core := gitCmd{t, filepath.Join(work, "core")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "core")
	writeLib(t, core.dir, "acme/core", `Acme\Core`, "core 1.0", "")
	core.must("add", ".")
	core.must("commit", "-qm", "core 1.0")
	core.must("tag", "v1.0.0")
	coreRemote := authURL(s.URL, "alice", "alice-password", "alice/core.git")
	core.must("push", "-q", coreRemote, "main", "--tags")

	extra := gitCmd{t, filepath.Join(work, "extra")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "extra")
	writeLib(t, extra.dir, "acme/extra", `Acme\Extra`, "extra 2.0", `"acme/core":"^1.0"`)
	extra.must("add", ".")
	extra.must("commit", "-qm", "extra 2.0")
	extra.must("tag", "2.0.0")
	extraRemote := authURL(s.URL, "bob", "bob-password", "bob/extra.git")
	extra.must("push", "-q", extraRemote, "main", "--tags")

	register := func(owner, body string) (int, string) {
		status, _, out := s.do(t, "POST", "/api/packages/"+owner+"/composer", body, map[string]string{
			"Authorization": basic("alice", "alice-password")["Authorization"], "Content-Type": "application/json"})
		return status, out
	}
	// Into the central registry: alice's repository and bob's (public,
	// alice can read it).
	for _, b := range []string{`{"repository":"alice/core","tag":"v1.0.0"}`, `{"repository":"bob/extra","tag":"2.0.0"}`} {
		if status, out := register("central", b); status != 201 {
			t.Fatalf("register %s: %d %s", b, status, out)
		}
	}
	if status, out := register("central", `{"repository":"alice/core","tag":"v1.0.0"}`); status != 200 {
		t.Fatalf("registering again for the same commit must be idempotent: %d %s", status, out)
	}

	app := newComposerProject(t, s, "central", "alice", "alice-password", map[string]string{"acme/extra": "^2.0"})
	app.must("composer", "install", "--no-progress")
	if got := app.say(`Acme\Extra\Lib`); got != "extra 2.0" {
		t.Fatalf("extra says %q", got)
	}
	if got := app.say(`Acme\Core\Lib`); got != "core 1.0" {
		t.Fatalf("the dependency chain: core says %q", got)
	}
	lock, _ := os.ReadFile(filepath.Join(app.dir, "composer.lock"))
	if !strings.Contains(string(lock), s.URL+"/api/packages/central/composer/files/") || strings.Contains(string(lock), "/api/packages/bob/") {
		t.Fatalf("the install must go through the central registry only:\n%s", lock)
	}
	// The archive job runs as well (the download above already built it).
	if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}

	// A new tag, registered: composer update picks it up.
	writeLib(t, core.dir, "acme/core", `Acme\Core`, "core 1.1", "")
	core.must("commit", "-qam", "core 1.1")
	core.must("tag", "v1.1.0")
	core.must("push", "-q", coreRemote, "main", "--tags")
	if status, out := register("central", `{"repository":"alice/core","tag":"v1.1.0"}`); status != 201 {
		t.Fatalf("register v1.1.0: %d %s", status, out)
	}
	app.must("composer", "update", "--no-progress")
	if got := app.say(`Acme\Core\Lib`); got != "core 1.1" {
		t.Fatalf("after update: %q", got)
	}

	// A moved tag serves the new commit's code.
	writeLib(t, core.dir, "acme/core", `Acme\Core`, "core 1.1 fixed", "")
	core.must("commit", "-qam", "fix")
	core.must("tag", "-f", "v1.1.0")
	core.must("push", "-q", "--force", coreRemote, "v1.1.0")
	s.App.Jobs.RunOnce(t.Context())
	app.must("composer", "update", "--no-progress")
	if got := app.say(`Acme\Core\Lib`); got != "core 1.1 fixed" {
		t.Fatalf("after the tag moved: %q", got)
	}

	// A deleted tag: the version vanishes and requiring it fails cleanly.
	core.must("push", "-q", coreRemote, "--delete", "v1.1.0")
	if out, err := app.run("composer", "require", "acme/core:1.1.0", "--no-progress"); err == nil || !strings.Contains(out, "acme/core") {
		t.Fatalf("requiring a deleted tag: %v\n%s", err, out)
	}

	// dev-main follows pushes.
	if status, out := register("central", `{"repository":"alice/core","branch":"main"}`); status != 201 || !strings.Contains(out, `"dev-main"`) {
		t.Fatalf("register branch: %d %s", status, out)
	}
	dev := newComposerProject(t, s, "central", "alice", "alice-password", map[string]string{"acme/core": "dev-main"})
	dev.must("composer", "install", "--no-progress")
	if got := dev.say(`Acme\Core\Lib`); got != "core 1.1" { // main was never pushed past 1.1
		t.Fatalf("dev-main: %q", got)
	}
	writeLib(t, core.dir, "acme/core", `Acme\Core`, "core next", "")
	core.must("commit", "-qam", "next")
	core.must("push", "-q", coreRemote, "main")
	s.App.Jobs.RunOnce(t.Context())
	dev.must("composer", "update", "--no-progress")
	if got := dev.say(`Acme\Core\Lib`); got != "core next" {
		t.Fatalf("dev-main after a push: %q", got)
	}

	// From a repository of the registry's own owner, named without owner.
	if status, _, out := s.do(t, "POST", "/api/packages/alice/composer", `{"repository":"core","tag":"v1.0.0"}`,
		map[string]string{"Authorization": basic("alice", "alice-password")["Authorization"], "Content-Type": "application/json"}); status != 201 {
		t.Fatalf("same-owner registration: %d %s", status, out)
	}
	own := newComposerProject(t, s, "alice", "alice", "alice-password", map[string]string{"acme/core": "1.0.0"})
	own.must("composer", "install", "--no-progress")
	if got := own.say(`Acme\Core\Lib`); got != "core 1.0" {
		t.Fatalf("same-owner install: %q", got)
	}

	// The package registered from alice's repository links to it; bob's
	// (alice may not write it) does not.
	c := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if pkg, _, err := c.GetPackage("central", "composer", "acme/core", "1.0.0"); err != nil || pkg.Repository == nil || pkg.Repository.Name != "core" {
		t.Fatalf("acme/core link: %+v, %v", pkg, err)
	}
	if pkg, _, err := c.GetPackage("central", "composer", "acme/extra", "2.0.0"); err != nil || pkg.Repository != nil {
		t.Fatalf("acme/extra must not link to bob's repository: %+v, %v", pkg, err)
	}

	// Deleting the repository removes every version registered from it.
	if _, err := alice.DeleteRepo("alice", "core"); err != nil {
		t.Fatal(err)
	}
	s.App.Jobs.RunOnce(t.Context())
	if _, resp, err := c.GetPackage("central", "composer", "acme/core", "1.0.0"); err == nil || resp.StatusCode != 404 {
		t.Fatalf("versions of a deleted repository must go: %v", err)
	}
	if status, _, _ := s.do(t, "GET", "/api/packages/central/composer/p2/acme/core~dev.json", "", basic("alice", "alice-password")); status != 404 {
		t.Fatalf("dev-main of a deleted repository: %d", status)
	}
}

// TestComposerRegisterBadInput: each mistake is a 4xx in the Composer error
// shape and registers nothing.
func TestComposerRegisterBadInput(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	bob := s.client(t, gitea.SetBasicAuth("bob", "bob-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "lib"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bob.CreateRepo(gitea.CreateRepoOption{Name: "secret", Private: true, AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	g := gitCmd{t, filepath.Join(work, "lib")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "lib")
	os.WriteFile(filepath.Join(g.dir, "README"), []byte("x"), 0o644)
	g.must("add", ".")
	g.must("commit", "-qm", "no composer.json")
	g.must("tag", "v0.1.0")
	os.WriteFile(filepath.Join(g.dir, "composer.json"), []byte("{not json"), 0o644)
	g.must("add", ".")
	g.must("commit", "-qm", "bad json")
	g.must("tag", "v0.2.0")
	os.WriteFile(filepath.Join(g.dir, "composer.json"), []byte(`{"name":"Acme/Upper"}`), 0o644)
	g.must("commit", "-qam", "bad name")
	g.must("tag", "v0.3.0")
	os.WriteFile(filepath.Join(g.dir, "composer.json"), []byte(`{"name":"acme/lib"}`), 0o644)
	g.must("commit", "-qam", "good")
	g.must("tag", "not-a-version")
	g.must("tag", "v0.9.0")
	g.must("commit", "-q", "--allow-empty", "-m", "later")
	g.must("tag", "0.9.0") // the same version, another commit
	g.must("push", "-q", authURL(s.URL, "alice", "alice-password", "alice/lib.git"), "main", "--tags")
	h := map[string]string{"Authorization": basic("alice", "alice-password")["Authorization"], "Content-Type": "application/x-www-form-urlencoded"}
	for _, c := range []struct {
		body   string
		status int
		msg    string
	}{
		{"repository=lib&tag=v0.1.0", 400, "composer.json is missing"},
		{"repository=lib&tag=v0.2.0", 400, "composer.json, at byte 1"},
		{"repository=lib&tag=v0.3.0", 400, "invalid package name"},
		{"repository=lib&tag=not-a-version", 400, "is not a version composer accepts"},
		{"repository=lib&tag=v9.9.9", 404, "does not exist"},
		{"repository=lib&branch=nope", 404, "does not exist"},
		{"repository=nope&tag=v0.1.0", 404, "does not exist"},
		{"repository=bob/secret&branch=main", 404, "does not exist"},
		{"repository=lib&tag=v0.1.0&branch=main", 400, "exactly one"},
		{"repository=lib", 400, "exactly one"},
		{"tag=v0.1.0", 400, "repository is missing"},
		{"repository=lib&tag=..%2F..", 400, "invalid ref name"},
	} {
		status, _, out := s.do(t, "POST", "/api/packages/alice/composer", c.body, h)
		if status != c.status || !strings.Contains(out, c.msg) || !strings.Contains(out, `"errors"`) {
			t.Errorf("%s: %d %s, want %d with %q", c.body, status, out, c.status, c.msg)
		}
	}
	// The same version from another commit is a conflict; the same tag
	// again is idempotent.
	if status, _, out := s.do(t, "POST", "/api/packages/alice/composer", "repository=lib&tag=v0.9.0", h); status != 201 {
		t.Fatalf("register v0.9.0: %d %s", status, out)
	}
	if status, _, out := s.do(t, "POST", "/api/packages/alice/composer", "repository=lib&tag=v0.9.0", h); status != 200 {
		t.Fatalf("again: %d %s", status, out)
	}
	if status, _, out := s.do(t, "POST", "/api/packages/alice/composer", "repository=lib&tag=0.9.0", h); status != 409 || !strings.Contains(out, `"errors"`) {
		t.Fatalf("same version, other commit: %d %s", status, out)
	}
	if status, _, out := s.do(t, "POST", "/api/packages/alice/composer?repository=lib&tag=v0.1.0", "", nil); status != 401 {
		t.Errorf("anonymous: %d %s", status, out)
	}
	_, _, out := s.do(t, "GET", "/api/packages/alice/composer/p2/acme/lib.json", "", basic("alice", "alice-password"))
	if strings.Count(out, `"version":`) != 1 {
		t.Fatalf("only v0.9.0 may be registered: %s", out)
	}
}

// TestComposerAutoRegister: with a source set, every tag pushed to the
// repository registers itself; tags that are not versions are skipped.
func TestComposerAutoRegister(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "central"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "auto"}); err != nil {
		t.Fatal(err)
	}
	h := basic("alice", "alice-password")
	if status, _, body := s.do(t, "PUT", "/api/packages/central/composer/-/sources/alice/auto", "", h); status != 204 {
		t.Fatalf("add source: %d %s", status, body)
	}
	if status, _, body := s.do(t, "GET", "/api/packages/central/composer/-/sources", "", h); status != 200 || !strings.Contains(body, `"alice/auto"`) {
		t.Fatalf("list sources: %d %s", status, body)
	}
	work := t.TempDir()
	g := gitCmd{t, filepath.Join(work, "auto")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "auto")
	writeLib(t, g.dir, "acme/auto", `Acme\Auto`, "auto", "")
	g.must("add", ".")
	g.must("commit", "-qm", "auto")
	g.must("tag", "v1.0.0")
	g.must("tag", "nightly")
	remote := authURL(s.URL, "alice", "alice-password", "alice/auto.git")
	g.must("push", "-q", remote, "main", "--tags")
	s.App.Jobs.RunOnce(t.Context())
	status, _, body := s.do(t, "GET", "/api/packages/central/composer/p2/acme/auto.json", "", h)
	if status != 200 || !strings.Contains(body, `"version":"1.0.0"`) || strings.Contains(body, "nightly") {
		t.Fatalf("after pushing tags: %d %s", status, body)
	}
	if status, _, _ := s.do(t, "DELETE", "/api/packages/central/composer/-/sources/alice/auto", "", h); status != 204 {
		t.Fatalf("remove source: %d", status)
	}
	g.must("tag", "v1.1.0")
	g.must("push", "-q", remote, "v1.1.0")
	s.App.Jobs.RunOnce(t.Context())
	if _, _, body := s.do(t, "GET", "/api/packages/central/composer/p2/acme/auto.json", "", h); strings.Contains(body, `"1.1.0"`) {
		t.Fatalf("a removed source still registers: %s", body)
	}
	if status, _, _ := s.do(t, "PUT", "/api/packages/central/composer/-/sources/nobody/nothing", "", h); status != 404 {
		t.Fatalf("unknown repository: %d", status)
	}
}
