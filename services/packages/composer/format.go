package composer

import (
	"context"
	"errors"
	"strconv"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	composer_model "wharf/models/packages/composer"
	composer_module "wharf/modules/packages/composer"
	packages_service "wharf/services/packages"
)

// Format is Composer as the registry core knows it
// (packages_service.Format): composer's version order, and hooks that move
// the change stamps Last-Modified is made of whichever path changes a
// package, so that composer never gets a 304 for a stale document.
type Format struct{ now func() time.Time }

// NewFormat returns Composer's format; now is the clock of the stamps.
func NewFormat(now func() time.Time) *Format { return &Format{now: now} }

// Type is Composer.
func (*Format) Type() packages_model.Type { return packages_model.TypeComposer }

// CompareVersions orders as composer does.
func (*Format) CompareVersions(a, b string) int { return composer_module.Compare(a, b) }

// VersionAdded moves the package's and the owner's stamps.
func (f *Format) VersionAdded(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return touchTx(ctx, tx, c.Package, f.now())
}

// VersionRemoved moves the stamps: the document lost a version, which the
// creation times of the versions left cannot show.
func (f *Format) VersionRemoved(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return touchTx(ctx, tx, c.Package, f.now())
}

// FilesChanged moves the stamps: a version's archive was built or
// replaced, and the document shows its digest.
func (f *Format) FilesChanged(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return touchTx(ctx, tx, c.Package, f.now())
}

// PackageRemoved moves the owner's stamp (packages.json and list.json
// lost a name).
func (f *Format) PackageRemoved(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return composer_model.SetStamp(ctx, tx, c.Package.OwnerID, f.now().Unix())
}

// touchTx records that a package's metadata changed at now, on the package
// (p2's Last-Modified) and on its owner (packages.json's).
func touchTx(ctx context.Context, tx db.Engine, p *packages_model.Package, now time.Time) error {
	if err := packages_model.SetProperty(ctx, tx, packages_model.PropertyTypePackage, p.ID, propModified, strconv.FormatInt(now.Unix(), 10)); err != nil {
		return err
	}
	return composer_model.SetStamp(ctx, tx, p.OwnerID, now.Unix())
}

// touch is touchTx for a package known by id, from a change made outside
// the core (a registered ref moved): it takes the package's lock first,
// which moves its change stamp (LockPackage); false when the package is
// gone (its removal moved the owner's stamp).
func touch(ctx context.Context, tx db.Engine, packageID int64, now time.Time) (bool, error) {
	err := packages_model.LockPackage(ctx, tx, packageID)
	var p *packages_model.Package
	if err == nil {
		p, err = packages_model.GetPackageByID(ctx, tx, packageID)
	}
	if errors.Is(err, packages_model.ErrPackageNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, touchTx(ctx, tx, p, now)
}
