package npm

import (
	"context"

	"wharf/models/db"
)

// DistTagsOfPackages returns the tags of several packages in one query:
// package id → tag → version id (a package without tags is missing).
func DistTagsOfPackages(ctx context.Context, e db.Engine, packageIDs []int64) (map[int64]map[string]int64, error) {
	out := make(map[int64]map[string]int64, len(packageIDs))
	if len(packageIDs) == 0 {
		return out, nil
	}
	var rows []*DistTag
	if err := e.Context(ctx).In("package_id", packageIDs).Find(&rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		if out[r.PackageID] == nil {
			out[r.PackageID] = map[string]int64{}
		}
		out[r.PackageID][r.Tag] = r.VersionID
	}
	return out, nil
}
