package packages

import (
	"context"
	"fmt"
	"strings"

	"wharf/models/db"
)

// FillBlobDigests sets a blob's MD5, SHA-1 and SHA-512 if they are still
// empty (an upload stored with its SHA-256 only; see
// packages_module.Options.AllDigests). It reports whether it changed the
// row: false when the blob is gone or its digests were filled already, so
// running it twice, or after a second upload of the same bytes filled
// them, is harmless.
func FillBlobDigests(ctx context.Context, e db.Engine, id int64, md5, sha1, sha512 string) (bool, error) {
	res, err := e.Context(ctx).Exec("UPDATE package_blob SET hash_md5 = ?, hash_sha1 = ?, hash_sha512 = ? WHERE id = ? AND (hash_md5 = '' OR hash_sha1 = '' OR hash_sha512 = '')",
		md5, sha1, sha512, id)
	if err != nil {
		return false, fmt.Errorf("fill package blob digests: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("fill package blob digests: %w", err)
	}
	return n > 0, nil
}

// DigestsComplete reports whether the blob's MD5, SHA-1 and SHA-512 are
// known.
func (b *PackageBlob) DigestsComplete() bool {
	return b.HashMD5 != "" && b.HashSHA1 != "" && b.HashSHA512 != ""
}

// AfterLoad undoes PostgreSQL's padding of CHAR columns: a digest not
// computed yet is stored as the empty string, which PostgreSQL reads
// back as spaces (SQLite as stored). xorm calls it on every loaded blob.
func (b *PackageBlob) AfterLoad() {
	b.HashMD5 = strings.TrimRight(b.HashMD5, " ")
	b.HashSHA1 = strings.TrimRight(b.HashSHA1, " ")
	b.HashSHA512 = strings.TrimRight(b.HashSHA512, " ")
}

// AfterLoad is PackageBlob.AfterLoad for the blob of a file row.
func (r *FileRow) AfterLoad() { r.Blob.AfterLoad() }

// AfterLoad is PackageBlob.AfterLoad for a version's lead digests.
func (d *VersionDigest) AfterLoad() {
	d.HashSHA1 = strings.TrimRight(d.HashSHA1, " ")
	d.HashSHA512 = strings.TrimRight(d.HashSHA512, " ")
}
