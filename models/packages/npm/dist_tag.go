// Package npm holds the npm registry's own table: dist-tags.
package npm

import (
	"context"

	"wharf/models/db"
)

// DistTag points one of a package's tags ("latest", "beta") at one of its
// versions. A tag names one version at a time: the unique index holds
// that even against two changes at once.
type DistTag struct {
	ID        int64  `xorm:"pk autoincr"`
	PackageID int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Tag       string `xorm:"VARCHAR(255) UNIQUE(s) NOT NULL"`
	VersionID int64  `xorm:"INDEX NOT NULL"`
}

// TableName is explicit: the table belongs to the npm format.
func (DistTag) TableName() string { return "npm_dist_tag" }

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(DistTag)} }

// SetDistTag points tag at the version, replacing where it pointed before.
func SetDistTag(ctx context.Context, e db.Engine, packageID int64, tag string, versionID int64) error {
	_, err := e.Context(ctx).Exec("INSERT INTO npm_dist_tag (package_id, tag, version_id) VALUES (?, ?, ?) ON CONFLICT (package_id, tag) DO UPDATE SET version_id = excluded.version_id",
		packageID, tag, versionID)
	return err
}

// DeleteDistTag removes a tag of the package; a tag that does not exist
// is no error.
func DeleteDistTag(ctx context.Context, e db.Engine, packageID int64, tag string) error {
	_, err := e.Context(ctx).Where("package_id = ? AND tag = ?", packageID, tag).Delete(new(DistTag))
	return err
}

// DeleteDistTagsOfVersion removes the tags pointing at a version.
func DeleteDistTagsOfVersion(ctx context.Context, e db.Engine, versionID int64) error {
	_, err := e.Context(ctx).Where("version_id = ?", versionID).Delete(new(DistTag))
	return err
}

// DeleteDistTagsOfPackage removes every tag of a package.
func DeleteDistTagsOfPackage(ctx context.Context, e db.Engine, packageID int64) error {
	_, err := e.Context(ctx).Where("package_id = ?", packageID).Delete(new(DistTag))
	return err
}

// DistTagsOf returns a package's tags as tag → version id.
func DistTagsOf(ctx context.Context, e db.Engine, packageID int64) (map[string]int64, error) {
	var rows []*DistTag
	if err := e.Context(ctx).Where("package_id = ?", packageID).Find(&rows); err != nil {
		return nil, err
	}
	tags := make(map[string]int64, len(rows))
	for _, r := range rows {
		tags[r.Tag] = r.VersionID
	}
	return tags, nil
}
