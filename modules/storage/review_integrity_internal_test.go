package storage

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestReviewIntegrityLocalSaveSyncsNewDirectories: the first blob of a
// prefix creates <root>/ab and <root>/ab/cd. Their entries live in the
// parent directories, so those are fsynced too: syncing only ab/cd left
// the new directory itself (and the blob in it) to be lost by a crash
// after the upload was recorded. A blob in existing directories syncs
// only its own directory.
func TestReviewIntegrityLocalSaveSyncsNewDirectories(t *testing.T) {
	root := t.TempDir()
	l, err := NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	var synced []string
	l.syncDir = func(dir string) error { synced = append(synced, dir); return fsyncDir(dir) }
	data := []byte("first blob of its prefix")
	k := sha(data)
	if err := l.Save(context.Background(), k, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Dir(l.path(k))
	want := []string{leaf, filepath.Dir(leaf), root}
	if !slices.Equal(synced, want) {
		t.Fatalf("synced %v, want %v", synced, want)
	}

	// Another blob in the same directories: only that directory.
	var other []byte
	for i := 0; ; i++ {
		other = []byte{byte(i), byte(i >> 8), 'x'}
		if k2 := sha(other); k2[:4] == k[:4] && k2 != k {
			break
		}
	}
	synced = nil
	if err := l.Save(context.Background(), sha(other), bytes.NewReader(other), int64(len(other))); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(synced, []string{leaf}) {
		t.Fatalf("synced %v, want [%s]", synced, leaf)
	}
}
