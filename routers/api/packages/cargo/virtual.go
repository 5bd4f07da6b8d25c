package cargo

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	cargo_module "wharf/modules/packages/cargo"
	"wharf/routers/api/packages"
	"wharf/routers/common"
)

// Type is the format's.
func (h *Handler) Type() packages_model.Type { return packages_model.TypeCargo }

// VirtualRoutes mounts a virtual Cargo registry: the same sparse index and
// API paths, each crate's file and downloads from the first member that
// has the crate (an upstream's crates stored by the registry on their
// first download), search merged over the members the caller may read,
// publishes sent to the publishing member; yank and owner changes are
// made at the crate's own registry.
func (h *Handler) VirtualRoutes(r chi.Router) {
	r.NotFound(h.handle(func(http.ResponseWriter, *http.Request) error { return errNotFound }))
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, http.StatusMethodNotAllowed, "method not allowed")
	})
	// config.json and /me are the virtual owner's own, as for any owner:
	// auth-required follows its visibility.
	r.Get("/config.json", h.handle(h.config))
	r.Head("/config.json", h.handle(h.config))
	r.Get("/me", h.handle(h.me))
	r.Route("/api/v1/crates", func(r chi.Router) {
		r.Get("/", h.handle(h.searchVirtual))
		r.Put("/new", h.handle(h.publishVirtual))
		r.Delete("/{name}/{version}/yank", h.handle(h.refuseVirtual("yank")))
		r.Put("/{name}/{version}/unyank", h.handle(h.refuseVirtual("unyank")))
		r.Get("/{name}/owners", h.handle(h.refuseVirtual("list the owners of")))
		r.Put("/{name}/owners", h.handle(h.refuseVirtual("add owners to")))
		r.Delete("/{name}/owners", h.handle(h.refuseVirtual("remove owners from")))
		r.Get("/{name}/{version}/download", h.handle(h.downloadVirtual))
		r.Head("/{name}/{version}/download", h.handle(h.downloadVirtual))
	})
	r.Get("/*", h.handle(h.indexFileVirtual))
	r.Head("/*", h.handle(h.indexFileVirtual))
}

// setWarnings adds a Warning header per upstream that was skipped or
// served from its stored copy (RFC 7234's 199, miscellaneous).
func setWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", `199 - `+strconv.Quote(strings.ToValidUTF8(msg, "?")))
	}
}

// indexFileVirtual serves a crate's file from where the crate resolves: a
// local member's file with its own validators, or an upstream's with an
// ETag of its bytes (no Last-Modified: its time is the upstream's).
func (h *Handler) indexFileVirtual(w http.ResponseWriter, r *http.Request) error {
	name, err := cargo_module.NameFromIndexPath(strings.Split(chi.URLParam(r, "*"), "/")...)
	if err != nil {
		return err
	}
	f, err := h.Cargo.VirtualIndexFile(r.Context(), h.Virtual, packages.RegistryFrom(r.Context()), common.Doer(r.Context()), name,
		func(etag string, modified time.Time) bool {
			if modified.IsZero() {
				return r.Header.Get("If-None-Match") != "" && packages.MatchesETag(r, etag)
			}
			return notModified(r, etag, modified, h.Now())
		})
	if f != nil {
		setWarnings(w, f.Warnings)
	}
	if err != nil {
		return err
	}
	return h.writeIndexFile(w, r, f.IndexFile)
}

// downloadVirtual serves a .crate from where the crate resolves; an
// upstream's is fetched and stored on its first download.
func (h *Handler) downloadVirtual(w http.ResponseWriter, r *http.Request) error {
	d, warnings, err := h.Cargo.OpenVirtualCrate(r.Context(), h.Virtual, packages.RegistryFrom(r.Context()), common.Doer(r.Context()),
		common.Param(r, "name"), common.Param(r, "version"), r.Method == http.MethodGet)
	setWarnings(w, warnings)
	if err != nil {
		return err
	}
	packages.ServeDownload(w, r, d)
	return nil
}

// publishVirtual publishes to the registry's publishing member, or
// refuses naming the members to publish to, or a name another member
// serves.
func (h *Handler) publishVirtual(w http.ResponseWriter, r *http.Request) error {
	a, err := h.Virtual.PublishAccess(r.Context(), packages.RegistryFrom(r.Context()), common.Doer(r.Context()))
	if err != nil {
		return err
	}
	res, err := h.Cargo.PublishVirtual(r.Context(), h.Virtual, packages.RegistryFrom(r.Context()), a, r.Body)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, res)
}

// searchVirtual is cargo search over the members the caller may read.
func (h *Handler) searchVirtual(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	perPage, err := intParam(q, "per_page", 10)
	if err != nil {
		return err
	}
	page, err := intParam(q, "page", 1)
	if err != nil {
		return err
	}
	hits, total, err := h.Cargo.VirtualSearch(r.Context(), h.Virtual, packages.RegistryFrom(r.Context()), common.Doer(r.Context()), q.Get("q"), perPage, page)
	if err != nil {
		return err
	}
	out := searchBody{Crates: hits}
	out.Meta.Total = total
	return common.WriteJSON(w, http.StatusOK, out)
}

// refuseVirtual answers yank and owner commands: they change a crate
// where it lives, so they are made at the registry of the member the
// crate resolves to, which the answer names (a crate the caller may not
// see is not found, as everywhere).
func (h *Handler) refuseVirtual(what string) common.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		reg := packages.RegistryFrom(r.Context())
		name := common.Param(r, "name")
		res, err := h.Cargo.ResolveCrate(r.Context(), h.Virtual, reg, common.Doer(r.Context()), name)
		if err != nil {
			return err
		}
		if res.Local == nil {
			return apperr.New(apperr.Unprocessable, "%q is a virtual cargo registry and `%s` comes from the upstream registry %s: %s it there", reg.Owner.Name, name, res.Upstream.URL, what)
		}
		return apperr.New(apperr.Unprocessable, "%q is a virtual cargo registry: %s `%s` at the registry of %s (--index sparse+%s)",
			reg.Owner.Name, what, name, res.Local.Owner.Name, h.base(res.Local.Owner.Name))
	}
}
