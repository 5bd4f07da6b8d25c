package npm

import (
	"context"
	"encoding/json"
	"slices"

	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	packages_module "wharf/modules/packages"
	packages_service "wharf/services/packages"
)

// SearchResult is one package of a search.
type SearchResult struct {
	Name        string
	Version     string
	Description string
	Keywords    []string
	Date        int64
	Publisher   *user_model.User
}

// Search finds the owner's packages whose name contains text, with their
// latest versions: four queries for a page, whatever its size.
func (s *Service) Search(ctx context.Context, a *packages_service.Access, text string, size, from int) ([]SearchResult, int64, error) {
	e := s.d.DB.Engine()
	ps, total, err := packages_model.SearchPackages(ctx, e, a.Owner.ID, packages_model.TypeNpm, text, size, from)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	vs, err := packages_model.ListVersionsOf(ctx, e, ids)
	if err != nil {
		return nil, 0, err
	}
	byPackage := map[int64][]*packages_model.PackageVersion{}
	var creatorIDs []int64
	for _, v := range vs {
		byPackage[v.PackageID] = append(byPackage[v.PackageID], v)
		creatorIDs = append(creatorIDs, v.CreatorID)
	}
	creators, err := user_model.GetUsersByIDs(ctx, e, creatorIDs)
	if err != nil {
		return nil, 0, err
	}
	out := make([]SearchResult, 0, len(ps))
	for _, p := range ps {
		versions := byPackage[p.ID]
		if len(versions) == 0 {
			continue
		}
		slices.SortFunc(versions, func(x, y *packages_model.PackageVersion) int {
			return packages_module.CompareSemver(x.Version, y.Version)
		})
		latest := versions[len(versions)-1]
		for i := len(versions) - 1; i >= 0; i-- {
			if !packages_module.IsSemverPrerelease(versions[i].Version) {
				latest = versions[i]
				break
			}
		}
		var m struct {
			Description string   `json:"description"`
			Keywords    []string `json:"keywords"`
		}
		_ = json.Unmarshal([]byte(latest.MetadataJSON), &m)
		out = append(out, SearchResult{Name: p.Name, Version: latest.Version, Description: m.Description, Keywords: m.Keywords,
			Date: latest.CreatedUnix, Publisher: creators[latest.CreatorID]})
	}
	return out, total, nil
}
