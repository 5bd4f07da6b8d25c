package rubygems_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"wharf/modules/packages/rubygems"
	"wharf/modules/packages/rubygems/gemtest"
)

// The conformance fixtures of rubygems/compact_index (the gem rubygems.org
// writes its compact index with): gem a pushed, yanked, pushed again on
// three platforms, b depending on a, the versions file appended to and
// rebuilt. Each body here is the fixture's, byte for byte.
const (
	sumA010      = "fe8077b56b57211cbb2b2b0773940cd138c921b656100b56f9d4d3f6b80e49a3"
	sumA001      = "dbc59aad55931f0b15ec41c7ada8b161dc8691325111a1d67e9d512dd4227df6"
	sumA020      = "5eff572932f687cef5bc079f94481591abfb296038b8e2f02fe867463d8a9d43"
	sumA020Mingw = "c6e588e484972bf1b278e6f3ed48408c98c97e7202da5b2dbf2e4597ad797685"
	sumA020Java  = "29acba0062ee302a052ae87dee5635603a269358df87013f0500188b7c073ab8"
	sumA030      = "e33872eb2a2d9c634d9c6dc80e1784b2ae81693208622cd18d4e9dcb09488259"
)

func plain(version, platform, sum string) rubygems.InfoVersion {
	return rubygems.InfoVersion{Version: version, Platform: platform, Checksum: sum,
		RequiredRuby: []string{">= 0"}, RequiredRubyGems: []string{">= 0"}}
}

