package rubygems_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/rubygems"
	"wharf/modules/packages/rubygems/gemtest"
)

func parse(b []byte) (*rubygems.Spec, error) {
	return rubygems.ParseGem(bytes.NewReader(b), int64(len(b)))
}

// gemWith is a .gem whose metadata.gz holds yaml.
func gemWith(yaml string) []byte { return gemtest.Gem(yaml) }

func meta(lines ...string) string {
	y := gemtest.Metadata("hola", "1.0.0")
	for i := 0; i+1 < len(lines); i += 2 {
		y = gemtest.Replace(y, lines[i], lines[i+1])
	}
	return y
}

func TestParseGemGoodVariants(t *testing.T) {
	metaGz := gemtest.Gzip([]byte(gemtest.Metadata("hola", "1.0.0")))
	data := gemtest.DataTarGz("hola")
	for name, b := range map[string][]byte{
		"the helper's gem":      gemWith(gemtest.Metadata("hola", "1.0.0")),
		"no checksums.yaml.gz":  gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "data.tar.gz", Body: data}),
		"signatures and extras": gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "metadata.gz.sig", Body: []byte("sig")}, gemtest.File{Name: "data.tar.gz", Body: data}, gemtest.File{Name: "README", Body: []byte("hi")}),
		"data first":            gemtest.Tar(gemtest.File{Name: "data.tar.gz", Body: data}, gemtest.File{Name: "checksums.yaml.gz", Body: gemtest.Checksums(metaGz, data)}, gemtest.File{Name: "metadata.gz", Body: metaGz}),
		"unknown digest ignored": gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "data.tar.gz", Body: data},
			gemtest.File{Name: "checksums.yaml.gz", Body: gemtest.Gzip([]byte("---\nMD4:\n  metadata.gz: abc\nSHA256:\n  other.file: abc\n"))}),
		"YAML without document marker": gemWith(strings.TrimPrefix(gemtest.Metadata("hola", "1.0.0"), "--- ")),
		"a second gzip member, which RubyGems does not read": gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: append(append([]byte{}, metaGz...), gemtest.Gzip([]byte("name: other\n"))...)},
			gemtest.File{Name: "data.tar.gz", Body: data}),
	} {
		s, err := parse(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if s.FullName() != "hola-1.0.0" {
			t.Errorf("%s: read %s", name, s.FullName())
		}
	}
}

