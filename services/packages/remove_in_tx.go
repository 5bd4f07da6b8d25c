package packages

import (
	"context"

	"wharf/models/db"
	packages_model "wharf/models/packages"
)

// RemoveVersionInTx is RemoveVersion inside the caller's transaction, for
// a format that must remove several versions and update its own state
// (npm's dist-tags) all at once or not at all.
func (s *Service) RemoveVersionInTx(ctx context.Context, tx db.Engine, a *Access, pv *packages_model.PackageVersion) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return removeVersion(ctx, tx, pv)
}
