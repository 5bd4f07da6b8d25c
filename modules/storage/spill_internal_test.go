package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// spillModes runs a test with the unnamed spill file (O_TMPFILE) and with
// the named fallback.
func spillModes(t *testing.T, test func(t *testing.T, l *Local)) {
	for _, named := range []bool{false, true} {
		name := "unnamed"
		if named {
			name = "named"
		}
		t.Run(name, func(t *testing.T) {
			l, err := NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if named {
				l.openUnnamed = func(string) (*os.File, error) { return nil, errors.New("not supported here") }
			} else if f, err := openUnnamed(l.tmp); err != nil {
				t.Fatalf("O_TMPFILE is not supported on this system: %v", err)
			} else {
				f.Close()
			}
			test(t, l)
		})
	}
}

func readBlob(t *testing.T, l *Local, key string) []byte {
	t.Helper()
	o, err := l.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func tmpEntries(t *testing.T, l *Local) []os.DirEntry {
	t.Helper()
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestAdopt: a spill file becomes the blob without a copy (the same
// inode), stays readable, may be adopted again after the blob was deleted
// (recordBlob's re-store), and leaves nothing in the temp directory.
func TestAdopt(t *testing.T) {
	spillModes(t, func(t *testing.T, l *Local) {
		ctx := context.Background()
		data := bytes.Repeat([]byte("spilled bytes "), 1000)
		k := sha(data)
		f, err := l.CreateSpill()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := l.Adopt(ctx, k, f, int64(len(data)+1)); err == nil {
			t.Fatal("adopting with the wrong size succeeded")
		}
		if _, err := l.Stat(ctx, k); !errors.Is(err, ErrNotExist) {
			t.Fatalf("a refused adoption stored the blob: %v", err)
		}
		if err := l.Adopt(ctx, k, f, int64(len(data))); err != nil {
			t.Fatal(err)
		}
		if got := readBlob(t, l, k); !bytes.Equal(got, data) {
			t.Fatalf("adopted blob holds %d bytes", len(got))
		}
		spillInfo, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		blobInfo, err := os.Stat(l.path(k))
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(spillInfo, blobInfo) {
			t.Fatal("the blob is a copy of the spill file, not the file itself")
		}
		// Adopting an existing key is a no-op.
		if err := l.Adopt(ctx, k, f, int64(len(data))); err != nil {
			t.Fatal(err)
		}
		// The blob task removed the bytes; the upload stores them again.
		if err := l.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := l.Adopt(ctx, k, f, int64(len(data))); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if got := readBlob(t, l, k); !bytes.Equal(got, data) {
			t.Fatalf("adopted again, the blob holds %d bytes", len(got))
		}
		if e := tmpEntries(t, l); len(e) != 0 {
			t.Fatalf("left in the temp directory: %v", e)
		}
	})
}

// TestSpillNotAdopted: a spill file that is closed without being adopted
// (an upload refused or interrupted) leaves nothing behind.
func TestSpillNotAdopted(t *testing.T) {
	spillModes(t, func(t *testing.T, l *Local) {
		f, err := l.CreateSpill()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("half an upload")); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if e := tmpEntries(t, l); len(e) != 0 {
			t.Fatalf("left in the temp directory: %v", e)
		}
		n := 0
		if err := l.Iterate(context.Background(), func(string, int64) error { n++; return nil }); err != nil || n != 0 {
			t.Fatalf("%d blobs stored, %v", n, err)
		}
	})
}

// TestAdoptDirSyncError: Adopt keeps Save's durability promise: a failed
// directory fsync fails it, and an adoption of the key once fsync works
// syncs the directories again before it succeeds.
func TestAdoptDirSyncError(t *testing.T) {
	spillModes(t, func(t *testing.T, l *Local) {
		ctx := context.Background()
		errSync := errors.New("injected fsync failure")
		var synced []string
		l.syncDir = func(dir string) error { synced = append(synced, dir); return errSync }
		data := []byte("durable spilled bytes")
		k := sha(data)
		f, err := l.CreateSpill()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := l.Adopt(ctx, k, f, int64(len(data))); !errors.Is(err, errSync) {
			t.Fatalf("Adopt with a failing directory fsync = %v", err)
		}
		dir := filepath.Dir(l.path(k))
		if len(synced) != 1 || synced[0] != dir {
			t.Fatalf("synced %v, want [%s]", synced, dir)
		}
		synced = nil
		l.syncDir = func(d string) error { synced = append(synced, d); return fsyncDir(d) }
		if err := l.Adopt(ctx, k, f, int64(len(data))); err != nil {
			t.Fatal(err)
		}
		want := []string{dir, filepath.Dir(dir), l.root}
		if len(synced) != 3 || synced[0] != want[0] || synced[1] != want[1] || synced[2] != want[2] {
			t.Fatalf("synced %v, want %v", synced, want)
		}
	})
}
