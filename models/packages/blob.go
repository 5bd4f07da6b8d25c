package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// PackageBlob is content, shared by every file with the same bytes.
type PackageBlob struct {
	ID          int64  `xorm:"pk autoincr"`
	Size        int64  `xorm:"NOT NULL DEFAULT 0"`
	HashMD5     string `xorm:"hash_md5 CHAR(32) NOT NULL"`
	HashSHA1    string `xorm:"hash_sha1 CHAR(40) NOT NULL"`
	HashSHA256  string `xorm:"hash_sha256 CHAR(64) UNIQUE NOT NULL"`
	HashSHA512  string `xorm:"hash_sha512 CHAR(128) NOT NULL"`
	CreatedUnix int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
}

// GetOrInsertBlob returns the blob with b's SHA-256, inserting b if new.
func GetOrInsertBlob(ctx context.Context, e db.Engine, b *PackageBlob) (*PackageBlob, error) {
	_, err := e.Context(ctx).Exec("INSERT INTO package_blob (size, hash_md5, hash_sha1, hash_sha256, hash_sha512, created_unix) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash_sha256) DO NOTHING",
		b.Size, b.HashMD5, b.HashSHA1, b.HashSHA256, b.HashSHA512, b.CreatedUnix)
	if err != nil {
		return nil, fmt.Errorf("insert package blob: %w", err)
	}
	got := &PackageBlob{}
	has, err := e.Context(ctx).Where("hash_sha256 = ?", b.HashSHA256).Get(got)
	if err != nil {
		// %w: a lost connection here is an outage (503), not a bug.
		return nil, fmt.Errorf("read package blob back: %w", err)
	}
	if !has {
		return nil, fmt.Errorf("read package blob back: no row with sha256 %s after the insert", b.HashSHA256)
	}
	return got, nil
}

// TouchBlob renews an existing blob row that an upload is about to
// reference: its age restarts, so the blob task (which removes only
// unreferenced rows older than its grace) leaves it, and on PostgreSQL a
// deletion already under way waits for this row's lock and re-checks its
// age.
func TouchBlob(ctx context.Context, e db.Engine, id, now int64) error {
	_, err := e.Context(ctx).Exec("UPDATE package_blob SET created_unix = ? WHERE id = ? AND created_unix < ?", now, id, now)
	return err
}

// GetBlobByID finds a blob.
func GetBlobByID(ctx context.Context, e db.Engine, id int64) (*PackageBlob, error) {
	b := &PackageBlob{}
	has, err := e.Context(ctx).ID(id).Get(b)
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, ErrFileNotExist
	}
	return b, nil
}

// OwnerUsage sums the sizes of the files of an owner's packages (the
// LIMIT_TOTAL_OWNER_SIZE quota; a blob shared by two files counts twice,
// as the owner sees two files).
func OwnerUsage(ctx context.Context, e db.Engine, ownerID int64) (int64, error) {
	total, err := e.Context(ctx).Table("package_file").
		Join("INNER", "package_blob", "package_file.blob_id = package_blob.id").
		Join("INNER", "package_version", "package_file.version_id = package_version.id").
		Join("INNER", "package", "package_version.package_id = package.id").
		Where("package.owner_id = ?", ownerID).SumInt(new(PackageBlob), "package_blob.size")
	if err != nil {
		return 0, fmt.Errorf("sum package sizes: %w", err)
	}
	return total, nil
}
