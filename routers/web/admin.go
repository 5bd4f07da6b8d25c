package web

import "github.com/go-chi/chi/v5"

// adminRoutes mounts the site administration pages under /-/admin.
func (h *Handler) adminRoutes(r chi.Router) {}
