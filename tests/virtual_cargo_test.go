package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"code.gitea.io/sdk/gitea"

	packages_model "wharf/models/packages"
	"wharf/modules/setting"
	"wharf/routers"
)

// virtualCargo is the scene of the virtual Cargo tests: this instance
// with team-a and team-b (public), secret (private, alice's) and hub, the
// virtual registry; and an upstream, a second instance whose organisation
// "crates" has a Cargo registry. Upstream documents are revalidated on every
// request (METADATA_TTL 0), so that an upstream that goes away is noticed.
type virtualCargo struct {
	*virtualFixture
	up       *server
	upIndex  string // the upstream member's URL
	rootTok  string
	aliceTok string
	bobTok   string
	work     string
	log      *vcargoLog
}

// vcargoLog keeps the app's records at level Warn and above.
type vcargoLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *vcargoLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *vcargoLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *vcargoLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *vcargoLog) WithGroup(string) slog.Handler      { return l }

// has says whether a kept record contains every one of the words.
func (l *vcargoLog) has(words ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, line := range l.lines {
		for _, w := range words {
			if !strings.Contains(line, w) {
				continue next
			}
		}
		return true
	}
	return false
}

func (l *vcargoLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// errors are the records at level Error: a request the app failed.
func (l *vcargoLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.HasPrefix(line, "ERROR") {
			out = append(out, line)
		}
	}
	return out
}

