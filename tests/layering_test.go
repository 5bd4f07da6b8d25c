package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering enforces the dependency rule: routers → services → models →
// modules. modules import only modules; models never import services or
// routers; services never import routers nor net/http's server side.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "wharf/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	layer := func(pkg string) string {
		rest, ok := strings.CutPrefix(pkg, "wharf/")
		if !ok {
			return ""
		}
		top, _, _ := strings.Cut(rest, "/")
		return top
	}
	forbidden := map[string][]string{
		"modules":   {"models", "services", "routers", "cmd"},
		"models":    {"services", "routers", "cmd"},
		"services":  {"routers", "cmd"},
		"routers":   {"cmd"},
		"templates": {"models", "services", "routers", "cmd"},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		from := layer(pkg)
		for _, imp := range imports {
			to := layer(imp)
			for _, bad := range forbidden[from] {
				if to == bad {
					t.Errorf("%s imports %s: %s must not depend on %s", pkg, imp, from, bad)
				}
			}
			// Services speak domain, never HTTP: an outbound client is fine,
			// but not chi and not our router helpers.
			if from == "services" && strings.HasPrefix(imp, "github.com/go-chi/") {
				t.Errorf("%s imports %s: services must not see routing", pkg, imp)
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d packages listed; the check is not looking at the project", checked)
	}
}
