// Package markup renders the Markdown people write (a repository's README)
// as HTML that is safe to put in a page: GitHub-flavoured Markdown by
// goldmark, then sanitised by bluemonday's user-generated-content policy,
// so that neither raw HTML in the file nor a crafted link can run script
// in the viewer's browser.
package markup

import (
	"bytes"
	"html/template"
	"regexp"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
)

// MaxInput is the largest Markdown input rendered: past it the text is
// cut (a README of megabytes is not read in a page, and the renderer's
// time grows with it).
const MaxInput = 512 << 10

// Renderer renders Markdown. It holds no state beyond its configuration
// and is safe for concurrent use.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// New returns a renderer of GitHub-flavoured Markdown (tables,
// strikethrough, autolinks, task lists) with generated heading ids.
func New() *Renderer {
	md := goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		// Raw HTML in the file (a centred logo, <details>) is kept for
		// the sanitiser to judge, as GitHub and Gitea show it.
		goldmark.WithRendererOptions(html.WithUnsafe()),
	)
	p := bluemonday.UGCPolicy()
	// Headings keep their ids (anchors into the README), fenced code its
	// language class.
	p.AllowAttrs("id").OnElements("h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("code")
	// Task-list check boxes only (place removes any other input): a README must not draw password
	// fields or buttons into the page.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").OnElements("input")
	return &Renderer{md: md, policy: p}
}

// Result is a rendering.
type Result struct {
	HTML template.HTML
	// Truncated: the input was longer than MaxInput and only its start
	// is rendered.
	Truncated bool
}

// Options place a rendering in its page.
type Options struct {
	// Base is the absolute URL (ending in "/") relative links and images
	// resolve against: the file tree's root as the raw route serves it.
	// Relative paths never climb above it. "" leaves them as written.
	Base string
}

// IDPrefix is put before every id the document brings (its headings'),
// as GitHub and Gitea do, so that they never collide with the page's own
// ids (main, readme); in-document links #x follow to #user-content-x.
const IDPrefix = "user-content-"

// Markdown renders src as a part of a page that has its own <h1>: the
// document's headings move one level down (h1 becomes h2, h6 stays h6),
// their ids take IDPrefix, and relative links and images resolve against
// opts.Base. Input that is not UTF-8 has its invalid bytes replaced;
// input over MaxInput is cut at a character boundary.
func (r *Renderer) Markdown(src []byte, opts Options) (Result, error) {
	var res Result
	if len(src) > MaxInput {
		src = src[:MaxInput]
		// Drop the bytes of a character the cut split in two.
		for i := 0; i < utf8.UTFMax-1 && len(src) > 0; i++ {
			if r, size := utf8.DecodeLastRune(src); r != utf8.RuneError || size != 1 {
				break
			}
			src = src[:len(src)-1]
		}
		res.Truncated = true
	}
	if !utf8.Valid(src) {
		src = bytes.ToValidUTF8(src, []byte("\uFFFD"))
	}
	var buf bytes.Buffer
	if err := r.md.Convert(src, &buf); err != nil {
		return Result{}, err
	}
	placed, err := place(buf.Bytes(), opts)
	if err != nil {
		return Result{}, err
	}
	// The sanitiser is what makes the output safe: raw HTML, links and
	// images come through goldmark (and place) as written, and it runs
	// last so that nothing after it can undo its work.
	res.HTML = template.HTML(r.policy.SanitizeBytes(placed)) // #nosec G203 -- sanitised above
	return res, nil
}
