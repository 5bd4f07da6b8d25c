package cargo

import (
	"strings"

	"wharf/modules/apperr"
)

// MaxNameLength is crates.io's limit on crate names
// (crates_io_validation::MAX_NAME_LENGTH).
const MaxNameLength = 64

// reservedNames are the names crates.io refuses to publish, compared in
// canonical form (CanonicalName). Taken from rust-lang/crates.io, which keeps
// them in its reserved_crate_names table, filled by three migrations:
// 20170305095748_create_reserved_crate_names (names of the Rust compiler's
// and standard library's own crates), 20170430202433_reserve_windows_crate_names
// (Windows device names, which cannot be file names there) and
// 2021-02-10-141019_reserve_com0_lpt0. No later migration adds any; "rust" and
// "cargo" are not reserved there ("cargo" is a published crate), so they are
// not here either.
var reservedNames = map[string]bool{
	// Compiler and standard library crates.
	"alloc": true, "arena": true, "ast": true, "builtins": true, "collections": true,
	"compiler_builtins": true, "compiler_rt": true, "compiletest": true, "core": true,
	"coretest": true, "debug": true, "driver": true, "flate": true, "fmt_macros": true,
	"grammar": true, "graphviz": true, "macro": true, "macros": true, "proc_macro": true,
	"rbml": true, "rust_installer": true, "rustbook": true, "rustc": true, "rustc_back": true,
	"rustc_borrowck": true, "rustc_driver": true, "rustc_llvm": true, "rustc_resolve": true,
	"rustc_trans": true, "rustc_typeck": true, "rustdoc": true, "rustllvm": true,
	"rustuv": true, "serialize": true, "std": true, "syntax": true, "test": true,
	"unicode": true,
	// Windows device names.
	"nul": true, "con": true, "prn": true, "aux": true,
	"com0": true, "com1": true, "com2": true, "com3": true, "com4": true,
	"com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt0": true, "lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true,
	"lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

// ValidateName applies crates.io's rules for a new crate's name: 1 to 64
// characters, ASCII letters, digits, '-' and '_', starting with a letter,
// and not one of the names crates.io reserves (compared as CanonicalName, so
// "Proc-Macro" is as reserved as "proc_macro").
func ValidateName(name string) error {
	if name == "" {
		return apperr.New(apperr.Invalid, "the crate name is empty")
	}
	if len(name) > MaxNameLength {
		return apperr.New(apperr.Invalid, "the crate name %q is too long (at most %d characters)", name, MaxNameLength)
	}
	if c := name[0]; !isASCIILetter(c) {
		if c >= '0' && c <= '9' {
			return apperr.New(apperr.Invalid, "the crate name %q cannot start with a digit", name)
		}
		return apperr.New(apperr.Invalid, "the crate name %q must start with an ASCII letter", name)
	}
	if !isNameTail(name) {
		return apperr.New(apperr.Invalid, "the crate name %q may only contain ASCII letters, digits, '-' and '_'", name)
	}
	if reservedNames[CanonicalName(name)] {
		return apperr.New(apperr.Invalid, "the crate name %q is reserved", name)
	}
	return nil
}

// validateDependencyName applies crates.io's rules for the name a
// dependency is known by in the dependent's Cargo.toml (a rename): like a
// crate name, but it may also start with '_', and reserved names are
// allowed since nothing is published under them.
func validateDependencyName(name string) error {
	switch {
	case name == "":
		return apperr.New(apperr.Invalid, "a dependency name is empty")
	case len(name) > MaxNameLength:
		return apperr.New(apperr.Invalid, "the dependency name %q is too long (at most %d characters)", name, MaxNameLength)
	case !isASCIILetter(name[0]) && name[0] != '_':
		return apperr.New(apperr.Invalid, "the dependency name %q must start with an ASCII letter or '_'", name)
	case !isNameTail(name):
		return apperr.New(apperr.Invalid, "the dependency name %q may only contain ASCII letters, digits, '-' and '_'", name)
	}
	return nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isNameTail(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// CanonicalName is the key under which crate names are unique: lower case,
// with '-' and '_' the same (crates.io's canon_crate_name), so that "Foo-Bar"
// cannot be published next to "foo_bar".
func CanonicalName(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "-", "_")
}

// IndexPath is the path of a crate's file in the index, relative to the
// index root (cargo's make_dep_path): "1/a", "2/ab", "3/a/abc" and
// "ab/cd/abcd…", always from the lower-cased name. name must be valid
// (ValidateName), so that it is ASCII and the prefixes are whole characters.
func IndexPath(name string) string {
	lower := strings.ToLower(name)
	switch len(lower) {
	case 1:
		return "1/" + lower
	case 2:
		return "2/" + lower
	case 3:
		return "3/" + lower[:1] + "/" + lower
	}
	return lower[:2] + "/" + lower[2:4] + "/" + lower
}

// errIndexFileNotFound answers a path that is no crate's index file.
var errIndexFileNotFound = apperr.New(apperr.NotFound, "no such crate in the index")

// NameFromIndexPath reads the crate name from the segments of an index
// file's path ("se", "rd", "serde"). The prefix segments must be the ones
// IndexPath gives for that name; the comparison ignores case, since cargo
// asks for lower-cased paths but a crate keeps the case it was published
// with. Anything else, an invalid name included, is apperr.NotFound: a
// lookup of a file that does not exist, not a malformed request. The name
// is returned as the path spells it; look it up by CanonicalName.
func NameFromIndexPath(segments ...string) (string, error) {
	if len(segments) < 2 || len(segments) > 3 {
		return "", errIndexFileNotFound
	}
	name := segments[len(segments)-1]
	if len(name) > MaxNameLength || name == "" || !isASCIILetter(name[0]) || !isNameTail(name) {
		return "", errIndexFileNotFound
	}
	if !strings.EqualFold(strings.Join(segments, "/"), IndexPath(name)) {
		return "", errIndexFileNotFound
	}
	return name, nil
}
