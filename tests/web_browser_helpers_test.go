package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browser is one tab of a headless Chromium, driven through the DevTools
// protocol, with the steps a person takes on a page: open an address, read
// what the page says, fill a field found by its label, tick a box, choose
// an option, press a button, follow a link. Elements are found as a person
// finds them (label text, button text, link text), so a page that loses a
// label fails the test.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // the app's URL, without the trailing slash
	// artifacts is where screenshots go.
	artifacts string
}

// requireChromium finds Debian's chromium (or a chromium-browser). It
// skips on a developer machine that lacks it, and fails in CI, where
// .ci/run installs it.
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required in CI (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium not installed; CI=true makes this a failure")
	return ""
}

// newBrowser starts a headless Chromium for the test, with the flags a
// root user in a container needs. Everything the browser does must finish
// within timeout: past it the browser is stopped, and the step that waited
// fails the test (a hung browser or a page that never loads cannot hang
// the suite).
func newBrowser(t *testing.T, base string, timeout time.Duration) *browser {
	t.Helper()
	path := requireChromium(t)
	// The deadline sits on the allocator's context: it bounds the browser
	// process itself, the first Run (which starts it) included.
	deadline, cancelDeadline := context.WithTimeout(context.Background(), timeout)
	var output syncBuffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container: the sandbox needs namespaces we lack
		chromedp.Flag("headless", "new"),
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 1000),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(&output),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelDeadline()
		if t.Failed() && output.String() != "" {
			t.Logf("chromium's output (without its D-Bus complaints):\n%s", lastLines(withoutDBus(output.String()), 40))
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v\n%s", path, err, output.String())
	}
	dir := os.Getenv("WHARF_TEST_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, base: strings.TrimSuffix(base, "/"), artifacts: dir}
}

// withoutDBus drops the lines a container without D-Bus makes chromium
// print on every start.
func withoutDBus(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "dbus") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// fail ends the test with what the page shows, so that a failure says
// where the browser was.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.t.Fatalf("%s\n(at %s; the page says: %s)", msg, loc, clip(text, 1500))
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// open loads a page of the app (a path) or any address, and returns the
// status of the document it ended on (after redirects).
func (b *browser) open(pathOrURL string) *network.Response {
	b.t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = b.base + u
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.fail("open %s: %v", u, err)
	}
	return resp
}

// openOK loads a page that must answer 200, and checks its frame.
func (b *browser) openOK(path string) {
	b.t.Helper()
	if resp := b.open(path); resp.Status != http.StatusOK {
		b.fail("open %s: status %d, want 200", path, resp.Status)
	}
	b.frame()
}

// location is the address the tab shows.
func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fail("location: %v", err)
	}
	return loc
}

// text is what the elements matching the CSS selector say, as a person
// reads them (innerText: visible text, one space between words), joined by
// a new line; "" when nothing matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`[...document.querySelectorAll(%s)].map(e => e.innerText).join("\n")`, jsString(sel))))
	if err != nil {
		b.fail("read %s: %v", sel, err)
	}
	return normalizeSpace(got)
}

// main is what the page's main landmark says.
func (b *browser) main() string { b.t.Helper(); return b.text("main") }

// outline is the first line of each element that sel matches, each ended
// by a NUL: one entry per element, to count them and say what they are.
func (b *browser) outline(sel string) string {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`[...document.querySelectorAll(%s)].map(e => e.innerText.trim().split("\n")[0] + "\0").join("")`, jsString(sel))))
	if err != nil {
		b.fail("read %s: %v", sel, err)
	}
	return got
}

// title is the document's title.
func (b *browser) title() string {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Title())
	if err != nil {
		b.fail("title: %v", err)
	}
	return got
}

var spaces = regexp.MustCompile(`[ \t\r\f\v\x{a0}]+`)

