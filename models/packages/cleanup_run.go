package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
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

// LastCleanupRunOf returns the newest run of a task, nil when none.
func LastCleanupRunOf(ctx context.Context, e db.Engine, task string) (*CleanupRun, error) {
	r := &CleanupRun{}
	has, err := e.Context(ctx).Where("task = ?", task).Desc("id").Get(r)
	if err != nil || !has {
		return nil, err
	}
	return r, nil
}

// PendingJobID is the id of a waiting (not failed) job of kind with
// payload, 0 when there is none.
func PendingJobID(ctx context.Context, e db.Engine, kind, payload string) (int64, error) {
	if err := jobs_model.LockSlot(ctx, e, kind, payload); err != nil {
		return 0, err
	}
	j := &jobs_model.Job{}
	has, err := e.Context(ctx).Where("kind = ? AND payload = ? AND failed = ?", kind, payload, false).OrderBy("id").Get(j)
	if err != nil || !has {
		return 0, err
	}
	return j.ID, nil
}

// JobQueuedAfter reports whether a job of kind with payload is waiting to
// run after unix (a successor already queued).
func JobQueuedAfter(ctx context.Context, e db.Engine, kind, payload string, unix int64) (bool, error) {
	if err := jobs_model.LockSlot(ctx, e, kind, payload); err != nil {
		return false, err
	}
	return e.Context(ctx).Where("kind = ? AND payload = ? AND failed = ? AND run_at > ?", kind, payload, false, unix).Exist(new(jobs_model.Job))
}
