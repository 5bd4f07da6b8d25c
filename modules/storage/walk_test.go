package storage_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"wharf/modules/storage"
)

// TestWalk lists every blob with its size and write time, on disk and on
// MinIO, and nothing else (the disk store's temp files are not blobs).
func TestWalk(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, false)
			before := time.Now().Add(-time.Minute)
			want := map[string]int64{}
			for _, d := range []string{"one", "two two", "three three three"} {
				k := key([]byte(d))
				if err := s.Save(ctx, k, bytes.NewReader([]byte(d)), int64(len(d))); err != nil {
					t.Fatal(err)
				}
				want[k] = int64(len(d))
			}
			got := map[string]int64{}
			err := s.(storage.Walker).Walk(ctx, func(b storage.BlobInfo) error {
				if b.Modified.Before(before) || b.Modified.After(time.Now().Add(time.Minute)) {
					t.Errorf("%s: modified %v", b.Key, b.Modified)
				}
				got[b.Key] = b.Size
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("walked %v, want %v", got, want)
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("%s: size %d, want %d", k, got[k], n)
				}
			}
		})
	}
}
