package tests

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/setting"
)

// decodeComposerStrict decodes body into v, refusing unknown fields and trailing
// data.
func decodeComposerStrict(t *testing.T, body string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	if dec.More() {
		t.Fatalf("trailing data after the document: %q", body)
	}
}

// composerClass is an archive of one package with one class whose static
// method says says.
func composerClass(name, class, says string, require map[string]string) []byte {
	vendor, pkg, _ := strings.Cut(name, "/")
	ns := strings.ToUpper(vendor[:1]) + vendor[1:] + "\\" + strings.ToUpper(pkg[:1]) + pkg[1:]
	manifest, _ := json.Marshal(map[string]any{"name": name, "require": require,
		"autoload": map[string]any{"psr-4": map[string]string{ns + "\\": "src/"}}})
	return composerZip("", map[string]string{
		"composer.json":         string(manifest),
		"src/" + class + ".php": "<?php\nnamespace " + ns + ";\nclass " + class + " { public static function says(): string { return " + fmt.Sprintf("%q", says) + "; } }\n",
	})
}

type composerP2 struct {
	Packages map[string][]map[string]json.RawMessage `json:"packages"`
}

type composerDistRef struct {
	Type      string `json:"type"`
	URL       string `json:"url"`
	Reference string `json:"reference"`
	Shasum    string `json:"shasum"`
}

