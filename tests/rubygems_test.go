package tests

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// rgGems are the gems the real-client tests build with `gem build`: rg-a
// 1.0.0 for Ruby and for the machine's platform (two files of one
// version), its pre-release 2.0.0.beta1, a later 1.1.0, and rg-b, which
// depends on rg-a.
func rgGems(platform string) []builtGem {
	return []builtGem{
		{name: "rg-a", version: "1.0.0"},
		{name: "rg-a", version: "1.0.0", platform: platform},
		{name: "rg-a", version: "2.0.0.beta1"},
		{name: "rg-b", version: "1.0.0", deps: []string{`"rg-a", ">= 1.0"`}},
		{name: "rg-a", version: "1.1.0"},
	}
}

// paths lists the requests as "METHOD path-after-base status".
func paths(reqs []loggedRequest, base string) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Method+" "+strings.TrimPrefix(r.Path, base)+" "+http.StatusText(r.Status))
	}
	return out
}

// TestRubyGemsRealClients drives the real gem and bundle against an
// organisation's registry, through a proxy that logs what they ask for:
// gem push with the key from ~/.gem/credentials (sent raw), a repush
// refused, bundle install through the compact index only (versions, then
// info, then the .gem files; the platform gem chosen, the pre-release
// not), gem install resolving through info and the quick gemspecs, gem
// list through the Marshal indexes, a later bundle update fetching the end
// of versions with Range (206) and then nothing new (304), gem yank and
// what Bundler makes of it, and the yank undone through the packages API.
func TestRubyGemsRealClients(t *testing.T) {
	g := newGemEnv(t)
	s := newServer(t)
	s.createUser(t, "alice")
	if _, _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateOrg(gitea.CreateOrgOption{Name: "gemorg"}); err != nil {
		t.Fatal(err)
	}
	key := packageToken(t, s, "alice", "gem", "write:package")
	log := newRequestLog(t, s.URL)
	base := "/api/packages/gemorg/rubygems/"
	source := log.URL + base
	host := strings.TrimSuffix(source, "/")
	platform := g.localPlatform()
	built := g.buildGems(rgGems(platform)...)
	g.writeCredentials(map[string]string{host: key})

	for _, f := range []string{"rg-a-1.0.0.gem", "rg-a-1.0.0-" + platform + ".gem", "rg-a-2.0.0.beta1.gem", "rg-b-1.0.0.gem"} {
		out := g.must(built, nil, "gem", "push", f, "--host", host)
		title := strings.TrimSuffix(strings.Replace(f, "-1.0.0", " (1.0.0", 1), ".gem")
		title = strings.Replace(title, "-2.0.0.beta1", " (2.0.0.beta1", 1) + ")"
		if !strings.Contains(out, "Successfully registered gem: "+title) {
			t.Errorf("gem push %s said:\n%s\nwant %q", f, out, title)
		}
	}
	for _, r := range log.take() {
		if r.Method != "POST" || r.Path != base+"api/v1/gems" || !r.Auth || r.Status != http.StatusOK {
			t.Errorf("gem push sent %+v", r)
		}
	}
	g.fails(built, nil, "Repushing of gem versions is not allowed", "gem", "push", "rg-b-1.0.0.gem", "--host", host)

	// gem install resolves rg-b's dependency through info and the quick
	// gemspecs, and takes the platform gem.
	empty := t.TempDir() // gem install would take .gem files found in its directory
	out := g.must(empty, nil, "gem", "install", "rg-b", "--clear-sources", "--source", source, "--no-document")
	for _, want := range []string{"Successfully installed rg-a-1.0.0-" + platform, "Successfully installed rg-b-1.0.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("gem install said:\n%s\nwant %q", out, want)
		}
	}
	reqs := paths(log.take(), base)
	for _, want := range []string{"HEAD  OK", "GET info/rg-b OK", "GET quick/Marshal.4.8/rg-b-1.0.0.gemspec.rz OK", "GET info/rg-a OK",
		"GET quick/Marshal.4.8/rg-a-1.0.0-" + platform + ".gemspec.rz OK", "GET gems/rg-b-1.0.0.gem OK", "GET gems/rg-a-1.0.0-" + platform + ".gem OK"} {
		if !slices.Contains(reqs, want) {
			t.Errorf("gem install did not ask %q: %v", want, reqs)
		}
	}
	// gem list reads the Marshal indexes: both platforms of 1.0.0, and the
	// pre-release only when asked for.
	out = g.must(empty, nil, "gem", "list", "--remote", "--all", "--clear-sources", "--source", source)
	if !strings.Contains(out, "rg-a (1.0.0 ruby "+platform+")") || !strings.Contains(out, "rg-b (1.0.0)") || strings.Contains(out, "beta") {
		t.Errorf("gem list --remote --all said:\n%s", out)
	}
	out = g.must(empty, nil, "gem", "list", "--remote", "--prerelease", "--clear-sources", "--source", source)
	if !strings.Contains(out, "rg-a (2.0.0.beta1)") {
		t.Errorf("gem list --remote --prerelease said:\n%s", out)
	}
	reqs = paths(log.take(), base)
	for _, want := range []string{"GET specs.4.8.gz OK", "GET prerelease_specs.4.8.gz OK"} {
		if !slices.Contains(reqs, want) {
			t.Errorf("gem list did not ask %q: %v", want, reqs)
		}
	}

	// Bundler: the compact index and nothing else.
	app := g.project("source \"" + source + "\"\ngem \"rg-b\"\n")
	g.must(app, nil, "bundle", "install")
	lock := readFile(t, filepath.Join(app, "Gemfile.lock"))
	for _, want := range []string{"remote: " + source, "rg-a (1.0.0-" + platform + ")", "rg-b (1.0.0)\n      rg-a (>= 1.0)"} {
		if !strings.Contains(lock, want) {
			t.Errorf("Gemfile.lock:\n%s\nwant %q", lock, want)
		}
	}
	reqs = paths(log.take(), base)
	for _, want := range []string{"GET versions OK", "GET info/rg-b OK", "GET info/rg-a OK", "GET gems/rg-a-1.0.0-" + platform + ".gem OK", "GET gems/rg-b-1.0.0.gem OK"} {
		if !slices.Contains(reqs, want) {
			t.Errorf("bundle install did not ask %q: %v", want, reqs)
		}
	}
	for _, r := range reqs {
		if strings.Contains(r, "specs.4.8") || strings.Contains(r, "dependencies") || strings.Contains(r, "quick/") {
			t.Errorf("bundle install left the compact index: %s (all: %v)", r, reqs)
		}
	}
	if lock := readFile(t, filepath.Join(app, "Gemfile.lock")); strings.Contains(lock, "beta") {
		t.Errorf("Bundler took the pre-release unasked:\n%s", lock)
	}

	// The pre-release only when asked for.
	pre := g.project("source \"" + source + "\"\ngem \"rg-a\", \">= 2.0.0.beta1\"\n")
	g.must(pre, nil, "bundle", "install")
	if lock := readFile(t, filepath.Join(pre, "Gemfile.lock")); !strings.Contains(lock, "rg-a (2.0.0.beta1)") {
		t.Errorf("Gemfile.lock asking for the pre-release:\n%s", lock)
	}

	// A new version: the next update fetches only the end of versions and
	// of info/rg-a; one more finds nothing new.
	g.must(built, nil, "gem", "push", "rg-a-1.1.0.gem", "--host", host)
	log.take()
	g.must(app, nil, "bundle", "update")
	if lock := readFile(t, filepath.Join(app, "Gemfile.lock")); !strings.Contains(lock, "rg-a (1.1.0)") {
		t.Errorf("Gemfile.lock after bundle update:\n%s", lock)
	}
	rs := log.take()
	checkRanged := func(path string, want int) {
		t.Helper()
		for _, r := range rs {
			if r.Path == base+path {
				if r.Range == "" || !r.Conditional || r.Status != want {
					t.Errorf("%s: Range %q, conditional %v, status %d; want a conditional range answered %d", path, r.Range, r.Conditional, r.Status, want)
				}
				return
			}
		}
		t.Errorf("bundle did not ask for %s: %v", path, paths(rs, base))
	}
	checkRanged("versions", http.StatusPartialContent)
	checkRanged("info/rg-a", http.StatusPartialContent)
	g.must(app, nil, "bundle", "update")
	rs = log.take()
	checkRanged("versions", http.StatusNotModified)

	// gem yank: the version leaves the index (a "-" line in versions); a
	// new project resolves the version before it, and one locked to the
	// yanked version is told it is gone.
	out = g.must(empty, nil, "gem", "yank", "rg-a", "-v", "1.1.0", "--host", host)
	if !strings.Contains(out, "Successfully yanked gem: rg-a (1.1.0)") {
		t.Errorf("gem yank said:\n%s", out)
	}
	// gem yank prints the answer of a refusal, and exits 0 whatever it is.
	if out, _ := g.run(empty, nil, "gem", "yank", "rg-a", "-v", "9.9.9", "--host", host); !strings.Contains(out, "This rubygem could not be found.") {
		t.Errorf("gem yank of a missing version said:\n%s", out)
	}
	_, _, versions := s.do(t, "GET", base+"versions", "", nil)
	if !regexp.MustCompile(`\nrg-a -1\.1\.0 [0-9a-f]{32}\n\z`).MatchString(versions) {
		t.Errorf("versions after the yank:\n%s", versions)
	}
	fresh := g.project("source \"" + source + "\"\ngem \"rg-b\"\n")
	g.must(fresh, nil, "bundle", "install")
	if lock := readFile(t, filepath.Join(fresh, "Gemfile.lock")); !strings.Contains(lock, "rg-a (1.0.0-"+platform+")") || strings.Contains(lock, "1.1.0") {
		t.Errorf("Gemfile.lock of a new project after the yank:\n%s", lock)
	}
	pinned := g.project("source \"" + source + "\"\ngem \"rg-b\"\n")
	writeFiles(t, pinned, map[string]string{"Gemfile.lock": readFile(t, filepath.Join(app, "Gemfile.lock"))})
	g.fails(pinned, nil, "Your bundle is locked to rg-a (1.1.0)", "bundle", "install")
	g.fails(empty, nil, "Could not find a valid gem 'rg-a' (= 1.1.0)", "gem", "install", "rg-a", "-v", "1.1.0", "--clear-sources", "--source", source, "--no-document")

	// The owner undoes the yank through the packages API: Bundler sees the
	// version again.
	if status, _, body := s.do(t, "POST", "/api/v1/packages/gemorg/rubygems/rg-a/1.1.0/-/unyank", "", tokenHeader(key)); status != http.StatusNoContent {
		t.Fatalf("unyank: %d %s", status, body)
	}
	log.take()
	g.must(pinned, nil, "bundle", "install")
	checkRangedIn := paths(log.take(), base)
	if !slices.Contains(checkRangedIn, "GET versions Partial Content") {
		t.Errorf("bundle install after the unyank: %v", checkRangedIn)
	}
}

