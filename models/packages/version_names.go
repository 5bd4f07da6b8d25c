package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// ListNewestVersionNames returns the version strings of a package, newest
// first, at most limit: a bounded list for a form to choose from.
func ListNewestVersionNames(ctx context.Context, e db.Engine, packageID int64, limit int) ([]string, error) {
	var vs []string
	if err := e.Context(ctx).Table(new(PackageVersion)).Where("package_id = ?", packageID).
		Desc("created_unix", "id").Limit(limit).Cols("version").Find(&vs); err != nil {
		return nil, fmt.Errorf("list newest versions of package %d: %w", packageID, err)
	}
	return vs, nil
}
