// Package packages holds the registry's common rules: who may read and
// write an owner's packages, the three ways to store an upload, quotas,
// downloads, removal and repository links. Format rules live in the
// per-format folders beside it and call this service.
package packages

import (
	"context"
	"io"
	"log/slog"
	"time"

	"wharf/models/db"
	"wharf/models/organization"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
	"wharf/modules/setting"
	"wharf/modules/storage"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

// Deps are the service's dependencies.
type Deps struct {
	DB    *db.DB
	Store storage.Store
	Log   *slog.Logger
	Now   func() time.Time
	Users *user_service.Service
	Repos *repo_service.Service
	Cfg   setting.Packages
	// Formats are the registry types this instance serves, each with its
	// version order and hooks (see Format). A type without one orders
	// naturally and has no hooks.
	Formats []Format
	// Fault, when set, is called at the named points of a change and
	// its error fails the change there: tests only, nil in production.
	Fault func(ctx context.Context, p FaultPoint) error
	// MemoryLimit is how much of an upload stays in memory before it
	// spills to disk (packages_module.DefaultMemoryLimit when 0).
	MemoryLimit int
}

// Service implements the registry's common rules.
type Service struct {
	d       Deps
	formats formats
}

// New returns the service.
func New(d Deps) (*Service, error) {
	if d.MemoryLimit == 0 {
		d.MemoryLimit = packages_module.DefaultMemoryLimit
	}
	fs, err := newFormats(d.Formats)
	if err != nil {
		return nil, err
	}
	return &Service{d: d, formats: fs}, nil
}

// FaultPoint names a point inside a change where a test may make it fail.
type FaultPoint string

// The fault points.
const (
	// FaultAfterBlob is after an upload's bytes are stored, before its
	// transaction starts.
	FaultAfterBlob FaultPoint = "after-blob"
	// FaultAfterRows is inside a create helper's transaction, after the
	// version's and file's rows are written, before the format's hook and
	// the caller's work.
	FaultAfterRows FaultPoint = "after-rows"
	// FaultBeforeCommit is inside a create or removal transaction, after
	// everything, just before the commit.
	FaultBeforeCommit FaultPoint = "before-commit"
)

func (s *Service) fault(ctx context.Context, p FaultPoint) error {
	if s.d.Fault == nil {
		return nil
	}
	return s.d.Fault(ctx, p)
}

// Mode is what a caller may do with an owner's packages.
type Mode int

// The modes.
const (
	ModeNone Mode = iota
	ModeRead
	ModeWrite
)

// Access is an owner's registry as one caller sees it.
type Access struct {
	Owner *user_model.User
	Doer  *user_model.User // nil when anonymous
	Mode  Mode
}

// Access resolves the owner and decides the caller's mode: anyone who may
// see the owner reads; the user itself, members of an organisation with
// write or owner role, and admins write. An owner the caller may not see
// is not found.
func (s *Service) Access(ctx context.Context, doer *user_model.User, ownerName string) (*Access, error) {
	owner, err := s.d.Users.GetVisible(ctx, doer, ownerName)
	if err != nil {
		return nil, err
	}
	return s.accessTo(ctx, doer, owner)
}

// AccessTo is Access for an owner already loaded (work the system does on
// a user's behalf, which holds IDs, not names).
func (s *Service) AccessTo(ctx context.Context, doer, owner *user_model.User) (*Access, error) {
	ok, err := s.d.Users.CanSee(ctx, doer, owner)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Wrap(apperr.NotFound, user_model.ErrUserNotExist, "%q", owner.Name)
	}
	return s.accessTo(ctx, doer, owner)
}

func (s *Service) accessTo(ctx context.Context, doer, owner *user_model.User) (*Access, error) {
	a := &Access{Owner: owner, Doer: doer, Mode: ModeRead}
	if doer == nil {
		return a, nil
	}
	switch {
	case doer.IsAdmin || doer.ID == owner.ID:
		a.Mode = ModeWrite
	case owner.IsOrganization():
		role, err := organization.GetRole(ctx, s.d.DB.Engine(), owner.ID, doer.ID)
		if err != nil {
			return nil, err
		}
		if role >= organization.RoleWrite {
			a.Mode = ModeWrite
		}
	}
	return a, nil
}

// RequireWrite fails unless the caller may write: Unauthorized when
// anonymous (so that clients send credentials), Forbidden otherwise.
func (a *Access) RequireWrite() error {
	if a.Mode >= ModeWrite {
		return nil
	}
	if a.Doer == nil {
		return apperr.New(apperr.Unauthorized, "sign in to publish packages of %q", a.Owner.Name)
	}
	return apperr.New(apperr.Forbidden, "you may not publish packages of %q", a.Owner.Name)
}

// limitFor is the largest single upload of a format, -1 for unlimited.
func (s *Service) limitFor(t packages_model.Type) int64 {
	if v, ok := s.d.Cfg.LimitSize[string(t)]; ok {
		return v
	}
	return -1
}

// NewUploadBuffer reads an upload of format t in one pass with every
// digest, enforcing the format's size limit on the bytes actually read
// (TooLarge beyond it). A read that fails (the client went away, a body
// shorter than its Content-Length) is the client's error; nothing is
// kept. Formats whose documents show MD5, SHA-1 or SHA-512 (npm, Composer)
// need this; see NewLargeUploadBuffer for the others.
func (s *Service) NewUploadBuffer(r io.Reader, t packages_model.Type) (*packages_module.HashedBuffer, error) {
	return s.newUploadBuffer(r, t, -1, true)
}

// NewLargeUploadBuffer is NewUploadBuffer for a format that shows only
// the SHA-256 (generic): an upload beyond the memory limit is hashed with
// SHA-256 alone while it is read, and a job fills in its other digests
// from storage after it is recorded, so that a large upload runs at the
// speed of the disk. declared is the Content-Length (-1: unknown); a
// larger one than the memory limit spills from the first byte. On local
// storage the spill file is the store's own, which becomes the blob
// without a second copy.
func (s *Service) NewLargeUploadBuffer(r io.Reader, t packages_model.Type, declared int64) (*packages_module.HashedBuffer, error) {
	return s.newUploadBuffer(r, t, declared, false)
}

func (s *Service) newUploadBuffer(r io.Reader, t packages_model.Type, declared int64, all bool) (*packages_module.HashedBuffer, error) {
	o := packages_module.Options{MaxSize: s.limitFor(t), MemoryLimit: s.d.MemoryLimit, Declared: declared, AllDigests: all,
		TempDir: s.d.Cfg.UploadTempPath}
	if ss, ok := s.d.Store.(storage.SpillStore); ok {
		o.NewSpill = func() (packages_module.SpillFile, error) { return ss.CreateSpill() }
	}
	return packages_module.NewHashedBufferWith(&clientReader{r: r}, o)
}

// clientReader marks errors of reading the request body as the client's.
type clientReader struct{ r io.Reader }

func (c *clientReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		if apperr.KindOf(err) != apperr.Internal {
			return n, err
		}
		return n, apperr.Wrap(apperr.Invalid, err, "upload interrupted")
	}
	return n, err
}

// Compare orders two versions of a format.
func (s *Service) Compare(t packages_model.Type, a, b string) int {
	return s.formats.of(t).CompareVersions(a, b)
}

func (s *Service) now() int64 { return s.d.Now().Unix() }
