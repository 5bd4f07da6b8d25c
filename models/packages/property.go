package packages

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"wharf/models/db"
)

// PropertyType says what a property is attached to.
type PropertyType int

// The property owners.
const (
	PropertyTypeVersion PropertyType = 0
	PropertyTypeFile    PropertyType = 1
	PropertyTypePackage PropertyType = 2
)

// PackageProperty is a name/value pair on a package, version or file.
type PackageProperty struct {
	ID      int64        `xorm:"pk autoincr"`
	RefType PropertyType `xorm:"INDEX(ref) NOT NULL"`
	RefID   int64        `xorm:"INDEX(ref) NOT NULL"`
	Name    string       `xorm:"VARCHAR(255) INDEX NOT NULL"`
	Value   string       `xorm:"TEXT"`
}

// InsertProperty adds a property.
func InsertProperty(ctx context.Context, e db.Engine, t PropertyType, refID int64, name, value string) error {
	_, err := e.Context(ctx).Insert(&PackageProperty{RefType: t, RefID: refID, Name: name, Value: value})
	return err
}

// GetProperties lists the properties of one thing.
func GetProperties(ctx context.Context, e db.Engine, t PropertyType, refID int64) ([]*PackageProperty, error) {
	var ps []*PackageProperty
	err := e.Context(ctx).Where("ref_type = ? AND ref_id = ?", t, refID).OrderBy("id").Find(&ps)
	return ps, err
}

// DeleteProperties removes every property of the given things.
func DeleteProperties(ctx context.Context, e db.Engine, t PropertyType, refIDs ...int64) error {
	if len(refIDs) == 0 {
		return nil
	}
	_, err := e.Context(ctx).Where("ref_type = ?", t).In("ref_id", refIDs).Delete(new(PackageProperty))
	return err
}

// Tables lists this package's beans for schema checks.
func Tables() []any {
	return []any{new(Package), new(PackageVersion), new(PackageFile), new(PackageBlob), new(PackageProperty)}
}

// GetPropertiesOf lists the properties named name of many things, in one
// query.
func GetPropertiesOf(ctx context.Context, e db.Engine, t PropertyType, refIDs []int64, name string) ([]*PackageProperty, error) {
	var ps []*PackageProperty
	if len(refIDs) == 0 {
		return ps, nil
	}
	err := e.Context(ctx).Where("ref_type = ? AND name = ?", t, name).In("ref_id", refIDs).OrderBy("id").Find(&ps)
	return ps, err
}

// DeleteProperty removes the properties named name of one thing.
func DeleteProperty(ctx context.Context, e db.Engine, t PropertyType, refID int64, name string) error {
	_, err := e.Context(ctx).Where("ref_type = ? AND ref_id = ? AND name = ?", t, refID, name).Delete(new(PackageProperty))
	return err
}

// SetProperty replaces the properties named name of one thing with one
// value.
func SetProperty(ctx context.Context, e db.Engine, t PropertyType, refID int64, name, value string) error {
	if _, err := e.Context(ctx).Where("ref_type = ? AND ref_id = ? AND name = ?", t, refID, name).Delete(new(PackageProperty)); err != nil {
		return err
	}
	return InsertProperty(ctx, e, t, refID, name, value)
}

// GetProperty returns the value of one property ("" when unset). Warm
// document requests make it (Cargo's index reads its change time), so it
// is plain SQL (db.QueryRow).
func GetProperty(ctx context.Context, e db.Engine, t PropertyType, refID int64, name string) (string, error) {
	var v string
	err := db.QueryRow(ctx, e, "SELECT COALESCE(value, '') FROM package_property WHERE ref_type = ? AND ref_id = ? AND name = ? ORDER BY id DESC LIMIT 1",
		int(t), refID, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get property %s: %w", name, err)
	}
	return v, nil
}

// DeleteVersionPropertiesOfPackage removes the version properties with a
// name and value from every version of a package (moving a dist-tag).
func DeleteVersionPropertiesOfPackage(ctx context.Context, e db.Engine, packageID int64, name, value string) error {
	_, err := e.Context(ctx).Exec("DELETE FROM package_property WHERE ref_type = ? AND name = ? AND value = ? AND ref_id IN (SELECT id FROM package_version WHERE package_id = ?)",
		PropertyTypeVersion, name, value, packageID)
	return err
}

// RefIDsWithProperty lists the things of a type having a property with
// that exact value.
func RefIDsWithProperty(ctx context.Context, e db.Engine, t PropertyType, name, value string) ([]int64, error) {
	var ids []int64
	err := e.Context(ctx).Table(new(PackageProperty)).Where("ref_type = ? AND name = ? AND value = ?", t, name, value).Cols("ref_id").Find(&ids)
	return ids, err
}
