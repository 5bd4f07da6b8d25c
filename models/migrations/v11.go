package migrations

import (
	"context"
	"fmt"

	"xorm.io/xorm"
)

// v11AddChangeStamps gives every package a change stamp, a counter that
// every transaction changing the package moves (it takes the package's
// lock by moving it), and Composer's owner stamp a counter beside its
// time (seconds are too coarse to name a state). Processes keep package
// documents in memory under these counters, so they are read from the
// database, which every process shares. Plain ALTER TABLE: Sync with a
// partial bean would drop the indexes the bean does not name.
func v11AddChangeStamps(ctx context.Context, tx *xorm.Session) error {
	for _, q := range []string{
		"ALTER TABLE package ADD COLUMN stamp BIGINT NOT NULL DEFAULT 0",
		"ALTER TABLE composer_stamp ADD COLUMN serial BIGINT NOT NULL DEFAULT 0",
	} {
		if _, err := tx.Context(ctx).Exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
