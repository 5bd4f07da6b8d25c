// Package org holds the rules for organisations: creating and deleting them,
// membership and roles, and who may do what in them.
package org

import (
	"context"
	"time"
	"unicode/utf8"

	"wharf/models/db"
	"wharf/models/organization"
	packages_model "wharf/models/packages"
	goproxy_model "wharf/models/packages/go"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/validation"
	user_service "wharf/services/user"
)

// Deps are the service's dependencies.
type Deps struct {
	DB    *db.DB
	Now   func() time.Time
	Users *user_service.Service
}

// Service implements the organisation rules.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }

// CreateOptions describes a new organisation.
type CreateOptions struct {
	Name        string
	FullName    string
	Email       string
	Description string
	Website     string
	Location    string
	Visibility  user_model.Visibility
}

// Info is the editable part of an organisation; nil fields stay unchanged.
type Info struct {
	FullName    *string
	Email       *string
	Description *string
	Website     *string
	Location    *string
	Visibility  *user_model.Visibility
}

func checkInfo(i Info) error {
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"full name", i.FullName, 255}, {"website", i.Website, 255}, {"location", i.Location, 255}, {"description", i.Description, 4096}} {
		if f.v != nil && utf8.RuneCountInString(*f.v) > f.max {
			return apperr.New(apperr.Unprocessable, "%s is longer than %d characters", f.name, f.max)
		}
	}
	if i.Email != nil && *i.Email != "" {
		return validation.Email(*i.Email)
	}
	return nil
}

// Create stores a new organisation with doer as its owner.
func (s *Service) Create(ctx context.Context, doer *user_model.User, opts CreateOptions) (*user_model.User, error) {
	if err := validation.OwnerName(opts.Name); err != nil {
		return nil, err
	}
	if err := checkInfo(Info{FullName: &opts.FullName, Email: &opts.Email, Description: &opts.Description, Website: &opts.Website, Location: &opts.Location}); err != nil {
		return nil, err
	}
	now := s.d.Now().Unix()
	o := &user_model.User{
		Name: opts.Name, FullName: opts.FullName, Email: opts.Email, Description: opts.Description,
		Website: opts.Website, Location: opts.Location, Visibility: opts.Visibility,
		Type: user_model.TypeOrganization, IsActive: true, CreatedUnix: now, UpdatedUnix: now,
	}
	err := s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if taken, err := user_model.IsNameTaken(ctx, tx, opts.Name); err != nil {
			return err
		} else if taken {
			return apperr.New(apperr.Unprocessable, "user %q already exists", opts.Name)
		}
		if err := user_model.InsertUser(ctx, tx, o); err != nil {
			return err
		}
		return organization.SetRole(ctx, tx, o.ID, doer.ID, organization.RoleOwner, now)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Get returns the organisation if viewer may see it.
func (s *Service) Get(ctx context.Context, viewer *user_model.User, name string) (*user_model.User, error) {
	o, err := s.d.Users.GetVisible(ctx, viewer, name)
	if err != nil {
		return nil, err
	}
	if !o.IsOrganization() {
		return nil, apperr.New(apperr.NotFound, "organisation %q does not exist", name)
	}
	return o, nil
}

// RoleOf returns u's role in o; administrators act as owners, and a nil
// user (anonymous) has none.
func (s *Service) RoleOf(ctx context.Context, o, u *user_model.User) (organization.Role, error) {
	if u == nil {
		return organization.RoleNone, nil
	}
	if u.IsAdmin {
		return organization.RoleOwner, nil
	}
	return organization.GetRole(ctx, s.d.DB.Engine(), o.ID, u.ID)
}

func (s *Service) requireOwner(ctx context.Context, o, doer *user_model.User) error {
	role, err := s.RoleOf(ctx, o, doer)
	if err != nil {
		return err
	}
	if role < organization.RoleOwner {
		return apperr.New(apperr.Forbidden, "you must be an owner of organisation %q", o.Name)
	}
	return nil
}

// Edit changes an organisation's details; owners only.
func (s *Service) Edit(ctx context.Context, doer *user_model.User, name string, info Info) (*user_model.User, error) {
	o, err := s.Get(ctx, doer, name)
	if err != nil {
		return nil, err
	}
	if err := s.requireOwner(ctx, o, doer); err != nil {
		return nil, err
	}
	if err := checkInfo(info); err != nil {
		return nil, err
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&o.FullName, info.FullName)
	set(&o.Email, info.Email)
	set(&o.Description, info.Description)
	set(&o.Website, info.Website)
	set(&o.Location, info.Location)
	wasPrivate := o.Visibility == user_model.VisibilityPrivate
	if info.Visibility != nil {
		o.Visibility = *info.Visibility
	}
	o.UpdatedUnix = s.d.Now().Unix()
	err = s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if wasPrivate && o.Visibility != user_model.VisibilityPrivate {
			// The owner's lock, which every publish takes first: a Go
			// version being published meanwhile is counted below, or waits
			// and then sees the organisation as it is now.
			if err := packages_model.LockOwner(ctx, tx, o.ID); err != nil {
				return err
			}
			// Go module versions of its private repositories were published
			// because only members (who read every repository) could see
			// its packages; they would be shown to others now.
			n, err := goproxy_model.CountPrivateRepoVersions(ctx, tx, o.ID)
			if err != nil {
				return err
			}
			if n > 0 {
				return apperr.New(apperr.Unprocessable, "%s holds %d Go module version(s) built from its private repositories, which its packages would then show to others: remove them (the packages API or a cleanup rule) or make the repositories public first", o.Name, n)
			}
		}
		return user_model.UpdateUserCols(ctx, tx, o, "full_name", "email", "lower_email", "description", "website", "location", "visibility", "updated_unix")
	})
	return o, err
}

