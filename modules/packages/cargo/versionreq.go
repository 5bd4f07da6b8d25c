package cargo

import (
	"strings"
	"unicode"

	"wharf/modules/apperr"
)

// maxComparators is the semver crate's bound on the comparators of one
// requirement (ErrorKind::ExcessiveComparators).
const maxComparators = 32

// ValidateVersionReq checks a dependency's version requirement by the
// rules of the semver crate (1.x) that cargo parses index lines with: a
// lone wildcard ("*", "x" or "X"), or up to 32 comparators separated by
// commas. A comparator is an optional operator (= > >= < <= ~ ^) and a
// version: a major number, then an optional minor and patch, each a
// number or a wildcard (after a wildcard only wildcards), a pre-release
// and build metadata only after a numeric patch. Numbers have no leading
// zeros and fit in 64 bits; spaces may follow an operator and surround
// commas. A line whose requirement cargo cannot parse is skipped by cargo
// without a word, so such a publish is refused (apperr.Invalid) naming
// what is wrong.
func ValidateVersionReq(req string) error {
	if _, why := parseVersionReq(req); why != "" {
		return apperr.New(apperr.Invalid, "invalid version requirement %q: %s", req, why)
	}
	return nil
}

// versionReqError says what is wrong with req, "" when nothing is.
func versionReqError(req string) string {
	_, why := parseVersionReq(req)
	return why
}

// NormalizeVersionReq is req as the semver crate displays it once parsed
// (cargo sends that in the publish JSON, while Cargo.toml keeps what its
// author wrote): "1.2" is "^1.2", "1.x" is "1.*", build metadata goes,
// comparators are joined by ", ". ok is false when req is not valid.
func NormalizeVersionReq(req string) (norm string, ok bool) {
	norm, why := parseVersionReq(req)
	return norm, why == ""
}

// parseVersionReq returns req's normal form, or why it is not valid.
func parseVersionReq(req string) (norm, why string) {
	text := strings.TrimLeft(req, " ")
	if rest, ok := cutWildcard(text); ok {
		rest = strings.TrimLeft(rest, " ")
		switch {
		case rest == "":
			return "*", ""
		case rest[0] == ',':
			return "", "a wildcard must be the only comparator"
		default:
			return "", "unexpected characters after the wildcard"
		}
	}
	var parts []string
	for n := 1; ; n++ {
		rest, c, why := comparator(text)
		if why != "" {
			if w, ok := cutWildcard(text); ok {
				if w = strings.TrimLeft(w, " "); w == "" || w[0] == ',' {
					return "", "a wildcard must be the only comparator"
				}
			}
			return "", why
		}
		parts = append(parts, c)
		if rest == "" {
			return strings.Join(parts, ", "), ""
		}
		if rest[0] != ',' {
			return "", "expected a comma between comparators, found " + quoteRune(rest)
		}
		if n == maxComparators {
			return "", "more than 32 comparators"
		}
		text = strings.TrimLeft(rest[1:], " ")
	}
}

// comparator reads one comparator at the start of s and returns what
// follows it (spaces skipped) and its normal form, or why it is not one.
func comparator(s string) (rest, norm, why string) {
	op, s := cutOp(s)
	s = strings.TrimLeft(s, " ")
	start := s
	s, why = numeric(s, "major version")
	if why != "" {
		return "", "", why
	}
	major := start[:len(start)-len(s)]
	var minor, patch, pre string
	wild, anyWild := false, false
	if t, ok := strings.CutPrefix(s, "."); ok {
		if t2, ok := cutWildcard(t); ok {
			s, wild, anyWild = t2, true, true
		} else if s, why = numeric(t, "minor version"); why != "" {
			return "", "", why
		} else {
			minor = t[:len(t)-len(s)]
		}
		if t, ok := strings.CutPrefix(s, "."); ok {
			if t2, ok := cutWildcard(t); ok {
				s, anyWild = t2, true
			} else if wild {
				return "", "", "a number after a wildcard"
			} else if s, why = numeric(t, "patch version"); why != "" {
				return "", "", why
			} else {
				patch = t[:len(t)-len(s)]
			}
		}
	}
	if patch != "" {
		if t, ok := strings.CutPrefix(s, "-"); ok {
			if s, why = identifiers(t, "pre-release", true); why != "" {
				return "", "", why
			}
			pre = t[:len(t)-len(s)]
		}
		if t, ok := strings.CutPrefix(s, "+"); ok {
			if s, why = identifiers(t, "build metadata", false); why != "" {
				return "", "", why
			}
		}
	}
	if op == "" && !anyWild {
		op = "^"
	}
	// The semver crate's Display: a wildcard comparator (no operator)
	// shows its missing parts as ".*", any other shows only what it has.
	var b strings.Builder
	b.WriteString(op + major)
	switch {
	case minor != "":
		b.WriteString("." + minor)
		switch {
		case patch != "":
			b.WriteString("." + patch)
			if pre != "" {
				b.WriteString("-" + pre)
			}
		case op == "":
			b.WriteString(".*")
		}
	case op == "":
		b.WriteString(".*")
	}
	return strings.TrimLeft(s, " "), b.String(), ""
}

