package npm

import (
	"context"
	"slices"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	npm_model "wharf/models/packages/npm"
	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
	packages_service "wharf/services/packages"
)

// FormatDeps are what npm's rules in the registry core need.
type FormatDeps struct {
	Now func() time.Time
	// AllowUnpublish permits removing versions on a caller's behalf, by
	// any path; UnpublishWindow, when not zero, limits it to versions
	// younger than that (npmjs: 72 hours). Administrators are not limited
	// by the window.
	AllowUnpublish  bool
	UnpublishWindow time.Duration
}

// Format is npm as the registry core knows it (packages_service.Format):
// semver order, and hooks that keep the dist-tags and the change counter
// (part of _rev) current whichever path adds or removes a version.
type Format struct{ d FormatDeps }

// NewFormat returns npm's format.
func NewFormat(d FormatDeps) *Format { return &Format{d: d} }

// Type is npm.
func (*Format) Type() packages_model.Type { return packages_model.TypeNpm }

// CompareVersions orders by semver.
func (*Format) CompareVersions(a, b string) int { return packages_module.CompareSemver(a, b) }

// ErrUnpublishDisabled is the answer when [packages.npm] ALLOW_UNPUBLISH
// is off.
var ErrUnpublishDisabled = apperr.New(apperr.Forbidden, "unpublishing is disabled on this registry; deprecate the version instead")

// MayRemoveVersion applies ALLOW_UNPUBLISH and the unpublish window to
// every removal a caller asks for: npm's unpublish, the packages API, the
// web UI.
func (f *Format) MayRemoveVersion(a *packages_service.Access, pv *packages_model.PackageVersion) error {
	if !f.d.AllowUnpublish {
		return ErrUnpublishDisabled
	}
	if f.d.UnpublishWindow > 0 && (a.Doer == nil || !a.Doer.IsAdmin) {
		if age := f.d.Now().Sub(time.Unix(pv.CreatedUnix, 0)); age > f.d.UnpublishWindow {
			return apperr.New(apperr.Forbidden, "%s was published more than %s ago and can no longer be unpublished; deprecate it instead", pv.Version, f.d.UnpublishWindow)
		}
	}
	return nil
}

// VersionAdded counts the change (the publish's own dist-tags are set by
// the publish, in the same transaction).
func (*Format) VersionAdded(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return changed(ctx, tx, c.Package.ID)
}

// VersionRemoved drops the version's dist-tags, points "latest" at the
// highest remaining release when it named the removed version, and counts
// the change.
func (*Format) VersionRemoved(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	tags, err := npm_model.DistTagsOf(ctx, tx, c.Package.ID)
	if err != nil {
		return err
	}
	if err := npm_model.DeleteDistTagsOfVersion(ctx, tx, c.Version.ID); err != nil {
		return err
	}
	if err := changed(ctx, tx, c.Package.ID); err != nil {
		return err
	}
	if id, ok := tags["latest"]; ok && id != c.Version.ID {
		return nil
	}
	left, err := packages_model.ListVersions(ctx, tx, c.Package.ID)
	if err != nil || len(left) == 0 {
		return err
	}
	slices.SortStableFunc(left, func(x, y *packages_model.PackageVersion) int {
		return packages_module.CompareSemver(x.Version, y.Version)
	})
	latest := highestStable(left)
	for _, v := range left {
		if v.Version == latest {
			return npm_model.SetDistTag(ctx, tx, c.Package.ID, "latest", v.ID)
		}
	}
	return nil
}

// PackageRemoved drops what is left of the package's dist-tags.
func (*Format) PackageRemoved(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return npm_model.DeleteDistTagsOfPackage(ctx, tx, c.Package.ID)
}
