// Package user holds the rules for accounts: creating, authenticating,
// finding and deleting users, who may see whom, and personal access tokens.
package user

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"wharf/models/auth"
	"wharf/models/db"
	"wharf/models/organization"
	packages_model "wharf/models/packages"
	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/secret"
	"wharf/modules/validation"
)

// Deps are the service's dependencies.
type Deps struct {
	DB                *db.DB
	Log               *slog.Logger
	Now               func() time.Time
	MinPasswordLength int
	// Hasher bounds concurrent password hashing and checking; nil means
	// one slot per CPU.
	Hasher *secret.Hasher
	// Limiter refuses password checks after too many failures; nil means
	// no limit.
	Limiter *LoginLimiter
	// CheckPassword verifies a password against a stored hash; nil means
	// secret.CheckPassword. Tests wrap it to count verifications.
	CheckPassword func(hash, password string) (bool, error)
}

// Service implements the account rules.
type Service struct {
	d Deps

	// dummyHash is verified in place of a real hash when the name is not a
	// user with a password, so that such a name costs the same work (and
	// time) as a wrong password. Computed once, on first need.
	dummyOnce sync.Once
	dummyHash string
	dummyErr  error
}

// New returns the service.
func New(d Deps) *Service {
	if d.Hasher == nil {
		d.Hasher = secret.NewHasher(0)
	}
	if d.CheckPassword == nil {
		d.CheckPassword = secret.CheckPassword
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}
}

// maxPasswordLength keeps hashing cost bounded; no real password is longer.
const maxPasswordLength = 1024

// CreateOptions describes a new account.
type CreateOptions struct {
	Name               string
	Email              string
	Password           string
	FullName           string
	Admin              bool
	MustChangePassword bool
	Visibility         user_model.Visibility
	// Inactive creates the account disabled (it cannot sign in).
	Inactive bool
}

// Create validates and stores a new individual account.
func (s *Service) Create(ctx context.Context, opts CreateOptions) (*user_model.User, error) {
	if err := s.validate(opts); err != nil {
		return nil, err
	}
	// Hash before the transaction: waiting for a hashing slot while
	// password checks are busy must not hold the database's write lock.
	hash, err := s.d.Hasher.Hash(ctx, opts.Password)
	if err != nil {
		return nil, err
	}
	var u *user_model.User
	err = s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		var err error
		u, err = s.insert(ctx, tx, opts, hash)
		return err
	})
	return u, err
}

// create validates, hashes and stores an account inside tx.
func (s *Service) create(ctx context.Context, tx db.Engine, opts CreateOptions) (*user_model.User, error) {
	if err := s.validate(opts); err != nil {
		return nil, err
	}
	hash, err := s.d.Hasher.Hash(ctx, opts.Password)
	if err != nil {
		return nil, err
	}
	return s.insert(ctx, tx, opts, hash)
}

// validate checks what needs no database.
func (s *Service) validate(opts CreateOptions) error {
	if err := validation.OwnerName(opts.Name); err != nil {
		return err
	}
	if err := validation.Email(opts.Email); err != nil {
		return err
	}
	if err := s.checkPassword(opts.Password); err != nil {
		return err
	}
	if utf8.RuneCountInString(opts.FullName) > 255 {
		return apperr.New(apperr.Unprocessable, "full name is longer than 255 characters")
	}
	return nil
}

// insert stores a validated account with its password hash, refusing a
// taken name or e-mail address.
func (s *Service) insert(ctx context.Context, tx db.Engine, opts CreateOptions, hash string) (*user_model.User, error) {
	if taken, err := user_model.IsNameTaken(ctx, tx, opts.Name); err != nil {
		return nil, err
	} else if taken {
		return nil, apperr.New(apperr.Unprocessable, "user %q already exists", opts.Name)
	}
	if taken, err := user_model.IsEmailTaken(ctx, tx, opts.Email); err != nil {
		return nil, err
	} else if taken {
		return nil, apperr.New(apperr.Unprocessable, "e-mail address %q is already used", opts.Email)
	}
	now := s.d.Now().Unix()
	u := &user_model.User{
		Name:               opts.Name,
		FullName:           opts.FullName,
		Email:              opts.Email,
		Passwd:             hash,
		MustChangePassword: opts.MustChangePassword,
		Type:               user_model.TypeIndividual,
		IsAdmin:            opts.Admin,
		IsActive:           !opts.Inactive,
		Visibility:         opts.Visibility,
		CreatedUnix:        now,
		UpdatedUnix:        now,
	}
	if err := user_model.InsertUser(ctx, tx, u); err != nil {
		return nil, err
	}
	return u, nil
}

