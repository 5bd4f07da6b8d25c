package v1

import (
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/modules/structs"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
)

func (h *Handler) packageRoutes(r chi.Router) {
	r.Get("/packages/{owner}", h.handle(h.listPackages))
	r.Get("/packages/{owner}/{type}/{name}", h.handle(h.listPackageVersions))
	r.Get("/packages/{owner}/{type}/{name}/-/latest", h.handle(h.getLatestPackageVersion))
	r.Post("/packages/{owner}/{type}/{name}/-/link/{repo}", h.handle(h.linkPackage))
	r.Post("/packages/{owner}/{type}/{name}/-/unlink", h.handle(h.unlinkPackage))
	r.Get("/packages/{owner}/{type}/{name}/{version}", h.handle(h.getPackage))
	r.Delete("/packages/{owner}/{type}/{name}/{version}", h.handle(h.deletePackage))
	r.Get("/packages/{owner}/{type}/{name}/{version}/files", h.handle(h.listPackageFiles))
}

func (h *Handler) packageAccess(r *http.Request) (*packages_service.Access, error) {
	return h.Packages.Access(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"))
}

// packageFromURL loads the access and the package named in the URL.
func (h *Handler) packageFromURL(r *http.Request) (*packages_service.Access, *packages_model.Package, error) {
	a, err := h.packageAccess(r)
	if err != nil {
		return nil, nil, err
	}
	t, err := packages_model.ParseType(common.Param(r, "type"))
	if err != nil {
		return nil, nil, err
	}
	p, err := h.Packages.GetPackage(r.Context(), a, t, common.Param(r, "name"))
	if err != nil {
		return nil, nil, err
	}
	return a, p, nil
}

// toPackage converts a version for the API. The linked repository is in
// l only when the viewer may read it (the service checks it against its own
// owner); withRepo is false for a token that may not read repositories,
// which the repository API would refuse with 403.
func (h *Handler) toPackage(a *packages_service.Access, viewer *user_model.User, l *packages_service.Listing, withRepo bool, p *packages_model.Package, pv *packages_model.PackageVersion) *structs.Package {
	out := &structs.Package{
		ID: pv.ID, Owner: h.toUser(a.Owner, viewer), Type: string(p.Type), Name: p.Name, Version: pv.Version,
		HTMLURL:   h.RootURL + url.PathEscape(a.Owner.Name) + "/-/packages/" + string(p.Type) + "/" + url.PathEscape(p.Name) + "/" + url.PathEscape(pv.Version),
		CreatedAt: time.Unix(pv.CreatedUnix, 0).UTC(),
	}
	if c, ok := l.Creators[pv.CreatorID]; ok {
		out.Creator = h.toUser(c, viewer)
	}
	if rc, ok := l.Repos[p.RepoID]; ok && withRepo {
		out.Repository = h.toRepo(rc, viewer)
	}
	return out
}

func (h *Handler) writePackages(w http.ResponseWriter, r *http.Request, a *packages_service.Access, rows []*packages_model.VersionRow) ([]*structs.Package, error) {
	l, err := h.Packages.LoadListing(r.Context(), a, rows)
	if err != nil {
		return nil, err
	}
	viewer := common.Doer(r.Context())
	withRepo := common.Allows(r.Context(), scope.Repository, scope.Read)
	out := make([]*structs.Package, len(rows))
	for i, row := range rows {
		out[i] = h.toPackage(a, viewer, l, withRepo, &row.Package, &row.PackageVersion)
	}
	return out, nil
}

func (h *Handler) listPackages(w http.ResponseWriter, r *http.Request) error {
	a, err := h.packageAccess(r)
	if err != nil {
		return err
	}
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	opts := packages_model.SearchOptions{ListOptions: page, Query: r.URL.Query().Get("q")}
	if t := r.URL.Query().Get("type"); t != "" {
		if opts.Type, err = packages_model.ParseType(t); err != nil {
			return err
		}
	}
	rows, total, err := h.Packages.SearchVersions(r.Context(), a, opts)
	if err != nil {
		return err
	}
	out, err := h.writePackages(w, r, a, rows)
	if err != nil {
		return err
	}
	common.SetPagingHeaders(w, r, h.RootURL, total, page)
	return common.WriteJSON(w, http.StatusOK, out)
}

// listPackageVersions lists a package's versions, highest first by the
// format's version rules.
func (h *Handler) listPackageVersions(w http.ResponseWriter, r *http.Request) error {
	a, p, err := h.packageFromURL(r)
	if err != nil {
		return err
	}
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	vs, err := h.Packages.ListVersions(r.Context(), p)
	if err != nil {
		return err
	}
	items := pageOf(vs, page.Offset(), page.PageSize)
	rows := make([]*packages_model.VersionRow, len(items))
	for i, pv := range items {
		rows[i] = &packages_model.VersionRow{PackageVersion: *pv, Package: *p}
	}
	out, err := h.writePackages(w, r, a, rows)
	if err != nil {
		return err
	}
	common.SetPagingHeaders(w, r, h.RootURL, int64(len(vs)), page)
	return common.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) writeOne(w http.ResponseWriter, r *http.Request, a *packages_service.Access, p *packages_model.Package, pv *packages_model.PackageVersion) error {
	out, err := h.writePackages(w, r, a, []*packages_model.VersionRow{{PackageVersion: *pv, Package: *p}})
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, out[0])
}

