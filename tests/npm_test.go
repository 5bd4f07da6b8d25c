package tests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/setting"
)

// jsTool finds npm, yarn or pnpm: on PATH, or in the prefix .ci/run
// installs them into ($(go env GOPATH)/wharf-tools).
func jsTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join(goPath(), "wharf-tools", "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return requireClient(t, name) // skips locally, fails in CI
}

func goPath() string {
	out, _ := exec.Command("go", "env", "GOPATH").Output()
	return strings.TrimSpace(string(out))
}

// jsClient is one release of npm, yarn or pnpm. The client tests run each
// scenario with two: the pinned release (the machine's npm; yarn 1.22.22
// and pnpm 10 in wharf-tools), and the current release of each client,
// which .ci/run installs with the Node.js it needs into
// $(go env GOPATH)/wharf-tools-current (see the versions pinned there).
type jsClient struct {
	tool    string
	path    string // the executable
	bin     string // put first on PATH: the current releases' node; "" for the pinned ones
	version string // as the client reports it
	missing error  // why the current release cannot run here
}

// String names the release in subtest names: pnpm@12.21.0.
func (c *jsClient) String() string {
	if c.version == "" {
		return c.tool + "@current"
	}
	return c.tool + "@" + c.version
}

// berry is yarn 2 or later, whose commands and configuration differ from
// yarn 1's.
func (c *jsClient) berry() bool { return c.tool == "yarn" && !strings.HasPrefix(c.version, "1.") }

// require skips the subtest when the release is not installed here, and
// fails it in CI, where .ci/run installs every release.
func (c *jsClient) require(t *testing.T) {
	t.Helper()
	if c.missing == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI: %v", c, c.missing)
	}
	t.Skipf("%s: %v; CI=true makes this a failure", c, c.missing)
}

// env is what the client runs with: the current releases find their own
// node first on PATH (npm 12 needs Node.js 22), for themselves and for
// the scripts they start.
func (c *jsClient) env() []string {
	if c.bin == "" {
		return nil
	}
	return []string{"PATH=" + c.bin + string(os.PathListSeparator) + os.Getenv("PATH")}
}

