package composer

import (
	"regexp"
	"strings"

	"wharf/modules/apperr"
)

var (
	modifier     = `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?`
	classical    = regexp.MustCompile(`(?i)^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?` + modifier + `$`)
	dateBased    = regexp.MustCompile(`(?i)^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + modifier + `$`)
	devSuffix    = regexp.MustCompile(`(?i)^(.*?)[.-]?dev$`)
	branchNumber = regexp.MustCompile(`(?i)^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$`)
	digitsOnly   = regexp.MustCompile(`[.-]`)
)

// expandStability is Composer's: a → alpha, b → beta, p/pl → patch, rc → RC.
func expandStability(s string) string {
	switch strings.ToLower(s) {
	case "a":
		return "alpha"
	case "b":
		return "beta"
	case "p", "pl":
		return "patch"
	case "rc":
		return "RC"
	}
	return strings.ToLower(s)
}

// Normalize is Composer's VersionParser::normalize: 1.2 → 1.2.0.0,
// v1.0.0-beta.2 → 1.0.0.0-beta2, 1.0.0-rc.1 → 1.0.0.0-RC1, dev-main →
// dev-main, 1.x-dev → 1.9999999.9999999.9999999-dev. A string Composer
// would refuse is an Invalid error.
func Normalize(v string) (string, error) {
	version := strings.TrimSpace(v)
	if i := strings.Index(version, " as "); i >= 0 {
		version = version[:i]
	}
	switch strings.ToLower(version) {
	case "master", "trunk", "default":
		return "dev-" + version, nil
	}
	if strings.HasPrefix(strings.ToLower(version), "dev-") {
		return "dev-" + version[4:], nil
	}
	if i := strings.Index(version, "+"); i >= 0 {
		version = version[:i]
	}
	if m := classical.FindStringSubmatch(version); m != nil {
		out := m[1]
		for _, part := range m[2:5] {
			if part == "" {
				part = ".0"
			}
			out += part
		}
		return withModifier(out, m[5], m[6], m[7]), nil
	}
	if m := dateBased.FindStringSubmatch(version); m != nil {
		return withModifier(digitsOnly.ReplaceAllString(m[1], "."), m[2], m[3], m[4]), nil
	}
	if m := devSuffix.FindStringSubmatch(version); m != nil {
		if n, err := NormalizeBranch(m[1]); err == nil {
			return n, nil
		}
	}
	return "", apperr.New(apperr.Invalid, "invalid version string %q", v)
}

func withModifier(out, stability, number, dev string) string {
	if stability != "" && strings.ToLower(stability) != "stable" {
		out += "-" + expandStability(stability) + strings.TrimLeft(number, ".-")
	}
	if dev != "" {
		out += "-dev"
	}
	return out
}

// NormalizeBranch is Composer's VersionParser::normalizeBranch: a branch
// named like a version becomes that version with x as 9999999 and -dev;
// any other branch is dev-<name>.
func NormalizeBranch(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch name {
	case "master", "trunk", "default":
		return "dev-" + name, nil
	}
	if m := branchNumber.FindStringSubmatch(name); m != nil {
		out := ""
		for i := 1; i <= 4; i++ {
			part := strings.TrimPrefix(m[i], ".")
			if part == "" || part == "x" || part == "X" || part == "*" {
				part = "9999999"
			}
			if i > 1 {
				out += "."
			}
			out += part
		}
		return out + "-dev", nil
	}
	return "dev-" + name, nil
}

// IsDev reports whether a normalized version is a development version
// (served in ~dev.json).
func IsDev(normalized string) bool {
	return strings.HasPrefix(normalized, "dev-") || strings.HasSuffix(normalized, "-dev")
}
