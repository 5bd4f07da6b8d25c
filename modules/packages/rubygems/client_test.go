package rubygems_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/modules/packages/rubygems"
	"wharf/modules/packages/rubygems/gemtest"
)

// source is a static RubyGems source made of this package's bodies only:
// what a registry serves once its service has stored the fixtures.
type source struct {
	files map[string][]byte
	mu    sync.Mutex
	seen  []string
}

func newSource(t *testing.T) *source {
	s := &source{files: map[string][]byte{}}
	var all []rubygems.NameTuple
	infos := map[string][]rubygems.InfoVersion{}
	var names []string
	for _, name := range fixtures {
		b := readFixture(t, name)
		spec := parseFixture(t, name)
		rz, err := rubygems.QuickGemspec(spec)
		if err != nil {
			t.Fatal(err)
		}
		s.files["/"+spec.QuickSpecPath()] = rz
		s.files["/gems/"+spec.FileName()] = b
		sum := sha256.Sum256(b)
		if infos[spec.Name] == nil {
			names = append(names, spec.Name)
		}
		infos[spec.Name] = append(infos[spec.Name], spec.InfoVersion(hex.EncodeToString(sum[:])))
		all = append(all, rubygems.NameTuple{Name: spec.Name, Version: spec.Version, Platform: spec.Platform})
	}
	rubygems.SortTuples(all)
	var releases, pre []rubygems.NameTuple
	for _, tu := range all {
		if rubygems.IsPrerelease(tu.Version) {
			pre = append(pre, tu)
		} else {
			releases = append(releases, tu)
		}
	}
	for path, tuples := range map[string][]rubygems.NameTuple{
		"/specs.4.8.gz": releases, "/prerelease_specs.4.8.gz": pre, "/latest_specs.4.8.gz": rubygems.LatestTuples(all),
	} {
		b, err := rubygems.SpecsIndex(tuples)
		if err != nil {
			t.Fatal(err)
		}
		s.files[path] = b
	}
	slices.Sort(names)
	versions := rubygems.VersionsHeader(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC))
	for _, n := range names {
		info := rubygems.Info(infos[n])
		s.files["/info/"+n] = info
		var entries []string
		for _, v := range infos[n] {
			entries = append(entries, rubygems.VersionsEntry(v.Version, v.Platform, false))
		}
		versions += rubygems.VersionsLine(n, entries, rubygems.InfoChecksum(info))
	}
	s.files["/versions"] = []byte(versions)
	s.files["/names"] = rubygems.Names(names)
	s.files["/"] = nil
	return s
}

