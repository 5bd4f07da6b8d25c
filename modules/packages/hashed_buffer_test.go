package packages_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"wharf/modules/apperr"
	"wharf/modules/packages"
)

func TestHashedBuffer(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range []struct {
		name     string
		size     int
		memLimit int
		inMemory bool
	}{{"empty", 0, 16, true}, {"small", 10, 16, true}, {"exact", 16, 16, true}, {"spills", 100_000, 16, false},
		{"several chunks", 2_500_000, 3 << 20, true}, {"spills after chunks", 3_500_000, 3 << 20, false}} {
		t.Run(c.name, func(t *testing.T) {
			data := make([]byte, c.size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			b, err := packages.NewHashedBuffer(iotest.HalfReader(bytes.NewReader(data)), -1, c.memLimit, tmp)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			sum := sha256.Sum256(data)
			if b.Size() != int64(c.size) || b.Hashes().SHA256 != hex.EncodeToString(sum[:]) || b.InMemory() != c.inMemory {
				t.Fatalf("size %d, sha256 %s, in memory %v", b.Size(), b.Hashes().SHA256, b.InMemory())
			}
			for range 2 { // re-readable
				got, err := io.ReadAll(b.Reader())
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("re-read %d bytes, %v", len(got), err)
				}
			}
			if c.size > 10 { // random access across chunk boundaries
				part := make([]byte, 10)
				off := int64(c.size - 10)
				if _, err := b.Reader().ReadAt(part, off); err != nil || !bytes.Equal(part, data[off:]) {
					t.Fatalf("ReadAt(%d) = %v", off, err)
				}
			}
			if b.Hashes().MD5 == "" || len(b.Hashes().SHA1) != 40 || len(b.Hashes().SHA512) != 128 {
				t.Fatalf("hashes %+v", b.Hashes())
			}
		})
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}

func TestHashedBufferLimits(t *testing.T) {
	tmp := t.TempDir()
	data := bytes.Repeat([]byte{'x'}, 1000)
	if b, err := packages.NewHashedBuffer(bytes.NewReader(data), 1000, 10, tmp); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	} else {
		b.Close()
	}
	_, err := packages.NewHashedBuffer(bytes.NewReader(data), 999, 10, tmp)
	if apperr.KindOf(err) != apperr.TooLarge {
		t.Fatalf("over the limit: %v", err)
	}
	// An aborted upload (the client went away) is an error, and nothing
	// is left on disk.
	aborted := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errors.New("connection reset")))
	if _, err := packages.NewHashedBuffer(aborted, -1, 10, tmp); err == nil {
		t.Fatal("an aborted upload was accepted")
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}
