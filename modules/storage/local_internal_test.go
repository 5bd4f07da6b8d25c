package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// TestLocalSaveDirSyncError: a failed fsync of the blob's directory fails
// the Save (the blob may not survive a crash, so nothing may reference
// it), and a later Save of the same key does not report success until the
// directory has been synced.
func TestLocalSaveDirSyncError(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	errSync := errors.New("injected fsync failure")
	var synced []string
	l.syncDir = func(dir string) error { synced = append(synced, dir); return errSync }
	data := []byte("durable bytes")
	k := sha(data)

	err = l.Save(context.Background(), k, bytes.NewReader(data), int64(len(data)))
	if !errors.Is(err, errSync) {
		t.Fatalf("Save with a failing directory fsync = %v, want the fsync error", err)
	}
	want := filepath.Dir(l.path(k))
	if len(synced) != 1 || synced[0] != want {
		t.Fatalf("synced %v, want [%s]", synced, want)
	}
	// The upload is retried: the blob is there, its directory entry may
	// not be durable yet.
	if err := l.Save(context.Background(), k, bytes.NewReader(data), int64(len(data))); !errors.Is(err, errSync) {
		t.Fatalf("Save of a blob whose directory is still not synced = %v, want the fsync error", err)
	}
	l.syncDir = func(dir string) error { synced = append(synced, dir); return fsyncDir(dir) }
	if err := l.Save(context.Background(), k, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Save once fsync works: %v", err)
	}
	if len(synced) < 3 || synced[2] != want {
		t.Fatalf("the retried Save did not sync the directory: %v", synced)
	}
	o, err := l.Open(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if got, _ := io.ReadAll(o); !bytes.Equal(got, data) {
		t.Fatalf("stored %q", got)
	}
}

// cancelAfter reads from r and cancels the context after the first read,
// as a client that disconnects mid-upload.
type cancelAfter struct {
	r      io.Reader
	cancel context.CancelFunc
	reads  int
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	c.reads++
	n, err := c.r.Read(p[:min(len(p), 1024)])
	c.cancel()
	return n, err
}

// TestLocalSaveStopsWhenContextEnds: a Save whose ctx ends mid-copy stops
// reading at once, fails with ctx's error, and leaves neither a blob nor a
// temp file.
func TestLocalSaveStopsWhenContextEnds(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 1<<20)
	k := sha(data)

	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelAfter{r: bytes.NewReader(data), cancel: cancel}
	err = l.Save(ctx, k, r, int64(len(data)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Save after its ctx ended = %v, want context.Canceled", err)
	}
	if r.reads != 1 {
		t.Fatalf("Save read %d times after its ctx ended", r.reads-1)
	}
	if _, err := l.Stat(context.Background(), k); !errors.Is(err, ErrNotExist) {
		t.Fatalf("a cancelled Save left a blob: %v", err)
	}
	if left, err := os.ReadDir(l.tmp); err != nil || len(left) != 0 {
		t.Fatalf("a cancelled Save left temp files: %v, %v", left, err)
	}

	// A ctx that has ended already: nothing is read or written.
	r = &cancelAfter{r: bytes.NewReader(data), cancel: func() {}}
	if err := l.Save(ctx, k, r, int64(len(data))); !errors.Is(err, context.Canceled) || r.reads != 0 {
		t.Fatalf("Save with an ended ctx = %v after %d reads", err, r.reads)
	}
}
