// Package linguist names the programming language of a file from its path,
// for a repository's language statistics. It is a small table of the
// common extensions, with linguist's (and so Gitea's) language names, not a
// content classifier: a file whose extension is not in the table, or that
// is vendored, generated or hidden, counts for no language.
package linguist

import (
	"path"
	"strings"
)

// byExtension maps a lower-case extension to its language. Only
// programming and markup languages are listed, as Gitea counts only those
// (no data, prose or configuration files).
var byExtension = map[string]string{
	".go":     "Go",
	".js":     "JavaScript",
	".mjs":    "JavaScript",
	".cjs":    "JavaScript",
	".jsx":    "JavaScript",
	".ts":     "TypeScript",
	".mts":    "TypeScript",
	".cts":    "TypeScript",
	".tsx":    "TSX",
	".vue":    "Vue",
	".svelte": "Svelte",
	".php":    "PHP",
	".rs":     "Rust",
	".rb":     "Ruby",
	".rake":   "Ruby",
	".py":     "Python",
	".java":   "Java",
	".kt":     "Kotlin",
	".kts":    "Kotlin",
	".scala":  "Scala",
	".groovy": "Groovy",
	".c":      "C",
	".h":      "C",
	".cc":     "C++",
	".cpp":    "C++",
	".cxx":    "C++",
	".hh":     "C++",
	".hpp":    "C++",
	".hxx":    "C++",
	".cs":     "C#",
	".fs":     "F#",
	".swift":  "Swift",
	".dart":   "Dart",
	".lua":    "Lua",
	".pl":     "Perl",
	".pm":     "Perl",
	".r":      "R",
	".ex":     "Elixir",
	".exs":    "Elixir",
	".erl":    "Erlang",
	".hs":     "Haskell",
	".clj":    "Clojure",
	".zig":    "Zig",
	".nim":    "Nim",
	".sh":     "Shell",
	".bash":   "Shell",
	".zsh":    "Shell",
	".ps1":    "PowerShell",
	".html":   "HTML",
	".htm":    "HTML",
	".css":    "CSS",
	".scss":   "SCSS",
	".less":   "Less",
	".tf":     "HCL",
}

// vendorDirs are directories of third-party or generated code, skipped as
// linguist's vendor rules skip them.
var vendorDirs = map[string]bool{
	"vendor": true, "node_modules": true, "bower_components": true, "third_party": true,
	"third-party": true, "dist": true, "__pycache__": true,
}

// SkipDir reports whether a directory (its base name) holds no code of the
// repository's own: vendored and generated trees, and hidden directories.
func SkipDir(name string) bool {
	return vendorDirs[name] || strings.HasPrefix(name, ".")
}

// Language names the language of the file at p, or "" when it counts for
// none: unknown extensions, hidden files and minified bundles.
func Language(p string) string {
	base := path.Base(p)
	if strings.HasPrefix(base, ".") || strings.Contains(base, ".min.") {
		return ""
	}
	return byExtension[strings.ToLower(path.Ext(base))]
}
