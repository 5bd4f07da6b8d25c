package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// SpillStore is a store that can take an upload's bytes where they were
// first written: it hands out a file in its own filesystem for the upload
// to spill to, and adopts that file as the blob by linking it into place,
// so the bytes are written once. The local store implements it; the
// upload code type-asserts, and other stores get Save.
type SpillStore interface {
	Store
	// CreateSpill returns an empty file, open for reading and writing,
	// that belongs to no blob yet. A crash leaves nothing behind that the
	// cleanup's uploads task does not remove.
	CreateSpill() (*SpillFile, error)
	// Adopt makes the first size bytes of f the blob key with Save's
	// promises: the bytes are durable when it returns (the file is
	// fsynced, linked into place, and the directories that are new are
	// fsynced), and adopting a key that exists is a no-op apart from
	// making its directory entries durable. f stays open and readable
	// (its caller closes it) and may be adopted again.
	Adopt(ctx context.Context, key string, f *SpillFile, size int64) error
}

// SpillFile is an upload's spill file in a store's own filesystem.
type SpillFile struct {
	*os.File
	// name is the file's temp path, "" for an unnamed (O_TMPFILE) file.
	name string
	// synced is set once the bytes were fsynced (an adopted file is
	// fsynced once, however often it is linked).
	synced bool
}

// Close closes the file and removes its temp name, if any: adopted bytes
// stay under their key.
func (s *SpillFile) Close() error {
	err := s.File.Close()
	if s.name != "" {
		if rerr := os.Remove(s.name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = rerr
		}
	}
	return err
}

// CreateSpill opens an unnamed file in the store's temp directory
// (O_TMPFILE: a crash leaves nothing), or, where the filesystem does not
// support that, a named one there, which Close removes and which the
// cleanup's uploads task removes by age if a crash left it.
func (l *Local) CreateSpill() (*SpillFile, error) {
	if f, err := l.openUnnamed(l.tmp); err == nil {
		return &SpillFile{File: f}, nil
	}
	if err := os.MkdirAll(l.tmp, 0o755); err != nil { // removed by hand meanwhile
		return nil, fmt.Errorf("create upload spill file: %w", err)
	}
	f, err := os.CreateTemp(l.tmp, "spill-*")
	if err != nil {
		return nil, fmt.Errorf("create upload spill file: %w", err)
	}
	return &SpillFile{File: f, name: f.Name()}, nil
}

// Adopt links the spill file into place as the blob key.
func (l *Local) Adopt(ctx context.Context, key string, f *SpillFile, size int64) error {
	dst, stored, err := l.destination(ctx, key)
	if err != nil || stored {
		return err
	}
	dir := filepath.Dir(dst)
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat upload spill file: %w", err)
	}
	if st.Size() != size {
		return fmt.Errorf("adopt blob: the spill file holds %d bytes, expected %d", st.Size(), size)
	}
	if !f.synced {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("write blob: %w", err)
		}
		f.synced = true
	}
	newLeaf, newMid := missing(dir), missing(filepath.Dir(dir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create blob directory: %w", err)
	}
	if f.name != "" {
		err = os.Link(f.name, dst)
	} else {
		err = linkUnnamed(f.File, dst)
	}
	if errors.Is(err, fs.ErrNotExist) {
		// An unnamed file can be linked only while it has never had a
		// name: adopted before, its name since deleted (the blob task
		// removed the bytes and the upload stores them again), it is
		// copied instead. So is a named one whose temp name is gone (the
		// cleanup's uploads task removes temp files by age): the open
		// file still holds the bytes.
		return l.Save(ctx, key, io.NewSectionReader(f.File, 0, size), size)
	}
	if errors.Is(err, fs.ErrExist) {
		// A concurrent upload of the same bytes linked first: the content
		// is the same by construction.
		return l.syncDirs(dir, true, true)
	}
	if err != nil {
		return fmt.Errorf("move blob into place: %w", err)
	}
	return l.syncDirs(dir, newLeaf, newMid)
}
