// Package user holds the user table: individual accounts and, as in Gitea,
// organisations (a user row of another type).
package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"xorm.io/builder"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// Type tells individuals from organisations.
type Type int

// The user types, with Gitea's values.
const (
	TypeIndividual   Type = 0
	TypeOrganization Type = 1
)

// Visibility says who may see an owner and what it owns.
type Visibility int

// The visibilities, with Gitea's values.
const (
	VisibilityPublic  Visibility = 0
	VisibilityLimited Visibility = 1 // any signed-in user
	VisibilityPrivate Visibility = 2 // the user itself, org members, admins
)

var visibilityNames = map[Visibility]string{VisibilityPublic: "public", VisibilityLimited: "limited", VisibilityPrivate: "private"}

func (v Visibility) String() string { return visibilityNames[v] }

// ParseVisibility reads "public", "limited" or "private"; "" is public.
func ParseVisibility(s string) (Visibility, error) {
	if s == "" {
		return VisibilityPublic, nil
	}
	for v, name := range visibilityNames {
		if strings.EqualFold(s, name) {
			return v, nil
		}
	}
	return 0, apperr.New(apperr.Unprocessable, "visibility %q is invalid: want public, limited or private", s)
}

// User is an account or an organisation.
type User struct {
	ID                 int64      `xorm:"pk autoincr"`
	LowerName          string     `xorm:"VARCHAR(40) UNIQUE NOT NULL"`
	Name               string     `xorm:"VARCHAR(40) NOT NULL"`
	FullName           string     `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	Email              string     `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	LowerEmail         string     `xorm:"VARCHAR(255) INDEX NOT NULL DEFAULT ''"`
	Passwd             string     `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	MustChangePassword bool       `xorm:"NOT NULL DEFAULT false"`
	Type               Type       `xorm:"INDEX NOT NULL DEFAULT 0"`
	IsAdmin            bool       `xorm:"INDEX NOT NULL DEFAULT false"`
	IsActive           bool       `xorm:"NOT NULL DEFAULT true"`
	ProhibitLogin      bool       `xorm:"NOT NULL DEFAULT false"`
	Visibility         Visibility `xorm:"NOT NULL DEFAULT 0"`
	Description        string     `xorm:"TEXT"`
	Website            string     `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	Location           string     `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	CreatedUnix        int64      `xorm:"INDEX NOT NULL DEFAULT 0"`
	UpdatedUnix        int64      `xorm:"NOT NULL DEFAULT 0"`
	LastLoginUnix      int64      `xorm:"NOT NULL DEFAULT 0"`
}

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(User)} }

// IsOrganization reports whether u is an organisation.
func (u *User) IsOrganization() bool { return u.Type == TypeOrganization }

// ErrUserNotExist is returned when no user or organisation has the name.
var ErrUserNotExist = apperr.New(apperr.NotFound, "user does not exist")

// userColumns are User's columns in scanUser's order.
const userColumns = `id, lower_name, name, full_name, email, lower_email, passwd, must_change_password, type, is_admin,
	is_active, prohibit_login, visibility, COALESCE(description, ''), website, location, created_unix, updated_unix, last_login_unix`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// JoinedColumns are User's columns of the table joined as alias, in
// ScanJoined's order, each as its zero value where the join found no
// row (a LEFT JOIN).
func JoinedColumns(alias string) string {
	cols := []struct{ name, zero string }{{"id", "0"}, {"lower_name", "''"}, {"name", "''"}, {"full_name", "''"}, {"email", "''"},
		{"lower_email", "''"}, {"passwd", "''"}, {"must_change_password", "false"}, {"type", "0"}, {"is_admin", "false"},
		{"is_active", "false"}, {"prohibit_login", "false"}, {"visibility", "0"}, {"description", "''"}, {"website", "''"},
		{"location", "''"}, {"created_unix", "0"}, {"updated_unix", "0"}, {"last_login_unix", "0"}}
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = "COALESCE(" + alias + "." + c.name + ", " + c.zero + ")"
	}
	return strings.Join(out, ", ")
}

// JoinedDest are the scan destinations of JoinedColumns for u.
func JoinedDest(u *User) []any {
	return []any{&u.ID, &u.LowerName, &u.Name, &u.FullName, &u.Email, &u.LowerEmail, &u.Passwd, &u.MustChangePassword, &u.Type, &u.IsAdmin,
		&u.IsActive, &u.ProhibitLogin, &u.Visibility, &u.Description, &u.Website, &u.Location, &u.CreatedUnix, &u.UpdatedUnix, &u.LastLoginUnix}
}

func scanUser(row scanner, u *User) error {
	return row.Scan(&u.ID, &u.LowerName, &u.Name, &u.FullName, &u.Email, &u.LowerEmail, &u.Passwd, &u.MustChangePassword, &u.Type, &u.IsAdmin,
		&u.IsActive, &u.ProhibitLogin, &u.Visibility, &u.Description, &u.Website, &u.Location, &u.CreatedUnix, &u.UpdatedUnix, &u.LastLoginUnix)
}

// GetUserByName finds a user or organisation by name, case-insensitively.
// Every request that names an owner makes it, so it is plain SQL
// (db.QueryRow); TestGetUserByNameReadsEveryColumn keeps it in step with
// the bean.
func GetUserByName(ctx context.Context, e db.Engine, name string) (*User, error) {
	u := &User{}
	err := scanUser(db.QueryRow(ctx, e, `SELECT `+userColumns+` FROM "user" WHERE lower_name = ?`, strings.ToLower(name)), u)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.Wrap(apperr.NotFound, ErrUserNotExist, "%q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", name, err)
	}
	return u, nil
}

// GetUserByID finds a user or organisation by id (plain SQL, as
// GetUserByName: every request with a token makes it).
func GetUserByID(ctx context.Context, e db.Engine, id int64) (*User, error) {
	u := &User{}
	err := scanUser(db.QueryRow(ctx, e, `SELECT `+userColumns+` FROM "user" WHERE id = ?`, id), u)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.Wrap(apperr.NotFound, ErrUserNotExist, "id %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, nil
}

// GetUsersByIDs loads users and organisations by id in one plain query
// (documents load their creators, virtual registries their members, on
// every request), keyed by id; ids that match nothing are left out.
func GetUsersByIDs(ctx context.Context, e db.Engine, ids []int64) (map[int64]*User, error) {
	out := make(map[int64]*User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.Query(ctx, e, `SELECT `+userColumns+` FROM "user" WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("get users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u := &User{}
		if err := scanUser(rows, u); err != nil {
			return nil, fmt.Errorf("get users: %w", err)
		}
		out[u.ID] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get users: %w", err)
	}
	return out, nil
}

