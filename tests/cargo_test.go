package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	packages_model "wharf/models/packages"
)

// The crates of the end-to-end tests: acorn, and bramble, which depends
// on acorn under another name (nut), optionally, through a dep: feature;
// and a binary that depends on bramble.
func acornFiles(version, answer string) map[string]string {
	return map[string]string{
		"Cargo.toml": `[package]
name = "acorn"
version = "` + version + `"
edition = "2021"
description = "The first crate of the wharf cargo tests"
license = "MIT"

[features]
extra = []
`,
		"src/lib.rs": `pub fn answer() -> u32 { ` + answer + ` }
#[cfg(feature = "extra")]
pub fn extra() -> &'static str { "extra on" }
#[cfg(not(feature = "extra"))]
pub fn extra() -> &'static str { "extra off" }
`,
	}
}

func brambleFiles(version string) map[string]string {
	return map[string]string{
		"Cargo.toml": `[package]
name = "bramble"
version = "` + version + `"
edition = "2021"
description = "Bramble: a renamed dependency and dep: features"
license = "MIT"
rust-version = "1.70"

[dependencies]
nut = { package = "acorn", version = "0.1", registry = "wharf", optional = true }

[features]
default = ["acorn-support"]
acorn-support = ["dep:nut"]
more = ["nut?/extra"]
`,
		"src/lib.rs": `#[cfg(feature = "acorn-support")]
pub fn value() -> String { format!("{} {}", nut::answer() + 1, nut::extra()) }
#[cfg(not(feature = "acorn-support"))]
pub fn value() -> String { "no acorn".to_string() }
`,
	}
}

func appFiles() map[string]string {
	return map[string]string{
		"Cargo.toml": `[package]
name = "app"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
bramble = { version = "0.2", registry = "wharf", features = ["more"] }
`,
		"src/main.rs": `fn main() { println!("bramble says {}", bramble::value()); }
`,
	}
}

