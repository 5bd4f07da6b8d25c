// Package v1 implements Gitea's REST API v1 paths and JSON shapes, so that
// code.gitea.io/sdk/gitea and tools built on it work against Wharf.
package v1

import (
	"log/slog"
	"net/http"
	"sync"

	"github.com/go-chi/chi/v5"

	"wharf/modules/scope"
	"wharf/modules/structs"
	"wharf/routers/common"
	org_service "wharf/services/org"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

// GiteaCompatVersion is the Gitea release whose API Wharf answers like;
// clients such as the SDK gate features on it.
const GiteaCompatVersion = "1.25.0"

// Handler serves /api/v1.
type Handler struct {
	Users    *user_service.Service
	Orgs     *org_service.Service
	Repos    *repo_service.Service
	Packages *packages_service.Service
	Auth     *common.Authenticator
	Log      *slog.Logger
	RootURL  string
	// Version is Wharf's own version, reported as build metadata.
	Version string

	// The OpenAPI document, built on first use (see swagger.go).
	swaggerOnce sync.Once
	swaggerJSON []byte
	swaggerETag string
	swaggerErr  error
}

// writeError writes Gitea's error shape; its url names the API's
// documentation, as Gitea's does.
func (h *Handler) writeError(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	_ = common.WriteJSON(w, status, structs.APIError{Message: msg, URL: h.RootURL + SwaggerPath[1:]})
}

func (h *Handler) handle(f common.HandlerFunc) http.HandlerFunc {
	return common.Handle(h.Log, h.writeError, f)
}

func (h *Handler) scoped(cat scope.Category) func(http.Handler) http.Handler {
	return common.RequireScope(h.Log, h.writeError, cat)
}

// Routes mounts the API.
func (h *Handler) Routes(r chi.Router) {
	r.Use(common.RefuseNUL(h.Log, h.writeError))
	r.Use(h.Auth.Middleware(h.writeError))
	r.NotFound(h.handle(func(w http.ResponseWriter, r *http.Request) error {
		h.writeError(w, r, http.StatusNotFound, "not found")
		return nil
	}))
	r.MethodNotAllowed(h.handle(func(w http.ResponseWriter, r *http.Request) error {
		h.writeError(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return nil
	}))

	r.Get("/version", h.handle(h.version))

	r.Group(func(r chi.Router) {
		r.Use(h.scoped(scope.User))
		r.Get("/user", h.handle(h.getAuthenticatedUser))
		r.Get("/users/search", h.handle(h.searchUsers))
		r.Get("/users/{username}", h.handle(h.getUser))
	})
	r.Route("/users/{username}/tokens", func(r chi.Router) {
		r.Get("/", h.handle(h.listTokens))
		r.Post("/", h.handle(h.createToken))
		r.Delete("/{token}", h.handle(h.deleteToken))
	})
	r.Group(func(r chi.Router) {
		r.Use(h.scoped(scope.Organization))
		r.Get("/user/orgs", h.handle(h.listMyOrgs))
		r.Get("/users/{username}/orgs", h.handle(h.listUserOrgs))
		r.Get("/users/{username}/orgs/{org}/permissions", h.handle(h.getOrgPermissions))
		r.Get("/orgs", h.handle(h.listOrgs))
		r.Post("/orgs", h.handle(h.createOrg))
		r.Route("/orgs/{org}", func(r chi.Router) {
			r.Get("/", h.handle(h.getOrg))
			r.Patch("/", h.handle(h.editOrg))
			r.Delete("/", h.handle(h.deleteOrg))
			r.Get("/members", h.handle(h.listMembers))
			r.Get("/members/{username}", h.handle(h.checkMember))
			r.Put("/members/{username}", h.handle(h.setMember))
			r.Delete("/members/{username}", h.handle(h.removeMember))
		})
	})
	r.Group(func(r chi.Router) {
		r.Use(h.scoped(scope.Repository))
		h.repoRoutes(r)
	})
	r.Group(func(r chi.Router) {
		r.Use(h.scoped(scope.Package))
		h.packageRoutes(r)
	})
	r.Route("/admin", func(r chi.Router) {
		r.Use(h.scoped(scope.Admin))
		r.Get("/users", h.handle(h.adminListUsers))
		r.Get("/orgs", h.handle(h.adminListOrgs))
		r.Post("/users", h.handle(h.adminCreateUser))
		r.Delete("/users/{username}", h.handle(h.adminDeleteUser))
		r.Post("/users/{username}/orgs", h.handle(h.adminCreateOrg))
	})
}

// RootRoutes mounts what Gitea serves outside /api/v1 for the API: the
// OpenAPI document, and the archive links of the tag API (zipball_url,
// tarball_url: /{owner}/{repo}/archive/{ref}.zip), which answer as
// /api/v1/repos/{owner}/{repo}/archive/{ref} does, with the same access
// and token scope rules.
func (h *Handler) RootRoutes(r chi.Router) {
	r.Get(SwaggerPath, h.serveSwagger)
	r.Group(func(r chi.Router) {
		r.Use(common.RefuseNUL(h.Log, h.writeError))
		r.Use(h.Auth.Middleware(h.writeError))
		r.Use(h.scoped(scope.Repository))
		r.Get("/{owner}/{repo}/archive/*", h.handle(h.getArchive))
	})
}

func (h *Handler) version(w http.ResponseWriter, _ *http.Request) error {
	return common.WriteJSON(w, http.StatusOK, structs.ServerVersion{Version: GiteaCompatVersion + "+wharf-" + h.Version})
}
