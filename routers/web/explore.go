package web

import (
	"net/http"

	"wharf/models/db"
	user_model "wharf/models/user"
	"wharf/modules/scope"
	"wharf/routers/common"
	repo_service "wharf/services/repository"
)

func firstPage(n int) db.ListOptions { return db.ListOptions{Page: 1, PageSize: n} }

type exploreReposPage struct {
	page
	Query string
	Repos []repoItem
	Pager pager
}

// exploreRepos lists the repositories the visitor may read, across owners,
// recently changed first; ?q= searches names.
func (h *Handler) exploreRepos(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := common.CheckScope(ctx, scope.Repository, scope.Read); err != nil {
		return err
	}
	opts := pageOptions(r)
	q := r.URL.Query().Get("q")
	rcs, total, err := h.d.Repos.Search(ctx, common.Doer(ctx), repo_service.SearchOptions{ListOptions: opts, Query: q, Recent: true})
	if err != nil {
		return err
	}
	p := exploreReposPage{page: h.page(r, "Explore repositories"), Query: q, Repos: repoItems(rcs, true)}
	p.Pager = h.listPager(r, "explore/repos", opts, total)
	return h.render(w, http.StatusOK, "explore/repos", p)
}

type ownerItem struct {
	Name, Path, FullName, Description, Visibility string
}

type exploreOrgsPage struct {
	page
	Orgs  []ownerItem
	Pager pager
}

// exploreOrgs lists the organisations the visitor may see.
func (h *Handler) exploreOrgs(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := common.CheckScope(ctx, scope.Organization, scope.Read); err != nil {
		return err
	}
	opts := pageOptions(r)
	orgs, total, err := h.d.Orgs.ListVisible(ctx, common.Doer(ctx), opts)
	if err != nil {
		return err
	}
	p := exploreOrgsPage{page: h.page(r, "Explore organisations"), Orgs: ownerItems(orgs)}
	p.Pager = h.listPager(r, "explore/organizations", opts, total)
	return h.render(w, http.StatusOK, "explore/organizations", p)
}

func ownerItems(us []*user_model.User) []ownerItem {
	items := make([]ownerItem, 0, len(us))
	for _, u := range us {
		items = append(items, ownerItem{Name: u.Name, Path: ownerPath(u.Name), FullName: u.FullName, Description: u.Description, Visibility: u.Visibility.String()})
	}
	return items
}
