// Package packages holds the registry's five tables: packages, their
// versions, files, content blobs and properties.
package packages

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"xorm.io/builder"
	"xorm.io/xorm"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// Type is a registry format.
type Type string

// The formats. Adding one adds a constant here.
const (
	TypeGeneric  Type = "generic"
	TypeNpm      Type = "npm"
	TypeComposer Type = "composer"
	TypeCargo    Type = "cargo"
	TypeRubyGems Type = "rubygems"
	TypeGo       Type = "go"
)

// Types lists every format.
var Types = []Type{TypeGeneric, TypeNpm, TypeComposer, TypeCargo, TypeRubyGems, TypeGo}

// ParseType reads a format name.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if string(t) == s {
			return t, nil
		}
	}
	return "", apperr.New(apperr.Invalid, "unknown package type %q", s)
}

// Package is a named package of an owner.
type Package struct {
	ID          int64  `xorm:"pk autoincr"`
	OwnerID     int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Type        Type   `xorm:"VARCHAR(32) UNIQUE(s) INDEX NOT NULL"`
	Name        string `xorm:"VARCHAR(255) NOT NULL"`
	LowerName   string `xorm:"VARCHAR(255) UNIQUE(s) INDEX NOT NULL"`
	RepoID      int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
	CreatedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
	// Stamp counts the transactions that changed the package: each one
	// takes the package's lock (LockPackage), which moves it. Documents
	// kept in memory are keyed by it; it comes from the database, so every
	// process sharing the database sees the same.
	Stamp int64 `xorm:"NOT NULL DEFAULT 0"`
}

// ErrPackageNotExist is returned for an unknown package.
var ErrPackageNotExist = apperr.New(apperr.NotFound, "package does not exist")

// GetOrInsertPackage returns the owner's package of that type and name,
// inserting it if there is none. Concurrent callers get the same row:
// the insert does nothing on conflict and the row is read afterwards.
func GetOrInsertPackage(ctx context.Context, e db.Engine, p *Package) (*Package, error) {
	p.LowerName = strings.ToLower(p.Name)
	_, err := e.Context(ctx).Exec("INSERT INTO package (owner_id, type, name, lower_name, repo_id, created_unix) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (owner_id, type, lower_name) DO NOTHING",
		p.OwnerID, p.Type, p.Name, p.LowerName, p.RepoID, p.CreatedUnix)
	if err != nil {
		return nil, fmt.Errorf("insert package: %w", err)
	}
	return GetPackageByName(ctx, e, p.OwnerID, p.Type, p.Name)
}

// GetPackageByName finds a package by owner, type and name
// (case-insensitively).
func GetPackageByName(ctx context.Context, e db.Engine, ownerID int64, t Type, name string) (*Package, error) {
	// Plain SQL: every package request makes this lookup (db.QueryRow).
	p := &Package{}
	err := db.QueryRow(ctx, e, "SELECT id, owner_id, type, name, lower_name, repo_id, created_unix, stamp FROM package WHERE owner_id = ? AND type = ? AND lower_name = ?",
		ownerID, string(t), strings.ToLower(name)).Scan(&p.ID, &p.OwnerID, &p.Type, &p.Name, &p.LowerName, &p.RepoID, &p.CreatedUnix, &p.Stamp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrPackageNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("get package: %w", err)
	}
	return p, nil
}

// GetPackageByID finds a package by id.
func GetPackageByID(ctx context.Context, e db.Engine, id int64) (*Package, error) {
	p := &Package{}
	has, err := e.Context(ctx).ID(id).Get(p)
	if err != nil {
		return nil, fmt.Errorf("get package: %w", err)
	}
	if !has {
		return nil, ErrPackageNotExist
	}
	return p, nil
}

// SetRepositoryLink links the package to a repository (0 unlinks).
func SetRepositoryLink(ctx context.Context, e db.Engine, packageID, repoID int64) error {
	_, err := e.Context(ctx).Table(new(Package)).Where("id = ?", packageID).Update(map[string]any{"repo_id": repoID})
	return err
}