// IsNameTaken reports whether a user or organisation has the name.
func IsNameTaken(ctx context.Context, e db.Engine, name string) (bool, error) {
	return e.Context(ctx).Where("lower_name = ?", strings.ToLower(name)).Exist(new(User))
}

// IsEmailTaken reports whether an individual account uses the address.
func IsEmailTaken(ctx context.Context, e db.Engine, email string) (bool, error) {
	return e.Context(ctx).Where("lower_email = ? AND type = ?", strings.ToLower(email), TypeIndividual).Exist(new(User))
}

// InsertUser inserts u. A taken name is Unprocessable, as Gitea answers 422.
func InsertUser(ctx context.Context, e db.Engine, u *User) error {
	u.LowerName = strings.ToLower(u.Name)
	u.LowerEmail = strings.ToLower(u.Email)
	if _, err := e.Context(ctx).Insert(u); err != nil {
		if db.IsUniqueViolation(err) {
			return apperr.New(apperr.Unprocessable, "user %q already exists", u.Name)
		}
		return fmt.Errorf("insert user %q: %w", u.Name, err)
	}
	return nil
}

// UpdateUserCols writes the named columns of u.
func UpdateUserCols(ctx context.Context, e db.Engine, u *User, cols ...string) error {
	if _, err := e.Context(ctx).ID(u.ID).Cols(cols...).Update(u); err != nil {
		return fmt.Errorf("update user %q: %w", u.Name, err)
	}
	return nil
}

