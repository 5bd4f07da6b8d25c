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
func LockPackage(ctx context.Context, e db.Engine, id int64) error {
	res, err := e.Context(ctx).Exec("UPDATE package SET repo_id = repo_id WHERE id = ?", id)
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
