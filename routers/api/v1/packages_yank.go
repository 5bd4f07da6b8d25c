package v1

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
)

// PackageYankRoutes mounts yank and unyank of a package version for the
// formats that yank (those with a VersionYankedHook among formats: the
// version stays, hidden from what clients resolve): POST
// /packages/{owner}/{type}/{name}/{version}/-/yank and …/-/unyank, 204.
// This is how an owner undoes a yank made with a client that cannot
// (gem yank); the format's hook updates its indexes in the same
// transaction. Another format answers 400.
func (h *Handler) PackageYankRoutes(r chi.Router, formats []packages_service.Format) {
	y := &yankHandler{h: h, yanks: map[packages_model.Type]bool{}}
	for _, f := range formats {
		if _, ok := f.(packages_service.VersionYankedHook); ok {
			y.yanks[f.Type()] = true
		}
	}
	r.Group(func(r chi.Router) {
		r.Use(h.scoped(scope.Package))
		r.Post("/packages/{owner}/{type}/{name}/{version}/-/yank", h.handle(y.setYanked(true)))
		r.Post("/packages/{owner}/{type}/{name}/{version}/-/unyank", h.handle(y.setYanked(false)))
	})
}

type yankHandler struct {
	h     *Handler
	yanks map[packages_model.Type]bool
}

func (y *yankHandler) setYanked(yanked bool) common.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := common.RequireUser(r.Context()); err != nil {
			return err
		}
		t, err := packages_model.ParseType(common.Param(r, "type"))
		if err != nil {
			return err
		}
		if !y.yanks[t] {
			return apperr.New(apperr.Invalid, "%s packages have no yank: remove the version instead", t)
		}
		a, _, pv, err := y.h.versionFromURL(r)
		if err != nil {
			return err
		}
		if err := y.h.Packages.SetYanked(r.Context(), a, pv, yanked); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
