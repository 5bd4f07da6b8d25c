package repo

import (
	"context"
	"fmt"
	"strings"

	"xorm.io/builder"
	"xorm.io/xorm"

	"wharf/models/db"
)

// VisibleOptions filters SearchVisibleRepositories: the repositories of
// every owner that a viewer may read.
type VisibleOptions struct {
	db.ListOptions
	Query string // part of the name, case-insensitively
	// ViewerID is the viewer (0: anonymous); ViewerAdmin reads everything;
	// ViewerOrgIDs are the organisations the viewer belongs to (any role
	// reads all their repositories).
	ViewerID     int64
	ViewerAdmin  bool
	ViewerOrgIDs []int64
	// Recent orders by last update, newest first; else by owner and name.
	Recent bool
}

// cond is repository_service.Permission ≥ read in SQL: the viewer's own
// and their organisations' repositories, and the public repositories of
// owners the viewer may see (public owners to all, limited to signed-in
// users).
func (o VisibleOptions) cond() builder.Cond {
	cond := builder.NewCond()
	if o.Query != "" {
		cond = cond.And(builder.Like{"repository.lower_name", strings.ToLower(o.Query)})
	}
	if o.ViewerAdmin {
		return cond
	}
	public := builder.Eq{"u.visibility": 0}
	if o.ViewerID == 0 {
		return cond.And(builder.Eq{"repository.is_private": false}, public)
	}
	mine := builder.Or(builder.Eq{"repository.owner_id": o.ViewerID})
	if len(o.ViewerOrgIDs) > 0 {
		mine = mine.Or(builder.In("repository.owner_id", o.ViewerOrgIDs))
	}
	seen := builder.And(builder.Eq{"repository.is_private": false}, builder.In("u.visibility", 0, 1))
	return cond.And(builder.Or(mine, seen))
}

// SearchVisibleRepositories returns one page of the repositories a viewer
// may read, across owners, and the total: two queries.
func SearchVisibleRepositories(ctx context.Context, e db.Engine, o VisibleOptions) ([]*Repository, int64, error) {
	cond := o.cond()
	q := func() *xorm.Session {
		return e.Context(ctx).Table("repository").Join("INNER", []string{"user", "u"}, "u.id = repository.owner_id").Where(cond)
	}
	total, err := q().Count()
	if err != nil {
		return nil, 0, fmt.Errorf("count repositories: %w", err)
	}
	order := "u.lower_name, repository.lower_name"
	if o.Recent {
		order = "repository.updated_unix DESC, repository.id DESC"
	}
	repos := make([]*Repository, 0, o.PageSize)
	if err := q().Select("repository.*").OrderBy(order).Limit(o.PageSize, o.Offset()).Find(&repos); err != nil {
		return nil, 0, fmt.Errorf("search repositories: %w", err)
	}
	return repos, total, nil
}
