package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"wharf/modules/packages/cargo/cargotest"
)

// TestReview11CargoIndexLinesRealCargo publishes, with the real cargo,
// crates with the dependency shapes crates.io sees (target-specific,
// dev and build dependencies, a crates.io dependency, a dependency of
// another alternative registry, links, a pre-release and a version with
// build metadata, a mixed-case name) and checks that another cargo resolves
// and builds through the sparse index.
func TestReview11CargoIndexLinesRealCargo(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	wharf := "sparse+" + s.URL + "/api/packages/alice/cargo/"
	other := "sparse+" + s.URL + "/api/packages/bob/cargo/"
	pub := newCargo(t, []cargoRegistry{
		{name: "wharf", index: wharf, token: packageToken(t, s, "alice", "cargo", "write:package")},
		{name: "other", index: other, token: packageToken(t, s, "bob", "cargo", "write:package")},
	}, "")
	work := t.TempDir()
	lib := func(name, version, extra, body string) string {
		return writeCrate(t, work, name+"-"+version, map[string]string{
			"Cargo.toml": "[package]\nname = \"" + name + "\"\nversion = \"" + version + "\"\nedition = \"2021\"\ndescription = \"d\"\nlicense = \"MIT\"\n" + extra,
			"src/lib.rs": body,
		})
	}
	// plain: on "crates.io" (the registry that stands in for it).
	pub.must(lib("plain", "1.0.0", "", "pub fn p() -> u32 { 1 }\n"), "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	// remote: on the other registry.
	pub.must(lib("remote", "1.0.0", "", "pub fn r() -> u32 { 2 }\n"), "publish", "--registry", "other", "--no-verify", "--allow-dirty")
	// native: links, with a build script.
	nat := lib("native", "0.3.0", "links = \"nativelib\"\nbuild = \"build.rs\"\n", "pub fn n() -> u32 { 3 }\n")
	writeCrate(t, nat, "", map[string]string{"build.rs": "fn main() { println!(\"cargo:rustc-env=NATIVE=1\"); }\n"})
	pub.must(nat, "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	// MixedCase, a pre-release and a version with build metadata.
	pub.must(lib("MixedCase", "2.0.0-beta.1", "", "pub fn m() -> u32 { 4 }\n"), "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	pub.must(lib("meta", "1.2.3+build.7", "", "pub fn b() -> u32 { 5 }\n"), "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	// multi: every dependency shape.
	multi := lib("multi", "0.1.0", `
[dependencies]
plain = "1"
remote = { version = "1", registry = "other" }
native = { version = "0.3", registry = "wharf" }
mc = { package = "MixedCase", version = "2.0.0-beta.1", registry = "wharf" }
meta = { version = "1.2", registry = "wharf" }

[target.'cfg(unix)'.dependencies]
unixonly = { package = "plain", version = "1", registry = "wharf" }

[target.'cfg(windows)'.dependencies]
winonly = { package = "remote", version = "1", registry = "other", optional = true }

[build-dependencies]
plain = "1"

[dev-dependencies]
native = { version = "0.3", registry = "wharf", default-features = false }

[features]
win = ["dep:winonly"]
`, "pub fn all() -> u32 { plain::p() + remote::r() + native::n() + mc::m() + meta::b() + unixonly::p() }\n")
	pub.must(multi, "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")

	lines := indexLines(t, s, "alice", "mu/lt/multi", nil)
	b, _ := json.Marshal(lines[0]["deps"])
	t.Logf("multi deps: %s", b)
	for _, l := range indexLines(t, s, "alice", "na/ti/native", nil) {
		if l["links"] != "nativelib" {
			t.Errorf("native: links %v", l["links"])
		}
	}
	var remoteDep map[string]any
	for _, d := range lines[0]["deps"].([]any) {
		d := d.(map[string]any)
		if d["name"] == "remote" {
			remoteDep = d
		}
		if d["name"] == "plain" && d["kind"] == "normal" && d["registry"] != "https://github.com/rust-lang/crates.io-index" {
			t.Errorf("plain from crates.io: registry %v", d["registry"])
		}
	}
	if remoteDep == nil || remoteDep["registry"] != other {
		t.Errorf("remote: %v, want registry %q", remoteDep, other)
	}

	use := newCargo(t, []cargoRegistry{{name: "wharf", index: wharf}, {name: "other", index: other}}, "")
	app := writeCrate(t, work, "app", map[string]string{
		"Cargo.toml":  "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nmulti = { version = \"0.1\", registry = \"wharf\" }\n",
		"src/main.rs": "fn main() { println!(\"all = {}\", multi::all()); }\n",
	})
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "all = 16") {
		t.Fatalf("app:\n%s", out)
	}
}

// TestReview11CargoUnreadableLinesAccepted: lines the registry accepted
// (TestReview11CargoFeatureAndReqValidation) that the real cargo then
// cannot use: the publish answered 200, but a dependent cannot resolve.
// Such publishes are now refused with 400; one that is published must
// resolve in cargo.
func TestReview11CargoUnreadableLinesAccepted(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	h := cargoAuth(packageToken(t, s, "alice", "cargo", "write:package"))
	publish := "/api/packages/alice/cargo/api/v1/crates/new"
	var published []string
	mk := func(crate string, mutate func(m map[string]any)) {
		var m map[string]any
		if err := json.Unmarshal(cargotest.Metadata(crate, "1.0.0"), &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		meta, _ := json.Marshal(m)
		status, hdr, body := s.do(t, "PUT", publish, string(cargotest.Body(meta, cargotest.GoodCrate(crate, "1.0.0"))), h)
		if status == 200 {
			published = append(published, crate)
			return
		}
		// Refused: what the fix does (400 naming what is wrong).
		wantCargoError(t, crate, status, hdr, body, http.StatusBadRequest, "")
	}
	mk("badreq", func(m map[string]any) {
		m["deps"] = []any{map[string]any{"name": "plain", "version_req": "banana!", "features": []any{}, "optional": false, "default_features": true, "target": nil, "kind": "normal"}}
	})
	mk("badfeat", func(m map[string]any) { m["features"] = map[string]any{"a/b": []any{}} })
	index := "sparse+" + s.URL + "/api/packages/alice/cargo/"
	use := newCargo(t, []cargoRegistry{{name: "wharf", index: index}}, "")
	for _, crate := range published {
		app := writeCrate(t, t.TempDir(), "app", map[string]string{
			"Cargo.toml":  "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n" + crate + " = { version = \"1\", registry = \"wharf\" }\n",
			"src/main.rs": "fn main() {}\n",
		})
		if out, err := use.run(app, "generate-lockfile"); err != nil {
			t.Errorf("%s was published (200) but cargo cannot use it:\n%s", crate, out)
		}
	}
}
