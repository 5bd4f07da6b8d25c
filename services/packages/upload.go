package packages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
	"wharf/modules/storage"
)

// VersionInfo describes the version an upload belongs to.
type VersionInfo struct {
	Owner   *user_model.User
	Creator *user_model.User
	Type    packages_model.Type
	Name    string
	Version string
	// Metadata is stored as the version's JSON metadata when the version
	// is created (nil: none).
	Metadata any
	// RawMetadata, when set, is stored as the metadata byte for byte
	// instead (a document the format already encoded as its clients
	// read it, e.g. a Cargo index line).
	RawMetadata json.RawMessage
	// Properties are added to the version when it is created.
	Properties map[string]string
	// SerializeOwner takes the owner's lock before the package's, so
	// that a format's in-transaction check across the owner's packages
	// (Cargo's one crate per canonical name) sees every earlier one
	// committed. It is the lock order quotas use (owner, then package):
	// taking the owner's lock after the package's could deadlock with an
	// upload under a quota.
	SerializeOwner bool
	// BeforePackage (nil: nothing) runs inside the transaction after the
	// owner's lock and before the blob's and the package's: a format's
	// check that locks a row of its own (Go's repository) takes it here,
	// in the order everything else takes them (owner, repository, blob,
	// package: a repository's deletion locks it, then its packages).
	BeforePackage func(ctx context.Context, tx db.Engine) error
}

// lockFirst takes the locks an upload takes before its blob's and its
// package's: the owner's when v serializes on it, then the format's own.
func lockFirst(ctx context.Context, tx db.Engine, v *VersionInfo) error {
	if v.SerializeOwner {
		if err := packages_model.LockOwner(ctx, tx, v.Owner.ID); err != nil {
			return err
		}
	}
	if v.BeforePackage != nil {
		return v.BeforePackage(ctx, tx)
	}
	return nil
}

// FileInfo describes one uploaded file.
type FileInfo struct {
	Name         string
	CompositeKey string
	IsLead       bool
	Data         *packages_module.HashedBuffer
	Properties   map[string]string
}

// createMode says what an upload may create and what it may join.
type createMode int

const (
	newVersion      createMode = iota // the version must not exist
	versionOrFile                     // the version may exist; the file must not
	existingVersion                   // the version must exist; the file must not
)

// ErrQuotaExceeded is the answer for an owner over a quota.
var ErrQuotaExceeded = apperr.New(apperr.Forbidden, "package quota exceeded")

// Added is what a create helper made or joined.
type Added struct {
	Package *packages_model.Package
	Version *packages_model.PackageVersion
	// File is nil for CreateVersion.
	File *packages_model.PackageFile
	// VersionCreated is false when the file joined a version that existed.
	VersionCreated bool
}

// InTx is a format's part of a change, run inside the change's transaction
// after everything else (the rows and the format's hooks): what it writes
// (npm's dist-tags and repository link, a job) commits with the change or
// not at all, and its error undoes the change. Nil: nothing.
type InTx func(ctx context.Context, tx db.Engine, added *Added) error

// CreatePackageAndAddFile stores a new version with its first file; a
// version that exists is a conflict.
func (s *Service) CreatePackageAndAddFile(ctx context.Context, v *VersionInfo, f *FileInfo, also InTx) (*Added, error) {
	return s.addFile(ctx, v, f, newVersion, also)
}

// CreatePackageOrAddFileToExisting stores a file, creating the package and
// version if needed; a file that exists is a conflict.
func (s *Service) CreatePackageOrAddFileToExisting(ctx context.Context, v *VersionInfo, f *FileInfo, also InTx) (*Added, error) {
	return s.addFile(ctx, v, f, versionOrFile, also)
}

// AddFileToExistingPackage adds a file to a version that must exist; a
// missing version is not found, a file that exists a conflict.
func (s *Service) AddFileToExistingPackage(ctx context.Context, v *VersionInfo, f *FileInfo, also InTx) (*Added, error) {
	return s.addFile(ctx, v, f, existingVersion, also)
}

