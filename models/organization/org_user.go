// Package organization holds organisation membership. The organisation
// itself is a row of models/user with TypeOrganization, as in Gitea.
package organization

import (
	"context"
	"fmt"
	"strings"

	"wharf/models/db"
	"wharf/models/user"
	"wharf/modules/apperr"
)

// Role is what a member may do in an organisation. Higher includes lower.
type Role int

// The roles.
const (
	RoleNone  Role = 0
	RoleRead  Role = 1
	RoleWrite Role = 2
	RoleOwner Role = 3
)

var roleNames = map[Role]string{RoleRead: "read", RoleWrite: "write", RoleOwner: "owner"}

func (r Role) String() string { return roleNames[r] }

// ParseRole reads "read", "write" or "owner"; "" is read.
func ParseRole(s string) (Role, error) {
	if s == "" {
		return RoleRead, nil
	}
	for r, name := range roleNames {
		if strings.EqualFold(s, name) {
			return r, nil
		}
	}
	return RoleNone, apperr.New(apperr.Unprocessable, "role %q is invalid: want read, write or owner", s)
}

// OrgUser is one membership.
type OrgUser struct {
	ID          int64 `xorm:"pk autoincr"`
	OrgID       int64 `xorm:"UNIQUE(s) INDEX NOT NULL"`
	UID         int64 `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Role        Role  `xorm:"NOT NULL DEFAULT 1"`
	CreatedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(OrgUser)} }

// GetRole returns the user's role in the organisation, RoleNone if not a member.
func GetRole(ctx context.Context, e db.Engine, orgID, uid int64) (Role, error) {
	ou := &OrgUser{}
	has, err := e.Context(ctx).Where("org_id = ? AND uid = ?", orgID, uid).Get(ou)
	if err != nil {
		return RoleNone, fmt.Errorf("get membership: %w", err)
	}
	if !has {
		return RoleNone, nil
	}
	return ou.Role, nil
}

// SetRole adds the member or changes its role.
func SetRole(ctx context.Context, e db.Engine, orgID, uid int64, role Role, now int64) error {
	n, err := e.Context(ctx).Where("org_id = ? AND uid = ?", orgID, uid).Cols("role").Update(&OrgUser{Role: role})
	if err != nil {
		return fmt.Errorf("update membership: %w", err)
	}
	if n > 0 {
		return nil
	}
	if _, err := e.Context(ctx).Insert(&OrgUser{OrgID: orgID, UID: uid, Role: role, CreatedUnix: now}); err != nil {
		if db.IsUniqueViolation(err) {
			return apperr.New(apperr.Conflict, "membership changed concurrently, try again")
		}
		return fmt.Errorf("insert membership: %w", err)
	}
	return nil
}

// RemoveMember deletes a membership; it reports whether one existed.
func RemoveMember(ctx context.Context, e db.Engine, orgID, uid int64) (bool, error) {
	n, err := e.Context(ctx).Where("org_id = ? AND uid = ?", orgID, uid).Delete(new(OrgUser))
	if err != nil {
		return false, fmt.Errorf("delete membership: %w", err)
	}
	return n > 0, nil
}

// CountOwners counts the owners of an organisation.
func CountOwners(ctx context.Context, e db.Engine, orgID int64) (int64, error) {
	return e.Context(ctx).Where("org_id = ? AND role = ?", orgID, RoleOwner).Count(new(OrgUser))
}

// DeleteByOrg removes every membership of an organisation.
func DeleteByOrg(ctx context.Context, e db.Engine, orgID int64) error {
	_, err := e.Context(ctx).Where("org_id = ?", orgID).Delete(new(OrgUser))
	return err
}

// DeleteByUser removes every membership of a user.
func DeleteByUser(ctx context.Context, e db.Engine, uid int64) error {
	_, err := e.Context(ctx).Where("uid = ?", uid).Delete(new(OrgUser))
	return err
}

// OrgIDsOf lists the organisations the user belongs to.
func OrgIDsOf(ctx context.Context, e db.Engine, uid int64) ([]int64, error) {
	var ids []int64
	if err := e.Context(ctx).Table(new(OrgUser)).Where("uid = ?", uid).Cols("org_id").Find(&ids); err != nil {
		return nil, fmt.Errorf("list memberships: %w", err)
	}
	return ids, nil
}

// SoleOwnedOrgs lists organisations where uid is the only owner.
func SoleOwnedOrgs(ctx context.Context, e db.Engine, uid int64) ([]*user.User, error) {
	var orgs []*user.User
	err := e.Context(ctx).Table("user").Alias("u").
		Join("INNER", []string{"org_user", "ou"}, "ou.org_id = u.id AND ou.uid = ? AND ou.role = ?", uid, RoleOwner).
		Where("(SELECT COUNT(*) FROM org_user o2 WHERE o2.org_id = u.id AND o2.role = ?) = 1", RoleOwner).
		OrderBy("u.lower_name").Find(&orgs)
	if err != nil {
		return nil, fmt.Errorf("list solely owned organisations: %w", err)
	}
	return orgs, nil
}

// Member is a user with a role.
type Member struct {
	User *user.User
	Role Role
}

// ListMembers returns one page of members ordered by name, and the total.
func ListMembers(ctx context.Context, e db.Engine, orgID int64, opts db.ListOptions) ([]Member, int64, error) {
	total, err := e.Context(ctx).Where("org_id = ?", orgID).Count(new(OrgUser))
	if err != nil {
		return nil, 0, fmt.Errorf("count members: %w", err)
	}
	type row struct {
		user.User `xorm:"extends"`
		Role      Role
	}
	var rows []row
	err = e.Context(ctx).Table("user").Alias("u").Select("u.*, ou.role").
		Join("INNER", []string{"org_user", "ou"}, "ou.uid = u.id").
		Where("ou.org_id = ?", orgID).OrderBy("u.lower_name").
		Limit(opts.PageSize, opts.Offset()).Find(&rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list members: %w", err)
	}
	out := make([]Member, len(rows))
	for i := range rows {
		out[i] = Member{User: &rows[i].User, Role: rows[i].Role}
	}
	return out, total, nil
}
