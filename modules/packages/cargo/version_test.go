package cargo_test

import (
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/cargo"
)

func TestValidateVersion(t *testing.T) {
	for _, ok := range []string{
		"0.0.0", "0.1.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
		"1.0.0-x.7.z.92", "1.0.0-x-y-z.--", "1.0.0-alpha+001", "1.0.0+20130313144700",
		"1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD", "1.0.0-rc.1+build.1",
		"1.0.0-0A.is.legal", "18446744073709551615.0.0",
	} {
		if err := cargo.ValidateVersion(ok); err != nil {
			t.Errorf("ValidateVersion(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{
		"", "1", "1.2", "1.2.3.4", "v1.2.3", "V1.2.3", "01.2.3", "1.02.3", "1.2.03",
		"1.2.3-", "1.2.3+", "1.2.3-01", "1.2.3-alpha..1", "1.2.3-alpha_beta", "1.2.3+a..b",
		"1.2.3+a_b", " 1.2.3", "1.2.3 ", "1.2.3\n", "-1.2.3", "1.2.3-ü", "1.2.3+ü",
		"a.b.c", "1.2.x", "1.2.*", "^1.2.3", "18446744073709551616.0.0",
		"1.0.0-" + strings.Repeat("a", 150),
	} {
		if apperr.KindOf(cargo.ValidateVersion(bad)) != apperr.Invalid {
			t.Errorf("ValidateVersion(%q) accepted", bad)
		}
	}
}

func TestVersionKey(t *testing.T) {
	for in, want := range map[string]string{
		"1.0.7":              "1.0.7",
		"1.0.7+x":            "1.0.7",
		"1.0.7+x.y+z":        "1.0.7",
		"1.0.7-rc.1+build.5": "1.0.7-rc.1",
		"1.0.7-rc.1":         "1.0.7-rc.1",
	} {
		if got := cargo.VersionKey(in); got != want {
			t.Errorf("VersionKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzValidateVersion(f *testing.F) {
	f.Add("1.0.0-rc.1+build")
	f.Fuzz(func(t *testing.T, v string) {
		if err := cargo.ValidateVersion(v); err != nil && apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("ValidateVersion(%q): kind %v", v, apperr.KindOf(err))
		}
	})
}