func TestParseGemRefusesDamage(t *testing.T) {
	metaGz := gemtest.Gzip([]byte(gemtest.Metadata("hola", "1.0.0")))
	data := gemtest.DataTarGz("hola")
	good := gemtest.Gem(gemtest.Metadata("hola", "1.0.0"))
	badCRC := append([]byte{}, data...)
	badCRC[len(badCRC)-6] ^= 0xff
	var many []gemtest.File
	for i := 0; i < 70; i++ {
		many = append(many, gemtest.File{Name: strings.Repeat("x", i+1), Body: []byte("x")})
	}
	bomb := gemtest.Gzip(bytes.Repeat([]byte(" "), rubygems.MaxMetadataSize+1))
	deep := meta("files", "files: "+strings.Repeat("[", 100)+strings.Repeat("]", 100))
	cases := []struct {
		name string
		gem  []byte
		kind apperr.Kind
		msg  string
	}{
		{"empty", nil, apperr.Invalid, "empty"},
		{"not a tar", []byte(strings.Repeat("hello world ", 100)), apperr.Invalid, "not a tar archive"},
		{"zeros", make([]byte, 2048), apperr.Invalid, "not a tar archive"},
		{"gzip'd", gemtest.Gzip(good), apperr.Invalid, "gzip-compressed"},
		{"truncated in padding", good[:len(good)/2], apperr.Invalid, "truncated"},
		{"truncated in an entry", good[:600], apperr.Invalid, "truncated"},
		{"no end-of-archive blocks", good[:len(good)-1024], apperr.Invalid, "truncated"},
		{"no metadata.gz", gemtest.Tar(gemtest.File{Name: "data.tar.gz", Body: data}), apperr.Invalid, "no metadata.gz"},
		{"no data.tar.gz", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}), apperr.Invalid, "no data.tar.gz"},
		{"old format", gemtest.Tar(gemtest.File{Name: "metadata", Body: []byte(gemtest.Metadata("hola", "1.0.0"))}), apperr.Invalid, "RubyGems 0.9"},
		{"twice", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "data.tar.gz", Body: data}), apperr.Invalid, `"metadata.gz" twice`},
		{"symlink", gemtest.Tar(gemtest.File{Name: "metadata.gz", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}, gemtest.File{Name: "data.tar.gz", Body: data}), apperr.Invalid, "not a file"},
		{"too many entries", gemtest.Tar(many...), apperr.Invalid, "more than 64 entries"},
		{"metadata not gzip", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: []byte("name: x")}, gemtest.File{Name: "data.tar.gz", Body: data}), apperr.Invalid, "metadata.gz is not gzip-compressed"},
		{"metadata bomb", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: bomb}, gemtest.File{Name: "data.tar.gz", Body: data}), apperr.TooLarge, "unpacks to more than 1048576 bytes"},
		{"data not gzip", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "data.tar.gz", Body: []byte("plain")}), apperr.Invalid, "data.tar.gz is not gzip-compressed"},
		{"data bad CRC", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "data.tar.gz", Body: badCRC}), apperr.Invalid, "data.tar.gz is damaged"},
		{"checksum mismatch", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "data.tar.gz", Body: data},
			gemtest.File{Name: "checksums.yaml.gz", Body: gemtest.Checksums(gemtest.Gzip([]byte("other")), data)}), apperr.Invalid, "SHA256 checksum mismatch for metadata.gz"},
		{"checksums not YAML", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "data.tar.gz", Body: data},
			gemtest.File{Name: "checksums.yaml.gz", Body: gemtest.Gzip([]byte("SHA256: [\n"))}), apperr.Invalid, "checksums.yaml.gz is not valid YAML"},

		{"YAML broken", gemWith("--- !ruby/object:Gem::Specification\nname: [\n"), apperr.Invalid, "not valid YAML"},
		{"YAML empty", gemWith(""), apperr.Invalid, "is not a Gem::Specification"},
		{"not a specification", gemWith("--- {name: hola}\n"), apperr.Invalid, "is not a Gem::Specification"},
		{"YAML after a bare marker", gemWith("---\nname: hola\n"), apperr.Invalid, "not valid YAML"},
		{"not UTF-8", gemWith(meta("summary", "summary: \xff")), apperr.Invalid, "not UTF-8"},
		{"alias bomb", gemWith(meta("files", "files: &a [x, x, x, x, x, x, x, x, x, x]\ntest_files: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nextra_rdoc_files: [*b, *b, *b, *b, *b, *b, *b, *b]")), apperr.Invalid, "aliases"},
		{"alias to a requirement", gemWith(meta("required_ruby_version", "required_ruby_version: &r !ruby/object:Gem::Requirement\n  requirements: []", "required_rubygems_version", "required_rubygems_version: *r")), apperr.Invalid, "aliases"},
		{"unknown class", gemWith(meta("files", "files:\n- !ruby/object:Kernel {}")), apperr.Invalid, `"!ruby/object:Kernel", which RubyGems refuses`},
		{"unknown symbol", gemWith(meta("files", "files:\n- :system")), apperr.Invalid, "symbol :system"},
		{"merge key", gemWith(meta("metadata", "metadata:\n  <<: {a: b}")), apperr.Invalid, "merge key"},
		{"too deep", gemWith(deep), apperr.Invalid, "nests deeper than 64"},
		{"duplicate key", gemWith(meta("summary", "summary: a\nsummary: b")), apperr.Invalid, `"summary" twice`},

		{"no name", gemWith(meta("name", "name:")), apperr.Invalid, "has no name"},
		{"name with /", gemWith(meta("name", "name: a/b")), apperr.Invalid, "can only include"},
		{"name ..", gemWith(meta("name", "name: ../../etc")), apperr.Invalid, "can only include"},
		{"name with a control character", gemWith(meta("name", `name: "hola\x01"`)), apperr.Invalid, "can only include"},
		{"name a number", gemWith(meta("name", "name: 123")), apperr.Invalid, "not a string"},
		{"no version", gemWith(meta("version", "version:")), apperr.Invalid, "has no version"},
		{"version a string", gemWith(meta("version", "version: 1.0.0")), apperr.Invalid, "not a Gem::Version"},
		{"version with -", gemWith(meta("version", "version: !ruby/object:Gem::Version\n  version: 1.0-beta")), apperr.Invalid, "not a RubyGems version"},
		{"version a float", gemWith(meta("version", "version: !ruby/object:Gem::Version\n  version: 1.10")), apperr.Invalid, "not a string (float)"},
		{"platform not canonical", gemWith(meta("platform", "platform: i686-linux")), apperr.Invalid, `RubyGems reads the gem's platform "i686-linux" as "x86-linux"`},
		{"platform current", gemWith(meta("platform", "platform: current")), apperr.Invalid, `"current"`},
		{"no authors", gemWith(meta("authors", "authors: []")), apperr.Invalid, "no authors"},
		{"lazy summary", gemWith(meta("summary", "summary: 'TODO: write a summary'")), apperr.Invalid, `"FIXME" or "TODO" is not a summary`},
		{"homepage not http", gemWith(meta("homepage", "homepage: ftp://example.com")), apperr.Invalid, "not a valid HTTP URI"},
		{"license too long", gemWith(meta("licenses", "licenses:\n- "+strings.Repeat("L", 65))), apperr.Invalid, "64 characters or less"},
		{"metadata not strings", gemWith(meta("metadata", "metadata:\n  a: [b]")), apperr.Invalid, "not a string"},
		{"metadata key too large", gemWith(meta("metadata", "metadata:\n  "+strings.Repeat("k", 129)+": v")), apperr.Invalid, "too large (129 > 128)"},
		{"metadata value too large", gemWith(meta("metadata", "metadata:\n  k: "+strings.Repeat("v", 1025))), apperr.Invalid, "too large (1025 > 1024)"},
		{"metadata bad link", gemWith(meta("metadata", "metadata:\n  source_code_uri: javascript:alert(1)")), apperr.Invalid, "invalid link"},
		{"no require paths", gemWith(meta("require_paths", "require_paths: []")), apperr.Invalid, "no require_paths"},
		{"bad date", gemWith(meta("date", "date: 2024-13-45 00:00:00.000000000 Z")), apperr.Invalid, "not a valid day"},
		{"dependency not a Dependency", gemWith(meta("dependencies", "dependencies:\n- name: a")), apperr.Invalid, "not a Gem::Dependency"},
		{"dependency bad name", gemWith(meta("dependencies", "dependencies:\n- !ruby/object:Gem::Dependency\n  name: a/b\n  type: :runtime")), apperr.Invalid, "bad name"},
		{"dependency bad operator", gemWith(meta("dependencies", "dependencies:\n- !ruby/object:Gem::Dependency\n  name: a\n  requirement: !ruby/object:Gem::Requirement\n    requirements:\n    - - \"=>\"\n      - !ruby/object:Gem::Version\n        version: '1'\n  type: :runtime")), apperr.Invalid, `operator "=>"`},
		{"dependency bad version", gemWith(meta("dependencies", "dependencies:\n- !ruby/object:Gem::Dependency\n  name: a\n  requirement: !ruby/object:Gem::Requirement\n    requirements:\n    - - \">=\"\n      - !ruby/object:Gem::Version\n        version: '1 || x'\n  type: :runtime")), apperr.Invalid, "not a RubyGems version"},
		{"dependency bad type", gemWith(meta("dependencies", "dependencies:\n- !ruby/object:Gem::Dependency\n  name: a\n  type: :optional")), apperr.Invalid, "symbol :optional"},
		{"dependency twice", gemWith(meta("dependencies", "dependencies:\n- !ruby/object:Gem::Dependency\n  name: a\n  type: :runtime\n- !ruby/object:Gem::Dependency\n  name: a\n  type: :runtime")), apperr.Invalid, "twice"},
	}
	for _, c := range cases {
		s, err := parse(c.gem)
		if err == nil {
			t.Errorf("%s: accepted as %s", c.name, s.FullName())
			continue
		}
		if apperr.KindOf(err) != c.kind || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v (%v), want %v with %q", c.name, err, apperr.KindOf(err), c.kind, c.msg)
		}
	}
}

