package v1

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"wharf/modules/scope"
	"wharf/routers/common"
	cargo_service "wharf/services/packages/cargo"
)

// CargoIndex is an owner's cargo git index as the API shows it.
type CargoIndex struct {
	Exists bool `json:"exists"`
	// Repository is owner/name of the index repository.
	Repository string `json:"repository,omitempty"`
	// IndexURL is what goes into cargo's configuration:
	// [registries.NAME] index = "…" (the repository's clone URL).
	IndexURL string `json:"index_url,omitempty"`
	// LastCommit is the head of the index's default branch.
	LastCommit     string     `json:"last_commit,omitempty"`
	LastCommitTime *time.Time `json:"last_commit_time,omitempty"`
}

func toCargoIndex(gi *cargo_service.GitIndex) *CargoIndex {
	out := &CargoIndex{Exists: gi.Exists, Repository: gi.Repository, IndexURL: gi.CloneURL, LastCommit: gi.LastCommit}
	if !gi.LastCommitTime.IsZero() {
		t := gi.LastCommitTime
		out.LastCommitTime = &t
	}
	return out
}

// CargoIndexRoutes mounts the endpoints of an owner's cargo git index
// under the API (/packages/{owner}/cargo/-/index), with the package scope:
// GET says whether it exists, POST creates it (201, or 200 when it
// existed), POST …/rebuild regenerates every file. The service checks who
// may: anyone who may see the owner's packages reads the status; the
// owner, an owner of the organisation or an administrator creates and
// rebuilds.
func (h *Handler) CargoIndexRoutes(r chi.Router, cargo *cargo_service.Service) {
	c := &cargoIndexHandler{h: h, cargo: cargo}
	r.Group(func(r chi.Router) {
		r.Use(h.scoped(scope.Package))
		r.Get("/packages/{owner}/cargo/-/index", h.handle(c.getCargoIndex))
		r.Post("/packages/{owner}/cargo/-/index", h.handle(c.initCargoIndex))
		r.Post("/packages/{owner}/cargo/-/index/rebuild", h.handle(c.rebuildCargoIndex))
	})
}

type cargoIndexHandler struct {
	h     *Handler
	cargo *cargo_service.Service
}

func (c *cargoIndexHandler) getCargoIndex(w http.ResponseWriter, r *http.Request) error {
	a, err := c.h.packageAccess(r)
	if err != nil {
		return err
	}
	gi, err := c.cargo.IndexStatus(r.Context(), a)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, toCargoIndex(gi))
}

func (c *cargoIndexHandler) initCargoIndex(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	a, err := c.h.packageAccess(r)
	if err != nil {
		return err
	}
	gi, created, err := c.cargo.InitIndex(r.Context(), a)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return common.WriteJSON(w, status, toCargoIndex(gi))
}

func (c *cargoIndexHandler) rebuildCargoIndex(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	a, err := c.h.packageAccess(r)
	if err != nil {
		return err
	}
	gi, err := c.cargo.RebuildIndex(r.Context(), a)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, toCargoIndex(gi))
}
