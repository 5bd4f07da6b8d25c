package repository

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
	"wharf/modules/git"
)

// JobReconcile is the job kind that reconciles refs: its payload is a
// repository id, or "" for every repository (queued at start-up).
const JobReconcile = "repository.reconcile"

// FaultPoint names a place where a crash would separate two steps that
// belong together. Deps.Fault is called there (tests only).
type FaultPoint string

// The fault points.
const (
	// FaultRefsMoved: git has moved refs (a push, an API tag) and nothing
	// has recorded or announced it yet.
	FaultRefsMoved FaultPoint = "refs-moved"
	// FaultDeleteTx: inside a repository deletion's transaction, after its
	// events are queued; an error rolls all of it back.
	FaultDeleteTx FaultPoint = "delete-tx"
	// FaultDeleted: a repository deletion has committed; its directory is
	// still there and its events are not yet delivered.
	FaultDeleted FaultPoint = "deleted"
)

// fault calls the test hook; an error stops the operation as a crash there
// would.
func (s *Service) fault(ctx context.Context, p FaultPoint, repoID int64) error {
	if s.d.Fault == nil {
		return nil
	}
	if err := s.d.Fault(ctx, p, repoID); err != nil {
		return fmt.Errorf("fault injected at %s: %w", p, err)
	}
	return nil
}

// ScheduleReconcileAll queues one reconciliation of every repository,
// unless one is already waiting: routers.NewApp calls it at start-up so
// that ref changes a crash left unannounced are announced by the job
// runner. It costs one read of each repository's refs when nothing
// changed.
func (s *Service) ScheduleReconcileAll(ctx context.Context) error {
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		waiting, err := jobs_model.HasPendingOfKind(ctx, tx, JobReconcile, "")
		if err != nil || waiting {
			return err
		}
		_, err = jobs_model.Enqueue(ctx, tx, JobReconcile, "", s.d.Now())
		return err
	})
}

func (s *Service) reconcileJob(ctx context.Context, payload string) error {
	if payload == "" {
		return s.ReconcileAll(ctx)
	}
	id, err := strconv.ParseInt(payload, 10, 64)
	if err != nil {
		return fmt.Errorf("reconcile job: bad repository id %q", payload)
	}
	_, err = s.Reconcile(ctx, id)
	return err
}

// ReconcileAll reconciles every repository. One that fails gets a job of
// its own (retried with backoff, kept when it gives up), so that a broken
// repository does not hold up the others.
func (s *Service) ReconcileAll(ctx context.Context) error {
	var after int64
	for {
		ids, err := repo_model.RepositoryIDsAfter(ctx, s.d.DB.Engine(), after, 100)
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, err := s.Reconcile(ctx, id); err != nil {
				s.d.Log.ErrorContext(ctx, "reconcile refs", "repo_id", id, "err", err)
				if err := s.queueReconcile(ctx, id); err != nil {
					return err
				}
			}
		}
		after = ids[len(ids)-1]
	}
}

func (s *Service) queueReconcile(ctx context.Context, repoID int64) error {
	payload := strconv.FormatInt(repoID, 10)
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		waiting, err := jobs_model.HasPendingOfKind(ctx, tx, JobReconcile, payload)
		if err != nil || waiting {
			return err
		}
		_, err = jobs_model.Enqueue(ctx, tx, JobReconcile, payload, s.d.Now())
		return err
	})
}

// Reconcile announces what changed in a repository's refs since they were
// last recorded. It compares the refs on disk with the recorded ones and,
// in one transaction, queues a ref-change event per difference (created,
// moved, deleted) for every subscriber and records the refs on disk.
// Running it again finds nothing to do: each change is announced once. It
// returns the changes; the job runner delivers them. A repository that is
// gone has nothing to reconcile (its deletion announced its refs).
func (s *Service) Reconcile(ctx context.Context, repoID int64) ([]RefChange, error) {
	changes, _, err := s.reconcile(ctx, repoID, nil, nil)
	return changes, err
}

// afterRefsMoved reconciles at once after git moved refs for doer (a
// push, an API tag) and delivers the events. moved is what the caller
// knows it moved (nil: everything that changed is doer's): it names the
// doer of those changes, and for a repository whose refs were never
// recorded it tells what was there before. A
// failure is logged and left to a job; the next push and the next start
// reconcile as well.
func (s *Service) afterRefsMoved(ctx context.Context, doer *user_model.User, repoID int64, moved []git.RefUpdate) {
	// The refs moved already: recording and announcing that is not the
	// work of a job that may have made the move (the Cargo index's), so it
	// is neither cancelled with it nor fenced by its lease.
	ctx = db.WithoutFence(context.WithoutCancel(ctx))
	_, ids, err := s.reconcile(ctx, repoID, doer, moved)
	if err != nil {
		s.d.Log.ErrorContext(ctx, "announce ref changes; a job will retry", "repo_id", repoID, "err", err)
		if err := s.queueReconcile(ctx, repoID); err != nil {
			s.d.Log.ErrorContext(ctx, "queue ref reconciliation; the next push or start-up will do it", "repo_id", repoID, "err", err)
		}
		return
	}
	s.deliver(ctx, ids)
}