func (s *source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen = append(s.seen, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	b, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(b)
}

func (s *source) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// localHola is the full name of the hola 1.0.0 that clients on this
// machine pick: the x86_64-linux gem on such a machine, the Ruby one
// elsewhere.
func localHola(t *testing.T) string {
	if strings.TrimSpace(string(gemtest.RunRuby(t, nil, "print Gem::Platform.local.to_s"))) == "x86_64-linux" {
		return "hola-1.0.0-x86_64-linux"
	}
	return "hola-1.0.0"
}

// runGem runs the real gem command with a home of its own, so that no
// user configuration or cache takes part.
func runGem(t *testing.T, home string, args ...string) string {
	t.Helper()
	gem := gemtest.RequireRuby(t, "gem")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gem, args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "GEM_HOME="+filepath.Join(home, "gems"), "GEM_PATH="+filepath.Join(home, "gems"),
		"GEM_SPEC_CACHE="+filepath.Join(home, "specs"), "RUBYOPT=", "GEMRC="+filepath.Join(home, "gemrc"), "http_proxy=", "HTTP_PROXY=", "no_proxy=*")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("gem %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestRealGemClient serves the fixtures with nothing but this package's
// bodies and lets the real `gem` use them: install through the compact
// index (info lines, then quick gemspecs, then the files), and list and
// show through the Marshal indexes.
func TestRealGemClient(t *testing.T) {
	gemtest.RequireRuby(t, "gem")
	src := newSource(t)
	srv := httptest.NewServer(src)
	t.Cleanup(srv.Close)
	url := srv.URL + "/"

	home := t.TempDir()
	out := runGem(t, home, "install", "hola", "--clear-sources", "--source", url, "--no-document")
	// On x86_64-linux RubyGems takes the platform gem, elsewhere the Ruby
	// one; and tiny, which it depends on.
	hola := localHola(t)
	for _, want := range []string{"Successfully installed tiny-0.1.2", "Successfully installed " + hola} {
		if !strings.Contains(out, want) {
			t.Errorf("gem install said:\n%s\nwant %q", out, want)
		}
	}
	reqs := src.requests()
	for _, want := range []string{"HEAD /", "GET /info/hola", "GET /info/tiny", "GET /quick/Marshal.4.8/" + hola + ".gemspec.rz",
		"GET /gems/" + hola + ".gem", "GET /gems/tiny-0.1.2.gem"} {
		if !slices.Contains(reqs, want) {
			t.Errorf("gem install did not ask for %q; it asked for %v", want, reqs)
		}
	}

	home = t.TempDir()
	out = runGem(t, home, "list", "--remote", "--all", "--clear-sources", "--source", url)
	for _, want := range []string{"hola (1.0.0 ruby x86_64-linux)", "tiny (0.1.2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("gem list --remote said:\n%s\nwant %q", out, want)
		}
	}
	out = runGem(t, home, "list", "--remote", "--prerelease", "--clear-sources", "--source", url)
	if !strings.Contains(out, "hola (2.0.0.beta1)") {
		t.Errorf("gem list --remote --prerelease said:\n%s", out)
	}
	// (`--platform ruby` selects nothing in RubyGems 3.3, a bug of its
	// own; the platform gem and the pre-release cover both kinds.)
	out = runGem(t, home, "specification", "hola", "--remote", "--platform", "x86_64-linux", "--clear-sources", "--source", url)
	for _, want := range []string{"name: hola", "version: 1.0.0", "platform: x86_64-linux", "name: tiny", "type: :runtime", "name: minitest",
		"type: :development", "version: 0.1.2", "summary: Hola!", "source_code_uri: https://example.com/hola/src"} {
		if !strings.Contains(out, want) {
			t.Errorf("gem specification --remote said:\n%s\nwant %q", out, want)
		}
	}
	out = runGem(t, home, "specification", "hola", "--remote", "--prerelease", "-v", "2.0.0.beta1", "--clear-sources", "--source", url)
	for _, want := range []string{"name: hola", "version: 2.0.0.beta1", "platform: ruby", "- - \">\"\n    - !ruby/object:Gem::Version\n      version: 1.3.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("gem specification --remote --prerelease said:\n%s\nwant %q", out, want)
		}
	}
	reqs = src.requests()
	for _, want := range []string{"GET /specs.4.8.gz", "GET /prerelease_specs.4.8.gz", "GET /latest_specs.4.8.gz",
		"GET /quick/Marshal.4.8/hola-2.0.0.beta1.gemspec.rz"} {
		if !slices.Contains(reqs, want) {
			t.Errorf("gem list/specification did not ask for %q; it asked for %v", want, reqs)
		}
	}
}

// TestRealBundler lets the real Bundler install from the same static
// source: it must take the compact index (versions, then info/{name}),
// resolve the platform gem and its dependency, and accept each download's
// SHA-256 against the info line's checksum.
func TestRealBundler(t *testing.T) {
	bundle := gemtest.RequireRuby(t, "bundle")
	src := newSource(t)
	srv := httptest.NewServer(src)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Gemfile"), []byte("source \""+srv.URL+"/\"\ngem \"hola\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bundle, "install")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "BUNDLE_USER_HOME="+filepath.Join(dir, ".bundle-home"), "BUNDLE_APP_CONFIG="+filepath.Join(dir, ".bundle"),
		"BUNDLE_PATH="+filepath.Join(dir, "vendor"), "BUNDLE_GEMFILE="+filepath.Join(dir, "Gemfile"), "GEM_HOME=", "GEM_PATH=", "RUBYOPT=",
		"http_proxy=", "HTTP_PROXY=", "no_proxy=*")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bundle install: %v\n%s", err, out)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "Gemfile.lock"))
	if err != nil {
		t.Fatal(err)
	}
	hola := localHola(t)
	for _, want := range []string{"hola (" + strings.TrimPrefix(hola, "hola-") + ")\n      tiny (~> 0.1, >= 0.1.2)", "tiny (0.1.2)"} {
		if !strings.Contains(string(lock), want) {
			t.Errorf("Gemfile.lock:\n%s\nwant %q", lock, want)
		}
	}
	reqs := src.requests()
	for _, want := range []string{"GET /versions", "GET /info/hola", "GET /info/tiny", "GET /gems/" + hola + ".gem", "GET /gems/tiny-0.1.2.gem"} {
		if !slices.Contains(reqs, want) {
			t.Errorf("bundle install did not ask for %q; it asked for %v", want, reqs)
		}
	}
	for _, r := range reqs {
		if strings.Contains(r, "specs.4.8.gz") || strings.Contains(r, "/api/v1/dependencies") {
			t.Errorf("bundle install left the compact index for %s", r)
		}
	}
}
