package rubygems_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"wharf/modules/packages/rubygems"
	"wharf/modules/packages/rubygems/gemtest"
)

// fixtures are the gems testdata/build.sh made with the real `gem build`.
var fixtures = []string{"hola-1.0.0.gem", "hola-2.0.0.beta1.gem", "hola-1.0.0-x86_64-linux.gem", "tiny-0.1.2.gem"}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseFixture(t testing.TB, name string) *rubygems.Spec {
	t.Helper()
	b := readFixture(t, name)
	s, err := rubygems.ParseGem(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestParseGemFixtures(t *testing.T) {
	date := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	hola := func(version, platform string, needsRubyGems []string) *rubygems.Spec {
		return &rubygems.Spec{
			Name: "hola", Version: version, Platform: platform,
			Summary:     "Hola!",
			Description: "A gem that says hola, with a runtime and a development dependency.",
			Authors:     []string{"Ann Author", "Bob Builder"},
			Emails:      []string{"ann@example.com"},
			Homepage:    "https://example.com/hola",
			Licenses:    []string{"MIT"},
			Metadata: []rubygems.MetadataEntry{
				{Key: "source_code_uri", Value: "https://example.com/hola/src"},
				{Key: "rubygems_mfa_required", Value: "true"},
			},
			RequiredRubyVersion:     []string{">= 2.7.0"},
			RequiredRubyGemsVersion: needsRubyGems,
			Dependencies: []rubygems.Dependency{
				{Name: "tiny", Requirements: []string{"~> 0.1", ">= 0.1.2"}, Type: rubygems.DependencyRuntime},
				{Name: "minitest", Requirements: []string{"~> 5.0"}, Type: rubygems.DependencyDevelopment},
			},
			Date: date, RubyGemsVersion: "3.3.15", SpecificationVersion: 4,
		}
	}
	want := map[string]*rubygems.Spec{
		"hola-1.0.0.gem": hola("1.0.0", "ruby", []string{">= 0"}),
		// `gem build` gives a pre-release "> 1.3.1" of RubyGems.
		"hola-2.0.0.beta1.gem":        hola("2.0.0.beta1", "ruby", []string{"> 1.3.1"}),
		"hola-1.0.0-x86_64-linux.gem": hola("1.0.0", "x86_64-linux", []string{">= 0"}),
		"tiny-0.1.2.gem": {
			Name: "tiny", Version: "0.1.2", Platform: "ruby", Summary: "Tiny",
			Authors: []string{"Ann Author"}, Emails: []string{"ann@example.com", "tiny@example.com"}, EmailIsList: true,
			RequiredRubyVersion: []string{">= 0"}, RequiredRubyGemsVersion: []string{">= 0"},
			Date: date, RubyGemsVersion: "3.3.15", SpecificationVersion: 4,
		},
	}
	for _, name := range fixtures {
		got := parseFixture(t, name)
		if !reflect.DeepEqual(got, want[name]) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want[name])
		}
		if got.FileName() != name {
			t.Errorf("%s: FileName() = %q", name, got.FileName())
		}
		if want := "quick/Marshal.4.8/" + strings.TrimSuffix(name, ".gem") + ".gemspec.rz"; got.QuickSpecPath() != want {
			t.Errorf("%s: QuickSpecPath() = %q, want %q", name, got.QuickSpecPath(), want)
		}
	}
	if !parseFixture(t, "hola-2.0.0.beta1.gem").IsPrerelease() || parseFixture(t, "hola-1.0.0.gem").IsPrerelease() {
		t.Error("IsPrerelease")
	}
	if deps := parseFixture(t, "hola-1.0.0.gem").RuntimeDependencies(); len(deps) != 1 || deps[0].Name != "tiny" {
		t.Errorf("RuntimeDependencies = %+v", deps)
	}
}

// rubySpecScript loads each .gem named on the command line as RubyGems
// does (Gem::Package#spec, which verifies the gem), makes it what
// rubygems.org's Pusher#serialize_spec dumps (dup, abbreviate, sanitize),
// and prints the hex
// of Marshal.dump of it, one line per gem.
const rubySpecScript = `
require "rubygems/package"
ARGV.each do |path|
  spec = Gem::Package.new(path).spec.dup
  spec.abbreviate
  spec.sanitize
  puts Marshal.dump(spec).unpack1("H*")
end
`

// TestQuickGemspecMatchesRuby compares the Marshal dump of each fixture's
// Gem::Specification with Ruby's, byte for byte: what rubygems.org serves
// as quick/Marshal.4.8/*.gemspec.rz, before deflation.
func TestQuickGemspecMatchesRuby(t *testing.T) {
	var paths []string
	for _, name := range fixtures {
		paths = append(paths, filepath.Join("testdata", name))
	}
	out := gemtest.RunRuby(t, nil, rubySpecScript, paths...)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(fixtures) {
		t.Fatalf("ruby printed %d lines for %d gems", len(lines), len(fixtures))
	}
	for i, name := range fixtures {
		got, err := rubygems.MarshalSpec(parseFixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := hex.DecodeString(lines[i])
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", name, got, want)
		}
	}
}

// rubyLoadScript reads quick gemspecs (zlib, Marshal) the way `gem install`
// does (Gem::Source#fetch_spec: Gem::Util.inflate, Marshal.load) and
// prints what a client uses of each, to compare with the gem itself. The
// licenses are not compared: Gem::Specification._load puts them in
// @license, where nothing reads them, so no quick gemspec has any.
const rubyLoadScript = `
require "rubygems/package"
def show(spec)
  [spec.class, spec.name, spec.version.to_s, spec.version.class, spec.platform.to_s, spec.original_platform.to_s,
   spec.full_name, spec.original_name, spec.summary, spec.description.to_s, spec.email, spec.authors, spec.homepage,
   spec.metadata, spec.date, spec.required_ruby_version.to_s, spec.required_rubygems_version.to_s,
   spec.required_ruby_version.satisfied_by?(Gem::Version.new(RUBY_VERSION)),
   spec.dependencies.map { |d| [d.name, d.type, d.requirement.to_s, d.prerelease?, d.class] },
   spec.runtime_dependencies.map(&:to_s), spec.specification_version].inspect
end
ARGV.each_slice(2) do |gem, rz|
  want = show(Gem::Package.new(gem).spec)
  got = show(Marshal.load(Gem::Util.inflate(File.binread(rz))))
  puts(got == want ? "same #{gem}" : "differ #{gem}\n got #{got}\nwant #{want}")
end
`

func TestQuickGemspecLoadsInRubyGems(t *testing.T) {
	dir := t.TempDir()
	var args []string
	for _, name := range fixtures {
		rz, err := rubygems.QuickGemspec(parseFixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".rz")
		if err := os.WriteFile(p, rz, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, filepath.Join("testdata", name), p)
	}
	out := string(gemtest.RunRuby(t, nil, rubyLoadScript, args...))
	for _, name := range fixtures {
		if !strings.Contains(out, "same testdata/"+name+"\n") {
			t.Errorf("RubyGems read %s's quick gemspec differently:\n%s", name, out)
		}
	}
}