// Delete removes an organisation and its memberships; owners only.
func (s *Service) Delete(ctx context.Context, doer *user_model.User, name string) error {
	o, err := s.Get(ctx, doer, name)
	if err != nil {
		return err
	}
	if err := s.requireOwner(ctx, o, doer); err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		// The owner's lock, which every upload into it takes first: none
		// adds a package between the check and the deletion.
		if err := packages_model.LockOwner(ctx, tx, o.ID); err != nil {
			return err
		}
		if err := user_service.CheckOwnsNothing(ctx, tx, o); err != nil {
			return err
		}
		if err := organization.DeleteByOrg(ctx, tx, o.ID); err != nil {
			return err
		}
		// Virtual registries go with the organisation, and it leaves
		// those it was a member of.
		if err := packages_model.DeleteVirtualReferences(ctx, tx, o.ID); err != nil {
			return err
		}
		return user_model.DeleteUserByID(ctx, tx, o.ID)
	})
}

// member finds the organisation (visible to doer) and the individual user.
func (s *Service) member(ctx context.Context, doer *user_model.User, orgName, userName string) (*user_model.User, *user_model.User, error) {
	o, err := s.Get(ctx, doer, orgName)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.d.Users.GetByName(ctx, userName)
	if err != nil {
		return nil, nil, err
	}
	if u.IsOrganization() {
		return nil, nil, apperr.New(apperr.Unprocessable, "%q is an organisation; only users can be members", u.Name)
	}
	return o, u, nil
}

// SetMember adds a user to the organisation or changes its role; owners
// only. The last owner cannot be demoted.
func (s *Service) SetMember(ctx context.Context, doer *user_model.User, orgName, userName string, role organization.Role) error {
	o, u, err := s.member(ctx, doer, orgName, userName)
	if err != nil {
		return err
	}
	if err := s.requireOwner(ctx, o, doer); err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if err := s.keepAnOwner(ctx, tx, o, u, role); err != nil {
			return err
		}
		return organization.SetRole(ctx, tx, o.ID, u.ID, role, s.d.Now().Unix())
	})
}

// RemoveMember removes a user from the organisation. Owners may remove
// anyone, members may leave; the last owner cannot go.
func (s *Service) RemoveMember(ctx context.Context, doer *user_model.User, orgName, userName string) error {
	o, u, err := s.member(ctx, doer, orgName, userName)
	if err != nil {
		return err
	}
	if doer.ID != u.ID {
		if err := s.requireOwner(ctx, o, doer); err != nil {
			return err
		}
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if err := s.keepAnOwner(ctx, tx, o, u, organization.RoleNone); err != nil {
			return err
		}
		removed, err := organization.RemoveMember(ctx, tx, o.ID, u.ID)
		if err != nil {
			return err
		}
		if !removed {
			return apperr.New(apperr.NotFound, "%q is not a member of %q", u.Name, o.Name)
		}
		return nil
	})
}

