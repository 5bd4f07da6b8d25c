package packages

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// A VersionCompare orders two versions of one format: negative, zero or
// positive as a is lower than, equal to or higher than b. "Latest" and
// every sorted list use the format's function, never upload order.
type VersionCompare func(a, b string) int

// CompareSemver orders by Semantic Versioning 2.0 (npm, Cargo):
// 1.10.0 > 1.9.0 > 1.9.0-rc.1; build metadata is ignored. A version that
// is not semver sorts below every one that is, naturally among its kind.
func CompareSemver(a, b string) int {
	va, errA := semver.StrictNewVersion(strings.TrimPrefix(a, "v"))
	vb, errB := semver.StrictNewVersion(strings.TrimPrefix(b, "v"))
	switch {
	case errA == nil && errB == nil:
		return va.Compare(vb)
	case errA == nil:
		return 1
	case errB == nil:
		return -1
	}
	return CompareNatural(a, b)
}

// IsSemverPrerelease reports whether a semver version has a pre-release
// part; such a version never becomes "latest" over a release.
func IsSemverPrerelease(v string) bool {
	sv, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v"))
	return err == nil && sv.Prerelease() != ""
}

var naturalChunks = regexp.MustCompile(`[0-9]+|[^0-9]+`)

// CompareNatural orders version-like strings with digit runs compared as
// numbers (generic packages): 1.10 > 1.9, and, as in plain string order, a
// longer string with an equal prefix sorts higher (1.9-beta > 1.9).
func CompareNatural(a, b string) int {
	ca, cb := naturalChunks.FindAllString(a, -1), naturalChunks.FindAllString(b, -1)
	for i := 0; i < len(ca) && i < len(cb); i++ {
		x, y := ca[i], cb[i]
		if x == y {
			continue
		}
		nx, errX := strconv.ParseUint(x, 10, 64)
		ny, errY := strconv.ParseUint(y, 10, 64)
		if errX == nil && errY == nil {
			if nx != ny {
				if nx < ny {
					return -1
				}
				return 1
			}
			continue // same number, different zero padding
		}
		return strings.Compare(x, y)
	}
	switch {
	case len(ca) < len(cb):
		return -1
	case len(ca) > len(cb):
		return 1
	}
	return strings.Compare(a, b)
}

var gemSegments = regexp.MustCompile(`[0-9]+|[a-zA-Z]+`)

// gemCanonical is Gem::Version#canonical_segments: "-" means ".pre.",
// segments are numbers or letters, and trailing zeros of the release part
// and of the pre-release part are dropped.
func gemCanonical(v string) []any {
	v = strings.ReplaceAll(strings.TrimSpace(v), "-", ".pre.")
	var segs []any
	for _, s := range gemSegments.FindAllString(v, -1) {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			segs = append(segs, n)
		} else {
			segs = append(segs, s)
		}
	}
	split := len(segs)
	for i, s := range segs {
		if _, ok := s.(string); ok {
			split = i
			break
		}
	}
	trim := func(part []any) []any {
		for len(part) > 0 {
			if n, ok := part[len(part)-1].(uint64); ok && n == 0 {
				part = part[:len(part)-1]
				continue
			}
			break
		}
		return part
	}
	out := append([]any{}, trim(segs[:split])...)
	return append(out, trim(segs[split:])...)
}

// CompareRubyGems is Gem::Version#<=>: 1.0 == 1.0.0, 1.0.a < 1.0, and a
// letter segment sorts below a number.
func CompareRubyGems(a, b string) int {
	la, lb := gemCanonical(a), gemCanonical(b)
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y any = uint64(0), uint64(0)
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		xs, xIsStr := x.(string)
		ys, yIsStr := y.(string)
		switch {
		case xIsStr && yIsStr:
			if c := strings.Compare(xs, ys); c != 0 {
				return c
			}
		case xIsStr:
			return -1
		case yIsStr:
			return 1
		default:
			if xn, yn := x.(uint64), y.(uint64); xn != yn {
				if xn < yn {
					return -1
				}
				return 1
			}
		}
	}
	return 0
}

// IsRubyGemsPrerelease reports whether a gem version has a letter in it.
func IsRubyGemsPrerelease(v string) bool {
	return strings.IndexFunc(v, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) >= 0
}
