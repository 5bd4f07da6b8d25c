package jobs

import (
	"context"

	"wharf/models/db"
)

// HasPendingOfKind reports whether a job of kind with payload is waiting
// (not yet done, not given up), so that a caller can avoid queueing the
// same work twice.
func HasPendingOfKind(ctx context.Context, e db.Engine, kind, payload string) (bool, error) {
	return e.Context(ctx).Where("kind = ? AND payload = ? AND failed = ?", kind, payload, false).Exist(new(Job))
}
