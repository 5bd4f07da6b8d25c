package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"wharf/modules/setting"
)

type ruleResult struct {
	Remove []struct {
		Package string `json:"package"`
		Version string `json:"version"`
	} `json:"remove"`
	Kept []struct {
		Version string `json:"version"`
		Reason  string `json:"reason"`
	} `json:"kept"`
	Versions int64 `json:"versions"`
	Bytes    int64 `json:"bytes"`
}

func (r ruleResult) versions() string {
	var vs []string
	for _, c := range r.Remove {
		vs = append(vs, c.Version)
	}
	return strings.Join(vs, ",")
}

// ruleCall creates a rule of type typ with the JSON fields given, then
// previews and runs it, and checks that the run removed what the preview
// said.
func ruleCall(t *testing.T, s *server, owner, typ, fields string, h map[string]string) (preview, run ruleResult) {
	t.Helper()
	status, _, body := s.do(t, "POST", "/api/v1/packages/"+owner+"/-/rules", `{"type":"`+typ+`",`+fields+`}`, h)
	if status != http.StatusCreated {
		t.Fatalf("create %s rule: %d %s", typ, status, body)
	}
	var rule struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &rule); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/packages/" + owner + "/-/rules/" + jsonNum(rule.ID)
	for _, step := range []struct {
		method, path string
		into         *ruleResult
	}{{"GET", base + "/preview", &preview}, {"POST", base + "/run", &run}} {
		status, _, body := s.do(t, step.method, step.path, "", h)
		if status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", step.method, step.path, status, body)
		}
		if err := json.Unmarshal([]byte(body), step.into); err != nil {
			t.Fatal(err)
		}
	}
	if preview.versions() != run.versions() {
		t.Fatalf("%s rule: the preview removes %s, the run removed %s", typ, preview.versions(), run.versions())
	}
	return preview, run
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestCleanupRulesKeepFormatsCurrent: a rule's removals go through the
// formats' hooks, so that Composer's p2 document, the Cargo sparse and git
// indexes and npm's packument are current afterwards; npm's latest and the
// versions other dist-tags point at stay, and the preview says why.
func TestCleanupRulesKeepFormatsCurrent(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")

	// Composer: keep the newest.
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		z := composerZip("", map[string]string{"composer.json": `{"name":"acme/hello","description":"d"}`})
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version="+v, string(z), h); status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", v, status, body)
		}
	}
	_, run := ruleCall(t, s, "acme", "composer", `"keep_count":1`, h)
	if run.versions() != "1.1.0,1.0.0" || run.Bytes == 0 {
		t.Errorf("composer rule removed %s (%d bytes)", run.versions(), run.Bytes)
	}
	status, _, body := s.do(t, "GET", "/api/packages/acme/composer/p2/acme/hello.json", "", h)
	if status != 200 || !strings.Contains(body, `"1.2.0"`) || strings.Contains(body, `"1.1.0"`) || strings.Contains(body, `"1.0.0"`) {
		t.Errorf("p2 after the rule: %d %s", status, body)
	}

	// Cargo with its git index.
	gitIndexCall(t, s, "POST", "acme", "", h, http.StatusCreated)
	for _, v := range []string{"0.1.0", "0.2.0", "0.3.0"} {
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/cargo/api/v1/crates/new", cargoPublishBody("tidy", v), h); status != 200 {
			t.Fatalf("publish tidy %s: %d %s", v, status, body)
		}
	}
	runJobs(t, s)
	_, run = ruleCall(t, s, "acme", "cargo", `"keep_count":1`, h)
	if run.versions() != "0.2.0,0.1.0" {
		t.Errorf("cargo rule removed %s", run.versions())
	}
	runJobs(t, s)
	lines := indexLines(t, s, "acme", "ti/dy/tidy", h)
	if len(lines) != 1 || lines[0]["vers"] != "0.3.0" {
		t.Errorf("sparse index after the rule: %v", lines)
	}
	if f := gitIndexFile(t, s, "acme", "ti/dy/tidy"); strings.Contains(f, `"0.1.0"`) || !strings.Contains(f, `"0.3.0"`) {
		t.Errorf("git index after the rule: %q", f)
	}

	// npm: every version matches, latest and beta stay, with the reason.
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/lib", npmPublishBody("lib", v, nil, npmTarball(pkgJSON("lib", v))), h); status != http.StatusCreated {
			t.Fatalf("publish lib %s: %d %s", v, status, body)
		}
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/-/package/lib/dist-tags/beta", `"1.0.0"`, h); status >= 300 {
		t.Fatalf("tag beta: %d %s", status, body)
	}
	preview, run := ruleCall(t, s, "acme", "npm", `"remove_days":0`, h)
	if run.versions() != "1.1.0" {
		t.Errorf("npm rule removed %s", run.versions())
	}
	reasons := map[string]string{}
	for _, k := range preview.Kept {
		reasons[k.Version] = k.Reason
	}
	if !strings.Contains(reasons["2.0.0"], "latest") || !strings.Contains(reasons["1.0.0"], "beta") {
		t.Errorf("the preview's kept versions: %v", preview.Kept)
	}
	status, _, body = s.do(t, "GET", "/api/packages/acme/npm/lib", "", h)
	if status != 200 || strings.Contains(body, `"1.1.0"`) || !strings.Contains(body, `"latest":"2.0.0"`) {
		t.Errorf("packument after the rule: %d %s", status, body)
	}
}

// TestCleanupRulesRespectNpmUnpublishPolicy: with [packages.npm]
// ALLOW_UNPUBLISH = false a rule removes no npm version, and its preview
// lists each under kept with the registry's reason; a bad pattern is
// refused when saved, naming the field.
func TestCleanupRulesRespectNpmUnpublishPolicy(t *testing.T) {
	s := newServer(t, func(c *setting.Config) { c.Packages.Npm.AllowUnpublish = false })
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/npm/lib", npmPublishBody("lib", v, nil, npmTarball(pkgJSON("lib", v))), h); status != http.StatusCreated {
			t.Fatalf("publish lib %s: %d %s", v, status, body)
		}
	}
	status, _, body := s.do(t, "POST", "/api/v1/packages/acme/-/rules", `{"type":"npm","keep_pattern":"(v"}`, h)
	if status != http.StatusUnprocessableEntity || !strings.Contains(apiMessage(t, body), "keep_pattern") {
		t.Fatalf("a bad pattern: %d %s", status, body)
	}
	preview, run := ruleCall(t, s, "acme", "npm", `"keep_count":0`, h)
	if len(run.Remove) != 0 || len(preview.Kept) != 3 {
		t.Fatalf("preview %+v, run %+v", preview, run)
	}
	for _, k := range preview.Kept {
		if k.Version != "2.0.0" && !strings.Contains(k.Reason, "unpublishing is disabled") {
			t.Errorf("%s kept for %q", k.Version, k.Reason)
		}
	}
}
