package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// CleanupRun records one run of an administrator's cleanup task: when it
// started and finished, what it removed and what went wrong.
type CleanupRun struct {
	ID           int64  `xorm:"pk autoincr"`
	Task         string `xorm:"VARCHAR(32) INDEX NOT NULL"`
	StartedUnix  int64  `xorm:"NOT NULL DEFAULT 0"`
	FinishedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
	Versions     int64  `xorm:"NOT NULL DEFAULT 0"`
	Files        int64  `xorm:"NOT NULL DEFAULT 0"`
	Blobs        int64  `xorm:"NOT NULL DEFAULT 0"`
	Bytes        int64  `xorm:"NOT NULL DEFAULT 0"`
	Packages     int64  `xorm:"NOT NULL DEFAULT 0"`
	Error        string `xorm:"TEXT"`
}

// TableName is explicit.
func (CleanupRun) TableName() string { return "package_cleanup_run" }

// InsertCleanupRun records a run that started.
func InsertCleanupRun(ctx context.Context, e db.Engine, r *CleanupRun) error {
	if _, err := e.Context(ctx).Insert(r); err != nil {
		return fmt.Errorf("record cleanup run: %w", err)
	}
	return nil
}

// FinishCleanupRun writes a run's outcome.
func FinishCleanupRun(ctx context.Context, e db.Engine, r *CleanupRun) error {
	if _, err := e.Context(ctx).ID(r.ID).AllCols().Update(r); err != nil {
		return fmt.Errorf("record cleanup run: %w", err)
	}
	return nil
}

// LastCleanupRuns returns the newest runs of every task, newest first.
func LastCleanupRuns(ctx context.Context, e db.Engine, limit int) ([]*CleanupRun, error) {
	rs := []*CleanupRun{}
	err := e.Context(ctx).Desc("id").Limit(limit).Find(&rs)
	return rs, err
}
