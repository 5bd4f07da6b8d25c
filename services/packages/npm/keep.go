package npm

import (
	"context"
	"sort"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	npm_model "wharf/models/packages/npm"
)

// PinnedVersions keeps every version a dist-tag points at from cleanup
// rules (packages_service.VersionPinner): `npm install name` and
// `name@beta` resolve through the tags, and a rule that removed "latest"
// would silently move it to another version.
func (*Format) PinnedVersions(ctx context.Context, e db.Engine, p *packages_model.Package) (map[int64]string, error) {
	tags, err := npm_model.DistTagsOf(ctx, e, p.ID)
	if err != nil {
		return nil, err
	}
	byVersion := map[int64][]string{}
	for tag, id := range tags {
		byVersion[id] = append(byVersion[id], tag)
	}
	out := make(map[int64]string, len(byVersion))
	for id, names := range byVersion {
		sort.Strings(names)
		what := "the dist-tag "
		if len(names) > 1 {
			what = "the dist-tags "
		}
		out[id] = what + strings.Join(names, ", ") + " points at it"
	}
	return out, nil
}