// UnlinkRepository clears every link to a repository (it is being deleted).
func UnlinkRepository(ctx context.Context, e db.Engine, repoID int64) error {
	_, err := e.Context(ctx).Table(new(Package)).Where("repo_id = ?", repoID).Update(map[string]any{"repo_id": 0})
	return err
}

// DeletePackageByID removes the row.
func DeletePackageByID(ctx context.Context, e db.Engine, id int64) error {
	_, err := e.Context(ctx).ID(id).Delete(new(Package))
	return err
}

// CountPackagesOf counts an owner's packages, for deletion checks.
func CountPackagesOf(ctx context.Context, e db.Engine, ownerID int64) (int64, error) {
	return e.Context(ctx).Where("owner_id = ?", ownerID).Count(new(Package))
}

// SearchPackages returns one page of an owner's packages of a type whose
// name contains query, by name, and the total.
func SearchPackages(ctx context.Context, e db.Engine, ownerID int64, t Type, query string, limit, offset int) ([]*Package, int64, error) {
	q := func() *xorm.Session {
		s := e.Context(ctx).Where("owner_id = ? AND type = ?", ownerID, t)
		if query != "" {
			s = s.And(builder.Like{"lower_name", strings.ToLower(query)})
		}
		return s
	}
	total, err := q().Count(new(Package))
	if err != nil {
		return nil, 0, err
	}
	var ps []*Package
	err = q().OrderBy("lower_name").Limit(limit, offset).Find(&ps)
	return ps, total, err
}

// ListVersionsOf returns every version of many packages, in one query.
func ListVersionsOf(ctx context.Context, e db.Engine, packageIDs []int64) ([]*PackageVersion, error) {
	var vs []*PackageVersion
	if len(packageIDs) == 0 {
		return vs, nil
	}
	err := e.Context(ctx).In("package_id", packageIDs).Find(&vs)
	return vs, err
}

// InstanceSearchOptions filters SearchScopedPackages.
type InstanceSearchOptions struct {
	Type         Type
	Query        string
	Limit        int
	Offset       int
	ViewerID     int64 // 0: anonymous
	ViewerAdmin  bool
	ViewerOrgIDs []int64
}

// SearchScopedPackages finds, across owners the viewer may see, packages
// named "@<owner name>/…" exactly (the instance-level npm convention), by
// name, and the total.
func SearchScopedPackages(ctx context.Context, e db.Engine, o InstanceSearchOptions) ([]*Package, int64, error) {
	cond := builder.NewCond().And(builder.Eq{"package.type": o.Type}).
		And(builder.Expr("package.name LIKE ('@' || u.name || '/%')"))
	if o.Query != "" {
		cond = cond.And(builder.Like{"package.lower_name", strings.ToLower(o.Query)})
	}
	if !o.ViewerAdmin {
		visible := builder.Or(builder.Eq{"u.visibility": 0})
		if o.ViewerID > 0 {
			visible = visible.Or(builder.Eq{"u.visibility": 1}, builder.Eq{"u.id": o.ViewerID})
			if len(o.ViewerOrgIDs) > 0 {
				visible = visible.Or(builder.In("u.id", o.ViewerOrgIDs))
			}
		}
		cond = cond.And(visible)
	}
	q := func() *xorm.Session {
		return e.Context(ctx).Table("package").Join("INNER", []string{"user", "u"}, "u.id = package.owner_id").Where(cond)
	}
	total, err := q().Count()
	if err != nil {
		return nil, 0, fmt.Errorf("count packages: %w", err)
	}
	var ps []*Package
	if err := q().Select("package.*").OrderBy("package.lower_name").Limit(o.Limit, o.Offset).Find(&ps); err != nil {
		return nil, 0, fmt.Errorf("search packages: %w", err)
	}
	return ps, total, nil
}

// Viewer says whose view a cross-owner listing takes: the packages of
// owners that viewer may see (public owners to everyone, limited ones to
// signed-in users, private ones to themselves, their organisations'
// members and admins), the rule of user_service.CanSee in SQL.
type Viewer struct {
	ID     int64 // 0: anonymous
	Admin  bool
	OrgIDs []int64 // the organisations the viewer belongs to
}