func (s *Service) checkPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < s.d.MinPasswordLength {
		return apperr.New(apperr.Unprocessable, "password is shorter than %d characters", s.d.MinPasswordLength)
	}
	if len(pw) > maxPasswordLength {
		return apperr.New(apperr.Unprocessable, "password is longer than %d bytes", maxPasswordLength)
	}
	return nil
}

// ErrBadCredentials is the one answer for an unknown user or a wrong
// password, so that the answer does not reveal which it was.
var ErrBadCredentials = apperr.New(apperr.Unauthorized, "user does not exist or password is wrong")

// Authenticate checks a name (or the account's email address) and password. Organisations, inactive users
// and users barred from signing in are refused like a wrong password.
//
// Every check of a name costs one password verification, whether or not the
// name is a user with a password, so the answer's timing does not reveal
// which names exist. Verifications share the Hasher's slots; failures count
// against the name and the client address (ClientAddr(ctx)) in the Limiter,
// which answers TooManyRequests once either is over its limit.
func (s *Service) Authenticate(ctx context.Context, name, password string) (*user_model.User, error) {
	addr := ClientAddr(ctx)
	if err := s.d.Limiter.Check(name, addr); err != nil {
		return nil, err
	}
	if len(password) > maxPasswordLength {
		s.fail(ctx, name, addr)
		return nil, ErrBadCredentials
	}
	u, err := s.getByLogin(ctx, name)
	if err != nil && apperr.KindOf(err) != apperr.NotFound {
		return nil, err
	}
	isUser := err == nil && !u.IsOrganization() && u.Passwd != ""
	hash := ""
	if isUser {
		hash = u.Passwd
	} else if hash, err = s.dummy(); err != nil {
		return nil, err
	}
	ok, err := s.verify(ctx, name, addr, hash, password, isUser)
	if err != nil {
		if isUser {
			return nil, fmt.Errorf("check password of %q: %w", u.Name, err)
		}
		return nil, err
	}
	if !ok {
		return nil, ErrBadCredentials
	}
	s.d.Limiter.Succeed(name)
	if err := CheckCanSignIn(u); err != nil {
		return nil, err
	}
	return u, nil
}

// fail records a failed check, logging a name or address that has just
// reached its limit (once per window, not for every refused attempt).
func (s *Service) fail(ctx context.Context, name, addr string) {
	for _, key := range s.d.Limiter.Fail(name, addr) {
		s.d.Log.WarnContext(ctx, "password attempts limited after repeated failures", "key", key, "addr", addr)
	}
}

// verify checks password against hash in a Hasher slot and reports whether
// it matched a real user's (isUser) password. The limit is checked again once
// the slot is held, and a failure is recorded before the slot is given back:
// requests that queued together must not be verified after the failures of
// the first ones reached the limit. Attempts verified at the same moment in
// other slots may still each add one, so a limit can be passed by at most
// the Hasher's concurrency minus one.
func (s *Service) verify(ctx context.Context, name, addr, hash, password string, isUser bool) (bool, error) {
	release, err := s.d.Hasher.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("wait to check password: %w", err)
	}
	defer release()
	if err := s.d.Limiter.Check(name, addr); err != nil {
		return false, err
	}
	ok, err := s.d.CheckPassword(hash, password)
	if err != nil {
		return false, err
	}
	if !ok || !isUser {
		s.fail(ctx, name, addr)
		return false, nil
	}
	return true, nil
}

// dummy returns a hash of a random password with the current parameters.
func (s *Service) dummy() (string, error) {
	s.dummyOnce.Do(func() {
		var pw string
		if pw, s.dummyErr = secret.RandomPassword(); s.dummyErr == nil {
			s.dummyHash, s.dummyErr = secret.HashPassword(pw)
		}
	})
	return s.dummyHash, s.dummyErr
}

