package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	packages_module "wharf/modules/packages"
)

// Format is a registry type as the core knows it. Each format gives one
// to the core when the app is wired (Deps.Formats). Besides this small
// interface a format may implement the hooks below; the core finds them
// by type assertion, as net/http finds an http.Flusher.
//
// A hook runs inside the transaction of the change it hears about, after
// the change's rows are written and before the commit: what it writes
// commits with the change or not at all, and an error from it undoes the
// whole change. This is how a format's derived state (npm's dist-tags and
// change counter, Composer's change stamps, later Cargo's index and
// RubyGems' compact index) stays current whichever path makes the change:
// the client protocol, the packages API, a git push, a cleanup rule or a
// web form. Hooks get the transaction only: they must not call back into
// the Service (which would open a second transaction) nor do slow work
// (enqueue a job instead).
type Format interface {
	Type() packages_model.Type
	// CompareVersions orders two versions of the format: negative when
	// a is lower, 0 when they are the same version, positive when higher.
	CompareVersions(a, b string) int
}

// Change is what a hook hears: which package and version, and who made
// the change (nil: the system, e.g. a deleted tag or a cleanup rule).
type Change struct {
	Package *packages_model.Package
	// Version is nil in PackageRemoved.
	Version *packages_model.PackageVersion
	Doer    *user_model.User
}

// VersionAddedHook hears that a version was created (by an upload or a
// registration), after its first file, if any, is recorded.
type VersionAddedHook interface {
	VersionAdded(ctx context.Context, tx db.Engine, c Change) error
}

// VersionRemovedHook hears that a version is gone with its files. The
// package still exists when the hook runs, even when this was its last
// version (PackageRemoved follows then).
type VersionRemovedHook interface {
	VersionRemoved(ctx context.Context, tx db.Engine, c Change) error
}

// PackageRemovedHook hears that a package is gone with its last version;
// its row and properties are already deleted.
type PackageRemovedHook interface {
	PackageRemoved(ctx context.Context, tx db.Engine, c Change) error
}

// FilesChangedHook hears that the files of an existing version changed
// (a file added to it or removed while the version stays, or its lead
// file replaced): the digests a document shows moved.
type FilesChangedHook interface {
	FilesChanged(ctx context.Context, tx db.Engine, c Change) error
}

// VersionRemovalGuard lets a format refuse a removal a caller asks for
// (npm: unpublishing may be turned off or limited in time). It is asked
// by every path that removes on a caller's behalf, never for removals the
// system makes (a deleted source tag).
type VersionRemovalGuard interface {
	MayRemoveVersion(a *Access, pv *packages_model.PackageVersion) error
}

// formats is the set the app wired, by type.
type formats map[packages_model.Type]Format

func newFormats(list []Format) (formats, error) {
	fs := formats{}
	for _, f := range list {
		if _, dup := fs[f.Type()]; dup {
			return nil, fmt.Errorf("format %q is given twice", f.Type())
		}
		fs[f.Type()] = f
	}
	return fs, nil
}

// of is the format of type t; a type no format was wired for (a type a
// later release adds, seen by an older binary) orders its versions
// naturally and has no hooks.
func (fs formats) of(t packages_model.Type) Format {
	if f, ok := fs[t]; ok {
		return f
	}
	return plainFormat(t)
}

type plainFormat packages_model.Type

func (p plainFormat) Type() packages_model.Type     { return packages_model.Type(p) }
func (plainFormat) CompareVersions(a, b string) int { return packages_module.CompareNatural(a, b) }

func (fs formats) versionAdded(ctx context.Context, tx db.Engine, c Change) error {
	if h, ok := fs.of(c.Package.Type).(VersionAddedHook); ok {
		return h.VersionAdded(ctx, tx, c)
	}
	return nil
}

func (fs formats) versionRemoved(ctx context.Context, tx db.Engine, c Change) error {
	if h, ok := fs.of(c.Package.Type).(VersionRemovedHook); ok {
		return h.VersionRemoved(ctx, tx, c)
	}
	return nil
}

func (fs formats) packageRemoved(ctx context.Context, tx db.Engine, c Change) error {
	if h, ok := fs.of(c.Package.Type).(PackageRemovedHook); ok {
		return h.PackageRemoved(ctx, tx, c)
	}
	return nil
}

func (fs formats) filesChanged(ctx context.Context, tx db.Engine, c Change) error {
	if h, ok := fs.of(c.Package.Type).(FilesChangedHook); ok {
		return h.FilesChanged(ctx, tx, c)
	}
	return nil
}

func (fs formats) mayRemoveVersion(t packages_model.Type, a *Access, pv *packages_model.PackageVersion) error {
	if g, ok := fs.of(t).(VersionRemovalGuard); ok {
		return g.MayRemoveVersion(a, pv)
	}
	return nil
}

// VersionPinner names versions of a package that cleanup rules must keep,
// each with the reason shown in the rule's preview: what the format's
// clients resolve through a pointer (npm's dist-tags such as "latest", a
// Composer version registered from a source repository's tag). Removing
// one would break installs that follow the pointer. It reads in e, which
// may be the cleanup run's transaction.
type VersionPinner interface {
	PinnedVersions(ctx context.Context, e db.Engine, p *packages_model.Package) (map[int64]string, error)
}

// PinnedVersions is the versions of p its format pins (VersionPinner), by
// id, with the reason; none when the format pins nothing.
func (s *Service) PinnedVersions(ctx context.Context, e db.Engine, p *packages_model.Package) (map[int64]string, error) {
	if h, ok := s.formats.of(p.Type).(VersionPinner); ok {
		return h.PinnedVersions(ctx, e, p)
	}
	return nil, nil
}

// MayRemoveVersion asks pv's format whether a removes it
// (VersionRemovalGuard), without removing: a cleanup rule's selection
// keeps, and its preview shows, what the removal would refuse.
func (s *Service) MayRemoveVersion(a *Access, p *packages_model.Package, pv *packages_model.PackageVersion) error {
	return s.formats.mayRemoveVersion(p.Type, a, pv)
}