// reconcile does Reconcile's work. moved (nil: unknown) is what the caller
// moved for doer (see afterRefsMoved).
func (s *Service) reconcile(ctx context.Context, repoID int64, doer *user_model.User, moved []git.RefUpdate) ([]RefChange, []int64, error) {
	// Nothing changed is the common case: find it out without writing.
	r, err := repo_model.GetRepositoryByID(ctx, s.d.DB.Engine(), repoID)
	if errors.Is(err, repo_model.ErrRepoNotExist) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	if r.RefsRecorded {
		actual, err := s.diskRefs(r)
		if err != nil {
			return nil, nil, err
		}
		recorded, err := repo_model.GetRefs(ctx, s.d.DB.Engine(), repoID)
		if err != nil {
			return nil, nil, err
		}
		if maps.Equal(actual, recorded) {
			return nil, nil, nil
		}
	}

	var changes []RefChange
	var ids []int64
	err = s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		changes, ids = nil, nil
		// The lock makes reconciliations (and a deletion) of one repository
		// run one after the other, each reading the refs on disk after the
		// one before it committed: no change is announced twice, and none
		// is undone by an older read.
		r, err := repo_model.LockRepository(ctx, tx, repoID)
		if errors.Is(err, repo_model.ErrRepoNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		actual, err := s.diskRefs(r)
		if err != nil {
			return err
		}
		var cols []string
		var recorded map[string]string
		if r.RefsRecorded {
			if recorded, err = repo_model.GetRefs(ctx, tx, r.ID); err != nil {
				return err
			}
		} else {
			// Never recorded (the repository predates the table): what is
			// on disk was announced, except what the caller just moved.
			recorded = maps.Clone(actual)
			for _, u := range moved {
				if u.OldID == git.ZeroID {
					delete(recorded, u.Ref)
				} else {
					recorded[u.Ref] = u.OldID
				}
			}
			for name, id := range actual {
				if err := repo_model.InsertRef(ctx, tx, r.ID, name, id); err != nil {
					return err
				}
			}
			r.RefsRecorded = true
			cols = append(cols, "refs_recorded")
		}
		changes = diffRefs(r, recorded, actual, doer, moved)
		if cols == nil { // recorded rows exist: bring them to what is on disk
			for _, c := range changes {
				switch {
				case c.IsCreate():
					err = repo_model.InsertRef(ctx, tx, r.ID, c.Ref, c.NewID)
				case c.IsDelete():
					err = repo_model.DeleteRef(ctx, tx, r.ID, c.Ref, c.OldID)
				default:
					err = repo_model.MoveRef(ctx, tx, r.ID, c.Ref, c.OldID, c.NewID)
				}
				if err != nil {
					return err
				}
			}
		}
		if len(changes) > 0 {
			r.UpdatedUnix = s.d.Now().Unix()
			r.IsEmpty = !hasBranch(actual)
			cols = append(cols, "updated_unix", "is_empty")
		}
		if len(cols) > 0 {
			if err := repo_model.UpdateRepositoryCols(ctx, tx, r, cols...); err != nil {
				return err
			}
		}
		ids, err = s.enqueue(ctx, tx, changes)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reconcile refs of %s: %w", r.FullName(), err)
	}
	return changes, ids, nil
}

// diskRefs reads a repository's refs from disk.
func (s *Service) diskRefs(r *repo_model.Repository) (map[string]string, error) {
	g, err := git.Open(s.Path(r))
	if err != nil {
		return nil, err
	}
	refs, err := g.AllRefs()
	if err != nil {
		return nil, fmt.Errorf("read refs: %w", err)
	}
	return refs, nil
}

// diskRefsIfAny is diskRefs for a repository whose directory may be gone.
func (s *Service) diskRefsIfAny(r *repo_model.Repository) (map[string]string, error) {
	if _, err := os.Stat(s.Path(r)); errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	return s.diskRefs(r)
}

// diffRefs turns the difference between two sets of refs into changes,
// sorted by ref. doer made the changes that moved lists (all of them when
// moved is nil).
func diffRefs(r *repo_model.Repository, from, to map[string]string, doer *user_model.User, moved []git.RefUpdate) []RefChange {
	var doerID int64
	if doer != nil {
		doerID = doer.ID
	}
	byDoer := func(ref, newID string) int64 {
		if moved == nil {
			return doerID
		}
		for _, u := range moved {
			if u.Ref == ref && u.NewID == newID {
				return doerID
			}
		}
		return 0
	}
	var out []RefChange
	add := func(ref, oldID, newID string) {
		out = append(out, RefChange{RepoID: r.ID, OwnerName: r.OwnerName, RepoName: r.Name, Ref: ref,
			OldID: oldID, NewID: newID, DoerID: byDoer(ref, newID)})
	}
	for ref, newID := range to {
		if oldID, ok := from[ref]; !ok {
			add(ref, git.ZeroID, newID)
		} else if oldID != newID {
			add(ref, oldID, newID)
		}
	}
	for ref, oldID := range from {
		if _, ok := to[ref]; !ok {
			add(ref, oldID, git.ZeroID)
		}
	}
	sortChanges(out)
	return out
}

func hasBranch(refs map[string]string) bool {
	for ref := range refs {
		if strings.HasPrefix(ref, git.BranchPrefix) {
			return true
		}
	}
	return false
}
