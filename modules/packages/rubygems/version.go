package rubygems

import (
	"regexp"
	"strings"

	"wharf/modules/apperr"
)

// MaxFieldLength bounds a gem's name, version and platform, as rubygems.org
// does (Gemcutter::MAX_FIELD_LENGTH).
const MaxFieldLength = 255

// versionPattern is what a pushed gem's version may be: Gem::Version's
// VERSION_PATTERN without its "-" part. Gem::Version.new turns "1.0-beta"
// into "1.0.pre.beta" before `gem build` writes it, so a "-" only comes
// from a hand-made gem, and it would be read as the start of the platform
// in file names and in the compact index.
var versionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9a-zA-Z]+)*$`)

// requirementVersionPattern is Gem::Version's ANCHORED_VERSION_PATTERN
// without its optional surrounding blanks, for the versions inside a
// requirement, which Gem::Requirement keeps as written.
var requirementVersionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// ValidateVersion checks a gem's own version.
func ValidateVersion(v string) error {
	switch {
	case v == "":
		return apperr.New(apperr.Invalid, "the gem has no version")
	case len(v) > MaxFieldLength:
		return apperr.New(apperr.Invalid, "the gem's version is longer than %d characters", MaxFieldLength)
	case !versionPattern.MatchString(v):
		return apperr.New(apperr.Invalid, "the gem's version %q is not a RubyGems version: use numbers and letters separated by dots, such as 1.2.0 or 1.2.0.beta1", v)
	}
	return nil
}

// Compare is Gem::Version#<=>: negative, zero or positive as a is lower
// than, equal to or higher than b. 1.0 == 1.0.0, 1.0.a < 1.0 (a letter
// segment starts a pre-release, which sorts below the release), and a
// letter segment sorts below a number. Numbers of any length compare as
// numbers, as Ruby's Integers do.
func Compare(a, b string) int {
	la, lb := canonicalSegments(a), canonicalSegments(b)
	for i := 0; i < len(la) || i < len(lb); i++ {
		x, y := segment{num: "0"}, segment{num: "0"}
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		switch {
		case x.isNum() && y.isNum():
			if c := compareDigits(x.num, y.num); c != 0 {
				return c
			}
		case x.isNum():
			return 1
		case y.isNum():
			return -1
		default:
			if c := strings.Compare(x.str, y.str); c != 0 {
				return c
			}
		}
	}
	return 0
}

// IsPrerelease is Gem::Version#prerelease?: the version has a letter in it.
// A pre-release never becomes a gem's latest version over a release.
func IsPrerelease(v string) bool {
	return strings.IndexFunc(v, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) >= 0
}

// segment is one part of a version: a number (its digits without leading
// zeros) or a run of letters.
type segment struct{ num, str string }

func (s segment) isNum() bool { return s.num != "" }

var gemSegments = regexp.MustCompile(`[0-9]+|[a-zA-Z]+`)

// canonicalSegments is Gem::Version#canonical_segments: "-" means ".pre."
// (as Gem::Version.new reads it), segments are numbers or letters, and the
// trailing zeros of the release part and of the pre-release part are
// dropped.
func canonicalSegments(v string) []segment {
	v = strings.ReplaceAll(strings.TrimSpace(v), "-", ".pre.")
	var segs []segment
	for _, s := range gemSegments.FindAllString(v, -1) {
		if s[0] >= '0' && s[0] <= '9' {
			n := strings.TrimLeft(s, "0")
			if n == "" {
				n = "0"
			}
			segs = append(segs, segment{num: n})
		} else {
			segs = append(segs, segment{str: s})
		}
	}
	split := len(segs)
	for i, s := range segs {
		if !s.isNum() {
			split = i
			break
		}
	}
	trim := func(part []segment) []segment {
		for len(part) > 0 && part[len(part)-1].num == "0" {
			part = part[:len(part)-1]
		}
		return part
	}
	out := append([]segment{}, trim(segs[:split])...)
	return append(out, trim(segs[split:])...)
}

// compareDigits orders two numbers written without leading zeros.
func compareDigits(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
