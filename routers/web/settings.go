package web

import "github.com/go-chi/chi/v5"

// settingsRoutes mounts the pages that change things: access tokens,
// package settings and owners' package settings.
func (h *Handler) settingsRoutes(r chi.Router) {}
