// Package repo holds the repository table.
package repo

import (
	"context"
	"fmt"
	"strings"

	"xorm.io/builder"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// Repository is a git repository of an owner (user or organisation).
type Repository struct {
	ID            int64  `xorm:"pk autoincr"`
	OwnerID       int64  `xorm:"UNIQUE(owner_name) INDEX NOT NULL"`
	OwnerName     string `xorm:"VARCHAR(40) NOT NULL"`
	LowerName     string `xorm:"VARCHAR(100) UNIQUE(owner_name) INDEX NOT NULL"`
	Name          string `xorm:"VARCHAR(100) NOT NULL"`
	Description   string `xorm:"TEXT"`
	IsPrivate     bool   `xorm:"INDEX NOT NULL DEFAULT false"`
	IsEmpty       bool   `xorm:"NOT NULL DEFAULT true"`
	DefaultBranch string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	CreatedUnix   int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
	UpdatedUnix   int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
	// RefsRecorded is set once the repo_ref table holds the refs the
	// ref-change events have announced. A repository from before that
	// table has none: its first reconciliation takes the refs on disk as
	// already announced instead of announcing every one as new.
	RefsRecorded bool `xorm:"NOT NULL DEFAULT false"`
}

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(Repository), new(Ref)} }

// FullName is owner/name.
func (r *Repository) FullName() string { return r.OwnerName + "/" + r.Name }

// ErrRepoNotExist is returned when the owner has no repository of the name.
var ErrRepoNotExist = apperr.New(apperr.NotFound, "repository does not exist")

// GetRepositoryByName finds an owner's repository, case-insensitively.
func GetRepositoryByName(ctx context.Context, e db.Engine, ownerID int64, name string) (*Repository, error) {
	r := &Repository{}
	has, err := e.Context(ctx).Where("owner_id = ? AND lower_name = ?", ownerID, strings.ToLower(name)).Get(r)
	if err != nil {
		return nil, fmt.Errorf("get repository %q: %w", name, err)
	}
	if !has {
		return nil, ErrRepoNotExist
	}
	return r, nil
}

// GetRepositoryByID finds a repository by id.
func GetRepositoryByID(ctx context.Context, e db.Engine, id int64) (*Repository, error) {
	r := &Repository{}
	has, err := e.Context(ctx).ID(id).Get(r)
	if err != nil {
		return nil, fmt.Errorf("get repository %d: %w", id, err)
	}
	if !has {
		return nil, ErrRepoNotExist
	}
	return r, nil
}

// InsertRepository inserts r; an existing name is a Conflict (409, as Gitea).
func InsertRepository(ctx context.Context, e db.Engine, r *Repository) error {
	r.LowerName = strings.ToLower(r.Name)
	if _, err := e.Context(ctx).Insert(r); err != nil {
		if db.IsUniqueViolation(err) {
			return apperr.New(apperr.Conflict, "repository %s/%s already exists", r.OwnerName, r.Name)
		}
		return fmt.Errorf("insert repository: %w", err)
	}
	return nil
}

// UpdateRepositoryCols writes the named columns.
func UpdateRepositoryCols(ctx context.Context, e db.Engine, r *Repository, cols ...string) error {
	if _, err := e.Context(ctx).ID(r.ID).Cols(cols...).Update(r); err != nil {
		return fmt.Errorf("update repository: %w", err)
	}
	return nil
}

// DeleteRepositoryByID removes the row.
func DeleteRepositoryByID(ctx context.Context, e db.Engine, id int64) error {
	_, err := e.Context(ctx).ID(id).Delete(new(Repository))
	return err
}

// NamesByOwner lists up to limit repository names of an owner, by name.
func NamesByOwner(ctx context.Context, e db.Engine, ownerID int64, limit int) ([]string, error) {
	var names []string
	err := e.Context(ctx).Table(new(Repository)).Where("owner_id = ?", ownerID).OrderBy("lower_name").Limit(limit).Cols("name").Find(&names)
	return names, err
}

// SearchOptions filters SearchRepositories.
type SearchOptions struct {
	db.ListOptions
	OwnerID int64
	// IncludePrivate shows private repositories too (the viewer may read
	// everything the owner has).
	IncludePrivate bool
}

// SearchRepositories returns one page of an owner's repositories by name,
// and the total.
func SearchRepositories(ctx context.Context, e db.Engine, opts SearchOptions) ([]*Repository, int64, error) {
	cond := builder.NewCond().And(builder.Eq{"owner_id": opts.OwnerID})
	if !opts.IncludePrivate {
		cond = cond.And(builder.Eq{"is_private": false})
	}
	total, err := e.Context(ctx).Where(cond).Count(new(Repository))
	if err != nil {
		return nil, 0, fmt.Errorf("count repositories: %w", err)
	}
	repos := make([]*Repository, 0, opts.PageSize)
	if err := e.Context(ctx).Where(cond).OrderBy("lower_name").Limit(opts.PageSize, opts.Offset()).Find(&repos); err != nil {
		return nil, 0, fmt.Errorf("list repositories: %w", err)
	}
	return repos, total, nil
}

// GetRepositoriesByIDs loads repositories by id, in one query.
func GetRepositoriesByIDs(ctx context.Context, e db.Engine, ids []int64) (map[int64]*Repository, error) {
	return db.FindByIDs(ctx, e, ids, func(r *Repository) int64 { return r.ID })
}
