package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// TestAdoptSpillNameRemoved: the named spill file's temp name removed
// under a live upload (the cleanup's uploads task takes files in the temp
// directory by age) does not fail the upload: Adopt copies the open file
// instead of linking it.
func TestAdoptSpillNameRemoved(t *testing.T) {
	spillModes(t, func(t *testing.T, l *Local) {
		data := bytes.Repeat([]byte("spilled "), 100_000)
		sum := sha256.Sum256(data)
		key := hex.EncodeToString(sum[:])
		f, err := l.CreateSpill()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		for _, e := range tmpEntries(t, l) { // what the uploads task does
			if err := os.Remove(l.tmp + "/" + e.Name()); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Adopt(context.Background(), key, f, int64(len(data))); err != nil {
			t.Fatalf("adopt: %v", err)
		}
		if got := readBlob(t, l, key); !bytes.Equal(got, data) {
			t.Fatalf("the blob holds %d bytes, not the upload's", len(got))
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if e := tmpEntries(t, l); len(e) != 0 {
			t.Fatalf("left in the temp directory: %v", e)
		}
	})
}

// TestSaveTempDirRemoved: the store's temp directory removed by hand does
// not fail every later Save (CreateSpill makes it again; so must Save,
// which in-memory uploads and the spill's copy fallback use).
func TestSaveTempDirRemoved(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(l.tmp); err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("saved ", 1000))
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	if err := l.Save(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("save without the temp directory: %v", err)
	}
	if got := readBlob(t, l, key); !bytes.Equal(got, data) {
		t.Fatalf("the blob holds %d bytes, not the saved ones", len(got))
	}
	if e := tmpEntries(t, l); len(e) != 0 {
		t.Fatalf("left in the temp directory: %v", e)
	}
}
