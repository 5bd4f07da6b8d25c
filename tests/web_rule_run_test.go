package tests

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	runFormRE     = regexp.MustCompile(`(?s)<form method="post" action="([^"]*/run)">(.*?)</form>`)
	hiddenInputRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// runForm is the preview page's run form as a browser submits it: its
// action's path and its hidden fields.
func runForm(t *testing.T, p formPage) (string, url.Values) {
	t.Helper()
	m := runFormRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("the page has no run form:\n%s", p.Body)
	}
	action, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for _, in := range hiddenInputRE.FindAllStringSubmatch(m[2], -1) {
		form.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	if form.Get("confirm") != "yes" || form.Get("stamp") == "" {
		t.Fatalf("the run form lacks its confirmation or stamp: %v", form)
	}
	return action.RequestURI(), form
}

func sortedRows(body string) string {
	rows := previewRows(body)
	slices.Sort(rows)
	return strings.Join(rows, ",")
}

// TestWebRuleRunRemovesThePreview: the preview page's run button removes
// exactly the list it showed; when the selection changed since (a version
// published that the rule selects, the rule edited), the run removes
// nothing and answers 409 with the preview as it is now, whose button
// then runs that; a listed version removed meanwhile is skipped.
func TestWebRuleRunRemovesThePreview(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	aliceH := basic("alice", "alice-password")
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
		s.putGenericFile(t, "alice", "tool", v, aliceH)
	}
	b := newFormBrowser(t, s)
	b.signIn("alice", "alice-password")
	const base = "/user/settings/packages"
	p := b.post(base+"/rules/add", url.Values{"type": {"generic"}, "keep_count": {"3"}})
	p.expect(t, "add rule", 200, "has been added")
	m := rulePreviewLinkRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no preview link:\n%s", p.Body)
	}
	rule := base + "/rules/" + m[1]
	present := func() string {
		t.Helper()
		var out []string
		for _, v := range []string{"0.9.0", "1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
			status, _, body := s.do(t, "GET", "/api/v1/packages/alice/generic/tool/"+v, "", aliceH)
			switch status {
			case http.StatusOK:
				out = append(out, v)
			case http.StatusNotFound:
			default:
				t.Fatalf("version %s: %d %s", v, status, body)
			}
		}
		return strings.Join(out, ",")
	}

	// Missing or doctored stamp: refused, nothing removed.
	preview := b.get(rule + "/preview")
	preview.expect(t, "preview", 200, "would remove <strong>2 version(s)</strong>")
	action, form := runForm(t, preview)
	b.post(action, url.Values{"confirm": {"yes"}}).expect(t, "run without a stamp", 400, "preview again")
	b.post(action, url.Values{"confirm": {"yes"}, "stamp": {"s1.x"}}).expect(t, "run with a bad stamp", 400, "preview again")

	// A version published after the preview that the rule selects: 409,
	// nothing removed, the page is the new preview.
	s.putGenericFile(t, "alice", "tool", "0.9.0", aliceH)
	refused := b.post(action, form)
	refused.expect(t, "run after a publish", 409, "Nothing was removed: the selection changed since the preview",
		"Cleanup preview", "would remove <strong>3 version(s)</strong>", "Run now: remove these 3 version(s)")
	if got := sortedRows(refused.Body); got != "tool@0.9.0,tool@1.0.0,tool@1.1.0" {
		t.Fatalf("the 409 page previews %s", got)
	}
	if cc := refused.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("the 409 page has Cache-Control %q", cc)
	}
	if got := present(); got != "0.9.0,1.0.0,1.1.0,1.2.0,1.3.0,1.4.0" {
		t.Fatalf("after the refused run: %s", got)
	}

	// The rule edited after that preview: 409 again, nothing removed.
	action, form = runForm(t, refused)
	b.post(rule, url.Values{"type": {"generic"}, "keep_count": {"4"}}).expect(t, "edit", 200, "has been saved")
	refused = b.post(action, form)
	refused.expect(t, "run after an edit", 409, "Nothing was removed", "keep the newest 4", "would remove <strong>2 version(s)</strong>")
	if got := present(); got != "0.9.0,1.0.0,1.1.0,1.2.0,1.3.0,1.4.0" {
		t.Fatalf("after the refused run: %s", got)
	}

	// A listed version removed meanwhile: the rest of the list goes.
	action, form = runForm(t, refused)
	if status, _, body := s.do(t, "DELETE", "/api/v1/packages/alice/generic/tool/0.9.0", "", aliceH); status != http.StatusNoContent {
		t.Fatalf("delete 0.9.0: %d %s", status, body)
	}
	ran := b.post(action, form)
	ran.expect(t, "run after a removal", 200, "Cleanup run", "Removed <strong>1 version(s)</strong>")
	if got := sortedRows(ran.Body); got != "tool@1.0.0" {
		t.Fatalf("the run removed %s", got)
	}
	if got := present(); got != "1.1.0,1.2.0,1.3.0,1.4.0" {
		t.Fatalf("after the run: %s", got)
	}

	// Unchanged: the run removes exactly the preview.
	b.post(rule, url.Values{"type": {"generic"}, "keep_count": {"2"}}).expect(t, "edit", 200, "has been saved")
	preview = b.get(rule + "/preview")
	want := sortedRows(preview.Body)
	if want != "tool@1.1.0,tool@1.2.0" {
		t.Fatalf("the preview lists %s", want)
	}
	action, form = runForm(t, preview)
	ran = b.post(action, form)
	ran.expect(t, "run", 200, "Removed <strong>2 version(s)</strong>")
	if got := sortedRows(ran.Body); got != want {
		t.Fatalf("the run removed %s, the preview listed %s", got, want)
	}
	if got := present(); got != "1.3.0,1.4.0" {
		t.Fatalf("after the run: %s", got)
	}
}
