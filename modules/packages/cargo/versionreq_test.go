package cargo

import (
	"regexp"
	"strings"
	"testing"
)

func TestValidateVersionReq(t *testing.T) {
	good := []string{
		"*", "x", "X", " * ", "1", "^1", "^1.0", "^1.2.3", "~1.2", "=1.2.3", ">1", ">=1.2", "<2", "<=2.0.0",
		"1.*", "1.2.*", "1.*.*", "1.x", "=1.*", ">= 1.2, < 2", ">=1.2,<2", "^0.0.1-alpha.1", "1.2.3-rc.1+build.5",
		"1.2.3+build", "1.2.3-0", "1.2.3-a-b.c", "0", "18446744073709551615", "1.2.3 ", "  ^1",
		"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32",
	}
	bad := []string{
		"", " ", "banana!", "^", ">=", "1.", "1..2", "01", "1.02", "1.2.03", "*, 1", "1, *", "1 *", ">=*", "*1",
		"1.*.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b", "1.2-pre", "1.2+build", "1 2", "1,", ",1", "v1",
		"18446744073709551616", "1.2.3 || 2", "~>1.2", "1.2.3.4",
		"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33",
	}
	for _, r := range good {
		if err := ValidateVersionReq(r); err != nil {
			t.Errorf("%q refused: %v", r, err)
		}
	}
	for _, r := range bad {
		if err := ValidateVersionReq(r); err == nil {
			t.Errorf("%q accepted", r)
		}
	}
}

// reqOracle is the requirement grammar as one regular expression, written
// apart from the hand-made parser; numbers are limited to 19 digits (the
// parser's 64-bit bound is tested in the table) and pre-release
// identifiers' leading zeros are checked separately.
var reqOracle = func() *regexp.Regexp {
	num := `(?:0|[1-9][0-9]{0,18})`
	wc := `[*xX]`
	id := `[0-9A-Za-z-]+`
	ver := num + `(?:\.(?:` + wc + `(?:\.` + wc + `)?|` + num + `(?:\.(?:` + wc + `|` + num + `(?:-` + id + `(?:\.` + id + `)*)?(?:\+` + id + `(?:\.` + id + `)*)?))?))?`
	cmp := `(?:>=|<=|=|>|<|~|\^)? *` + ver + ` *`
	return regexp.MustCompile(`^ *(?:` + wc + ` *|` + cmp + `(?:, *` + cmp + `){0,31})$`)
}()

var preLeadingZero = regexp.MustCompile(`-(?:[0-9A-Za-z-]+\.)*0[0-9]+(?:[.+ ,]|$)`)

func FuzzValidateVersionReq(f *testing.F) {
	for _, s := range []string{"*", "^1.2.3", ">= 1.2, < 2", "1.*", "1.2.3-rc.1+b", "banana!", "01", "1.2.3-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := versionReqError(s) == ""
		if strings.ContainsAny(s, "0123456789") && regexp.MustCompile(`[0-9]{20}`).MatchString(s) {
			return
		}
		want := reqOracle.MatchString(s) && !(strings.Contains(s, "-") && preLeadingZero.MatchString(s))
		if got != want {
			t.Fatalf("%q: parser accepts=%v, grammar accepts=%v (%s)", s, got, want, versionReqError(s))
		}
	})
}

func TestValidateFeatureName(t *testing.T) {
	for _, n := range []string{"std", "serde_json", "a-b", "a+b", "v1.2", "_x", "0x", "ünicode", "a_b-c+d.e"} {
		if err := ValidateFeatureName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range []string{"", "a/b", "a b", "dep:x", "-a", "+a", ".a", "a?", "a:b", "a\x00"} {
		if err := ValidateFeatureName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
	for _, v := range []string{"std", "dep:serde", "serde/std", "serde?/std", "a-b"} {
		if err := ValidateFeatureValue("f", v); err != nil {
			t.Errorf("value %q refused: %v", v, err)
		}
	}
	for _, v := range []string{"", "dep:", "dep:1x", "a/", "/b", "a/b/c", "a b", "serde??/std"} {
		if err := ValidateFeatureValue("f", v); err == nil {
			t.Errorf("value %q accepted", v)
		}
	}
}

func TestNormalizeVersionReq(t *testing.T) {
	for in, want := range map[string]string{
		"1": "^1", "1.2": "^1.2", "^1.2.3": "^1.2.3", "=1.2.3+b": "=1.2.3", "1.x": "1.*", "1.*.*": "1.*", "1.2.*": "1.2.*",
		"*": "*", " X ": "*", ">= 1.2 ,< 2": ">=1.2, <2", "~1": "~1", "=1.*": "=1", "1.2.3-rc.1": "^1.2.3-rc.1",
	} {
		if got, ok := NormalizeVersionReq(in); !ok || got != want {
			t.Errorf("NormalizeVersionReq(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
