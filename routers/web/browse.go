package web

import (
	"github.com/go-chi/chi/v5"

	"net/http"
	"net/url"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
)

// browseRoutes mounts the pages that show things: home, explore, owners,
// repositories and packages.
func (h *Handler) browseRoutes(r chi.Router) {
	r.Get("/", h.handle(h.home))
	// The owner's scope depends on its type: checked in the handler.
	r.Get("/{owner}", h.handle(h.ownerHome))
	r.Group(func(r chi.Router) {
		r.Use(common.RequireScope(h.d.Log, h.writeError, scope.Package))
		r.Get("/{owner}/-/packages", h.handle(h.ownerPackages))
		r.Get("/{owner}/-/packages/{type}/{name}/{version}", h.handle(h.packageVersion))
	})
	r.With(common.RequireScope(h.d.Log, h.writeError, scope.Repository)).
		Get("/{owner}/{repo}", h.handle(h.repoHome))
}

type homePage struct {
	page
	DBType      string
	Users, Orgs int64
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	users, orgs, err := h.d.Users.Counts(r.Context())
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "home", homePage{page: h.page(r, "Home"), DBType: h.d.DBType, Users: users, Orgs: orgs})
}

type ownerPage struct {
	page
	Owner, OwnerPath, Description string
	Repos                         []repoItem
	// ReposHidden: the caller's token may not read repositories, so the
	// list is left out (the API's repository list answers 403 to it).
	ReposHidden bool
}

type repoItem struct {
	Name, Path, Description string
	Private                 bool
}

// ownerHome shows an owner and the repositories the caller may see. A
// token needs the scope the API asks for the same data: read:user or
// read:organization for the owner (403 without), read:repository for the
// list of repositories (left out without).
func (h *Handler) ownerHome(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	viewer := common.Doer(ctx)
	owner, err := h.d.Users.GetVisible(ctx, viewer, common.Param(r, "owner"))
	if err != nil {
		return err
	}
	if err := common.CheckOwnerScope(ctx, owner); err != nil {
		return err
	}
	p := ownerPage{page: h.page(r, owner.Name), Owner: owner.Name, OwnerPath: url.PathEscape(owner.Name), Description: owner.Description}
	if !common.Allows(ctx, scope.Repository, scope.Read) {
		p.ReposHidden = true
		return h.render(w, http.StatusOK, "owner", p)
	}
	rcs, _, err := h.d.Repos.ListForOwner(ctx, viewer, owner.Name, db.ListOptions{Page: 1, PageSize: 200})
	if err != nil {
		return err
	}
	for _, rc := range rcs {
		p.Repos = append(p.Repos, repoItem{Name: rc.Repo.Name, Path: url.PathEscape(owner.Name) + "/" + url.PathEscape(rc.Repo.Name),
			Description: rc.Repo.Description, Private: rc.Repo.IsPrivate})
	}
	return h.render(w, http.StatusOK, "owner", p)
}

type repoPage struct {
	page
	Owner, OwnerPath, Name, Description, CloneURL, DefaultBranch string
	Empty                                                        bool
	Branches, Tags                                               []string
}

