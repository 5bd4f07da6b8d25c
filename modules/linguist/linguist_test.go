package linguist

import "testing"

func TestLanguage(t *testing.T) {
	for p, want := range map[string]string{
		"main.go":             "Go",
		"cmd/wharf/MAIN.GO":   "Go",
		"web/app.tsx":         "TSX",
		"src/lib.rs":          "Rust",
		"README.md":           "",
		"go.mod":              "",
		".eslintrc.js":        "",
		"assets/app.min.js":   "",
		"Makefile":            "",
		"composer.json":       "",
		"lib/thing.rb":        "Ruby",
		"scripts/install.sh":  "Shell",
		"templates/home.html": "HTML",
	} {
		if got := Language(p); got != want {
			t.Errorf("Language(%q) = %q, want %q", p, got, want)
		}
	}
	for name, want := range map[string]bool{"vendor": true, "node_modules": true, ".github": true, "src": false, "cmd": false} {
		if got := SkipDir(name); got != want {
			t.Errorf("SkipDir(%q) = %v, want %v", name, got, want)
		}
	}
}
