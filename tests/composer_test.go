package tests

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
)

func composerZip(top string, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, _ := zw.Create(top + name)
		w.Write([]byte(content))
	}
	zw.Close()
	return buf.Bytes()
}

// TestComposerUploadAndInstall uploads archives the Gitea way and installs
// them with the real composer: dependencies resolve and autoload works.
func TestComposerUploadAndInstall(t *testing.T) {
	requireClient(t, "composer")
	requireClient(t, "php")
	var mu sync.Mutex
	clock := time.Now()
	s := newServerWithClock(t, func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	s.createUser(t, "acme")
	acme := s.client(t, gitea.SetBasicAuth("acme", "acme-password"))
	tok, _, err := acme.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "composer", Scopes: []gitea.AccessTokenScope{"write:package"}})
	if err != nil {
		t.Fatal(err)
	}
	h := basic("acme", tok.Token)
	upload := func(version string, z []byte) (int, string) {
		status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version="+version, string(z), h)
		return status, body
	}
	util := composerZip("", map[string]string{
		"composer.json": `{"name":"acme/util","type":"library","autoload":{"psr-4":{"Acme\\Util\\":"src/"}}}`,
		"src/Shout.php": "<?php\nnamespace Acme\\Util;\nclass Shout { public static function it(string $s): string { return strtoupper($s); } }\n",
	})
	// The second archive has a top directory, as GitHub-style zips do.
	hello := func(v string) []byte {
		return composerZip("hello-"+v+"/", map[string]string{
			"composer.json":   `{"name":"acme/hello","description":"says hello","require":{"acme/util":"^1.0"},"autoload":{"psr-4":{"Acme\\Hello\\":"src/"}}}`,
			"src/Greeter.php": "<?php\nnamespace Acme\\Hello;\nclass Greeter { public function hi(): string { return \\Acme\\Util\\Shout::it('hello " + v + "'); } }\n",
		})
	}
	for _, u := range []struct {
		version string
		zip     []byte
	}{{"1.0.0", util}, {"1.0.0", hello("1.0.0")}, {"v1.1.0", hello("1.1.0")}, {"2.0.0-beta.1", hello("2.0.0-beta.1")}} {
		if status, body := upload(u.version, u.zip); status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", u.version, status, body)
		}
	}
	if status, body := upload("1.0.0", util); status != http.StatusConflict || !strings.Contains(body, `"errors"`) {
		t.Fatalf("re-upload: %d %s", status, body)
	}

	// Metadata as composer reads it.
	status, hdr, body := s.do(t, "GET", "/api/packages/acme/composer/p2/acme/hello.json", "", h)
	var doc struct {
		Packages map[string][]map[string]any `json:"packages"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || status != 200 || len(doc.Packages["acme/hello"]) != 3 {
		t.Fatalf("p2: %d %s", status, body)
	}
	versions := map[string]string{}
	for _, v := range doc.Packages["acme/hello"] {
		versions[v["version"].(string)] = v["version_normalized"].(string)
		if v["autoload"] == nil || v["require"] == nil {
			t.Fatalf("version object lacks composer.json keys: %v", v)
		}
	}
	if versions["v1.1.0"] != "1.1.0.0" || versions["2.0.0-beta.1"] != "2.0.0.0-beta1" {
		t.Fatalf("version_normalized: %v", versions)
	}
	if status, _, _ := s.do(t, "GET", "/api/packages/acme/composer/p2/acme/hello.json", "", map[string]string{"Authorization": h["Authorization"], "If-Modified-Since": hdr.Get("Last-Modified")}); status != 200 {
		t.Fatalf("a document changed this very second must be sent in full: %d", status)
	}
	mu.Lock()
	clock = clock.Add(10 * time.Second)
	mu.Unlock()
	for _, doc := range []string{"p2/acme/hello.json", "packages.json"} {
		_, hdr, _ := s.do(t, "GET", "/api/packages/acme/composer/"+doc, "", h)
		if status, _, body := s.do(t, "GET", "/api/packages/acme/composer/"+doc, "", map[string]string{"Authorization": h["Authorization"], "If-Modified-Since": hdr.Get("Last-Modified")}); status != 304 || body != "" {
			t.Fatalf("%s If-Modified-Since: %d %q", doc, status, body)
		}
	}
	if status, _, _ := s.do(t, "GET", "/api/packages/acme/composer/p2/acme/nope.json", "", h); status != 404 {
		t.Fatalf("unknown package: %d", status)
	}
	if status, _, _ := s.do(t, "GET", "/api/packages/acme/composer/p2/acme/hello~dev.json", "", h); status != 404 {
		t.Fatalf("no dev versions: %d", status)
	}

	// The real composer installs from it.
	home := t.TempDir()
	project := filepath.Join(home, "app")
	os.MkdirAll(project, 0o755)
	host := strings.TrimPrefix(s.URL, "http://")
	composerJSON := fmt.Sprintf(`{"name":"me/app","require":{"acme/hello":"^1.0"},
		"repositories":[{"type":"composer","url":"%s/api/packages/acme/composer"},{"packagist.org":false}],
		"config":{"secure-http":false}}`, s.URL)
	os.WriteFile(filepath.Join(project, "composer.json"), []byte(composerJSON), 0o644)
	auth := fmt.Sprintf(`{"http-basic":{%q:{"username":"acme","password":%q}}}`, host, tok.Token)
	os.WriteFile(filepath.Join(project, "auth.json"), []byte(auth), 0o644)
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), name, args...)
		cmd.Dir = project
		cmd.Env = append(os.Environ(), "COMPOSER_HOME="+filepath.Join(home, ".composer"), "COMPOSER_CACHE_DIR="+filepath.Join(home, ".cache"),
			"COMPOSER_NO_INTERACTION=1", "COMPOSER_ALLOW_SUPERUSER=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("composer", "install", "--no-progress")
	if out := run("php", "-r", `require "vendor/autoload.php"; echo (new Acme\Hello\Greeter)->hi();`); out != "HELLO 1.1.0" {
		t.Fatalf("installed code says %q, want the highest stable version", out)
	}
	lock, _ := os.ReadFile(filepath.Join(project, "composer.lock"))
	if !strings.Contains(string(lock), s.URL+"/api/packages/acme/composer/files/acme/hello/v1.1.0/") {
		t.Fatalf("composer.lock does not point at the server:\n%s", lock)
	}
	// A fresh install from the lock file alone.
	os.RemoveAll(filepath.Join(project, "vendor"))
	os.RemoveAll(filepath.Join(home, ".cache"))
	run("composer", "install", "--no-progress")
	if out := run("composer", "search", "hello"); !strings.Contains(out, "acme/hello") {
		t.Fatalf("composer search: %s", out)
	}
}

// TestComposerBadUploads: each mistake is a 4xx in Gitea's shape, nothing
// stored.
func TestComposerBadUploads(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	s.createUser(t, "bob")
	h := basic("acme", "acme-password")
	good := composerZip("", map[string]string{"composer.json": `{"name":"acme/x"}`})
	for _, c := range []struct {
		name, query string
		body        []byte
		header      map[string]string
		status      int
		msg         string
	}{
		{"no version", "", good, h, 400, "version is missing"},
		{"bad version", "?version=1.0.0-foo", good, h, 400, "invalid version"},
		{"empty", "?version=1.0.0", nil, h, 400, "empty"},
		{"not an archive", "?version=1.0.0", []byte("hello"), h, 400, "zip, tar.gz or tar.bz2"},
		{"no composer.json", "?version=1.0.0", composerZip("", map[string]string{"README": "x"}), h, 400, "composer.json is missing"},
		{"bad name", "?version=1.0.0", composerZip("", map[string]string{"composer.json": `{"name":"Acme/X"}`}), h, 400, "invalid package name"},
		{"anonymous", "?version=1.0.0", good, nil, 401, "sign in"},
		{"no write", "?version=1.0.0", good, basic("bob", "bob-password"), 403, "may not publish"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := s.do(t, "PUT", "/api/packages/acme/composer"+c.query, string(c.body), c.header)
			if status != c.status || !strings.Contains(body, c.msg) || !strings.Contains(body, `"errors"`) {
				t.Fatalf("%d %s, want %d with %q", status, body, c.status, c.msg)
			}
		})
	}
	_, _, body := s.do(t, "GET", "/api/packages/acme/composer/packages.json", "", h)
	if !strings.Contains(body, `"available-packages":[]`) {
		t.Fatalf("bad uploads stored something: %s", body)
	}
}
