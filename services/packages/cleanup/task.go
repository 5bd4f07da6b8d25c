package cleanup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/storage"
)

// The administrators' tasks.
const (
	TaskRules   = "rules"   // apply every enabled rule
	TaskBlobs   = "blobs"   // collect unreferenced blobs past the grace period
	TaskUploads = "uploads" // remove upload temp files crashed processes left
	TaskEmpty   = "empty"   // remove packages left without versions
)

// Tasks lists the tasks in the order a full cleanup runs them (rules
// first: the blobs of the versions they remove become unreferenced).
var Tasks = []string{TaskRules, TaskEmpty, TaskBlobs, TaskUploads}

// TaskOptions narrow and shape a task run (the CLI's flags).
type TaskOptions struct {
	// Owner and Type restrict the rules task to one owner's rules, or to
	// rules of one package type ("": all).
	Owner string
	Type  packages_model.Type
	// DryRun computes what the task would remove (the rules' previews,
	// the blobs, files and packages it would collect) and removes
	// nothing; the run is not recorded.
	DryRun bool
	// Progress, when set, hears the run's counts after each step.
	Progress func(run *packages_model.CleanupRun)
	// Preview, when set, hears each rule's selection in a dry run.
	Preview func(owner string, rule *packages_model.CleanupRule, res *Result)
}

// RunTask runs one task now and records the run (started, finished,
// counts, error).
func (s *Service) RunTask(ctx context.Context, task string) (*packages_model.CleanupRun, error) {
	return s.RunTaskWith(ctx, task, TaskOptions{})
}

// RunTaskWith is RunTask with options.
func (s *Service) RunTaskWith(ctx context.Context, task string, o TaskOptions) (*packages_model.CleanupRun, error) {
	var f func(ctx context.Context, run *packages_model.CleanupRun, o TaskOptions) error
	switch task {
	case TaskRules:
		f = s.applyRules
	case TaskBlobs:
		f = s.collectBlobs
	case TaskUploads:
		f = s.removeUploadTemps
	case TaskEmpty:
		f = s.removeEmptyPackages
	default:
		return nil, apperr.New(apperr.NotFound, "unknown cleanup task %q (rules, blobs, uploads, empty)", task)
	}
	if o.Progress == nil {
		o.Progress = func(*packages_model.CleanupRun) {}
	}
	run := &packages_model.CleanupRun{Task: task, StartedUnix: s.d.Now().Unix()}
	if o.DryRun {
		err := f(ctx, run, o)
		run.FinishedUnix = s.d.Now().Unix()
		return run, err
	}
	if err := packages_model.InsertCleanupRun(ctx, s.d.DB.Engine(), run); err != nil {
		return nil, err
	}
	runErr := f(ctx, run, o)
	run.FinishedUnix = s.d.Now().Unix()
	if runErr != nil {
		run.Error = runErr.Error()
	}
	if err := packages_model.FinishCleanupRun(context.WithoutCancel(ctx), s.d.DB.Engine(), run); err != nil {
		return run, errors.Join(runErr, err)
	}
	return run, runErr
}

// LastRuns returns the newest recorded runs.
func (s *Service) LastRuns(ctx context.Context, limit int) ([]*packages_model.CleanupRun, error) {
	return packages_model.LastCleanupRuns(ctx, s.d.DB.Engine(), limit)
}

// Usage is the instance's blob storage, referenced and not.
func (s *Service) Usage(ctx context.Context) (*packages_model.StorageUsage, error) {
	return packages_model.InstanceUsage(ctx, s.d.DB.Engine())
}

