package packages

import (
	"context"
	"fmt"

	"xorm.io/xorm/schemas"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// LockOwner serializes, until the caller's transaction ends, every
// transaction that adds to the owner's packages and calls it first, so
// that counting the owner's usage and inserting stay one atomic step
// (the quota check). On PostgreSQL it locks the owner's user row
// (SELECT … FOR UPDATE); on SQLite the transaction already holds the
// database's write lock from BEGIN (_txlock=immediate), so there is
// nothing more to take. e must be a transaction.
func LockOwner(ctx context.Context, e db.Engine, ownerID int64) error {
	sess := e.Context(ctx)
	if sess.Engine().Dialect().URI().DBType != schemas.POSTGRES {
		return nil
	}
	var id int64
	has, err := sess.Table("user").Cols("id").Where("id = ?", ownerID).ForUpdate().Get(&id)
	if err != nil {
		return fmt.Errorf("lock owner %d: %w", ownerID, err)
	}
	if !has {
		return apperr.New(apperr.NotFound, "owner %d does not exist", ownerID)
	}
	return nil
}
