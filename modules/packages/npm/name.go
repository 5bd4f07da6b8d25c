// Package npm parses and validates what npm clients send: package names,
// versions, the publish document (streamed, attachments decoded on the
// fly) and the published tarball.
package npm

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"

	"wharf/modules/apperr"
)

// MaxNameLength is npm's limit.
const MaxNameLength = 214

var namePart = regexp.MustCompile(`^[a-z0-9~-][a-z0-9._~-]*$`)

// ValidateName applies npm's rules for new packages: at most 214
// characters, lower case, URL-safe, not starting with '.' or '_', and
// scoped names as @scope/name with both parts following the same rules.
func ValidateName(name string) error {
	bad := func(why string) error { return apperr.New(apperr.Invalid, "invalid package name %q: %s", name, why) }
	if name == "" {
		return bad("empty")
	}
	if len(name) > MaxNameLength {
		return bad("longer than 214 characters")
	}
	if strings.TrimSpace(name) != name {
		return bad("leading or trailing spaces")
	}
	if name != strings.ToLower(name) {
		return bad("must be lower case")
	}
	scope, bare := SplitName(name)
	if strings.HasPrefix(name, "@") && scope == "" {
		return bad("a scoped name is @scope/name")
	}
	for _, part := range []string{scope, bare} {
		if part == "" && part == scope {
			continue
		}
		if part == "." || part == ".." || strings.HasPrefix(part, ".") || strings.HasPrefix(part, "_") {
			return bad("must not start with '.' or '_'")
		}
		if !namePart.MatchString(part) || url.PathEscape(part) != part {
			return bad("may only contain URL-safe characters: a-z, 0-9, '-', '.', '_' and '~'")
		}
	}
	return nil
}

// SplitName returns the scope (without '@', "" when unscoped) and the bare
// name.
func SplitName(name string) (scope, bare string) {
	if rest, ok := strings.CutPrefix(name, "@"); ok {
		if s, b, ok := strings.Cut(rest, "/"); ok && s != "" && b != "" && !strings.Contains(b, "/") {
			return s, b
		}
		return "", name
	}
	return "", name
}

// ValidateVersion requires a valid semantic version, as npm does.
func ValidateVersion(v string) error {
	if _, err := semver.StrictNewVersion(v); err != nil {
		return apperr.New(apperr.Invalid, "invalid version %q: not a semantic version", v)
	}
	return nil
}

// TarballName is the file name of a version's tarball, as npmjs names it:
// the bare name, a dash and the version.
func TarballName(name, version string) string {
	_, bare := SplitName(name)
	return bare + "-" + version + ".tgz"
}
