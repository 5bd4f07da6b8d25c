package packages

import (
	"context"
	"fmt"
	"strings"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// PackageFile is a file of a version, pointing at its content.
type PackageFile struct {
	ID           int64  `xorm:"pk autoincr"`
	VersionID    int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	BlobID       int64  `xorm:"INDEX NOT NULL"`
	Name         string `xorm:"VARCHAR(255) NOT NULL"`
	LowerName    string `xorm:"VARCHAR(255) UNIQUE(s) INDEX NOT NULL"`
	CompositeKey string `xorm:"VARCHAR(255) UNIQUE(s) INDEX NOT NULL DEFAULT ''"`
	IsLead       bool   `xorm:"NOT NULL DEFAULT false"`
	CreatedUnix  int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
}

// ErrFileExists is returned when the version already has the file.
var ErrFileExists = apperr.New(apperr.Conflict, "package file already exists")

// ErrFileNotExist is returned for an unknown file.
var ErrFileNotExist = apperr.New(apperr.NotFound, "package file does not exist")

// InsertFile inserts f; an existing file is ErrFileExists.
func InsertFile(ctx context.Context, e db.Engine, f *PackageFile) error {
	f.LowerName = strings.ToLower(f.Name)
	if _, err := e.Context(ctx).Insert(f); err != nil {
		if db.IsUniqueViolation(err) {
			return ErrFileExists
		}
		return fmt.Errorf("insert package file: %w", err)
	}
	return nil
}

// GetFile finds a file of a version by name and composite key.
func GetFile(ctx context.Context, e db.Engine, versionID int64, name, compositeKey string) (*PackageFile, error) {
	f := &PackageFile{}
	has, err := e.Context(ctx).Where("version_id = ? AND lower_name = ? AND composite_key = ?", versionID, strings.ToLower(name), compositeKey).Get(f)
	if err != nil {
		return nil, fmt.Errorf("get package file: %w", err)
	}
	if !has {
		return nil, ErrFileNotExist
	}
	return f, nil
}

// GetFileOfVersion finds a file of a version by its id: a file of
// another version is ErrFileNotExist.
func GetFileOfVersion(ctx context.Context, e db.Engine, versionID, id int64) (*PackageFile, error) {
	f := &PackageFile{}
	has, err := e.Context(ctx).Where("id = ? AND version_id = ?", id, versionID).Get(f)
	if err != nil {
		return nil, fmt.Errorf("get package file: %w", err)
	}
	if !has {
		return nil, ErrFileNotExist
	}
	return f, nil
}

// FileRow is a file with its blob.
type FileRow struct {
	PackageFile `xorm:"extends"`
	Blob        PackageBlob `xorm:"extends"`
}

// TableName makes xorm read the joined row from package_file.
func (FileRow) TableName() string { return "package_file" }

// ListFiles returns a version's files with their blobs, by name.
func ListFiles(ctx context.Context, e db.Engine, versionID int64) ([]*FileRow, error) {
	var rows []*FileRow
	err := e.Context(ctx).Table("package_file").Join("INNER", "package_blob", "package_file.blob_id = package_blob.id").
		Where("package_file.version_id = ?", versionID).OrderBy("package_file.lower_name").Find(&rows)
	if err != nil {
		return nil, fmt.Errorf("list package files: %w", err)
	}
	return rows, nil
}

// CountFiles counts a version's files.
func CountFiles(ctx context.Context, e db.Engine, versionID int64) (int64, error) {
	return e.Context(ctx).Where("version_id = ?", versionID).Count(new(PackageFile))
}

// DeleteFileByID removes the row.
func DeleteFileByID(ctx context.Context, e db.Engine, id int64) error {
	_, err := e.Context(ctx).ID(id).Delete(new(PackageFile))
	return err
}

// FileIDsOfVersion lists a version's file ids.
func FileIDsOfVersion(ctx context.Context, e db.Engine, versionID int64) ([]int64, error) {
	var ids []int64
	err := e.Context(ctx).Table(new(PackageFile)).Where("version_id = ?", versionID).Cols("id").Find(&ids)
	return ids, err
}

// DeleteFilesOfVersion removes every file row of a version.
func DeleteFilesOfVersion(ctx context.Context, e db.Engine, versionID int64) error {
	_, err := e.Context(ctx).Where("version_id = ?", versionID).Delete(new(PackageFile))
	return err
}

// VersionDigest is a version's lead file name and digests, for package
// documents.
type VersionDigest struct {
	VersionID  int64
	Name       string
	HashSHA1   string `xorm:"hash_sha1"`
	HashSHA512 string `xorm:"hash_sha512"`
}

// LeadDigestsOfVersions returns the lead files' digests of many versions,
// in one narrow query (package documents list every version).
func LeadDigestsOfVersions(ctx context.Context, e db.Engine, versionIDs []int64) ([]*VersionDigest, error) {
	var rows []*VersionDigest
	if len(versionIDs) == 0 {
		return rows, nil
	}
	err := e.Context(ctx).Table("package_file").Select("package_file.version_id, package_file.name, package_blob.hash_sha1, package_blob.hash_sha512").
		Join("INNER", "package_blob", "package_file.blob_id = package_blob.id").
		Where("package_file.is_lead = ?", true).In("package_file.version_id", versionIDs).Find(&rows)
	if err != nil {
		return nil, fmt.Errorf("list package digests: %w", err)
	}
	return rows, nil
}
