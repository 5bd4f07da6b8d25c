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
	"unicode/utf8"

	"github.com/dustin/go-humanize"

	"wharf/models/db"
	"wharf/modules/apperr"
	"wharf/routers/common"
)

var (
	errPageNotFound     = apperr.New(apperr.NotFound, "page not found")
	errMethodNotAllowed = apperr.New(apperr.Invalid, "method not allowed")
	errCrossOrigin      = apperr.New(apperr.Forbidden, "cross-origin form posts are refused: submit the form from this site's own page")
)

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	"size":        func(n int64) string { return humanize.IBytes(uint64(max(n, 0))) },
	"day":         day,
	"datetime":    func(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02 15:04 UTC") },
	"pathEscape":  url.PathEscape,
	"queryEscape": url.QueryEscape,
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
	p := page{Title: title, RootURL: h.d.RootURL, WharfVersion: h.d.Version,
		LoginURL: h.d.RootURL + "user/login?redirect_to=" + url.QueryEscape(r.URL.RequestURI())}
	a := common.AuthFrom(r.Context())
	if a.User != nil {
		p.Viewer = &viewer{Name: a.User.Name, IsAdmin: a.User.IsAdmin, Session: a.Method == common.MethodSession}
	}
	if a.Method == common.MethodSession || a.User == nil {
		p.Flash = h.sessions.PopString(r.Context(), sessionFlash)
	}
	return p
}

// flash leaves a message for the next page this browser sees.
func (h *Handler) flash(r *http.Request, msg string) {
	h.sessions.Put(r.Context(), sessionFlash, msg)
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
// signed in and meets a page that needs it (401), or one that does not
// exist for them (404: a private owner's pages look missing), is sent to
// the sign-in page and comes back after.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	anonymous := common.Doer(r.Context()) == nil && r.Header.Get("Authorization") == ""
	if anonymous && (status == http.StatusUnauthorized || status == http.StatusNotFound) &&
		(r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Del("WWW-Authenticate")
		h.redirect(w, r, "/user/login?redirect_to="+url.QueryEscape(r.URL.RequestURI()))
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

// pager is a list's paging, for the "pager" template.
type pager struct {
	Page, PageSize int
	Total          int64
	// PrevURL and NextURL keep the page's other query parameters.
	PrevURL, NextURL string
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

// newPager builds the links to the neighbouring pages of r's list.
func (h *Handler) newPager(r *http.Request, opts db.ListOptions, total int64) pager {
	p := pager{Page: opts.Page, PageSize: opts.PageSize, Total: total}
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return h.d.RootURL + strings.TrimPrefix(r.URL.Path, "/") + "?" + q.Encode()
	}
	if opts.Page > 1 {
		p.PrevURL = link(opts.Page - 1)
	}
	if int64(opts.Page*opts.PageSize) < total {
		p.NextURL = link(opts.Page + 1)
	}
	return p
}

// safeRedirect returns where a sign-in may send the browser back to: a
// local path, never another site ("//evil", "/\evil", "https://…").
func safeRedirect(to string) string {
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.HasPrefix(to, "/\\") ||
		strings.ContainsAny(to, "\r\n") {
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
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				return apperr.New(apperr.Invalid, "the form must hold UTF-8 text without NUL bytes")
			}
		}
	}
	return nil
}
