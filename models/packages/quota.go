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
// (SELECT … FOR NO KEY UPDATE); on SQLite the transaction already holds the
// database's write lock from BEGIN (_txlock=immediate), so there is
// nothing more to take. e must be a transaction.
func LockOwner(ctx context.Context, e db.Engine, ownerID int64) error {
	sess := e.Context(ctx)
	if sess.Engine().Dialect().URI().DBType != schemas.POSTGRES {
		return nil
	}
	// NO KEY UPDATE: uploads of one owner queue behind each other, while
	// rows that merely reference the owner (foreign-key checks take KEY
	// SHARE) are not held up.
	var id int64
	has, err := sess.SQL(`SELECT id FROM "user" WHERE id = ? FOR NO KEY UPDATE`, ownerID).Get(&id)
	if err != nil {
		return fmt.Errorf("lock owner %d: %w", ownerID, err)
	}
	if !has {
		return apperr.New(apperr.NotFound, "owner %d does not exist", ownerID)
	}
	return nil
}
