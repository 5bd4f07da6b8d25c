package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// VersionPropertiesOfPackages lists the properties named name of the
// versions of the packages packageIDs (oldest first), in one query whose
// bind variables grow with the packages, never with their versions: a
// package may have tens of thousands of versions, and an IN over their ids
// breaks SQLite's 32,766 and PostgreSQL's 65,535 variable limits.
func VersionPropertiesOfPackages(ctx context.Context, e db.Engine, packageIDs []int64, name string) ([]*PackageProperty, error) {
	ps := []*PackageProperty{}
	if len(packageIDs) == 0 {
		return ps, nil
	}
	err := e.Context(ctx).Table("package_property").Select("package_property.*").
		Join("INNER", "package_version", "package_version.id = package_property.ref_id").
		Where("package_property.ref_type = ? AND package_property.name = ?", PropertyTypeVersion, name).
		In("package_version.package_id", packageIDs).
		OrderBy("package_property.id").
		Find(&ps)
	if err != nil {
		return nil, fmt.Errorf("list version properties of packages: %w", err)
	}
	return ps, nil
}