func (h *Handler) getLatestPackageVersion(w http.ResponseWriter, r *http.Request) error {
	a, p, err := h.packageFromURL(r)
	if err != nil {
		return err
	}
	pv, err := h.Packages.Latest(r.Context(), p)
	if err != nil {
		return err
	}
	return h.writeOne(w, r, a, p, pv)
}

func (h *Handler) versionFromURL(r *http.Request) (*packages_service.Access, *packages_model.Package, *packages_model.PackageVersion, error) {
	a, p, err := h.packageFromURL(r)
	if err != nil {
		return nil, nil, nil, err
	}
	_, pv, err := h.Packages.GetVersion(r.Context(), a, p.Type, p.Name, common.Param(r, "version"))
	if err != nil {
		return nil, nil, nil, err
	}
	return a, p, pv, nil
}

func (h *Handler) getPackage(w http.ResponseWriter, r *http.Request) error {
	a, p, pv, err := h.versionFromURL(r)
	if err != nil {
		return err
	}
	return h.writeOne(w, r, a, p, pv)
}

func (h *Handler) deletePackage(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	a, _, pv, err := h.versionFromURL(r)
	if err != nil {
		return err
	}
	if err := h.Packages.RemoveVersion(r.Context(), a, pv); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listPackageFiles(w http.ResponseWriter, r *http.Request) error {
	_, _, pv, err := h.versionFromURL(r)
	if err != nil {
		return err
	}
	files, err := h.Packages.ListFiles(r.Context(), pv)
	if err != nil {
		return err
	}
	out := make([]*structs.PackageFile, len(files))
	for i, f := range files {
		out[i] = &structs.PackageFile{ID: f.PackageFile.ID, Size: f.Blob.Size, Name: f.PackageFile.Name,
			HashMD5: f.Blob.HashMD5, HashSHA1: f.Blob.HashSHA1, HashSHA256: f.Blob.HashSHA256, HashSHA512: f.Blob.HashSHA512}
	}
	return common.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) linkPackage(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	a, p, err := h.packageFromURL(r)
	if err != nil {
		return err
	}
	if err := h.Packages.Link(r.Context(), a, p, common.Param(r, "repo")); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return apperr.New(apperr.NotFound, "repository %q does not exist", common.Param(r, "repo"))
		}
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (h *Handler) unlinkPackage(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	a, p, err := h.packageFromURL(r)
	if err != nil {
		return err
	}
	if err := h.Packages.Unlink(r.Context(), a, p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