// getByLogin finds the account a sign-in names: a user name, or an email
// address (no name may contain "@"), as Gitea's sign-in form accepts.
func (s *Service) getByLogin(ctx context.Context, login string) (*user_model.User, error) {
	if !strings.Contains(login, "@") || !storable(login) {
		return s.GetByName(ctx, login)
	}
	return user_model.GetUserByEmail(ctx, s.d.DB.Engine(), login)
}

// CheckCanSignIn refuses accounts that may not act: disabled or barred.
func CheckCanSignIn(u *user_model.User) error {
	if !u.IsActive {
		return apperr.New(apperr.Forbidden, "user %q is not active", u.Name)
	}
	if u.ProhibitLogin {
		return apperr.New(apperr.Forbidden, "user %q is not allowed to sign in", u.Name)
	}
	return nil
}

// GetByName returns a user or organisation by name, whoever asks; callers
// that answer a client check CanSee.
func (s *Service) GetByName(ctx context.Context, name string) (*user_model.User, error) {
	if !storable(name) {
		// No account has such a name, and PostgreSQL refuses the query
		// (a NUL byte): a client's mistake, not a server failure.
		return nil, apperr.Wrap(apperr.NotFound, user_model.ErrUserNotExist, "%q", name)
	}
	return user_model.GetUserByName(ctx, s.d.DB.Engine(), name)
}

// storable: names, search words and tokens from a client that the
// database cannot compare match nothing.
func storable(s string) bool { return validation.StorableText(s) }

// GetVisible returns the user or organisation if viewer may see it, and a
// not-found error otherwise (a private owner must not be revealed).
func (s *Service) GetVisible(ctx context.Context, viewer *user_model.User, name string) (*user_model.User, error) {
	u, err := s.GetByName(ctx, name)
	if err != nil {
		return nil, err
	}
	ok, err := s.CanSee(ctx, viewer, u)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Wrap(apperr.NotFound, user_model.ErrUserNotExist, "%q", name)
	}
	return u, nil
}

// CanSee applies the visibility rules: public owners to everyone, limited
// ones to signed-in users, private ones to themselves, their organisation's
// members and admins. A nil viewer is anonymous.
func (s *Service) CanSee(ctx context.Context, viewer, owner *user_model.User) (bool, error) {
	switch {
	case owner.Visibility == user_model.VisibilityPublic:
		return true, nil
	case viewer == nil:
		return false, nil
	case viewer.IsAdmin || viewer.ID == owner.ID:
		return true, nil
	case owner.Visibility == user_model.VisibilityLimited:
		return true, nil
	case owner.IsOrganization():
		role, err := organization.GetRole(ctx, s.d.DB.Engine(), owner.ID, viewer.ID)
		return role > organization.RoleNone, err
	}
	return false, nil
}

// SearchOptions filters Search.
type SearchOptions struct {
	db.ListOptions
	Keyword string
	UID     int64
}

// Search lists the individual users viewer may see.
func (s *Service) Search(ctx context.Context, viewer *user_model.User, opts SearchOptions) ([]*user_model.User, int64, error) {
	if !storable(opts.Keyword) {
		return nil, 0, apperr.New(apperr.Invalid, "the search keyword must be UTF-8 text without NUL bytes")
	}
	q := &user_model.SearchUserOptions{ListOptions: opts.ListOptions, Type: user_model.TypeIndividual, Keyword: opts.Keyword, UID: opts.UID}
	if viewer != nil {
		q.ViewerID, q.ViewerAdmin = viewer.ID, viewer.IsAdmin
	}
	return user_model.SearchUsers(ctx, s.d.DB.Engine(), q)
}

// ListAll lists every individual user, for administrators.
func (s *Service) ListAll(ctx context.Context, opts db.ListOptions) ([]*user_model.User, int64, error) {
	return user_model.SearchUsers(ctx, s.d.DB.Engine(), &user_model.SearchUserOptions{ListOptions: opts, Type: user_model.TypeIndividual, ViewerAdmin: true})
}

