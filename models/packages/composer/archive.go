package composer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
)

// PropArchiveTooLarge is a version property: the archive of a registered
// version could not be stored because it is over the size limit, as
// "<commit>:<limit>". It holds only for that commit and that limit: a
// moved version or a changed limit tries the build again.
const PropArchiveTooLarge = "composer.archive_too_large"

func archiveTooLargeValue(commit string, limit int64) string {
	return commit + ":" + strconv.FormatInt(limit, 10)
}

// ArchiveTooLarge reports whether the version's archive of commit is known
// to be over limit.
func ArchiveTooLarge(ctx context.Context, e db.Engine, versionID int64, commit string, limit int64) (bool, error) {
	v, err := packages_model.GetProperty(ctx, e, packages_model.PropertyTypeVersion, versionID, PropArchiveTooLarge)
	if err != nil {
		return false, fmt.Errorf("read %s of version %d: %w", PropArchiveTooLarge, versionID, err)
	}
	return v == archiveTooLargeValue(commit, limit), nil
}

// SetArchiveTooLarge records that the version's archive of commit is over
// limit (replacing an older record).
func SetArchiveTooLarge(ctx context.Context, e db.Engine, versionID int64, commit string, limit int64) error {
	if strings.ContainsRune(commit, ':') {
		return fmt.Errorf("invalid commit id %q", commit)
	}
	return packages_model.SetProperty(ctx, e, packages_model.PropertyTypeVersion, versionID, PropArchiveTooLarge, archiveTooLargeValue(commit, limit))
}

// ClearArchiveTooLarge forgets the record (the version moved, or its
// archive was stored).
func ClearArchiveTooLarge(ctx context.Context, e db.Engine, versionID int64) error {
	_, err := e.Context(ctx).Where("ref_type = ? AND ref_id = ? AND name = ?", packages_model.PropertyTypeVersion, versionID, PropArchiveTooLarge).
		Delete(new(packages_model.PackageProperty))
	return err
}
