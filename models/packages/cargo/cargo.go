// Package cargo holds the Cargo registry's own queries and table: the
// crate-name rule ('-' and '_' are one, case does not count) and the
// optional git index of an owner.
package cargo

import (
	"context"
	"fmt"

	"wharf/models/db"
	packages_model "wharf/models/packages"
)

// Index records an owner's git index: the repository the system writes
// the index into. Its absence (or its repository's) means the owner has
// only the sparse index.
type Index struct {
	OwnerID     int64 `xorm:"pk"`
	RepoID      int64 `xorm:"INDEX NOT NULL"`
	CreatedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

// TableName is explicit: the table belongs to the cargo format.
func (Index) TableName() string { return "cargo_index" }

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(Index)} }

// GetIndex is the owner's git index record, nil when there is none.
func GetIndex(ctx context.Context, e db.Engine, ownerID int64) (*Index, error) {
	ix := &Index{}
	has, err := e.Context(ctx).Where("owner_id = ?", ownerID).Get(ix)
	if err != nil {
		return nil, fmt.Errorf("get cargo index of owner %d: %w", ownerID, err)
	}
	if !has {
		return nil, nil
	}
	return ix, nil
}

// SetIndex records the owner's git index repository (replacing an older
// record whose repository was deleted).
func SetIndex(ctx context.Context, e db.Engine, ix *Index) error {
	_, err := e.Context(ctx).Exec("INSERT INTO cargo_index (owner_id, repo_id, created_unix) VALUES (?, ?, ?) ON CONFLICT (owner_id) DO UPDATE SET repo_id = excluded.repo_id, created_unix = excluded.created_unix",
		ix.OwnerID, ix.RepoID, ix.CreatedUnix)
	return err
}

// DeleteIndex forgets the owner's git index.
func DeleteIndex(ctx context.Context, e db.Engine, ownerID int64) error {
	_, err := e.Context(ctx).Where("owner_id = ?", ownerID).Delete(new(Index))
	return err
}

// GetPackageByCanonicalName finds the owner's crate, other than the one
// with id exceptID (0: none), whose name equals canonical (CanonicalName:
// lower case, '-' as '_'), as crates.io keeps "foo-bar" and "Foo_Bar" one
// crate.
func GetPackageByCanonicalName(ctx context.Context, e db.Engine, ownerID int64, canonical string, exceptID int64) (*packages_model.Package, error) {
	p := &packages_model.Package{}
	has, err := e.Context(ctx).Where("owner_id = ? AND type = ? AND REPLACE(lower_name, '-', '_') = ? AND id <> ?", ownerID, packages_model.TypeCargo, canonical, exceptID).Get(p)
	if err != nil {
		return nil, fmt.Errorf("get crate %q: %w", canonical, err)
	}
	if !has {
		return nil, packages_model.ErrPackageNotExist
	}
	return p, nil
}

// ListVersionsInPublishOrder lists a crate's versions oldest first (the
// order of its index file's lines).
func ListVersionsInPublishOrder(ctx context.Context, e db.Engine, packageID int64) ([]*packages_model.PackageVersion, error) {
	var vs []*packages_model.PackageVersion
	if err := e.Context(ctx).Where("package_id = ?", packageID).Asc("id").Find(&vs); err != nil {
		return nil, fmt.Errorf("list crate versions: %w", err)
	}
	return vs, nil
}

// ListCrates lists every crate of an owner, by name.
func ListCrates(ctx context.Context, e db.Engine, ownerID int64) ([]*packages_model.Package, error) {
	var ps []*packages_model.Package
	if err := e.Context(ctx).Where("owner_id = ? AND type = ?", ownerID, packages_model.TypeCargo).Asc("lower_name").Find(&ps); err != nil {
		return nil, fmt.Errorf("list crates: %w", err)
	}
	return ps, nil
}
