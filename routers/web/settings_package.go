package web

import (
	"net/http"
	"net/url"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
)

// linkableRepoPages bounds the repositories offered for a link: 20 pages
// of 100.
const (
	linkableRepoPageSize = 100
	linkableRepoPages    = 20
)

type packageSettingsPage struct {
	page
	Owner, Type, Name string
	// PackagesURL is the owner's package list, PackageURL the package's
	// page; SettingsURL this page (the name path-escaped, so a slash in it
	// stays one segment).
	PackagesURL, PackageURL, SettingsURL string
	// Linked is the linked repository (owner/name) when the viewer may
	// read it; LinkedHidden says a link exists to one they may not.
	Linked, LinkedName string
	LinkedHidden       bool
	// Repos are the owner's repositories the viewer may see, for the link;
	// ReposHidden when the caller's token may not read repositories.
	Repos       []string
	ReposHidden bool
	// Versions are the newest versions (at most versionChoices), offered
	// to the version field; VersionCount is how many there are in all.
	Versions     []string
	VersionCount int64
	// Error is a refused action's message; ConfirmName the name typed.
	Error, ConfirmName string
}

// settingsPackage resolves the package of the URL for a writer: a reader
// is forbidden (403), a visitor must sign in, a package the caller may not
// see is not found.
func (h *Handler) settingsPackage(r *http.Request) (*packages_service.Access, *packages_model.Package, error) {
	ctx := r.Context()
	a, err := h.d.Packages.Access(ctx, common.Doer(ctx), common.Param(r, "owner"))
	if err != nil {
		return nil, nil, err
	}
	if err := a.RequireWrite(); err != nil {
		return nil, nil, err
	}
	t, err := packages_model.ParseType(common.Param(r, "type"))
	if err != nil {
		return nil, nil, apperr.Wrap(apperr.NotFound, err, "no such package type")
	}
	p, err := h.d.Packages.GetPackage(ctx, a, t, common.Param(r, "name"))
	if err != nil {
		return nil, nil, err
	}
	return a, p, nil
}

// packageSettingsPath is the local path of a package's settings page.
func packageSettingsPath(owner string, t packages_model.Type, name string) string {
	return "/" + url.PathEscape(owner) + "/-/packages/" + string(t) + "/" + url.PathEscape(name) + "/settings"
}

// versionChoices bounds the versions the delete form offers by name; any
// other is typed.
const versionChoices = 100

func (h *Handler) packageSettingsData(r *http.Request, a *packages_service.Access, p *packages_model.Package) (packageSettingsPage, error) {
	ctx := r.Context()
	d := packageSettingsPage{page: h.page(r, p.Name+" · Settings"), Owner: a.Owner.Name, Type: string(p.Type), Name: p.Name,
		PackagesURL: h.d.RootURL + url.PathEscape(a.Owner.Name) + "/-/packages",
		SettingsURL: h.d.RootURL + packageSettingsPath(a.Owner.Name, p.Type, p.Name)[1:]}
	d.PackageURL = strings.TrimSuffix(d.SettingsURL, "/settings")
	if !common.Allows(ctx, scope.Repository, scope.Read) {
		// A token limited to packages: repositories are not its data (the
		// API answers 403 to it for them), so none is named here.
		d.ReposHidden, d.LinkedHidden = true, p.RepoID != 0
	} else if err := h.loadLinkable(r, a, p, &d); err != nil {
		return d, err
	}
	var err error
	if d.Versions, d.VersionCount, err = h.d.Packages.NewestVersionNames(ctx, p, versionChoices); err != nil {
		return d, err
	}
	return d, nil
}

// loadLinkable fills in the linked repository and the owner's
// repositories the viewer may see.
func (h *Handler) loadLinkable(r *http.Request, a *packages_service.Access, p *packages_model.Package, d *packageSettingsPage) error {
	ctx := r.Context()
	if p.RepoID != 0 {
		rc, err := h.d.Packages.LinkedRepository(ctx, a.Doer, p)
		if err != nil {
			return err
		}
		if rc != nil {
			d.Linked, d.LinkedName = rc.Repo.FullName(), rc.Repo.Name
		} else {
			d.LinkedHidden = true
		}
	}
	for n := 1; n <= linkableRepoPages; n++ {
		rcs, total, err := h.d.Repos.ListForOwner(ctx, a.Doer, a.Owner.Name, db.ListOptions{Page: n, PageSize: linkableRepoPageSize})
		if err != nil {
			return err
		}
		for _, rc := range rcs {
			d.Repos = append(d.Repos, rc.Repo.Name)
		}
		if len(rcs) == 0 || int64(n*linkableRepoPageSize) >= total {
			break
		}
	}
	return nil
}