// repoHome shows a repository: how to clone it, its branches and tags.
func (h *Handler) repoHome(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.d.Repos.Get(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"), strings.TrimSuffix(common.Param(r, "repo"), ".git"))
	if err != nil {
		return err
	}
	p := repoPage{page: h.page(r, rc.Repo.FullName()), Owner: rc.Owner.Name, OwnerPath: url.PathEscape(rc.Owner.Name), Name: rc.Repo.Name,
		Description: rc.Repo.Description, CloneURL: h.d.Repos.CloneURL(rc.Repo), DefaultBranch: rc.Repo.DefaultBranch, Empty: rc.Repo.IsEmpty}
	if !rc.Repo.IsEmpty {
		branches, err := h.d.Repos.Branches(r.Context(), rc)
		if err != nil {
			return err
		}
		for _, b := range branches {
			p.Branches = append(p.Branches, b.Name)
		}
		tags, err := h.d.Repos.Tags(r.Context(), rc)
		if err != nil {
			return err
		}
		for _, t := range tags {
			p.Tags = append(p.Tags, t.Name)
		}
	}
	return h.render(w, http.StatusOK, "repo", p)
}

type packagesPage struct {
	page
	Owner, OwnerPath string
	Items            []packageItem
	Total            int64
	More             bool
}

type packageItem struct {
	Type, Name, Version, Path, Created string
}

func packagePath(owner string, t packages_model.Type, name, version string) string {
	return url.PathEscape(owner) + "/-/packages/" + string(t) + "/" + url.PathEscape(name) + "/" + url.PathEscape(version)
}

// ownerPackages lists an owner's package versions.
func (h *Handler) ownerPackages(w http.ResponseWriter, r *http.Request) error {
	a, err := h.d.Packages.Access(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"))
	if err != nil {
		return err
	}
	rows, total, err := h.d.Packages.SearchVersions(r.Context(), a, packages_model.SearchOptions{ListOptions: db.ListOptions{Page: 1, PageSize: 200}})
	if err != nil {
		return err
	}
	p := packagesPage{page: h.page(r, a.Owner.Name+" packages"), Owner: a.Owner.Name, OwnerPath: url.PathEscape(a.Owner.Name), Total: total, More: total > int64(len(rows))}
	for _, row := range rows {
		p.Items = append(p.Items, packageItem{Type: string(row.Package.Type), Name: row.Package.Name, Version: row.PackageVersion.Version,
			Path: packagePath(a.Owner.Name, row.Package.Type, row.Package.Name, row.PackageVersion.Version), Created: day(row.PackageVersion.CreatedUnix)})
	}
	return h.render(w, http.StatusOK, "packages", p)
}

type packageVersionPage struct {
	page
	Owner, OwnerPath, Type, Name, Version, Created, Repository, RepositoryPath string
	Files                                                                      []fileItem
}

type fileItem struct {
	Name, SHA256 string
	Size         int64
}

// packageVersion shows one version with its files.
func (h *Handler) packageVersion(w http.ResponseWriter, r *http.Request) error {
	a, err := h.d.Packages.Access(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"))
	if err != nil {
		return err
	}
	t, err := packages_model.ParseType(common.Param(r, "type"))
	if err != nil {
		return apperr.New(apperr.NotFound, "no such package type")
	}
	pkg, pv, err := h.d.Packages.GetVersion(r.Context(), a, t, common.Param(r, "name"), common.Param(r, "version"))
	if err != nil {
		return err
	}
	files, err := h.d.Packages.ListFiles(r.Context(), pv)
	if err != nil {
		return err
	}
	p := packageVersionPage{page: h.page(r, pkg.Name+" "+pv.Version), Owner: a.Owner.Name, OwnerPath: url.PathEscape(a.Owner.Name),
		Type: string(t), Name: pkg.Name, Version: pv.Version, Created: day(pv.CreatedUnix)}
	// The linked repository is shown only to whom may read it: the
	// service checks it against its own owner, the token needs
	// read:repository as for the repository's page.
	if common.Allows(r.Context(), scope.Repository, scope.Read) {
		rc, err := h.d.Packages.LinkedRepository(r.Context(), a.Doer, pkg)
		if err != nil {
			return err
		}
		if rc != nil {
			p.Repository, p.RepositoryPath = rc.Repo.FullName(), url.PathEscape(rc.Repo.OwnerName)+"/"+url.PathEscape(rc.Repo.Name)
		}
	}
	for _, f := range files {
		p.Files = append(p.Files, fileItem{Name: f.PackageFile.Name, SHA256: f.Blob.HashSHA256, Size: f.Blob.Size})
	}
	return h.render(w, http.StatusOK, "package", p)
}