// applyRules runs every enabled rule; a rule that fails is reported and
// the others still run.
func (s *Service) applyRules(ctx context.Context, run *packages_model.CleanupRun, o TaskOptions) error {
	var after int64
	var errs []error
	var only *user_model.User
	if o.Owner != "" {
		u, err := user_model.GetUserByName(ctx, s.d.DB.Engine(), o.Owner)
		if err != nil {
			return err
		}
		only = u
	}
	for {
		rs, err := packages_model.EnabledCleanupRulesAfter(ctx, s.d.DB.Engine(), after, 100)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if len(rs) == 0 {
			return errors.Join(errs...)
		}
		for _, r := range rs {
			after = r.ID
			if (only != nil && r.OwnerID != only.ID) || (o.Type != "" && r.Type != o.Type) {
				continue
			}
			owner, err := user_model.GetUserByID(ctx, s.d.DB.Engine(), r.OwnerID)
			if errors.Is(err, user_model.ErrUserNotExist) {
				// The owner was deleted: its rules go with it.
				if err := packages_model.DeleteCleanupRulesOf(ctx, s.d.DB.Engine(), r.OwnerID); err != nil {
					errs = append(errs, err)
				}
				continue
			} else if err != nil {
				errs = append(errs, fmt.Errorf("rule %d: owner %d: %w", r.ID, r.OwnerID, err))
				continue
			}
			c, err := compile(r)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %d: %w", r.ID, err))
				continue
			}
			var res *Result
			if o.DryRun {
				res, err = s.preview(ctx, owner, c)
				if err == nil && o.Preview != nil {
					o.Preview(owner.Name, r, res)
				}
			} else {
				res, err = s.run(ctx, owner, c)
			}
			if res != nil {
				run.Versions += res.Versions
				run.Files += res.Files
				run.Bytes += res.Bytes
				run.Packages += res.Packages
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %d of %s (%s): %w", r.ID, owner.Name, r.Type, err))
			}
			o.Progress(run)
		}
	}
}

// removeEmptyPackages removes packages without versions (a crash between
// a package's first insert and its version's, in formats that make the
// package first), through the core's removal so formats hear of it.
func (s *Service) removeEmptyPackages(ctx context.Context, run *packages_model.CleanupRun, o TaskOptions) error {
	var after int64
	for {
		ps, err := packages_model.PackagesWithoutVersionsAfter(ctx, s.d.DB.Engine(), after, 100)
		if err != nil || len(ps) == 0 {
			return err
		}
		for _, p := range ps {
			after = p.ID
			if o.DryRun {
				run.Packages++
				continue
			}
			owner, err := user_model.GetUserByID(ctx, s.d.DB.Engine(), p.OwnerID)
			if err != nil {
				return fmt.Errorf("owner of package %d: %w", p.ID, err)
			}
			// Only if it is still empty under its lock: a version may
			// have been published into it since it was listed.
			err = s.d.Packages.RemovePackageIfEmpty(ctx, systemAccess(owner), p)
			if errors.Is(err, packages_model.ErrPackageNotExist) {
				continue
			} else if err != nil {
				return fmt.Errorf("remove empty package %s: %w", p.Name, err)
			}
			run.Packages++
		}
		o.Progress(run)
	}
}

const blobPage = 500

