// Package jobs runs the durable jobs of models/jobs: claimed with a lease
// (safe with several Wharf processes on one database), retried with
// exponential backoff, kept with their error when they give up.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
)

// Handler does one job. It must be idempotent: a job whose lease ran out
// (a crash, a slow run) is run again.
type Handler func(ctx context.Context, payload string) error

// Runner claims and runs jobs.
type Runner struct {
	DB       *db.DB
	Log      *slog.Logger
	Now      func() time.Time
	Handlers map[string]Handler
	// Lease is how long a claim lasts; a job still running past it may be
	// claimed by another runner.
	Lease time.Duration
	// MaxAttempts is how many runs a job gets before it is marked failed.
	MaxAttempts int
	// PollInterval is how often Run looks for due jobs.
	PollInterval time.Duration
}

// NewRunner returns a runner with Wharf's defaults.
func NewRunner(d *db.DB, log *slog.Logger, now func() time.Time) *Runner {
	return &Runner{DB: d, Log: log, Now: now, Handlers: map[string]Handler{},
		Lease: 10 * time.Minute, MaxAttempts: 10, PollInterval: time.Second}
}

// Register adds the handler for a kind. Call it while wiring the app.
func (r *Runner) Register(kind string, h Handler) {
	if _, dup := r.Handlers[kind]; dup {
		panic("jobs: handler registered twice: " + kind)
	}
	r.Handlers[kind] = h
}

// Backoff is the wait before attempt n+1: 10s, 20s, 40s … capped at 1h.
func Backoff(attempts int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Run polls for due jobs until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	t := time.NewTicker(r.PollInterval)
	defer t.Stop()
	for {
		if _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.Log.ErrorContext(ctx, "job runner", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce runs every job that is due now and returns how many ran
// (successfully or not). Tests use it to drain the queue without sleeping.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	ran := 0
	for ctx.Err() == nil {
		due, err := jobs_model.NextDue(ctx, r.DB.Engine(), r.Now().Unix(), 20)
		if err != nil {
			return ran, fmt.Errorf("find due jobs: %w", err)
		}
		if len(due) == 0 {
			return ran, nil
		}
		progress := false
		for _, j := range due {
			ok, err := r.runClaimed(ctx, j)
			if err != nil {
				return ran, err
			}
			if ok {
				ran++
				progress = true
			}
		}
		if !progress {
			return ran, nil // others hold what is due
		}
	}
	return ran, ctx.Err()
}

// RunNow runs one job at once if it is still pending and unclaimed, for
// work that should normally happen right away but must survive a crash.
// It reports whether the job succeeded.
func (r *Runner) RunNow(ctx context.Context, id int64) (bool, error) {
	j, has, err := jobs_model.GetJob(ctx, r.DB.Engine(), id)
	if err != nil || !has {
		return false, err
	}
	ok, err := r.runClaimed(ctx, j)
	if err != nil || !ok {
		return false, err
	}
	_, still, err := jobs_model.GetJob(ctx, r.DB.Engine(), id)
	return !still, err
}

// runClaimed claims j and runs it; false when another runner holds it.
func (r *Runner) runClaimed(ctx context.Context, j *jobs_model.Job) (bool, error) {
	now := r.Now()
	won, err := jobs_model.Claim(ctx, r.DB.Engine(), j, now.Unix(), now.Add(r.Lease).Unix())
	if err != nil || !won {
		return false, err
	}
	runErr := r.run(ctx, j)
	// Record the outcome even if the caller's context has ended.
	done := context.WithoutCancel(ctx)
	if runErr == nil {
		return true, jobs_model.Complete(done, r.DB.Engine(), j.ID)
	}
	failed := j.Attempts >= r.MaxAttempts
	next := r.Now().Add(Backoff(j.Attempts))
	r.Log.WarnContext(ctx, "job failed", "kind", j.Kind, "job", j.ID, "attempt", j.Attempts, "gave_up", failed, "err", runErr)
	return true, jobs_model.Retry(done, r.DB.Engine(), j.ID, runErr.Error(), next.Unix(), failed)
}

func (r *Runner) run(ctx context.Context, j *jobs_model.Job) (err error) {
	h, ok := r.Handlers[j.Kind]
	if !ok {
		return fmt.Errorf("no handler for job kind %q", j.Kind)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	if err := h(ctx, j.Payload); err != nil {
		return err
	}
	return nil
}
