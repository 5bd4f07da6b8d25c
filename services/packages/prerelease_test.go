package packages_test

import (
	"testing"

	packages_service "wharf/services/packages"
)

func TestIsPrerelease(t *testing.T) {
	for v, want := range map[string]bool{
		"1.0.0": false, "1.10.0": false, "v2.0.0": false, "1.0.0+build.5": false, "2024-01-31": false, "20240131": false,
		"2.0.0-rc.1": true, "1.0.0-1": true, "1.0.0.pre": true, "1.0-beta2": true, "dev-main": true, "v3.0.0-alpha": true,
	} {
		if got := packages_service.IsPrerelease(v); got != want {
			t.Errorf("IsPrerelease(%q) = %v, want %v", v, got, want)
		}
	}
}