// collectBlobs removes blobs no file references, older than the grace
// period: first the rows (each deleted only while still unreferenced and
// old, in a transaction), then, after the commit, the bytes. A crash in
// between leaves bytes without a row, which the second pass collects;
// never a row without bytes. The second pass walks the store, streaming,
// and removes bytes that have no row and were written before the grace
// period (an upload saves its bytes before its row: younger bytes may be
// one in flight).
func (s *Service) collectBlobs(ctx context.Context, run *packages_model.CleanupRun, o TaskOptions) error {
	cutoff := s.d.Now().Add(-s.d.BlobGrace)
	var after int64
	for {
		bs, err := packages_model.UnreferencedBlobsAfter(ctx, s.d.DB.Engine(), after, cutoff.Unix(), blobPage)
		if err != nil {
			return err
		}
		if len(bs) == 0 {
			break
		}
		after = bs[len(bs)-1].ID
		if o.DryRun {
			for _, b := range bs {
				run.Blobs++
				run.Bytes += b.Size
			}
			o.Progress(run)
			continue
		}
		var gone []*packages_model.PackageBlob
		err = s.d.DB.WithTx(ctx, func(tx db.Engine) error {
			gone = gone[:0]
			for _, b := range bs {
				ok, err := packages_model.DeleteUnreferencedBlob(ctx, tx, b.ID, cutoff.Unix())
				if err != nil {
					return err
				}
				if ok {
					gone = append(gone, b)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		var doomed []storage.BlobInfo
		for _, b := range gone {
			// An upload that read the row before it went may have
			// recorded a file against it since: put the row back and keep
			// the bytes.
			used, err := packages_model.BlobReferenced(ctx, s.d.DB.Engine(), b.ID, b.HashSHA256)
			if err != nil {
				return err
			}
			if used {
				if err := packages_model.RestoreBlob(ctx, s.d.DB.Engine(), b); err != nil {
					return fmt.Errorf("restore blob %d: %w", b.ID, err)
				}
				if err := s.d.Packages.BlobRestored(ctx, b.ID); err != nil {
					return fmt.Errorf("restore blob %d: %w", b.ID, err)
				}
				continue
			}
			doomed = append(doomed, storage.BlobInfo{Key: b.HashSHA256, Size: b.Size})
		}
		if err := s.deleteBytes(ctx, run, doomed); err != nil {
			return err
		}
		o.Progress(run)
	}
	w, ok := s.d.Store.(storage.Walker)
	if !ok {
		return nil
	}
	batch := make([]storage.BlobInfo, 0, blobPage)
	flush := func() error {
		defer func() { batch = batch[:0] }()
		hashes := make([]string, len(batch))
		for i, b := range batch {
			hashes[i] = b.Key
		}
		known, err := packages_model.BlobHashesIn(ctx, s.d.DB.Engine(), hashes)
		if err != nil {
			return err
		}
		var doomed []storage.BlobInfo
		for _, b := range batch {
			if known[b.Key] {
				continue
			}
			if o.DryRun {
				run.Blobs++
				run.Bytes += b.Size
				continue
			}
			doomed = append(doomed, b)
		}
		if err := s.deleteBytes(ctx, run, doomed); err != nil {
			return err
		}
		o.Progress(run)
		return nil
	}
	err := w.Walk(ctx, func(b storage.BlobInfo) error {
		if !b.Modified.Before(cutoff) {
			return nil
		}
		batch = append(batch, b)
		if len(batch) == blobPage {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// deleteBytes deletes blobs' bytes in one transaction that claims each
// hash first (packages_model.ClaimBlobHash): bytes whose hash has a row by
// then stay, and an upload recording one of these hashes meanwhile waits
// for the transaction to end.
func (s *Service) deleteBytes(ctx context.Context, run *packages_model.CleanupRun, bs []storage.BlobInfo) error {
	if len(bs) == 0 {
		return nil
	}
	var n, size int64
	err := s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		n, size = 0, 0
		for _, b := range bs {
			free, err := packages_model.ClaimBlobHash(ctx, tx, b.Key)
			if err != nil {
				return err
			}
			if !free {
				continue
			}
			if err := s.d.Store.Delete(ctx, b.Key); err != nil {
				return fmt.Errorf("delete blob %s: %w", b.Key, err)
			}
			if err := packages_model.ReleaseBlobClaim(ctx, tx, b.Key); err != nil {
				return err
			}
			n++
			size += b.Size
		}
		return nil
	})
	if err != nil {
		return err
	}
	run.Blobs += n
	run.Bytes += size
	return nil
}

// removeUploadTemps removes files older than the grace period from the
// upload spill directory and the local store's temp directory: live
// uploads hold theirs for the length of one request.
func (s *Service) removeUploadTemps(ctx context.Context, run *packages_model.CleanupRun, o TaskOptions) error {
	cutoff := s.d.Now().Add(-s.d.BlobGrace)
	dirs := []string{s.d.UploadTempPath}
	if l, ok := s.d.Store.(*storage.Local); ok {
		dirs = append(dirs, l.TempDir())
	}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("read upload temp directory: %w", err)
		}
		for _, e := range entries {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil || !info.ModTime().Before(cutoff) {
				continue
			}
			if !o.DryRun {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("remove upload temp file: %w", err)
				}
			}
			run.Files++
			run.Bytes += info.Size()
		}
	}
	o.Progress(run)
	return nil
}

// OwnerUsage is the bytes of the owner's files (a blob two files share
// counts twice, as for the owner's quota).
func (s *Service) OwnerUsage(ctx context.Context, doer *user_model.User, ownerName string) (int64, error) {
	owner, err := s.manage(ctx, doer, ownerName)
	if err != nil {
		return 0, err
	}
	return packages_model.OwnerUsage(ctx, s.d.DB.Engine(), owner.ID)
}
