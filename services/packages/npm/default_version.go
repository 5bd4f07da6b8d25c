package npm

import (
	"context"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	npm_model "wharf/models/packages/npm"
)

// DefaultVersions is the version `npm install name` installs: the one the
// "latest" dist-tag points at, which need not be the highest (a 2.0.0-rc.1
// published with --tag next leaves latest at 1.10.0).
// (packages_service.DefaultVersioner; one query for the packages.)
func (*Format) DefaultVersions(ctx context.Context, e db.Engine, ps []*packages_model.Package) (map[int64]int64, error) {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	tags, err := npm_model.DistTagsOfPackages(ctx, e, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int64, len(tags))
	for id, t := range tags {
		if v, ok := t["latest"]; ok {
			out[id] = v
		}
	}
	return out, nil
}

// VersionTags lists the package's dist-tags (tag → version id) for its
// page (packages_service.VersionTagger).
func (*Format) VersionTags(ctx context.Context, e db.Engine, p *packages_model.Package) (map[string]int64, error) {
	return npm_model.DistTagsOf(ctx, e, p.ID)
}
