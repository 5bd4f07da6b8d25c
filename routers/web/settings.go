package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
)

// settingsRoutes mounts the pages that change things: access tokens,
// package settings and owners' package settings.
//
// A package's settings page is /{owner}/-/packages/{type}/{name}/settings,
// Gitea's URL. A name with a slash (npm's @scope/name, Composer's
// vendor/name) is one path segment there, its slash escaped as %2F (chi
// matches the raw path and common.Param decodes it); the pages link to it
// that way. The unescaped form has one segment more and is left to the
// browsing pages.
//
// Tokens reach the package pages with the package scope (read to look,
// write to change), as the packages API asks; the access token page needs
// a browser session or a password, never a token (as the API's token
// routes).
func (h *Handler) settingsRoutes(r chi.Router) {
	r.Get("/user/settings/applications", h.handle(h.applications))
	r.Post("/user/settings/applications", h.handle(h.createToken))
	r.Get("/user/settings/applications/delete", h.handle(h.revokeTokenConfirm))
	r.Post("/user/settings/applications/delete", h.handle(h.revokeToken))

	r.Group(func(r chi.Router) {
		r.Use(common.RequireScope(h.d.Log, h.writeError, scope.Package))

		r.Get("/{owner}/-/packages/{type}/{name}/settings", h.handle(h.packageSettings))
		r.Post("/{owner}/-/packages/{type}/{name}/settings", h.handle(h.packageSettingsPost))
		r.Get("/{owner}/-/packages/{type}/{name}/settings/delete_version", h.handle(h.deleteVersionConfirm))
		r.Post("/{owner}/-/packages/{type}/{name}/settings/delete_version", h.handle(h.deleteVersion))

		r.Route("/user/settings/packages", h.ownerSettingsRoutes)
		r.Route("/org/{org}/settings/packages", h.ownerSettingsRoutes)
	})
}

// ownerSettingsRoutes are the owner's package settings, mounted for the
// signed-in user and for an organisation.
func (h *Handler) ownerSettingsRoutes(r chi.Router) {
	r.Get("/", h.handle(h.ownerSettings))
	r.Post("/cargo/initialize", h.handle(h.cargoInit))
	r.Post("/cargo/rebuild", h.handle(h.cargoRebuild))
	r.Post("/composer/add", h.handle(h.composerAdd))
	r.Get("/composer/remove", h.handle(h.composerRemoveConfirm))
	r.Post("/composer/remove", h.handle(h.composerRemove))
	r.Get("/rules/add", h.handle(h.ruleAddForm))
	r.Post("/rules/add", h.handle(h.ruleAdd))
	r.Get("/rules/{id}", h.handle(h.ruleEditForm))
	r.Post("/rules/{id}", h.handle(h.ruleEdit))
	r.Get("/rules/{id}/delete", h.handle(h.ruleDeleteConfirm))
	r.Post("/rules/{id}/delete", h.handle(h.ruleDelete))
	r.Get("/rules/{id}/preview", h.handle(h.rulePreview))
	r.Post("/rules/{id}/run", h.handle(h.ruleRun))
}

// formError reports whether err is the caller's (4xx): such an error is
// shown on the form again with its status, anything else fails the page.
func formError(err error) (status int, msg string, ok bool) {
	status = common.Status(err)
	if status >= http.StatusInternalServerError {
		return 0, "", false
	}
	return status, apperr.PublicMessage(err), true
}

// noStore marks a response that holds a secret or a one-off result: no
// cache keeps it, and going back does not show it again from a cache.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}
