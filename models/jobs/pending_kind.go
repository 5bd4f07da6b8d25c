package jobs

import (
	"context"
	"fmt"

	"xorm.io/xorm/schemas"

	"wharf/models/db"
)

// slotLockClass is the first key of the advisory locks LockSlot takes
// ("whar"), so that they never meet another lock's keys.
const slotLockClass = 0x77686172

// LockSlot serializes, until the transaction e ends, every transaction
// that looks for a pending job of kind with payload in order to queue it
// only once: without it, two processes (or two requests) on PostgreSQL
// both see none and both queue. On PostgreSQL it takes a transaction
// advisory lock on the pair's hash (a collision, or two pairs that join
// to the same string, only makes unrelated pairs take turns); SQLite's immediate transactions already hold the
// database's write lock. e must be a transaction.
func LockSlot(ctx context.Context, e db.Engine, kind, payload string) error {
	sess := e.Context(ctx)
	if sess.Engine().Dialect().URI().DBType != schemas.POSTGRES {
		return nil
	}
	if _, err := sess.Exec("SELECT pg_advisory_xact_lock(?, hashtext(?))", slotLockClass, kind+"/"+payload); err != nil {
		return fmt.Errorf("lock %s job slot: %w", kind, err)
	}
	return nil
}

// HasPendingOfKind reports whether a job of kind with payload is waiting
// (not yet done, not given up), so that a caller can avoid queueing the
// same work twice. It takes the pair's LockSlot first: the answer holds
// until the caller's transaction ends, across processes.
func HasPendingOfKind(ctx context.Context, e db.Engine, kind, payload string) (bool, error) {
	if err := LockSlot(ctx, e, kind, payload); err != nil {
		return false, err
	}
	return e.Context(ctx).Where("kind = ? AND payload = ? AND failed = ?", kind, payload, false).Exist(new(Job))
}
