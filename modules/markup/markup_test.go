package markup_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"wharf/modules/markup"
)

func TestMarkdown(t *testing.T) {
	r := markup.New()
	cases := []struct {
		name    string
		src     string
		want    []string
		notWant []string
	}{
		{"heading and emphasis", "# Title\n\nSome *text* and `code`.", []string{`<h2 id="user-content-title">Title</h2>`, "<em>text</em>", "<code>code</code>"}, []string{"<h1"}},
		{"gfm table", "| a | b |\n|---|---|\n| 1 | 2 |\n", []string{"<table>", "<th>a</th>", "<td>2</td>"}, nil},
		{"gfm strikethrough and autolink", "~~old~~ see https://example.com/x", []string{"<del>old</del>", `<a href="https://example.com/x"`}, nil},
		{"fenced code keeps its language", "```go\nfunc main() {}\n```", []string{`<code class="language-go">`}, nil},
		{"script tag stripped", "hello <script>alert(1)</script> world", []string{"hello"}, []string{"<script", "alert(1)</script>"}},
		{"event handler stripped", `<p onclick="alert(1)">x</p><img src="a.png" onerror="alert(2)">`, []string{"x"}, []string{"onclick", "onerror", "alert("}},
		{"javascript link stripped", "[click](javascript:alert(1)) <a href=\"javascript:alert(2)\">b</a>", []string{"click"}, []string{"javascript:"}},
		{"data html link stripped", `<a href="data:text/html;base64,PHNjcmlwdD4=">d</a>`, []string{"d"}, []string{"data:text/html"}},
		{"style and iframe stripped", `<style>body{}</style><iframe src="https://evil"></iframe>ok`, []string{"ok"}, []string{"<style", "<iframe"}},
		{"safe raw html kept", `<details><summary>More</summary>inside</details>`, []string{"<details>", "<summary>More</summary>"}, nil},
		{"task list", "- [x] done\n- [ ] todo", []string{`type="checkbox"`, "checked", "disabled"}, nil},
		{"external links get nofollow", "[w](https://example.com)", []string{`rel="nofollow"`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if res := checkRendering(t, r, c.src, markup.Options{}, c.want, c.notWant); res.Truncated {
				t.Error("a short input is marked truncated")
			}
		})
	}
}

