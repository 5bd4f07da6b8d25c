// Package web serves Wharf's server-rendered HTML pages.
package web

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"wharf/modules/scope"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
	"wharf/templates"
)

// Handler serves the pages.
type Handler struct {
	tmpl    *template.Template
	users   *user_service.Service
	repos   *repo_service.Service
	pkgs    *packages_service.Service
	auth    *common.Authenticator
	log     *slog.Logger
	rootURL string
	version string
	dbType  string
}

// Deps are what the pages read.
type Deps struct {
	Users    *user_service.Service
	Repos    *repo_service.Service
	Packages *packages_service.Service
	Auth     *common.Authenticator
	Log      *slog.Logger
	RootURL  string
	Version  string
	DBType   string
}

// New parses the templates once; a broken template fails start-up, not a
// request.
func New(d Deps) (*Handler, error) {
	t, err := template.ParseFS(templates.FS, "*.tmpl")
	if err != nil {
		return nil, err
	}
	return &Handler{tmpl: t, users: d.Users, repos: d.Repos, pkgs: d.Packages, auth: d.Auth, log: d.Log,
		rootURL: d.RootURL, version: d.Version, dbType: d.DBType}, nil
}

// Routes mounts the pages. Signing in is HTTP Basic (a browser asks when
// a page answers 401), with the password or a token. A token reaches a
// page only with the scope the API asks for the same data (common.CheckScope
// under both): read:repository for a repository, read:package for packages,
// read:user or read:organization for an owner.
func (h *Handler) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(common.RefuseNUL(h.log, writeError))
		r.Use(h.auth.Middleware(writeError))
		r.Get("/", common.Handle(h.log, writeError, h.home))
		// The owner's scope depends on its type: checked in the handler.
		r.Get("/{owner}", common.Handle(h.log, writeError, h.ownerHome))
		r.Group(func(r chi.Router) {
			r.Use(common.RequireScope(h.log, writeError, scope.Package))
			r.Get("/{owner}/-/packages", common.Handle(h.log, writeError, h.ownerPackages))
			r.Get("/{owner}/-/packages/{type}/{name}/{version}", common.Handle(h.log, writeError, h.packageVersion))
		})
		r.With(common.RequireScope(h.log, writeError, scope.Repository)).
			Get("/{owner}/{repo}", common.Handle(h.log, writeError, h.repoHome))
	})
}

func (h *Handler) page(title string) page {
	return page{Title: title, RootURL: h.rootURL, Version: h.version, DBType: h.dbType}
}

func writeError(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	http.Error(w, msg, status)
}

type page struct {
	Title, RootURL, Version, DBType string
	Users, Orgs                     int64
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	users, orgs, err := h.users.Counts(r.Context())
	if err != nil {
		return err
	}
	p := h.page("Home")
	p.Users, p.Orgs = users, orgs
	return h.render(w, http.StatusOK, "home", p)
}

// render executes into a buffer, so that a template error cannot ship half
// a page with 200.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}
