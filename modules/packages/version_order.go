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
