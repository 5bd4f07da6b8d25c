package rubygems_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"wharf/modules/packages/rubygems"
	"wharf/modules/packages/rubygems/gemtest"
)

var tuples = []rubygems.NameTuple{
	{"hola", "1.0.0", "ruby"},
	{"hola", "1.0.0", "x86_64-linux"},
	{"hola", "1.10.0", "ruby"},
	{"hola", "1.9.0", "java"},
	{"hola", "2.0.0.beta1", "ruby"},
	{"ruby", "1.0.0", "ruby"},
	{"tiny", "0.1.2", "ruby"},
	{"tiny", "0.1.10", "ruby"},
	{"tiny", "0.1.10", "java"},
}

// rubyMinimizeScript dumps the tuples given as "name version platform"
// lines the way rubygems.org's Indexer does (minimize_specs, then
// Marshal.dump), and prints the hex.
const rubyMinimizeScript = `
data = STDIN.read.split("\n").map { |l| l.split(" ").map(&:dup) }
names     = Hash.new { |h, k| h[k] = k }
versions  = Hash.new { |h, k| h[k] = Gem::Version.new(k) }
platforms = Hash.new { |h, k| h[k] = k }
data.each do |row|
  row[0] = names[row[0]]
  row[1] = versions[row[1].strip]
  row[2] = platforms[row[2]]
end
puts Marshal.dump(data).unpack1("H*")
`

func tupleLines(ts []rubygems.NameTuple) []byte {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.Name + " " + t.Version + " " + t.Platform + "\n")
	}
	return []byte(b.String())
}

func TestSpecsIndexMatchesRuby(t *testing.T) {
	sorted := append([]rubygems.NameTuple{}, tuples...)
	rubygems.SortTuples(sorted)
	for _, ts := range [][]rubygems.NameTuple{nil, tuples, sorted, rubygems.LatestTuples(tuples)} {
		got, err := rubygems.MarshalTuples(ts)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := hex.DecodeString(strings.TrimSpace(string(gemtest.RunRuby(t, tupleLines(ts), rubyMinimizeScript))))
		if !bytes.Equal(got, want) {
			t.Errorf("%v:\n got %x\nwant %x", ts, got, want)
		}
	}
}

func TestSortAndLatestTuples(t *testing.T) {
	sorted := append([]rubygems.NameTuple{}, tuples...)
	rubygems.SortTuples(sorted)
	want := []rubygems.NameTuple{
		{"hola", "1.0.0", "ruby"}, {"hola", "1.0.0", "x86_64-linux"}, {"hola", "1.9.0", "java"}, {"hola", "1.10.0", "ruby"},
		{"hola", "2.0.0.beta1", "ruby"}, {"ruby", "1.0.0", "ruby"}, {"tiny", "0.1.2", "ruby"}, {"tiny", "0.1.10", "java"},
		{"tiny", "0.1.10", "ruby"},
	}
	if !reflect.DeepEqual(sorted, want) {
		t.Errorf("SortTuples = %v", sorted)
	}
	// The highest release of each gem on each platform: 2.0.0.beta1 is a
	// pre-release and never the latest.
	latest := rubygems.LatestTuples(tuples)
	want = []rubygems.NameTuple{
		{"hola", "1.0.0", "x86_64-linux"}, {"hola", "1.9.0", "java"}, {"hola", "1.10.0", "ruby"}, {"ruby", "1.0.0", "ruby"},
		{"tiny", "0.1.10", "java"}, {"tiny", "0.1.10", "ruby"},
	}
	if !reflect.DeepEqual(latest, want) {
		t.Errorf("LatestTuples = %v", latest)
	}
}

// TestSpecsIndexLoadsInRubyGems reads specs.4.8.gz as `gem list --remote`
// does (Gem::Source#load_specs: Gem::Util.gunzip, Marshal.load) and wants
// the tuples back, as Gem::NameTuple would take them.
func TestSpecsIndexLoadsInRubyGems(t *testing.T) {
	body, err := rubygems.SpecsIndex(tuples)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(zr); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "specs.4.8.gz")
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	out := gemtest.RunRuby(t, nil, `
Marshal.load(Gem::Util.gunzip(File.binread(ARGV[0]))).each do |n, v, pl|
  t = Gem::NameTuple.new(n, v, pl)
  puts [t.name, t.version.class, t.version.to_s, t.platform, t.full_name].join(" ")
end`, p)
	var want strings.Builder
	for _, tu := range tuples {
		want.WriteString(tu.Name + " Gem::Version " + tu.Version + " " + tu.Platform + " " + rubygems.FullName(tu.Name, tu.Version, tu.Platform) + "\n")
	}
	if string(out) != want.String() {
		t.Errorf("RubyGems read:\n%s\nwant:\n%s", out, want.String())
	}
}