// DeleteUserByID removes the row.
func DeleteUserByID(ctx context.Context, e db.Engine, id int64) error {
	if _, err := e.Context(ctx).ID(id).Delete(new(User)); err != nil {
		return fmt.Errorf("delete user %d: %w", id, err)
	}
	return nil
}

// CountUsers counts rows of type t.
func CountUsers(ctx context.Context, e db.Engine, t Type) (int64, error) {
	return e.Context(ctx).Where("type = ?", t).Count(new(User))
}

// CountActiveAdmins counts active individual admins.
func CountActiveAdmins(ctx context.Context, e db.Engine) (int64, error) {
	return e.Context(ctx).Where("type = ? AND is_admin = ? AND is_active = ?", TypeIndividual, true, true).Count(new(User))
}

// SearchUserOptions filters SearchUsers.
type SearchUserOptions struct {
	db.ListOptions
	Type    Type
	Keyword string // matched against name and full name, case-insensitively
	UID     int64
	// MemberUID, when set, keeps only organisations that user belongs to.
	MemberUID int64
	// ViewerID limits results to what that user may see (0: anonymous);
	// ViewerAdmin sees everything.
	ViewerID    int64
	ViewerAdmin bool
	// MemberOrgIDs are organisations the viewer belongs to (private orgs the
	// viewer may still see).
	ViewerOrgIDs []int64
}

func (o *SearchUserOptions) cond() builder.Cond {
	cond := builder.NewCond().And(builder.Eq{"type": o.Type})
	if o.Keyword != "" {
		kw := "%" + strings.ToLower(o.Keyword) + "%"
		cond = cond.And(builder.Or(builder.Like{"lower_name", kw[1 : len(kw)-1]}, builder.Expr("LOWER(full_name) LIKE ?", kw)))
	}
	if o.UID > 0 {
		cond = cond.And(builder.Eq{"id": o.UID})
	}
	if o.MemberUID > 0 {
		cond = cond.And(builder.In("id", builder.Select("org_id").From("org_user").Where(builder.Eq{"uid": o.MemberUID})))
	}
	if !o.ViewerAdmin {
		visible := builder.Or(builder.Eq{"visibility": VisibilityPublic})
		if o.ViewerID > 0 {
			visible = visible.Or(builder.Eq{"visibility": VisibilityLimited}, builder.Eq{"id": o.ViewerID})
			if len(o.ViewerOrgIDs) > 0 {
				visible = visible.Or(builder.In("id", o.ViewerOrgIDs))
			}
		}
		cond = cond.And(visible)
	}
	return cond
}

// SearchUsers returns one page of matching users, ordered by name, and the
// total count.
func SearchUsers(ctx context.Context, e db.Engine, opts *SearchUserOptions) ([]*User, int64, error) {
	cond := opts.cond()
	total, err := e.Context(ctx).Where(cond).Count(new(User))
	if err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	users := make([]*User, 0, opts.PageSize)
	if err := e.Context(ctx).Where(cond).OrderBy("lower_name").Limit(opts.PageSize, opts.Offset()).Find(&users); err != nil {
		return nil, 0, fmt.Errorf("search users: %w", err)
	}
	return users, total, nil
}

// GetUserByEmail finds an individual account by its address,
// case-insensitively.
func GetUserByEmail(ctx context.Context, e db.Engine, email string) (*User, error) {
	u := &User{}
	has, err := e.Context(ctx).Where("lower_email = ? AND type = ?", strings.ToLower(email), TypeIndividual).Get(u)
	if err != nil {
		return nil, fmt.Errorf("get user by email: %w", err)
	}
	if !has {
		return nil, apperr.Wrap(apperr.NotFound, ErrUserNotExist, "email %q", email)
	}
	return u, nil
}
