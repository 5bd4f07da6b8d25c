package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"wharf/modules/validation"

	"github.com/dustin/go-humanize"

	"wharf/models/db"
	"wharf/modules/apperr"
	"wharf/routers/common"
)

var (
	errPageNotFound = apperr.New(apperr.NotFound, "page not found")
	errCrossOrigin  = apperr.New(apperr.Forbidden, "cross-origin form posts are refused: submit the form from this site's own page")
)

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	"size":        func(n int64) string { return humanize.IBytes(uint64(max(n, 0))) },
	"day":         day,
	"datetime":    func(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02 15:04 UTC") },
	"pathEscape":  url.PathEscape,
	"queryEscape": url.QueryEscape,
	"shellQuote":  shellQuote,
}

func day(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02") }

// page is what every page's view model embeds: the frame's data.
type page struct {
	Title   string
	RootURL string
	// WharfVersion is this server's version, shown in the footer. Not
	// "Version": a page's own Version (a package's) must not hide it.
	WharfVersion string
	// Viewer is the signed-in user; nil for a visitor.
	Viewer *viewer
	// Flash is a message left by the previous request (a form's outcome).
	Flash string
	// LoginURL signs in and comes back to this page.
	LoginURL string
}

type viewer struct {
	Name    string
	IsAdmin bool
	// Session: signed in with the form (a sign-out button makes sense);
	// otherwise by an Authorization header.
	Session bool
}

// page builds the frame for r: who is signed in, and a message the
// previous request left.
func (h *Handler) page(r *http.Request, title string) page {
	back := r.URL.RequestURI()
	if r.URL.Path == "/user/login" {
		// The sign-in page's own link keeps where it was going.
		back = safeRedirect(r.URL.Query().Get("redirect_to"))
	}
	p := page{Title: title, RootURL: h.d.RootURL, WharfVersion: h.d.Version,
		LoginURL: h.d.RootURL + "user/login?redirect_to=" + url.QueryEscape(back)}
	a := common.AuthFrom(r.Context())
	if a.User != nil {
		p.Viewer = &viewer{Name: a.User.Name, IsAdmin: a.User.IsAdmin, Session: a.Method == common.MethodSession}
	}
	if (a.Method == common.MethodSession || a.User == nil) && sessionLoaded(r.Context()) {
		p.Flash = h.sessions.PopString(r.Context(), sessionFlash)
	}
	return p
}

// flash leaves a message for the next page this browser sees. A request
// signed in by an Authorization header has no session to keep it in (and
// must not start one).
func (h *Handler) flash(r *http.Request, msg string) {
	if a := common.AuthFrom(r.Context()); a.User == nil || a.Method == common.MethodSession {
		h.sessions.Put(r.Context(), sessionFlash, msg)
	}
}

// redirect sends the browser to a local path ("/x/y", under ROOT_URL's
// path) with 303, so that a form post is followed by a GET.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, localPath string) {
	http.Redirect(w, r, h.basePath+localPath, http.StatusSeeOther)
}

// render executes into a buffer, so that a template error cannot ship half
// a page with 200.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	// A private page's address must not travel to the sites it links to
	// (a package's homepage, a README's links).
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

type errorPage struct {
	page
	Status     int
	StatusText string
	Message    string
}

// writeError is the pages' error writer (common.WriteError picks the
// status): an HTML page with the site's navigation. A visitor who is not
// signed in and meets a page that needs it (401) is sent to the sign-in
// page and comes back after (see also handle).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if isVisitor(r) && status == http.StatusUnauthorized && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Del("WWW-Authenticate")
		h.redirectToSignIn(w, r)
		return
	}
	if status == http.StatusUnauthorized && r.Header.Get("Authorization") == "" {
		// A browser with a session: no Basic prompt, the page says to sign in.
		w.Header().Del("WWW-Authenticate")
	}
	p := errorPage{page: h.page(r, http.StatusText(status)), Status: status, StatusText: http.StatusText(status), Message: msg}
	if err := h.render(w, status, "error", p); err != nil {
		h.d.Log.ErrorContext(r.Context(), "render error page", "err", err)
		http.Error(w, msg, status)
	}
}