// indexLines fetches a crate's sparse index file and decodes its lines.
func indexLines(t *testing.T, s *server, owner, path string, h map[string]string) []map[string]any {
	t.Helper()
	status, hdr, body := s.do(t, "GET", "/api/packages/"+owner+"/cargo/"+path, "", h)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("index line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// versionsOf lists the vers of index lines, with "(yanked)" where yanked.
func versionsOf(lines []map[string]any) string {
	var vs []string
	for _, l := range lines {
		v, _ := l["vers"].(string)
		if l["yanked"] == true {
			v += " (yanked)"
		}
		vs = append(vs, v)
	}
	return strings.Join(vs, ", ")
}

// lockedVersion reads the version of a package from a Cargo.lock.
func lockedVersion(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "[[package]]")
	for _, blk := range blocks {
		if strings.Contains(blk, "name = \""+name+"\"\n") {
			_, rest, _ := strings.Cut(blk, "version = \"")
			v, _, _ := strings.Cut(rest, "\"")
			return v
		}
	}
	t.Fatalf("%s is not in Cargo.lock:\n%s", name, b)
	return ""
}

// TestCargoPublishAndBuild drives the real cargo through the sparse index:
// two crates published (a renamed, optional dependency enabled by a dep:
// feature, a weak ?/ feature), a binary built on them by another user's
// cargo, a second resolution answered by 304s, yank and unyank and what
// they do to resolution, search, owners, and downloads counted.
func TestCargoPublishAndBuild(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	log := newRequestLog(t, s.URL)
	index := "sparse+" + log.URL + "/api/packages/alice/cargo/"
	pub := newCargo(t, []cargoRegistry{{name: "wharf", index: index, token: packageToken(t, s, "alice", "cargo", "write:package")}}, "")
	work := t.TempDir()
	acorn := writeCrate(t, work, "acorn", acornFiles("0.1.0", "41"))
	bramble := writeCrate(t, work, "bramble", brambleFiles("0.2.0"))
	pub.must(acorn, "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	// bramble is verified: cargo builds it against acorn from the registry.
	pub.must(bramble, "publish", "--registry", "wharf", "--allow-dirty")

	// The index line as crates.io writes it: the rename as name + package,
	// no registry for a dependency of this registry, the dep: and ?/
	// features (and default, which enables one) in features2 with v 2.
	line := indexLines(t, s, "alice", "br/am/bramble", nil)[0]
	dep := line["deps"].([]any)[0].(map[string]any)
	if dep["name"] != "nut" || dep["package"] != "acorn" || dep["req"] != "^0.1" || dep["optional"] != true || dep["kind"] != "normal" {
		t.Fatalf("dependency %v", dep)
	}
	if _, ok := dep["registry"]; ok {
		t.Fatalf("a dependency of the same registry names one: %v", dep)
	}
	f2, _ := json.Marshal(line["features2"])
	if line["v"] != float64(2) || string(f2) != `{"acorn-support":["dep:nut"],"default":["acorn-support"],"more":["nut?/extra"]}` || line["rust_version"] != "1.70" {
		t.Fatalf("features, v, rust_version: %v", line)
	}
	log.take()

	// bob builds a binary on bramble with his own cargo: no token needed
	// for a public owner.
	use := newCargo(t, []cargoRegistry{{name: "wharf", index: index}}, "")
	app := writeCrate(t, work, "app", appFiles())
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "bramble says 42 extra on") {
		t.Fatalf("the app says:\n%s", out)
	}
	first := log.take()
	fetched := map[string]int{}
	for _, r := range first {
		if strings.HasSuffix(r.Path, "/acorn") || strings.HasSuffix(r.Path, "/bramble") {
			fetched[r.Path] = r.Status
		}
	}
	if len(fetched) != 2 || fetched["/api/packages/alice/cargo/ac/or/acorn"] != 200 || fetched["/api/packages/alice/cargo/br/am/bramble"] != 200 {
		t.Fatalf("first build's index requests:\n%s", summary(first))
	}

	// A second resolution revalidates every file it read: all 304.
	if err := os.Remove(filepath.Join(app, "Cargo.lock")); err != nil {
		t.Fatal(err)
	}
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "bramble says 42 extra on") {
		t.Fatalf("the app says:\n%s", out)
	}
	second := log.take()
	notModified := 0
	for _, r := range second {
		if r.Path == "/api/packages/alice/cargo/config.json" {
			continue
		}
		if r.Status != http.StatusNotModified || !r.Conditional {
			t.Fatalf("second build: %s %s answered %d (conditional %v); want 304s only:\n%s", r.Method, r.Path, r.Status, r.Conditional, summary(second))
		}
		notModified++
	}
	if notModified != 2 {
		t.Fatalf("second build: %d 304s, want 2:\n%s", notModified, summary(second))
	}

	// acorn 0.1.1 is picked up by an update; yanked, a fresh resolution
	// goes back to 0.1.0 while a lock file that holds 0.1.1 still builds;
	// unyanked, it is chosen again.
	next := writeCrate(t, t.TempDir(), "acorn", acornFiles("0.1.1", "49"))
	pub.must(next, "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	use.must(app, "update")
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "bramble says 50 extra on") {
		t.Fatalf("after the update the app says:\n%s", out)
	}
	if out := pub.must(work, "yank", "--registry", "wharf", "acorn@0.1.1"); !strings.Contains(out, "Yank acorn@0.1.1") {
		t.Fatalf("cargo yank:\n%s", out)
	}
	if got := versionsOf(indexLines(t, s, "alice", "ac/or/acorn", nil)); got != "0.1.0, 0.1.1 (yanked)" {
		t.Fatalf("index after the yank: %s", got)
	}
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "bramble says 50 extra on") {
		t.Fatalf("a locked yanked version must still build; the app says:\n%s", out)
	}
	use.must(app, "update")
	if v := lockedVersion(t, app, "acorn"); v != "0.1.0" {
		t.Fatalf("after the yank, resolution picks acorn %s", v)
	}
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "bramble says 42 extra on") {
		t.Fatalf("after the yank the app says:\n%s", out)
	}
	pub.must(work, "yank", "--registry", "wharf", "--undo", "acorn@0.1.1")
	use.must(app, "update")
	if v := lockedVersion(t, app, "acorn"); v != "0.1.1" {
		t.Fatalf("after the unyank, resolution picks acorn %s", v)
	}

	// search: the highest version that is not yanked, and the description.
	out := use.must(work, "search", "--registry", "wharf", "acorn")
	if !strings.Contains(out, `acorn = "0.1.1"`) || !strings.Contains(out, "The first crate of the wharf cargo tests") || strings.Contains(out, "bramble") {
		t.Fatalf("cargo search acorn:\n%s", out)
	}
	out = use.must(work, "search", "--registry", "wharf", "r")
	if !strings.Contains(out, `acorn = "0.1.1"`) || !strings.Contains(out, `bramble = "0.2.0"`) {
		t.Fatalf("cargo search r:\n%s", out)
	}
	pub.must(work, "yank", "--registry", "wharf", "acorn@0.1.1")
	if out := use.must(work, "search", "--registry", "wharf", "acorn"); !strings.Contains(out, `acorn = "0.1.0"`) {
		t.Fatalf("cargo search after a yank of the highest:\n%s", out)
	}

	// owners: who may publish alice's crates is alice.
	if out := pub.must(work, "owner", "--registry", "wharf", "--list", "acorn"); !strings.HasSuffix(strings.TrimSpace(out), "\nalice") {
		t.Fatalf("cargo owner --list:\n%s", out)
	}
	pub.fails(work, "only alice (and the site's administrators) may publish them", "owner", "--registry", "wharf", "--add", "bob", "acorn")
	if out := pub.must(work, "owner", "--registry", "wharf", "--add", "alice", "acorn"); !strings.Contains(out, "user alice is already an owner of acorn") {
		t.Fatalf("cargo owner --add alice:\n%s", out)
	}
	pub.fails(work, "alice stays an owner of acorn", "owner", "--registry", "wharf", "--remove", "alice", "acorn")
	pub.must(work, "owner", "--registry", "wharf", "--remove", "bob", "acorn")

	// Downloads are counted: acorn 0.1.0 by the first build (the verify
	// step of bramble's publish fetched it too).
	ctx := t.Context()
	owner, _ := s.App.Users.GetByName(ctx, "alice")
	a, err := s.App.Packages.AccessTo(ctx, nil, owner)
	if err != nil {
		t.Fatal(err)
	}
	_, pv, err := s.App.Packages.GetVersion(ctx, a, packages_model.TypeCargo, "acorn", "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if pv.DownloadCount < 2 {
		t.Fatalf("acorn 0.1.0 downloaded %d times", pv.DownloadCount)
	}

	// A version already there: cargo refuses it from the index itself; the
	// server says 409 with cargo's wording to a client that sends it anyway.
	pub.fails(acorn, "crate acorn@0.1.0 already exists", "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
}

