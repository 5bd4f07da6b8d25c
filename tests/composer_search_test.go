package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposerSearchURLResolves: each search hit's url is the package's web
// page (its highest version's), and following it answers 200, for the
// caller who searched, with the real composer too. It used to name a page
// that does not exist (404).
func TestComposerSearchURLResolves(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	for _, v := range []string{"1.2.0", "1.10.0", "1.9.0"} {
		z := composerZip("", map[string]string{"composer.json": `{"name":"acme/hello","description":"hello ` + v + `"}`})
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version="+v, string(z), h); status != 201 {
			t.Fatalf("upload %s: %d %s", v, status, body)
		}
	}
	status, _, body := s.do(t, "GET", "/api/packages/acme/composer/search.json?q=hel", "", h)
	var res struct {
		Results []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			URL         string `json:"url"`
			Downloads   int64  `json:"downloads"`
			Favers      int    `json:"favers"`
		} `json:"results"`
		Total int64 `json:"total"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil || status != 200 || res.Total != 1 || len(res.Results) != 1 {
		t.Fatalf("search: %d %s (%v)", status, body, err)
	}
	hit := res.Results[0]
	want := s.URL + "/acme/-/packages/composer/acme%2Fhello/1.10.0"
	if hit.Name != "acme/hello" || hit.Description != "hello 1.10.0" || hit.URL != want {
		t.Fatalf("hit %+v, want the url %s (the highest version's page)", hit, want)
	}
	follow := func(u string, header map[string]string) {
		t.Helper()
		status, _, page := s.do(t, "GET", strings.TrimPrefix(u, s.URL), "", header)
		if status != http.StatusOK || !strings.Contains(page, "acme/hello") || !strings.Contains(page, "1.10.0") {
			t.Fatalf("GET %s: %d\n%.400s", u, status, page)
		}
	}
	follow(hit.URL, h)
	follow(hit.URL, nil) // acme is public: so is the page

	// The real client prints the same url.
	requireClient(t, "composer")
	home := t.TempDir()
	project := filepath.Join(home, "app")
	os.MkdirAll(project, 0o755)
	os.WriteFile(filepath.Join(project, "composer.json"), []byte(fmt.Sprintf(`{"name":"me/app",
		"repositories":[{"type":"composer","url":"%s/api/packages/acme/composer"},{"packagist.org":false}],
		"config":{"secure-http":false}}`, s.URL)), 0o644)
	os.WriteFile(filepath.Join(project, "auth.json"), []byte(fmt.Sprintf(`{"http-basic":{%q:{"username":"acme","password":"acme-password"}}}`,
		strings.TrimPrefix(s.URL, "http://"))), 0o644)
	cmd := exec.CommandContext(t.Context(), "composer", "search", "--format=json", "hello")
	cmd.Dir = project
	cmd.Env = append(os.Environ(), "COMPOSER_HOME="+filepath.Join(home, ".composer"), "COMPOSER_CACHE_DIR="+filepath.Join(home, ".cache"),
		"COMPOSER_NO_INTERACTION=1", "COMPOSER_ALLOW_SUPERUSER=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("composer search: %v\n%s", err, out)
	}
	var printed []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	}
	if err := json.Unmarshal(out, &printed); err != nil || len(printed) != 1 || printed[0].URL != want {
		t.Fatalf("composer search --format=json: %s (%v)", out, err)
	}
	follow(printed[0].URL, h)
}
