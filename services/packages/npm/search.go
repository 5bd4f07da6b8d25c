package npm

import (
	"context"
	"encoding/json"
	"slices"

	"wharf/models/organization"
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
	ps, total, err := packages_model.SearchPackages(ctx, s.d.DB.Engine(), a.Owner.ID, packages_model.TypeNpm, text, size, from)
	if err != nil {
		return nil, 0, err
	}
	return s.results(ctx, ps, total)
}

// SearchInstance searches the instance-level registry: packages named
// @<owner>/… (scope exactly the owner's name) of owners viewer may see.
func (s *Service) SearchInstance(ctx context.Context, viewer *user_model.User, text string, size, from int) ([]SearchResult, int64, error) {
	o := packages_model.InstanceSearchOptions{Type: packages_model.TypeNpm, Query: text, Limit: size, Offset: from}
	if viewer != nil {
		ids, err := organization.OrgIDsOf(ctx, s.d.DB.Engine(), viewer.ID)
		if err != nil {
			return nil, 0, err
		}
		o.ViewerID, o.ViewerAdmin, o.ViewerOrgIDs = viewer.ID, viewer.IsAdmin, ids
	}
	ps, total, err := packages_model.SearchScopedPackages(ctx, s.d.DB.Engine(), o)
	if err != nil {
		return nil, 0, err
	}
	return s.results(ctx, ps, total)
}

// results loads the latest versions and publishers of found packages:
// three queries, whatever their number.
func (s *Service) results(ctx context.Context, ps []*packages_model.Package, total int64) ([]SearchResult, int64, error) {
	e := s.d.DB.Engine()
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
