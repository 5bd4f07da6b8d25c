// Package web serves Wharf's server-rendered HTML pages: sign-in, browsing,
// settings and administration. Pages call the same services as the API, so
// a change made in a form goes through the same door as one made by a
// client.
package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"

	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
	"wharf/modules/validation"
	"wharf/routers/common"
	org_service "wharf/services/org"
	packages_service "wharf/services/packages"
	cargo_service "wharf/services/packages/cargo"
	cleanup_service "wharf/services/packages/cleanup"
	composer_service "wharf/services/packages/composer"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
	"wharf/templates"
)

// sessionLifetime is how long a sign-in lasts.
const sessionLifetime = 7 * 24 * time.Hour

// maxFormBytes bounds a form post: every form here is a few fields.
const maxFormBytes = 1 << 20

// Handler serves the pages.
type Handler struct {
	tmpl     *template.Template
	sessions *scs.SessionManager
	d        Deps
	// basePath is ROOT_URL's path without the trailing slash ("" at the
	// root): redirects are local paths under it.
	basePath string
}

// Deps are the services the pages use.
type Deps struct {
	Users    *user_service.Service
	Orgs     *org_service.Service
	Repos    *repo_service.Service
	Packages *packages_service.Service
	Cargo    *cargo_service.Service
	Composer *composer_service.Service
	Cleanup  *cleanup_service.Service
	Auth     *common.Authenticator
	Log      *slog.Logger
	RootURL  string
	Version  string
	DBType   string
	Now      func() time.Time
}

// New parses the templates once (a broken template fails start-up, not a
// request) and sets up the session manager on the database store.
func New(d Deps) (*Handler, error) {
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	// scs.New also starts its in-memory store's cleanup ticker, which
	// cannot be stopped without a race (the goroutine makes its own stop
	// channel); it idles on an empty map once the database store replaces
	// it.
	sm := scs.New()
	sm.Store = d.Users.Sessions()
	sm.Lifetime = sessionLifetime
	sm.Cookie.Name = "wharf_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = strings.HasPrefix(d.RootURL, "https://")
	base := ""
	if u, err := url.Parse(d.RootURL); err == nil {
		base = strings.TrimSuffix(u.Path, "/")
	}
	sm.Cookie.Path = base + "/"
	h := &Handler{tmpl: t, sessions: sm, d: d, basePath: base}
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		common.WriteError(h.d.Log, h.writeError, w, r, err)
	}
	return h, nil
}

// parseTemplates reads every template of the site, with the helpers they
// use.
func parseTemplates() (*template.Template, error) {
	return template.New("").Funcs(funcs).ParseFS(templates.FS, "*.tmpl", "*/*.tmpl")
}

// Routes mounts the pages. A browser signs in with a session cookie
// (/user/login); a request with an Authorization header is authenticated
// by it instead (HTTP Basic with a password or a token, or a token), and
// a token reaches a page only with the scope the API asks for the same
// data (common.CheckScope under both). Every form post is refused when it
// comes from another site (http.CrossOriginProtection).
func (h *Handler) Routes(r chi.Router) {
	r.Get("/assets/wharf.css", h.stylesheet)
	r.Group(func(r chi.Router) {
		r.Use(h.sessions.LoadAndSave)
		r.Use(markSessionLoaded)
		r.Use(h.crossOriginProtection)
		r.Use(h.authenticate)
		// After the session and the caller are known: its error page is a
		// page like any other.
		r.Use(common.RefuseNUL(h.d.Log, h.writeError))
		r.Use(h.recoverPanic)
		r.Use(h.requirePasswordChange)
		r.Use(limitForm)
		h.signInRoutes(r)
		h.settingsRoutes(r)
		h.adminRoutes(r)
		h.browseRoutes(r) // last: its /{owner} patterns are the widest
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				// A client of an API path no route serves: not a page.
				common.WritePlain(w, r, http.StatusNotFound, "not found")
				return
			}
			h.handle(func(http.ResponseWriter, *http.Request) error { return errPageNotFound })(w, r)
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			h.writeError(w, r, http.StatusMethodNotAllowed, "this page does not answer "+r.Method)
		})
	})
}

// recoverPanic answers a page handler's panic with the HTML 500 page (the
// server's own recovery, further out, would answer plain text), and logs
// it with its stack.
func (h *Handler) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.d.Log.ErrorContext(r.Context(), "panic serving a page", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			h.writeError(w, r, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

type sessionLoadedKey struct{}

// markSessionLoaded records that the session manager loaded this request's
// session: an error page written before it (the session store failing)
// must not read the session.
func markSessionLoaded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionLoadedKey{}, true)))
	})
}

func sessionLoaded(ctx context.Context) bool { return ctx.Value(sessionLoadedKey{}) != nil }

// handle adapts a page handler: its error becomes an HTML error page. A
// visitor who is not signed in and meets an owner or a repository that
// does not exist for them (a private one looks missing) is sent to sign in
// and comes back after; anything else missing is a 404 page.
func (h *Handler) handle(fn common.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		if isVisitor(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			(errors.Is(err, user_model.ErrUserNotExist) || errors.Is(err, repo_model.ErrRepoNotExist)) &&
			validation.OwnerName(common.Param(r, "owner")) == nil { // a name no owner can have hides nothing
			h.redirectToSignIn(w, r)
			return
		}
		common.WriteError(h.d.Log, h.writeError, w, r, err)
	}
}

// crossOriginProtection refuses a state-changing request that a browser
// says came from another origin (Sec-Fetch-Site, or Origin against Host).
// Clients that are not browsers send neither header and pass.
func (h *Handler) crossOriginProtection(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(h.handle(func(http.ResponseWriter, *http.Request) error { return errCrossOrigin }))
	return p.Handler(next)
}

// limitForm bounds the bytes a form post may send; past the limit, reading
// the form fails and the page answers 413.
func limitForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(w, r, templates.Static, "static/wharf.css")
}