// visibleOwners is the condition on the owner joined as alias that viewer
// may see it.
func (v Viewer) visibleOwners(alias string) builder.Cond {
	if v.Admin {
		return builder.NewCond()
	}
	visible := builder.Or(builder.Eq{alias + ".visibility": 0})
	if v.ID > 0 {
		visible = visible.Or(builder.Eq{alias + ".visibility": 1}, builder.Eq{alias + ".id": v.ID})
		if len(v.OrgIDs) > 0 {
			visible = visible.Or(builder.In(alias+".id", v.OrgIDs))
		}
	}
	return visible
}

// lastVersionUnix orders packages by their newest version's upload.
const lastVersionUnix = "(SELECT MAX(pv.created_unix) FROM package_version pv WHERE pv.package_id = package.id)"

// ListRecentPackages returns the packages of owners viewer may see whose
// newest version is the most recent, newest first (the home page). A
// package without versions is left out.
func ListRecentPackages(ctx context.Context, e db.Engine, v Viewer, limit int) ([]*Package, error) {
	cond := builder.NewCond().And(v.visibleOwners("u")).
		And(builder.Expr("EXISTS (SELECT 1 FROM package_version pv WHERE pv.package_id = package.id)"))
	var ps []*Package
	err := e.Context(ctx).Table("package").Join("INNER", []string{"user", "u"}, "u.id = package.owner_id").Where(cond).
		Select("package.*").OrderBy(lastVersionUnix + " DESC, package.id DESC").Limit(limit).Find(&ps)
	if err != nil {
		return nil, fmt.Errorf("list recent packages: %w", err)
	}
	return ps, nil
}

// OwnerPackagesOptions filters SearchOwnerPackages.
type OwnerPackagesOptions struct {
	db.ListOptions
	OwnerID int64
	Type    Type   // "" for every type
	Query   string // part of the name, case-insensitively
}

// SearchOwnerPackages returns one page of an owner's packages, by name and
// type, and the total: two queries.
func SearchOwnerPackages(ctx context.Context, e db.Engine, o OwnerPackagesOptions) ([]*Package, int64, error) {
	cond := builder.NewCond().And(builder.Eq{"owner_id": o.OwnerID})
	if o.Type != "" {
		cond = cond.And(builder.Eq{"type": o.Type})
	}
	if o.Query != "" {
		cond = cond.And(builder.Like{"lower_name", strings.ToLower(o.Query)})
	}
	total, err := e.Context(ctx).Where(cond).Count(new(Package))
	if err != nil {
		return nil, 0, fmt.Errorf("count packages: %w", err)
	}
	ps := make([]*Package, 0, o.PageSize)
	if err := e.Context(ctx).Where(cond).OrderBy("lower_name, type, id").Limit(o.PageSize, o.Offset()).Find(&ps); err != nil {
		return nil, 0, fmt.Errorf("search packages: %w", err)
	}
	return ps, total, nil
}

// RepoPackagesOptions filters SearchRepoPackages.
type RepoPackagesOptions struct {
	db.ListOptions
	RepoID int64
	// Viewer: only packages of owners the viewer may see (a package of
	// another owner may be linked to the repository).
	Viewer Viewer
}

// SearchRepoPackages returns one page of the packages linked to a
// repository whose owners the viewer may see, by name, and the total.
func SearchRepoPackages(ctx context.Context, e db.Engine, o RepoPackagesOptions) ([]*Package, int64, error) {
	cond := builder.NewCond().And(builder.Eq{"package.repo_id": o.RepoID}).And(o.Viewer.visibleOwners("u"))
	q := func() *xorm.Session {
		return e.Context(ctx).Table("package").Join("INNER", []string{"user", "u"}, "u.id = package.owner_id").Where(cond)
	}
	total, err := q().Count()
	if err != nil {
		return nil, 0, fmt.Errorf("count linked packages: %w", err)
	}
	ps := make([]*Package, 0, o.PageSize)
	if err := q().Select("package.*").OrderBy("package.lower_name, package.type, package.id").Limit(o.PageSize, o.Offset()).Find(&ps); err != nil {
		return nil, 0, fmt.Errorf("list linked packages: %w", err)
	}
	return ps, total, nil
}