// Delete removes an individual account with its tokens and memberships. It
// refuses while the user is the last owner of an organisation, or the last
// active admin, naming what blocks it.
func (s *Service) Delete(ctx context.Context, name string) error {
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		u, err := user_model.GetUserByName(ctx, tx, name)
		if err != nil {
			return err
		}
		if u.IsOrganization() {
			return apperr.New(apperr.Unprocessable, "%q is an organisation, not a user", u.Name)
		}
		// The owner's lock, which every upload into the user's packages
		// takes first (before any package's): none adds one between the
		// check and the deletion, and none deadlocks with the touch below.
		if err := packages_model.LockOwner(ctx, tx, u.ID); err != nil {
			return err
		}
		if err := CheckOwnsNothing(ctx, tx, u); err != nil {
			return err
		}
		orgs, err := organization.SoleOwnedOrgs(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if len(orgs) > 0 {
			names := make([]string, len(orgs))
			for i, o := range orgs {
				names[i] = o.Name
			}
			return apperr.New(apperr.Unprocessable, "user %q is the last owner of organisation(s) %s: transfer or delete them first", u.Name, strings.Join(names, ", "))
		}
		if u.IsAdmin && u.IsActive {
			n, err := user_model.CountActiveAdmins(ctx, tx)
			if err != nil {
				return err
			}
			if n <= 1 {
				return apperr.New(apperr.Unprocessable, "user %q is the last active administrator", u.Name)
			}
		}
		if err := auth.DeleteTokensOf(ctx, tx, u.ID); err != nil {
			return fmt.Errorf("delete tokens: %w", err)
		}
		if err := organization.DeleteByUser(ctx, tx, u.ID); err != nil {
			return fmt.Errorf("delete memberships: %w", err)
		}
		if err := packages_model.DeleteVirtualReferences(ctx, tx, u.ID); err != nil {
			return err
		}
		// Package documents show their versions' creators (npm's
		// _npmUser and maintainers): those the user created change.
		if err := packages_model.TouchPackagesCreatedBy(ctx, tx, u.ID); err != nil {
			return err
		}
		return user_model.DeleteUserByID(ctx, tx, u.ID)
	})
}

// ChangePassword sets a new password and clears the must-change flag.
func (s *Service) ChangePassword(ctx context.Context, name, password string, mustChange bool) error {
	if err := s.checkPassword(password); err != nil {
		return err
	}
	hash, err := s.d.Hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		u, err := user_model.GetUserByName(ctx, tx, name)
		if err != nil {
			return err
		}
		if u.IsOrganization() {
			return apperr.New(apperr.Unprocessable, "%q is an organisation, not a user", u.Name)
		}
		u.Passwd, u.MustChangePassword, u.UpdatedUnix = hash, mustChange, s.d.Now().Unix()
		return user_model.UpdateUserCols(ctx, tx, u, "passwd", "must_change_password", "updated_unix")
	})
}

// Counts returns how many users and organisations exist.
func (s *Service) Counts(ctx context.Context) (users, orgs int64, err error) {
	e := s.d.DB.Engine()
	if users, err = user_model.CountUsers(ctx, e, user_model.TypeIndividual); err != nil {
		return 0, 0, err
	}
	orgs, err = user_model.CountUsers(ctx, e, user_model.TypeOrganization)
	return users, orgs, err
}

// GetByID returns a user or organisation by id.
func (s *Service) GetByID(ctx context.Context, id int64) (*user_model.User, error) {
	return user_model.GetUserByID(ctx, s.d.DB.Engine(), id)
}

// CheckOwnsNothing refuses to delete an owner (user or organisation) that
// still owns repositories (naming them) or packages. It runs inside the deleting
// transaction.
func CheckOwnsNothing(ctx context.Context, tx db.Engine, owner *user_model.User) error {
	repos, err := repo_model.NamesByOwner(ctx, tx, owner.ID, 10)
	if err != nil {
		return err
	}
	if len(repos) > 0 {
		return apperr.New(apperr.Unprocessable, "%q still owns repositories (%s): delete or transfer them first", owner.Name, strings.Join(repos, ", "))
	}
	n, err := packages_model.CountPackagesOf(ctx, tx, owner.ID)
	if err != nil {
		return err
	}
	if n > 0 {
		return apperr.New(apperr.Unprocessable, "%q still owns %d package(s): delete them first", owner.Name, n)
	}
	return nil
}
