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

// CopyUnit is the size blob bytes are copied in: large pieces keep the
// per-call costs (syscalls, S3 reads) out of the way of the disk.
const CopyUnit = 1 << 20

// NewCopyBuffer is a buffer to copy size bytes through: CopyUnit, or the
// size when smaller (a small blob takes no MiB), at least 4 KiB.
func NewCopyBuffer(size int64) []byte {
	return make([]byte, max(4<<10, min(size, CopyUnit)))
}

// Local keeps blobs on disk as <root>/ab/cd/<sha256>.
type Local struct {
	root string
	tmp  string
	// syncDir makes a directory's entries durable (fsyncDir; tests
	// inject failures).
	syncDir func(dir string) error
	// openUnnamed opens an unnamed spill file (O_TMPFILE where the
	// system has it; tests make it fail to exercise the named fallback).
	openUnnamed func(dir string) (*os.File, error)
}

// NewLocal prepares a local store at root.
func NewLocal(root string) (*Local, error) {
	l := &Local{root: root, tmp: filepath.Join(root, ".tmp"), syncDir: fsyncDir, openUnnamed: openUnnamed}
	if err := os.MkdirAll(l.tmp, 0o755); err != nil {
		return nil, fmt.Errorf("create storage directory: %w", err)
	}
	return l, nil
}

func (l *Local) path(key string) string {
	return filepath.Join(l.root, key[0:2], key[2:4], key)
}

// Save writes to a temp file, fsyncs it, renames it into place and fsyncs
// the directory: a crash leaves the blob whole or absent. It stops with
// ctx's error, removing the temp file, when ctx ends during the write
// (the client went away). A failed directory fsync is an error: the blob
// is in place but may not survive a crash, so the upload must not be
// recorded; a later Save of the same key fsyncs the directory again.
func (l *Local) Save(ctx context.Context, key string, r io.Reader, size int64) error {
	dst, stored, err := l.destination(ctx, key)
	if err != nil || stored {
		return err
	}
	dir := filepath.Dir(dst)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	tmp := filepath.Join(l.tmp, hex.EncodeToString(b))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		// The temp directory was removed by hand: make it again (as
		// CreateSpill does).
		if err = os.MkdirAll(l.tmp, 0o755); err == nil {
			f, err = os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	defer os.Remove(tmp) // a no-op after the rename
	// The anonymous struct hides ReadFrom, so that the copy goes through
	// the large buffer (os.File's falls back to 32 KiB pieces).
	n, err := io.CopyBuffer(struct{ io.Writer }{f}, ContextReader(ctx, r), NewCopyBuffer(size))
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
	// The directories created here are entries of their parents, which
	// must be made durable too, or a crash can lose a new directory with
	// the blob in it after the upload was recorded.
	newLeaf, newMid := missing(dir), missing(filepath.Dir(dir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create blob directory: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("move blob into place: %w", err)
	}
	return l.syncDirs(dir, newLeaf, newMid)
}

// destination is where the blob key goes, after the checks Save and
// Adopt share: a valid key, a live ctx. stored reports that the blob is
// there already; its directories are then made durable again (an
// earlier Save may have failed at a directory fsync) before saying so.
func (l *Local) destination(ctx context.Context, key string) (dst string, stored bool, err error) {
	if err := checkKey(key); err != nil {
		return "", false, err
	}
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	dst = l.path(key)
	if _, err := os.Stat(dst); err == nil {
		return dst, true, l.syncDirs(filepath.Dir(dst), true, true)
	}
	return dst, false, nil
}

func missing(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// syncDirs fsyncs a blob's directory <root>/ab/cd, then <root>/ab when cd
// is new in it (leaf), then <root> when ab is new in it (mid).
func (l *Local) syncDirs(dir string, leaf, mid bool) error {
	dirs := []string{dir}
	if leaf {
		dirs = append(dirs, filepath.Dir(dir))
	}
	if mid {
		dirs = append(dirs, l.root)
	}
	for _, d := range dirs {
		if err := l.syncDir(d); err != nil {
			return fmt.Errorf("sync blob directory: %w", err)
		}
	}
	return nil
}

// fsyncDir fsyncs a directory, so that a rename into it survives a crash.
func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ContextReader reads from r until ctx ends, then fails with ctx's error
// (a long copy of a blob stops when its request or job is over).
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return r.Read(p)
	})
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

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
