// Package jobs runs the durable jobs of models/jobs: claimed with a lease
// (safe with several Wharf processes on one database), retried with
// exponential backoff, kept with their error when they give up.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
)

// Handler does one job. It must be idempotent: a job whose lease ran out
// (a crash) is run again. Its ctx ends at the runner's Timeout and as
// soon as the runner loses the job's lease; a handler must then stop.
type Handler func(ctx context.Context, payload string) error

// ErrLeaseLost is the cause of a handler's ctx ending because the runner
// could not extend the job's lease: another runner may be running it.
var ErrLeaseLost = errors.New("job lease lost")

// Runner claims and runs jobs.
type Runner struct {
	DB       *db.DB
	Log      *slog.Logger
	Now      func() time.Time
	Handlers map[string]Handler
	// Lease is how long a claim lasts without a heartbeat; a job whose
	// lease ran out (its runner died) may be claimed by another runner.
	Lease time.Duration
	// Heartbeat is how often a running job's lease is extended (by Lease
	// from now); Lease/3 when zero.
	Heartbeat time.Duration
	// Timeout is the deadline of one run of a handler: its ctx ends then,
	// and the run counts as failed (retried with backoff).
	Timeout time.Duration
	// MaxAttempts is how many runs a job gets before it is marked failed.
	MaxAttempts int
	// PollInterval is how often Run looks for due jobs.
	PollInterval time.Duration
	// NewTicker makes the heartbeat ticker (time.NewTicker when nil); tests
	// drive heartbeats through it.
	NewTicker func(d time.Duration) (c <-chan time.Time, stop func())
}

// NewRunner returns a runner with Wharf's defaults.
func NewRunner(d *db.DB, log *slog.Logger, now func() time.Time) *Runner {
	return &Runner{DB: d, Log: log, Now: now, Handlers: map[string]Handler{},
		Lease: 10 * time.Minute, Timeout: 30 * time.Minute, MaxAttempts: 10, PollInterval: time.Second}
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
// While the handler runs, a heartbeat extends the lease; the outcome is
// recorded only if this runner still holds the lease (a runner that lost
// it logs and leaves the job to its new holder).
func (r *Runner) runClaimed(ctx context.Context, j *jobs_model.Job) (bool, error) {
	now := r.Now()
	won, err := jobs_model.Claim(ctx, r.DB.Engine(), j, now.Unix(), now.Add(r.Lease).Unix())
	if err != nil || !won {
		return false, err
	}
	hctx, lose := context.WithCancelCause(ctx)
	stop := func() {}
	if r.Timeout > 0 {
		hctx, stop = context.WithTimeout(hctx, r.Timeout)
	}
	l := &lease{token: j.LeaseToken, held: j.LockedUntil, pending: j.LockedUntil}
	// Every transaction of the handler checks the lease before it
	// commits: once another runner has claimed the job, this one's
	// work is rolled back instead of landing beside the new holder's.
	hctx = db.WithFence(hctx, l.fence(j.ID))
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		r.heartbeat(hctx, j, l, lose)
	}()
	runErr := r.run(hctx, j)
	if hctx.Err() != nil && runErr != nil {
		// Say why the handler was stopped: its deadline, the lease lost,
		// or the runner shutting down.
		if cause := context.Cause(hctx); !errors.Is(runErr, cause) {
			runErr = fmt.Errorf("%w (%w)", runErr, cause)
		}
	}
	stop()
	lose(nil) // ends the heartbeat
	<-beating // the lease is final now
	held := l.current()
	// Record the outcome even if the caller's context has ended.
	done := context.WithoutCancel(ctx)
	var recorded bool
	if runErr == nil {
		recorded, err = jobs_model.Complete(done, r.DB.Engine(), j.ID, l.token, held)
	} else {
		failed := j.Attempts >= r.MaxAttempts
		next := r.Now().Add(Backoff(j.Attempts))
		r.Log.WarnContext(ctx, "job failed", "kind", j.Kind, "job", j.ID, "attempt", j.Attempts, "gave_up", failed, "err", runErr)
		recorded, err = jobs_model.Retry(done, r.DB.Engine(), j.ID, l.token, held, runErr.Error(), next.Unix(), failed)
	}
	if err == nil && !recorded {
		r.Log.WarnContext(ctx, "job lease lost: its outcome is not recorded, the job stays with its current holder",
			"kind", j.Kind, "job", j.ID, "attempt", j.Attempts)
	}
	return true, err
}

// heartbeat extends j's lease (l) every Heartbeat until ctx ends. When the lease cannot be extended (another
// runner claimed the job, or the database fails and the lease would run
// out before the next tick) it ends the handler's ctx with ErrLeaseLost.
func (r *Runner) heartbeat(ctx context.Context, j *jobs_model.Job, l *lease, lose context.CancelCauseFunc) {
	every := r.Heartbeat
	if every <= 0 {
		every = max(r.Lease/3, time.Second)
	}
	newTicker := r.NewTicker
	if newTicker == nil {
		newTicker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	tick, stop := newTicker(every)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		now := r.Now()
		until := now.Add(r.Lease).Unix()
		held := l.extending(until)
		// Not cancelled with the handler: an update that lands must be
		// known to have landed, or the outcome could not be recorded.
		ok, err := jobs_model.Extend(context.WithoutCancel(ctx), r.DB.Engine(), j.ID, l.token, held, until)
		switch {
		case err != nil && now.Add(every).Unix() < held:
			// The lease outlasts the next tick: try again then.
			r.Log.WarnContext(ctx, "job heartbeat", "kind", j.Kind, "job", j.ID, "err", err)
		case err != nil:
			// Stop before the lease runs out and another runner may start.
			r.Log.ErrorContext(ctx, "job heartbeat: the lease cannot be extended", "kind", j.Kind, "job", j.ID, "err", err)
			lose(fmt.Errorf("%w: %w", ErrLeaseLost, err))
			return
		case !ok:
			r.Log.WarnContext(ctx, "job heartbeat: another runner holds the job", "kind", j.Kind, "job", j.ID)
			lose(ErrLeaseLost)
			return
		default:
			l.extended(until)
		}
	}
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

// lease is the claim a runner holds on a job — its token and the
// locked_until it set — shared by the heartbeat that moves it and the
// fence that checks it. While an extension is in flight the row may hold
// either value, and both are this runner's; the token tells this claim
// from another runner's whose locked_until falls in the same second.
type lease struct {
	token         int64
	mu            sync.Mutex
	held, pending int64
}

// extending records that until is being set and returns the value held.
func (l *lease) extending(until int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = until
	return l.held
}

// extended records that until is set.
func (l *lease) extended(until int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held, l.pending = until, until
}

func (l *lease) current() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

func (l *lease) values() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == l.held {
		return []int64{l.held}
	}
	return []int64{l.held, l.pending}
}

// fence is the check of every commit the job's handler makes.
func (l *lease) fence(id int64) db.Fence {
	return func(ctx context.Context, tx db.Engine) error {
		ok, err := jobs_model.HoldsLease(ctx, tx, id, l.token, l.values)
		if err != nil {
			return err
		}
		if !ok {
			return ErrLeaseLost
		}
		return nil
	}
}
