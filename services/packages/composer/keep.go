package composer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	composer_model "wharf/models/packages/composer"
)

// PinnedVersions keeps from cleanup rules every version registered from
// a tag of a repository that is still one of the owner's Composer sources
// (packages_service.VersionPinner): the source stands for "this
// repository's tags are published here", and a version removed under it
// would be a tag that clients cannot install.
func (*Format) PinnedVersions(ctx context.Context, e db.Engine, p *packages_model.Package) (map[int64]string, error) {
	sources, err := composer_model.SourcesOfOwner(ctx, e, p.OwnerID)
	if err != nil || len(sources) == 0 {
		return nil, err
	}
	isSource := make(map[int64]bool, len(sources))
	for _, s := range sources {
		isSource[s.RepoID] = true
	}
	// By the package, not a list of its versions' ids (which grows past
	// what a database binds).
	props, err := packages_model.VersionPropertiesOfPackages(ctx, e, []int64{p.ID}, propSource)
	if err != nil {
		return nil, fmt.Errorf("read composer sources of versions: %w", err)
	}
	out := map[int64]string{}
	for _, pr := range props {
		repo, ref, ok := strings.Cut(pr.Value, ":")
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(repo, 10, 64)
		if err != nil || !isSource[id] {
			continue
		}
		out[pr.RefID] = "registered from " + ref + " of a Composer source repository"
	}
	return out, nil
}
