package tests

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
)

// publishManifest publishes one version over HTTP with the manifest npm
// would send (name, version, description, main, dependencies): the
// manifest as stored holds "name" and "version", which the documents also
// set, so every version object of the packument is a merge.
func publishManifest(t *testing.T, s *server, token, name, version, tag string, deps map[string]string) {
	t.Helper()
	pkg := map[string]any{"name": name, "version": version, "description": "the " + name, "main": "index.js", "license": "MIT"}
	if deps != nil {
		pkg["dependencies"] = deps
	}
	pj, _ := json.Marshal(pkg)
	tgz := npmTarball(map[string]string{"package/package.json": string(pj), "package/index.js": fmt.Sprintf("module.exports = %q;\n", name+"@"+version)})
	s1, s5 := sha1.Sum(tgz), sha512.Sum512(tgz)
	manifest := map[string]any{}
	for k, v := range pkg {
		manifest[k] = v
	}
	manifest["_id"] = name + "@" + version
	manifest["dist"] = map[string]string{"shasum": hex.EncodeToString(s1[:]), "integrity": "sha512-" + base64.StdEncoding.EncodeToString(s5[:])}
	doc := map[string]any{"_id": name, "name": name, "dist-tags": map[string]string{tag: version},
		"versions": map[string]any{version: manifest},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}}}
	body, _ := json.Marshal(doc)
	path := "/api/packages/acme/npm/" + strings.Replace(name, "/", "%2f", 1)
	if status, _, out := s.do(t, "PUT", path, string(body), tokenHeader(token)); status != 201 {
		t.Fatalf("publish %s@%s: %d %s", name, version, status, out)
	}
}

// TestNpmLatestClients: the current release of each client, with its
// default settings, installs packages with several versions. The full
// packument once carried "name" and "version" twice in every version
// object (the server's and the stored manifest's): npm 11 and yarn took
// the last, pnpm 12 refuses such a document ("duplicate field name"). It
// reads the full document (not the install document) because its release
// age gate needs the publication times; so do yarn 4's and npm's. The
// versions are published three days ago (the server's clock), so that
// the gates, on by default, let them through.
func TestNpmLatestClients(t *testing.T) {
	s := newServerWithClock(t, func() time.Time { return time.Now().Add(-72 * time.Hour) })
	s.createUser(t, "acme")
	acme := s.client(t, gitea.SetBasicAuth("acme", "acme-password"))
	tok, _, err := acme.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "npm", Scopes: []gitea.AccessTokenScope{"write:package"}})
	if err != nil {
		t.Fatal(err)
	}
	publishManifest(t, s, tok.Token, "@acme/leaf", "1.0.0", "latest", nil)
	publishManifest(t, s, tok.Token, "@acme/leaf", "1.0.1", "latest", nil)
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"} {
		publishManifest(t, s, tok.Token, "@acme/multi", v, "latest", map[string]string{"@acme/leaf": "^1.0.0"})
	}
	publishManifest(t, s, tok.Token, "@acme/multi", "3.0.0-beta.1", "beta", nil)
	owner := s.URL + "/api/packages/acme/npm/"
	instance := s.URL + "/api/packages/-/npm/"
	e := newJSEnv(t)
	e.ageGates = true

	for _, tool := range []string{"pnpm", "npm", "yarn"} {
		c := currentClient(t, tool)
		t.Run(tool+" latest installs a package with several versions", func(t *testing.T) {
			c.require(t)
			t.Logf("%s", c)
			e := e.with(t)
			for _, registry := range []string{owner, instance} {
				where := map[bool]string{true: "owner", false: "instance"}[registry == owner]
				app := e.project(c.String()+"-"+where, registry, tok.Token, map[string]any{"name": "app", "version": "1.0.0"}, map[string]string{})
				// The versions, as the client lists them from the full
				// document: with the old document pnpm 12 found none ("No
				// matching version found for @acme/multi@latest").
				view := []string{"view", "@acme/multi", "versions", "--json"}
				if c.berry() {
					e.berryProject(app, registry, tok.Token)
					view = []string{"npm", "info", "@acme/multi", "--fields", "versions", "--json"}
				}
				out := e.mustWith(app, c, view...)
				for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0", "3.0.0-beta.1"} {
					if !strings.Contains(out, `"`+v+`"`) {
						t.Fatalf("%s at %s: %s does not list %s:\n%s", c, where, strings.Join(view, " "), v, out)
					}
				}
				switch {
				case c.berry():
					e.mustWith(app, c, "add", "@acme/multi@^1.0.0")
				case tool == "pnpm":
					e.mustWith(app, c, "add", "@acme/multi@^1.0.0", "--store-dir", filepath.Join(e.home, ".pnpm-store-current"))
				default:
					e.mustWith(app, c, "install", "@acme/multi@^1.0.0")
				}
				checkInstalled(t, e, c, app, "1.2.0")
				pj, _ := os.ReadFile(filepath.Join(app, "package.json"))
				if !strings.Contains(string(pj), `"@acme/multi": "^1.`) {
					t.Fatalf("%s at %s: package.json:\n%s", c, where, pj)
				}
				if tool == "pnpm" {
					// Time-based resolution reads the full document too (the
					// publication times), and takes the lowest match.
					app := e.project(c.String()+"-"+where+"-time", registry, tok.Token, map[string]any{"name": "app", "version": "1.0.0"}, map[string]string{})
					e.mustWith(app, c, "add", "@acme/multi@^1.0.0", "--config.resolution-mode=time-based", "--store-dir", filepath.Join(e.home, ".pnpm-store-current"))
					checkInstalled(t, e, c, app, "1.0.0")
				}
			}
		})
	}
}

// checkInstalled runs what was installed in app: @acme/multi at version,
// and its dependency @acme/leaf at the highest 1.x.
func checkInstalled(t *testing.T, e *jsEnv, c *jsClient, app, version string) {
	t.Helper()
	// pnpm does not hoist @acme/leaf: it is found from @acme/multi.
	out := e.must(app, "node", "-e", `const m = require.resolve("@acme/multi");
console.log(require(m), require("@acme/multi/package.json").version, require(require.resolve("@acme/leaf", {paths: [m]})))`)
	if want := "@acme/multi@" + version + " " + version + " @acme/leaf@1.0.1"; !strings.Contains(out, want) {
		t.Fatalf("%s: installed %s, want %s", c, out, want)
	}
}
