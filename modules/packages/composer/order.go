package composer

import (
	"regexp"
	"strconv"
	"strings"
)

// Composer's version order lives beside its normalization (version.go):
// one home for the format's version rules.

var orderVersion = regexp.MustCompile(`(?i)^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:[._-]?(stable|beta|b|rc|alpha|a|patch|pl|p)(?:[.-]?(\d+))?)?(?:[.-]?dev)?$`)

var orderStability = map[string]int{"dev": 0, "alpha": 1, "a": 1, "beta": 2, "b": 2, "rc": 3, "": 4, "stable": 4, "patch": 5, "pl": 5, "p": 5}

// orderKey reads a Composer version into comparable parts: four
// numbers, a stability rank, its number, and whether it is a dev version.
func orderKey(v string) (nums [4]uint64, stability int, stabilityNum uint64, ok bool) {
	m := orderVersion.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return nums, 0, 0, false
	}
	for i := range 4 {
		if m[i+1] != "" {
			nums[i], _ = strconv.ParseUint(m[i+1], 10, 64)
		}
	}
	stability = orderStability[strings.ToLower(m[5])]
	if m[6] != "" {
		stabilityNum, _ = strconv.ParseUint(m[6], 10, 64)
	}
	if strings.HasSuffix(strings.ToLower(v), "dev") && m[5] == "" {
		stability = 0
	}
	return nums, stability, stabilityNum, true
}

// Compare orders Composer versions as composer's version_compare does on
// normalized versions: 1.2 == 1.2.0.0, 1.0.0-beta2 < 1.0.0-RC1 < 1.0.0 <
// 1.0.0-patch1; dev-branch versions sort below every numbered one.
func Compare(a, b string) int {
	na, sa, sna, okA := orderKey(a)
	nb, sb, snb, okB := orderKey(b)
	switch {
	case !okA && !okB:
		return strings.Compare(a, b)
	case !okA:
		return -1
	case !okB:
		return 1
	}
	for i := range 4 {
		if na[i] != nb[i] {
			if na[i] < nb[i] {
				return -1
			}
			return 1
		}
	}
	if sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	switch {
	case sna < snb:
		return -1
	case sna > snb:
		return 1
	}
	return 0
}

// IsPrerelease reports whether a Composer version is not stable.
func IsPrerelease(v string) bool {
	_, s, _, ok := orderKey(v)
	return !ok || s < 4
}