// TestCargoPrivateOwner: a private organisation's registry. cargo first
// asks anonymously, gets 401 with the Cargo challenge, and retries with its
// token; config.json says auth-required, so that index files, downloads
// and the API all carry the token. Without a token cargo says where to get
// one; a user who may not see the organisation is told nothing exists.
func TestCargoPrivateOwner(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	if status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"vault","visibility":"private"}`, basic("alice", "alice-password")); status != 201 {
		t.Fatalf("create org: %d %s", status, body)
	}
	log := newRequestLog(t, s.URL)
	index := "sparse+" + log.URL + "/api/packages/vault/cargo/"

	// Anonymous: 401 with the challenge, for this owner and for one that
	// does not exist alike.
	for _, owner := range []string{"vault", "nobody"} {
		status, hdr, body := s.do(t, "GET", "/api/packages/"+owner+"/cargo/config.json", "", nil)
		wantCargoError(t, owner+" anonymously", status, hdr, body, 401, "sign in")
		if c := hdr.Get("WWW-Authenticate"); c != `Cargo login_url="`+s.URL+`/api/packages/`+owner+`/cargo/me"` {
			t.Fatalf("challenge %q", c)
		}
	}
	status, hdr, body := s.do(t, "GET", "/api/packages/vault/cargo/config.json", "", cargoAuth(packageToken(t, s, "bob", "cargo", "read:package")))
	wantCargoError(t, "bob, who may not see vault", status, hdr, body, 404, "")

	pub := newCargo(t, []cargoRegistry{{name: "wharf", index: index, token: packageToken(t, s, "alice", "cargo", "write:package")}}, "")
	work := t.TempDir()
	pub.must(writeCrate(t, work, "acorn", acornFiles("0.1.0", "41")), "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	pub.must(writeCrate(t, work, "bramble", brambleFiles("0.2.0")), "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	var cfg map[string]any
	if err := json.Unmarshal([]byte(mustGetWith(t, s, "/api/packages/vault/cargo/config.json", basic("alice", "alice-password"))), &cfg); err != nil || cfg["auth-required"] != true {
		t.Fatalf("config.json: %v %v", cfg, err)
	}
	log.take()

	// Building needs only read:package.
	use := newCargo(t, []cargoRegistry{{name: "wharf", index: index, token: packageToken(t, s, "alice", "cargo-read", "read:package")}}, "")
	app := writeCrate(t, work, "app", appFiles())
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "bramble says 42 extra on") {
		t.Fatalf("the app says:\n%s", out)
	}
	reqs := log.take()
	for _, r := range reqs {
		if r.Path != "/api/packages/vault/cargo/config.json" && (!r.Auth || r.Status != 200) {
			t.Fatalf("%s %s: status %d, token sent %v:\n%s", r.Method, r.Path, r.Status, r.Auth, summary(reqs))
		}
	}

	// No token: cargo says to log in, and cargo login shows the login URL
	// of the challenge, where /me says how to make a token.
	anon := newCargo(t, []cargoRegistry{{name: "wharf", index: index}}, "")
	app2 := writeCrate(t, t.TempDir(), "app", appFiles())
	anon.fails(app2, "cargo login --registry wharf", "build")
	out, err := anon.runTerminal(work, packageToken(t, s, "alice", "cargo-login", "read:package")+"\n", "login", "--registry", "wharf")
	if err != nil || !strings.Contains(out, "please paste the token found on "+s.URL+"/api/packages/vault/cargo/me below") {
		t.Fatalf("cargo login: %v\n%s", err, out)
	}
	if me := mustGetWith(t, s, "/api/packages/vault/cargo/me", basic("alice", "alice-password")); !strings.Contains(me, "api/v1/users/alice/tokens") {
		t.Fatalf("/me:\n%s", me)
	}
	// Opened in a browser by someone without a token, the login URL still
	// says how to get one (and nothing about the owner).
	status, hdr, body = s.do(t, "GET", "/api/packages/vault/cargo/me", "", nil)
	if status != 401 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || !strings.Contains(body, s.URL+"/api/v1/users/YOUR_NAME/tokens") {
		t.Fatalf("/me anonymously: %d %v\n%s", status, hdr, body)
	}
	if _, _, other := s.do(t, "GET", "/api/packages/nobody/cargo/me", "", nil); strings.ReplaceAll(other, "nobody", "vault") != body {
		t.Fatalf("/me of an owner that does not exist differs:\n%s", other)
	}
	if out := anon.must(app2, "run", "-q"); !strings.Contains(out, "bramble says 42 extra on") {
		t.Fatalf("after cargo login the app says:\n%s", out)
	}

	// The git index of a private owner: fetched with git's credentials (a
	// token with read:repository), the crates with cargo's token.
	if status, _, body := s.do(t, "POST", "/api/v1/packages/vault/cargo/-/index", "", basic("alice", "alice-password")); status != 201 {
		t.Fatalf("create the git index: %d %s", status, body)
	}
	gitIndex := s.URL + "/vault/_cargo-index.git"
	viaGit := newCargo(t, []cargoRegistry{{name: "wharf", index: gitIndex, token: packageToken(t, s, "alice", "cargo-git", "read:package")}}, "")
	viaGit.env = append(viaGit.env, "CARGO_NET_GIT_FETCH_WITH_CLI=true")
	app3 := writeCrate(t, t.TempDir(), "app", appFiles())
	viaGit.fails(app3, "_cargo-index", "build")
	creds := filepath.Join(t.TempDir(), "git-credentials")
	gitConfig := filepath.Join(t.TempDir(), "gitconfig")
	u := authURL(s.URL, "alice", packageToken(t, s, "alice", "git-read", "read:repository"), "")
	if err := os.WriteFile(creds, []byte(strings.TrimSuffix(u, "/")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gitConfig, []byte("[credential]\n\thelper = store --file="+creds+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	viaGit.env = append(viaGit.env, "GIT_CONFIG_GLOBAL="+gitConfig) // the last value wins
	if out := viaGit.must(app3, "run", "-q"); !strings.Contains(out, "bramble says 42 extra on") {
		t.Fatalf("through the private git index the app says:\n%s", out)
	}
}

func mustGetWith(t *testing.T, s *server, path string, h map[string]string) string {
	t.Helper()
	status, _, body := s.do(t, "GET", path, "", h)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return body
}
