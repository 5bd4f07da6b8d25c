package web_test

import (
	"bytes"
	"html/template"
	"testing"

	"wharf/templates"
)

// TestTemplatesParseAndRender parses every template and renders each page
// with a full view model, so that a typo fails here and not at start-up.
func TestTemplatesParseAndRender(t *testing.T) {
	tmpl, err := template.ParseFS(templates.FS, "*.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	data := struct {
		Title, RootURL, Version, DBType string
		Users, Orgs                     int64
	}{"Home", "http://x/", "1.0", "sqlite3", 2, 1}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "home", data); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("2 user(s), 1 organisation(s)")) {
		t.Fatalf("home page lacks the counts:\n%s", buf.String())
	}
}
