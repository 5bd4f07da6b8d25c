package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"wharf/modules/validation"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	api_packages "wharf/routers/api/packages"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
)

// packageTarget is what the rest of a package URL names (after
// /{owner}/-/packages/{type}/).
type packageTarget struct {
	// Name is the package; Version the version ("" for the package page).
	Name, Version string
	// Alt: two segments "a/b" name the package "a/b" when it exists, else
	// version b of package a (AltName, AltVersion).
	Alt                 bool
	AltName, AltVersion string
	// FileID is a file of the version to download (…/{version}/files/{id}).
	FileID int64
	// Settings: "a/b/settings", the settings page of "a/b".
	Settings bool
}

// splitPackagePath reads the segments of a package URL (each unescaped;
// an encoded slash stays inside its segment). The name may be one segment
// (slashes in it encoded as %2F: any number, as a Go module path has) or
// two (a raw slash: @scope/name, vendor/name, never more); versions never
// hold a slash.
// So:
//   - name;
//   - a/b: the package "a/b" when it exists, else version b of a (no
//     format has both: npm's "@a" and Composer's "a" are no names);
//   - a/b/c: version c of package "a/b" (a/b/settings: its settings;
//     a/b/files: no page, the file list's parent, never a version);
//   - name/version/files/id and a/b/version/files/id: a file of the
//     version (Gitea's download route), whose id is a positive integer.
//
// ok is false for any other shape.
func splitPackagePath(segs []string) (packageTarget, bool) {
	for _, s := range segs {
		// No package has an empty name or one the database cannot hold
		// (invalid UTF-8: PostgreSQL refuses it in text).
		if s == "" || !validation.StorableText(s) {
			return packageTarget{}, false
		}
	}
	slashes := func(ss ...string) int {
		n := 0
		for _, s := range ss {
			n += strings.Count(s, "/")
		}
		return n
	}
	// fileOf reads name, version and the file id of "…/files/{id}".
	fileOf := func(name, version, files, id string) (packageTarget, bool) {
		n, err := strconv.ParseInt(id, 10, 64)
		if files != "files" || err != nil || n <= 0 || strings.Contains(version, "/") {
			return packageTarget{}, false
		}
		return packageTarget{Name: name, Version: version, FileID: n}, true
	}
	switch len(segs) {
	case 1:
		return packageTarget{Name: segs[0]}, true
	case 2:
		if strings.Contains(segs[1], "/") {
			return packageTarget{}, false
		}
		if strings.Contains(segs[0], "/") {
			return packageTarget{Name: segs[0], Version: segs[1]}, true
		}
		return packageTarget{Name: segs[0] + "/" + segs[1], Alt: true, AltName: segs[0], AltVersion: segs[1]}, true
	case 3:
		if slashes(segs...) > 0 {
			return packageTarget{}, false
		}
		name := segs[0] + "/" + segs[1]
		if segs[2] == "files" {
			// …/{name}/{version}/files without an id: no page, never the
			// version "files" of a raw-slash name.
			return packageTarget{}, false
		}
		if segs[2] == "settings" {
			return packageTarget{Name: name, Settings: true}, true
		}
		return packageTarget{Name: name, Version: segs[2]}, true
	case 4:
		return fileOf(segs[0], segs[1], segs[2], segs[3])
	case 5:
		if slashes(segs[0], segs[1]) > 0 {
			return packageTarget{}, false
		}
		return fileOf(segs[0]+"/"+segs[1], segs[2], segs[3], segs[4])
	}
	return packageTarget{}, false
}

