package packages

import (
	"context"
	"wharf/modules/validation"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
)

// requireAdmin refuses a doer who is not a site administrator.
func requireAdmin(doer *user_model.User) error {
	if doer == nil {
		return apperr.New(apperr.Unauthorized, "sign in required")
	}
	if !doer.IsAdmin {
		return apperr.New(apperr.Forbidden, "you must be a site administrator")
	}
	return nil
}

// textInput reports whether s may reach a query.
func textInput(s string) bool { return validation.StorableText(s) }

// checkPage refuses a page so far that its offset overflows.
func checkPage(opts db.ListOptions) error {
	if opts.PageSize <= 0 || opts.Offset() < 0 {
		return apperr.New(apperr.Invalid, "page %d is out of range", opts.Page)
	}
	return nil
}

// SiteCounts counts the instance's users, organisations, repositories and
// packages, for administrators.
func (s *Service) SiteCounts(ctx context.Context, doer *user_model.User) (*packages_model.SiteCounts, error) {
	if err := requireAdmin(doer); err != nil {
		return nil, err
	}
	return packages_model.CountSite(ctx, s.d.DB.Engine())
}

// AdminSearch filters the administrators' list of every package.
type AdminSearch struct {
	db.ListOptions
	// Owner keeps one owner's packages, by name ("": every owner).
	Owner string
	// Type keeps one format ("": every format).
	Type packages_model.Type
	// Query keeps packages whose name contains it.
	Query string
	// OwnerLimit is how many owners' totals to return, largest first.
	OwnerLimit int
}

// AdminPackages is one page of every owner's packages, with the owners'
// totals over everything the filter keeps.
type AdminPackages struct {
	Packages []*packages_model.AdminPackage
	Total    int64
	Owners   []*packages_model.OwnerTotal
}

// AdminSearchPackages lists every owner's packages matching o, with each
// package's size and number of versions, and the owners' totals, for
// administrators. An owner that does not exist matches nothing.
func (s *Service) AdminSearchPackages(ctx context.Context, doer *user_model.User, o AdminSearch) (*AdminPackages, error) {
	if err := requireAdmin(doer); err != nil {
		return nil, err
	}
	if err := checkPage(o.ListOptions); err != nil {
		return nil, err
	}
	if !textInput(o.Owner) || !textInput(o.Query) {
		return nil, apperr.New(apperr.Invalid, "the filters must be UTF-8 text without NUL bytes")
	}
	if o.Type != "" {
		if _, err := packages_model.ParseType(string(o.Type)); err != nil {
			return nil, err
		}
	}
	out := &AdminPackages{Packages: []*packages_model.AdminPackage{}, Owners: []*packages_model.OwnerTotal{}}
	q := &packages_model.AdminSearchOptions{Type: o.Type, Query: o.Query}
	if o.Owner != "" {
		owner, err := user_model.GetUserByName(ctx, s.d.DB.Engine(), o.Owner)
		if apperr.KindOf(err) == apperr.NotFound {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		q.OwnerID = owner.ID
	}
	e := s.d.DB.Engine()
	page := *q
	page.Limit, page.Offset = o.ListOptions.PageSize, o.ListOptions.Offset()
	var err error
	if out.Packages, out.Total, err = packages_model.AdminSearchPackages(ctx, e, &page); err != nil {
		return nil, err
	}
	totals := *q
	totals.Limit = o.OwnerLimit
	if totals.Limit <= 0 {
		totals.Limit = 50
	}
	if out.Owners, err = packages_model.AdminOwnerTotals(ctx, e, &totals); err != nil {
		return nil, err
	}
	return out, nil
}

// AdminSearchOwners lists every user (or organisation) whose name or full
// name contains keyword, private ones too, for administrators.
func (s *Service) AdminSearchOwners(ctx context.Context, doer *user_model.User, t user_model.Type, keyword string, opts db.ListOptions) ([]*user_model.User, int64, error) {
	if err := requireAdmin(doer); err != nil {
		return nil, 0, err
	}
	if err := checkPage(opts); err != nil {
		return nil, 0, err
	}
	if !textInput(keyword) {
		return nil, 0, apperr.New(apperr.Invalid, "the search keyword must be UTF-8 text without NUL bytes")
	}
	return user_model.SearchUsers(ctx, s.d.DB.Engine(), &user_model.SearchUserOptions{ListOptions: opts, Type: t, Keyword: keyword, ViewerAdmin: true})
}

// AdminCleanupRuns returns each cleanup task's newest n runs, for
// administrators.
func (s *Service) AdminCleanupRuns(ctx context.Context, doer *user_model.User, tasks []string, n int) (map[string][]*packages_model.CleanupRun, error) {
	if err := requireAdmin(doer); err != nil {
		return nil, err
	}
	return packages_model.LastCleanupRunsPerTask(ctx, s.d.DB.Engine(), tasks, n)
}
