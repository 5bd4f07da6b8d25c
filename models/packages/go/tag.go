// Package goproxy holds the Go module proxy's own table: what became of
// each version tag of a repository that is not, or is no longer, what its
// module version shows (a tag skipped with its reason, a tag moved after
// its version was published).
package goproxy

import (
	"context"
	"fmt"

	"wharf/models/db"
	packages_model "wharf/models/packages"
)

// TagNote is why a repository's tag is not a module version, or why the
// version differs from what the tag points at now.
type TagNote struct {
	ID     int64  `xorm:"pk autoincr"`
	RepoID int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Tag    string `xorm:"VARCHAR(255) UNIQUE(s) NOT NULL"`
	// Commit is the commit the tag pointed at when the note was made.
	Commit      string `xorm:"VARCHAR(64) NOT NULL DEFAULT ''"`
	Reason      string `xorm:"TEXT"`
	CreatedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
}

// TableName is explicit: the table belongs to the go format.
func (TagNote) TableName() string { return "package_go_tag_note" }

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(TagNote)} }

// SetNote records (or replaces) the note of a repository's tag.
func SetNote(ctx context.Context, e db.Engine, n *TagNote) error {
	if _, err := e.Context(ctx).Where("repo_id = ? AND tag = ?", n.RepoID, n.Tag).Delete(new(TagNote)); err != nil {
		return fmt.Errorf("replace the note of tag %s: %w", n.Tag, err)
	}
	n.ID = 0
	if _, err := e.Context(ctx).Insert(n); err != nil {
		return fmt.Errorf("record the note of tag %s: %w", n.Tag, err)
	}
	return nil
}

// ClearNote forgets a tag's note (it was registered, or deleted).
func ClearNote(ctx context.Context, e db.Engine, repoID int64, tag string) error {
	_, err := e.Context(ctx).Where("repo_id = ? AND tag = ?", repoID, tag).Delete(new(TagNote))
	return err
}

// ClearRepo forgets every note of a deleted repository.
func ClearRepo(ctx context.Context, e db.Engine, repoID int64) error {
	_, err := e.Context(ctx).Where("repo_id = ?", repoID).Delete(new(TagNote))
	return err
}

// NotesOfRepos lists the notes of the repositories, by repository and tag.
func NotesOfRepos(ctx context.Context, e db.Engine, repoIDs []int64) ([]*TagNote, error) {
	var ns []*TagNote
	if len(repoIDs) == 0 {
		return ns, nil
	}
	err := e.Context(ctx).In("repo_id", repoIDs).OrderBy("repo_id, tag").Find(&ns)
	return ns, err
}

// PropRepo is the version property every module version built from a
// repository carries: the repository's id.
const PropRepo = "go.repo"

// CountPrivateRepoVersions counts the owner's module versions built from
// its private repositories (published while the owner was private).
func CountPrivateRepoVersions(ctx context.Context, e db.Engine, ownerID int64) (int64, error) {
	var n int64
	_, err := e.Context(ctx).SQL(`SELECT COUNT(*) FROM package_property pp
		JOIN package_version pv ON pv.id = pp.ref_id
		JOIN package p ON p.id = pv.package_id
		JOIN repository r ON CAST(r.id AS TEXT) = pp.value
		WHERE pp.ref_type = ? AND pp.name = ? AND p.owner_id = ? AND p.type = ? AND r.is_private = ?`,
		packages_model.PropertyTypeVersion, PropRepo, ownerID, packages_model.TypeGo, true).Get(&n)
	if err != nil {
		return 0, fmt.Errorf("count module versions of private repositories: %w", err)
	}
	return n, nil
}
