package packages

import (
	"context"
	"fmt"
	"strings"

	"xorm.io/builder"
	"xorm.io/xorm"

	"wharf/models/db"
	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
)

// SiteCounts is what the administrators' dashboard counts.
type SiteCounts struct {
	Users, Orgs, Repos, Packages int64
}

// CountSite counts the instance's users, organisations, repositories and
// packages (four queries, whatever the instance's size).
func CountSite(ctx context.Context, e db.Engine) (*SiteCounts, error) {
	c := &SiteCounts{}
	var err error
	if c.Users, err = user_model.CountUsers(ctx, e, user_model.TypeIndividual); err != nil {
		return nil, fmt.Errorf("count users: %w", err)
	}
	if c.Orgs, err = user_model.CountUsers(ctx, e, user_model.TypeOrganization); err != nil {
		return nil, fmt.Errorf("count organisations: %w", err)
	}
	if c.Repos, err = e.Context(ctx).Count(new(repo_model.Repository)); err != nil {
		return nil, fmt.Errorf("count repositories: %w", err)
	}
	if c.Packages, err = e.Context(ctx).Count(new(Package)); err != nil {
		return nil, fmt.Errorf("count packages: %w", err)
	}
	return c, nil
}

// AdminSearchOptions filters the administrators' list of every package.
type AdminSearchOptions struct {
	// OwnerID keeps one owner's packages (0: every owner).
	OwnerID int64
	// Type keeps one format ("": every format).
	Type Type
	// Query keeps packages whose name contains it, case-insensitively.
	Query  string
	Limit  int
	Offset int
}

func (o *AdminSearchOptions) cond() builder.Cond {
	cond := builder.NewCond()
	if o.OwnerID > 0 {
		cond = cond.And(builder.Eq{"package.owner_id": o.OwnerID})
	}
	if o.Type != "" {
		cond = cond.And(builder.Eq{"package.type": o.Type})
	}
	if o.Query != "" {
		cond = cond.And(builder.Like{"package.lower_name", strings.ToLower(o.Query)})
	}
	return cond
}

// AdminPackage is a package with its owner's name, its number of versions
// and the bytes of its versions' files (a blob two files share counts
// twice, as for the owner's quota).
type AdminPackage struct {
	Package      `xorm:"extends"`
	OwnerName    string
	VersionCount int64
	Size         int64
}

// TableName makes xorm read the row from package.
func (AdminPackage) TableName() string { return "package" }

// packageSizeSQL sums the blob sizes of a package's files, correlated
// with the outer query's package row.
const packageSizeSQL = `(SELECT COALESCE(SUM(b.size), 0) FROM package_version v
	INNER JOIN package_file f ON f.version_id = v.id
	INNER JOIN package_blob b ON b.id = f.blob_id
	WHERE v.package_id = package.id)`

// AdminSearchPackages returns one page of every owner's packages that
// match o, by owner, type and name, with their owners, version counts
// and sizes, and the total: two queries, whatever the page holds.
func AdminSearchPackages(ctx context.Context, e db.Engine, o *AdminSearchOptions) ([]*AdminPackage, int64, error) {
	q := func() *xorm.Session {
		return e.Context(ctx).Table("package").Join("INNER", []string{"user", "u"}, "u.id = package.owner_id").Where(o.cond())
	}
	total, err := q().Count()
	if err != nil {
		return nil, 0, fmt.Errorf("count packages: %w", err)
	}
	ps := []*AdminPackage{}
	err = q().Select("package.*, u.name AS owner_name, "+
		"(SELECT COUNT(*) FROM package_version v WHERE v.package_id = package.id) AS version_count, "+
		packageSizeSQL+" AS size").
		OrderBy("u.lower_name, package.type, package.lower_name").Limit(o.Limit, o.Offset).Find(&ps)
	if err != nil {
		return nil, 0, fmt.Errorf("search packages: %w", err)
	}
	return ps, total, nil
}

// OwnerTotal is the packages of one owner and the bytes of their files.
type OwnerTotal struct {
	OwnerID   int64
	OwnerName string
	Packages  int64
	Size      int64
}

// AdminOwnerTotals sums, per owner, the packages that match o (its Limit
// and Offset page the owners) and their files' bytes, largest first (then
// by name): one query.
func AdminOwnerTotals(ctx context.Context, e db.Engine, o *AdminSearchOptions) ([]*OwnerTotal, error) {
	ts := []*OwnerTotal{}
	err := e.Context(ctx).Table("package").Join("INNER", []string{"user", "u"}, "u.id = package.owner_id").Where(o.cond()).
		Select("u.id AS owner_id, u.name AS owner_name, COUNT(*) AS packages, SUM("+packageSizeSQL+") AS size").
		GroupBy("u.id, u.name, u.lower_name").OrderBy("size DESC, u.lower_name").Limit(o.Limit, o.Offset).Find(&ts)
	if err != nil {
		return nil, fmt.Errorf("sum package sizes per owner: %w", err)
	}
	return ts, nil
}

// LastCleanupRunsPerTask returns, for each of the tasks, its newest n
// recorded runs, newest first: one query.
func LastCleanupRunsPerTask(ctx context.Context, e db.Engine, tasks []string, n int) (map[string][]*CleanupRun, error) {
	out := make(map[string][]*CleanupRun, len(tasks))
	if len(tasks) == 0 || n <= 0 {
		return out, nil
	}
	// Each task's runs numbered newest first, cut at n.
	ranked := builder.Select("package_cleanup_run.*", "ROW_NUMBER() OVER (PARTITION BY task ORDER BY id DESC) AS task_rank").
		From("package_cleanup_run").Where(builder.In("task", tasks))
	rs := []*CleanupRun{}
	err := e.Context(ctx).SQL(builder.Select("*").From(ranked, "ranked").Where(builder.Lte{"task_rank": n}).OrderBy("id DESC")).Find(&rs)
	if err != nil {
		return nil, fmt.Errorf("list cleanup runs: %w", err)
	}
	for _, r := range rs {
		out[r.Task] = append(out[r.Task], r)
	}
	return out, nil
}
