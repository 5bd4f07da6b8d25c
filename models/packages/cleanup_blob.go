package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// UnreferencedBlobsAfter returns up to limit blobs with an id above after,
// created before cutoff, that no file references, by id.
func UnreferencedBlobsAfter(ctx context.Context, e db.Engine, after, cutoff int64, limit int) ([]*PackageBlob, error) {
	var bs []*PackageBlob
	err := e.Context(ctx).Where("id > ? AND created_unix < ? AND NOT EXISTS (SELECT 1 FROM package_file WHERE package_file.blob_id = package_blob.id)", after, cutoff).
		OrderBy("id").Limit(limit).Find(&bs)
	if err != nil {
		return nil, fmt.Errorf("list unreferenced blobs: %w", err)
	}
	return bs, nil
}

// DeleteUnreferencedBlob deletes the blob's row if it is still older than
// cutoff and unreferenced; it reports whether it did.
func DeleteUnreferencedBlob(ctx context.Context, e db.Engine, id, cutoff int64) (bool, error) {
	res, err := e.Context(ctx).Exec("DELETE FROM package_blob WHERE id = ? AND created_unix < ? AND NOT EXISTS (SELECT 1 FROM package_file WHERE package_file.blob_id = ?)", id, cutoff, id)
	if err != nil {
		return false, fmt.Errorf("delete blob: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// BlobReferenced reports whether a file references the blob id, or a
// blob row holds the hash (a new upload of the same bytes).
func BlobReferenced(ctx context.Context, e db.Engine, id int64, sha256 string) (bool, error) {
	has, err := e.Context(ctx).Where("blob_id = ?", id).Exist(new(PackageFile))
	if err != nil || has {
		return has, err
	}
	return e.Context(ctx).Where("hash_sha256 = ?", sha256).Exist(new(PackageBlob))
}

// RestoreBlob puts a deleted blob row back with its id (a file was
// recorded against it while it was being collected).
func RestoreBlob(ctx context.Context, e db.Engine, b *PackageBlob) error {
	_, err := e.Context(ctx).Exec("INSERT INTO package_blob (id, size, hash_md5, hash_sha1, hash_sha256, hash_sha512, created_unix) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		b.ID, b.Size, b.HashMD5, b.HashSHA1, b.HashSHA256, b.HashSHA512, b.CreatedUnix)
	return err
}

// BlobHashesIn returns which of the hashes have a blob row.
func BlobHashesIn(ctx context.Context, e db.Engine, hashes []string) (map[string]bool, error) {
	var got []string
	if len(hashes) == 0 {
		return map[string]bool{}, nil
	}
	if err := e.Context(ctx).Table(new(PackageBlob)).In("hash_sha256", hashes).Cols("hash_sha256").Find(&got); err != nil {
		return nil, fmt.Errorf("look up blobs: %w", err)
	}
	out := make(map[string]bool, len(got))
	for _, h := range got {
		out[h] = true
	}
	return out, nil
}

// PackagesWithoutVersionsAfter returns up to limit packages with no
// version, id above after, by id.
func PackagesWithoutVersionsAfter(ctx context.Context, e db.Engine, after int64, limit int) ([]*Package, error) {
	var ps []*Package
	err := e.Context(ctx).Where("id > ? AND NOT EXISTS (SELECT 1 FROM package_version WHERE package_version.package_id = package.id)", after).
		OrderBy("id").Limit(limit).Find(&ps)
	return ps, err
}

// StorageUsage is bytes referenced and unreferenced by blob rows.
type StorageUsage struct {
	ReferencedBlobs   int64 `json:"referenced_blobs"`
	ReferencedBytes   int64 `json:"referenced_bytes"`
	UnreferencedBlobs int64 `json:"unreferenced_blobs"`
	UnreferencedBytes int64 `json:"unreferenced_bytes"`
}

// InstanceUsage sums the blob rows, referenced or not (each blob once).
func InstanceUsage(ctx context.Context, e db.Engine) (*StorageUsage, error) {
	u := &StorageUsage{}
	ref := "EXISTS (SELECT 1 FROM package_file WHERE package_file.blob_id = package_blob.id)"
	var err error
	if u.ReferencedBlobs, err = e.Context(ctx).Where(ref).Count(new(PackageBlob)); err != nil {
		return nil, err
	}
	if u.ReferencedBytes, err = e.Context(ctx).Where(ref).SumInt(new(PackageBlob), "size"); err != nil {
		return nil, err
	}
	if u.UnreferencedBlobs, err = e.Context(ctx).Where("NOT " + ref).Count(new(PackageBlob)); err != nil {
		return nil, err
	}
	if u.UnreferencedBytes, err = e.Context(ctx).Where("NOT "+ref).SumInt(new(PackageBlob), "size"); err != nil {
		return nil, err
	}
	return u, nil
}

// ClaimBlobHash inserts a placeholder row for the hash inside the
// caller's transaction, which the caller deletes (ReleaseBlobClaim)
// before it commits: it reports false when a row with the hash exists. An
// upload that records a blob of this hash meanwhile waits on the
// placeholder's unique key until the caller's transaction ends (on
// PostgreSQL; SQLite's transactions are serial), so bytes deleted under
// a claim are never deleted under a row that was being recorded.
func ClaimBlobHash(ctx context.Context, e db.Engine, sha256 string) (bool, error) {
	res, err := e.Context(ctx).Exec("INSERT INTO package_blob (size, hash_md5, hash_sha1, hash_sha256, hash_sha512, created_unix) VALUES (0, '', '', ?, '', -1) ON CONFLICT (hash_sha256) DO NOTHING", sha256)
	if err != nil {
		return false, fmt.Errorf("claim blob: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ReleaseBlobClaim deletes a placeholder ClaimBlobHash inserted.
func ReleaseBlobClaim(ctx context.Context, e db.Engine, sha256 string) error {
	_, err := e.Context(ctx).Exec("DELETE FROM package_blob WHERE hash_sha256 = ? AND created_unix = -1", sha256)
	return err
}