// packagePage serves /{owner}/-/packages/{type}/… : a package's page, a
// version's, or a version's file (see splitPackagePath).
func (h *Handler) packagePage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a, err := h.d.Packages.Access(ctx, common.Doer(ctx), common.Param(r, "owner"))
	if err != nil {
		return err
	}
	t, err := packages_model.ParseType(common.Param(r, "type"))
	if err != nil {
		return apperr.New(apperr.NotFound, "no such package type")
	}
	segs, ok := pathSegments(r, chi.URLParam(r, "*"))
	if !ok {
		return apperr.New(apperr.NotFound, "malformed package path")
	}
	pt, ok := splitPackagePath(segs)
	if !ok {
		return errPageNotFound
	}
	switch {
	case pt.Settings:
		h.redirect(w, r, "/"+packagePath(a.Owner.Name, t, pt.Name)+"/settings")
		return nil
	case pt.FileID > 0:
		return h.packageFile(w, r, a, t, pt)
	case pt.Alt:
		if _, err := h.d.Packages.GetPackage(ctx, a, t, pt.Name); err == nil {
			return h.packageVersions(w, r, a, t, pt.Name)
		} else if !errors.Is(err, packages_model.ErrPackageNotExist) {
			return err
		}
		return h.packageVersion(w, r, a, t, pt.AltName, pt.AltVersion)
	case pt.Version != "":
		return h.packageVersion(w, r, a, t, pt.Name, pt.Version)
	}
	return h.packageVersions(w, r, a, t, pt.Name)
}

// settingsPath is the package's settings page when the viewer may write
// the owner's packages, else "".
func settingsPath(a *packages_service.Access, t packages_model.Type, name string) string {
	if a.Mode < packages_service.ModeWrite {
		return ""
	}
	return packagePath(a.Owner.Name, t, name) + "/settings"
}

// packageFile serves a version's file to the page's viewer (the session's
// access, not only an API token's): Gitea's
// /{owner}/-/packages/{type}/{name}/{version}/files/{id}, with Range, the
// SHA-256 ETag and download counting as the API's downloads.
func (h *Handler) packageFile(w http.ResponseWriter, r *http.Request, a *packages_service.Access, t packages_model.Type, pt packageTarget) error {
	ctx := r.Context()
	_, pv, err := h.d.Packages.GetVersion(ctx, a, t, pt.Name, pt.Version)
	if err != nil {
		return err
	}
	d, err := h.d.Packages.OpenVersionFileByID(ctx, pv, pt.FileID, r.Method == http.MethodGet)
	if err != nil {
		return err
	}
	api_packages.ServeDownload(w, r, d)
	return nil
}

type versionItem struct {
	Version, Path, Created string
	Downloads              int64
	Yanked                 bool
	// Note is the format's mark (npm: deprecated, with its message).
	Note string
}

type tagItem struct{ Tag, Version, Path string }

type packageVersionsPage struct {
	page
	Owner, OwnerPath, Type, Name, PackagePath string
	// Latest is the version the format's clients install by default
	// (npm's latest dist-tag, else the highest stable version).
	Latest, LatestPath string
	// Tags are the format's named tags (npm's dist-tags).
	Tags                       []tagItem
	Repository, RepositoryPath string
	// SettingsPath is the package's settings page, for writers only.
	SettingsPath string
	Versions     []versionItem
	Total        int64
	Pager        pager
}