func normalizeSpace(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(spaces.ReplaceAllString(l, " ")); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// says fails unless the part of the page that sel selects contains every
// one of the texts.
func (b *browser) says(sel string, texts ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, want := range texts {
		if !strings.Contains(got, want) {
			b.fail("%s does not say %q; it says:\n%s", sel, want, got)
		}
	}
}

// saysNot fails if the part of the page that sel selects contains one of
// the texts.
func (b *browser) saysNot(sel string, texts ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, bad := range texts {
		if strings.Contains(got, bad) {
			b.fail("%s says %q, which it must not; it says:\n%s", sel, bad, got)
		}
	}
}

func jsString(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

// findJS is the page-side lookup: within scope (a CSS selector), the
// elements a person would mean by kind and text, marked with a fresh
// data-e2e attribute so that chromedp can act on them. kind: "label" (the
// control a label names: exact label text, else the one label that begins
// with it), "button" (a button or submit input with that text), "link" (an
// anchor with that text), "option" (the select a label names, choosing the
// option with that text).
const findJS = `(function(scope, kind, want, extra) {
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const root = scope ? document.querySelector(scope) : document;
	if (!root) return "error:no element matches " + scope;
	const visible = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
	let found = [];
	const pick = (els, textOf) => {
		const exact = els.filter(e => norm(textOf(e)) === want);
		if (exact.length) return exact;
		return els.filter(e => norm(textOf(e)).startsWith(want));
	};
	if (kind === "label" || kind === "option") {
		const labels = pick([...root.querySelectorAll("label")], l => l.innerText);
		found = labels.map(l => l.control).filter(c => c);
		if (labels.length && !found.length) return "error:the label " + JSON.stringify(want) + " names no control";
	} else if (kind === "button") {
		found = pick([...root.querySelectorAll("button, input[type=submit]")].filter(visible), e => e.tagName === "INPUT" ? e.value : e.innerText);
	} else if (kind === "link") {
		found = pick([...root.querySelectorAll("a[href]")].filter(visible), e => e.innerText);
	}
	if (found.length === 0) return "error:no " + kind + " " + JSON.stringify(want) + (scope ? " in " + scope : "");
	if (found.length > 1) return "error:" + found.length + " elements match " + kind + " " + JSON.stringify(want) + (scope ? " in " + scope : "") + ": narrow the scope";
	const el = found[0];
	if (kind === "option") {
		if (el.tagName !== "SELECT") return "error:the label " + JSON.stringify(want) + " names a " + el.tagName + ", not a select";
		const opts = [...el.options].filter(o => norm(o.text) === extra);
		if (opts.length !== 1) return "error:the select " + JSON.stringify(want) + " has " + opts.length + " options " + JSON.stringify(extra) + "; it has: " + [...el.options].map(o => norm(o.text)).join(" | ");
	}
	window.__e2e = (window.__e2e || 0) + 1;
	el.setAttribute("data-e2e", String(window.__e2e));
	return "ok:[data-e2e=\"" + window.__e2e + "\"]";
})`

// find marks the element and returns a CSS selector for it.
func (b *browser) find(scope, kind, want, extra string) chromedp.CSS {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf("%s(%s, %s, %s, %s)",
		findJS, jsString(scope), jsString(kind), jsString(want), jsString(extra))))
	if err != nil {
		b.fail("find %s %q: %v", kind, want, err)
	}
	sel, ok := strings.CutPrefix(got, "ok:")
	if !ok {
		b.fail("find %s %q: %s", kind, want, strings.TrimPrefix(got, "error:"))
	}
	return chromedp.CSS(sel)
}

// fill types value into the field that the label names (in scope, ""
// for the whole page), after clearing it.
func (b *browser) fill(scope, label, value string) {
	b.t.Helper()
	sel := b.find(scope, "label", label, "")
	if err := chromedp.Do(b.ctx, chromedp.Clear(sel), chromedp.Click(sel), chromedp.SendKeys(sel, value)); err != nil {
		b.fail("fill %q: %v", label, err)
	}
	if got, err := chromedp.Run(b.ctx, chromedp.Value(sel)); err != nil || got != value {
		b.fail("the field %q holds %q after typing %q (%v)", label, got, value, err)
	}
}

// tick checks the check box (or chooses the radio button) that the label
// names, with a click as a person would.
func (b *browser) tick(scope, label string) {
	b.t.Helper()
	sel := b.find(scope, "label", label, "")
	checked, err := chromedp.Run(b.ctx, chromedp.JavascriptAttribute[bool](sel, "checked"))
	if err != nil {
		b.fail("tick %q: %v", label, err)
	}
	if !checked {
		if err := chromedp.Do(b.ctx, chromedp.Click(sel)); err != nil {
			b.fail("tick %q: %v", label, err)
		}
	}
	if checked, err := chromedp.Run(b.ctx, chromedp.JavascriptAttribute[bool](sel, "checked")); err != nil || !checked {
		b.fail("the box %q is not checked after a click (%v)", label, err)
	}
}

