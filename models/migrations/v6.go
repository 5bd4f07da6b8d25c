package migrations

import (
	"context"
	"fmt"

	"xorm.io/xorm"
)

type v6NpmDistTag struct {
	ID        int64  `xorm:"pk autoincr"`
	PackageID int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Tag       string `xorm:"VARCHAR(255) UNIQUE(s) NOT NULL"`
	VersionID int64  `xorm:"INDEX NOT NULL"`
}

func (v6NpmDistTag) TableName() string { return "npm_dist_tag" }

type v6ComposerStamp struct {
	OwnerID     int64 `xorm:"pk"`
	ChangedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

func (v6ComposerStamp) TableName() string { return "composer_stamp" }

// v6FormatTables gives npm's dist-tags a table of their own, where a
// unique index keeps one version per (package, tag), and gives Composer an
// owner-wide change stamp. Dist-tags were version properties named
// "npm.tag" (value: the tag); they move, the newest row winning where a
// tag was on two versions of a package.
func v6FormatTables(ctx context.Context, tx *xorm.Session) error {
	if err := tx.Sync(new(v6NpmDistTag), new(v6ComposerStamp)); err != nil {
		return err
	}
	if _, err := tx.Context(ctx).Exec(`INSERT INTO npm_dist_tag (package_id, tag, version_id)
		SELECT v.package_id, p.value, p.ref_id FROM package_property p JOIN package_version v ON v.id = p.ref_id
		WHERE p.ref_type = 0 AND p.name = 'npm.tag' AND p.id IN (
			SELECT MAX(p2.id) FROM package_property p2 JOIN package_version v2 ON v2.id = p2.ref_id
			WHERE p2.ref_type = 0 AND p2.name = 'npm.tag' GROUP BY v2.package_id, p2.value)`); err != nil {
		return fmt.Errorf("move npm dist-tags: %w", err)
	}
	if _, err := tx.Context(ctx).Exec(`DELETE FROM package_property WHERE ref_type = 0 AND name = 'npm.tag'`); err != nil {
		return fmt.Errorf("remove moved npm dist-tags: %w", err)
	}
	return nil
}