// packageVersions shows a package: every version, highest first by the
// format's rules, paged, with yank and deprecation marks.
func (h *Handler) packageVersions(w http.ResponseWriter, r *http.Request, a *packages_service.Access, t packages_model.Type, name string) error {
	ctx := r.Context()
	pkg, err := h.d.Packages.GetPackage(ctx, a, t, name)
	if err != nil {
		return err
	}
	opts := pageOptions(r)
	vp, err := h.d.Packages.VersionsPage(ctx, pkg, opts)
	if err != nil {
		return err
	}
	marks, total := vp.Versions, vp.Total
	p := packageVersionsPage{page: h.page(r, pkg.Name+" · "+string(t)+" package"), Owner: a.Owner.Name, OwnerPath: ownerPath(a.Owner.Name),
		Type: string(t), Name: pkg.Name, PackagePath: packagePath(a.Owner.Name, t, pkg.Name), Total: total, SettingsPath: settingsPath(a, t, pkg.Name)}
	p.Pager = h.listPager(r, p.PackagePath, opts, total)
	for _, m := range marks {
		p.Versions = append(p.Versions, versionItem{Version: m.Version.Version, Path: versionPath(a.Owner.Name, t, pkg.Name, m.Version.Version),
			Created: day(m.Version.CreatedUnix), Downloads: m.Version.DownloadCount, Yanked: m.Yanked, Note: m.Note})
	}
	if vp.Latest != nil {
		p.Latest, p.LatestPath = vp.Latest.Version, versionPath(a.Owner.Name, t, pkg.Name, vp.Latest.Version)
	}
	for _, tg := range vp.Tags {
		p.Tags = append(p.Tags, tagItem{Tag: tg.Tag, Version: tg.Version.Version, Path: versionPath(a.Owner.Name, t, pkg.Name, tg.Version.Version)})
	}
	if common.Allows(ctx, scope.Repository, scope.Read) {
		rc, err := h.d.Packages.LinkedRepository(ctx, a.Doer, pkg)
		if err != nil {
			return err
		}
		if rc != nil {
			p.Repository, p.RepositoryPath = rc.Repo.FullName(), repoPath(rc.Repo.OwnerName, rc.Repo.Name)
		}
	}
	return h.render(w, http.StatusOK, "package/versions", p)
}

type fileItem struct {
	Name, SHA256 string
	Size         int64
	// URL downloads the file through the format's own protocol (the
	// install instructions); WebURL through the web route with the
	// viewer's session (the page's links).
	URL, WebURL string
	// Pending: the format builds the file on its first download (no size
	// or checksum yet).
	Pending bool
}

type dependencyItem struct{ Name, Requirement, Kind string }

type factItem struct{ Name, Value string }

type packageVersionPage struct {
	page
	Owner, OwnerPath, Type, Name, Version, Created, Repository, RepositoryPath string
	Files                                                                      []fileItem
	PackagePath                                                                string
	// SettingsPath is the package's settings page, for writers only.
	SettingsPath                               string
	Description, License, Homepage, Deprecated string
	Dependencies                               []dependencyItem
	Facts                                      []factItem
	Yanked                                     bool
	Downloads                                  int64
	// Source is where a version registered from git comes from; the
	// repository only when the viewer may read it.
	SourceRepository, SourceRepositoryPath, SourceRef, SourceCommit string
	// Install is the format's install instructions
	// (templates/package/install_<type>.tmpl), rendered.
	Install template.HTML
}

// installData is what the install templates get.
type installData struct {
	RootURL, Owner, Type, Name, Version string
	// Registry is the owner's registry of the format:
	// ROOT_URL/api/packages/{owner}/{type}/ (trailing slash).
	Registry string
	// RegistryURL is Registry without the trailing slash.
	RegistryURL string
	// Scope is the part of the name before its slash (npm's @scope,
	// Composer's vendor); "" for a name without one.
	Scope string
	// Ident is the owner's name as an identifier client configs accept
	// (letters, digits, - and _).
	Ident string
	Files []fileItem
	// NeedsCredentials: the owner is not public, so the client must sign
	// in to read the registry.
	NeedsCredentials bool
	// PlainHTTP: ROOT_URL is http (Composer refuses it unless told).
	PlainHTTP bool
}

