package rubygems_test

import (
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/rubygems"
	"wharf/modules/packages/rubygems/gemtest"
)

func TestValidateName(t *testing.T) {
	for _, name := range []string{"a", "rails", "Rails", "net-http", "ruby_parser", "f.o.o", "a1", "1a", "x" + strings.Repeat("y", 254)} {
		if err := rubygems.ValidateName(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	for name, msg := range map[string]string{
		"":                             "has no name",
		"123":                          "at least one letter",
		"a/b":                          "can only include",
		"../x":                         "can only include",
		"a..b":                         `can not contain ".."`,
		".a":                           "can not begin",
		"-a":                           "can not begin",
		"_a":                           "can not begin",
		"a b":                          "can only include",
		"a\nb":                         "can only include",
		"a\x00":                        "can only include",
		"a\x7f":                        "can only include",
		"é":                            "can only include",
		"a:b":                          "can only include",
		"a" + strings.Repeat("b", 255): "longer than 255",
	} {
		err := rubygems.ValidateName(name)
		if apperr.KindOf(err) != apperr.Invalid || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: got %v, want Invalid with %q", name, err, msg)
		}
	}
}

func TestFileNames(t *testing.T) {
	for _, c := range []struct{ name, version, platform, file, quick string }{
		{"hola", "1.0.0", "ruby", "hola-1.0.0.gem", "quick/Marshal.4.8/hola-1.0.0.gemspec.rz"},
		{"hola", "1.0.0", "", "hola-1.0.0.gem", "quick/Marshal.4.8/hola-1.0.0.gemspec.rz"},
		{"hola", "1.0.0", "x86_64-linux", "hola-1.0.0-x86_64-linux.gem", "quick/Marshal.4.8/hola-1.0.0-x86_64-linux.gemspec.rz"},
		{"net-http", "0.1.0.pre", "java", "net-http-0.1.0.pre-java.gem", "quick/Marshal.4.8/net-http-0.1.0.pre-java.gemspec.rz"},
	} {
		if got := rubygems.FileName(c.name, c.version, c.platform); got != c.file {
			t.Errorf("FileName = %q, want %q", got, c.file)
		}
		if got := rubygems.QuickSpecPath(c.name, c.version, c.platform); got != c.quick {
			t.Errorf("QuickSpecPath = %q, want %q", got, c.quick)
		}
	}
}

// TestPlatformMatchesRuby compares Gem::Platform.new(s).to_s (RubyGems 3.3)
// with this package's reading of s, and ValidatePlatform with "RubyGems
// reads it back as itself".
func TestPlatformMatchesRuby(t *testing.T) {
	platforms := []string{"x86_64-linux", "x86_64-linux-gnu", "x86_64-linux-musl", "aarch64-linux", "arm-linux-gnueabihf",
		"arm64-darwin", "x86_64-darwin-21", "x86_64-darwin21", "universal-darwin", "universal-darwin-22", "java", "jruby",
		"universal-java-11", "java1.8", "javax", "x64-mingw32", "x86-mingw32", "x64-mingw-ucrt", "x86-mswin32", "mswin32",
		"x86-mswin32-60", "i386-mswin32_80", "i686-linux", "i386-linux", "x86-linux", "x86-freebsd", "amd64-freebsd-13",
		"x86-openbsd", "x86_64-openbsd7.3", "sparc-solaris2.8", "ppc-aix5.1", "x86-cygwin", "dalvik", "dalvik1", "dotnet",
		"dotnet4.0", "macruby", "x86-netbsdelf", "hppa-hpux11", "foo", "foo-bar", "foo_platform", "x86-foo_platform2",
		"x86-linuxmusl", "x86-linux-gnux32", "mips-linux-gnu-abi64"}
	out := gemtest.RunRuby(t, []byte(strings.Join(platforms, "\n")),
		`STDIN.read.split("\n").each { |s| puts Gem::Platform.new(s).to_s }`)
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, p := range platforms {
		if got := rubygems.PlatformString(p); got != want[i] {
			t.Errorf("Gem::Platform.new(%q).to_s = %q, here %q", p, want[i], got)
		}
		err := rubygems.ValidatePlatform(p)
		if canonical := want[i] == p; canonical != (err == nil) {
			t.Errorf("ValidatePlatform(%q) = %v; Ruby reads it as %q", p, err, want[i])
		}
	}
	for _, p := range []string{"", "current", "x86_64--linux", "x86_64-linux-", "a b", "x86/linux", "é"} {
		if err := rubygems.ValidatePlatform(p); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("ValidatePlatform(%q) = %v, want Invalid", p, err)
		}
	}
	if err := rubygems.ValidatePlatform("ruby"); err != nil {
		t.Error(err)
	}
}

func FuzzValidateName(f *testing.F) {
	f.Add("hola")
	f.Add("../etc")
	f.Fuzz(func(t *testing.T, name string) {
		err := rubygems.ValidateName(name)
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("unexpected kind for %q: %v", name, err)
			}
			return
		}
		if strings.ContainsAny(name, "/\\ \x00\n") || strings.Contains(name, "..") || len(name) > rubygems.MaxFieldLength {
			t.Fatalf("accepted %q", name)
		}
	})
}

func FuzzValidatePlatform(f *testing.F) {
	f.Add("x86_64-linux")
	f.Add("x86-mswin32_60")
	f.Fuzz(func(t *testing.T, p string) {
		err := rubygems.ValidatePlatform(p)
		if err != nil && apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("unexpected kind for %q: %v", p, err)
		}
		if err == nil && p != "ruby" && rubygems.PlatformString(p) != p {
			t.Fatalf("accepted %q, which RubyGems reads as %q", p, rubygems.PlatformString(p))
		}
	})
}
