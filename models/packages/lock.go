package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// LockPackage takes the package row's write lock until the end of the
// transaction e, so that a read-compare-write on one package (npm's
// revision check before an unpublish) is serialised on every database:
// PostgreSQL holds the row lock, SQLite's immediate transactions hold the
// database. A package that is gone is ErrPackageNotExist.
//
// The lock is taken by moving the package's change stamp: every change
// of a package locks it, so every change moves the stamp in its own
// transaction, and documents cached under the old stamp are not served
// again (see Package.Stamp). Take it for every change of what a package's
// documents show.
func LockPackage(ctx context.Context, e db.Engine, id int64) error {
	res, err := e.Context(ctx).Exec("UPDATE package SET stamp = stamp + 1 WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("lock package: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("lock package: %w", err)
	}
	if n == 0 {
		return ErrPackageNotExist
	}
	return nil
}

// TouchPackagesCreatedBy moves the change stamp of every package with a
// version the user created, in e's transaction: documents show the
// creators' names and addresses, so a change of those must invalidate
// them.
func TouchPackagesCreatedBy(ctx context.Context, e db.Engine, userID int64) error {
	_, err := e.Context(ctx).Exec("UPDATE package SET stamp = stamp + 1 WHERE id IN (SELECT package_id FROM package_version WHERE creator_id = ?)", userID)
	if err != nil {
		return fmt.Errorf("touch packages created by %d: %w", userID, err)
	}
	return nil
}

// HasVersionByCreator reports whether the user created a version of the
// package.
func HasVersionByCreator(ctx context.Context, e db.Engine, packageID, userID int64) (bool, error) {
	has, err := e.Context(ctx).Table(new(PackageVersion)).Where("package_id = ? AND creator_id = ?", packageID, userID).Exist()
	if err != nil {
		return false, fmt.Errorf("versions of package %d by %d: %w", packageID, userID, err)
	}
	return has, nil
}
