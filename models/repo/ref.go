package repo

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// Ref is one ref of a repository as the ref-change events last announced
// it. Reconciling compares these rows with the refs on disk: the
// difference is what no event has reported yet.
type Ref struct {
	ID     int64  `xorm:"pk autoincr"`
	RepoID int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Name   string `xorm:"TEXT UNIQUE(s) NOT NULL"` // full name: refs/tags/v1.0.0
	// ObjectID is what the ref points at (a tag object for annotated tags).
	ObjectID string `xorm:"VARCHAR(64) NOT NULL"`
}

// TableName keeps the table's name independent of the mapper.
func (Ref) TableName() string { return "repo_ref" }

// GetRefs returns a repository's recorded refs, full name → object id.
func GetRefs(ctx context.Context, e db.Engine, repoID int64) (map[string]string, error) {
	var rows []*Ref
	if err := e.Context(ctx).Where("repo_id = ?", repoID).Find(&rows); err != nil {
		return nil, fmt.Errorf("read recorded refs: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Name] = r.ObjectID
	}
	return out, nil
}

// RefRecorded reports whether the repository's ref is recorded (announced
// and not deleted since).
func RefRecorded(ctx context.Context, e db.Engine, repoID int64, name string) (bool, error) {
	has, err := e.Context(ctx).Where("repo_id = ? AND name = ?", repoID, name).Exist(new(Ref))
	if err != nil {
		return false, fmt.Errorf("read recorded ref %s: %w", name, err)
	}
	return has, nil
}

// InsertRef records a new ref.
func InsertRef(ctx context.Context, e db.Engine, repoID int64, name, objectID string) error {
	if _, err := e.Context(ctx).Insert(&Ref{RepoID: repoID, Name: name, ObjectID: objectID}); err != nil {
		return fmt.Errorf("record ref %s: %w", name, err)
	}
	return nil
}

// MoveRef records that a ref moved from oldID to newID. It fails unless
// the recorded ref pointed at oldID: the caller holds the repository's
// lock (LockRepository), so anything else is a bug, not a race.
func MoveRef(ctx context.Context, e db.Engine, repoID int64, name, oldID, newID string) error {
	n, err := e.Context(ctx).Table(new(Ref)).Where("repo_id = ? AND name = ? AND object_id = ?", repoID, name, oldID).
		Update(map[string]any{"object_id": newID})
	if err != nil {
		return fmt.Errorf("record ref %s: %w", name, err)
	}
	if n != 1 {
		return fmt.Errorf("record ref %s: recorded ref is not at %s", name, oldID)
	}
	return nil
}

// DeleteRef forgets a ref that pointed at oldID (see MoveRef).
func DeleteRef(ctx context.Context, e db.Engine, repoID int64, name, oldID string) error {
	n, err := e.Context(ctx).Where("repo_id = ? AND name = ? AND object_id = ?", repoID, name, oldID).Delete(new(Ref))
	if err != nil {
		return fmt.Errorf("forget ref %s: %w", name, err)
	}
	if n != 1 {
		return fmt.Errorf("forget ref %s: recorded ref is not at %s", name, oldID)
	}
	return nil
}

// DeleteRefsOfRepo forgets every ref of a repository.
func DeleteRefsOfRepo(ctx context.Context, e db.Engine, repoID int64) error {
	if _, err := e.Context(ctx).Where("repo_id = ?", repoID).Delete(new(Ref)); err != nil {
		return fmt.Errorf("forget refs: %w", err)
	}
	return nil
}

// LockRepository locks a repository's row until the transaction e ends
// and returns it: whoever reconciles or deletes the repository holds this
// lock, so that they run one after the other. On SQLite the immediate
// transaction already holds the database's write lock; the no-op update
// takes the row lock on PostgreSQL (where SELECT … FOR UPDATE would do,
// but xorm refuses it on SQLite). A repository that is gone is
// ErrRepoNotExist.
func LockRepository(ctx context.Context, e db.Engine, id int64) (*Repository, error) {
	res, err := e.Context(ctx).Exec("UPDATE repository SET refs_recorded = refs_recorded WHERE id = ?", id)
	if err != nil {
		return nil, fmt.Errorf("lock repository %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("lock repository %d: %w", id, err)
	} else if n == 0 {
		return nil, ErrRepoNotExist
	}
	return GetRepositoryByID(ctx, e, id)
}

// RepositoryIDsAfter returns up to limit repository ids greater than
// afterID, in order: a cursor over every repository.
func RepositoryIDsAfter(ctx context.Context, e db.Engine, afterID int64, limit int) ([]int64, error) {
	var ids []int64
	err := e.Context(ctx).Table(new(Repository)).Where("id > ?", afterID).OrderBy("id").Limit(limit).Cols("id").Find(&ids)
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	return ids, nil
}