// keepAnOwner refuses a change that would leave the organisation without
// an owner.
func (s *Service) keepAnOwner(ctx context.Context, tx db.Engine, o, u *user_model.User, newRole organization.Role) error {
	if newRole == organization.RoleOwner {
		return nil
	}
	cur, err := organization.GetRole(ctx, tx, o.ID, u.ID)
	if err != nil || cur != organization.RoleOwner {
		return err
	}
	n, err := organization.CountOwners(ctx, tx, o.ID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return apperr.New(apperr.Unprocessable, "%q is the last owner of %q", u.Name, o.Name)
	}
	return nil
}

// ListMembers lists the members; only members and admins may see them.
func (s *Service) ListMembers(ctx context.Context, viewer *user_model.User, orgName string, opts db.ListOptions) ([]organization.Member, int64, error) {
	o, err := s.Get(ctx, viewer, orgName)
	if err != nil {
		return nil, 0, err
	}
	role, err := s.RoleOf(ctx, o, viewer)
	if err != nil {
		return nil, 0, err
	}
	if role == organization.RoleNone {
		return nil, 0, apperr.New(apperr.Forbidden, "only members of %q may list its members", o.Name)
	}
	return organization.ListMembers(ctx, s.d.DB.Engine(), o.ID, opts)
}

// IsMember reports whether userName belongs to the organisation; the
// organisation must be visible to viewer.
func (s *Service) IsMember(ctx context.Context, viewer *user_model.User, orgName, userName string) (bool, error) {
	o, u, err := s.member(ctx, viewer, orgName, userName)
	if err != nil {
		return false, err
	}
	role, err := organization.GetRole(ctx, s.d.DB.Engine(), o.ID, u.ID)
	return role > organization.RoleNone, err
}

// Permissions returns userName's role in the organisation, as seen by viewer.
func (s *Service) Permissions(ctx context.Context, viewer *user_model.User, orgName, userName string) (organization.Role, error) {
	o, u, err := s.member(ctx, viewer, orgName, userName)
	if err != nil {
		return organization.RoleNone, err
	}
	if viewer.ID != u.ID && !viewer.IsAdmin {
		if role, err := s.RoleOf(ctx, o, viewer); err != nil {
			return organization.RoleNone, err
		} else if role == organization.RoleNone {
			return organization.RoleNone, apperr.New(apperr.Forbidden, "only members of %q may see others' permissions", o.Name)
		}
	}
	return s.RoleOf(ctx, o, u)
}

// ListForUser lists the organisations userName belongs to that viewer may
// see.
func (s *Service) ListForUser(ctx context.Context, viewer *user_model.User, userName string, opts db.ListOptions) ([]*user_model.User, int64, error) {
	u, err := s.d.Users.GetVisible(ctx, viewer, userName)
	if err != nil {
		return nil, 0, err
	}
	return s.search(ctx, viewer, &user_model.SearchUserOptions{ListOptions: opts, MemberUID: u.ID})
}

// ListVisible lists the organisations viewer may see.
func (s *Service) ListVisible(ctx context.Context, viewer *user_model.User, opts db.ListOptions) ([]*user_model.User, int64, error) {
	return s.search(ctx, viewer, &user_model.SearchUserOptions{ListOptions: opts})
}

func (s *Service) search(ctx context.Context, viewer *user_model.User, q *user_model.SearchUserOptions) ([]*user_model.User, int64, error) {
	q.Type = user_model.TypeOrganization
	if viewer != nil {
		ids, err := organization.OrgIDsOf(ctx, s.d.DB.Engine(), viewer.ID)
		if err != nil {
			return nil, 0, err
		}
		q.ViewerID, q.ViewerAdmin, q.ViewerOrgIDs = viewer.ID, viewer.IsAdmin, ids
	}
	return user_model.SearchUsers(ctx, s.d.DB.Engine(), q)
}
