package rubygems_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/rubygems"
	"wharf/modules/packages/rubygems/gemtest"
)

func TestCompareOrdersLikeGemVersion(t *testing.T) {
	want := []string{"0.9", "1.0.a", "1.0.b1", "1.0.rc1", "1.0", "1.0.1", "1.1", "1.10", "2.0.0.pre", "2.0.0",
		"18446744073709551615", "18446744073709551616", "99999999999999999999999"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortStableFunc(got, rubygems.Compare)
	if !slices.Equal(got, want) {
		t.Errorf("sorted %v, want %v", got, want)
	}
	for i := 1; i < len(want); i++ {
		if rubygems.Compare(want[i-1], want[i]) >= 0 || rubygems.Compare(want[i], want[i-1]) <= 0 {
			t.Errorf("%s < %s does not hold both ways", want[i-1], want[i])
		}
	}
	for a, b := range map[string]string{"1.0": "1.0.0", "1.0.0.0": "1", "1.01": "1.1", "1.0.a.0": "1.0.a"} {
		if rubygems.Compare(a, b) != 0 {
			t.Errorf("%s != %s", a, b)
		}
	}
	if !rubygems.IsPrerelease("1.0.pre") || !rubygems.IsPrerelease("2.0.0.beta1") || rubygems.IsPrerelease("1.0") {
		t.Error("IsPrerelease")
	}
}

// TestCompareMatchesRuby asks Gem::Version#<=> for every pair.
func TestCompareMatchesRuby(t *testing.T) {
	versions := []string{"0", "0.0.1", "1", "1.0", "1.0.0", "1.0.0.0.1", "1.0.a", "1.0.A", "1.0.a1", "1.0.a.1",
		"1.0.b", "1.0.rc", "1.0.pre", "1.0.0.pre", "1.0-pre", "1.0-1", "1.a.b", "1.a.2", "1.2.a", "2", "10",
		"1.010", "1.10", "1.9", "2.0.0.beta1", "2.0.0.beta10", "2.0.0.beta2", "123456789012345678901234567890", "1.0.Z", "1.0.z"}
	out := gemtest.RunRuby(t, []byte(strings.Join(versions, "\n")),
		`vs = STDIN.read.split("\n"); vs.each { |a| puts vs.map { |b| Gem::Version.new(a) <=> Gem::Version.new(b) }.join(",") }`)
	rows := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, a := range versions {
		cols := strings.Split(rows[i], ",")
		for j, b := range versions {
			got := rubygems.Compare(a, b)
			if fmt.Sprint(max(-1, min(1, got))) != cols[j] {
				t.Errorf("Compare(%q, %q) = %d, Ruby says %s", a, b, got, cols[j])
			}
		}
	}
}

func TestValidateVersion(t *testing.T) {
	for _, v := range []string{"0", "1.0.0", "2.0.0.beta1", "1.0.a.1", "20240102"} {
		if err := rubygems.ValidateVersion(v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	for _, v := range []string{"", "v1.0", "1.0-beta", "1..0", "1.0.", ".1", "1.0 ", "1.0/2", "1.0\n", strings.Repeat("1", 256)} {
		if err := rubygems.ValidateVersion(v); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%q: got %v, want Invalid", v, err)
		}
	}
}

func FuzzCompare(f *testing.F) {
	f.Add("1.0.0", "1.0.0.rc1")
	f.Add("1.0-pre", "1.0.pre")
	f.Fuzz(func(t *testing.T, a, b string) {
		x, y := rubygems.Compare(a, b), rubygems.Compare(b, a)
		if (x < 0) != (y > 0) || (x == 0) != (y == 0) {
			t.Fatalf("antisymmetry broken for %q, %q: %d, %d", a, b, x, y)
		}
		if rubygems.Compare(a, a) != 0 {
			t.Fatalf("%q != itself", a)
		}
	})
}