// failingReader fails after n bytes, as a broken disk or a closed temp
// file would.
type failingReader struct {
	b []byte
	n int64
}

var errDisk = errors.New("disk on fire")

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.n {
		return 0, errDisk
	}
	n := copy(p, f.b[off:min(int64(len(f.b)), f.n)])
	if n < len(p) {
		return n, errDisk
	}
	return n, nil
}

func TestParseGemReaderFailureIsNotTheClients(t *testing.T) {
	good := gemtest.Gem(gemtest.Metadata("hola", "1.0.0"))
	for _, n := range []int64{0, 100, 600, int64(len(good)) - 600} {
		_, err := rubygems.ParseGem(failingReader{b: good, n: n}, int64(len(good)))
		if !errors.Is(err, errDisk) || apperr.KindOf(err) != apperr.Internal {
			t.Errorf("failing after %d bytes: got %v, want the reader's error, unclassified", n, err)
		}
	}
}

// TestRubyGemsAgreesOnRefusals loads some of the refused gems with the
// real RubyGems (Gem::Package#spec, as `gem install` does), which must
// refuse them too.
func TestRubyGemsAgreesOnRefusals(t *testing.T) {
	dir := t.TempDir()
	metaGz := gemtest.Gzip([]byte(gemtest.Metadata("hola", "1.0.0")))
	data := gemtest.DataTarGz("hola")
	gems := map[string][]byte{
		"unknown class":     gemWith(meta("files", "files:\n- !ruby/object:Kernel {}")),
		"unknown symbol":    gemWith(meta("files", "files:\n- :system")),
		"no data.tar.gz":    gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}),
		"checksum mismatch": gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "data.tar.gz", Body: data}, gemtest.File{Name: "checksums.yaml.gz", Body: gemtest.Checksums(gemtest.Gzip([]byte("other")), data)}),
		"twice":             gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "metadata.gz", Body: metaGz}, gemtest.File{Name: "data.tar.gz", Body: data}),
		"not a spec":        gemWith("--- {name: hola}\n"),
		"bare marker":       gemWith("---\nname: hola\n"),
	}
	var args []string
	for name, b := range gems {
		if _, err := parse(b); err == nil {
			t.Fatalf("%s: accepted here", name)
		}
		p := dir + "/" + strings.ReplaceAll(name, " ", "_") + ".gem"
		if err := writeFile(p, b); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out := string(gemtest.RunRuby(t, nil, `
require "rubygems/package"
ARGV.each do |path|
  begin
    Gem::Package.new(path).spec
    puts "accepted #{path}"
  rescue Exception => e
    puts "refused #{path}"
  end
end`, args...))
	if strings.Contains(out, "accepted") {
		t.Errorf("RubyGems accepted what this package refuses:\n%s", out)
	}
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
