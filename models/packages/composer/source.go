// Package composer holds the Composer registry's own table: repositories
// whose new tags register themselves into an owner's registry.
package composer

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// Source makes every tag pushed to a repository register itself as a
// version in an owner's Composer registry.
type Source struct {
	ID          int64 `xorm:"pk autoincr"`
	OwnerID     int64 `xorm:"UNIQUE(s) INDEX NOT NULL"`
	RepoID      int64 `xorm:"UNIQUE(s) INDEX NOT NULL"`
	CreatorID   int64 `xorm:"NOT NULL"`
	CreatedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

// TableName is explicit: the table belongs to the composer format.
func (Source) TableName() string { return "composer_source" }

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(Source), new(Stamp)} }

// AddSource records a source; adding it again changes nothing.
func AddSource(ctx context.Context, e db.Engine, s *Source) error {
	_, err := e.Context(ctx).Exec("INSERT INTO composer_source (owner_id, repo_id, creator_id, created_unix) VALUES (?, ?, ?, ?) ON CONFLICT (owner_id, repo_id) DO NOTHING",
		s.OwnerID, s.RepoID, s.CreatorID, s.CreatedUnix)
	if err != nil {
		return fmt.Errorf("add composer source: %w", err)
	}
	return nil
}

// RemoveSource deletes a source; it reports whether there was one.
func RemoveSource(ctx context.Context, e db.Engine, ownerID, repoID int64) (bool, error) {
	n, err := e.Context(ctx).Where("owner_id = ? AND repo_id = ?", ownerID, repoID).Delete(new(Source))
	return n > 0, err
}

// SourcesOfOwner lists an owner's sources.
func SourcesOfOwner(ctx context.Context, e db.Engine, ownerID int64) ([]*Source, error) {
	var ss []*Source
	err := e.Context(ctx).Where("owner_id = ?", ownerID).OrderBy("id").Find(&ss)
	return ss, err
}

// SourcesOfRepo lists the registries a repository feeds.
func SourcesOfRepo(ctx context.Context, e db.Engine, repoID int64) ([]*Source, error) {
	var ss []*Source
	err := e.Context(ctx).Where("repo_id = ?", repoID).OrderBy("id").Find(&ss)
	return ss, err
}

// RemoveSourcesOfRepo deletes every source of a deleted repository.
func RemoveSourcesOfRepo(ctx context.Context, e db.Engine, repoID int64) error {
	_, err := e.Context(ctx).Where("repo_id = ?", repoID).Delete(new(Source))
	return err
}