// cutOp removes a comparison operator from the start of s and returns it
// ("" when there is none).
func cutOp(s string) (op, rest string) {
	for _, op := range []string{">=", "<=", "=", ">", "<", "~", "^"} {
		if t, ok := strings.CutPrefix(s, op); ok {
			return op, t
		}
	}
	return "", s
}

// cutWildcard removes a wildcard from the start of s.
func cutWildcard(s string) (string, bool) {
	if s != "" && (s[0] == '*' || s[0] == 'x' || s[0] == 'X') {
		return s[1:], true
	}
	return s, false
}

// numeric reads a number without leading zeros that fits in a uint64.
func numeric(s, what string) (rest, why string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	switch {
	case i == 0 && s == "":
		return "", "it ends where the " + what + " goes"
	case i == 0:
		return "", "expected the " + what + ", found " + quoteRune(s)
	case i > 1 && s[0] == '0':
		return "", "the " + what + " has a leading zero"
	case i > 20 || (i == 20 && s[:i] > "18446744073709551615"):
		return "", "the " + what + " is too large"
	}
	return s[i:], ""
}

// identifiers reads dot-separated identifiers of ASCII letters, digits and
// '-'; numeric ones may not have leading zeros when noLeadingZero.
func identifiers(s, what string, noLeadingZero bool) (rest, why string) {
	for {
		i := 0
		for i < len(s) && (isASCIIAlnum(s[i]) || s[i] == '-') {
			i++
		}
		if i == 0 {
			return "", "an empty identifier in the " + what
		}
		id := s[:i]
		if noLeadingZero && len(id) > 1 && id[0] == '0' && strings.Trim(id, "0123456789") == "" {
			return "", "a numeric identifier with a leading zero in the " + what
		}
		s = s[i:]
		if t, ok := strings.CutPrefix(s, "."); ok {
			s = t
			continue
		}
		return s, ""
	}
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func quoteRune(s string) string {
	for _, r := range s {
		return "'" + string(r) + "'"
	}
	return "the end"
}

// ValidateFeatureName checks a feature's name by crates.io's and cargo's
// rule: not empty; the first character a Unicode XID start character, '_'
// or an ASCII digit; the others XID continue characters, '+', '-' or '.'.
// A '/' or ':' is not part of a name: "dep:x" and "x/y" are values (see
// ValidateFeatureValue).
func ValidateFeatureName(name string) error {
	if name == "" {
		return apperr.New(apperr.Invalid, "invalid feature name: it is empty")
	}
	for i, r := range name {
		if i == 0 {
			if !isXIDStart(r) && r != '_' && !(r >= '0' && r <= '9') {
				return apperr.New(apperr.Invalid, "invalid character %q in feature `%s`: the first character must be a Unicode XID start character or a digit (most letters, '_' or '0' to '9')", r, name)
			}
			continue
		}
		if !isXIDContinue(r) && r != '+' && r != '-' && r != '.' {
			return apperr.New(apperr.Invalid, "invalid character %q in feature `%s`: characters must be Unicode XID characters, '+', '-' or '.'", r, name)
		}
	}
	return nil
}

// ValidateFeatureValue checks what a feature enables, as crates.io does:
// "dep:name" (a dependency name), "name/feature" or "name?/feature" (a
// dependency and one of its features), or another feature's name.
func ValidateFeatureValue(feature, v string) error {
	wrap := func(err error) error {
		return apperr.Wrap(apperr.Invalid, err, "feature `%s` enables %q", feature, v)
	}
	if dep, feat, ok := strings.Cut(v, "/"); ok {
		if err := validateDependencyName(strings.TrimSuffix(dep, "?")); err != nil {
			return wrap(err)
		}
		if err := ValidateFeatureName(feat); err != nil {
			return wrap(err)
		}
		return nil
	}
	if dep, ok := strings.CutPrefix(v, "dep:"); ok {
		if err := validateDependencyName(dep); err != nil {
			return wrap(err)
		}
		return nil
	}
	if err := ValidateFeatureName(v); err != nil {
		return wrap(err)
	}
	return nil
}

// isXIDStart approximates Unicode's XID_Start with Go's tables: letters
// and letter numbers.
func isXIDStart(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
}

// isXIDContinue approximates XID_Continue: XID_Start, combining marks,
// decimal digits and connector punctuation ('_' among them).
func isXIDContinue(r rune) bool {
	return isXIDStart(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc)
}