// packageVersion shows one version: its files as download links, the
// install instructions for this instance, its details and marks.
func (h *Handler) packageVersion(w http.ResponseWriter, r *http.Request, a *packages_service.Access, t packages_model.Type, name, version string) error {
	ctx := r.Context()
	pkg, pv, err := h.d.Packages.GetVersion(ctx, a, t, name, version)
	if err != nil {
		return err
	}
	d, err := h.d.Packages.DescribeVersion(ctx, a.Doer, pkg, pv, common.Allows(ctx, scope.Repository, scope.Read))
	if err != nil {
		return err
	}
	registry := h.d.RootURL + "api/packages/" + url.PathEscape(a.Owner.Name) + "/" + url.PathEscape(string(t)) + "/"
	p := packageVersionPage{page: h.page(r, pkg.Name+" "+pv.Version), Owner: a.Owner.Name, OwnerPath: ownerPath(a.Owner.Name),
		Type: string(t), Name: pkg.Name, Version: pv.Version, Created: day(pv.CreatedUnix), PackagePath: packagePath(a.Owner.Name, t, pkg.Name),
		Description: d.Details.Description, License: d.Details.License, Homepage: safeWebsite(d.Details.Homepage),
		Deprecated: d.Details.Deprecated, Yanked: d.Yanked, Downloads: pv.DownloadCount, SettingsPath: settingsPath(a, t, pkg.Name)}
	if d.Repository != nil {
		p.Repository, p.RepositoryPath = d.Repository.Repo.FullName(), repoPath(d.Repository.Repo.OwnerName, d.Repository.Repo.Name)
	}
	if src := d.Details.Source; src != nil {
		p.SourceRef, p.SourceCommit = src.Ref, src.Commit
		if rc := d.SourceRepository; rc != nil {
			p.SourceRepository, p.SourceRepositoryPath = rc.Repo.FullName(), repoPath(rc.Repo.OwnerName, rc.Repo.Name)
		}
	}
	for _, dep := range d.Details.Dependencies {
		p.Dependencies = append(p.Dependencies, dependencyItem(dep))
	}
	for _, f := range d.Details.Facts {
		p.Facts = append(p.Facts, factItem(f))
	}
	for _, f := range d.Files {
		p.Files = append(p.Files, fileItem{Name: f.PackageFile.Name, SHA256: f.Blob.HashSHA256, Size: f.Blob.Size,
			URL: registry + d.FilePaths[f.PackageFile.ID], WebURL: h.d.RootURL + filePath(a.Owner.Name, t, pkg.Name, pv.Version, f.PackageFile.ID)})
	}
	for _, f := range d.Pending {
		item := fileItem{Name: f.Name, URL: registry + f.Path, Pending: true}
		if a.Owner.Visibility == user_model.VisibilityPublic {
			// The registry builds it on the first download. It reads no
			// browser session, so for an owner that is not public the
			// page links nothing (the install lines say how to fetch it).
			item.WebURL = item.URL
		}
		p.Files = append(p.Files, item)
	}
	in := installData{RootURL: h.d.RootURL, Owner: a.Owner.Name, Type: string(t), Name: pkg.Name, Version: pv.Version,
		Registry: registry, RegistryURL: strings.TrimSuffix(registry, "/"), Ident: ident(a.Owner.Name), Files: p.Files,
		NeedsCredentials: a.Owner.Visibility != user_model.VisibilityPublic, PlainHTTP: strings.HasPrefix(h.d.RootURL, "http://")}
	if s, _, ok := strings.Cut(pkg.Name, "/"); ok {
		in.Scope = s
	}
	if p.Install, err = h.installFor(in); err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "package", p)
}

// installFor renders the format's install template, chosen by name
// (package/install_<type>); a format without one gets the generic
// download instructions.
func (h *Handler) installFor(in installData) (template.HTML, error) {
	name := "package/install_" + in.Type
	if h.tmpl.Lookup(name) == nil {
		name = "package/install_generic"
	}
	var buf bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&buf, name, in); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil // #nosec G203 -- html/template output
}

// ident maps a name to the characters identifiers in client
// configurations take (cargo's registry names: letters, digits, -, _,
// starting with a letter).
func ident(s string) string {
	id := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '-'
	}, s)
	if id == "" || !(id[0] >= 'a' && id[0] <= 'z' || id[0] >= 'A' && id[0] <= 'Z') {
		id = "wharf-" + id
	}
	return id
}