func (h *Handler) packageSettings(w http.ResponseWriter, r *http.Request) error {
	a, p, err := h.settingsPackage(r)
	if err != nil {
		return err
	}
	d, err := h.packageSettingsData(r, a, p)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "settings/package", d)
}

// packageSettingsPost links or unlinks the package, or deletes it when the
// form carries its name typed again. A refused action shows the page again
// with the service's message and status.
func (h *Handler) packageSettingsPost(w http.ResponseWriter, r *http.Request) error {
	a, p, err := h.settingsPackage(r)
	if err != nil {
		return err
	}
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	here := packageSettingsPath(a.Owner.Name, p.Type, p.Name)
	fail := func(err error, typed string) error {
		status, msg, ok := formError(err)
		if !ok {
			return err
		}
		d, derr := h.packageSettingsData(r, a, p)
		if derr != nil {
			return derr
		}
		d.Error, d.ConfirmName = msg, typed
		return h.render(w, status, "settings/package", d)
	}
	switch r.PostForm.Get("action") {
	case "link":
		repo := r.PostForm.Get("repo_name")
		if err := h.d.Packages.Link(ctx, a, p, repo); err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				err = apperr.New(apperr.NotFound, "%s has no repository %q that you may see", a.Owner.Name, repo)
			}
			return fail(err, "")
		}
		h.flash(r, "The package is now linked to "+a.Owner.Name+"/"+repo+".")
	case "unlink":
		if err := h.d.Packages.Unlink(ctx, a, p); err != nil {
			return fail(err, "")
		}
		h.flash(r, "The package is no longer linked to a repository.")
	case "delete":
		typed := r.PostForm.Get("confirm_name")
		if typed != p.Name {
			return fail(apperr.New(apperr.Unprocessable, "to delete the package, type its name, %s, exactly", p.Name), typed)
		}
		if err := h.d.Packages.RemovePackage(ctx, a, p); err != nil {
			return fail(err, typed)
		}
		h.flash(r, "The package "+p.Name+" and all its versions have been deleted.")
		h.redirect(w, r, "/"+url.PathEscape(a.Owner.Name)+"/-/packages")
		return nil
	default:
		return apperr.New(apperr.Invalid, "unknown action %q", r.PostForm.Get("action"))
	}
	h.redirect(w, r, here)
	return nil
}

type deleteVersionPage struct {
	page
	Owner, Type, Name, Version string
	SettingsURL                string
	Files                      int
	Bytes                      int64
}

// deleteVersionConfirm is the confirmation step of deleting a version: the
// settings page's version picker comes here, the button here deletes.
func (h *Handler) deleteVersionConfirm(w http.ResponseWriter, r *http.Request) error {
	a, p, err := h.settingsPackage(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	_, pv, err := h.d.Packages.GetVersion(ctx, a, p.Type, p.Name, r.URL.Query().Get("version"))
	if err != nil {
		return err
	}
	fs, err := h.d.Packages.ListFiles(ctx, pv)
	if err != nil {
		return err
	}
	d := deleteVersionPage{page: h.page(r, "Delete "+p.Name+" "+pv.Version), Owner: a.Owner.Name, Type: string(p.Type), Name: p.Name,
		Version: pv.Version, SettingsURL: h.d.RootURL + packageSettingsPath(a.Owner.Name, p.Type, p.Name)[1:], Files: len(fs)}
	for _, f := range fs {
		d.Bytes += f.Blob.Size
	}
	return h.render(w, http.StatusOK, "settings/delete_version", d)
}

// deleteVersion removes the version through the registry core (the
// format's hooks keep its indexes current); the package goes with its
// last version.
func (h *Handler) deleteVersion(w http.ResponseWriter, r *http.Request) error {
	a, p, err := h.settingsPackage(r)
	if err != nil {
		return err
	}
	if err := readConfirmedForm(r, "deleting a version"); err != nil {
		return err
	}
	ctx := r.Context()
	_, pv, err := h.d.Packages.GetVersion(ctx, a, p.Type, p.Name, r.PostForm.Get("version"))
	if err != nil {
		return err
	}
	if err := h.d.Packages.RemoveVersion(ctx, a, pv); err != nil {
		return err
	}
	if _, err := h.d.Packages.GetPackage(ctx, a, p.Type, p.Name); apperr.KindOf(err) == apperr.NotFound {
		h.flash(r, "Version "+pv.Version+" was the last one: the package "+p.Name+" has been deleted.")
		h.redirect(w, r, "/"+url.PathEscape(a.Owner.Name)+"/-/packages")
		return nil
	} else if err != nil {
		return err
	}
	h.flash(r, "Version "+pv.Version+" of "+p.Name+" has been deleted.")
	h.redirect(w, r, packageSettingsPath(a.Owner.Name, p.Type, p.Name))
	return nil
}