func newVirtualCargo(t *testing.T) *virtualCargo {
	t.Helper()
	cargoBin(t)
	wl := &vcargoLog{}
	s := newServerWithOptions(t, routers.Options{Log: slog.New(wl)}, func(c *setting.Config) { c.Packages.Virtual.MetadataTTL = 0 })
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	f := &virtualFixture{s: s, rootH: tokenHeader(s.AdminToken), aliceH: basic("alice", "alice-password"), bobH: basic("bob", "bob-password")}
	root := s.client(t, gitea.SetToken(s.AdminToken))
	for _, name := range []string{"team-a", "team-b", "hub"} {
		if _, _, err := root.CreateOrg(gitea.CreateOrgOption{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "secret", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	up := newServer(t)
	if _, _, err := up.client(t, gitea.SetToken(up.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "crates"}); err != nil {
		t.Fatal(err)
	}
	return &virtualCargo{virtualFixture: f, up: up, upIndex: up.URL + "/api/packages/crates/cargo/",
		rootTok: packageToken(t, s, "root", "cargo", "write:package"), aliceTok: packageToken(t, s, "alice", "cargo", "write:package"),
		bobTok: packageToken(t, s, "bob", "cargo", "write:package"), work: t.TempDir(), log: wl}
}

// publish publishes a crate to an owner's registry on the server with
// cargo, as the token's user.
func (v *virtualCargo) publish(t *testing.T, s *server, owner, token, name string, files map[string]string) {
	t.Helper()
	c := newCargo(t, []cargoRegistry{{name: "dest", index: "sparse+" + s.URL + "/api/packages/" + owner + "/cargo/", token: token}}, "")
	dir := writeCrate(t, t.TempDir(), name, files)
	c.must(dir, "publish", "--registry", "dest", "--no-verify", "--allow-dirty")
}

// hubCargo is a cargo whose registry "hub" is the virtual registry.
func (v *virtualCargo) hubCargo(t *testing.T, token string) *cargoClient {
	t.Helper()
	return newCargo(t, []cargoRegistry{{name: "hub", index: "sparse+" + v.s.URL + "/api/packages/hub/cargo/", token: token}}, "")
}

func vcargoLeaf(name, version, body string) map[string]string {
	return map[string]string{
		"Cargo.toml": "[package]\nname = \"" + name + "\"\nversion = \"" + version + "\"\nedition = \"2021\"\ndescription = \"" + name + " of the virtual cargo tests\"\nlicense = \"MIT\"\n",
		"src/lib.rs": body,
	}
}

// vcargoThicket depends on acorn (team-a), walnut (the upstream) and,
// optionally, hazel (the private member) through the virtual registry.
func vcargoThicket() map[string]string {
	return map[string]string{
		"Cargo.toml": `[package]
name = "thicket"
version = "0.3.0"
edition = "2021"
description = "Thicket: crates of two owners and an upstream"
license = "MIT"

[dependencies]
acorn = { version = "0.1", registry = "hub" }
walnut = { version = "1", registry = "hub" }
`,
		"src/lib.rs": "pub fn value() -> u32 { acorn::answer() + walnut::walnut() }\n",
	}
}

func vcargoApp(deps string, body string) map[string]string {
	return map[string]string{
		"Cargo.toml":  "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n" + deps,
		"src/main.rs": body,
	}
}

// cargoConfig decodes a config.json strictly.
func vcargoConfig(t *testing.T, body string) (cfg struct {
	DL           string `json:"dl"`
	API          string `json:"api"`
	AuthRequired bool   `json:"auth-required"`
}) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil || dec.More() {
		t.Fatalf("config.json %q: %v", body, err)
	}
	return cfg
}

type vcargoSearch struct {
	Crates []struct {
		Name        string `json:"name"`
		MaxVersion  string `json:"max_version"`
		Description string `json:"description"`
	} `json:"crates"`
	Meta struct {
		Total int64 `json:"total"`
	} `json:"meta"`
}

// TestVirtualCargoBuild: cargo builds an app through the virtual registry
// on a crate of team-b that depends on team-a's acorn and the upstream's
// walnut; team-a's acorn shadows the upstream's acorn of a higher,
// compatible version (dependency confusion); the upstream's crate is
// fetched once, stored with the cache owner and still downloads with the
// upstream stopped, into a fresh CARGO_HOME; an upstream answering
// garbage is skipped with a Warning. Publishes through the virtual URL go
// to the publishing member or are refused in cargo's words; yank names
// the crate's own registry; search is merged.
func TestVirtualCargoBuild(t *testing.T) {
	v := newVirtualCargo(t)
	s := v.s
	upTok := packageToken(t, v.up, "root", "cargo", "write:package")
	v.publish(t, s, "team-a", v.rootTok, "acorn", acornFiles("0.1.0", "41"))
	// team-b's acorn is shadowed by team-a's, which comes first.
	v.publish(t, s, "team-b", v.rootTok, "acorn", acornFiles("0.1.3", "100"))
	v.publish(t, v.up, "crates", upTok, "walnut", vcargoLeaf("walnut", "1.0.0", "pub fn walnut() -> u32 { 7 }\n"))
	v.publish(t, v.up, "crates", upTok, "almond", vcargoLeaf("almond", "1.0.0", "pub fn almond() -> u32 { 3 }\n"))
	// The upstream's acorn: the same name, a compatible higher version.
	v.publish(t, v.up, "crates", upTok, "acorn", acornFiles("0.1.9", "900"))

	// A member before the real upstream that answers anything with HTML.
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>maintenance</html>"))
	}))
	t.Cleanup(garbage.Close)
	members := `{"members":[{"owner":"team-a"},{"owner":"team-b"},{"url":"` + garbage.URL + `/cargo/"},{"url":"` + v.upIndex + `"}]`
	if status, body := v.putVirtual(t, "hub", "cargo", members+`}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}

	// config.json: the virtual URLs; hub is public, so no sign-in.
	cfg := vcargoConfig(t, mustGetWith(t, s, "/api/packages/hub/cargo/config.json", nil))
	if cfg.DL != s.URL+"/api/packages/hub/cargo/api/v1/crates" || cfg.API != s.URL+"/api/packages/hub/cargo" || cfg.AuthRequired {
		t.Fatalf("config.json: %+v", cfg)
	}

	// Without publish_to, a publish is refused naming the members.
	pub := v.hubCargo(t, v.rootTok)
	thicket := writeCrate(t, v.work, "thicket", vcargoThicket())
	pub.fails(thicket, "publish to one of its members (team-a, team-b)", "publish", "--registry", "hub", "--no-verify", "--allow-dirty")
	if status, body := v.putVirtual(t, "hub", "cargo", members+`,"publish_to":"team-b"}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	// bob may not write team-b: cargo shows why.
	v.hubCargo(t, v.bobTok).fails(thicket, "you may not publish packages of", "publish", "--registry", "hub", "--no-verify", "--allow-dirty")
	pub.must(thicket, "publish", "--registry", "hub", "--no-verify", "--allow-dirty")
	if got := versionsOf(indexLines(t, s, "team-b", "th/ic/thicket", nil)); got != "0.3.0" {
		t.Fatalf("thicket at team-b: %s", got)
	}
	// A crate another member serves is not published through hub (it
	// could not be read back there), in any spelling cargo takes for it.
	pub.fails(writeCrate(t, t.TempDir(), "acorn", acornFiles("0.1.4", "1")), "already served by another member", "publish", "--registry", "hub", "--no-verify", "--allow-dirty")
	v.publish(t, s, "team-a", v.rootTok, "nut_tree", vcargoLeaf("nut_tree", "1.0.0", "pub fn nut() {}\n"))
	pub.fails(writeCrate(t, t.TempDir(), "nut-tree", vcargoLeaf("nut-tree", "2.0.0", "pub fn nut() {}\n")), "as `nut_tree`", "publish", "--registry", "hub", "--no-verify", "--allow-dirty")

	// acorn through hub is team-a's alone, never a mix with team-b's or
	// the upstream's.
	if got := versionsOf(indexLines(t, s, "hub", "ac/or/acorn", nil)); got != "0.1.0" {
		t.Fatalf("acorn through hub: %s", got)
	}
	// A member's file keeps its validators through hub.
	_, hdr0, _ := s.do(t, "GET", "/api/packages/hub/cargo/ac/or/acorn", "", nil)
	if status, _, body := s.do(t, "GET", "/api/packages/hub/cargo/ac/or/acorn", "", map[string]string{"If-None-Match": hdr0.Get("ETag")}); status != http.StatusNotModified {
		t.Fatalf("revalidated acorn: %d %s", status, body)
	}
	// walnut is the upstream's, the garbage member skipped with a warning.
	status, hdr, body := s.do(t, "GET", "/api/packages/hub/cargo/wa/ln/walnut", "", nil)
	if status != http.StatusOK || !strings.Contains(body, `"vers":"1.0.0"`) {
		t.Fatalf("walnut through hub: %d %s", status, body)
	}
	if w := hdr.Values("Warning"); len(w) != 1 || !strings.HasPrefix(w[0], `199 - "`) || !strings.Contains(w[0], garbage.URL) {
		t.Fatalf("Warning %q", w)
	}
	if !v.log.has("WARN", "upstream skipped", garbage.URL, "walnut") {
		t.Fatalf("no warning logged for the garbage upstream:\n%s", strings.Join(v.log.all(), "\n"))
	}
	// The ETag is honoured.
	if status, _, _ := s.do(t, "GET", "/api/packages/hub/cargo/wa/ln/walnut", "", map[string]string{"If-None-Match": hdr.Get("ETag")}); status != http.StatusNotModified {
		t.Fatalf("revalidated walnut: %d", status)
	}

	// bob builds an app on thicket with his own cargo (anonymous: hub is
	// public).
	use := v.hubCargo(t, "")
	app := writeCrate(t, v.work, "app", vcargoApp(`thicket = { version = "0.3", registry = "hub" }`+"\n",
		`fn main() { println!("thicket says {}", thicket::value()); }`+"\n"))
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "thicket says 48") {
		t.Fatalf("the app says:\n%s", out)
	}
	if got := lockedVersion(t, app, "acorn"); got != "0.1.0" {
		t.Fatalf("acorn locked at %s: not team-a's", got)
	}

	// walnut is now a crate of hub, the cache owner, with the upstream's
	// index line.
	upLine := indexLines(t, v.up, "crates", "wa/ln/walnut", nil)[0]
	if got := vcargoCached(t, v, "walnut", "1.0.0"); got["cksum"] != upLine["cksum"] || got["name"] != "walnut" {
		t.Fatalf("hub's cached walnut: %v, upstream's %v", got, upLine)
	}

	// The upstream goes away: a fresh cargo still builds the app (the
	// index from the stored copy, walnut from the cache), and the index
	// says so in a Warning; a crate never fetched is 503.
	v.up.Stop()
	if err := os.Remove(filepath.Join(app, "Cargo.lock")); err != nil {
		t.Fatal(err)
	}
	fresh := v.hubCargo(t, "")
	if err := os.RemoveAll(filepath.Join(app, "target")); err != nil {
		t.Fatal(err)
	}
	if out := fresh.must(app, "run", "-q"); !strings.Contains(out, "thicket says 48") {
		t.Fatalf("with the upstream down the app says:\n%s", out)
	}
	status, hdr, body = s.do(t, "GET", "/api/packages/hub/cargo/wa/ln/walnut", "", nil)
	if status != http.StatusOK || len(hdr.Values("Warning")) < 2 {
		t.Fatalf("walnut with the upstream down: %d %q %s", status, hdr.Values("Warning"), body)
	}
	status, hdr, body = s.do(t, "GET", "/api/packages/hub/cargo/al/mo/almond", "", nil)
	wantCargoError(t, "almond, never fetched, upstream down", status, hdr, body, http.StatusServiceUnavailable, "upstream")
	status, hdr, body = s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/almond/1.0.0/download", "", nil)
	wantCargoError(t, "almond's download, upstream down", status, hdr, body, http.StatusServiceUnavailable, "upstream")
	// A local crate answers as ever.
	if got := versionsOf(indexLines(t, s, "hub", "th/ic/thicket", nil)); got != "0.3.0" {
		t.Fatalf("thicket through hub, upstream down: %s", got)
	}

	// yank and owners are made at the crate's own registry.
	pub.fails(v.work, "at the registry of team-a", "yank", "--registry", "hub", "acorn@0.1.0")
	pub.fails(v.work, "at the registry of team-a", "owner", "--registry", "hub", "--list", "acorn")

	// Search: team-a's acorn, once; thicket; the upstream's crates are not
	// searched.
	var found vcargoSearch
	decodeStrict(t, mustGetWith(t, s, "/api/packages/hub/cargo/api/v1/crates?q=&per_page=10", nil), &found)
	var names []string
	for _, c := range found.Crates {
		names = append(names, c.Name+"@"+c.MaxVersion)
	}
	if strings.Join(names, " ") != "acorn@0.1.0 nut_tree@1.0.0 thicket@0.3.0" || found.Meta.Total != 3 {
		t.Fatalf("search: %v total %d", names, found.Meta.Total)
	}
	if out := use.must(v.work, "search", "--registry", "hub", "acorn"); !strings.Contains(out, `acorn = "0.1.0"`) || strings.Contains(out, "0.1.3") {
		t.Fatalf("cargo search acorn:\n%s", out)
	}
	// Nothing here was the server's failure but almond's 503s.
	for _, e := range v.log.errors() {
		if !strings.Contains(e, "almond") || !strings.Contains(e, "did not answer") {
			t.Fatalf("error logged: %s", e)
		}
	}
}

