package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	cargo_service "wharf/services/packages/cargo"
	cleanup_service "wharf/services/packages/cleanup"
)

// TestSettingsTemplates renders every settings page with representative
// data and checks what each must show (and, where it matters, what it must
// not).
func TestSettingsTemplates(t *testing.T) {
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	base := page{Title: "T", RootURL: "http://x/", WharfVersion: "1.0", Viewer: &viewer{Name: "alice", Session: true}}
	scopes := []scopeBox{{scopeChoice: tokenScopes[0], Checked: true}, {scopeChoice: tokenScopes[1]}, {scopeChoice: tokenScopes[len(tokenScopes)-1]}}
	rule := ruleItem{ID: 3, Type: "npm", Enabled: true, KeepCount: 2, KeepPattern: "1\\..*", RemoveDays: 30, RemovePattern: ".*-beta", MatchFullName: true,
		EditURL: "http://x/user/settings/packages/rules/3", PreviewURL: "http://x/user/settings/packages/rules/3/preview", DeleteURL: "http://x/user/settings/packages/rules/3/delete"}
	result := &cleanup_service.Result{
		Remove:   []cleanup_service.Candidate{{Package: "@a/b", Version: "0.1.0-beta", CreatedUnix: 1_700_000_000, Files: 1, Bytes: 2048}},
		Kept:     []cleanup_service.Candidate{{Package: "@a/b", Version: "0.2.0-beta", Reason: "dist-tag next"}},
		Versions: 1, Files: 1, Bytes: 2048, Packages: 1}
	cases := []struct {
		name      string
		data      any
		want      []string
		wantNot   []string
		wantCount map[string]int
	}{
		{"settings/applications", applicationsPage{page: base,
			Tokens: []tokenItem{{Name: "ci <deploy>", Scopes: "read:package, write:package", LastEight: "abcd1234", Created: 1_700_000_000, LastUsed: 1_700_086_400,
				RevokeURL: "http://x/user/settings/applications/delete?name=ci+%3Cdeploy%3E"}, {Name: "old", Scopes: "all", LastEight: "99999999", Created: 1_600_000_000}},
			Scopes: scopes, Name: "again", Error: "access token name must not be empty"},
			[]string{"<h1>Applications</h1>", "ci &lt;deploy&gt;", "…abcd1234", "2023-11-14", "2023-11-15 22:13 UTC", "never",
				`href="http://x/user/settings/applications/delete?name=ci&#43;%3Cdeploy%3E"`, `href="http://x/user/settings/change_password"`,
				`<input type="checkbox" id="scope-read:package" name="scope" value="read:package" checked>`,
				`<input type="checkbox" id="scope-write:package" name="scope" value="write:package">`, `<label for="scope-all">`,
				`value="again"`, `role="alert">access token name must not be empty`, `<th scope="col">Last used</th>`},
			[]string{"Copy it now"}, map[string]int{"<h1": 1}},
		{"settings/applications", applicationsPage{page: base, Scopes: scopes, Created: &createdToken{Name: "ci", Token: "0123456789abcdef0123456789abcdef01234567", Scopes: "write:package"}},
			[]string{"Copy it now", `value="0123456789abcdef0123456789abcdef01234567"`, "You have no access tokens."}, nil, map[string]int{"<h1": 1}},
		{"settings/token_revoke", revokeTokenPage{page: base, Token: tokenItem{Name: "ci", Scopes: "all", LastEight: "abcd1234", Created: 1_700_000_000}},
			[]string{"<h1>Revoke access token</h1>", `name="name" value="ci"`, `name="confirm" value="yes"`, "…abcd1234", `action="http://x/user/settings/applications/delete"`}, nil, nil},
		{"settings/confirm", confirmPage{page: base, Heading: "Remove Composer source", Question: "Stop registering tags of alice/lib?", Detail: "Versions stay.",
			Action: "http://x/user/settings/packages/composer/remove", Button: "Remove source", CancelURL: "http://x/user/settings/packages/", Fields: map[string]string{"repository": "alice/lib"}},
			[]string{"<h1>Remove Composer source</h1>", `name="repository" value="alice/lib"`, `name="confirm" value="yes"`, `class="danger">Remove source</button>`, "Versions stay."}, nil, nil},
		{"settings/package", packageSettingsPage{page: base, Owner: "alice", Type: "npm", Name: "@a/b", PackagesURL: "http://x/alice/-/packages",
			SettingsURL: "http://x/alice/-/packages/npm/@a%2Fb/settings", PackageURL: "http://x/alice/-/packages/npm/@a%2Fb", Linked: "alice/lib", LinkedName: "lib", Repos: []string{"lib", "tool"}, Versions: []string{"2.0.0", "1.0.0"}, VersionCount: 2,
			Error: "to delete the package, type its name, @a/b, exactly", ConfirmName: "@a/c"},
			[]string{"<h1>Settings of @a/b</h1>", `action="http://x/alice/-/packages/npm/@a%2Fb/settings"`, `<option value="tool">tool</option>`, `<option value="lib" selected>lib</option>`,
				`href="http://x/alice/-/packages/npm/@a%2Fb">npm package @a/b</a>`,
				`href="http://x/alice/lib">alice/lib</a>`, `name="action" value="unlink"`, `action="http://x/alice/-/packages/npm/@a%2Fb/settings/delete_version"`,
				`<option value="2.0.0">2.0.0</option>`, `value="@a/c"`, "all its versions (2)", `<label for="confirm_name">`, `role="alert">to delete the package`},
			nil, map[string]int{"<h1": 1}},
		{"settings/package", packageSettingsPage{page: base, Owner: "alice", Type: "generic", Name: "tool", SettingsURL: "http://x/alice/-/packages/generic/tool/settings"},
			[]string{"Not linked to a repository.", "alice has no repository you may see", "This package has no versions."}, []string{`value="unlink"`, "role=\"alert\""}, nil},
		{"settings/package", packageSettingsPage{page: base, Owner: "alice", Type: "generic", Name: "tool", SettingsURL: "http://x/alice/-/packages/generic/tool/settings",
			ReposHidden: true, LinkedHidden: true, Versions: []string{"1"}, VersionCount: 1},
			[]string{"lacks read:repository", "Linked to a repository that is not shown to you.", `value="unlink"`}, []string{`name="repo_name"`}, nil},
		{"settings/delete_version", deleteVersionPage{page: base, Owner: "alice", Type: "npm", Name: "@a/b", Version: "1.0.0", SettingsURL: "http://x/alice/-/packages/npm/@a%2Fb/settings", Files: 2, Bytes: 3 << 20},
			[]string{"<h1>Delete @a/b 1.0.0</h1>", "2 file(s) (3.0 MiB)", `name="version" value="1.0.0"`, `name="confirm" value="yes"`, `action="http://x/alice/-/packages/npm/@a%2Fb/settings/delete_version"`}, nil, nil},
		{"settings/packages", ownerSettingsPage{page: base, Owner: "acme", IsOrg: true, BaseURL: "http://x/org/acme/settings/packages/", Usage: 5 << 20, UsageKnown: true,
			Cargo:   &cargo_service.GitIndex{Exists: true, Repository: "acme/_cargo-index", CloneURL: "http://x/acme/_cargo-index.git", LastCommit: "0123456789abcdef", LastCommitTime: time.Unix(1_700_000_000, 0)},
			Sources: []sourceItem{{Repository: "acme/lib", RemoveURL: "http://x/org/acme/settings/packages/composer/remove?repository=acme%2Flib"}},
			Rules:   []ruleItem{rule}, Error: "repository \"x/y\" does not exist", Section: "composer", ComposerRepo: "x/y"},
			[]string{"<h1>Package settings of acme</h1>", "5.0 MiB", `index = "http://x/acme/_cargo-index.git"`, "commit <code>0123456789ab</code>",
				`action="http://x/org/acme/settings/packages/cargo/rebuild"`, `href="http://x/org/acme/settings/packages/composer/remove?repository=acme%2Flib"`,
				`value="x/y"`, `role="alert">repository &#34;x/y&#34; does not exist`, `href="http://x/user/settings/packages/rules/3/preview"`,
				"<code>.*-beta</code>", `href="http://x/org/acme/settings/packages/rules/add"`},
			[]string{"cargo/initialize", "Access tokens"}, map[string]int{"<h1": 1, "role=\"alert\"": 1}},
		{"settings/packages", ownerSettingsPage{page: base, Owner: "alice", BaseURL: "http://x/user/settings/packages/", Cargo: &cargo_service.GitIndex{},
			RulesNote: "only the owners of \"alice\" manage its cleanup rules"},
			[]string{`action="http://x/user/settings/packages/cargo/initialize"`, "No source repositories you may see.", "only the owners of", "Access tokens"},
			[]string{"rules/add", "Storage used"}, nil},
		{"settings/rule", ruleFormPage{page: base, Owner: "alice", Action: "http://x/user/settings/packages/rules/add", BaseURL: "http://x/user/settings/packages/",
			Types: []string{"generic", "npm"}, Rule: ruleForm{Type: "npm", KeepCount: "-1", KeepPattern: "(", Enabled: true}, Error: "keep_count: must not be negative"},
			[]string{"<h1>Add a cleanup rule</h1>", `<option value="npm" selected>npm</option>`, `<option value="generic">generic</option>`, `id="enabled" name="enabled" checked`,
				`value="-1"`, `name="keep_pattern" value="("`, `role="alert">keep_count: must not be negative`, `<label for="remove_pattern">`, "Add rule</button>"},
			[]string{"Delete this rule", `id="match_full_name" name="match_full_name" checked`}, nil},
		{"settings/rule", ruleFormPage{page: base, Owner: "alice", Action: rule.EditURL, BaseURL: "http://x/user/settings/packages/", Editing: true,
			PreviewURL: rule.PreviewURL, DeleteURL: rule.DeleteURL, Types: []string{"npm"}, Rule: ruleForm{Type: "npm", MatchFullName: true}},
			[]string{"<h1>Edit the cleanup rule for npm packages</h1>", `href="http://x/user/settings/packages/rules/3/delete"`, `id="match_full_name" name="match_full_name" checked`, "Save rule</button>"},
			[]string{`id="enabled" name="enabled" checked`}, nil},
		{"settings/rule_preview", rulePreviewPage{page: base, Owner: "alice", Rule: rule, BaseURL: "http://x/user/settings/packages/", Result: result, RunURL: rule.EditURL + "/run",
			Stamp: "s1.3.0.0123456789abcdef.1z"},
			[]string{"<h1>Cleanup preview: npm packages of alice</h1>", "would remove <strong>1 version(s)</strong>, 1 file(s), 2.0 KiB, and 1 package(s)",
				"<td>@a/b</td><td>0.1.0-beta</td><td>2023-11-14</td>", "dist-tag next", `action="http://x/user/settings/packages/rules/3/run"`, "Run now: remove these 1 version(s)",
				`<input type="hidden" name="stamp" value="s1.3.0.0123456789abcdef.1z">`, "removes exactly this list"},
			[]string{`role="alert"`}, map[string]int{`class="candidate"`: 1}},
		{"settings/rule_preview", rulePreviewPage{page: base, Owner: "alice", Rule: rule, BaseURL: "http://x/user/settings/packages/", Result: result, RunURL: rule.EditURL + "/run",
			Stamp: "s1.3.0.0123456789abcdef.20", Error: "Nothing was removed: the selection changed since the preview."},
			[]string{"<h1>Cleanup preview: npm packages of alice</h1>", `role="alert">Nothing was removed: the selection changed since the preview.</p>`,
				`name="stamp" value="s1.3.0.0123456789abcdef.20"`, "Run now: remove these 1 version(s)"}, nil, nil},
		{"settings/rule_preview", rulePreviewPage{page: base, Owner: "alice", Rule: rule, BaseURL: "http://x/user/settings/packages/", Result: result, Ran: true},
			[]string{"<h1>Cleanup run: npm packages of alice</h1>", "Removed <strong>1 version(s)</strong>", "<td>0.1.0-beta</td>"}, []string{"Run now"}, nil},
		{"settings/rule_preview", rulePreviewPage{page: base, Owner: "alice", Rule: rule, Result: &cleanup_service.Result{}},
			[]string{"would remove <strong>0 version(s)</strong>", "Nothing."}, []string{"Run now", "Selected but kept"}, nil},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, c.name, c.data); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out := buf.String()
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q:\n%s", c.name, w, out)
			}
		}
		for _, w := range c.wantNot {
			if strings.Contains(out, w) {
				t.Errorf("%s has %q:\n%s", c.name, w, out)
			}
		}
		for w, n := range c.wantCount {
			if got := strings.Count(out, w); got != n {
				t.Errorf("%s has %q %d times, want %d", c.name, w, got, n)
			}
		}
		if !strings.Contains(out, "<title>") || !strings.Contains(out, `<main id="main"`) || strings.Count(out, "<h1") != 1 {
			t.Errorf("%s lacks the frame or has other than one h1", c.name)
		}
	}
}
