// Package web serves Wharf's server-rendered HTML pages.
package web

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"wharf/routers/common"
	user_service "wharf/services/user"
	"wharf/templates"
)

// Handler serves the pages.
type Handler struct {
	tmpl    *template.Template
	users   *user_service.Service
	log     *slog.Logger
	rootURL string
	version string
	dbType  string
}

// New parses the templates once; a broken template fails start-up, not a
// request.
func New(users *user_service.Service, log *slog.Logger, rootURL, version, dbType string) (*Handler, error) {
	t, err := template.ParseFS(templates.FS, "*.tmpl")
	if err != nil {
		return nil, err
	}
	return &Handler{tmpl: t, users: users, log: log, rootURL: rootURL, version: version, dbType: dbType}, nil
}

// Routes mounts the pages.
func (h *Handler) Routes(r chi.Router) {
	r.Get("/", common.Handle(h.log, writeError, h.home))
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
	return h.render(w, http.StatusOK, "home", page{Title: "Home", RootURL: h.rootURL, Version: h.version, DBType: h.dbType, Users: users, Orgs: orgs})
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
