package web

import (
	"net/http"
	"net/url"
	"strings"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
)

type ownerPage struct {
	page
	Owner, OwnerPath, Description string
	FullName, Website, Location   string
	IsOrg                         bool
	Repos                         []repoItem
	// ReposHidden: the caller's token may not read repositories, so the
	// list is left out (the API's repository list answers 403 to it).
	ReposHidden bool
	Pager       pager
	// SettingsPath is the owner's package settings (the user's own, an
	// organisation's for its writers); "" for others.
	SettingsPath string
}

// ownerHome shows an owner and the repositories the caller may see, paged.
// A token needs the scope the API asks for the same data: read:user or
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
	p := ownerPage{page: h.page(r, owner.Name), Owner: owner.Name, OwnerPath: ownerPath(owner.Name), Description: owner.Description,
		FullName: owner.FullName, Website: safeWebsite(owner.Website), Location: owner.Location, IsOrg: owner.IsOrganization()}
	if viewer != nil {
		a, err := h.d.Packages.AccessTo(ctx, viewer, owner)
		if err != nil {
			return err
		}
		p.SettingsPath = ownerSettingsPath(a)
	}
	if !common.Allows(ctx, scope.Repository, scope.Read) {
		p.ReposHidden = true
		return h.render(w, http.StatusOK, "owner", p)
	}
	opts := pageOptions(r)
	rcs, total, err := h.d.Repos.ListForOwner(ctx, viewer, owner.Name, opts)
	if err != nil {
		return err
	}
	p.Repos = repoItems(rcs, false)
	p.Pager = h.listPager(r, ownerPath(owner.Name), opts, total)
	return h.render(w, http.StatusOK, "owner", p)
}

// ownerSettingsPath is the owner's package settings page for who may use
// it: a user's own /user/settings/packages (never another user's, even for
// an admin: that page is always the signed-in user's), an organisation's
// /org/{org}/settings/packages for its writers and admins; else "".
func ownerSettingsPath(a *packages_service.Access) string {
	switch {
	case a.Doer == nil || a.Mode < packages_service.ModeWrite:
		return ""
	case a.Owner.IsOrganization():
		return "org/" + url.PathEscape(a.Owner.Name) + "/settings/packages"
	case a.Owner.ID == a.Doer.ID:
		return "user/settings/packages"
	}
	return ""
}

// safeWebsite keeps a website only when it is an http(s) URL: a profile's
// link must not run script when followed.
func safeWebsite(s string) string {
	l := strings.ToLower(s)
	if strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		return s
	}
	return ""
}

type packagesPage struct {
	page
	Owner, OwnerPath string
	Items            []packageItem
	Total            int64
	// More: there are packages after this page.
	More bool
	// Types are the filter's choices; Type and Query what was asked.
	Types       []string
	Type, Query string
	Pager       pager
	// SettingsPath: see ownerPage.
	SettingsPath string
}

// ownerPackages lists an owner's packages, one row per package with its
// latest version by the format's order, filtered by ?type= and ?q=,
// paged by ?page= and ?limit=.
func (h *Handler) ownerPackages(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a, err := h.d.Packages.Access(ctx, common.Doer(ctx), common.Param(r, "owner"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var t packages_model.Type
	if s := q.Get("type"); s != "" {
		if t, err = packages_model.ParseType(s); err != nil {
			return apperr.New(apperr.Invalid, "unknown package type %q", s)
		}
	}
	opts := pageOptions(r)
	sums, total, err := h.d.Packages.SearchOwnerPackages(ctx, a, packages_service.OwnerPackagesOptions{ListOptions: opts, Type: t,
		Query: q.Get("q"), Repos: common.Allows(ctx, scope.Repository, scope.Read)})
	if err != nil {
		return err
	}
	p := packagesPage{page: h.page(r, a.Owner.Name+" · Packages"), Owner: a.Owner.Name, OwnerPath: ownerPath(a.Owner.Name),
		Items: packageItems(sums), Total: total, More: int64(opts.Offset()+len(sums)) < total, Type: string(t), Query: q.Get("q"),
		SettingsPath: ownerSettingsPath(a)}
	p.Pager = h.listPager(r, ownerPath(a.Owner.Name)+"/-/packages", opts, total)
	for _, t := range packages_model.Types {
		p.Types = append(p.Types, string(t))
	}
	return h.render(w, http.StatusOK, "packages", p)
}
