package web

import (
	"html/template"
	"net/http"
	"strings"

	"wharf/modules/scope"
	"wharf/routers/common"
	repo_service "wharf/services/repository"
)

type repoPage struct {
	page
	Owner, OwnerPath, Name, Description, CloneURL, DefaultBranch string
	Empty                                                        bool
	// Tags newest first.
	Branches, Tags []string
	// Path is the repository's URL path; Tab the tab shown ("code",
	// "packages").
	Path, Tab string
	Private   bool
	// Readme is the README of the default branch, rendered and
	// sanitised (modules/markup).
	ReadmeName      string
	Readme          template.HTML
	ReadmeTruncated bool
}

func (h *Handler) repoContext(r *http.Request) (*repo_service.Context, error) {
	return h.d.Repos.Get(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"), strings.TrimSuffix(common.Param(r, "repo"), ".git"))
}

func (h *Handler) newRepoPage(r *http.Request, rc *repo_service.Context, title, tab string) repoPage {
	return repoPage{page: h.page(r, title), Owner: rc.Owner.Name, OwnerPath: ownerPath(rc.Owner.Name), Name: rc.Repo.Name,
		Description: rc.Repo.Description, CloneURL: h.d.Repos.CloneURL(rc.Repo), DefaultBranch: rc.Repo.DefaultBranch,
		Empty: rc.Repo.IsEmpty, Path: repoPath(rc.Owner.Name, rc.Repo.Name), Tab: tab, Private: rc.Repo.IsPrivate}
}

// repoHome shows a repository: how to clone it, its branches, its tags
// (newest first) and its README.
func (h *Handler) repoHome(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	p := h.newRepoPage(r, rc, rc.Repo.FullName(), "code")
	if !rc.Repo.IsEmpty {
		branches, err := h.d.Repos.Branches(ctx, rc)
		if err != nil {
			return err
		}
		for _, b := range branches {
			p.Branches = append(p.Branches, b.Name)
		}
		tags, err := h.d.Repos.TagsNewestFirst(ctx, rc)
		if err != nil {
			return err
		}
		for _, t := range tags {
			p.Tags = append(p.Tags, t.Name)
		}
		readme, err := h.d.Repos.Readme(ctx, rc, h.readmeOptions(rc.Owner.Name, rc.Repo.Name, rc.Repo.DefaultBranch))
		if err != nil {
			return err
		}
		if readme != nil {
			p.ReadmeName, p.Readme, p.ReadmeTruncated = readme.Name, readme.HTML, readme.Truncated
		}
	}
	return h.render(w, http.StatusOK, "repo", p)
}

type repoPackagesPage struct {
	repoPage
	Items []packageItem
	Pager pager
}

// repoPackages is the repository's Packages tab: the packages linked to
// it, of owners the caller may see (the caller reads the repository:
// repoContext checked).
func (h *Handler) repoPackages(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := common.CheckScope(ctx, scope.Package, scope.Read); err != nil {
		return err
	}
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	opts := pageOptions(r)
	sums, total, err := h.d.Packages.RepositoryPackages(ctx, common.Doer(ctx), rc, opts)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "repo/packages", repoPackagesPage{repoPage: h.newRepoPage(r, rc, rc.Repo.FullName()+" · Packages", "packages"),
		Items: packageItems(sums), Pager: h.pagerHere(r, opts, total)})
}