func TestMarkdownSizeCap(t *testing.T) {
	r := markup.New()
	// A two-byte character straddles the cap: the cut must not leave half
	// of it, and what follows the cap is not rendered.
	src := strings.Repeat("a", markup.MaxInput-1) + "é" + "TAILMARK"
	res, err := r.Markdown([]byte(src), markup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated {
		t.Fatal("input over the cap is not marked truncated")
	}
	out := string(res.HTML)
	if strings.Contains(out, "TAILMARK") {
		t.Fatal("text past the cap was rendered")
	}
	if !utf8.ValidString(out) || strings.Contains(out, "\uFFFD") {
		t.Fatal("the cut split a character")
	}
	if len(out) > 2*markup.MaxInput {
		t.Fatalf("output of %d bytes for a capped input", len(out))
	}
}

func TestMarkdownInvalidUTF8(t *testing.T) {
	res, err := markup.New().Markdown([]byte("ok \xff\xfe bytes"), markup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(string(res.HTML)) || !strings.Contains(string(res.HTML), "ok") {
		t.Fatalf("invalid input gave %q", res.HTML)
	}
}

func FuzzMarkdown(f *testing.F) {
	f.Add("# x\n<script>alert(1)</script>[a](javascript:b)")
	f.Add("<a href=\"JaVaScRiPt:alert(1)\">x</a><img src=x onerror=alert(1)>")
	f.Add("[x](  java\tscript:alert(1))")
	r := markup.New()
	f.Fuzz(func(t *testing.T, src string) {
		res, err := r.Markdown([]byte(src), markup.Options{Base: "https://h.example/o/r/raw/branch/main/"})
		if err != nil {
			t.Fatal(err)
		}
		// Parse the output as a browser would and look at every element.
		doc, err := html.Parse(strings.NewReader(string(res.HTML)))
		if err != nil {
			t.Fatal(err)
		}
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode {
				switch n.Data {
				case "h1":
					t.Fatalf("%q rendered an <h1> (the page has its own): %q", src, res.HTML)
				case "script", "style", "iframe", "object", "embed", "form":
					t.Fatalf("%q rendered a <%s>: %q", src, n.Data, res.HTML)
				}
				for _, a := range n.Attr {
					v := strings.ToLower(strings.Map(func(r rune) rune {
						if r <= ' ' {
							return -1
						}
						return r
					}, a.Val))
					if strings.HasPrefix(a.Key, "on") || a.Key == "style" ||
						((a.Key == "href" || a.Key == "src") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "vbscript:") || strings.HasPrefix(v, "data:text"))) {
						t.Fatalf("%q rendered %s=%q: %q", src, a.Key, a.Val, res.HTML)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
	})
}

// TestMarkdownPlacement: a README fits in its page: headings one level
// down, ids prefixed and in-document links following them, relative links
// and images resolved to the raw route, absolute ones untouched.
func TestMarkdownPlacement(t *testing.T) {
	r := markup.New()
	base := markup.Options{Base: "https://h.example/o/r/raw/branch/main/"}
	cases := []struct {
		name      string
		src       string
		opts      markup.Options
		want, not []string
	}{
		{"headings down", "# A\n## B\n### C\n#### D\n##### E\n###### F", base,
			[]string{`<h2 id="user-content-a">A</h2>`, `<h3 id="user-content-b">`, `<h4 id="user-content-c">`, `<h5 id="user-content-d">`, `<h6 id="user-content-e">E</h6>`, `<h6 id="user-content-f">F</h6>`},
			[]string{"<h1"}},
		{"raw html heading down too", "<h1 id=\"top\">Logo</h1>\n\ntext", base, []string{`<h2 id="user-content-top">Logo</h2>`}, []string{"<h1"}},
		{"ids never collide with the page's", "# Main\n\n## Readme", base, []string{`id="user-content-main"`, `id="user-content-readme"`}, []string{`id="main"`, `id="readme"`}},
		{"in-document anchors follow", "# Install\n\nsee [install](#install)", base, []string{`href="#user-content-install"`}, []string{`href="#install"`}},
		{"relative link to raw", "[usage](docs/USAGE.md)", base, []string{`href="https://h.example/o/r/raw/branch/main/docs/USAGE.md"`}, nil},
		{"dot and rooted relative", "[a](./a.md) [b](/b/c.md) [up](../../../etc/passwd)", base,
			[]string{`href="https://h.example/o/r/raw/branch/main/a.md"`, `href="https://h.example/o/r/raw/branch/main/b/c.md"`, `href="https://h.example/o/r/raw/branch/main/etc/passwd"`}, nil},
		{"relative image to raw", "![logo](logo.png) <img src=\"img/a b.png\">", base,
			[]string{`src="https://h.example/o/r/raw/branch/main/logo.png"`, `src="https://h.example/o/r/raw/branch/main/img/a%20b.png"`}, nil},
		{"link with fragment", "[x](docs/USAGE.md#setup)", base, []string{`href="https://h.example/o/r/raw/branch/main/docs/USAGE.md#setup"`}, nil},
		{"absolute untouched", "[w](https://example.com/x.md) ![i](https://img.example/a.png)", base,
			[]string{`href="https://example.com/x.md"`, `src="https://img.example/a.png"`}, []string{"raw/branch"}},
		{"protocol-relative untouched", `<a href="//cdn.example/x">c</a>`, base, []string{`href="//cdn.example/x"`}, []string{"raw/branch"}},
		{"mailto untouched", "[m](mailto:a@example.com)", base, []string{`href="mailto:a@example.com"`}, []string{"raw/branch"}},
		{"javascript stays stripped", "[x](javascript:alert(1)) <a href=\"jAvAscript:alert(2)\">y</a>", base, []string{"x"}, []string{"javascript:", "raw/branch"}},
		{"no base leaves relative as written", "[u](docs/USAGE.md)", markup.Options{}, []string{`href="docs/USAGE.md"`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkRendering(t, r, c.src, c.opts, c.want, c.not) })
	}
}

// TestNoFormControls: a README cannot draw a text or password field or a
// button into the page; a task list's check box stays, disabled.
func TestNoFormControls(t *testing.T) {
	src := "- [x] done\n- [ ] todo\n\n<input type=\"password\" name=\"pw\"><input name=\"plain\"><input type=\"submit\" value=\"Sign in\"><input type=\"CHECKBOX\" checked>\n"
	res, err := markup.New().Markdown([]byte(src), markup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.HTML)
	for _, bad := range []string{"password", `name="plain"`, "submit", "Sign in"} {
		if strings.Contains(out, bad) {
			t.Errorf("the README drew %q into the page:\n%s", bad, out)
		}
	}
	if n := strings.Count(out, "<input"); n != 3 || strings.Count(out, `type="checkbox"`) != 3 || strings.Count(out, "disabled") != 3 {
		t.Errorf("want the two task boxes and the raw check box, all disabled; got %d inputs:\n%s", n, out)
	}
}

// checkRendering renders src and checks that the output holds every want
// and none of not (case-insensitively: a sanitiser bypass may mix case).
func checkRendering(t *testing.T, r *markup.Renderer, src string, opts markup.Options, want, not []string) markup.Result {
	t.Helper()
	res, err := r.Markdown([]byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.HTML)
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	for _, w := range not {
		if strings.Contains(strings.ToLower(out), strings.ToLower(w)) {
			t.Errorf("output has %q:\n%s", w, out)
		}
	}
	return res
}