// choose picks the option with the visible text option in the select that
// the label names: focus the list and type the option's text, as a person
// with a keyboard does; then check what the list shows.
func (b *browser) choose(scope, label, option string) {
	b.t.Helper()
	sel := b.find(scope, "option", label, option)
	set := fmt.Sprintf(`(function(el, text) {
		for (const o of el.options) { if (o.text.replace(/\s+/g, " ").trim() === text) { el.value = o.value; } }
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return el.options[el.selectedIndex].text.replace(/\s+/g, " ").trim();
	})(document.querySelector(%s), %s)`, jsString(string(sel)), jsString(option))
	if err := chromedp.Do(b.ctx, chromedp.Focus(sel)); err != nil {
		b.fail("choose %q: %v", label, err)
	}
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](set))
	if err != nil || got != option {
		b.fail("the list %q shows %q after choosing %q (%v)", label, got, option, err)
	}
}

// stepTimeout bounds one navigation: a page that does not load within it
// fails the step, not the rest of the test's time.
const stepTimeout = time.Minute

// press clicks the button with that text (in scope) and waits for the page
// it leads to; it returns that page's response (after redirects).
func (b *browser) press(scope, button string) *network.Response {
	b.t.Helper()
	sel := b.find(scope, "button", button, "")
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		b.fail("press %q: %v", button, err)
	}
	return resp
}

// follow clicks the link with that text (in scope) and waits for the page.
func (b *browser) follow(scope, link string) *network.Response {
	b.t.Helper()
	sel := b.find(scope, "link", link, "")
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		b.fail("follow %q: %v", link, err)
	}
	if resp.Status != http.StatusOK {
		b.fail("follow %q: status %d", link, resp.Status)
	}
	b.frame()
	return resp
}

// typeAndEnter types value into the field the label names and presses
// Enter there, as a person without a mouse sends a form, and waits for
// the page it leads to.
func (b *browser) typeAndEnter(scope, label, value string) *network.Response {
	b.t.Helper()
	sel := b.find(scope, "label", label, "")
	if err := chromedp.Do(b.ctx, chromedp.Clear(sel), chromedp.Focus(sel)); err != nil {
		b.fail("focus %q: %v", label, err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.SendKeys(sel, value+"\n"))
	if err != nil {
		b.fail("type into %q and press Enter: %v", label, err)
	}
	return resp
}

// pressOK is press for a form whose outcome must be a 200 page; it
// checks that page's frame.
func (b *browser) pressOK(scope, button string) {
	b.t.Helper()
	if resp := b.press(scope, button); resp.Status != http.StatusOK {
		b.fail("press %q: status %d, want 200", button, resp.Status)
	}
	b.frame()
}

// cells reads a table: one row per tr, one string per th/td.
func (b *browser) cells(tableSel string) [][]string {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[][]string](fmt.Sprintf(
		`[...document.querySelectorAll(%s + " tr")].map(tr => [...tr.querySelectorAll("th, td")].map(c => c.innerText.replace(/\s+/g, " ").trim()))`,
		jsString(tableSel))))
	if err != nil {
		b.fail("read the table %s: %v", tableSel, err)
	}
	return got
}

// pngMagic opens every PNG file.
var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// frame checks what every page has: a title naming Wharf, one h1, the
// landmarks, and Wharf's own version (the test server's "test") in the
// footer, never the version of a thing the page shows.
func (b *browser) frame() {
	b.t.Helper()
	if title := b.title(); !strings.HasSuffix(title, " · Wharf") {
		b.fail("the title is %q, want it to end in \" · Wharf\"", title)
	}
	for _, el := range []string{"h1", "header", "main", "footer"} {
		if got := b.outline(el); strings.Count(got, "\x00") != 1 {
			b.fail("the page has %d <%s> elements %q, want one", strings.Count(got, "\x00"), el, strings.Split(strings.TrimSuffix(got, "\x00"), "\x00"))
		}
	}
	if footer := b.text("footer"); !strings.HasPrefix(footer, "Wharf test ") {
		b.fail("the footer says %q, want Wharf's version, \"Wharf test\"", footer)
	}
}

// screenshot checks the page's frame, saves the whole page as
// artifacts/web-<name>.png and checks that the file is a PNG with
// something in it.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	b.frame()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.artifacts, "web-"+name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		b.t.Fatal(err)
	}
	// A PNG of a page: the signature, an IHDR chunk, and more than a blank
	// image's few hundred bytes.
	if !bytes.HasPrefix(got, pngMagic) || !bytes.Equal(got[12:16], []byte("IHDR")) || len(got) < 2000 {
		b.t.Fatalf("screenshot %s is not a PNG of a page (%d bytes)", p, len(got))
	}
	abs, _ := filepath.Abs(p)
	b.t.Logf("screenshot: %s (%d bytes)", abs, len(got))
	return abs
}
