package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// Local keeps blobs on disk as <root>/ab/cd/<sha256>.
type Local struct {
	root string
	tmp  string
}

// NewLocal prepares a local store at root.
func NewLocal(root string) (*Local, error) {
	l := &Local{root: root, tmp: filepath.Join(root, ".tmp")}
	if err := os.MkdirAll(l.tmp, 0o755); err != nil {
		return nil, fmt.Errorf("create storage directory: %w", err)
	}
	return l, nil
}

func (l *Local) path(key string) string {
	return filepath.Join(l.root, key[0:2], key[2:4], key)
}

// Save writes to a temp file, fsyncs it, renames it into place and fsyncs
// the directory: a crash leaves the blob whole or absent.
func (l *Local) Save(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	dst := l.path(key)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	tmp := filepath.Join(l.tmp, hex.EncodeToString(b))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	defer os.Remove(tmp) // a no-op after the rename
	n, err := io.Copy(f, r)
	if err == nil && n != size {
		err = fmt.Errorf("wrote %d bytes, expected %d", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write blob: %w", err)
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create blob directory: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("move blob into place: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Open opens a blob.
func (l *Local) Open(_ context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotExist
	}
	return f, err
}

// Stat returns a blob's size.
func (l *Local) Stat(_ context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	st, err := os.Stat(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, ErrNotExist
	}
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// Delete removes a blob.
func (l *Local) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := os.Remove(l.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// URL is nil: the local store serves through Wharf.
func (l *Local) URL(context.Context, string, string, time.Duration) (*url.URL, error) {
	return nil, nil
}

// Iterate walks every blob.
func (l *Local) Iterate(ctx context.Context, fn func(key string, size int64) error) error {
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
		return fn(d.Name(), info.Size())
	})
}