// pinnedClient is the release jsTool finds.
func pinnedClient(t *testing.T, tool string) *jsClient {
	t.Helper()
	c := &jsClient{tool: tool}
	if p, err := exec.LookPath(tool); err == nil {
		c.path = p
	} else if p := filepath.Join(goPath(), "wharf-tools", "bin", tool); fileExists(p) {
		c.path = p
	} else {
		c.missing = fmt.Errorf("not on PATH nor in wharf-tools (.ci/run installs it)")
		return c
	}
	c.version = clientVersion(t, c)
	return c
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// currentClient is the current release in wharf-tools-current.
func currentClient(t *testing.T, tool string) *jsClient {
	t.Helper()
	bin := filepath.Join(goPath(), "wharf-tools-current", "bin")
	c := &jsClient{tool: tool, path: filepath.Join(bin, tool), bin: bin}
	if _, err := os.Stat(c.path); err != nil {
		c.missing = fmt.Errorf("not installed (.ci/run installs it): %w", err)
		return c
	}
	c.version = clientVersion(t, c)
	return c
}

// jsClients are the pinned and the current release of tool.
func jsClients(t *testing.T, tool string) []*jsClient {
	t.Helper()
	return []*jsClient{pinnedClient(t, tool), currentClient(t, tool)}
}

func clientVersion(t *testing.T, c *jsClient) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), c.path, "--version")
	cmd.Dir = t.TempDir() // not a project: yarn berry would look for one
	cmd.Env = append(append(os.Environ(), "COREPACK_ENABLE_STRICT=0", "YARN_IGNORE_PATH=1"), c.env()...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --version: %v", c.path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// jsEnv is an isolated home for the JavaScript clients.
type jsEnv struct {
	t    *testing.T
	home string
	// ageGates leaves the clients' release-age gates as they are by
	// default; without it they are turned off (see runWith).
	ageGates bool
}

func newJSEnv(t *testing.T) *jsEnv {
	return &jsEnv{t: t, home: t.TempDir()}
}

// with is the same home, reporting to a subtest.
func (e *jsEnv) with(t *testing.T) *jsEnv { return &jsEnv{t: t, home: e.home, ageGates: e.ageGates} }

// project makes a directory with package.json, an .npmrc naming the
// registry (and token), and optional files.
func (e *jsEnv) project(name, registry, token string, pkg map[string]any, files map[string]string) string {
	e.t.Helper()
	dir := filepath.Join(e.home, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	b, _ := json.MarshalIndent(pkg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "package.json"), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	rc := "registry=" + registry + "\nfund=false\nupdate-notifier=false\n"
	if token != "" {
		rc += "//" + strings.TrimPrefix(strings.TrimPrefix(registry, "http://"), "https://") + ":_authToken=" + token + "\n"
	}
	files[".npmrc"] = rc
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	return dir
}

// run runs a client (the pinned release) in dir and returns its
// combined output.
func (e *jsEnv) run(dir, tool string, args ...string) (string, error) {
	return e.runWith(dir, &jsClient{tool: tool, path: jsTool(e.t, tool)}, args...)
}

// runWith runs a given release of a client.
func (e *jsEnv) runWith(dir string, c *jsClient, args ...string) (string, error) {
	cmd := exec.CommandContext(e.t.Context(), c.path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+e.home, "npm_config_cache="+filepath.Join(e.home, ".npm-cache"),
		"npm_config_userconfig="+filepath.Join(e.home, ".npmrc-user"), "YARN_CACHE_FOLDER="+filepath.Join(e.home, ".yarn-cache"),
		"NO_UPDATE_NOTIFIER=1", "CI=true", "YARN_ENABLE_TELEMETRY=0", "YARN_IGNORE_PATH=1", "COREPACK_ENABLE_STRICT=0")
	if !e.ageGates {
		// Most tests install what they published a second before; pnpm 11+
		// (minimumReleaseAge) and yarn 4.10+ (npmMinimalAgeGate) hold back
		// versions younger than a day by default.
		cmd.Env = append(cmd.Env, "pnpm_config_minimum_release_age=0", "YARN_NPM_MINIMAL_AGE_GATE=0")
	}
	cmd.Env = append(cmd.Env, c.env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (e *jsEnv) mustWith(dir string, c *jsClient, args ...string) string {
	e.t.Helper()
	out, err := e.runWith(dir, c, args...)
	if err != nil {
		e.t.Fatalf("%s %s: %v\n%s", c, strings.Join(args, " "), err, out)
	}
	return out
}

// berryProject configures a project for yarn berry, which reads
// .yarnrc.yml and not .npmrc: the registry and token, node_modules on
// disk (nodeLinker: node-modules, so plain node can require what was
// installed, as with yarn 1), plain HTTP to the test server, and installs
// that may write the lockfile although CI=true.
func (e *jsEnv) berryProject(dir, registry, token string) {
	e.t.Helper()
	host := strings.Split(strings.TrimPrefix(strings.TrimPrefix(registry, "http://"), "https://"), ":")[0]
	rc := fmt.Sprintf("npmRegistryServer: %q\nnpmAlwaysAuth: true\nnodeLinker: node-modules\nunsafeHttpWhitelist:\n  - %q\n"+
		"enableTelemetry: false\nenableImmutableInstalls: false\nenableGlobalCache: false\ncacheFolder: %q\n",
		registry, host, filepath.Join(e.home, ".yarn-berry-cache"))
	if token != "" {
		rc += fmt.Sprintf("npmAuthToken: %q\n", token)
	}
	for f, content := range map[string]string{".yarnrc.yml": rc, "yarn.lock": ""} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *jsEnv) must(dir, tool string, args ...string) string {
	e.t.Helper()
	out, err := e.run(dir, tool, args...)
	if err != nil {
		e.t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return out
}

func TestNpmClients(t *testing.T) {
	jsTool(t, "npm")
	s := newServer(t)
	s.createUser(t, "acme")
	s.createUser(t, "bob")
	acme := s.client(t, gitea.SetBasicAuth("acme", "acme-password"))
	tok, _, err := acme.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "npm", Scopes: []gitea.AccessTokenScope{"write:package"}})
	if err != nil {
		t.Fatal(err)
	}
	ro, _, err := acme.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "npm-ro", Scopes: []gitea.AccessTokenScope{"read:package"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := acme.CreateRepo(gitea.CreateRepoOption{Name: "lib-a"}); err != nil {
		t.Fatal(err)
	}
	owner := s.URL + "/api/packages/acme/npm/"
	instance := s.URL + "/api/packages/-/npm/"
	e := newJSEnv(t)

	publish := func(e *jsEnv, name, version string, extra map[string]any, args ...string) string {
		e.t.Helper()
		pkg := map[string]any{"name": name, "version": version, "main": "index.js", "description": "the " + name}
		for k, v := range extra {
			pkg[k] = v
		}
		dir := e.project(strings.NewReplacer("@", "", "/", "-").Replace(name)+"-"+version, owner, tok.Token, pkg,
			map[string]string{"index.js": fmt.Sprintf("module.exports = %q;\n", name+"@"+version), "README.md": "# " + name + "\n"})
		return e.must(dir, "npm", append([]string{"publish"}, args...)...)
	}
	publish(e, "@acme/lib-a", "1.0.0", map[string]any{"repository": map[string]string{"type": "git", "url": "git+" + s.URL + "/acme/lib-a.git"}})
	publish(e, "@acme/lib-b", "1.0.0", map[string]any{"dependencies": map[string]string{"@acme/lib-a": "^1.0.0"}})
	publish(e, "plain-pkg", "1.0.0", nil)

	// The repository field linked lib-a to its repository.
	pkg, _, err := acme.GetPackage("acme", "npm", "@acme/lib-a", "1.0.0")
	if err != nil || pkg.Repository == nil || pkg.Repository.Name != "lib-a" {
		t.Fatalf("auto-link: %+v, %v", pkg, err)
	}

	npms, yarns, pnpms := jsClients(t, "npm"), jsClients(t, "yarn"), jsClients(t, "pnpm")

	t.Run("install from the owner level", func(t *testing.T) {
		for _, c := range npms {
			t.Run(c.String(), func(t *testing.T) {
				c.require(t)
				e := e.with(t)
				app := e.project("app-owner-"+c.String(), owner, tok.Token, map[string]any{"name": "app", "version": "1.0.0"}, map[string]string{})
				e.mustWith(app, c, "install", "@acme/lib-b", "plain-pkg")
				out := e.must(app, "node", "-e", `console.log(require("@acme/lib-b"), require("@acme/lib-a"), require("plain-pkg"))`)
				if !strings.Contains(out, "@acme/lib-b@1.0.0 @acme/lib-a@1.0.0 plain-pkg@1.0.0") {
					t.Fatalf("require: %s", out)
				}
				lock, _ := os.ReadFile(filepath.Join(app, "package-lock.json"))
				if !strings.Contains(string(lock), `"resolved": "`+owner+`@acme/lib-a/-/lib-a-1.0.0.tgz"`) || !strings.Contains(string(lock), `"integrity": "sha512-`) {
					t.Fatalf("package-lock.json does not point at the server:\n%s", lock)
				}
				// A fresh install from the lockfile alone.
				os.RemoveAll(filepath.Join(app, "node_modules"))
				e.mustWith(app, c, "ci")
			})
		}
	})

	t.Run("install from the instance level", func(t *testing.T) {
		for _, c := range npms {
			t.Run(c.String(), func(t *testing.T) {
				c.require(t)
				e := e.with(t)
				app := e.project("app-instance-"+c.String(), instance, tok.Token, map[string]any{"name": "app2", "version": "1.0.0"}, map[string]string{})
				e.mustWith(app, c, "install", "@acme/lib-b")
				lock, _ := os.ReadFile(filepath.Join(app, "package-lock.json"))
				if !strings.Contains(string(lock), instance+"@acme/lib-a/-/lib-a-1.0.0.tgz") {
					t.Fatalf("instance-level lockfile:\n%s", lock)
				}
				if out, err := e.runWith(app, c, "view", "plain-pkg"); err == nil || !strings.Contains(out, "404") {
					t.Fatalf("an unscoped package must be 404 at the instance level: %v\n%s", err, out)
				}
			})
		}
	})

	t.Run("publish", func(t *testing.T) {
		// yarn 1 declares only dist.shasum, pnpm and npm both digests, yarn
		// berry both: each publish is checked against the attachment and
		// accepted.
		for _, c := range append(append(append([]*jsClient{}, npms...), yarns...), pnpms...) {
			t.Run(c.String(), func(t *testing.T) {
				c.require(t)
				e := e.with(t)
				name := "@acme/by-" + strings.NewReplacer("@", "-", ".", "-").Replace(c.String())
				dir := e.project("by-"+c.String(), owner, tok.Token, map[string]any{"name": name, "version": "1.0.0", "main": "index.js", "description": "by " + c.String()},
					map[string]string{"index.js": fmt.Sprintf("module.exports = %q;\n", name)})
				switch {
				case c.berry():
					e.berryProject(dir, owner, tok.Token)
					e.mustWith(dir, c, "install")
					e.mustWith(dir, c, "npm", "publish")
				case c.tool == "yarn":
					e.mustWith(dir, c, "publish", "--non-interactive", "--new-version", "1.0.0", "--no-git-tag-version")
				case c.tool == "pnpm":
					e.mustWith(dir, c, "publish", "--no-git-checks")
				default:
					e.mustWith(dir, c, "publish")
				}
				if out := e.must(dir, "npm", "view", name, "dist.shasum"); len(strings.TrimSpace(out)) != 40 {
					t.Fatalf("%s publish: npm view: %s", c, out)
				}
			})
		}
	})

	t.Run("yarn", func(t *testing.T) {
		for _, c := range yarns {
			t.Run(c.String(), func(t *testing.T) {
				c.require(t)
				e := e.with(t)
				app := e.project("app-"+c.String(), owner, tok.Token, map[string]any{"name": "app3", "version": "1.0.0"}, map[string]string{})
				if c.berry() {
					e.berryProject(app, owner, tok.Token)
					e.mustWith(app, c, "add", "@acme/lib-b")
				} else {
					e.mustWith(app, c, "add", "@acme/lib-b", "--non-interactive", "--no-progress")
				}
				out := e.must(app, "node", "-e", `console.log(require("@acme/lib-b"))`)
				lock, _ := os.ReadFile(filepath.Join(app, "yarn.lock"))
				// yarn 1 records the tarball URL; berry the resolution and
				// a checksum (the registry is in .yarnrc.yml).
				resolved := strings.Contains(string(lock), owner)
				if c.berry() {
					resolved = strings.Contains(string(lock), `resolution: "@acme/lib-a@npm:1.0.0"`) && strings.Contains(string(lock), "checksum: ")
				}
				if !strings.Contains(out, "@acme/lib-b@1.0.0") || !resolved {
					t.Fatalf("%s: %s\n%s", c, out, lock)
				}
			})
		}
	})

	t.Run("pnpm", func(t *testing.T) {
		for _, c := range pnpms {
			t.Run(c.String(), func(t *testing.T) {
				c.require(t)
				e := e.with(t)
				app := e.project("app-"+c.String(), instance, tok.Token, map[string]any{"name": "app4", "version": "1.0.0"}, map[string]string{})
				e.mustWith(app, c, "add", "@acme/lib-b", "--store-dir", filepath.Join(e.home, ".pnpm-store-"+c.String()))
				out := e.must(app, "node", "-e", `console.log(require("@acme/lib-b"))`)
				if !strings.Contains(out, "@acme/lib-b@1.0.0") {
					t.Fatalf("%s: %s", c, out)
				}
			})
		}
	})

	t.Run("dist-tags and prereleases", func(t *testing.T) {
		e := e.with(t)
		dir := e.project("tags", owner, tok.Token, map[string]any{"name": "x", "version": "0.0.0"}, map[string]string{})
		publish(e, "@acme/lib-a", "1.1.0-beta.1", nil, "--tag", "beta")
		publish(e, "@acme/lib-a", "1.2.0-rc.1", nil, "--tag", "rc")
		out := e.must(dir, "npm", "dist-tag", "ls", "@acme/lib-a")
		if !strings.Contains(out, "latest: 1.0.0") || !strings.Contains(out, "beta: 1.1.0-beta.1") || !strings.Contains(out, "rc: 1.2.0-rc.1") {
			t.Fatalf("dist-tag ls: %s", out)
		}
		e.must(dir, "npm", "dist-tag", "add", "@acme/lib-a@1.1.0-beta.1", "next")
		if out := e.must(dir, "npm", "dist-tag", "ls", "@acme/lib-a"); !strings.Contains(out, "next: 1.1.0-beta.1") {
			t.Fatalf("after add: %s", out)
		}
		e.must(dir, "npm", "dist-tag", "rm", "@acme/lib-a", "next")
		if out := e.must(dir, "npm", "dist-tag", "ls", "@acme/lib-a"); strings.Contains(out, "next:") {
			t.Fatalf("after rm: %s", out)
		}
		if out, err := e.run(dir, "npm", "dist-tag", "rm", "@acme/lib-a", "latest"); err == nil {
			t.Fatalf("removing latest must fail:\n%s", out)
		}
	})

	t.Run("deprecate", func(t *testing.T) {
		e := e.with(t)
		dir := e.project("dep", owner, tok.Token, map[string]any{"name": "y", "version": "0.0.0"}, map[string]string{})
		e.must(dir, "npm", "deprecate", "plain-pkg@1.0.0", "use something else")
		app := e.project("app-dep", owner, tok.Token, map[string]any{"name": "app5", "version": "1.0.0"}, map[string]string{})
		out := e.must(app, "npm", "install", "plain-pkg")
		if !strings.Contains(out, "deprecated plain-pkg@1.0.0: use something else") {
			t.Fatalf("install does not warn:\n%s", out)
		}
	})

	t.Run("view, search, whoami", func(t *testing.T) {
		e := e.with(t)
		dir := e.project("misc", owner, tok.Token, map[string]any{"name": "z", "version": "0.0.0"}, map[string]string{})
		if out := e.must(dir, "npm", "view", "@acme/lib-b", "dependencies", "--json"); !strings.Contains(out, `"@acme/lib-a": "^1.0.0"`) {
			t.Fatalf("npm view: %s", out)
		}
		if out := e.must(dir, "npm", "view", "@acme/lib-a", "versions", "--json"); !strings.Contains(out, `"1.0.0"`) || !strings.Contains(out, `"1.2.0-rc.1"`) {
			t.Fatalf("npm view versions: %s", out)
		}
		if out := e.must(dir, "npm", "search", "lib"); !strings.Contains(out, "@acme/lib-a") || !strings.Contains(out, "@acme/lib-b") {
			t.Fatalf("npm search: %s", out)
		}
		// At the instance level: scoped packages of visible owners only.
		if out := e.must(dir, "npm", "search", "--registry="+instance, "lib"); !strings.Contains(out, "@acme/lib-b") {
			t.Fatalf("instance-level npm search: %s", out)
		}
		if out := e.must(dir, "npm", "search", "--registry="+instance, "plain"); strings.Contains(out, "plain-pkg") {
			t.Fatalf("instance-level search shows an unscoped package: %s", out)
		}
		if out := e.must(dir, "npm", "whoami"); !strings.HasSuffix(strings.TrimSpace(out), "\nacme") && strings.TrimSpace(out) != "acme" {
			t.Fatalf("npm whoami: %q", out)
		}
	})

	t.Run("unpublish", func(t *testing.T) {
		e := e.with(t)
		dir := e.project("unpub", owner, tok.Token, map[string]any{"name": "w", "version": "0.0.0"}, map[string]string{})
		e.must(dir, "npm", "unpublish", "@acme/lib-a@1.2.0-rc.1")
		out := e.must(dir, "npm", "view", "@acme/lib-a", "versions", "--json")
		var versions []string
		if err := json.Unmarshal([]byte(out), &versions); err != nil || strings.Join(versions, " ") != "1.0.0 1.1.0-beta.1" {
			t.Fatalf("after unpublishing one version: %v %s", err, out)
		}
		// npm owner add PUTs a document with maintainers and no versions to
		// /-rev/{rev}: refused, and it must not read as "keep no version".
		if out, err := e.run(dir, "npm", "owner", "add", "bob", "plain-pkg"); err == nil || !strings.Contains(out, "400") {
			t.Fatalf("npm owner add: %v\n%s", err, out)
		}
		if out := e.must(dir, "npm", "view", "plain-pkg", "version"); strings.TrimSpace(out) != "1.0.0" {
			t.Fatalf("npm owner add removed versions: %s", out)
		}
		e.must(dir, "npm", "unpublish", "plain-pkg", "--force")
		if out, err := e.run(dir, "npm", "view", "plain-pkg"); err == nil || !strings.Contains(out, "404") {
			t.Fatalf("after unpublishing the package: %v\n%s", err, out)
		}
	})

	t.Run("credentials", func(t *testing.T) {
		e := e.with(t)
		bad := e.project("bad-token", owner, strings.Repeat("0", 40), map[string]any{"name": "@acme/nope", "version": "1.0.0"}, map[string]string{"index.js": ""})
		if out, err := e.run(bad, "npm", "publish"); err == nil || !strings.Contains(out, "401") {
			t.Fatalf("wrong token: %v\n%s", err, out)
		}
		readonly := e.project("ro-token", owner, ro.Token, map[string]any{"name": "@acme/nope", "version": "1.0.0"}, map[string]string{"index.js": ""})
		// The refusal comes before the npm handler (the scope check), in
		// npm's error shape, so npm shows the reason.
		if out, err := e.run(readonly, "npm", "publish"); err == nil || !strings.Contains(out, "403") || !strings.Contains(out, "write:package") {
			t.Fatalf("read-only token: %v\n%s", err, out)
		}
		// Legacy login: npm prompts for the user and the password on a
		// terminal (script gives it one) and stores the token the server
		// returns.
		login := e.project("login", owner, "", map[string]any{"name": "v", "version": "0.0.0"}, map[string]string{})
		userrc := filepath.Join(login, "user.npmrc")
		npmLogin(t, login, []string{"HOME=" + e.home, "npm_config_userconfig=" + userrc, "npm_config_cache=" + filepath.Join(e.home, ".npm-cache")},
			jsTool(t, "npm")+" login --auth-type=legacy --registry="+owner, "acme", "acme-password")
		rc, _ := os.ReadFile(userrc)
		if !strings.Contains(string(rc), ":_authToken=") {
			t.Fatalf("npm login stored no token:\n%s", rc)
		}
		cmd := exec.CommandContext(t.Context(), jsTool(t, "npm"), "whoami", "--registry="+owner)
		cmd.Dir = login
		cmd.Env = append(os.Environ(), "HOME="+e.home, "npm_config_userconfig="+userrc)
		if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "acme" {
			t.Fatalf("whoami with the login token: %v %s", err, out)
		}
	})
}

// npmLogin runs an interactive login under script(1), answering each
// prompt when it appears.
func npmLogin(t *testing.T, dir string, env []string, command, user, password string) {
	t.Helper()
	requireClient(t, "script")
	cmd := exec.CommandContext(t.Context(), "script", "-qec", command, "/dev/null")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	answers := []struct{ prompt, answer string }{{"Username:", user}, {"Password:", password}}
	buf := make([]byte, 4096)
	for {
		n, err := stdout.Read(buf)
		seen.Write(buf[:n])
		if len(answers) > 0 && strings.Contains(seen.String(), answers[0].prompt) {
			io.WriteString(stdin, answers[0].answer+"\r")
			answers = answers[1:]
		}
		if err != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil || len(answers) > 0 {
		t.Fatalf("npm login: %v\n%s", err, seen.String())
	}
}

// npmTarball packs files under package/.
func npmTarball(files map[string]string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		tw.Write([]byte(content))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// npmPublishBody is what npm PUTs, with the repository field and tarball
// given.
func npmPublishBody(name, version string, repository any, tgz []byte) string {
	s1, s5 := sha1.Sum(tgz), sha512.Sum512(tgz)
	manifest := map[string]any{"name": name, "version": version, "dist": map[string]string{
		"shasum": hex.EncodeToString(s1[:]), "integrity": "sha512-" + base64.StdEncoding.EncodeToString(s5[:])}}
	if repository != nil {
		manifest["repository"] = repository
	}
	doc := map[string]any{"_id": name, "name": name, "dist-tags": map[string]string{"latest": version},
		"versions": map[string]any{version: manifest},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}}}
	b, _ := json.Marshal(doc)
	return string(b)
}

func pkgJSON(name, version string) map[string]string {
	return map[string]string{"package/package.json": fmt.Sprintf(`{"name":%q,"version":%q}`, name, version)}
}

// TestNpmAutoLink: every URL form npm writes links the package; a
// repository the publisher cannot write is not linked, and the publish
// still succeeds; explicit links are kept until a publish names another
// repository.
func TestNpmAutoLink(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	s.createUser(t, "bob")
	acme := s.client(t, gitea.SetBasicAuth("acme", "acme-password"))
	for _, r := range []string{"widget", "other"} {
		if _, _, err := acme.CreateRepo(gitea.CreateRepoOption{Name: r}); err != nil {
			t.Fatal(err)
		}
	}
	bob := s.client(t, gitea.SetBasicAuth("bob", "bob-password"))
	if _, _, err := bob.CreateRepo(gitea.CreateRepoOption{Name: "bobs"}); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(s.URL, "http://")
	hostname := strings.Split(host, ":")[0]
	h := basic("acme", "acme-password")
	forms := map[string]any{
		"https":     s.URL + "/acme/widget",
		"dot-git":   s.URL + "/acme/widget.git",
		"git+https": "git+" + s.URL + "/acme/widget.git",
		"git+ssh":   "git+ssh://git@" + hostname + "/acme/widget.git",
		"ssh":       "ssh://git@" + hostname + "/acme/widget.git",
		"git":       "git://" + hostname + "/acme/widget.git",
		"scp":       "git@" + hostname + ":acme/widget.git",
		"object":    map[string]string{"type": "git", "url": strings.ToUpper(s.URL + "/ACME/WIDGET.GIT")[0:4] + strings.ToUpper(s.URL + "/ACME/WIDGET.GIT")[4:]},
		"trailing":  s.URL + "/acme/widget/",
		"shorthand": "acme/widget",
	}
	for form, repo := range forms {
		name := "@acme/" + strings.ReplaceAll(form, "+", "-")
		status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/"+strings.Replace(name, "/", "%2f", 1), npmPublishBody(name, "1.0.0", repo, npmTarball(pkgJSON(name, "1.0.0"))), h)
		if status != 201 {
			t.Fatalf("%s: publish %d %s", form, status, body)
		}
		pkg, _, err := acme.GetPackage("acme", "npm", name, "1.0.0")
		if err != nil || pkg.Repository == nil || pkg.Repository.Name != "widget" {
			t.Errorf("%s (%v): not linked: %+v, %v", form, repo, pkg.Repository, err)
		}
	}
	// Bob's repository: acme cannot write it; published, not linked.
	name := "@acme/foreign"
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/@acme%2fforeign", npmPublishBody(name, "1.0.0", s.URL+"/bob/bobs.git", npmTarball(pkgJSON(name, "1.0.0"))), h); status != 201 {
		t.Fatalf("publish naming a foreign repository: %d %s", status, body)
	}
	if pkg, _, _ := acme.GetPackage("acme", "npm", name, "1.0.0"); pkg.Repository != nil {
		t.Fatalf("linked to a repository the publisher cannot write: %+v", pkg.Repository)
	}
	// An explicit unlink is kept while publishes name the same repository;
	// a publish naming another one moves the link.
	name = "@acme/https"
	if _, err := acme.UnlinkPackage("acme", "npm", name); err != nil {
		t.Fatal(err)
	}
	s.do(t, "PUT", "/api/packages/acme/npm/@acme%2fhttps", npmPublishBody(name, "1.1.0", s.URL+"/acme/widget", npmTarball(pkgJSON(name, "1.1.0"))), h)
	if pkg, _, _ := acme.GetPackage("acme", "npm", name, "1.1.0"); pkg.Repository != nil {
		t.Fatal("the explicit unlink was undone by a publish naming the same repository")
	}
	s.do(t, "PUT", "/api/packages/acme/npm/@acme%2fhttps", npmPublishBody(name, "1.2.0", s.URL+"/acme/other", npmTarball(pkgJSON(name, "1.2.0"))), h)
	if pkg, _, _ := acme.GetPackage("acme", "npm", name, "1.2.0"); pkg.Repository == nil || pkg.Repository.Name != "other" {
		t.Fatalf("a publish naming another repository must move the link: %+v", pkg.Repository)
	}
}

// TestNpmBadInput: each mistake is a 4xx with npm's {"error": …} and stores
// nothing.
func TestNpmBadInput(t *testing.T) {
	s := newServer(t, func(c *setting.Config) { c.Packages.LimitSize = map[string]int64{"npm": 4096} })
	s.createUser(t, "acme")
	s.createUser(t, "bob")
	acme := s.client(t, gitea.SetBasicAuth("acme", "acme-password"))
	if _, _, err := acme.CreateOrg(gitea.CreateOrgOption{Name: "AcmeCorp"}); err != nil {
		t.Fatal(err)
	}
	h := basic("acme", "acme-password")
	good := npmTarball(pkgJSON("@acme/x", "1.0.0"))
	body := func(name, version string, tgz []byte) string { return npmPublishBody(name, version, nil, tgz) }
	multi := strings.Replace(body("@acme/x", "1.0.0", good), `"_attachments":{`, `"_attachments":{"second.tgz":{"data":"AAAA"},`, 1)
	garbage := strings.Replace(body("@acme/x", "1.0.0", good), base64.StdEncoding.EncodeToString(good), "!!!!", 1)
	noAttachment := `{"_id":"@acme/x","name":"@acme/x","versions":{"1.0.0":{"name":"@acme/x","version":"1.0.0"}},"_attachments":{}}`
	tampered := npmPublishBody("@acme/x", "1.0.0", nil, good)
	var doc map[string]any
	json.Unmarshal([]byte(tampered), &doc)
	doc["versions"].(map[string]any)["1.0.0"].(map[string]any)["dist"].(map[string]any)["integrity"] = "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64))
	b, _ := json.Marshal(doc)
	tampered = string(b)
	big := make([]byte, 8000)
	for i := range big {
		big[i] = byte(i * 131)
	}
	cases := []struct {
		name, path, body string
		header           map[string]string
		status           int
		msg              string
	}{
		{"upper case", "/api/packages/acme/npm/Upper", body("Upper", "1.0.0", good), h, 400, "lower case"},
		{"space", "/api/packages/acme/npm/a%20b", body("a b", "1.0.0", good), h, 400, "invalid package name"},
		{"dot-dot", "/api/packages/acme/npm/..%2f..", body("..", "1.0.0", good), h, 400, "invalid package name"},
		{"too long", "/api/packages/acme/npm/" + strings.Repeat("a", 215), body(strings.Repeat("a", 215), "1.0.0", good), h, 400, "214"},
		{"not semver", "/api/packages/acme/npm/@acme%2fx", body("@acme/x", "1.0", good), h, 400, "semantic version"},
		{"no attachment", "/api/packages/acme/npm/@acme%2fx", noAttachment, h, 404, ""},
		{"two attachments", "/api/packages/acme/npm/@acme%2fx", multi, h, 400, "more than one"},
		{"base64 garbage", "/api/packages/acme/npm/@acme%2fx", garbage, h, 400, "base64"},
		{"integrity mismatch", "/api/packages/acme/npm/@acme%2fx", tampered, h, 400, "integrity mismatch"},
		{"not gzip", "/api/packages/acme/npm/@acme%2fx", body("@acme/x", "1.0.0", []byte("plain text")), h, 400, "gzip"},
		{"package.json disagrees", "/api/packages/acme/npm/@acme%2fx", body("@acme/x", "1.0.0", npmTarball(pkgJSON("@acme/y", "1.0.0"))), h, 400, "package.json"},
		{"name mismatch", "/api/packages/acme/npm/@acme%2fz", body("@acme/x", "1.0.0", good), h, 400, "names"},
		{"over the size limit", "/api/packages/acme/npm/@acme%2fx", body("@acme/x", "1.0.0", big), h, 413, "limit of 4096"},
		{"truncated JSON", "/api/packages/acme/npm/@acme%2fx", `{"name":"@acme/x","versions":{`, h, 400, "JSON"},
		{"anonymous", "/api/packages/acme/npm/@acme%2fx", body("@acme/x", "1.0.0", good), nil, 401, "sign in"},
		{"no write", "/api/packages/acme/npm/@acme%2fx", body("@acme/x", "1.0.0", good), basic("bob", "bob-password"), 403, "may not publish"},
		{"instance, unscoped", "/api/packages/-/npm/plain", body("plain", "1.0.0", npmTarball(pkgJSON("plain", "1.0.0"))), h, 400, "serves only @owner/name"},
		{"instance, scope case differs", "/api/packages/-/npm/@acmecorp%2fx", body("@acmecorp/x", "1.0.0", npmTarball(pkgJSON("@acmecorp/x", "1.0.0"))), h, 400, "case matters"},
		{"instance, unknown scope", "/api/packages/-/npm/@nobody%2fx", body("@nobody/x", "1.0.0", npmTarball(pkgJSON("@nobody/x", "1.0.0"))), h, 400, "names no owner"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, got := s.do(t, "PUT", c.path, c.body, c.header)
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(got), &e); err != nil || e.Error == "" {
				t.Fatalf("not npm's error shape: %q", got)
			}
			if status != c.status || !strings.Contains(got, c.msg) {
				t.Fatalf("%d %s, want %d containing %q", status, got, c.status, c.msg)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") != "" {
				t.Fatal("a 401 for npm must not carry WWW-Authenticate")
			}
		})
	}
	pkgs, _, err := acme.ListPackages("acme", gitea.ListPackagesOptions{})
	if err != nil || len(pkgs) != 0 {
		t.Fatalf("bad publishes stored something: %+v, %v", pkgs, err)
	}
	// The owner-level endpoint accepts the scope that differs in case from
	// the owner's name.
	if status, _, got := s.do(t, "PUT", "/api/packages/AcmeCorp/npm/@acmecorp%2fx", body("@acmecorp/x", "1.0.0", npmTarball(pkgJSON("@acmecorp/x", "1.0.0"))), h); status != 201 {
		t.Fatalf("owner level: %d %s", status, got)
	}
	if status, _, _ := s.do(t, "GET", "/api/packages/-/npm/@acmecorp%2fx", "", h); status != 404 {
		t.Fatalf("instance level must not serve @acmecorp/x for owner AcmeCorp: %d", status)
	}
	// Republishing a version: npm's wording.
	status, _, got := s.do(t, "PUT", "/api/packages/AcmeCorp/npm/@acmecorp%2fx", body("@acmecorp/x", "1.0.0", npmTarball(pkgJSON("@acmecorp/x", "1.0.0"))), h)
	if status != http.StatusForbidden || !strings.Contains(got, "You cannot publish over the previously published versions: 1.0.0.") {
		t.Fatalf("republish: %d %s", status, got)
	}
}

// TestNpmPrereleaseKeepsLatest: clients that publish a prerelease with the
// default tag (yarn, pnpm, older npm send "latest") do not move latest off
// a release; unpublishing the version latest names re-points it to the
// highest remaining release.
func TestNpmPrereleaseKeepsLatest(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	put := func(version string) {
		t.Helper()
		name := "@acme/pre"
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/@acme%2fpre", npmPublishBody(name, version, nil, npmTarball(pkgJSON(name, version))), h); status != 201 {
			t.Fatalf("publish %s: %d %s", version, status, body)
		}
	}
	tags := func() map[string]string {
		t.Helper()
		_, _, body := s.do(t, "GET", "/api/packages/acme/npm/-/package/@acme%2fpre/dist-tags", "", h)
		m := map[string]string{}
		json.Unmarshal([]byte(body), &m)
		return m
	}
	put("2.0.0-rc.1")
	if tags()["latest"] != "2.0.0-rc.1" {
		t.Fatalf("the only version must be latest: %v", tags())
	}
	put("1.0.0")
	put("1.5.0")
	put("3.0.0-beta.1")
	if got := tags()["latest"]; got != "1.5.0" {
		t.Fatalf("latest = %s, want 1.5.0 (a prerelease must not take it)", got)
	}
	// Unpublish 1.5.0 (latest) the way npm does: PUT the document without it.
	_, _, doc := s.do(t, "GET", "/api/packages/acme/npm/@acme%2fpre?write=true", "", h)
	var d map[string]any
	json.Unmarshal([]byte(doc), &d)
	delete(d["versions"].(map[string]any), "1.5.0")
	b, _ := json.Marshal(d)
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/@acme%2fpre/-rev/"+d["_rev"].(string), string(b), h); status != 200 {
		t.Fatalf("unpublish: %d %s", status, body)
	}
	if got := tags()["latest"]; got != "1.0.0" {
		t.Fatalf("after unpublishing latest: latest = %s, want 1.0.0", got)
	}
	_, hdr, full := s.do(t, "GET", "/api/packages/acme/npm/@acme%2fpre", "", nil)
	if i, j := strings.Index(full, `"1.0.0":{`), strings.Index(full, `"2.0.0-rc.1":{`); i < 0 || j < 0 || i > j {
		t.Fatalf("versions must be in semver order:\n%s", full)
	}
	if hdr.Get("Cache-Control") != "no-cache" || hdr.Get("ETag") == "" {
		t.Fatalf("packument headers: %v", hdr)
	}
	if status, _, _ := s.do(t, "GET", "/api/packages/acme/npm/@acme%2fpre", "", map[string]string{"If-None-Match": hdr.Get("ETag")}); status != 304 {
		t.Fatalf("If-None-Match: %d", status)
	}
	// Tarballs at npmjs's layout (scoped name escaped or not) and at
	// Gitea's /{name}/-/{version}/{file}.
	for _, path := range []string{"/api/packages/acme/npm/@acme%2fpre/-/pre-1.0.0.tgz", "/api/packages/acme/npm/@acme/pre/-/pre-1.0.0.tgz",
		"/api/packages/acme/npm/@acme%2Fpre/-/1.0.0/pre-1.0.0.tgz", "/api/packages/-/npm/@acme/pre/-/pre-1.0.0.tgz"} {
		if status, _, body := s.do(t, "GET", path, "", nil); status != 200 || !strings.HasPrefix(body, "\x1f\x8b") {
			t.Errorf("GET %s: %d", path, status)
		}
	}
	_, chdr, corgi := s.do(t, "GET", "/api/packages/acme/npm/@acme/pre", "", map[string]string{"Accept": "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"})
	if chdr.Get("Content-Type") != "application/vnd.npm.install-v1+json" || strings.Contains(corgi, `"readme"`) || !strings.Contains(corgi, `"modified"`) {
		t.Fatalf("abbreviated document: %v\n%s", chdr, corgi)
	}
}

