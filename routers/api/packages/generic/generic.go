// Package generic serves generic packages, Gitea-compatible: any file
// under a name and a version.
package generic

import (
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/routers/api/packages"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	"wharf/services/packages/virtual"
)

// Handler serves /api/packages/{owner}/generic.
type Handler struct {
	Packages *packages_service.Service
	Virtual  *virtual.Service
	Log      *slog.Logger
}

// Type is the format's.
func (h *Handler) Type() packages_model.Type { return packages_model.TypeGeneric }

// VirtualRoutes mounts a virtual registry's generic URLs: a file is read
// from the first member that has the package, an upload goes to the
// registry's publishing member, and removals are made at the member.
func (h *Handler) VirtualRoutes(r chi.Router) {
	r.Put("/{name}/{version}/{filename}", h.handle(h.uploadVirtual))
	r.Get("/{name}/{version}/{filename}", h.handle(h.downloadVirtual))
	r.Head("/{name}/{version}/{filename}", h.handle(h.downloadVirtual))
	r.Delete("/{name}/{version}/{filename}", h.handle(h.deleteVirtual))
	r.Delete("/{name}/{version}", h.handle(h.deleteVirtual))
}

// Routes mounts the protocol.
func (h *Handler) Routes(r chi.Router) {
	r.Put("/{name}/{version}/{filename}", h.handle(h.uploadPackageFile))
	r.Get("/{name}/{version}/{filename}", h.handle(h.downloadPackageFile))
	r.Head("/{name}/{version}/{filename}", h.handle(h.downloadPackageFile))
	r.Delete("/{name}/{version}/{filename}", h.handle(h.deletePackage(true)))
	r.Delete("/{name}/{version}", h.handle(h.deletePackage(false)))
}

func (h *Handler) handle(f common.HandlerFunc) http.HandlerFunc {
	return common.Handle(h.Log, common.WritePlain, f)
}

// The rules are Gitea's, and stricter where Gitea accepts nonsense (it
// stores a version "../../"): no '/', no ".." or "." alone, no control
// characters, raw or percent-encoded (parameters arrive decoded).
var (
	namePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
	versionPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~-]*$`)
	filenamePattern = regexp.MustCompile(`^[A-Za-z0-9._+=:;()\[\]{}~!@#$%^& -]+$`)
)

const maxLength = 255

type params struct{ name, version, filename string }

func readParams(r *http.Request, withFile bool) (params, error) {
	p := params{name: common.Param(r, "name"), version: common.Param(r, "version")}
	if len(p.name) > maxLength || !namePattern.MatchString(p.name) {
		return p, apperr.New(apperr.Invalid, "invalid package name %q: use letters, digits, '.', '_', '+' and '-', starting with a letter or digit", p.name)
	}
	if len(p.version) > maxLength || !versionPattern.MatchString(p.version) {
		return p, apperr.New(apperr.Invalid, "invalid package version %q: use letters, digits, '.', '_', '+', '~' and '-', starting with a letter or digit", p.version)
	}
	if withFile {
		p.filename = common.Param(r, "filename")
		if len(p.filename) > maxLength || !filenamePattern.MatchString(p.filename) || p.filename == "." || p.filename == ".." ||
			strings.TrimSpace(p.filename) != p.filename {
			return p, apperr.New(apperr.Invalid, "invalid file name %q", p.filename)
		}
	}
	return p, nil
}

func (h *Handler) uploadPackageFile(w http.ResponseWriter, r *http.Request) error {
	a := packages.AccessFrom(r.Context())
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return h.upload(w, r, a)
}

func (h *Handler) uploadVirtual(w http.ResponseWriter, r *http.Request) error {
	reg := packages.RegistryFrom(r.Context())
	a, err := h.Virtual.PublishAccess(r.Context(), reg, common.Doer(r.Context()))
	if err != nil {
		return err
	}
	if _, err := readParams(r, true); err != nil {
		return err
	}
	if err := h.Virtual.CheckPublishName(r.Context(), reg, common.Param(r, "name")); err != nil {
		return err
	}
	return h.upload(w, r, a)
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request, a *packages_service.Access) error {
	p, err := readParams(r, true)
	if err != nil {
		return err
	}
	buf, err := h.Packages.NewLargeUploadBuffer(r.Body, packages_model.TypeGeneric, r.ContentLength)
	if err != nil {
		return err
	}
	defer buf.Close()
	_, err = h.Packages.CreatePackageOrAddFileToExisting(r.Context(),
		&packages_service.VersionInfo{Owner: a.Owner, Creator: a.Doer, Type: packages_model.TypeGeneric, Name: p.name, Version: p.version},
		&packages_service.FileInfo{Name: p.filename, IsLead: true, Data: buf}, nil)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (h *Handler) downloadPackageFile(w http.ResponseWriter, r *http.Request) error {
	return h.download(w, r, packages.AccessFrom(r.Context()))
}

func (h *Handler) download(w http.ResponseWriter, r *http.Request, a *packages_service.Access) error {
	p, err := readParams(r, true)
	if err != nil {
		return err
	}
	d, err := h.Packages.OpenFile(r.Context(), a, packages_model.TypeGeneric, p.name, p.version, p.filename, "", r.Method == http.MethodGet)
	if err != nil {
		return err
	}
	packages.ServeDownload(w, r, d)
	return nil
}

func (h *Handler) downloadVirtual(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r, true); err != nil {
		return err
	}
	res, err := h.Virtual.Resolve(r.Context(), packages.RegistryFrom(r.Context()), common.Doer(r.Context()), common.Param(r, "name"), nil)
	if err != nil {
		return err
	}
	return h.download(w, r, res.Local)
}

// deleteVirtual refuses: a removal is made where the package lives, so
// that nobody removes a member's package through a URL that names another
// owner.
func (h *Handler) deleteVirtual(w http.ResponseWriter, r *http.Request) error {
	reg := packages.RegistryFrom(r.Context())
	return apperr.New(apperr.Unprocessable, "%q is a virtual generic registry: remove packages at their owner's registry (/api/packages/{owner}/generic/…)", reg.Owner.Name)
}

// deletePackage deletes one file (the version goes with its last file),
// or, without a file name, the whole version.
func (h *Handler) deletePackage(withFile bool) common.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		a := packages.AccessFrom(r.Context())
		if err := a.RequireWrite(); err != nil {
			return err
		}
		p, err := readParams(r, withFile)
		if err != nil {
			return err
		}
		_, pv, err := h.Packages.GetVersion(r.Context(), a, packages_model.TypeGeneric, p.name, p.version)
		if err != nil {
			return err
		}
		if withFile {
			err = h.Packages.RemoveFile(r.Context(), a, pv, p.filename, "")
		} else {
			err = h.Packages.RemoveVersion(r.Context(), a, pv)
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
