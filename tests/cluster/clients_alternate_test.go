//go:build cluster

package cluster

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClusterClients drives the real clients against both processes
// alternately, through the balancer that ROOT_URL names: what one process
// wrote (a push, a publish, an upload, a registration and its archive
// job) the other serves to a client.
func TestClusterClients(t *testing.T) {
	c := newCluster(t, options{})
	a, b := c.Procs[0], c.Procs[1]
	createUser(t, a, "alice")
	writeTok := token(t, b, "alice", "write", "write:package", "write:repository")

	t.Run("git push to A, clone from B", func(t *testing.T) {
		g := gitClient(t)
		h := basic("alice", "alice-password")
		h["Content-Type"] = "application/json"
		if status, _, body := do(t, "POST", a.URL+"/api/v1/user/repos", strings.NewReader(`{"name":"lib"}`), h); status != http.StatusCreated {
			t.Fatalf("create repository on A: %d %s", status, body)
		}
		work := t.TempDir()
		src := filepath.Join(work, "src")
		g.must(work, "init", "-q", "-b", "main", "src")
		writeFiles(t, src, map[string]string{"README.md": "# lib\n"})
		g.must(src, "add", ".")
		g.must(src, "commit", "-qm", "first")
		remote := authURL(c.LB.URL, "alice", writeTok, "alice/lib.git")
		c.via(t, a, func() { g.must(src, "push", "-q", remote, "main") })
		var cloned string
		c.via(t, b, func() { cloned = g.must(work, "clone", "-q", remote, "copy") })
		if head, want := strings.TrimSpace(g.must(filepath.Join(work, "copy"), "rev-parse", "HEAD")), strings.TrimSpace(g.must(src, "rev-parse", "HEAD")); head != want {
			t.Fatalf("B's clone is at %s, A was pushed %s (%s)", head, want, cloned)
		}
		// And the other way round: a push to B is fetched from A.
		writeFiles(t, src, map[string]string{"b.txt": "b\n"})
		g.must(src, "add", ".")
		g.must(src, "commit", "-qm", "second")
		c.via(t, b, func() { g.must(src, "push", "-q", remote, "main") })
		copyDir := filepath.Join(work, "copy")
		c.via(t, a, func() { g.must(copyDir, "pull", "-q", remote, "main") })
		if got := readFile(t, filepath.Join(copyDir, "b.txt")); got != "b\n" {
			t.Fatalf("pulled from A: b.txt = %q", got)
		}
	})

	t.Run("npm publish via A, install via B", func(t *testing.T) {
		npm := npmClient(t)
		registry := c.LB.URL + "/api/packages/alice/npm/"
		work := t.TempDir()
		lib := filepath.Join(work, "lib")
		writeFiles(t, lib, map[string]string{
			"package.json": `{"name":"@alice/greet","version":"1.0.0","main":"index.js"}`,
			"index.js":     `module.exports = () => "hello from the cluster";` + "\n",
			".npmrc":       npmrc(registry, writeTok),
		})
		c.via(t, a, func() { npm.must(lib, "publish") })
		app := filepath.Join(work, "app")
		writeFiles(t, app, map[string]string{
			"package.json": `{"name":"app","version":"0.0.0","private":true,"dependencies":{"@alice/greet":"^1.0.0"}}`,
			".npmrc":       npmrc(registry, writeTok),
		})
		c.via(t, b, func() { npm.must(app, "install", "--no-audit") })
		node := client{t: t, bin: requireClient(t, "node"), env: npm.env}
		if out := strings.TrimSpace(node.must(app, "-e", `process.stdout.write(require("@alice/greet")())`)); out != "hello from the cluster" {
			t.Fatalf("installed code says %q", out)
		}
		// A second version published via B is what A resolves.
		writeFiles(t, lib, map[string]string{"package.json": `{"name":"@alice/greet","version":"1.1.0","main":"index.js"}`})
		c.via(t, b, func() { npm.must(lib, "publish") })
		c.via(t, a, func() { npm.must(app, "install", "--no-audit", "@alice/greet@^1.1.0") })
		if v := readFile(t, filepath.Join(app, "node_modules", "@alice", "greet", "package.json")); !strings.Contains(v, `"1.1.0"`) {
			t.Fatalf("installed via A: %s", v)
		}
	})

	t.Run("composer upload via A, register via B, install via A and B", func(t *testing.T) {
		home := t.TempDir()
		composer, php := composerClient(t, "composer", home), composerClient(t, "php", home)
		g := gitClient(t)
		zipped := composerZip(map[string]string{
			"composer.json": `{"name":"alice/util","autoload":{"psr-4":{"Alice\\Util\\":"src/"}}}`,
			"src/Shout.php": "<?php\nnamespace Alice\\Util;\nclass Shout { public static function it(string $s): string { return strtoupper($s); } }\n",
		})
		h := basic("alice", writeTok)
		var status int
		var body string
		c.via(t, a, func() {
			status, _, body = do(t, "PUT", c.LB.URL+"/api/packages/alice/composer?version=1.0.0", bytes.NewReader(zipped), h)
		})
		if status != http.StatusCreated {
			t.Fatalf("upload via A: %d %s", status, body)
		}
		// A library from git: pushed to A, registered via B (its archive is
		// built by a job, on either process, or by the first download).
		hj := basic("alice", "alice-password")
		hj["Content-Type"] = "application/json"
		if status, _, body := do(t, "POST", b.URL+"/api/v1/user/repos", strings.NewReader(`{"name":"hello"}`), hj); status != http.StatusCreated {
			t.Fatalf("create repository on B: %d %s", status, body)
		}
		work := t.TempDir()
		src := filepath.Join(work, "hello")
		g.must(work, "init", "-q", "-b", "main", "hello")
		writeFiles(t, src, map[string]string{
			"composer.json":   `{"name":"alice/hello","require":{"alice/util":"^1.0"},"autoload":{"psr-4":{"Alice\\Hello\\":"src/"}}}`,
			"src/Greeter.php": "<?php\nnamespace Alice\\Hello;\nclass Greeter { public static function hi(): string { return \\Alice\\Util\\Shout::it('hello cluster'); } }\n",
		})
		g.must(src, "add", ".")
		g.must(src, "commit", "-qm", "hello 1.0")
		g.must(src, "tag", "v1.0.0")
		c.via(t, a, func() {
			g.must(src, "push", "-q", authURL(c.LB.URL, "alice", writeTok, "alice/hello.git"), "main", "--tags")
		})
		hr := basic("alice", writeTok)
		hr["Content-Type"] = "application/json"
		c.via(t, b, func() {
			status, _, body = do(t, "POST", c.LB.URL+"/api/packages/alice/composer", strings.NewReader(`{"repository":"hello","tag":"v1.0.0"}`), hr)
		})
		if status != http.StatusCreated && status != http.StatusOK {
			t.Fatalf("register via B: %d %s", status, body)
		}
		project := filepath.Join(home, "app")
		host := strings.TrimPrefix(c.LB.URL, "http://")
		writeFiles(t, project, map[string]string{
			"composer.json": fmt.Sprintf(`{"name":"me/app","require":{"alice/hello":"^1.0"},
				"repositories":[{"type":"composer","url":"%s/api/packages/alice/composer"},{"packagist.org":false}],
				"config":{"secure-http":false}}`, c.LB.URL),
			"auth.json": fmt.Sprintf(`{"http-basic":{%q:{"username":"alice","password":%q}}}`, host, writeTok),
		})
		check := func() {
			t.Helper()
			if out := php.must(project, "-r", `require "vendor/autoload.php"; echo Alice\Hello\Greeter::hi();`); out != "HELLO CLUSTER" {
				t.Fatalf("installed code says %q", out)
			}
		}
		c.via(t, a, func() { composer.must(project, "install", "--no-progress") })
		check()
		// A fresh install from the lock file alone, every file from B.
		for _, d := range []string{filepath.Join(project, "vendor"), filepath.Join(home, ".cache")} {
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
		}
		c.via(t, b, func() { composer.must(project, "install", "--no-progress") })
		check()
	})

	t.Run("cargo publish via A, build via B", func(t *testing.T) {
		index := "sparse+" + c.LB.URL + "/api/packages/alice/cargo/"
		cargo := cargoClient(t, index, writeTok)
		work := t.TempDir()
		crate := filepath.Join(work, "acorn")
		writeFiles(t, crate, map[string]string{
			"Cargo.toml": "[package]\nname = \"acorn\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"cluster crate\"\nlicense = \"MIT\"\n",
			"src/lib.rs": "pub fn answer() -> u32 { 42 }\n",
		})
		c.via(t, a, func() { cargo.must(crate, "publish", "--registry", "wharf", "--no-verify", "--allow-dirty") })
		app := filepath.Join(work, "app")
		writeFiles(t, app, map[string]string{
			"Cargo.toml":  "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nacorn = { version = \"0.1\", registry = \"wharf\" }\n",
			"src/main.rs": "fn main() { println!(\"answer {}\", acorn::answer()); }\n",
		})
		var out string
		c.via(t, b, func() { out = cargo.must(app, "run", "-q") })
		if !strings.Contains(out, "answer 42") {
			t.Fatalf("the app built via B says %q", out)
		}
		// A second version published via B, resolved via A.
		writeFiles(t, crate, map[string]string{
			"Cargo.toml": "[package]\nname = \"acorn\"\nversion = \"0.1.1\"\nedition = \"2021\"\ndescription = \"cluster crate\"\nlicense = \"MIT\"\n",
			"src/lib.rs": "pub fn answer() -> u32 { 43 }\n",
		})
		c.via(t, b, func() { cargo.must(crate, "publish", "--registry", "wharf", "--no-verify", "--allow-dirty") })
		c.via(t, a, func() { cargo.must(app, "update", "-q") })
		c.via(t, a, func() { out = cargo.must(app, "run", "-q") })
		if !strings.Contains(out, "answer 43") {
			t.Fatalf("the app updated via A says %q", out)
		}
	})

	t.Run("gem push and bundle install alternately", func(t *testing.T) {
		home := t.TempDir()
		gem := gemClient(t, "gem", home)
		source := c.LB.URL + "/api/packages/alice/rubygems/"
		host := strings.TrimSuffix(source, "/")
		build := t.TempDir()
		for _, v := range []string{"1.0.0", "1.1.0"} {
			dir := filepath.Join(build, v)
			writeFiles(t, dir, map[string]string{
				"lib/cl-gem.rb": "module ClGem; VERSION = \"" + v + "\"; end\n",
				"cl-gem.gemspec": "Gem::Specification.new do |s|\n  s.name = \"cl-gem\"\n  s.version = \"" + v + "\"\n" +
					"  s.summary = \"cluster gem\"\n  s.authors = [\"Wharf Tests\"]\n  s.license = \"MIT\"\n  s.files = [\"lib/cl-gem.rb\"]\nend\n",
			})
			gem.with("SOURCE_DATE_EPOCH=1704153600").must(dir, "build", "cl-gem.gemspec")
		}
		push := gem.with("GEM_HOST_API_KEY=" + writeTok)
		c.via(t, a, func() { push.must(filepath.Join(build, "1.0.0"), "push", "cl-gem-1.0.0.gem", "--host", host) })
		app := t.TempDir()
		writeFiles(t, app, map[string]string{"Gemfile": "source \"" + source + "\"\ngem \"cl-gem\"\n"})
		bundle := gemClient(t, "bundle", home).with("BUNDLE_PATH="+filepath.Join(app, "vendor"), "BUNDLE_GEMFILE="+filepath.Join(app, "Gemfile"))
		c.via(t, b, func() { bundle.must(app, "install") })
		if lock := readFile(t, filepath.Join(app, "Gemfile.lock")); !strings.Contains(lock, "cl-gem (1.0.0)") {
			t.Fatalf("bundle install via B locked:\n%s", lock)
		}
		c.via(t, b, func() { push.must(filepath.Join(build, "1.1.0"), "push", "cl-gem-1.1.0.gem", "--host", host) })
		c.via(t, a, func() { bundle.must(app, "update", "cl-gem") })
		if lock := readFile(t, filepath.Join(app, "Gemfile.lock")); !strings.Contains(lock, "cl-gem (1.1.0)") {
			t.Fatalf("bundle update via A locked:\n%s", lock)
		}
	})
}

// composerZip is a zip archive of files.
func composerZip(files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(content))
	}
	_ = zw.Close()
	return buf.Bytes()
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