func TestCompactIndexConformance(t *testing.T) {
	at := func(hm string) time.Time {
		tm, _ := time.Parse(time.RFC3339, "1990-01-01T"+hm+":00Z")
		return tm
	}
	// 02_first_push
	infoA1 := rubygems.Info([]rubygems.InfoVersion{plain("1.0.0", "ruby", "ba4899453627619e1dcf3d427fccb3ecac2b42ed66b5f31d857f04712c17ac86")})
	expect(t, "02 info/a", string(infoA1), "---\n1.0.0 |checksum:ba4899453627619e1dcf3d427fccb3ecac2b42ed66b5f31d857f04712c17ac86\n")
	versions := rubygems.VersionsHeader(at("00:00")) + rubygems.VersionsLine("a", []string{rubygems.VersionsEntry("1.0.0", "ruby", false)}, rubygems.InfoChecksum(infoA1))
	expect(t, "02 versions", versions, "created_at: 1990-01-01T00:00:00Z\n---\na 1.0.0 3180abba623fbea41f7d85bc378cc11e\n")
	expect(t, "02 names", string(rubygems.Names([]string{"a"})), "---\na\n")

	// 03_yank_only_gem: the yank appends a line; info/a is left empty.
	infoA2 := rubygems.Info(nil)
	versions += rubygems.VersionsLine("a", []string{rubygems.VersionsEntry("1.0.0", "", true)}, rubygems.InfoChecksum(infoA2))
	expect(t, "03 versions", versions, "created_at: 1990-01-01T00:00:00Z\n---\na 1.0.0 3180abba623fbea41f7d85bc378cc11e\na -1.0.0 6105347ebb9825ac754615ca55ff3b0c\n")

	// 04_second_push: a 0.1.0, then b 1.0.0.pre, which needs a and sets
	// Ruby and RubyGems requirements.
	infoA3 := rubygems.Info([]rubygems.InfoVersion{plain("0.1.0", "ruby", sumA010)})
	infoB := rubygems.Info([]rubygems.InfoVersion{{
		Version: "1.0.0.pre", Platform: "ruby", Checksum: "7f531313f3f41294af76aa378376ccb13642faddd8efcea47615d45e3d02802d",
		Dependencies: []rubygems.Dependency{{Name: "a", Requirements: []string{">= 0.1.0", "< 1.0.0"}, Type: rubygems.DependencyRuntime}},
		RequiredRuby: []string{">= 2.0"}, RequiredRubyGems: []string{">= 2.0"},
	}})
	expect(t, "05 info/b", string(infoB), "---\n1.0.0.pre a:< 1.0.0&>= 0.1.0|checksum:7f531313f3f41294af76aa378376ccb13642faddd8efcea47615d45e3d02802d,ruby:>= 2.0,rubygems:>= 2.0\n")
	versions += rubygems.VersionsLine("a", []string{"0.1.0"}, rubygems.InfoChecksum(infoA3)) +
		rubygems.VersionsLine("b", []string{"1.0.0.pre"}, rubygems.InfoChecksum(infoB))
	expect(t, "04 versions", versions, "created_at: 1990-01-01T00:00:00Z\n---\na 1.0.0 3180abba623fbea41f7d85bc378cc11e\n"+
		"a -1.0.0 6105347ebb9825ac754615ca55ff3b0c\na 0.1.0 15336e61455e7c375316d24481747913\nb 1.0.0.pre 86c02d3a3f4c31e6f47cec95dbb2109f\n")
	expect(t, "05 names", string(rubygems.Names([]string{"a", "b"})), "---\na\nb\n")

	// 06_rebuild_versions_list: one line per gem, the versions that are
	// not yanked in the order they were pushed, platforms after a "-".
	a := []rubygems.InfoVersion{plain("0.1.0", "ruby", sumA010), plain("0.0.1", "ruby", sumA001), plain("0.2.0", "ruby", sumA020),
		plain("0.2.0", "x86-mingw32", sumA020Mingw), plain("0.2.0", "java", sumA020Java)}
	entries := func(vs []rubygems.InfoVersion) []string {
		var out []string
		for _, v := range vs {
			out = append(out, rubygems.VersionsEntry(v.Version, v.Platform, false))
		}
		return out
	}
	versions = rubygems.VersionsHeader(at("01:08")) + rubygems.VersionsLine("a", entries(a), rubygems.InfoChecksum(rubygems.Info(a))) +
		rubygems.VersionsLine("b", []string{"1.0.0.pre"}, rubygems.InfoChecksum(infoB))
	expect(t, "06 versions", versions, "created_at: 1990-01-01T01:08:00Z\n---\n"+
		"a 0.1.0,0.0.1,0.2.0,0.2.0-x86-mingw32,0.2.0-java 734e7e961e968314d1b7c43d1bb332ea\nb 1.0.0.pre 86c02d3a3f4c31e6f47cec95dbb2109f\n")

	// 07_fourth_push
	a = append(a, plain("0.3.0", "ruby", sumA030))
	expect(t, "07 info/a", string(rubygems.Info(a)), "---\n0.1.0 |checksum:"+sumA010+"\n0.0.1 |checksum:"+sumA001+"\n0.2.0 |checksum:"+sumA020+
		"\n0.2.0-x86-mingw32 |checksum:"+sumA020Mingw+"\n0.2.0-java |checksum:"+sumA020Java+"\n0.3.0 |checksum:"+sumA030+"\n")
	versions += rubygems.VersionsLine("a", []string{"0.3.0"}, rubygems.InfoChecksum(rubygems.Info(a)))

	// 08_yank_gem: 0.0.1 leaves info/a; the versions file says so.
	a = append(a[:1:1], a[2:]...)
	versions += rubygems.VersionsLine("a", []string{rubygems.VersionsEntry("0.0.1", "ruby", true)}, rubygems.InfoChecksum(rubygems.Info(a)))
	expect(t, "08 versions", versions, "created_at: 1990-01-01T01:08:00Z\n---\n"+
		"a 0.1.0,0.0.1,0.2.0,0.2.0-x86-mingw32,0.2.0-java 734e7e961e968314d1b7c43d1bb332ea\nb 1.0.0.pre 86c02d3a3f4c31e6f47cec95dbb2109f\n"+
		"a 0.3.0 46bd01981acbebafc2fda6a1fc141d9e\na -0.0.1 9a0c38a06b4b7fe552df0bbaad86777f\n")

	// 09_rebuild_versions_list
	versions = rubygems.VersionsHeader(at("02:10")) + rubygems.VersionsLine("a", entries(a), rubygems.InfoChecksum(rubygems.Info(a))) +
		rubygems.VersionsLine("b", []string{"1.0.0.pre"}, rubygems.InfoChecksum(infoB))
	expect(t, "09 versions", versions, "created_at: 1990-01-01T02:10:00Z\n---\n"+
		"a 0.1.0,0.2.0,0.2.0-x86-mingw32,0.2.0-java,0.3.0 9a0c38a06b4b7fe552df0bbaad86777f\nb 1.0.0.pre 86c02d3a3f4c31e6f47cec95dbb2109f\n")

	// CompactIndex.names of nothing.
	expect(t, "names of nothing", string(rubygems.Names(nil)), "---\n\n")
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestInfoLineOfFixtures(t *testing.T) {
	sum := func(name string) string {
		h := sha256.Sum256(readFixture(t, name))
		return hex.EncodeToString(h[:])
	}
	want := map[string]string{
		"hola-1.0.0.gem":              "1.0.0 tiny:>= 0.1.2&~> 0.1|checksum:%s,ruby:>= 2.7.0",
		"hola-2.0.0.beta1.gem":        "2.0.0.beta1 tiny:>= 0.1.2&~> 0.1|checksum:%s,ruby:>= 2.7.0,rubygems:> 1.3.1",
		"hola-1.0.0-x86_64-linux.gem": "1.0.0-x86_64-linux tiny:>= 0.1.2&~> 0.1|checksum:%s,ruby:>= 2.7.0",
		"tiny-0.1.2.gem":              "0.1.2 |checksum:%s",
	}
	var lines []string
	for _, name := range fixtures {
		line := rubygems.InfoLine(parseFixture(t, name).InfoVersion(sum(name)))
		expect(t, name, line, strings.Replace(want[name], "%s", sum(name), 1))
		lines = append(lines, line)
	}
	// Dependencies are listed by name, whatever the gem's order.
	v := rubygems.InfoVersion{Version: "1.0", Checksum: "00", Dependencies: []rubygems.Dependency{
		{Name: "zeta", Requirements: []string{">= 0"}}, {Name: "Alpha", Requirements: []string{"= 1.0"}}, {Name: "alpha", Requirements: []string{"!= 2", "< 3"}},
	}, RequiredRuby: []string{"< 4", ">= 3.0"}, RequiredRubyGems: []string{">= 0", "< 9"}}
	expect(t, "sorted dependencies", rubygems.InfoLine(v), "1.0 Alpha:= 1.0,alpha:!= 2&< 3,zeta:>= 0|checksum:00,ruby:< 4&>= 3.0,rubygems:< 9&>= 0")
	lines = append(lines, rubygems.InfoLine(v))

	// RubyGems' own compact index client reads the lines back.
	out := gemtest.RunRuby(t, []byte(strings.Join(lines, "\n")), `
require "json"
require "rubygems/resolver"
p = Gem::Resolver::APISet::GemParser.new
STDIN.read.split("\n").each { |l| puts JSON.generate(p.parse(l)) }`)
	parsed := strings.Split(string(out), "\n")
	expect(t, "GemParser", parsed[0], `["1.0.0",null,[["tiny",[">= 0.1.2","~> 0.1"]]],[["checksum",["`+sum("hola-1.0.0.gem")+`"]],["ruby",[">= 2.7.0"]]]]`)
	expect(t, "GemParser", parsed[2], `["1.0.0","x86_64-linux",[["tiny",[">= 0.1.2","~> 0.1"]]],[["checksum",["`+sum("hola-1.0.0-x86_64-linux.gem")+`"]],["ruby",[">= 2.7.0"]]]]`)
	expect(t, "GemParser", parsed[3], `["0.1.2",null,[],[["checksum",["`+sum("tiny-0.1.2.gem")+`"]]]]`)
	expect(t, "GemParser", parsed[4], `["1.0",null,[["Alpha",["= 1.0"]],["alpha",["!= 2","< 3"]],["zeta",[">= 0"]]],[["checksum",["00"]],["ruby",["< 4",">= 3.0"]],["rubygems",["< 9",">= 0"]]]]`)
}
