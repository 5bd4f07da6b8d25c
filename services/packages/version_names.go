package packages

import (
	"context"

	packages_model "wharf/models/packages"
)

// NewestVersionNames returns at most limit version strings of p, newest
// first, and how many versions p has: what a form offers to choose from,
// whatever the number of versions.
func (s *Service) NewestVersionNames(ctx context.Context, p *packages_model.Package, limit int) ([]string, int64, error) {
	e := s.d.DB.Engine()
	names, err := packages_model.ListNewestVersionNames(ctx, e, p.ID, limit)
	if err != nil {
		return nil, 0, err
	}
	n, err := packages_model.CountVersions(ctx, e, p.ID)
	if err != nil {
		return nil, 0, err
	}
	return names, n, nil
}
