package markup

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// place fits rendered HTML (Markdown's output and the raw HTML it kept)
// into a page: headings one level down, ids prefixed, in-document links
// following the prefixed ids, relative links and images resolved against
// opts.Base. Raw HTML is treated as Markdown is: an <h1> written by hand
// moves down too.
func place(src []byte, opts Options) ([]byte, error) {
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(bytes.NewReader(src), body)
	if err != nil {
		return nil, fmt.Errorf("parse rendering: %w", err)
	}
	var buf bytes.Buffer
	for _, n := range nodes {
		walk(n, opts)
		if err := html.Render(&buf, n); err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// headingsDown maps each heading to the one a level below.
var headingsDown = map[atom.Atom]atom.Atom{atom.H1: atom.H2, atom.H2: atom.H3, atom.H3: atom.H4, atom.H4: atom.H5, atom.H5: atom.H6, atom.H6: atom.H6}

func walk(n *html.Node, opts Options) {
	if n.Type == html.ElementNode {
		if to, ok := headingsDown[n.DataAtom]; ok {
			n.DataAtom, n.Data = to, to.String()
		}
		for i, a := range n.Attr {
			if a.Namespace != "" {
				continue
			}
			switch {
			case a.Key == "id" || (a.Key == "name" && n.DataAtom == atom.A):
				if a.Val != "" && !strings.HasPrefix(a.Val, IDPrefix) {
					n.Attr[i].Val = IDPrefix + a.Val
				}
			case a.Key == "href" && n.DataAtom == atom.A:
				n.Attr[i].Val = placeURL(a.Val, opts)
			case a.Key == "src" && (n.DataAtom == atom.Img || n.DataAtom == atom.Source || n.DataAtom == atom.Video || n.DataAtom == atom.Audio):
				n.Attr[i].Val = placeURL(a.Val, opts)
			}
		}
	}
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.ElementNode && c.DataAtom == atom.Input && !taskBox(c) {
			// Only a task list's check box is an input a README may show:
			// no text or password field, no button, drawn into the page.
			n.RemoveChild(c)
		} else {
			walk(c, opts)
		}
		c = next
	}
}

// taskBox reports whether an input is a task list's check box, and makes
// it one that cannot be changed.
func taskBox(n *html.Node) bool {
	box := false
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == "type" && strings.EqualFold(a.Val, "checkbox") {
			box, n.Attr[i].Val = true, "checkbox" // the sanitiser's spelling
		}
	}
	if box {
		n.Attr = append(slices.DeleteFunc(n.Attr, func(a html.Attribute) bool { return a.Key == "disabled" }), html.Attribute{Key: "disabled"})
	}
	return box
}

// placeURL resolves a link written in the document: #x goes to the
// prefixed id; a relative path (docs/USAGE.md, ./logo.png, /img/a.png
// from the tree's root) to opts.Base, never above it; an absolute or
// protocol-relative URL, or one with a scheme, stays as written (the
// sanitiser judges it).
func placeURL(raw string, opts Options) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return raw
	}
	if frag, ok := strings.CutPrefix(s, "#"); ok {
		if frag == "" || strings.HasPrefix(frag, IDPrefix) {
			return s
		}
		return "#" + IDPrefix + frag
	}
	if opts.Base == "" || strings.HasPrefix(s, "//") || strings.HasPrefix(s, `\`) {
		return raw
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return raw
	}
	if u.Path == "" {
		// ?query alone: nothing in the tree to point at.
		return raw
	}
	clean := strings.TrimPrefix(path.Clean("/"+u.Path), "/")
	if clean == "" {
		return raw
	}
	out := opts.Base + (&url.URL{Path: clean}).EscapedPath()
	if strings.HasSuffix(u.Path, "/") {
		out += "/"
	}
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + url.PathEscape(u.Fragment)
	}
	return out
}
