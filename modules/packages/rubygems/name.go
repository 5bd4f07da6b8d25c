package rubygems

import (
	"strings"

	"wharf/modules/apperr"
)

// ValidateName applies RubyGems' rules for a gem's name
// (Gem::SpecificationPolicy#validate_name): ASCII letters, digits, ".",
// "-" and "_"; at least one letter; not starting with ".", "-" or "_";
// and rubygems.org's bound of 255 characters. So a name never holds "/",
// a control character or a blank, and is never "." or "..". A ".." inside
// a name is refused too: RubyGems allows it, but no real gem uses it and
// file names made from the name should not look like paths. Names are
// case-sensitive, as in RubyGems.
func ValidateName(name string) error {
	if name == "" {
		return apperr.New(apperr.Invalid, "the gem has no name")
	}
	if len(name) > MaxFieldLength {
		return apperr.New(apperr.Invalid, "the gem name is longer than %d characters", MaxFieldLength)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-' && c != '_' {
			return apperr.New(apperr.Invalid, "the gem name %q can only include letters, numbers, dashes, dots and underscores", name)
		}
	}
	switch {
	case strings.IndexFunc(name, func(r rune) bool { return r < 0x80 && isASCIILetter(byte(r)) }) < 0:
		return apperr.New(apperr.Invalid, "the gem name %q must include at least one letter", name)
	case name[0] == '.' || name[0] == '-' || name[0] == '_':
		return apperr.New(apperr.Invalid, "the gem name %q can not begin with a period, dash, or underscore", name)
	case strings.Contains(name, ".."):
		return apperr.New(apperr.Invalid, "the gem name %q can not contain \"..\"", name)
	}
	return nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// FullName is what RubyGems calls a gem version's full name, and the base
// of its file names: "name-version" for the platform "ruby",
// "name-version-platform" otherwise. Each platform gem of one version is a
// file of its own.
func FullName(name, version, platform string) string {
	if platform == "" || platform == PlatformRuby {
		return name + "-" + version
	}
	return name + "-" + version + "-" + platform
}

// FileName is the .gem's file name, served under gems/ ("hola-1.0.0.gem",
// "hola-1.0.0-x86_64-linux.gem"), as `gem build` names it.
func FileName(name, version, platform string) string {
	return FullName(name, version, platform) + ".gem"
}

// QuickSpecPath is where clients fetch a version's marshalled
// Gem::Specification, relative to the source root:
// "quick/Marshal.4.8/hola-1.0.0.gemspec.rz".
func QuickSpecPath(name, version, platform string) string {
	return "quick/Marshal.4.8/" + FullName(name, version, platform) + ".gemspec.rz"
}

// FullName is the spec's full name (see the function FullName).
func (s *Spec) FullName() string { return FullName(s.Name, s.Version, s.Platform) }

// FileName is the spec's .gem file name (see the function FileName).
func (s *Spec) FileName() string { return FileName(s.Name, s.Version, s.Platform) }

// QuickSpecPath is the spec's quick gemspec path (see the function
// QuickSpecPath).
func (s *Spec) QuickSpecPath() string { return QuickSpecPath(s.Name, s.Version, s.Platform) }
