package packages_test

import (
	"slices"
	"testing"

	"wharf/modules/packages"
)

// ascending checks that cmp puts each list in the given order, and that
// every version equals itself.
func ascending(t *testing.T, name string, cmp packages.VersionCompare, lists ...[]string) {
	t.Helper()
	for _, want := range lists {
		got := slices.Clone(want)
		slices.Reverse(got)
		slices.SortStableFunc(got, cmp)
		if !slices.Equal(got, want) {
			t.Errorf("%s: sorted %v, want %v", name, got, want)
		}
		for i := 1; i < len(want); i++ {
			if cmp(want[i-1], want[i]) >= 0 || cmp(want[i], want[i-1]) <= 0 {
				t.Errorf("%s: %s < %s does not hold both ways", name, want[i-1], want[i])
			}
		}
		for _, v := range want {
			if cmp(v, v) != 0 {
				t.Errorf("%s: %s != itself", name, v)
			}
		}
	}
}

func TestVersionOrdering(t *testing.T) {
	ascending(t, "semver", packages.CompareSemver,
		[]string{"not-semver", "0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "2.0.0"})
	ascending(t, "natural", packages.CompareNatural,
		[]string{"1", "1.2", "1.9", "1.9-beta", "1.10", "2024.01.02", "a"})
	if !packages.IsSemverPrerelease("1.0.0-rc.1") || packages.IsSemverPrerelease("1.0.0") {
		t.Error("IsSemverPrerelease")
	}
}

func FuzzVersionCompare(f *testing.F) {
	f.Add("1.0.0", "1.0.0-rc.1")
	f.Fuzz(func(t *testing.T, a, b string) {
		for name, cmp := range map[string]packages.VersionCompare{"semver": packages.CompareSemver, "natural": packages.CompareNatural} {
			x, y := cmp(a, b), cmp(b, a)
			if (x < 0) != (y > 0) || (x == 0) != (y == 0) {
				t.Fatalf("%s: antisymmetry broken for %q, %q: %d, %d", name, a, b, x, y)
			}
		}
	})
}
