package packages

import (
	"context"
	"fmt"
	"strings"

	"xorm.io/builder"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// PackageVersion is one version of a package.
type PackageVersion struct {
	ID            int64  `xorm:"pk autoincr"`
	PackageID     int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	CreatorID     int64  `xorm:"NOT NULL DEFAULT 0"`
	Version       string `xorm:"VARCHAR(255) NOT NULL"`
	LowerVersion  string `xorm:"VARCHAR(255) UNIQUE(s) INDEX NOT NULL"`
	MetadataJSON  string `xorm:"TEXT"`
	DownloadCount int64  `xorm:"NOT NULL DEFAULT 0"`
	CreatedUnix   int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
}

// ErrVersionExists is returned when the version is already there.
var ErrVersionExists = apperr.New(apperr.Conflict, "package version already exists")

// ErrVersionNotExist is returned for an unknown version.
var ErrVersionNotExist = apperr.New(apperr.NotFound, "package version does not exist")

// InsertVersion inserts v; an existing version is ErrVersionExists.
func InsertVersion(ctx context.Context, e db.Engine, v *PackageVersion) error {
	v.LowerVersion = strings.ToLower(v.Version)
	if _, err := e.Context(ctx).Insert(v); err != nil {
		if db.IsUniqueViolation(err) {
			return ErrVersionExists
		}
		return fmt.Errorf("insert package version: %w", err)
	}
	return nil
}

// GetOrInsertVersion returns the version, inserting v if there is none;
// created reports whether this call inserted it.
func GetOrInsertVersion(ctx context.Context, e db.Engine, v *PackageVersion) (pv *PackageVersion, created bool, err error) {
	v.LowerVersion = strings.ToLower(v.Version)
	res, err := e.Context(ctx).Exec("INSERT INTO package_version (package_id, creator_id, version, lower_version, metadata_json, download_count, created_unix) VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT (package_id, lower_version) DO NOTHING",
		v.PackageID, v.CreatorID, v.Version, v.LowerVersion, v.MetadataJSON, v.CreatedUnix)
	if err != nil {
		return nil, false, fmt.Errorf("insert package version: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, err
	}
	pv, err = GetVersion(ctx, e, v.PackageID, v.Version)
	return pv, n > 0, err
}

// GetVersion finds a version of a package (case-insensitively).
func GetVersion(ctx context.Context, e db.Engine, packageID int64, version string) (*PackageVersion, error) {
	v := &PackageVersion{}
	has, err := e.Context(ctx).Where("package_id = ? AND lower_version = ?", packageID, strings.ToLower(version)).Get(v)
	if err != nil {
		return nil, fmt.Errorf("get package version: %w", err)
	}
	if !has {
		return nil, ErrVersionNotExist
	}
	return v, nil
}

// ListVersions returns every version of a package (newest first by
// upload; callers sort by the type's version rules).
func ListVersions(ctx context.Context, e db.Engine, packageID int64) ([]*PackageVersion, error) {
	var vs []*PackageVersion
	if err := e.Context(ctx).Where("package_id = ?", packageID).Desc("id").Find(&vs); err != nil {
		return nil, fmt.Errorf("list package versions: %w", err)
	}
	return vs, nil
}

// CountVersions counts the versions of a package.
func CountVersions(ctx context.Context, e db.Engine, packageID int64) (int64, error) {
	return e.Context(ctx).Where("package_id = ?", packageID).Count(new(PackageVersion))
}

// IncrementDownloads adds one download to a version.
func IncrementDownloads(ctx context.Context, e db.Engine, versionID int64) error {
	_, err := e.Context(ctx).Exec("UPDATE package_version SET download_count = download_count + 1 WHERE id = ?", versionID)
	return err
}

// UpdateVersionMetadata replaces a version's metadata.
func UpdateVersionMetadata(ctx context.Context, e db.Engine, versionID int64, metadataJSON string) error {
	_, err := e.Context(ctx).Table(new(PackageVersion)).Where("id = ?", versionID).Update(map[string]any{"metadata_json": metadataJSON})
	return err
}

// DeleteVersionByID removes the row.
func DeleteVersionByID(ctx context.Context, e db.Engine, id int64) error {
	_, err := e.Context(ctx).ID(id).Delete(new(PackageVersion))
	return err
}

// SearchOptions filters SearchVersions.
type SearchOptions struct {
	db.ListOptions
	OwnerID int64
	Type    Type   // "" for every type
	Query   string // part of the package name
}

// VersionRow is a version with its package.
type VersionRow struct {
	PackageVersion `xorm:"extends"`
	Package        Package `xorm:"extends"`
}

// TableName makes xorm read the joined row from package_version.
func (VersionRow) TableName() string { return "package_version" }

// SearchVersions returns one page of an owner's package versions with
// their packages, by package name then newest first, and the total: two
// queries, whatever the page size.
func SearchVersions(ctx context.Context, e db.Engine, opts SearchOptions) ([]*VersionRow, int64, error) {
	cond := builder.NewCond().And(builder.Eq{"package.owner_id": opts.OwnerID})
	if opts.Type != "" {
		cond = cond.And(builder.Eq{"package.type": opts.Type})
	}
	if opts.Query != "" {
		cond = cond.And(builder.Like{"package.lower_name", strings.ToLower(opts.Query)})
	}
	join := "package_version.package_id = package.id"
	total, err := e.Context(ctx).Table("package_version").Join("INNER", "package", join).Where(cond).Count()
	if err != nil {
		return nil, 0, fmt.Errorf("count package versions: %w", err)
	}
	rows := make([]*VersionRow, 0, opts.PageSize)
	err = e.Context(ctx).Table("package_version").Join("INNER", "package", join).Where(cond).
		OrderBy("package.lower_name ASC, package_version.id DESC").Limit(opts.PageSize, opts.Offset()).Find(&rows)
	if err != nil {
		return nil, 0, fmt.Errorf("search package versions: %w", err)
	}
	return rows, total, nil
}

// CountVersionsOf counts every version of an owner's packages (the
// LIMIT_TOTAL_OWNER_COUNT quota).
func CountVersionsOf(ctx context.Context, e db.Engine, ownerID int64) (int64, error) {
	return e.Context(ctx).Table("package_version").Join("INNER", "package", "package_version.package_id = package.id").
		Where("package.owner_id = ?", ownerID).Count()
}

// GetVersionByID finds a version by id.
func GetVersionByID(ctx context.Context, e db.Engine, id int64) (*PackageVersion, error) {
	v := &PackageVersion{}
	has, err := e.Context(ctx).ID(id).Get(v)
	if err != nil {
		return nil, fmt.Errorf("get package version: %w", err)
	}
	if !has {
		return nil, ErrVersionNotExist
	}
	return v, nil
}

// ListVersionHeadsOf returns every version of many packages without their
// metadata (id, package, version string, downloads, upload time), in one
// query: enough to order them by the format's rules and pick the latest.
func ListVersionHeadsOf(ctx context.Context, e db.Engine, packageIDs []int64) ([]*PackageVersion, error) {
	vs := []*PackageVersion{}
	if len(packageIDs) == 0 {
		return vs, nil
	}
	err := e.Context(ctx).Cols("id", "package_id", "creator_id", "version", "lower_version", "download_count", "created_unix").
		In("package_id", packageIDs).Find(&vs)
	if err != nil {
		return nil, fmt.Errorf("list package versions: %w", err)
	}
	return vs, nil
}

// GetVersionsByIDs loads versions (with their metadata) by id, in one
// query.
func GetVersionsByIDs(ctx context.Context, e db.Engine, ids []int64) (map[int64]*PackageVersion, error) {
	return db.FindByIDs(ctx, e, ids, func(v *PackageVersion) int64 { return v.ID })
}
