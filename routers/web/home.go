package web

import (
	"net/http"

	"wharf/modules/scope"
	"wharf/routers/common"
	repo_service "wharf/services/repository"
)

// homeListSize is how many recent repositories and packages the home page
// shows.
const homeListSize = 10

type homePage struct {
	page
	// ShowInstance: the viewer is an administrator, who sees the counts
	// and the database.
	ShowInstance bool
	DBType       string
	Users, Orgs  int64
	// Repos and Packages are the most recently changed ones the visitor
	// may see; ReposHidden/PackagesHidden: a token without the scope.
	Repos                       []repoItem
	Packages                    []packageItem
	ReposHidden, PackagesHidden bool
}

// home shows what the visitor may see: recent repositories and packages,
// and how to use the instance.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	doer := common.Doer(ctx)
	p := homePage{page: h.page(r, "Home")}
	// How many accounts exist (private organisations included) and the
	// database are the administrators' business.
	if doer != nil && doer.IsAdmin {
		users, orgs, err := h.d.Users.Counts(ctx)
		if err != nil {
			return err
		}
		p.DBType, p.Users, p.Orgs, p.ShowInstance = h.d.DBType, users, orgs, true
	}
	if common.Allows(ctx, scope.Repository, scope.Read) {
		rcs, _, err := h.d.Repos.Search(ctx, doer, repo_service.SearchOptions{ListOptions: firstPage(homeListSize), Recent: true})
		if err != nil {
			return err
		}
		p.Repos = repoItems(rcs, true)
	} else {
		p.ReposHidden = true
	}
	if common.Allows(ctx, scope.Package, scope.Read) {
		sums, err := h.d.Packages.RecentPackages(ctx, doer, homeListSize)
		if err != nil {
			return err
		}
		p.Packages = packageItems(sums)
	} else {
		p.PackagesHidden = true
	}
	return h.render(w, http.StatusOK, "home", p)
}

func repoItems(rcs []*repo_service.Context, withOwner bool) []repoItem {
	items := make([]repoItem, 0, len(rcs))
	for _, rc := range rcs {
		it := repoItem{Name: rc.Repo.Name, Path: repoPath(rc.Repo.OwnerName, rc.Repo.Name), Description: rc.Repo.Description, Private: rc.Repo.IsPrivate}
		if withOwner {
			it.Owner = rc.Repo.OwnerName
		}
		if rc.Repo.UpdatedUnix > 0 {
			it.Updated = day(rc.Repo.UpdatedUnix)
		}
		items = append(items, it)
	}
	return items
}
