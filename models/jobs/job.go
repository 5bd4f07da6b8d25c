// Package jobs holds the durable jobs table: background work as rows, so
// that it survives crashes and is shared by every Wharf process.
package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"wharf/models/db"
)

// Job is one piece of background work.
type Job struct {
	ID          int64  `xorm:"pk autoincr"`
	Kind        string `xorm:"VARCHAR(100) INDEX NOT NULL"`
	Payload     string `xorm:"TEXT"`
	RunAt       int64  `xorm:"INDEX(due) NOT NULL DEFAULT 0"`
	LockedUntil int64  `xorm:"INDEX(due) NOT NULL DEFAULT 0"`
	// LeaseToken is the current claim's own: a lease is the pair, so that
	// two claims whose locked_until fall in the same second differ.
	LeaseToken int64  `xorm:"NOT NULL DEFAULT 0"`
	Attempts   int    `xorm:"NOT NULL DEFAULT 0"`
	LastError  string `xorm:"TEXT"`
	// Failed is set when the job gave up; the row stays for inspection.
	Failed      bool  `xorm:"INDEX(due) NOT NULL DEFAULT false"`
	CreatedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(Job)} }

// Enqueue adds a job due at runAt, inside the caller's transaction (the
// work is committed together with the change that calls for it).
func Enqueue(ctx context.Context, e db.Engine, kind, payload string, runAt time.Time) (*Job, error) {
	j := &Job{Kind: kind, Payload: payload, RunAt: runAt.Unix(), CreatedUnix: runAt.Unix()}
	if _, err := e.Context(ctx).Insert(j); err != nil {
		return nil, fmt.Errorf("enqueue %s job: %w", kind, err)
	}
	return j, nil
}

// NextDue returns up to limit due, unlocked, unfailed jobs, oldest first.
func NextDue(ctx context.Context, e db.Engine, now int64, limit int) ([]*Job, error) {
	var js []*Job
	err := e.Context(ctx).Where("failed = ? AND run_at <= ? AND locked_until <= ?", false, now, now).
		OrderBy("run_at, id").Limit(limit).Find(&js)
	return js, err
}

// GetJob finds a job.
func GetJob(ctx context.Context, e db.Engine, id int64) (*Job, bool, error) {
	j := &Job{}
	has, err := e.Context(ctx).ID(id).Get(j)
	return j, has, err
}

// Claim leases the job until lockedUntil if nobody else holds it: the
// update only matches while locked_until is what the caller read. It
// reports whether this caller won.
func Claim(ctx context.Context, e db.Engine, j *Job, now, lockedUntil int64) (bool, error) {
	token := newLeaseToken()
	n, err := e.Context(ctx).Table(new(Job)).
		Where("id = ? AND locked_until = ? AND failed = ? AND locked_until <= ?", j.ID, j.LockedUntil, false, now).
		Update(map[string]any{"locked_until": lockedUntil, "lease_token": token, "attempts": j.Attempts + 1})
	if err != nil || n == 0 {
		return false, err
	}
	j.LockedUntil, j.LeaseToken, j.Attempts = lockedUntil, token, j.Attempts+1
	return true, nil
}

// newLeaseToken is a random positive int64 (0 is no claim).
func newLeaseToken() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1
}

// Extend moves the lease the caller holds (heldUntil, the locked_until it
// set) to lockedUntil. It reports false when the caller no longer holds
// the lease: the job was claimed by another runner after the lease ran
// out, or is gone.
func Extend(ctx context.Context, e db.Engine, id, token, heldUntil, lockedUntil int64) (bool, error) {
	n, err := e.Context(ctx).Table(new(Job)).
		Where("id = ? AND lease_token = ? AND locked_until = ? AND failed = ?", id, token, heldUntil, false).
		Update(map[string]any{"locked_until": lockedUntil})
	if err != nil {
		return false, fmt.Errorf("extend job lease: %w", err)
	}
	return n > 0, nil
}

// HoldsLease reports whether the job's lease is still one the caller set,
// and keeps it so until the transaction e ends. One statement locks the
// row (a no-op update: the row's lock on PostgreSQL, where a rival's claim
// or the caller's own heartbeat then waits for the commit; on SQLite the
// immediate transaction already holds the write lock) and returns its
// locked_until; held, called only then, says whether that value is one of
// the caller's: an extension that landed before the lock was recorded as
// the caller's before it was sent.
func HoldsLease(ctx context.Context, e db.Engine, id, token int64, held func() []int64) (bool, error) {
	var until, current int64
	err := db.QueryRow(ctx, e, "UPDATE job SET locked_until = locked_until WHERE id = ? AND failed = ? RETURNING locked_until, lease_token", id, false).Scan(&until, &current)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // gone, or given up
	}
	if err != nil {
		return false, fmt.Errorf("check job lease: %w", err)
	}
	return current == token && slices.Contains(held(), until), nil
}

// Complete removes a finished job, if the caller still holds its lease
// (heldUntil, the locked_until it set). It reports false, removing
// nothing, when the lease was lost: another runner owns the job now.
func Complete(ctx context.Context, e db.Engine, id, token, heldUntil int64) (bool, error) {
	n, err := e.Context(ctx).Where("id = ? AND lease_token = ? AND locked_until = ?", id, token, heldUntil).Delete(new(Job))
	if err != nil {
		return false, fmt.Errorf("complete job: %w", err)
	}
	return n > 0, nil
}

// Retry records a failure and schedules the next attempt, releasing the
// lease; failed marks the job as given up. Like Complete it changes
// nothing and reports false when the caller (heldUntil) no longer holds
// the lease.
func Retry(ctx context.Context, e db.Engine, id, token, heldUntil int64, lastError string, runAt int64, failed bool) (bool, error) {
	n, err := e.Context(ctx).Table(new(Job)).Where("id = ? AND lease_token = ? AND locked_until = ?", id, token, heldUntil).
		Update(map[string]any{"last_error": lastError, "run_at": runAt, "locked_until": 0, "failed": failed})
	if err != nil {
		return false, fmt.Errorf("record job failure: %w", err)
	}
	return n > 0, nil
}

// ListFailed returns jobs that gave up, newest first.
func ListFailed(ctx context.Context, e db.Engine, limit int) ([]*Job, error) {
	var js []*Job
	err := e.Context(ctx).Where("failed = ?", true).Desc("id").Limit(limit).Find(&js)
	return js, err
}

// CountPending counts jobs not yet done or failed.
func CountPending(ctx context.Context, e db.Engine) (int64, error) {
	return e.Context(ctx).Where("failed = ?", false).Count(new(Job))
}
