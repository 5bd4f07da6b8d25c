package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/scope"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
)

// browseRoutes mounts the pages that show things: home, explore, owners,
// repositories and packages, at Gitea's URLs.
//
// Package names may hold a slash (npm's @scope/name, Composer's
// vendor/name), encoded (%2F) or not, so the package pages are one
// wildcard under /{owner}/-/packages/{type}/ that splits the rest itself
// (packagePage). The package settings pages
// (/{owner}/-/packages/{type}/{name}/settings, mounted elsewhere) take
// precedence where chi's patterns match them, that is for a name without
// a raw slash: …/npm/@s%2Fw/settings is the settings of @s/w, and a
// version named "settings" has no page. A raw-slash name followed by
// /settings (…/composer/vendor/name/settings) is redirected to the
// encoded settings URL. The one ambiguous path, …/composer/vendor/settings,
// goes to the settings pattern (a package "vendor", which Composer cannot
// have); the package vendor/settings is reached by its encoded URL, the
// one every link here uses.
//
// A version's files download at Gitea's
// /{owner}/-/packages/{type}/{name}/{version}/files/{id} (same wildcard,
// see splitPackagePath) and a repository's files at Gitea's
// /{owner}/{repo}/raw/branch/{branch}/{path} (rawFile), both with the
// viewer's session, for the pages' own links.
func (h *Handler) browseRoutes(r chi.Router) {
	r.Get("/", h.handle(h.home))
	r.Get("/explore/repos", h.handle(h.exploreRepos))
	r.Get("/explore/organizations", h.handle(h.exploreOrgs))
	// The owner's scope depends on its type: checked in the handler.
	r.Get("/{owner}", h.handle(h.ownerHome))
	r.Group(func(r chi.Router) {
		r.Use(common.RequireScope(h.d.Log, h.writeError, scope.Package))
		r.Get("/{owner}/-/packages", h.handle(h.ownerPackages))
		r.Get("/{owner}/-/packages/{type}/*", h.handle(h.packagePage))
		// A file's download answers HEAD as the API's downloads do (not
		// counted); the pages' HEAD is their GET without a body.
		r.Head("/{owner}/-/packages/{type}/*", h.handle(h.packagePage))
	})
	r.Group(func(r chi.Router) {
		r.Use(common.RequireScope(h.d.Log, h.writeError, scope.Repository))
		r.Get("/{owner}/{repo}", h.handle(h.repoHome))
		r.Get("/{owner}/{repo}/packages", h.handle(h.repoPackages))
		r.Get("/{owner}/{repo}/raw/branch/*", h.handle(h.rawFile))
		r.Head("/{owner}/{repo}/raw/branch/*", h.handle(h.rawFile))
	})
}

// Page sizes: Gitea's default and largest for ?limit=.
const (
	defaultPageSize = 20
	maxPageSize     = 50
)

// pageOptions reads Gitea's ?page= (from 1) and ?limit= (default 20, at
// most 50).
func pageOptions(r *http.Request) db.ListOptions {
	opts := listOptions(r, defaultPageSize)
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		opts.PageSize = min(n, maxPageSize)
	}
	return opts
}

// ownerPath is an owner's URL path (escaped, no leading slash).
func ownerPath(owner string) string { return url.PathEscape(owner) }

// repoPath is a repository's URL path.
func repoPath(owner, repo string) string { return url.PathEscape(owner) + "/" + url.PathEscape(repo) }

// packagePath is a package's page, with the name as one escaped segment
// (its slash as %2F: the form that is never ambiguous).
func packagePath(owner string, t packages_model.Type, name string) string {
	return url.PathEscape(owner) + "/-/packages/" + url.PathEscape(string(t)) + "/" + url.PathEscape(name)
}

// versionPath is a version's page.
func versionPath(owner string, t packages_model.Type, name, version string) string {
	return packagePath(owner, t, name) + "/" + url.PathEscape(version)
}

// filePath is the web download of a version's file (Gitea's
// /{owner}/-/packages/{type}/{name}/{version}/files/{id}).
func filePath(owner string, t packages_model.Type, name, version string, fileID int64) string {
	return versionPath(owner, t, name, version) + "/files/" + strconv.FormatInt(fileID, 10)
}

// packageItem is a row of a package list: one package with its latest
// version.
type packageItem struct {
	Type, Name string
	// Version is the latest by the format's order; Path its page.
	Version, Path string
	// Created is the day of the newest upload.
	Created string
	// Owner and PackagePath: the owner and the package's page.
	Owner, OwnerPath, PackagePath string
	Versions                      int
	// Repository is the linked repository, shown only to who may read it.
	Repository, RepositoryPath string
}

func packageItems(sums []packages_service.PackageSummary) []packageItem {
	items := make([]packageItem, 0, len(sums))
	for _, s := range sums {
		it := packageItem{Type: string(s.Package.Type), Name: s.Package.Name, Owner: s.Owner.Name, OwnerPath: ownerPath(s.Owner.Name),
			PackagePath: packagePath(s.Owner.Name, s.Package.Type, s.Package.Name), Versions: s.Versions}
		if s.Latest != nil {
			it.Version, it.Path = s.Latest.Version, versionPath(s.Owner.Name, s.Package.Type, s.Package.Name, s.Latest.Version)
		}
		if s.Updated > 0 {
			it.Created = day(s.Updated)
		}
		if s.Repository != nil {
			it.Repository, it.RepositoryPath = s.Repository.Repo.FullName(), repoPath(s.Repository.Repo.OwnerName, s.Repository.Repo.Name)
		}
		items = append(items, it)
	}
	return items
}

// repoItem is a row of a repository list.
type repoItem struct {
	Name, Path, Description string
	Private                 bool
	// Owner is set in lists across owners; Updated is the last change.
	Owner, Updated string
}

// pathSegments splits the part of the URL a wildcard matched into its
// segments, each unescaped: an encoded slash (%2F) stays inside its
// segment.
func pathSegments(r *http.Request, rest string) ([]string, bool) {
	segs := strings.Split(rest, "/")
	if r.URL.RawPath == "" {
		// chi matched the decoded path: there was nothing to unescape.
		return segs, true
	}
	for i, s := range segs {
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = d
	}
	return segs, true
}