// isVisitor: nobody signed in and no credentials sent (a browser, not a
// client that should be told 401).
func isVisitor(r *http.Request) bool {
	return common.Doer(r.Context()) == nil && r.Header.Get("Authorization") == ""
}

// redirectToSignIn sends the browser to the sign-in page, to come back to
// this page.
func (h *Handler) redirectToSignIn(w http.ResponseWriter, r *http.Request) {
	h.redirect(w, r, "/user/login?redirect_to="+url.QueryEscape(r.URL.RequestURI()))
}

// pager is a list's paging, for the "pager" template.
type pager struct {
	Page, PageSize int
	Total          int64
	// PrevURL and NextURL keep the page's other query parameters.
	PrevURL, NextURL string
	// FirstURL is set when the page asked is past the end of a list that
	// has items: the link to its first page ("pastEnd" says so).
	FirstURL string
}

// maxPage is the last page number a list reads: far past any real list.
const maxPage = 1 << 20

// listOptions reads ?page= (from 1) for a list of pageSize items.
func listOptions(r *http.Request, pageSize int) db.ListOptions {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	// A page past any list is an empty page, not an offset that
	// overflows into a negative one.
	n = min(n, maxPage)
	return db.ListOptions{Page: n, PageSize: pageSize}
}

// listPager builds the links to the neighbouring pages of the list at
// path (its escaped local path without the leading slash: the same form
// as every other link to it, @acme%2Fwidget and not the decoded
// @acme/widget), with the page's other query parameters kept.
func (h *Handler) listPager(r *http.Request, path string, opts db.ListOptions, total int64) (p pager) {
	p = pager{Page: opts.Page, PageSize: opts.PageSize, Total: total}
	link := func(n int) string {
		q := r.URL.Query()
		if n <= 1 {
			q.Del("page")
		} else {
			q.Set("page", strconv.Itoa(n))
		}
		if len(q) == 0 {
			return h.d.RootURL + path
		}
		return h.d.RootURL + path + "?" + q.Encode()
	}
	if opts.Page > 1 {
		p.PrevURL = link(opts.Page - 1)
	}
	if int64(opts.Page*opts.PageSize) < total {
		p.NextURL = link(opts.Page + 1)
	}
	if opts.Page > 1 && total > 0 && int64(opts.Offset()) >= total {
		// Past the end: "previous" would be past it too.
		p.PrevURL, p.FirstURL = "", link(1)
	}
	return p
}

// pagerHere is listPager for the list this request shows.
func (h *Handler) pagerHere(r *http.Request, opts db.ListOptions, total int64) pager {
	return h.listPager(r, strings.TrimPrefix(r.URL.EscapedPath(), "/"), opts, total)
}

// safeRedirect returns where a sign-in may send the browser back to: a
// local path, never another site ("//evil", "/\evil", "https://…").
func safeRedirect(to string) string {
	// Browsers drop tabs and newlines from a URL and read a backslash as
	// a slash, so "/\t/evil" is "//evil": no control character or space
	// may pass, and no backslash at all.
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.ContainsRune(to, '\\') ||
		strings.IndexFunc(to, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "/"
	}
	return to
}

// readForm parses a posted form; a body past the limit is 413, a broken
// one 400.
func readForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apperr.Wrap(apperr.TooLarge, err, "the form is larger than %d bytes", maxFormBytes)
		}
		return apperr.Wrap(apperr.Invalid, err, "read the form")
	}
	// Nothing stored holds NUL or invalid UTF-8 (PostgreSQL refuses both
	// in text): such a field is the client's mistake, never a 500.
	for _, vs := range r.PostForm {
		for _, v := range vs {
			if !validation.StorableText(v) {
				return apperr.New(apperr.Invalid, "the form must hold UTF-8 text without NUL bytes")
			}
		}
	}
	return nil
}

// shellQuote quotes s as one word for a POSIX shell, so that an
// instruction copied from a page runs what it shows, whatever a file's
// name holds.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// readConfirmedForm reads a form that only a confirmation page's button
// posts (confirm=yes); without it nothing happens and the answer says
// what needs it.
func readConfirmedForm(r *http.Request, what string) error {
	if err := readForm(r); err != nil {
		return err
	}
	if r.PostForm.Get("confirm") != "yes" {
		return apperr.New(apperr.Invalid, "%s needs the confirmation page's button", what)
	}
	return nil
}
