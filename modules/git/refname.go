// Package git wraps go-git for reading and writing repositories in-process,
// builds archives, and runs the system git for the smart HTTP protocol.
package git

import (
	"strings"

	"wharf/modules/apperr"
)

// ValidRefName applies git check-ref-format's rules to a short branch or
// tag name (without refs/heads/ or refs/tags/). Besides git's rules it
// refuses what would be ambiguous in URLs: a leading '-' or '/'.
func ValidRefName(name string) error {
	bad := func(why string) error {
		return apperr.New(apperr.Invalid, "invalid ref name %q: %s", name, why)
	}
	switch {
	case name == "" || name == "@":
		return bad("empty or \"@\"")
	case len(name) > 255:
		return bad("longer than 255 bytes")
	case strings.HasPrefix(name, "-"), strings.HasPrefix(name, "/"), strings.HasSuffix(name, "/"):
		return bad("must not start with '-' or '/', nor end with '/'")
	case strings.HasSuffix(name, "."), strings.HasSuffix(name, ".lock"):
		return bad("must not end with '.' or \".lock\"")
	case strings.Contains(name, ".."), strings.Contains(name, "//"), strings.Contains(name, "@{"):
		return bad("must not contain \"..\", \"//\" or \"@{\"")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return bad("contains a control character or one of space ~ ^ : ? * [ \\")
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return bad("a component starts with '.' or ends with \".lock\"")
		}
	}
	return nil
}

// IsCommitID reports whether s is a full hexadecimal SHA-1 object id.
func IsCommitID(s string) bool {
	return len(s) == 40 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// ZeroID is the object id git uses for "no object" in ref updates.
const ZeroID = "0000000000000000000000000000000000000000"

// Ref name prefixes.
const (
	BranchPrefix = "refs/heads/"
	TagPrefix    = "refs/tags/"
)
