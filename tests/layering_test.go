package tests

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	packages_model "wharf/models/packages"
)

// TestLayering enforces the dependency rule: routers → services → models →
// modules. modules import only modules; models never import services or
// routers; services never import routers nor use net/http's server side
// (TestServicesSpeakNoHTTP); no format's folder imports another format's,
// and the registry core imports no format (TestFormatsStayApart).
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
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d packages listed; the check is not looking at the project", checked)
	}
}

// formatOf splits a package path into its registry layer folder and
// format: "wharf/services/packages/npm" → ("wharf/services/packages",
// "npm"). The core itself, and a shared helper beside the formats that is
// not named after a type (modules/packages/jsonobject), have format "".
// ok is false outside the registry's folders.
func formatOf(pkg string) (core, format string, ok bool) {
	for _, root := range []string{"wharf/models/packages", "wharf/modules/packages", "wharf/services/packages", "wharf/routers/api/packages"} {
		if pkg == root {
			return root, "", true
		}
		if rest, found := strings.CutPrefix(pkg, root+"/"); found {
			f, _, _ := strings.Cut(rest, "/")
			if _, err := packages_model.ParseType(f); err != nil {
				return root, "", true
			}
			return root, f, true
		}
	}
	return "", "", false
}

// TestFormatsStayApart: a format's rules live in its own folders, so no
// format imports another's, and the core of each layer imports none (it
// learns a format only through what the app wires in). The one exception
// is the packages router's mount table (routers/api/packages), which
// mounts each format explicitly.
func TestFormatsStayApart(t *testing.T) {
	// -test: a format's tests keep to it too. A test variant is listed as
	// "pkg [pkg.test]" or "pkg_test [pkg.test]"; the generated "pkg.test"
	// main is skipped.
	out, err := exec.Command("go", "list", "-test", "-f", `{{.ImportPath}}|{{join .Imports " "}}`, "wharf/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, imports, _ := strings.Cut(line, "|")
		pkg := strings.TrimSuffix(strings.Fields(path)[0], "_test")
		if strings.HasSuffix(pkg, ".test") {
			continue
		}
		_, from, ok := formatOf(pkg)
		if !ok {
			continue
		}
		checked++
		for _, imp := range strings.Fields(imports) {
			_, to, ok := formatOf(imp)
			if !ok || to == "" || to == from {
				continue
			}
			if from == "" && strings.HasPrefix(pkg, "wharf/routers/api/packages") {
				continue // the mount table
			}
			if from == "" {
				t.Errorf("%s imports %s: the registry core must not know a format", pkg, imp)
			} else {
				t.Errorf("%s imports %s: format %s must not depend on format %s", pkg, imp, from, to)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d registry packages listed; the check is not looking at the project", checked)
	}
}

// TestServicesSpeakNoHTTP: services may call out over HTTP (an
// http.Client) but never see a request or pick a response: no
// *http.Request, http.ResponseWriter, handler, server or status code in
// services/.
func TestServicesSpeakNoHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.Dir}} {{join .GoFiles " "}} {{join .TestGoFiles " "}}`, "wharf/services/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	serverSide := map[string]bool{"Request": true, "ResponseWriter": true, "Handler": true, "HandlerFunc": true, "Server": true,
		"ServeMux": true, "Error": true, "NotFound": true, "Redirect": true, "ServeContent": true, "ListenAndServe": true}
	files := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, name := range fields[1:] {
			path := filepath.Join(fields[0], name)
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files++
			httpName := ""
			for _, imp := range f.Imports {
				switch strings.Trim(imp.Path.Value, `"`) {
				case "net/http":
					httpName = "http"
					if imp.Name != nil {
						httpName = imp.Name.Name
					}
				case "net/http/httptest", "github.com/go-chi/chi/v5":
					t.Errorf("%s imports %s: services must not serve HTTP", path, imp.Path.Value)
				}
			}
			if httpName == "" {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == httpName && (serverSide[sel.Sel.Name] || strings.HasPrefix(sel.Sel.Name, "Status")) {
					t.Errorf("%s uses http.%s: services speak domain (apperr kinds), routers speak HTTP", path, sel.Sel.Name)
				}
				return true
			})
		}
	}
	if files < 20 {
		t.Fatalf("only %d service files parsed; the check is not looking at the project", files)
	}
}
