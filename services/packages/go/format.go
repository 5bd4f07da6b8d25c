package goproxy

import (
	"strings"

	packages_model "wharf/models/packages"
	goproxy_module "wharf/modules/packages/go"
)

// Format is Go as the registry core knows it: versions ordered by
// semantic versioning. The proxy's documents are read from the rows as
// they are, so no derived state needs hooks.
type Format struct{}

// Type is Go.
func (Format) Type() packages_model.Type { return packages_model.TypeGo }

// CompareVersions orders by semantic versioning, as the go command does.
func (Format) CompareVersions(a, b string) int { return goproxy_module.Compare(a, b) }

// PickLatest is the go command's @latest among published versions: the
// highest release, else the highest pre-release, else the highest
// pseudo-version (vs is highest first).
func (Format) PickLatest(vs []*packages_model.PackageVersion) *packages_model.PackageVersion {
	var best *packages_model.PackageVersion
	for _, v := range vs {
		if best == nil || latestRank(v.Version) > latestRank(best.Version) {
			best = v
		}
	}
	return best
}

// latestRank orders the kinds of versions for @latest: pseudo-versions,
// then pre-releases, then releases.
func latestRank(v string) int {
	switch {
	case goproxy_module.IsPseudo(v):
		return 0
	case strings.Contains(strings.TrimSuffix(v, "+incompatible"), "-"):
		return 1
	}
	return 2
}