// addFile writes the blob's bytes first (content-addressed, idempotent),
// then records everything in one transaction. If the transaction fails,
// the blob stays unreferenced until the cleanup's blob task removes it
// after its grace period (precheck keeps that to uploads refused by a
// concurrent change); no row ever points at bytes that are not stored
// (recordBlob). also (nil: nothing) runs last inside the transaction.
func (s *Service) addFile(ctx context.Context, v *VersionInfo, f *FileInfo, mode createMode, also InTx) (*Added, error) {
	// Refuse what can be refused before any byte is stored: bytes saved
	// for an upload that is then refused would stay on disk (past the
	// owner's quota) until the blob task's grace period ends. The
	// transaction below checks again, authoritatively.
	if err := s.precheck(ctx, v, f, mode); err != nil {
		return nil, err
	}
	metadata, err := encodeMetadata(v)
	if err != nil {
		return nil, err
	}
	if err := s.storeBytes(ctx, f.Data); err != nil {
		return nil, fmt.Errorf("store package file: %w", err)
	}
	if err := s.fault(ctx, FaultAfterBlob); err != nil {
		return nil, err
	}
	now := s.now()
	var added *Added
	err = s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if err := s.checkQuotas(ctx, tx, v, f.Data.Size(), mode, true); err != nil {
			return err
		}
		if err := lockFirst(ctx, tx, v); err != nil {
			return err
		}
		blob, err := s.recordBlob(ctx, tx, f, now)
		if err != nil {
			return err
		}
		p, err := lockedPackage(ctx, tx, v, now, mode != existingVersion)
		if err != nil {
			return err
		}
		creatorID := int64(0)
		if v.Creator != nil {
			creatorID = v.Creator.ID
		}
		candidate := &packages_model.PackageVersion{PackageID: p.ID, CreatorID: creatorID, Version: v.Version, MetadataJSON: metadata, CreatedUnix: now}
		var pv *packages_model.PackageVersion
		created := false
		switch mode {
		case newVersion:
			if err := packages_model.InsertVersion(ctx, tx, candidate); err != nil {
				return err
			}
			pv, created = candidate, true
		case versionOrFile:
			if pv, created, err = packages_model.GetOrInsertVersion(ctx, tx, candidate); err != nil {
				return err
			}
		case existingVersion:
			if pv, err = packages_model.GetVersion(ctx, tx, p.ID, v.Version); err != nil {
				return err
			}
		}
		if created {
			if err := insertProperties(ctx, tx, packages_model.PropertyTypeVersion, pv.ID, v.Properties); err != nil {
				return err
			}
		}
		pf := &packages_model.PackageFile{VersionID: pv.ID, BlobID: blob.ID, Name: f.Name, CompositeKey: f.CompositeKey, IsLead: f.IsLead, CreatedUnix: now}
		if err := packages_model.InsertFile(ctx, tx, pf); err != nil {
			return err
		}
		if err := insertProperties(ctx, tx, packages_model.PropertyTypeFile, pf.ID, f.Properties); err != nil {
			return err
		}
		added = &Added{Package: p, Version: pv, File: pf, VersionCreated: created}
		return s.finishAdd(ctx, tx, v, added, also)
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// finishAdd is the end of every create transaction: the fault point, the
// format's hook, the caller's part.
func (s *Service) finishAdd(ctx context.Context, tx db.Engine, v *VersionInfo, added *Added, also InTx) error {
	if err := s.fault(ctx, FaultAfterRows); err != nil {
		return err
	}
	c := Change{Package: added.Package, Version: added.Version, Doer: v.Creator}
	var err error
	switch {
	case added.VersionCreated:
		err = s.formats.versionAdded(ctx, tx, c)
	case added.File != nil:
		err = s.formats.filesChanged(ctx, tx, c)
	}
	if err != nil {
		return err
	}
	if also != nil {
		if err := also(ctx, tx, added); err != nil {
			return err
		}
	}
	return s.fault(ctx, FaultBeforeCommit)
}

// recordBlob records the row of an upload's bytes inside its transaction
// and makes sure the bytes are there. Save skips bytes that already exist,
// and the blob task may delete old unreferenced bytes between that Save
// and this transaction (a version removed and published again): its
// deletion claims the hash's row first, so the insert here waits for it,
// and once it is done the bytes are written again from the upload's
// buffer. A row therefore never points at missing bytes. A row stored
// without its other digests is completed (completeDigests).
func (s *Service) recordBlob(ctx context.Context, tx db.Engine, f *FileInfo, now int64) (*packages_model.PackageBlob, error) {
	h := f.Data.Hashes()
	blob, err := packages_model.GetOrInsertBlob(ctx, tx, &packages_model.PackageBlob{
		Size: f.Data.Size(), HashMD5: h.MD5, HashSHA1: h.SHA1, HashSHA256: h.SHA256, HashSHA512: h.SHA512, CreatedUnix: now,
	})
	if err != nil {
		return nil, err
	}
	// An old row (bytes of a removed version published again) is renewed
	// in this transaction, so the blob task does not take it away under
	// the new file.
	if err := packages_model.TouchBlob(ctx, tx, blob.ID, now); err != nil {
		return nil, err
	}
	if _, err := s.d.Store.Stat(ctx, h.SHA256); errors.Is(err, storage.ErrNotExist) {
		if err := s.storeBytes(ctx, f.Data); err != nil {
			return nil, fmt.Errorf("store package file again: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("check the stored package file: %w", err)
	}
	if err := s.completeDigests(ctx, tx, blob, h); err != nil {
		return nil, err
	}
	return blob, nil
}

func encodeMetadata(v *VersionInfo) (string, error) {
	if v.RawMetadata != nil {
		if !json.Valid(v.RawMetadata) {
			return "", fmt.Errorf("encode metadata: the raw metadata is not JSON")
		}
		return string(v.RawMetadata), nil
	}
	if v.Metadata == nil {
		return "", nil
	}
	b, err := json.Marshal(v.Metadata)
	if err != nil {
		return "", fmt.Errorf("encode metadata: %w", err)
	}
	return string(b), nil
}

// lockedPackage returns the package v names, inserted when create is set
// and it is missing, with its row locked until tx ends. A removal of the
// package's last version takes the same lock before it counts what is
// left (removeVersion), so an upload and that removal run one after the
// other: the removal sees the new version and keeps the package, or the
// upload sees the package gone and creates it again. Without the lock,
// on PostgreSQL, the upload's version could be committed into a package
// row the removal had just deleted.
func lockedPackage(ctx context.Context, tx db.Engine, v *VersionInfo, now int64, create bool) (*packages_model.Package, error) {
	for attempt := 0; ; attempt++ {
		var p *packages_model.Package
		var err error
		if create {
			p, err = packages_model.GetOrInsertPackage(ctx, tx, &packages_model.Package{OwnerID: v.Owner.ID, Type: v.Type, Name: v.Name, CreatedUnix: now})
		} else {
			p, err = packages_model.GetPackageByName(ctx, tx, v.Owner.ID, v.Type, v.Name)
		}
		if err != nil {
			return nil, err
		}
		err = packages_model.LockPackage(ctx, tx, p.ID)
		if errors.Is(err, packages_model.ErrPackageNotExist) && create && attempt < 3 {
			continue // removed while this transaction waited for it: create it again
		}
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// versionExists reports whether the version v names is stored.
func versionExists(ctx context.Context, e db.Engine, v *VersionInfo) (bool, error) {
	p, err := packages_model.GetPackageByName(ctx, e, v.Owner.ID, v.Type, v.Name)
	if errors.Is(err, packages_model.ErrPackageNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	_, err = packages_model.GetVersion(ctx, e, p.ID, v.Version)
	if errors.Is(err, packages_model.ErrVersionNotExist) {
		return false, nil
	}
	return err == nil, err
}

// precheck answers, without a transaction and before the upload's bytes
// are stored, what addFile's transaction would refuse for the state the
// database is in now: a version or file that exists, a version that does
// not, an owner over a quota. A concurrent change can still make the
// transaction refuse; then the blob stays unreferenced.
func (s *Service) precheck(ctx context.Context, v *VersionInfo, f *FileInfo, mode createMode) error {
	e := s.d.DB.Engine()
	if err := s.checkQuotas(ctx, e, v, f.Data.Size(), mode, false); err != nil {
		return err
	}
	p, err := packages_model.GetPackageByName(ctx, e, v.Owner.ID, v.Type, v.Name)
	if errors.Is(err, packages_model.ErrPackageNotExist) && mode != existingVersion {
		return nil
	} else if err != nil {
		return err
	}
	pv, err := packages_model.GetVersion(ctx, e, p.ID, v.Version)
	switch {
	case errors.Is(err, packages_model.ErrVersionNotExist) && mode != existingVersion:
		return nil
	case err != nil:
		return err
	case mode == newVersion:
		return packages_model.ErrVersionExists
	}
	if _, err := packages_model.GetFile(ctx, e, pv.ID, f.Name, f.CompositeKey); err == nil {
		return packages_model.ErrFileExists
	} else if !errors.Is(err, packages_model.ErrFileNotExist) {
		return err
	}
	return nil
}

func insertProperties(ctx context.Context, tx db.Engine, t packages_model.PropertyType, id int64, props map[string]string) error {
	for name, value := range props {
		if err := packages_model.InsertProperty(ctx, tx, t, id, name, value); err != nil {
			return err
		}
	}
	return nil
}

// checkQuotas applies LIMIT_TOTAL_OWNER_COUNT (versions) and
// LIMIT_TOTAL_OWNER_SIZE (bytes) to the owner; administrators are exempt,
// as in Gitea. It must run inside the transaction that then inserts: it
// first locks the owner (packages_model.LockOwner), so that concurrent
// uploads of one owner count and insert one after the other and never
// pass a limit together.
// lock false skips the lock, for a check outside the transaction that
// only spares storing the bytes of an upload that would be refused.
func (s *Service) checkQuotas(ctx context.Context, tx db.Engine, v *VersionInfo, size int64, mode createMode, lock bool) error {
	if v.Creator != nil && v.Creator.IsAdmin {
		return nil
	}
	countLimited := s.d.Cfg.LimitTotalOwnerCount >= 0 && mode != existingVersion
	if !countLimited && s.d.Cfg.LimitTotalOwnerSize < 0 {
		return nil
	}
	if lock {
		if err := packages_model.LockOwner(ctx, tx, v.Owner.ID); err != nil {
			return err
		}
	}
	if countLimited && mode == versionOrFile {
		// The limit counts versions: a file joining a version that exists
		// adds none.
		exists, err := versionExists(ctx, tx, v)
		if err != nil {
			return err
		}
		countLimited = !exists
	}
	if limit := s.d.Cfg.LimitTotalOwnerCount; countLimited {
		n, err := packages_model.CountVersionsOf(ctx, tx, v.Owner.ID)
		if err != nil {
			return err
		}
		if n >= limit {
			return apperr.Wrap(apperr.Forbidden, ErrQuotaExceeded, "%q has %d package versions, the limit is %d", v.Owner.Name, n, limit)
		}
	}
	if limit := s.d.Cfg.LimitTotalOwnerSize; limit >= 0 {
		used, err := packages_model.OwnerUsage(ctx, tx, v.Owner.ID)
		if err != nil {
			return err
		}
		if used+size > limit {
			return apperr.Wrap(apperr.Forbidden, ErrQuotaExceeded, "%q uses %d bytes, this upload of %d bytes would pass the limit of %d", v.Owner.Name, used, size, limit)
		}
	}
	return nil
}

// CreateVersion records a version without files (its file is built
// later, e.g. a Composer archive from git); also runs in the same
// transaction (a job that builds the file). A version that exists is
// ErrVersionExists.
func (s *Service) CreateVersion(ctx context.Context, v *VersionInfo, also InTx) (*Added, error) {
	return s.createVersion(ctx, v, newVersion, also)
}

// CreateOrGetVersion is CreateVersion that, when the version exists,
// changes nothing and calls also with it (VersionCreated false) under the
// package's lock, inside the transaction: the caller decides there
// whether the existing version is the one it meant (a retried
// registration) or a conflict (also's error).
func (s *Service) CreateOrGetVersion(ctx context.Context, v *VersionInfo, also InTx) (*Added, error) {
	return s.createVersion(ctx, v, versionOrFile, also)
}

func (s *Service) createVersion(ctx context.Context, v *VersionInfo, mode createMode, also InTx) (*Added, error) {
	metadata, err := encodeMetadata(v)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var added *Added
	err = s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if err := s.checkQuotas(ctx, tx, v, 0, mode, true); err != nil {
			return err
		}
		if err := lockFirst(ctx, tx, v); err != nil {
			return err
		}
		p, err := lockedPackage(ctx, tx, v, now, true)
		if err != nil {
			return err
		}
		creatorID := int64(0)
		if v.Creator != nil {
			creatorID = v.Creator.ID
		}
		pv := &packages_model.PackageVersion{PackageID: p.ID, CreatorID: creatorID, Version: v.Version, MetadataJSON: metadata, CreatedUnix: now}
		created := true
		if mode == newVersion {
			err = packages_model.InsertVersion(ctx, tx, pv)
		} else {
			pv, created, err = packages_model.GetOrInsertVersion(ctx, tx, pv)
		}
		if err != nil {
			return err
		}
		if created {
			if err := insertProperties(ctx, tx, packages_model.PropertyTypeVersion, pv.ID, v.Properties); err != nil {
				return err
			}
		}
		added = &Added{Package: p, Version: pv, VersionCreated: created}
		return s.finishAdd(ctx, tx, v, added, also)
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// ReplaceLeadFile stores data as the version's only file (a rebuilt
// archive) on the system's behalf: blob first, then one transaction that
// swaps the rows and tells the format (FilesChangedHook). still (nil:
// none) runs first in that transaction, under the package's lock, with
// the version as it is then: its error keeps the old file (a build for a
// commit the version has moved on from).
func (s *Service) ReplaceLeadFile(ctx context.Context, pv *packages_model.PackageVersion, f *FileInfo, still InTx) error {
	if err := s.storeBytes(ctx, f.Data); err != nil {
		return fmt.Errorf("store package file: %w", err)
	}
	now := s.now()
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		// The blob's row first, then the package: addFile's order, so an
		// upload of the same bytes to the same package cannot deadlock
		// with this on PostgreSQL.
		blob, err := s.recordBlob(ctx, tx, f, now)
		if err != nil {
			return err
		}
		// Under the package's lock no removal of the version is halfway.
		p, err := lockPackage(ctx, tx, pv.PackageID)
		if errors.Is(err, packages_model.ErrPackageNotExist) {
			return packages_model.ErrVersionNotExist // removed meanwhile
		} else if err != nil {
			return err
		}
		cur, err := packages_model.GetVersionByID(ctx, tx, pv.ID)
		if err != nil {
			return err // removed meanwhile: nothing to attach to
		}
		if still != nil {
			if err := still(ctx, tx, &Added{Package: p, Version: cur}); err != nil {
				return err
			}
		}
		ids, err := packages_model.FileIDsOfVersion(ctx, tx, pv.ID)
		if err != nil {
			return err
		}
		if err := packages_model.DeleteProperties(ctx, tx, packages_model.PropertyTypeFile, ids...); err != nil {
			return err
		}
		if err := packages_model.DeleteFilesOfVersion(ctx, tx, pv.ID); err != nil {
			return err
		}
		if err := packages_model.InsertFile(ctx, tx, &packages_model.PackageFile{VersionID: pv.ID, BlobID: blob.ID, Name: f.Name, IsLead: f.IsLead, CreatedUnix: now}); err != nil {
			return err
		}
		return s.formats.filesChanged(ctx, tx, Change{Package: p, Version: pv})
	})
}
