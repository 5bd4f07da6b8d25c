package storage

import (
	"context"
	"io/fs"
	"path"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
)

// BlobInfo is a stored blob as a listing sees it.
type BlobInfo struct {
	Key  string
	Size int64
	// Modified is when the bytes were last written: blob GC leaves bytes
	// younger than its grace period alone (an upload saves its bytes
	// before recording them).
	Modified time.Time
}

// Walker lists blobs with their write times, streaming (nothing is held
// but the entry at hand). Both stores implement it.
type Walker interface {
	Walk(ctx context.Context, fn func(b BlobInfo) error) error
}

// Walk visits every blob on disk.
func (l *Local) Walk(ctx context.Context, fn func(b BlobInfo) error) error {
	return filepath.WalkDir(l.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p == l.tmp {
				return filepath.SkipDir
			}
			return nil
		}
		if checkKey(d.Name()) != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return fn(BlobInfo{Key: d.Name(), Size: info.Size(), Modified: info.ModTime()})
	})
}

// TempDir is where Save writes before renaming into place; files left
// there by a crashed process are garbage.
func (l *Local) TempDir() string { return l.tmp }

// Walk visits every blob under the base path.
func (m *Minio) Walk(ctx context.Context, fn func(b BlobInfo) error) error {
	prefix := m.cfg.BasePath
	if prefix != "" && prefix[len(prefix)-1] != '/' {
		prefix += "/"
	}
	for o := range m.c.ListObjects(ctx, m.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return o.Err
		}
		key := path.Base(o.Key)
		if checkKey(key) != nil {
			continue
		}
		if err := fn(BlobInfo{Key: key, Size: o.Size, Modified: o.LastModified}); err != nil {
			return err
		}
	}
	return nil
}
