package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// VersionIDsWithPropertyOfPackages lists the ids of the versions of the
// packages packageIDs that have a property named name, in one query whose
// bind variables grow with the packages, never with their versions (a
// package may have tens of thousands of versions: an IN over their ids
// breaks SQLite's 32,766 and PostgreSQL's 65,535 variable limits).
func VersionIDsWithPropertyOfPackages(ctx context.Context, e db.Engine, packageIDs []int64, name string) ([]int64, error) {
	ids := []int64{}
	if len(packageIDs) == 0 {
		return ids, nil
	}
	err := e.Context(ctx).Table("package_property").Distinct("package_property.ref_id").
		Join("INNER", "package_version", "package_version.id = package_property.ref_id").
		Where("package_property.ref_type = ? AND package_property.name = ?", PropertyTypeVersion, name).
		In("package_version.package_id", packageIDs).
		Find(&ids)
	if err != nil {
		return nil, fmt.Errorf("list version properties of packages: %w", err)
	}
	return ids, nil
}
