package web

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"wharf/modules/apperr"
	"wharf/modules/markup"
)

// rawSniffLen is how much of a file is read to guess its type (what
// http.DetectContentType looks at).
const rawSniffLen = 512

// rawFile serves a file of a branch as it is stored: Gitea's
// /{owner}/{repo}/raw/branch/{branch}/{path}, with the viewer's session
// (the README's relative links and images point here). A branch name may
// hold slashes: the longest branch that prefixes the path wins. The type
// is sniffed but never one a browser would run: HTML, SVG and XML are
// served as text/plain, and every answer is sandboxed (CSP) and not to be
// sniffed again, so a file in a repository cannot run script in the
// site's origin.
func (h *Handler) rawFile(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	segs, ok := pathSegments(r, chi.URLParam(r, "*"))
	if !ok {
		return errPageNotFound
	}
	branches, err := h.d.Repos.Branches(ctx, rc)
	if err != nil {
		return err
	}
	names := make(map[string]bool, len(branches))
	for _, b := range branches {
		names[b.Name] = true
	}
	branch, file, ok := splitRefPath(segs, func(s string) bool { return names[s] })
	if !ok {
		return errPageNotFound
	}
	f, size, _, err := h.d.Repos.OpenFile(ctx, rc, branch, file)
	if apperr.KindOf(err) == apperr.Invalid {
		return errPageNotFound
	} else if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, rawSniffLen)
	head, err := br.Peek(rawSniffLen)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", rawContentType(head))
	hd.Set("Content-Length", strconv.FormatInt(size, 10))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, br); err != nil {
		// The status is sent: nothing left to tell the client.
		h.d.Log.DebugContext(ctx, "raw file cut short", "repo", rc.Repo.FullName(), "file", file, "err", err)
	}
	return nil
}

// rawContentType sniffs a file's type from its first bytes, never giving
// one a browser renders as a document that runs script (HTML, XHTML, SVG,
// XML): those are text/plain.
func rawContentType(head []byte) string {
	ct := http.DetectContentType(head)
	base, _, _ := strings.Cut(ct, ";")
	switch base = strings.TrimSpace(strings.ToLower(base)); {
	case strings.HasPrefix(base, "text/"), strings.Contains(base, "xml"), strings.Contains(base, "svg"), strings.Contains(base, "html"):
		return "text/plain; charset=utf-8"
	}
	return ct
}

// splitRefPath splits the segments after /raw/branch/ into a branch
// (which may hold slashes: the longest one isBranch knows) and the file's
// path (at least one segment).
func splitRefPath(segs []string, isBranch func(string) bool) (branch, file string, ok bool) {
	for i := len(segs) - 1; i >= 1; i-- {
		b := strings.Join(segs[:i], "/")
		if isBranch(b) {
			f := strings.Join(segs[i:], "/")
			if f == "" {
				return "", "", false
			}
			return b, f, true
		}
	}
	return "", "", false
}

// readmeOptions places a README of the default branch: its relative
// links and images resolve to the raw route of that branch.
func (h *Handler) readmeOptions(owner, repo, branch string) markup.Options {
	segs := strings.Split(branch, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return markup.Options{Base: h.d.RootURL + repoPath(owner, repo) + "/raw/branch/" + strings.Join(segs, "/") + "/"}
}