// TestNpmUnpublishRules: [packages.npm] ALLOW_UNPUBLISH and the window.
func TestNpmUnpublishRules(t *testing.T) {
	publishOne := func(s *server, name string) {
		t.Helper()
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/"+name, npmPublishBody(name, "1.0.0", nil, npmTarball(pkgJSON(name, "1.0.0"))), basic("acme", "acme-password")); status != 201 {
			t.Fatalf("publish: %d %s", status, body)
		}
	}
	// The revision of the package document, as npm reads it before an
	// unpublish.
	rev := func(s *server, name string) string {
		t.Helper()
		status, _, body := s.do(t, "GET", "/api/packages/acme/npm/"+name+"?write=true", "", basic("acme", "acme-password"))
		var doc struct {
			Rev string `json:"_rev"`
		}
		if err := json.Unmarshal([]byte(body), &doc); status != 200 || err != nil || doc.Rev == "" {
			t.Fatalf("GET %s: %d %v %s", name, status, err, body)
		}
		return doc.Rev
	}
	off := newServer(t, func(c *setting.Config) { c.Packages.Npm.AllowUnpublish = false })
	off.createUser(t, "acme")
	publishOne(off, "kept")
	status, _, body := off.do(t, "DELETE", "/api/packages/acme/npm/kept/-rev/"+rev(off, "kept"), "", basic("acme", "acme-password"))
	if status != 403 || !strings.Contains(body, "deprecate") {
		t.Fatalf("unpublish while disabled: %d %s", status, body)
	}
	if status, _, _ := off.do(t, "GET", "/api/packages/acme/npm/kept", "", nil); status != 200 {
		t.Fatal("a refused unpublish removed the package")
	}
	// The window is measured from the publish; admins are not bound by it.
	var mu sync.Mutex
	clock := time.Unix(1_800_000_000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	win := newServerWithClock(t, now, func(c *setting.Config) { c.Packages.Npm.UnpublishWindow = time.Hour })
	win.createUser(t, "acme")
	publishOne(win, "young")
	publishOne(win, "old")
	if status, _, body := win.do(t, "DELETE", "/api/packages/acme/npm/young/-rev/"+rev(win, "young"), "", basic("acme", "acme-password")); status != 200 {
		t.Fatalf("unpublish inside the window: %d %s", status, body)
	}
	mu.Lock()
	clock = clock.Add(2 * time.Hour)
	mu.Unlock()
	oldRev := rev(win, "old")
	status, _, body = win.do(t, "DELETE", "/api/packages/acme/npm/old/-rev/"+oldRev, "", basic("acme", "acme-password"))
	if status != 403 || !strings.Contains(body, "no longer be unpublished") {
		t.Fatalf("unpublish after the window: %d %s", status, body)
	}
	if status, _, body := win.do(t, "DELETE", "/api/packages/acme/npm/old/-rev/"+oldRev, "", tokenHeader(win.AdminToken)); status != 200 {
		t.Fatalf("an admin after the window: %d %s", status, body)
	}
}

// TestNpmInstanceSearchVisibility: the instance-level search shows a
// private owner's packages only to those who may see the owner.
func TestNpmInstanceSearchVisibility(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "hidden", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	name := "@hidden/tool"
	if status, _, body := s.do(t, "PUT", "/api/packages/hidden/npm/@hidden%2ftool", npmPublishBody(name, "1.0.0", nil, npmTarball(pkgJSON(name, "1.0.0"))), basic("alice", "alice-password")); status != 201 {
		t.Fatalf("publish: %d %s", status, body)
	}
	for _, c := range []struct {
		who    map[string]string
		listed bool
	}{{nil, false}, {basic("bob", "bob-password"), false}, {basic("alice", "alice-password"), true}, {tokenHeader(s.AdminToken), true}} {
		status, _, body := s.do(t, "GET", "/api/packages/-/npm/-/v1/search?text=tool", "", c.who)
		if status != 200 || strings.Contains(body, "@hidden/tool") != c.listed {
			t.Errorf("search as %v: %d %s (want listed=%v)", c.who, status, body, c.listed)
		}
	}
}