// TestRubyGemsRealBundlerPrivateOrg: a private organisation's source. An
// anonymous Bundler is asked to sign in (401) and says how; credentials in
// the source URL, or from bundle config under the source URL or the host,
// install, every request carrying them; gem install takes them from the
// source URL.
func TestRubyGemsRealBundlerPrivateOrg(t *testing.T) {
	g := newGemEnv(t)
	s := newServer(t)
	s.createUser(t, "alice")
	if _, _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateOrg(gitea.CreateOrgOption{Name: "secretgems", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	key := packageToken(t, s, "alice", "gem", "write:package")
	reader := packageToken(t, s, "alice", "bundler", "read:package")
	log := newRequestLog(t, s.URL)
	base := "/api/packages/secretgems/rubygems/"
	source := log.URL + base
	built := g.buildGems(builtGem{name: "rg-a", version: "1.0.0"}, builtGem{name: "rg-b", version: "1.0.0", deps: []string{`"rg-a", "~> 1.0"`}})
	for _, f := range []string{"rg-a-1.0.0.gem", "rg-b-1.0.0.gem"} {
		g.must(built, []string{"GEM_HOST_API_KEY=" + key}, "gem", "push", f, "--host", strings.TrimSuffix(source, "/"))
	}
	gemfile := "source \"" + source + "\"\ngem \"rg-b\"\n"
	log.take()

	anon := g.project(gemfile)
	g.fails(anon, nil, "Authentication is required for 127.0.0.1", "bundle", "install")
	if rs := log.take(); len(rs) == 0 || rs[0].Status != http.StatusUnauthorized {
		t.Errorf("an anonymous Bundler got %v", paths(rs, base))
	}

	withURL := g.project(strings.Replace(gemfile, "http://", "http://alice:"+reader+"@", 1))
	g.must(withURL, nil, "bundle", "install")
	checkAuthed := func(what string) {
		t.Helper()
		rs := log.take()
		got := paths(rs, base)
		for _, want := range []string{"GET versions OK", "GET info/rg-b OK", "GET info/rg-a OK", "GET gems/rg-a-1.0.0.gem OK", "GET gems/rg-b-1.0.0.gem OK"} {
			if !slices.Contains(got, want) {
				t.Errorf("%s: no %q in %v", what, want, got)
			}
		}
		for _, r := range rs {
			if !r.Auth {
				t.Errorf("%s: %s %s without credentials", what, r.Method, r.Path)
			}
		}
	}
	checkAuthed("credentials in the source URL")

	// bundle config under the source URL, then the host with the token
	// alone; each in a new home, so that nothing is cached.
	for _, c := range []struct{ key, value string }{{source, "alice:" + reader}, {"127.0.0.1", reader}} {
		g2 := newGemEnv(t)
		dir := g2.project(gemfile)
		g2.must(dir, nil, "bundle", "config", "set", "--local", c.key, c.value)
		g2.must(dir, nil, "bundle", "install")
		checkAuthed("bundle config " + c.key)
	}

	empty := t.TempDir()
	out := g.must(empty, nil, "gem", "install", "rg-b", "--clear-sources", "--source", strings.Replace(source, "http://", "http://alice:"+reader+"@", 1), "--no-document")
	if !strings.Contains(out, "Successfully installed rg-b-1.0.0") {
		t.Errorf("gem install with credentials said:\n%s", out)
	}
	// A read:package token installs but does not push.
	out = g.fails(built, []string{"GEM_HOST_API_KEY=" + reader}, "write:package", "gem", "push", "rg-a-1.0.0.gem", "--host", strings.TrimSuffix(source, "/"))
	if strings.Contains(out, "The API key doesn't have access") {
		t.Errorf("a 403 whose text starts so makes gem ask for an e-mail and password:\n%s", out)
	}
}

// TestRubyGemsRealSignIn: what a user of this instance tries to get gem a
// key. gem push without a key signs in itself (e-mail and password
// prompts; the user name goes in the e-mail) and stores the key it is
// given for the host; gem signin (with RUBYGEMS_HOST: RubyGems 3.3's
// --host asks rubygems.org first) does the same with the scopes the user
// picks; a wrong password and a token in place of the password fail with
// what to do.
func TestRubyGemsRealSignIn(t *testing.T) {
	requireClient(t, "script")
	g := newGemEnv(t)
	s := newServer(t)
	s.createUser(t, "alice")
	base := gemsPath("alice")
	host := s.URL + strings.TrimSuffix(base, "/")
	built := g.buildGems(builtGem{name: "rg-a", version: "1.0.0"}, builtGem{name: "rg-a", version: "1.1.0"})

	out, err := g.interact(built, nil, []prompt{{"Email:", "alice"}, {"Password:", "wrong-password"}}, "push", "rg-a-1.0.0.gem", "--host", host)
	if err == nil || !strings.Contains(out, "gem needs an access token") {
		t.Fatalf("gem push with a wrong password: %v\n%s", err, out)
	}
	out, err = g.interact(built, nil, []prompt{{"Email:", "alice"}, {"Password:", "alice-password"}}, "push", "rg-a-1.0.0.gem", "--host", host)
	if err != nil || !strings.Contains(out, "Signed in with API key") || !strings.Contains(out, "Successfully registered gem: rg-a (1.0.0)") {
		t.Fatalf("gem push signing in: %v\n%s", err, out)
	}
	// The key was stored for the host (where RubyGems 3.3 keeps it when
	// ~/.gem/credentials does not exist), and pushes without asking.
	creds := readFile(t, filepath.Join(g.home, ".local", "share", "gem", "credentials"))
	if !regexp.MustCompile(regexp.QuoteMeta(host) + `: [0-9a-f]{40}\n`).MatchString(creds) {
		t.Errorf("credentials:\n%s", creds)
	}
	g.must(built, nil, "gem", "push", "rg-a-1.1.0.gem", "--host", host)

	g2 := newGemEnv(t)
	out, err = g2.interact(built, []string{"RUBYGEMS_HOST=" + host}, []prompt{{"Email:", "alice"}, {"Password:", "alice-password"}, {"API Key name", "laptop"},
		{"index_rubygems", "y"}, {"push_rubygem", "n"}, {"yank_rubygem", "n"}, {"add_owner", "n"}, {"remove_owner", "n"}, {"access_webhooks", "n"}, {"show_dashboard", "n"}}, "signin")
	if err != nil || !strings.Contains(out, "Signed in with API key: laptop") {
		t.Fatalf("gem signin: %v\n%s", err, out)
	}
	// A key asked for to read only reads.
	creds = readFile(t, filepath.Join(g2.home, ".local", "share", "gem", "credentials"))
	tok := regexp.MustCompile(`[0-9a-f]{40}`).FindString(creds)
	status, _, body := s.do(t, "GET", base+"versions", "", map[string]string{"Authorization": tok})
	if status != http.StatusOK {
		t.Errorf("read with the read-only key: %d %s", status, body)
	}
	if status, body := s.pushGem(t, "alice", tok, mustRead(t, filepath.Join(built, "rg-a-1.0.0.gem"))); status != http.StatusForbidden || !strings.Contains(body, "write:package") {
		t.Errorf("push with the read-only key: %d %s", status, body)
	}

	// A token where the password goes: refused, with what to do instead.
	admin := packageToken(t, s, "alice", "t", "write:package")
	status, _, body = s.do(t, "POST", base+"api/v1/api_key", "name=x&push_rubygem=true", basic("alice", admin))
	if status != http.StatusForbidden || !strings.Contains(body, "not an access token") {
		t.Errorf("api_key with a token: %d %s", status, body)
	}
	status, _, body = s.do(t, "POST", base+"api/v1/api_key", "name=x", nil)
	if status != http.StatusUnauthorized || !strings.Contains(body, "gem signin") {
		t.Errorf("api_key without credentials: %d %s", status, body)
	}
	// The key is the body alone: gem stores it as it is.
	status, hdr, body := s.do(t, "POST", base+"api/v1/api_key", "name=ci&push_rubygem=true", basic("alice", "alice-password"))
	if status != http.StatusOK || !regexp.MustCompile(`\A[0-9a-f]{40}\z`).MatchString(body) || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("api_key: %d %q %v", status, body, hdr)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
