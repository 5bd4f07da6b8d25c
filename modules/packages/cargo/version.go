package cargo

import (
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"

	"wharf/modules/apperr"
)

// MaxVersionLength bounds a version string, as crates.io does
// (crates_io_validation::MAX_VERSION_LENGTH): cargo never needs more, and
// the version ends up in paths, keys and index lines.
const MaxVersionLength = 150

// semverGrammar is the grammar of semver.org 2.0.0 (its suggested regular
// expression): three numbers without leading zeros, an optional pre-release
// whose numeric identifiers have no leading zeros, optional build metadata.
// No "v" prefix and no missing parts: cargo's semver parser is as strict.
var semverGrammar = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
	`(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// ValidateVersion checks that v is a strict semver 2.0 version as cargo
// writes it.
func ValidateVersion(v string) error {
	if v == "" {
		return apperr.New(apperr.Invalid, "the crate version is empty")
	}
	if len(v) > MaxVersionLength {
		return apperr.New(apperr.Invalid, "the crate version is too long (at most %d characters)", MaxVersionLength)
	}
	if !semverGrammar.MatchString(v) {
		return apperr.New(apperr.Invalid, "the crate version %q is not a semver version such as 1.2.3 or 1.2.3-beta.1", v)
	}
	// The grammar does not bound the numbers; cargo holds them in u64, and
	// so does this parser.
	if _, err := semver.StrictNewVersion(v); err != nil {
		return apperr.Wrap(apperr.Invalid, err, "the crate version %q is not a valid semver version", v)
	}
	return nil
}

// VersionKey is the key under which versions of a crate are unique: the
// version without its build metadata, since semver gives "1.0.7" and
// "1.0.7+build" the same precedence and cargo could not tell them apart
// when resolving (crates.io refuses the second one). v must be valid.
func VersionKey(v string) string {
	key, _, _ := strings.Cut(v, "+")
	return key
}
