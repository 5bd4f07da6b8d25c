package packages

import (
	"context"
	"errors"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
)

// The removal functions, one per level (file, version, package), are the
// only way anything leaves the registry: every path (the packages API, a
// format's client protocol, a deleted git tag, cleanup rules, the web UI)
// goes through them, and they call the format's hooks inside their
// transaction (see Format). The blobs stay: another file may share them;
// the cleanup's blob task removes those left unreferenced.

// RemoveVersion removes a version with its files and properties on the
// caller's behalf, and the package too when no version is left; one
// transaction. The format may refuse (VersionRemovalGuard).
func (s *Service) RemoveVersion(ctx context.Context, a *Access, pv *packages_model.PackageVersion) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if err := s.removeVersion(ctx, tx, a, pv); err != nil {
			return err
		}
		return s.fault(ctx, FaultBeforeCommit)
	})
}

// RemoveVersionInTx is RemoveVersion inside the caller's transaction, for
// a format that removes several versions and changes its own state all at
// once or not at all (npm's unpublish).
func (s *Service) RemoveVersionInTx(ctx context.Context, tx db.Engine, a *Access, pv *packages_model.PackageVersion) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return s.removeVersion(ctx, tx, a, pv)
}

// RemoveVersionBySystem removes a version on the system's behalf (its
// source went away): no caller rights are involved and no format guard is
// asked; the hooks run as for any removal.
func (s *Service) RemoveVersionBySystem(ctx context.Context, pv *packages_model.PackageVersion) error {
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if err := s.removeVersion(ctx, tx, nil, pv); err != nil {
			return err
		}
		return s.fault(ctx, FaultBeforeCommit)
	})
}

// removeVersion removes pv inside tx; a is nil for the system.
func (s *Service) removeVersion(ctx context.Context, tx db.Engine, a *Access, pv *packages_model.PackageVersion) error {
	// The package's lock first: an upload into the package holds it until
	// it commits (lockedPackage), so the versions counted below include
	// every committed upload and the package row is never deleted under
	// one.
	p, err := lockPackage(ctx, tx, pv.PackageID)
	if errors.Is(err, packages_model.ErrPackageNotExist) {
		return packages_model.ErrVersionNotExist // removed meanwhile
	} else if err != nil {
		return err
	}
	// Read again under the lock: the caller's copy may be stale.
	pv, err = packages_model.GetVersionByID(ctx, tx, pv.ID)
	if err != nil {
		return err
	}
	if a != nil {
		if err := s.formats.mayRemoveVersion(p.Type, a, pv); err != nil {
			return err
		}
	}
	fileIDs, err := packages_model.FileIDsOfVersion(ctx, tx, pv.ID)
	if err != nil {
		return err
	}
	if err := packages_model.DeleteProperties(ctx, tx, packages_model.PropertyTypeFile, fileIDs...); err != nil {
		return err
	}
	if err := packages_model.DeleteFilesOfVersion(ctx, tx, pv.ID); err != nil {
		return err
	}
	if err := packages_model.DeleteProperties(ctx, tx, packages_model.PropertyTypeVersion, pv.ID); err != nil {
		return err
	}
	if err := packages_model.DeleteVersionByID(ctx, tx, pv.ID); err != nil {
		return err
	}
	c := Change{Package: p, Version: pv, Doer: doerOf(a)}
	if err := s.formats.versionRemoved(ctx, tx, c); err != nil {
		return err
	}
	left, err := packages_model.CountVersions(ctx, tx, p.ID)
	if err != nil || left > 0 {
		return err
	}
	return s.deletePackage(ctx, tx, p, c.Doer)
}

// deletePackage deletes a package without versions and tells its format.
func (s *Service) deletePackage(ctx context.Context, tx db.Engine, p *packages_model.Package, doer *user_model.User) error {
	if err := packages_model.DeleteProperties(ctx, tx, packages_model.PropertyTypePackage, p.ID); err != nil {
		return err
	}
	if err := packages_model.DeletePackageByID(ctx, tx, p.ID); err != nil {
		return err
	}
	return s.formats.packageRemoved(ctx, tx, Change{Package: p, Doer: doer})
}

// RemoveFile removes one file of a version on the caller's behalf; the
// version goes too when it has no file left (as RemoveVersion).
func (s *Service) RemoveFile(ctx context.Context, a *Access, pv *packages_model.PackageVersion, filename, compositeKey string) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		// The package's lock before counting the files left: an upload
		// into the version holds it until its file is committed.
		p, err := lockPackage(ctx, tx, pv.PackageID)
		if errors.Is(err, packages_model.ErrPackageNotExist) {
			return packages_model.ErrFileNotExist
		} else if err != nil {
			return err
		}
		pf, err := packages_model.GetFile(ctx, tx, pv.ID, filename, compositeKey)
		if err != nil {
			return err
		}
		n, err := packages_model.CountFiles(ctx, tx, pv.ID)
		if err != nil {
			return err
		}
		if n <= 1 {
			// The version's last file: the version goes, and its format
			// decides whether it may.
			err = s.removeVersion(ctx, tx, a, pv)
		} else {
			err = s.removeOneFile(ctx, tx, a, p, pv, pf.ID)
		}
		if err != nil {
			return err
		}
		return s.fault(ctx, FaultBeforeCommit)
	})
}

func (s *Service) removeOneFile(ctx context.Context, tx db.Engine, a *Access, p *packages_model.Package, pv *packages_model.PackageVersion, fileID int64) error {
	if err := packages_model.DeleteProperties(ctx, tx, packages_model.PropertyTypeFile, fileID); err != nil {
		return err
	}
	if err := packages_model.DeleteFileByID(ctx, tx, fileID); err != nil {
		return err
	}
	return s.formats.filesChanged(ctx, tx, Change{Package: p, Version: pv, Doer: doerOf(a)})
}

// RemovePackage removes a package with every version on the caller's
// behalf: all of them or, when the format refuses one, none.
func (s *Service) RemovePackage(ctx context.Context, a *Access, p *packages_model.Package) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		// Locked first, so that the versions listed are all there are.
		p, err := lockPackage(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		vs, err := packages_model.ListVersions(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		for _, pv := range vs {
			if err := s.removeVersion(ctx, tx, a, pv); err != nil {
				return err
			}
		}
		if len(vs) == 0 {
			if err := s.deletePackage(ctx, tx, p, a.Doer); err != nil {
				return err
			}
		}
		return s.fault(ctx, FaultBeforeCommit)
	})
}

// RemovePackageIfEmpty removes a package that has no version (left so by
// a crash, or by a path that removed versions without the core); a
// package that has versions again under its lock (a publish since it was
// found empty) stays. It reports ErrPackageNotExist when it is gone.
func (s *Service) RemovePackageIfEmpty(ctx context.Context, a *Access, p *packages_model.Package) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		p, err := lockPackage(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		n, err := packages_model.CountVersions(ctx, tx, p.ID)
		if err != nil || n > 0 {
			return err
		}
		return s.deletePackage(ctx, tx, p, a.Doer)
	})
}

// lockPackage locks a package's row for the rest of tx and returns it as
// it is under the lock.
func lockPackage(ctx context.Context, tx db.Engine, id int64) (*packages_model.Package, error) {
	if err := packages_model.LockPackage(ctx, tx, id); err != nil {
		return nil, err
	}
	return packages_model.GetPackageByID(ctx, tx, id)
}

func doerOf(a *Access) *user_model.User {
	if a == nil {
		return nil
	}
	return a.Doer
}