// TestVirtualComposer: composer installs through a virtual registry's URL
// packages spread over two local owners and an upstream (a second
// Wharf); a private member's package is invisible to an outsider; a local
// name shadows the upstream's; with the upstream stopped, the cached
// archives still install and the upstream's metadata is served stale with
// a warning.
func TestVirtualComposer(t *testing.T) {
	requireClient(t, "composer")
	requireClient(t, "php")
	up := newServer(t)
	upRoot := up.client(t, gitea.SetToken(up.AdminToken))
	if _, _, err := upRoot.CreateOrg(gitea.CreateOrgOption{Name: "uporg"}); err != nil {
		t.Fatal(err)
	}
	put := func(s *server, owner, version string, z []byte, h map[string]string) {
		t.Helper()
		status, _, body := s.do(t, "PUT", "/api/packages/"+owner+"/composer?version="+version, string(z), h)
		if status != http.StatusCreated {
			t.Fatalf("upload to %s: %d %s", owner, status, body)
		}
	}
	upH := tokenHeader(up.AdminToken)
	put(up, "uporg", "1.0.0", composerClass("upco/base", "Base", "upstream base", nil), upH)
	put(up, "uporg", "1.0.0", composerClass("shared/lib", "Lib", "upstream shared", nil), upH)
	put(up, "uporg", "dev-main", composerClass("upco/base", "Base", "upstream base, main branch", nil), upH)

	// Every upstream document is revalidated: the stale copy after the
	// upstream stops is then the one served with a warning.
	s := newServer(t, func(c *setting.Config) { c.Packages.Virtual.MetadataTTL = 0 })
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
	put(s, "team-a", "1.0.0", composerClass("teama/app", "App", "app of team-a",
		map[string]string{"upco/base": "^1.0", "teamb/util": "^1.0", "shared/lib": "*"}), f.rootH)
	put(s, "team-a", "2.0.0", composerClass("shared/lib", "Lib", "local shared", nil), f.rootH)
	put(s, "team-b", "1.0.0", composerClass("teamb/util", "Util", "util of team-b", nil), f.rootH)
	put(s, "secret", "1.0.0", composerClass("hidden/thing", "Thing", "secret thing", nil), f.aliceH)
	// Local members only: packages.json lists the names the caller may
	// read, so composer asks for no other.
	if status, body := f.putVirtual(t, "hub", "composer", `{"members":[{"owner":"secret"},{"owner":"team-a"},{"owner":"team-b"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	for _, c := range []struct {
		h    map[string]string
		want string
	}{{f.aliceH, "[hidden/thing shared/lib teama/app teamb/util]"}, {f.bobH, "[shared/lib teama/app teamb/util]"}} {
		status, _, body := s.do(t, "GET", "/api/packages/hub/composer/packages.json", "", c.h)
		var index struct {
			Packages          []json.RawMessage `json:"packages"`
			MetadataURL       string            `json:"metadata-url"`
			AvailablePackages []string          `json:"available-packages"`
			Search            string            `json:"search"`
			List              string            `json:"list"`
			NotifyBatch       string            `json:"notify-batch"`
		}
		decodeComposerStrict(t, body, &index)
		if status != 200 || fmt.Sprint(index.AvailablePackages) != c.want {
			t.Fatalf("packages.json of local members: %d %s, want available-packages %s", status, body, c.want)
		}
	}
	upstreamURL := up.URL + "/api/packages/uporg/composer/"
	members := fmt.Sprintf(`{"owner":"secret"},{"owner":"team-a"},{"owner":"team-b"},{"url":%q}`, upstreamURL)
	if status, body := f.putVirtual(t, "hub", "composer", `{"members":[`+members+`]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	hub := "/api/packages/hub/composer/"
	get := func(path string, h map[string]string) (int, http.Header, string) {
		t.Helper()
		return s.do(t, "GET", hub+path, "", h)
	}

	// packages.json: the virtual URL's own, without available-packages
	// (the upstream's names are not known in advance).
	status, _, body := get("packages.json", f.aliceH)
	var index struct {
		Packages          []json.RawMessage `json:"packages"`
		MetadataURL       string            `json:"metadata-url"`
		AvailablePackages []string          `json:"available-packages"`
		Search            string            `json:"search"`
		List              string            `json:"list"`
		NotifyBatch       string            `json:"notify-batch"`
	}
	decodeComposerStrict(t, body, &index)
	if status != 200 || index.MetadataURL != s.URL+hub+"p2/%package%.json" || index.AvailablePackages != nil ||
		index.Search != s.URL+hub+"search.json?q=%query%&type=%type%" {
		t.Fatalf("packages.json: %d %s", status, body)
	}

	p2 := func(name string, h map[string]string) (int, http.Header, composerP2) {
		t.Helper()
		status, hdr, body := get("p2/"+name+".json", h)
		var doc composerP2
		if status == 200 {
			decodeComposerStrict(t, body, &doc)
		}
		return status, hdr, doc
	}
	distOf := func(t *testing.T, v map[string]json.RawMessage) composerDistRef {
		t.Helper()
		var d composerDistRef
		decodeComposerStrict(t, string(v["dist"]), &d)
		return d
	}
	// A local name shadows the upstream's: only team-a's versions, with
	// team-a's dist URLs.
	status, _, doc := p2("shared/lib", f.aliceH)
	if status != 200 || len(doc.Packages["shared/lib"]) != 1 || string(doc.Packages["shared/lib"][0]["version"]) != `"2.0.0"` ||
		!strings.HasPrefix(distOf(t, doc.Packages["shared/lib"][0]).URL, s.URL+"/api/packages/team-a/composer/files/shared/lib/2.0.0/") {
		t.Fatalf("shared/lib through hub: %d %v", status, doc)
	}
	// The upstream's package, its dist URL at the virtual URL.
	status, _, doc = p2("upco/base", f.aliceH)
	if status != 200 || len(doc.Packages["upco/base"]) != 1 {
		t.Fatalf("upco/base through hub: %d %v", status, doc)
	}
	if d := distOf(t, doc.Packages["upco/base"][0]); d.URL != s.URL+hub+"files/upco/base/1.0.0/upco-base.1.0.0.zip" || len(d.Shasum) != 40 {
		t.Fatalf("upco/base's dist: %+v", d)
	}
	// Branch versions come from the ~dev document, stable ones never.
	status, _, doc = p2("upco/base~dev", f.aliceH)
	if status != 200 || len(doc.Packages["upco/base"]) != 1 || string(doc.Packages["upco/base"][0]["version"]) != `"dev-main"` ||
		distOf(t, doc.Packages["upco/base"][0]).URL != s.URL+hub+"files/upco/base/dev-main/upco-base.dev-main.zip" {
		t.Fatalf("upco/base~dev through hub: %d %v", status, doc)
	}
	if status, _, body := get("files/upco/base/dev-main/upco-base.dev-main.zip", f.aliceH); status != 200 || !strings.HasPrefix(body, "PK") {
		t.Fatalf("upco/base dev-main's archive: %d", status)
	}
	if status, _, _ := p2("shared/lib~dev", f.aliceH); status != 404 {
		t.Fatalf("shared/lib~dev (team-a has no branch versions, the upstream's is shadowed): %d", status)
	}
	// The private member's package: alice reads it, bob gets 404 for the
	// metadata and for the archive alice's document names.
	status, _, doc = p2("hidden/thing", f.aliceH)
	if status != 200 || len(doc.Packages["hidden/thing"]) != 1 {
		t.Fatalf("alice reads hidden/thing: %d %v", status, doc)
	}
	secretDist := distOf(t, doc.Packages["hidden/thing"][0]).URL
	if status, _, _ := p2("hidden/thing", f.bobH); status != 404 {
		t.Fatalf("bob reads hidden/thing: %d", status)
	}
	if status, _, _ := s.do(t, "GET", strings.TrimPrefix(secretDist, s.URL), "", f.bobH); status != 404 {
		t.Fatalf("bob downloads hidden/thing: %d", status)
	}
	if status, _, body := s.do(t, "GET", strings.TrimPrefix(secretDist, s.URL), "", f.aliceH); status != 200 || body == "" {
		t.Fatalf("alice downloads hidden/thing with her credentials: %d", status)
	}
	// A vendor naming an owner of this instance never goes upstream.
	if status, _, _ := p2("team-b/whatever", f.aliceH); status != 404 {
		t.Fatalf("a local owner's vendor: %d", status)
	}
	// Merged search and list, with access applied.
	searchNames := func(h map[string]string, q string) []string {
		t.Helper()
		status, _, body := get("search.json?q="+q, h)
		var res struct {
			Results []struct {
				Name        string `json:"name"`
				Description string `json:"description"`
				URL         string `json:"url"`
				Downloads   int64  `json:"downloads"`
				Favers      int64  `json:"favers"`
			} `json:"results"`
			Total int64  `json:"total"`
			Next  string `json:"next"`
		}
		decodeComposerStrict(t, body, &res)
		if status != 200 {
			t.Fatalf("search: %d %s", status, body)
		}
		var names []string
		for _, r := range res.Results {
			names = append(names, r.Name)
		}
		return names
	}
	if got := fmt.Sprint(searchNames(f.aliceH, "")); got != "[hidden/thing shared/lib teama/app teamb/util]" {
		t.Fatalf("alice's search: %s", got)
	}
	if got := fmt.Sprint(searchNames(f.bobH, "")); got != "[shared/lib teama/app teamb/util]" {
		t.Fatalf("bob's search: %s", got)
	}
	status, _, body = get("list.json?filter=hidden/*", f.bobH)
	var list struct {
		PackageNames []string `json:"packageNames"`
	}
	decodeComposerStrict(t, body, &list)
	if status != 200 || len(list.PackageNames) != 0 {
		t.Fatalf("bob's list: %d %s", status, body)
	}

	// Uploads: refused without a publishing member, in Composer's shape;
	// with one, stored there.
	z := composerClass("teamb/new", "Fresh", "new", nil)
	status, _, body = s.do(t, "PUT", hub[:len(hub)-1]+"?version=1.0.0", string(z), f.rootH)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, `"errors"`) || !strings.Contains(body, "team-a") {
		t.Fatalf("upload without publish_to: %d %s", status, body)
	}
	if status, body := f.putVirtual(t, "hub", "composer", `{"members":[`+members+`],"publish_to":"team-b"}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", hub[:len(hub)-1]+"?version=1.0.0", string(z), f.bobH); status != http.StatusForbidden || !strings.Contains(body, `"errors"`) {
		t.Fatalf("bob publishes to team-b: %d %s", status, body)
	}
	put(s, "hub", "1.0.0", z, f.rootH)
	if status, _, body := s.do(t, "GET", "/api/packages/team-b/composer/p2/teamb/new.json", "", nil); status != 200 {
		t.Fatalf("the upload did not land in team-b: %d %s", status, body)
	}

	if status, _, body := get("-/sources", f.rootH); status != http.StatusUnprocessableEntity || !strings.Contains(body, `"errors"`) {
		t.Fatalf("sources through hub: %d %s", status, body)
	}
	if status, _, body := get("nope/nope", f.rootH); status != http.StatusNotFound || !strings.Contains(body, `"errors"`) {
		t.Fatalf("an unknown path through hub: %d %s", status, body)
	}
	if status, _, body := get("p2/upco/base.txt", f.rootH); status != http.StatusNotFound || !strings.Contains(body, `"errors"`) {
		t.Fatalf("a p2 path without .json: %d %s", status, body)
	}

	// composer, as alice, through the virtual URL.
	home := t.TempDir()
	project := filepath.Join(home, "app")
	os.MkdirAll(project, 0o755)
	composerJSON := fmt.Sprintf(`{"name":"me/app","require":{"teama/app":"^1.0","hidden/thing":"^1.0"},
		"repositories":[{"type":"composer","url":"%s%s"},{"packagist.org":false}],
		"config":{"secure-http":false}}`, s.URL, strings.TrimSuffix(hub, "/"))
	os.WriteFile(filepath.Join(project, "composer.json"), []byte(composerJSON), 0o644)
	auth := fmt.Sprintf(`{"http-basic":{%q:{"username":"alice","password":"alice-password"}}}`, strings.TrimPrefix(s.URL, "http://"))
	os.WriteFile(filepath.Join(project, "auth.json"), []byte(auth), 0o644)
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), name, args...)
		cmd.Dir = project
		cmd.Env = append(os.Environ(), "COMPOSER_HOME="+filepath.Join(home, ".composer"), "COMPOSER_CACHE_DIR="+filepath.Join(home, ".cache"),
			"COMPOSER_NO_INTERACTION=1", "COMPOSER_ALLOW_SUPERUSER=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	const says = `require "vendor/autoload.php"; echo implode("|", [Teama\App\App::says(), Teamb\Util\Util::says(), Upco\Base\Base::says(), Shared\Lib\Lib::says(), Hidden\Thing\Thing::says()]);`
	const want = "app of team-a|util of team-b|upstream base|local shared|secret thing"
	run("composer", "install", "--no-progress", "--prefer-dist")
	if out := run("php", "-r", says); out != want {
		t.Fatalf("installed code says %q, want %q", out, want)
	}

	lock, _ := os.ReadFile(filepath.Join(project, "composer.lock"))
	if !strings.Contains(string(lock), s.URL+hub+"files/upco/base/1.0.0/") || strings.Contains(string(lock), up.URL) {
		t.Fatalf("composer.lock does not take upco/base from the virtual URL:\n%s", lock)
	}
	// The archive fetched from the upstream is the cache owner's package.
	if status, _, body := s.do(t, "GET", "/api/v1/packages/hub/composer/upco%2Fbase/1.0.0/files", "", f.rootH); status != 200 || !strings.Contains(body, "upco-base.1.0.0.zip") {
		t.Fatalf("hub's cached upco/base: %d %s", status, body)
	}

	// The upstream stops: the cached archive installs from the lock file
	// with composer's own cache gone, and the upstream's metadata is the
	// stale copy, with a warning.
	up.Stop()
	os.RemoveAll(filepath.Join(project, "vendor"))
	os.RemoveAll(filepath.Join(home, ".cache"))
	run("composer", "install", "--no-progress", "--prefer-dist")
	if out := run("php", "-r", says); out != want {
		t.Fatalf("installed code with the upstream stopped says %q", out)
	}
	status, hdr, doc := p2("upco/base", f.aliceH)
	if status != 200 || len(doc.Packages["upco/base"]) != 1 || !strings.HasPrefix(hdr.Get("Warning"), `199 - "`) {
		t.Fatalf("upco/base with the upstream stopped: %d %q %v", status, hdr.Get("Warning"), doc)
	}
	os.RemoveAll(filepath.Join(project, "vendor"))
	os.RemoveAll(filepath.Join(home, ".cache"))
	run("composer", "update", "--no-progress", "--prefer-dist")
	if out := run("php", "-r", says); out != want {
		t.Fatalf("updated code with the upstream stopped says %q", out)
	}
	// A name nobody has cached: the upstream cannot answer, nothing else
	// can: 503 with the warning. A local name still answers.
	status, hdr, _ = p2("upco/never", f.aliceH)
	if status != http.StatusServiceUnavailable || hdr.Get("Warning") == "" {
		t.Fatalf("upco/never with the upstream stopped: %d %q", status, hdr.Get("Warning"))
	}
	if status, _, _ := p2("teamb/util", f.aliceH); status != 200 {
		t.Fatalf("a local name with the upstream stopped: %d", status)
	}
}

// TestVirtualComposerFailingUpstreams: an upstream that answers garbage
// is skipped with a warning, the next one answers; a local name answers
// without asking any upstream; the upstream's minified documents are
// expanded; its credentials go to its own host only, never to the host
// of its dist archives; an archive whose SHA-1 is not the one its
// metadata names is refused and not stored, while a good one is stored
// and served after its host went away.
func TestVirtualComposerFailingUpstreams(t *testing.T) {
	var asked atomic.Int64
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		io.WriteString(w, "<html>not a registry")
	}))
	defer garbage.Close()
	archive := composerClass("vend/pkg", "Pkg", "from the cdn", nil)
	sum := sha1.Sum(archive)
	var cdnAuth atomic.Value
	cdnAuth.Store("")
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cdnAuth.Store(r.Header.Get("Authorization"))
		w.Write(archive)
	}))
	var upAuth atomic.Value
	upAuth.Store("")
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upAuth.Store(r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/repo/packages.json":
			io.WriteString(w, `{"packages":[],"metadata-url":"/repo/p2/%package%.json"}`)
		case "/repo/p2/vend/pkg.json":
			fmt.Fprintf(w, `{"minified":"composer/2.0","packages":{"vend/pkg":[
				{"name":"vend/pkg","version":"2.0.0","description":"vend's pkg","license":["MIT"],"dist":{"type":"zip","url":%q,"shasum":"%040d"}},
				{"version":"1.0.0","license":"__unset","dist":{"type":"zip","url":%q,"shasum":"%x"}}]}}`,
				cdn.URL+"/bad.zip", 0, cdn.URL+"/pkg.zip", sum)
		default:
			http.NotFound(w, r)
		}
	}))
	defer repo.Close()

	f := newVirtualFixture(t)
	s := f.s
	if status, _, body := s.do(t, "PUT", "/api/packages/team-a/composer?version=1.0.0", string(composerClass("teama/local", "Local", "local", nil)), f.rootH); status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	cfg := fmt.Sprintf(`{"members":[{"owner":"team-a"},{"url":%q},{"url":%q,"token":"up-token"}]}`, garbage.URL+"/", repo.URL+"/repo/")
	if status, body := f.putVirtual(t, "hub", "composer", cfg, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	hub := "/api/packages/hub/composer/"
	if status, hdr, body := s.do(t, "GET", hub+"p2/teama/local.json", "", nil); status != 200 || hdr.Get("Warning") != "" || asked.Load() != 0 {
		t.Fatalf("local name: %d %q %s (garbage upstream asked %d times)", status, hdr.Get("Warning"), body, asked.Load())
	}
	status, hdr, body := s.do(t, "GET", hub+"p2/vend/pkg.json", "", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Warning"), `199 - "`) || !strings.Contains(hdr.Get("Warning"), garbage.URL) {
		t.Fatalf("vend/pkg past the garbage upstream: %d %q %s", status, hdr.Get("Warning"), body)
	}
	var doc composerP2
	decodeComposerStrict(t, body, &doc)
	vs := doc.Packages["vend/pkg"]
	if len(vs) != 2 || string(vs[1]["name"]) != `"vend/pkg"` || string(vs[1]["description"]) != `"vend's pkg"` || vs[1]["license"] != nil ||
		string(vs[0]["license"]) != `["MIT"]` {
		t.Fatalf("the minified document is not expanded: %s", body)
	}
	var d composerDistRef
	decodeComposerStrict(t, string(vs[1]["dist"]), &d)
	if d.URL != s.URL+hub+"files/vend/pkg/1.0.0/vend-pkg.1.0.0.zip" || d.Shasum != fmt.Sprintf("%x", sum) {
		t.Fatalf("dist of 1.0.0: %+v", d)
	}
	if got := upAuth.Load(); got != "Bearer up-token" {
		t.Fatalf("the upstream got Authorization %q", got)
	}

	// A bad checksum: refused, nothing stored.
	status, hdr, body = s.do(t, "GET", hub+"files/vend/pkg/2.0.0/vend-pkg.2.0.0.zip", "", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(strings.Join(hdr.Values("Warning"), "\n"), "SHA-1") {
		t.Fatalf("archive with a bad checksum: %d %q %s", status, hdr.Values("Warning"), body)
	}
	if got := cdnAuth.Load(); got != "" {
		t.Fatalf("the upstream's credentials went to the archive's host: %q", got)
	}
	status, _, body = s.do(t, "GET", hub+"files/vend/pkg/1.0.0/vend-pkg.1.0.0.zip", "", nil)
	if status != 200 || body != string(archive) {
		t.Fatalf("archive: %d (%d bytes)", status, len(body))
	}
	if status, _, body := s.do(t, "GET", hub+"files/vend/pkg/1.0.0/other.zip", "", nil); status != 404 {
		t.Fatalf("another file name: %d %s", status, body)
	}
	cdn.Close()
	repo.Close()
	if status, _, body := s.do(t, "GET", hub+"files/vend/pkg/1.0.0/vend-pkg.1.0.0.zip", "", nil); status != 200 || body != string(archive) {
		t.Fatalf("cached archive with its hosts gone: %d (%d bytes)", status, len(body))
	}
	if status, _, body := s.do(t, "GET", hub+"files/vend/pkg/2.0.0/vend-pkg.2.0.0.zip", "", nil); status == 200 {
		t.Fatalf("the refused archive was stored: %d %s", status, body)
	}
}