// vcargoCached is the cache owner's stored index line of a crate version
// (hub's own registry URL serves the virtual view, not its packages).
func vcargoCached(t *testing.T, v *virtualCargo, name, version string) map[string]any {
	t.Helper()
	ctx := t.Context()
	hub, err := v.s.App.Users.GetByName(ctx, "hub")
	if err != nil {
		t.Fatal(err)
	}
	a, err := v.s.App.Packages.AccessTo(ctx, nil, hub)
	if err != nil {
		t.Fatal(err)
	}
	_, pv, err := v.s.App.Packages.GetVersion(ctx, a, packages_model.TypeCargo, name, version)
	if err != nil {
		t.Fatalf("hub's cached %s %s: %v", name, version, err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(pv.MetadataJSON), &m); err != nil {
		t.Fatalf("stored line %q: %v", pv.MetadataJSON, err)
	}
	return m
}

// TestVirtualCargoPrivateMember: a crate of a private member is invisible
// to an outsider (404, never a later member's or the upstream's crate of
// the name, with cargo saying no such crate), shown to alice, who may read
// the member, and left out of the outsider's search.
func TestVirtualCargoPrivateMember(t *testing.T) {
	v := newVirtualCargo(t)
	s := v.s
	upTok := packageToken(t, v.up, "root", "cargo", "write:package")
	v.publish(t, s, "secret", v.aliceTok, "hazel", vcargoLeaf("hazel", "0.2.0", "pub fn hazel() -> &'static str { \"secret hazel\" }\n"))
	v.publish(t, v.up, "crates", upTok, "hazel", vcargoLeaf("hazel", "0.2.5", "pub fn hazel() -> &'static str { \"public hazel\" }\n"))
	v.publish(t, s, "team-a", v.rootTok, "acorn", acornFiles("0.1.0", "41"))
	// nut_tree is team-a's; the upstream's nut-tree is the same name to
	// cargo ('-' and '_' are one) and never comes through hub.
	v.publish(t, s, "team-a", v.rootTok, "nut_tree", vcargoLeaf("nut_tree", "1.0.0", "pub fn nut() {}\n"))
	v.publish(t, v.up, "crates", upTok, "nut-tree", vcargoLeaf("nut-tree", "1.0.0", "pub fn nut() {}\n"))
	// team-a's hazel comes after secret's: never shown in its place.
	v.publish(t, s, "team-a", v.rootTok, "hazel", vcargoLeaf("hazel", "0.2.1", "pub fn hazel() -> &'static str { \"team-a hazel\" }\n"))
	if status, body := v.putVirtual(t, "hub", "cargo", `{"members":[{"owner":"secret"},{"owner":"team-a"},{"url":"`+v.upIndex+`"}]}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}

	for _, who := range []struct {
		name string
		h    map[string]string
	}{{"anonymous", nil}, {"bob", cargoAuth(v.bobTok)}} {
		status, hdr, body := s.do(t, "GET", "/api/packages/hub/cargo/ha/ze/hazel", "", who.h)
		wantCargoError(t, who.name+" reads hazel", status, hdr, body, http.StatusNotFound, "")
		status, hdr, body = s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/hazel/0.2.5/download", "", who.h)
		wantCargoError(t, who.name+" downloads the upstream's hazel", status, hdr, body, http.StatusNotFound, "")
		var found vcargoSearch
		decodeStrict(t, mustGetWith(t, s, "/api/packages/hub/cargo/api/v1/crates?q=a", who.h), &found)
		if len(found.Crates) != 1 || found.Crates[0].Name != "acorn" || found.Meta.Total != 1 {
			t.Fatalf("%s searches: %+v", who.name, found)
		}
	}
	status, hdr, body := s.do(t, "GET", "/api/packages/hub/cargo/nu/t-/nut-tree", "", nil)
	wantCargoError(t, "the upstream's nut-tree", status, hdr, body, http.StatusNotFound, "")
	status, hdr, body = s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/nut-tree/1.0.0/download", "", nil)
	wantCargoError(t, "the upstream's nut-tree crate", status, hdr, body, http.StatusNotFound, "")
	if got := versionsOf(indexLines(t, s, "hub", "nu/t_/nut_tree", nil)); got != "1.0.0" {
		t.Fatalf("team-a's nut_tree through hub: %s", got)
	}
	// alice reads it, from secret, and finds it.
	if got := versionsOf(indexLines(t, s, "hub", "ha/ze/hazel", cargoAuth(v.aliceTok))); got != "0.2.0" {
		t.Fatalf("alice reads hazel: %s", got)
	}
	if status, _, body := s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/hazel/0.2.0/download", "", cargoAuth(v.aliceTok)); status != http.StatusOK || len(body) == 0 {
		t.Fatalf("alice downloads hazel: %d", status)
	}
	var found vcargoSearch
	decodeStrict(t, mustGetWith(t, s, "/api/packages/hub/cargo/api/v1/crates?q=a", cargoAuth(v.aliceTok)), &found)
	if len(found.Crates) != 2 || found.Crates[0].Name != "hazel" || found.Crates[0].MaxVersion != "0.2.0" || found.Crates[1].Name != "acorn" || found.Meta.Total != 2 {
		t.Fatalf("alice searches: %+v", found)
	}

	// bob's cargo: no such crate, not the upstream's hazel.
	app := writeCrate(t, v.work, "app", vcargoApp(`hazel = { version = "0.2", registry = "hub" }`+"\n",
		`fn main() { println!("{}", hazel::hazel()); }`+"\n"))
	out := v.hubCargo(t, v.bobTok).fails(app, "hazel", "generate-lockfile")
	if strings.Contains(out, "0.2.5") || strings.Contains(out, "0.2.1") {
		t.Fatalf("bob's cargo saw the upstream's hazel:\n%s", out)
	}

	// hub limited to signed-in users: config.json says auth-required, so
	// alice's cargo sends her token and builds on the private member's
	// crate; bob's still finds nothing.
	if status, _, body := s.do(t, "PATCH", "/api/v1/orgs/hub", `{"visibility":"limited"}`, v.rootH); status != http.StatusOK {
		t.Fatalf("limit hub: %d %s", status, body)
	}
	cfg := vcargoConfig(t, mustGetWith(t, s, "/api/packages/hub/cargo/config.json", cargoAuth(v.bobTok)))
	if !cfg.AuthRequired {
		t.Fatalf("config.json of a limited hub: %+v", cfg)
	}
	status, hdr, body = s.do(t, "GET", "/api/packages/hub/cargo/config.json", "", nil)
	wantCargoError(t, "anonymous config.json of a limited hub", status, hdr, body, http.StatusUnauthorized, "sign in")
	if out := v.hubCargo(t, v.aliceTok).must(app, "run", "-q"); !strings.Contains(out, "secret hazel") {
		t.Fatalf("alice's app says:\n%s", out)
	}
	if err := os.Remove(filepath.Join(app, "Cargo.lock")); err != nil {
		t.Fatal(err)
	}
	if out := v.hubCargo(t, v.bobTok).fails(app, "hazel", "generate-lockfile"); strings.Contains(out, "0.2.5") || strings.Contains(out, "0.2.1") {
		t.Fatalf("bob's cargo saw the upstream's hazel:\n%s", out)
	}
}

// TestVirtualCargoUpstreamToken: an upstream that needs sign-in is asked
// with the member's token, for its index, config.json and crates; the
// crate served is the one the index's cksum names; concurrent first
// downloads all get it. With a wrong token the upstream cannot answer: 503
// in cargo's shape, with a Warning.
func TestVirtualCargoUpstreamToken(t *testing.T) {
	v := newVirtualCargo(t)
	s := v.s
	if status, _, body := v.up.do(t, "POST", "/api/v1/orgs", `{"username":"vault","visibility":"private"}`, tokenHeader(v.up.AdminToken)); status != http.StatusCreated {
		t.Fatalf("create vault: %d %s", status, body)
	}
	upTok := packageToken(t, v.up, "root", "cargo", "write:package")
	v.publish(t, v.up, "vault", upTok, "walnut", vcargoLeaf("walnut", "1.2.0", "pub fn walnut() -> u32 { 7 }\n"))
	v.publish(t, v.up, "vault", upTok, "walnut", vcargoLeaf("walnut", "1.3.0", "pub fn walnut() -> u32 { 8 }\n"))
	vault := v.up.URL + "/api/packages/vault/cargo/"
	readTok := packageToken(t, v.up, "root", "cargo-read", "read:package")
	if status, body := v.putVirtual(t, "hub", "cargo", `{"members":[{"url":"`+vault+`","token":"`+readTok+`"}]}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	lines := indexLines(t, s, "hub", "wa/ln/walnut", nil)
	if len(lines) != 2 || lines[0]["vers"] != "1.2.0" || lines[1]["vers"] != "1.3.0" {
		t.Fatalf("walnut through hub: %v", lines)
	}
	status, _, crate := s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/walnut/1.2.0/download", "", nil)
	sum := sha256.Sum256([]byte(crate))
	if status != http.StatusOK || hex.EncodeToString(sum[:]) != lines[0]["cksum"] {
		t.Fatalf("walnut's crate: %d, sha256 %x, index %v", status, sum, lines[0]["cksum"])
	}
	// Served again from the cache, the same bytes.
	if status, _, again := s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/walnut/1.2.0/download", "", nil); status != http.StatusOK || again != crate {
		t.Fatalf("walnut again: %d", status)
	}
	// Eight first downloads at once: every one gets the crate.
	var wg sync.WaitGroup
	got := make([]string, 8)
	codes := make([]int, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, got[i] = s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/walnut/1.3.0/download", "", nil)
		}()
	}
	wg.Wait()
	for i := range got {
		sum := sha256.Sum256([]byte(got[i]))
		if codes[i] != http.StatusOK || hex.EncodeToString(sum[:]) != lines[1]["cksum"] {
			t.Fatalf("concurrent download %d: %d, sha256 %x", i, codes[i], sum)
		}
	}
	// A version the upstream does not have: 404.
	status, hdr, body := s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/walnut/9.9.9/download", "", nil)
	wantCargoError(t, "walnut 9.9.9", status, hdr, body, http.StatusNotFound, "")

	if status, body := v.putVirtual(t, "hub", "cargo", `{"members":[{"url":"`+vault+`","token":"wrong"}]}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	status, hdr, body = s.do(t, "GET", "/api/packages/hub/cargo/al/mo/almond", "", nil)
	wantCargoError(t, "almond with a wrong token", status, hdr, body, http.StatusServiceUnavailable, "upstream")
	if w := hdr.Values("Warning"); len(w) != 1 || !strings.Contains(w[0], vault) {
		t.Fatalf("Warning %q", w)
	}
}

// TestVirtualCargoUpstreamChecksum: a crate whose bytes are not what the
// upstream's index says (cksum) is refused (503, nothing kept), and
// fetched again on the next download; dl templates with markers are
// expanded as cargo does.
func TestVirtualCargoUpstreamChecksum(t *testing.T) {
	v := newVirtualCargo(t)
	good := []byte("the crate's bytes")
	sum := sha256.Sum256(good)
	var serveGood atomic.Bool
	var dl atomic.Int32
	var upURL string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index/config.json":
			_, _ = w.Write([]byte(`{"dl":"` + upURL + `/files/{lowerprefix}/{crate}/{crate}-{version}.crate"}`))
		case "/index/wa/ln/walnut":
			_, _ = w.Write([]byte(`{"name":"walnut","vers":"1.0.0","deps":[],"cksum":"` + hex.EncodeToString(sum[:]) + `","features":{},"yanked":false}` + "\n"))
		case "/files/wa/ln/walnut/walnut-1.0.0.crate":
			dl.Add(1)
			if serveGood.Load() {
				_, _ = w.Write(good)
			} else {
				_, _ = w.Write([]byte("tampered bytes"))
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fake.Close)
	upURL = fake.URL
	if status, body := v.putVirtual(t, "hub", "cargo", `{"members":[{"url":"`+fake.URL+`/index/"}]}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	const path = "/api/packages/hub/cargo/api/v1/crates/walnut/1.0.0/download"
	status, hdr, body := v.s.do(t, "GET", path, "", nil)
	wantCargoError(t, "a tampered crate", status, hdr, body, http.StatusServiceUnavailable, "upstream")
	serveGood.Store(true)
	if status, _, body := v.s.do(t, "GET", path, "", nil); status != http.StatusOK || body != string(good) {
		t.Fatalf("the good crate: %d %q", status, body)
	}
	if status, _, body := v.s.do(t, "GET", path, "", nil); status != http.StatusOK || body != string(good) || dl.Load() != 2 {
		t.Fatalf("the cached crate: %d %q, %d downloads from the upstream", status, body, dl.Load())
	}
}
