package rubygems

import (
	"context"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	rubygems_module "wharf/modules/packages/rubygems"
)

// PinnedVersions keeps a gem's highest release from cleanup rules
// (packages_service.VersionPinner): `gem install name` and Bundler pick
// it by default, and rules rank versions by Gem::Version order, where a
// prerelease (2.0.0.beta1) stands above the release before it — a rule
// keeping one version would otherwise remove the only installable one.
// A gem with no release pins nothing.
func (*Format) PinnedVersions(ctx context.Context, e db.Engine, p *packages_model.Package) (map[int64]string, error) {
	vs, err := packages_model.ListVersions(ctx, e, p.ID)
	if err != nil {
		return nil, err
	}
	var best *packages_model.PackageVersion
	for _, v := range vs {
		if rubygems_module.IsPrerelease(v.Version) {
			continue
		}
		if best == nil || rubygems_module.Compare(v.Version, best.Version) > 0 {
			best = v
		}
	}
	if best == nil {
		return nil, nil
	}
	return map[int64]string{best.ID: "it is the highest release, the version gem install and Bundler pick"}, nil
}
