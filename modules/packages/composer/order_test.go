package composer_test

import (
	"slices"
	"testing"

	"wharf/modules/packages/composer"
)

func TestCompare(t *testing.T) {
	want := []string{"dev-main", "1.0.0-alpha1", "1.0.0-beta2", "1.0.0-RC1", "v1.0.0", "1.0.0-patch1", "1.0.1", "1.10", "2.0.0.1"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortStableFunc(got, composer.Compare)
	if !slices.Equal(got, want) {
		t.Errorf("sorted %v, want %v", got, want)
	}
	for i := 1; i < len(want); i++ {
		if composer.Compare(want[i-1], want[i]) >= 0 || composer.Compare(want[i], want[i-1]) <= 0 {
			t.Errorf("%s < %s does not hold both ways", want[i-1], want[i])
		}
	}
	for a, b := range map[string]string{"1.0": "1.0.0", "1.0.0.0": "1", "v2": "2.0"} {
		if composer.Compare(a, b) != 0 {
			t.Errorf("%s != %s", a, b)
		}
	}
	if !composer.IsPrerelease("1.0.0-beta1") || composer.IsPrerelease("1.0.0") || !composer.IsPrerelease("dev-main") {
		t.Error("IsPrerelease")
	}
}

func FuzzCompare(f *testing.F) {
	f.Add("1.0.0", "1.0.0-RC1")
	f.Add("dev-main", "1.x-dev")
	f.Fuzz(func(t *testing.T, a, b string) {
		x, y := composer.Compare(a, b), composer.Compare(b, a)
		if (x < 0) != (y > 0) || (x == 0) != (y == 0) {
			t.Fatalf("antisymmetry broken for %q, %q: %d, %d", a, b, x, y)
		}
	})
}
