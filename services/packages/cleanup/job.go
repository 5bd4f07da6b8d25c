package cleanup

import (
	"context"
	"errors"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
)

// JobCleanup is the job kind of the cleanup tasks. Its payload is a task
// name (an administrator's run) or JobScheduled (the periodic run of every
// task, which queues its successor when it succeeds). One job per payload
// is pending at a time, and the runner's lease lets only one process run
// it: each task is a singleton.
const JobCleanup = "packages_cleanup"

// JobScheduled is the payload of the periodic run.
const JobScheduled = "scheduled"

// Job runs a cleanup job. The periodic run queues its successor first,
// so that a task that keeps failing (retried with backoff, then given up)
// does not stop the schedule.
func (s *Service) Job(ctx context.Context, payload string) error {
	if payload != JobScheduled {
		_, err := s.RunTask(ctx, payload)
		return err
	}
	if s.d.Every > 0 {
		err := s.d.DB.WithTx(ctx, func(tx db.Engine) error {
			queued, err := packages_model.JobQueuedAfter(ctx, tx, JobCleanup, JobScheduled, s.d.Now().Unix())
			if err != nil || queued {
				return err
			}
			_, err = jobs_model.Enqueue(ctx, tx, JobCleanup, JobScheduled, s.d.Now().Add(s.d.Every))
			return err
		})
		if err != nil {
			return err
		}
	}
	var errs []error
	for _, t := range Tasks {
		if _, err := s.RunTask(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...) // recorded with each run too
}

// Schedule queues the periodic run ([cron.cleanup_packages]) one interval
// from now unless one is waiting; routers.NewApp calls it at start-up.
func (s *Service) Schedule(ctx context.Context) error {
	if s.d.Every <= 0 {
		return nil
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		waiting, err := jobs_model.HasPendingOfKind(ctx, tx, JobCleanup, JobScheduled)
		if err != nil || waiting {
			return err
		}
		_, err = jobs_model.Enqueue(ctx, tx, JobCleanup, JobScheduled, s.d.Now().Add(s.d.Every))
		return err
	})
}

// ErrTaskRunning is the answer when the task is already running.
var ErrTaskRunning = apperr.New(apperr.Conflict, "this cleanup task is already running")

// RunTaskNow runs a task as its singleton job, at once, and returns the
// run's record: Conflict when another process runs it now.
func (s *Service) RunTaskNow(ctx context.Context, task string) (*packages_model.CleanupRun, error) {
	if !validTask(task) {
		return nil, apperr.New(apperr.NotFound, "unknown cleanup task %q (rules, blobs, uploads, empty)", task)
	}
	var id int64
	err := s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		pending, err := packages_model.PendingJobID(ctx, tx, JobCleanup, task)
		if err != nil || pending != 0 {
			id = pending
			return err
		}
		j, err := jobs_model.Enqueue(ctx, tx, JobCleanup, task, s.d.Now())
		if err != nil {
			return err
		}
		id = j.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	started := s.d.Now().Unix()
	if _, err := s.d.Jobs.RunNow(ctx, id); err != nil {
		return nil, err
	}
	run, err := packages_model.LastCleanupRunOf(ctx, s.d.DB.Engine(), task)
	if err != nil {
		return nil, err
	}
	if run == nil || run.StartedUnix < started || run.FinishedUnix == 0 {
		return run, ErrTaskRunning
	}
	return run, nil
}

func validTask(t string) bool {
	for _, x := range Tasks {
		if x == t {
			return true
		}
	}
	return false
}
